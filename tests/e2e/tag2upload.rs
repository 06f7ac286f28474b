//! The tag2upload flow (`debian.flow = "tag2upload"`) through the binary, against the real
//! `git debpush` (git-debpush package): the tag lava-release makes and pushes is the one
//! `git debpush --gbp` makes at the same commit, line for line, `git verify-tag` accepts
//! it; and each check `git debpush` makes, failed in one way, stops both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tests::packaging::{DD_EMAIL, DD_NAME, dd_key, packaging_remote};
use tests::sandbox::{Sandbox, all_text, assert_output_contains};

use crate::support::{error_line, git, gnupg_home, run};

const V: &str = "2024.02";
const TAG: &str = "debian/2024.02-1";

struct Fixture {
    sb: Sandbox,
    remote: PathBuf,
    dir: PathBuf,
    fingerprint: String,
    gnupg: tempfile::TempDir,
    _keys: tempfile::TempDir,
}

/// The release through `consistency`, the packaging repository (in `packaging/` of the
/// sandbox, `3.0 (quilt)` with a patch) imported and given its changelog entry, a DD key
/// both in a key file (for lava-release) and in a GnuPG home (for git debpush).
fn setup() -> Fixture {
    let mut sb = Sandbox::lava().unwrap();
    let remote = packaging_remote(&sb).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = dd_key(keys.path()).unwrap();
    let secret = keys.path().join("dd.key");
    let gnupg = gnupg_home();
    let imported = Command::new("gpg")
        .arg("--homedir")
        .arg(gnupg.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(&secret)
        .status()
        .unwrap();
    assert!(imported.success());
    let dir = sb.path().join("packaging");
    let fingerprint = key.fingerprint().to_hex();
    sb.add_config(&format!(
        "[debian]\nflow = \"tag2upload\"\npackaging_remote = {remote:?}\npackaging_dir = {dir:?}\nquilt = \"gbp\"\nkey = {fingerprint:?}\nkey_file = {secret:?}\n",
        remote = remote.display().to_string(),
        dir = dir.display().to_string(),
        secret = secret.display().to_string(),
    ))
    .unwrap();
    let sb = sb.through_consistency(V).unwrap();
    // The Debian Developer's own checkout.
    let out = Command::new("git")
        .args(["clone", "--quiet", "--branch", "debian/main"])
        .arg(&remote)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_text(&out));
    for args in [
        &["config", "user.name", DD_NAME][..],
        &["config", "user.email", DD_EMAIL],
        &["branch", "--quiet", "upstream", "origin/upstream"],
        &["branch", "--quiet", "pristine-tar", "origin/pristine-tar"],
    ] {
        git(&dir, args);
    }
    // A patch, as a quilt package carries them.
    std::fs::create_dir_all(dir.join("debian/patches")).unwrap();
    std::fs::write(
        dir.join("debian/patches/01-readme.patch"),
        "--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,4 @@\n # LAVA\n \n Linaro Automated Validation Architecture.\n+Packaged for Debian.\n",
    )
    .unwrap();
    std::fs::write(dir.join("debian/patches/series"), "01-readme.patch\n").unwrap();
    git(&dir, &["add", "--all"]);
    git(&dir, &["commit", "--quiet", "-m", "Add a patch"]);
    let out = run(
        &sb,
        &[
            "run",
            V,
            "--yes",
            "--from",
            "import-orig",
            "--to",
            "debian-changelog",
        ],
        None,
    );
    assert!(out.status.success(), "{}", all_text(&out));
    Fixture {
        sb,
        remote,
        dir,
        fingerprint,
        gnupg,
        _keys: keys,
    }
}

/// The real `git debpush --no-push --gbp` in `dir`, signing with the DD key.
fn git_debpush(f: &Fixture, dir: &Path) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args([
            "debpush",
            "--no-push",
            "--gbp",
            "--upstream=upstream/2024.02",
            "-u",
            &f.fingerprint,
        ])
        .env("GNUPGHOME", f.gnupg.path())
        .output()
        .unwrap()
}

/// A tag object without its tagger line and signature.
fn metadata(dir: &Path, tag: &str) -> Vec<String> {
    git(dir, &["cat-file", "tag", tag])
        .lines()
        .take_while(|l| !l.starts_with("-----BEGIN PGP SIGNATURE-----"))
        .filter(|l| !l.starts_with("tagger "))
        .map(str::to_owned)
        .collect()
}

fn tag2upload(f: &Fixture, extra: &[&str]) -> Output {
    let mut args = vec!["run", V, "--yes", "--only", "debian-tag2upload"];
    args.extend_from_slice(extra);
    run(&f.sb, &args, None)
}

