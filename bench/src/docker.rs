//! The docker benchmark: promote LAVA's image set (2 images x 2 arches, about 175 MB
//! each, the base layer shared per arch) from one local `docker-registry` to another
//! with htpasswd auth, timed side by side in one run with `skopeo copy --all` of the
//! same four images and with the docker CLI path LAVA uses today (pull, tag, push,
//! `docker manifest create/push`) through this machine's engine; then the re-run with
//! everything present, ours against skopeo's. skopeo has no manifest-list step, so its
//! row copies the per-arch images only (and no `latest`), which favours it.
//!
//! Ours runs as a child process (lava-docker's `promote` example, release build) so its
//! peak RSS can be read with `/usr/bin/time -f %M`. The layout is generated once under
//! `$CARGO_TARGET_DIR/bench-fixtures/docker-images`, and the source registry's storage
//! is kept beside it, populated once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use tests::registry::{Auth, ImageLayout, ImageSetSpec, MediaTypes, Registry, require_tool};

const VERSION: &str = "2026.01";
const USER: &str = "lava";
const PASSWORD: &str = "bench-password";
const IMAGES: [&str; 2] = ["lava-dispatcher", "lava-server"];
const ARCHES: [&str; 2] = ["amd64", "aarch64"];
/// Bump when the fixture's shape changes.
const FIXTURE_VERSION: &str = "1";

const TARGET_VS_SKOPEO: f64 = 1.0;
const TARGET_VS_DOCKER: f64 = 3.0;
const TARGET_RERUN_VS_SKOPEO: f64 = 0.3;
const TARGET_RSS_KIB: u64 = 100 * 1024;

struct Options {
    iterations: usize,
    docker_iterations: usize,
    regenerate: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        iterations: 3,
        docker_iterations: 1,
        regenerate: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            let n = args
                .next()
                .with_context(|| format!("{name} needs a number"))?;
            let n: usize = n
                .parse()
                .with_context(|| format!("{name} {n}: not a number"))?;
            ensure!(n > 0, "{name} must be at least 1");
            Ok(n)
        };
        match arg.as_str() {
            "--iterations" => options.iterations = number("--iterations")?,
            "--docker-iterations" => options.docker_iterations = number("--docker-iterations")?,
            "--skip-docker" => options.docker_iterations = 0,
            "--regenerate" => options.regenerate = true,
            other => bail!(
                "unknown option `{other}`; usage: cargo xtask bench docker [--iterations N] [--docker-iterations N] [--skip-docker] [--regenerate]"
            ),
        }
    }
    Ok(options)
}

fn spec() -> ImageSetSpec {
    ImageSetSpec {
        base_size: 120 << 20,
        own_size: 55 << 20,
        media: MediaTypes::Docker,
        ..ImageSetSpec::small(2026)
    }
}

