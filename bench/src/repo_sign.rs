//! The repo-sign benchmark: verify and sign every suite of a ~600 MB repository
//! (bookworm and trixie; amd64 and arm64 `Packages`, `Sources`; each plain, `.gz` and
//! `.xz`), side by side with coreutils `sha256sum` over the same files (one process)
//! and with `apt-ftparchive release` plus `gpg --clearsign` and `gpg --detach-sign`
//! per suite, the way a Release file is made and signed by hand.
//!
//! Two more rows hash only, the indices every suite lists with every algorithm
//! listed: through the library's scheduler with four-way MD5 (`digest_files`) and
//! the simple way, one whole file per core (the example's `per_file`), alternating
//! which goes first; their ratio says whether the scheduler still pays for its code.
//!
//! Each row gives the median wall-clock time and the median CPU time (user and
//! system) of that side, so a run on a busy machine can still be read: the CPU time
//! per byte is the work each side does, the wall-clock ratio what a user waits.
//!
//! Our side runs as its own process (`cargo build --release --example
//! repo-sign-bench -p lava-repo-sign`) so `/usr/bin/time -f %M` measures its peak
//! memory. The fixture is generated once into
//! `$CARGO_TARGET_DIR/bench-fixtures/repo-sign`.

use super::{check, fixture_options, median, release_example, require_tools};
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};

const SUITES: [&str; 2] = ["bookworm", "trixie"];
const FIXTURE_VERSION: &str = "1";
/// Uncompressed bytes per index, per suite.
const INDICES: [(&str, &str, usize); 3] = [
    ("main/binary-amd64", "Packages", 85 << 20),
    ("main/binary-arm64", "Packages", 80 << 20),
    ("main/source", "Sources", 45 << 20),
];
const TARGET_VS_SHA256SUM: f64 = 1.0;
const TARGET_VS_APT_FTPARCHIVE: f64 = 2.0;
const TARGET_RSS_KIB: u64 = 64 * 1024;

/// CPU time (user and system) of this process's waited-for children so far, from
/// `/proc/self/stat` (`cutime`, `cstime`, in clock ticks of 1/100 s on Linux).
fn children_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which may hold spaces, in parentheses.
            let rest = stat.rsplit_once(')')?.1.to_owned();
            let fields: Vec<u64> = rest
                .split_whitespace()
                .skip(13)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>())
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The one-minute load average: on a busy machine the two-core side suffers most.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Wall-clock and CPU time of one or more commands run to completion.
#[derive(Default)]
struct Samples {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Samples {
    fn start() -> (Instant, Duration) {
        (Instant::now(), children_cpu())
    }

    fn push(&mut self, (start, cpu): (Instant, Duration)) {
        self.wall.push(start.elapsed());
        self.cpu.push(children_cpu().saturating_sub(cpu));
    }

    fn medians(&mut self) -> (Duration, Duration) {
        (median(&mut self.wall), median(&mut self.cpu))
    }
}

/// `cargo xtask bench repo-sign [--iterations N] [--regenerate]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let result = measure(args);
    // gpg starts an agent for the fixture's GnuPG home; stop it, by its PID.
    tests::rehearsal::stop_agent(&tests::bin::target_dir().join("bench-fixtures/repo-sign/gnupg"));
    result
}