#[test]
fn the_tag_is_git_debpushs_and_is_pushed_once() {
    let f = setup();
    // The reference, on a copy at the same commit.
    let copy = f.sb.path().join("reference");
    let out = Command::new("git")
        .args(["clone", "--quiet", "--branch", "debian/main"])
        .arg(&f.dir)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_text(&out));
    git(
        &copy,
        &["fetch", "--quiet", "origin", "refs/tags/*:refs/tags/*"],
    );
    git(&copy, &["branch", "--quiet", "upstream", "origin/upstream"]);
    let reference = git_debpush(&f, &copy);
    assert!(reference.status.success(), "{}", all_text(&reference));

    let out = tag2upload(&f, &[]);
    assert!(out.status.success(), "{}", all_text(&out));
    assert_output_contains(&out, &format!("tag {TAG} ("));
    assert_eq!(metadata(&f.remote, TAG), metadata(&copy, TAG));
    let message = metadata(&f.remote, TAG).join("\n");
    assert!(
        message.contains("[dgit distro=debian split --quilt=gbp]")
            && message.contains("[dgit please-upload source=lava version=2024.02-1 upstream-tag=upstream/2024.02 upstream="),
        "{message}"
    );
    // Pushed with the branch and the upstream tag; verified with the DD's key.
    assert_eq!(
        git(&f.remote, &["rev-parse", "debian/main"]),
        git(&f.dir, &["rev-parse", "debian/main"])
    );
    git(
        &f.remote,
        &["rev-parse", "--verify", "refs/tags/upstream/2024.02"],
    );
    let verify = Command::new("git")
        .current_dir(&f.remote)
        .args(["verify-tag", TAG])
        .env("GNUPGHOME", f.gnupg.path())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", all_text(&verify));

    let again = tag2upload(&f, &[]);
    assert!(again.status.success(), "{}", all_text(&again));
    assert_output_contains(&again, "0 stage(s) applied, 1 already done");
    tests::rehearsal::stop_agent(f.gnupg.path());
}

#[test]
fn each_check_git_debpush_makes_stops_both_and_nothing_is_tagged() {
    let f = setup();
    let good = git(&f.dir, &["rev-parse", "HEAD"]);
    let changelog = std::fs::read_to_string(f.dir.join("debian/changelog")).unwrap();
    type Spoil = fn(&Path, &str);
    let cases: &[(&str, Spoil)] = &[
        ("unreleased", |dir, text| {
            let text = text.replacen(") unstable;", ") UNRELEASED;", 1);
            std::fs::write(dir.join("debian/changelog"), text).unwrap();
        }),
        ("suite", |dir, text| {
            let text = text.replacen(") unstable;", ") experimental;", 1);
            std::fs::write(dir.join("debian/changelog"), text).unwrap();
        }),
        ("upstream-nonidentical", |dir, _| {
            std::fs::write(dir.join("README.md"), "changed outside debian/\n").unwrap();
        }),
        ("patches-applicable", |dir, _| {
            std::fs::write(
                dir.join("debian/patches/01-readme.patch"),
                "--- a/README.md\n+++ b/README.md\n@@ -1,1 +1,1 @@\n-no such line\n+x\n",
            )
            .unwrap();
        }),
    ];
    for (check, spoil) in cases {
        spoil(&f.dir, &changelog);
        git(
            &f.dir,
            &["commit", "--quiet", "-a", "-m", &format!("spoil: {check}")],
        );
        let ours = tag2upload(&f, &[]);
        assert_eq!(ours.status.code(), Some(1), "{check}: {}", all_text(&ours));
        let line = error_line(&ours);
        assert!(
            line.contains(&format!("({check} check)")),
            "{check}: {line}"
        );
        assert!(line.contains("; nothing was tagged"), "{check}: {line}");
        let theirs = git_debpush(&f, &f.dir);
        assert_ne!(
            theirs.status.code(),
            Some(0),
            "{check}: {}",
            all_text(&theirs)
        );
        assert!(
            all_text(&theirs).contains(&format!("('{check}' check)")),
            "{check}: git debpush said {}",
            all_text(&theirs)
        );
        assert!(git(&f.dir, &["tag", "-l", TAG]).is_empty(), "{check}");
        assert!(git(&f.remote, &["tag", "-l", TAG]).is_empty(), "{check}");
        git(&f.dir, &["reset", "--quiet", "--hard", &good]);
    }

    // A detached HEAD.
    git(&f.dir, &["checkout", "--quiet", "--detach", "HEAD"]);
    let ours = tag2upload(&f, &[]);
    assert!(
        error_line(&ours).contains("(detached check)"),
        "{}",
        all_text(&ours)
    );
    let theirs = git_debpush(&f, &f.dir);
    assert!(
        all_text(&theirs).contains("('detached' check)"),
        "{}",
        all_text(&theirs)
    );
    git(&f.dir, &["checkout", "--quiet", "debian/main"]);

    // --force=CHECK skips that check alone, as git debpush's does.
    let text = changelog.replacen(") unstable;", ") experimental;", 1);
    std::fs::write(f.dir.join("debian/changelog"), text).unwrap();
    git(&f.dir, &["commit", "--quiet", "-a", "-m", "experimental"]);
    let forced = tag2upload(&f, &["--force", "suite"]);
    assert!(forced.status.success(), "{}", all_text(&forced));
    tests::rehearsal::stop_agent(f.gnupg.path());
}

#[test]
fn a_remote_holding_the_tag_elsewhere_stops_before_the_first_stage() {
    let f = setup();
    // Someone already pushed a `debian/2024.02-1` of another commit.
    let other = f.sb.path().join("someone-else");
    let out = Command::new("git")
        .args(["clone", "--quiet", "--branch", "debian/main"])
        .arg(&f.remote)
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_text(&out));
    git(
        &other,
        &[
            "-c",
            "user.name=X",
            "-c",
            "user.email=x@example",
            "tag",
            "-a",
            "-m",
            "early",
            TAG,
        ],
    );
    git(&other, &["push", "--quiet", "origin", TAG]);
    let theirs = git(&f.remote, &["rev-parse", TAG]);

    let out = tag2upload(&f, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert_output_contains(
        &out,
        &format!("{} already has tag `{TAG}` at ", f.remote.display()),
    );
    assert_output_contains(&out, "(tag-elsewhere check)");
    assert!(git(&f.dir, &["tag", "-l", TAG]).is_empty());
    assert_eq!(git(&f.remote, &["rev-parse", TAG]), theirs);
}