/// Runs `cargo xtask bench docker`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    require_tool("skopeo", "skopeo")?;
    require_tool("/usr/bin/time", "time")?;
    let fixtures = tests::bin::target_dir().join("bench-fixtures");
    let layout_dir = fixtures.join("docker-images");
    let storage = fixtures.join("docker-source-registry");
    if options.regenerate {
        for dir in [&layout_dir, &storage] {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
    }
    let started = Instant::now();
    let layout = ImageLayout::generate(&spec(), &layout_dir)?;
    let source = Registry::start_with_storage(Auth::None, Some(&storage))?;
    let stamp = storage.join(".complete");
    let fingerprint = format!("{FIXTURE_VERSION} {}", layout.images[0].digest);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(fingerprint.as_str()) {
        layout.push_all(&source.host(), "lava/lava", VERSION, None)?;
        std::fs::write(&stamp, &fingerprint)?;
    }
    let total: u64 = layout
        .images
        .iter()
        .map(|i| i.layers.iter().map(|l| l.size).sum::<u64>())
        .sum();
    println!(
        "docker benchmark: 2 images x 2 arches, {} MB per image, {} MB of distinct layers; fixture ready in {:.1} s",
        total / 4 / 1_000_000,
        (2 * spec().base_size + 4 * spec().own_size) / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .current_dir(tests::bin::workspace())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "lava-docker",
            "--example",
            "promote",
        ])
        .status()
        .context("cannot run cargo")?;
    ensure!(
        built.success(),
        "building lava-docker's promote example failed"
    );
    let promote = tests::bin::target_dir()
        .join("release")
        .join("examples")
        .join("promote");

    let work = Work(fixtures.join("docker-work"));
    if work.0.exists() {
        std::fs::remove_dir_all(&work.0)?;
    }
    std::fs::create_dir_all(&work.0)?;
    let mut ours = Vec::new();
    let mut ours_rerun = Vec::new();
    let mut skopeo = Vec::new();
    let mut skopeo_rerun = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..options.iterations {
        let target = Registry::start(htpasswd())?;
        let report = work.0.as_path().join("rss");
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%M", "-o"]).arg(&report).arg(&promote);
        ours_args(&mut cmd, &source, &target);
        ours.push(time(&mut cmd)?);
        rss.push(
            std::fs::read_to_string(&report)?
                .trim()
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<u64>().ok())
                .context("/usr/bin/time wrote no peak RSS")?,
        );
        let mut cmd = Command::new(&promote);
        ours_args(&mut cmd, &source, &target);
        ours_rerun.push(time(&mut cmd)?);
        drop(target);

        let target = Registry::start(htpasswd())?;
        let authfile = authfile(work.0.as_path(), &target.host())?;
        skopeo.push(skopeo_all(&source, &target, &authfile)?);
        skopeo_rerun.push(skopeo_all(&source, &target, &authfile)?);
    }
    let mut docker = Vec::new();
    for _ in 0..options.docker_iterations {
        docker.push(docker_cli(&source, work.0.as_path())?);
    }

    let ours_ms = median(&mut ours);
    let rerun_ms = median(&mut ours_rerun);
    let skopeo_ms = median(&mut skopeo);
    let skopeo_rerun_ms = median(&mut skopeo_rerun);
    rss.sort_unstable();
    let peak = *rss.last().context("at least one iteration")?;
    println!(
        "\n{:<66} {:>10} {:>9}",
        "median of runs (ms)", "time", "ratio"
    );
    let row = |name: &str, ms: f64, base: f64| {
        println!("{name:<66} {ms:>10.0} {:>8.2}x", ms / base);
    };
    row(
        "lava-docker promote (4 images, 2 lists, version + latest)",
        ours_ms,
        skopeo_ms,
    );
    row(
        "skopeo copy --all x4 (per-arch images only, no lists)",
        skopeo_ms,
        skopeo_ms,
    );
    let docker_ms = if docker.is_empty() {
        None
    } else {
        let ms = median(&mut docker);
        row(
            "docker pull/tag/push x4 + docker manifest create/push x2",
            ms,
            skopeo_ms,
        );
        Some(ms)
    };
    row(
        "re-run, everything present: lava-docker promote",
        rerun_ms,
        skopeo_rerun_ms,
    );
    row(
        "re-run, everything present: skopeo copy --all x4",
        skopeo_rerun_ms,
        skopeo_rerun_ms,
    );
    println!(
        "lava-docker peak RSS: {} MiB (max of {} runs)",
        peak / 1024,
        rss.len()
    );
    println!(
        "ratios: ours/skopeo {:.2}, docker CLI/ours {}, re-run ours/skopeo {:.2}",
        ours_ms / skopeo_ms,
        docker_ms.map_or("(skipped)".into(), |d| format!("{:.1}", d / ours_ms)),
        rerun_ms / skopeo_rerun_ms
    );

    let mut failures = Vec::new();
    if ours_ms > skopeo_ms * TARGET_VS_SKOPEO {
        failures.push(format!(
            "promotion {ours_ms:.0} ms is slower than skopeo's {skopeo_ms:.0} ms"
        ));
    }
    if let Some(docker_ms) = docker_ms
        && docker_ms < ours_ms * TARGET_VS_DOCKER
    {
        failures.push(format!(
            "promotion {ours_ms:.0} ms is not {TARGET_VS_DOCKER}x faster than the docker CLI's {docker_ms:.0} ms"
        ));
    }
    if rerun_ms > skopeo_rerun_ms * TARGET_RERUN_VS_SKOPEO {
        failures.push(format!(
            "re-run {rerun_ms:.0} ms is not under {TARGET_RERUN_VS_SKOPEO}x skopeo's {skopeo_rerun_ms:.0} ms"
        ));
    }
    if peak > TARGET_RSS_KIB {
        failures.push(format!("peak RSS {} MiB", peak / 1024));
    }
    if failures.is_empty() {
        println!(
            "\nall targets met: no slower than skopeo, ≥ {TARGET_VS_DOCKER}x faster than the docker CLI, re-run < {TARGET_RERUN_VS_SKOPEO}x skopeo's, peak RSS < 100 MiB"
        );
        Ok(())
    } else {
        bail!("targets missed:\n  {}", failures.join("\n  "))
    }
}