fn measure(args: &[String]) -> anyhow::Result<()> {
    let (iterations, regenerate) = fixture_options(args, "repo-sign", 5)?;
    require_tools(&[
        ("apt-ftparchive", "apt-utils"),
        ("gpg", "gpg"),
        ("sha256sum", "coreutils"),
        ("xz", "xz-utils"),
        ("gzip", "gzip"),
    ])?;
    let fixture = tests::bin::target_dir()
        .join("bench-fixtures")
        .join("repo-sign");
    let marker = fixture.join(format!(".complete-{FIXTURE_VERSION}"));
    if regenerate || !marker.exists() {
        generate(&fixture)?;
        std::fs::write(&marker, "")?;
    }
    let tree = fixture.join("tree");

    let ours = release_example("lava-repo-sign", "repo-sign-bench")?;
    let key = fixture.join("release.key");
    let fingerprint = String::from_utf8(check(Command::new(&ours).arg("make-key").arg(&key))?)?
        .trim()
        .to_owned();
    let gnupg = fixture.join("gnupg");
    if !gnupg.join("done").exists() {
        std::fs::create_dir_all(&gnupg)?;
        check(Command::new("gpg").arg("--homedir").arg(&gnupg).args([
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Bench <bench@lava.invalid>",
            "ed25519",
            "sign",
            "never",
        ]))?;
        std::fs::write(gnupg.join("done"), "")?;
    }

    let mut files = Vec::new();
    for suite in SUITES {
        for (dir, name, _) in INDICES {
            for ext in ["", ".gz", ".xz"] {
                files.push(tree.join(format!("dists/{suite}/{dir}/{name}{ext}")));
            }
        }
    }
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let unsign = || -> anyhow::Result<()> {
        for suite in SUITES {
            for name in ["Release.gpg", "InRelease"] {
                let p = tree.join(format!("dists/{suite}/{name}"));
                if p.exists() {
                    std::fs::remove_file(&p)?;
                }
            }
        }
        Ok(())
    };
    let sign_cmd = || {
        let mut c = Command::new(&ours);
        c.arg("sign").arg(&tree).arg(&key).arg(&fingerprint);
        c
    };
    let scratch = fixture.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let (mut t_sha, mut t_ours, mut t_apt) =
        (Samples::default(), Samples::default(), Samples::default());
    let (mut t_scheduled, mut t_per_file) = (Samples::default(), Samples::default());
    let hash_cmd = |how: &str| {
        let mut c = Command::new(&ours);
        c.arg("hash").arg(how).arg(&tree);
        c
    };
    let load_before = load();
    // One untimed round first, so every tool starts with a warm page cache.
    for i in 0..=iterations {
        // The two ways of hashing alternate which goes first, so a load that comes and
        // goes weighs on both alike.
        let mut ways = [
            ("scheduled", &mut t_scheduled),
            ("per-file", &mut t_per_file),
        ];
        if i % 2 == 1 {
            ways.reverse();
        }
        let mut printed = Vec::new();
        for (how, samples) in ways {
            let start = Samples::start();
            printed.push(check(&mut hash_cmd(how))?);
            if i > 0 {
                samples.push(start);
            }
        }
        ensure!(
            printed[0] == printed[1],
            "the scheduled and per-file hashing disagree on the fixture"
        );
        let start = Samples::start();
        check(Command::new("sha256sum").args(&files))?;
        if i > 0 {
            t_sha.push(start);
        }
        unsign()?;
        let start = Samples::start();
        check(&mut sign_cmd())?;
        if i > 0 {
            t_ours.push(start);
        }
        let start = Samples::start();
        for suite in SUITES {
            let release = scratch.join(format!("Release-{suite}"));
            let out = check(
                Command::new("apt-ftparchive")
                    .current_dir(tree.join(format!("dists/{suite}")))
                    .args(["release", "."]),
            )?;
            std::fs::write(&release, out)?;
            for mode in ["--clearsign", "--detach-sign"] {
                let out = scratch.join(format!("{suite}{mode}"));
                let _ = std::fs::remove_file(&out);
                check(
                    Command::new("gpg")
                        .arg("--homedir")
                        .arg(&gnupg)
                        .args(["--batch", "--yes", "--armor", mode, "--output"])
                        .arg(&out)
                        .arg(&release),
                )?;
            }
        }
        if i > 0 {
            t_apt.push(start);
        }
    }
    let load_after = load();
    unsign()?;
    let rss = peak_rss(&mut sign_cmd(), &scratch)?;
    let ((sha, sha_cpu), (ours_m, ours_cpu), (apt, apt_cpu)) =
        (t_sha.medians(), t_ours.medians(), t_apt.medians());
    let ((scheduled, scheduled_cpu), (per_file, per_file_cpu)) =
        (t_scheduled.medians(), t_per_file.medians());
    let mb = total as f64 / 1e6;
    println!(
        "repo-sign benchmark: {} suites, {} index files, {mb:.0} MB, {iterations} iteration(s), median; load average {load_before} before, {load_after} after ({} cores)",
        SUITES.len(),
        files.len(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let row = |name: &str, d: Duration, cpu: Duration| {
        println!(
            "  {name:<58} {:>8.0} ms {:>7.0} MB/s {:>8.0} ms CPU {:>5.2} ns/B",
            d.as_secs_f64() * 1e3,
            mb / d.as_secs_f64(),
            cpu.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e9 / total as f64
        )
    };
    row(
        "sha256sum (coreutils, one process, all files)",
        sha,
        sha_cpu,
    );
    row(
        "lava-repo-sign verify (MD5/SHA1/SHA256/SHA512) + sign",
        ours_m,
        ours_cpu,
    );
    row(
        "apt-ftparchive release + gpg --clearsign/--detach-sign",
        apt,
        apt_cpu,
    );
    row(
        "hash only: scheduler + four-way MD5 (digest_files)",
        scheduled,
        scheduled_cpu,
    );
    row("hash only: one whole file per core", per_file, per_file_cpu);
    println!(
        "  scheduled / per-file: {:.3}x wall, {:.3}x CPU (below 1: the scheduler is faster)",
        scheduled.as_secs_f64() / per_file.as_secs_f64(),
        scheduled_cpu.as_secs_f64() / per_file_cpu.as_secs_f64()
    );
    let vs_sha = ours_m.as_secs_f64() / sha.as_secs_f64();
    let vs_apt = apt.as_secs_f64() / ours_m.as_secs_f64();
    println!("  ours / sha256sum: {vs_sha:.2}x (target <= {TARGET_VS_SHA256SUM}x)");
    println!(
        "  apt-ftparchive+gpg / ours: {vs_apt:.2}x faster (target >= {TARGET_VS_APT_FTPARCHIVE}x)"
    );
    if let Some(kib) = rss {
        println!("  peak RSS (ours): {} MiB (target < 64 MiB)", kib / 1024);
    }
    let mut missed = Vec::new();
    if vs_sha > TARGET_VS_SHA256SUM {
        missed.push(format!("{vs_sha:.2}x sha256sum"));
    }
    if vs_apt < TARGET_VS_APT_FTPARCHIVE {
        missed.push(format!("only {vs_apt:.2}x faster than apt-ftparchive+gpg"));
    }
    if rss.is_some_and(|k| k >= TARGET_RSS_KIB) {
        missed.push("peak RSS at or above 64 MiB".into());
    }
    if missed.is_empty() {
        println!("all targets met");
        Ok(())
    } else {
        bail!("targets missed: {}", missed.join("; "))
    }
}

fn peak_rss(cmd: &mut Command, scratch: &Path) -> anyhow::Result<Option<u64>> {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!(
            "warning: /usr/bin/time is missing (apt-get install time); peak RSS not measured"
        );
        return Ok(None);
    }
    let report = scratch.join("rss");
    check(
        Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&report)
            .arg(cmd.get_program())
            .args(cmd.get_args()),
    )?;
    let text = std::fs::read_to_string(&report)?;
    Ok(text
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok()))
}

