//! The orig benchmark: prove a release tarball is its tag, side by side with what a
//! Debian Developer would run by hand: both trees unpacked (`git archive TAG | tar -x`,
//! `tar -xzf ORIG --strip-components=1`) and `diff -r`. The fixture is a repository of
//! LAVA's size or more (4,000 files, 80 MB, a few executable) tagged `2026.07`, and GitLab's
//! archive of the tag (`git archive --format=tar.gz --prefix=lava-2026.07-SHA/`), in
//! `$CARGO_TARGET_DIR/bench-fixtures/orig`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::bail;

use super::{check, fixture_options, median, release_example, require_tools};

const FIXTURE_VERSION: &str = "1";
const TAG: &str = "2026.07";
/// At least as fast as unpacking both and `diff -r`.
const TARGET: f64 = 1.0;

fn make_fixture(dir: &Path) -> anyhow::Result<()> {
    let work = dir.join("repo");
    std::fs::create_dir_all(&work)?;
    let git = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        check(
            Command::new("git")
                .current_dir(&work)
                .args(args)
                .env("GIT_AUTHOR_NAME", "bench")
                .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
                .env("GIT_COMMITTER_NAME", "bench")
                .env("GIT_COMMITTER_EMAIL", "bench@example.invalid"),
        )
    };
    git(&["init", "--quiet"])?;
    // Deterministic pseudo-random text, mostly small files and a few big ones.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..4000u64 {
        let size = if i % 100 == 0 {
            1 << 20
        } else {
            2048 + (next() % 16384) as usize
        };
        let mut text = String::with_capacity(size);
        while text.len() < size {
            text.push_str(&format!("{:016x} line of lava source {i}\n", next()));
        }
        let path = work.join(format!("lava_{}/module_{}/file_{i}.py", i % 7, i % 53));
        std::fs::create_dir_all(path.parent().expect("a file has a directory"))?;
        std::fs::write(&path, text)?;
        if i % 250 == 0 {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    git(&["add", "--all"])?;
    git(&["commit", "--quiet", "-m", "LAVA Software 2026.07 release"])?;
    git(&["tag", TAG])?;
    let sha = String::from_utf8(git(&["rev-parse", "HEAD"])?)?;
    git(&[
        "archive",
        "--format=tar.gz",
        &format!("--prefix=lava-{TAG}-{}/", sha.trim()),
        "-o",
        &dir.join("orig.tar.gz").display().to_string(),
        TAG,
    ])?;
    Ok(())
}

/// `cargo xtask bench orig [--iterations N] [--regenerate]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (iterations, regenerate) = fixture_options(args, "orig", 5)?;
    require_tools(&[("git", "git"), ("tar", "tar"), ("diff", "diffutils")])?;
    let ours = release_example("lava-debian", "orig-bench")?;
    let fixture = tests::bin::target_dir().join("bench-fixtures").join("orig");
    let marker = fixture.join(format!(".complete-{FIXTURE_VERSION}"));
    if regenerate || !marker.exists() {
        if fixture.exists() {
            std::fs::remove_dir_all(&fixture)?;
        }
        make_fixture(&fixture)?;
        std::fs::write(&marker, "")?;
    }
    let git_dir = fixture.join("repo/.git");
    let orig = fixture.join("orig.tar.gz");
    let scratch = fixture.join("scratch");
    let peer = format!(
        "rm -rf {s} && mkdir -p {s}/a {s}/b && git --git-dir={g} archive {TAG} | tar -x -C {s}/a && tar -xzf {o} -C {s}/b --strip-components=1 && diff -r {s}/a {s}/b",
        s = scratch.display(),
        g = git_dir.display(),
        o = orig.display()
    );
    println!("orig benchmark: {iterations} iteration(s), median; 4,000 files, 80 MB, tag {TAG}");
    let (mut t_ours, mut t_peer) = (Vec::new(), Vec::new());
    // One untimed round first, so both start with a warm page cache.
    for i in 0..=iterations {
        let start = Instant::now();
        check(Command::new(&ours).arg(&git_dir).arg(&orig).arg(TAG))?;
        if i > 0 {
            t_ours.push(start.elapsed());
        }
        let start = Instant::now();
        check(Command::new("sh").arg("-c").arg(&peer))?;
        if i > 0 {
            t_peer.push(start.elapsed());
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let (ours_m, peer_m) = (median(&mut t_ours), median(&mut t_peer));
    let ratio = peer_m.as_secs_f64() / ours_m.as_secs_f64();
    println!(
        "  lava-debian check_orig (streamed, SHA-256, modes, links) {:>8.0} ms",
        ours_m.as_secs_f64() * 1e3
    );
    println!(
        "  git archive | tar -x; tar -xzf; diff -r                 {:>8.0} ms",
        peer_m.as_secs_f64() * 1e3
    );
    println!("  peer / ours: {ratio:.2}x");
    if ratio < TARGET {
        bail!("orig benchmark missed its target: {ratio:.2}x (target >= {TARGET}x)");
    }
    println!("  target met: at least as fast as unpacking both and diff -r");
    Ok(())
}