fn htpasswd() -> Auth {
    Auth::Htpasswd {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

fn ours_args(cmd: &mut Command, source: &Registry, target: &Registry) {
    cmd.args(["--source", &source.host(), "--target", &target.host()])
        .args(["--version", VERSION, "--user", USER])
        .env("LAVA_DOCKER_PASSWORD", PASSWORD);
}

fn time(cmd: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let elapsed = start.elapsed();
    ensure!(
        out.status.success(),
        "{:?} failed: {}{}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(elapsed)
}

fn median(runs: &mut [Duration]) -> f64 {
    runs.sort_unstable();
    runs.get(runs.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// A containers-auth.json for skopeo, so the password stays off the command line.
fn authfile(dir: &Path, host: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("auth-{}.json", host.replace(':', "-")));
    tests::registry::write_authfile(&path, host, USER, PASSWORD)?;
    Ok(path)
}

/// The benchmark's scratch directory, removed at the end.
struct Work(PathBuf);

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `skopeo copy --all` of the four per-arch images, one after another as a script
/// would.
fn skopeo_all(source: &Registry, target: &Registry, authfile: &Path) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for image in IMAGES {
        for arch in ARCHES {
            let mut cmd = Command::new("skopeo");
            cmd.args(["copy", "--all", "--quiet"])
                .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
                .arg("--dest-authfile")
                .arg(authfile)
                .arg(format!(
                    "docker://{}/lava/lava/{arch}/{image}:{VERSION}",
                    source.host()
                ))
                .arg(format!(
                    "docker://{}/lavasoftware/{arch}-{image}:{VERSION}",
                    target.host()
                ));
            total += time(&mut cmd)?;
        }
    }
    Ok(total)
}

/// LAVA's current path through the engine; removes the images it made (by ID).
fn docker_cli(source: &Registry, work: &Path) -> anyhow::Result<Duration> {
    require_tool("docker", "docker.io")?;
    time(Command::new("docker").arg("info").stdout(Stdio::null()))
        .context("`docker info` fails; is dockerd running?")?;
    let target = Registry::start(htpasswd())?;
    let config = work.join("docker-config");
    std::fs::create_dir_all(&config)?;
    let docker = || {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_CONFIG", &config);
        cmd
    };
    let mut login = docker();
    login
        .args([
            "login",
            "--username",
            USER,
            "--password-stdin",
            &target.host(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = login.spawn().context("cannot run docker login")?;
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .context("docker login has a stdin")?
            .write_all(PASSWORD.as_bytes())?;
    }
    ensure!(
        child.wait()?.success(),
        "docker login {} failed",
        target.host()
    );

    let mut made = Vec::new();
    let start = Instant::now();
    let result = (|| -> anyhow::Result<()> {
        for image in IMAGES {
            let mut members = Vec::new();
            for arch in ARCHES {
                let from = format!("{}/lava/lava/{arch}/{image}:{VERSION}", source.host());
                let to = format!("{}/lavasoftware/{arch}-{image}:{VERSION}", target.host());
                time(docker().args(["pull", "--quiet", &from]))?;
                made.push(from.clone());
                time(docker().args(["tag", &from, &to]))?;
                made.push(to.clone());
                time(docker().args(["push", "--quiet", &to]))?;
                members.push(to);
            }
            let list = format!("{}/lavasoftware/{image}:{VERSION}", target.host());
            time(
                docker()
                    .args(["manifest", "create", "--insecure", &list])
                    .args(&members),
            )?;
            time(docker().args(["manifest", "push", "--insecure", &list]))?;
        }
        Ok(())
    })();
    let elapsed = start.elapsed();
    // Remove what the engine now holds, by image ID.
    let mut ids = Vec::new();
    for reference in &made {
        if let Ok(out) = docker()
            .args(["image", "inspect", "--format", "{{.Id}}", reference])
            .output()
            && out.status.success()
        {
            ids.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        }
    }
    ids.sort();
    ids.dedup();
    for id in ids {
        let _ = docker()
            .args(["rmi", "--force", &id])
            .stdout(Stdio::null())
            .status();
    }
    result?;
    Ok(elapsed)
}