/// Writes deb822 stanzas shaped like Debian's indices (random names, versions and
/// hashes, repeated field text so compression ratios are realistic) until `size`.
fn write_index(path: &Path, sources: bool, size: usize, seed: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state = seed | 1;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let words = [
        "lava",
        "python3",
        "dispatcher",
        "server",
        "common",
        "coordinator",
        "lxc",
        "qemu",
        "u-boot",
        "fastboot",
        "tftp",
        "nfs",
        "docker",
        "device",
        "scheduler",
    ];
    let mut written = 0;
    let mut n = 0u64;
    while written < size {
        n += 1;
        let name = format!(
            "{}-{}-{n}",
            words[(rand() % 15) as usize],
            words[(rand() % 15) as usize]
        );
        let version = format!("{}.{}-{}", 2000 + rand() % 30, rand() % 12, rand() % 5);
        let h = |r: u64, len: usize| -> String {
            let mut s = format!(
                "{r:016x}{:016x}{:016x}{:016x}",
                r.rotate_left(7),
                r.rotate_left(19),
                r.rotate_left(31)
            );
            s.truncate(len);
            s
        };
        let stanza = if sources {
            format!(
                "Package: {name}\nBinary: {name}, python3-{name}\nVersion: {version}\nMaintainer: LAVA Team <lava-team@lists.example.org>\nBuild-Depends: debhelper-compat (= 13), dh-python, python3-all, python3-setuptools\nArchitecture: all\nStandards-Version: 4.6.2\nFormat: 3.0 (quilt)\nFiles:\n {} 2345 {name}_{version}.dsc\n {} {} {name}_{version}.orig.tar.gz\nChecksums-Sha256:\n {} 2345 {name}_{version}.dsc\n {} {} {name}_{version}.orig.tar.gz\nDirectory: pool/main/{}/{name}\nPriority: optional\nSection: net\n\n",
                h(rand(), 32),
                h(rand(), 32),
                rand() % 10_000_000,
                h(rand(), 64),
                h(rand(), 64),
                rand() % 10_000_000,
                &name[..1]
            )
        } else {
            format!(
                "Package: {name}\nSource: lava\nVersion: {version}\nInstalled-Size: {}\nMaintainer: LAVA Team <lava-team@lists.example.org>\nArchitecture: all\nDepends: python3 (>= 3.11), python3-jinja2, python3-yaml, python3-requests, lava-common (= {version})\nDescription: Linaro Automated Validation Architecture {name}\n LAVA is a continuous integration system for deploying operating systems\n onto physical and virtual hardware for running tests.\nHomepage: https://www.lavasoftware.org/\nSection: net\nPriority: optional\nFilename: pool/main/{}/{name}/{name}_{version}_all.deb\nSize: {}\nMD5sum: {}\nSHA256: {}\n\n",
                rand() % 100_000,
                &name[..1],
                rand() % 10_000_000,
                h(rand(), 32),
                h(rand(), 64)
            )
        };
        out.write_all(stanza.as_bytes())?;
        written += stanza.len();
    }
    out.flush()?;
    Ok(())
}

fn generate(fixture: &Path) -> anyhow::Result<()> {
    println!(
        "generating the repo-sign fixture in {} (once)",
        fixture.display()
    );
    if fixture.exists() {
        std::fs::remove_dir_all(fixture)?;
    }
    let tree = fixture.join("tree");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut plain = Vec::new();
    for suite in SUITES {
        for (dir, name, size) in INDICES {
            let d = tree.join(format!("dists/{suite}/{dir}"));
            std::fs::create_dir_all(&d)?;
            let path = d.join(name);
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            write_index(&path, name == "Sources", size, seed)?;
            plain.push(path);
        }
    }
    // Both cores: gzip of one file alongside xz (threaded) of another.
    for path in &plain {
        let gz = Command::new("sh")
            .arg("-c")
            .arg("gzip -6 -n -c -- \"$1\" > \"$1.gz\"")
            .arg("sh")
            .arg(path)
            .spawn()?;
        check(
            Command::new("xz")
                .args(["-0", "-T2", "-k", "-f", "--"])
                .arg(path),
        )?;
        let status = gz.wait_with_output()?.status;
        ensure!(status.success(), "gzip failed for {path:?}");
    }
    for suite in SUITES {
        let dir = tree.join(format!("dists/{suite}"));
        let out = check(
            Command::new("apt-ftparchive")
                .current_dir(&dir)
                .arg("-o")
                .arg(format!("APT::FTPArchive::Release::Suite={suite}"))
                .arg("-o")
                .arg(format!("APT::FTPArchive::Release::Codename={suite}"))
                .args([
                    "-o",
                    "APT::FTPArchive::Release::Architectures=amd64 arm64",
                    "-o",
                    "APT::FTPArchive::Release::Components=main",
                    "release",
                    ".",
                ]),
        )?;
        std::fs::write(dir.join("Release"), out)?;
    }
    Ok(())
}
