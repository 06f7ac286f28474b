//! `cargo xtask bench <name>`: a capability of lava-release timed side by side with the
//! tool it replaces, on a generated fixture cached under the target directory.
//!
//! `cargo xtask bench NAME` installs the peer tools first (xtask's `packages.rs`), then
//! runs this binary: `cargo run -p bench -- NAME [ARGS]`. Run on its own, a missing tool
//! stops it with the Debian package to install.

// Benchmarks read CARGO and the target directory from their environment; the ban is for
// the shipped crates, where only lava-release-cli's `Env` may.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};

mod changelog;
mod dget;
mod docker;
mod image_version;
mod orig;
mod repo_sign;
mod verify_release;

const USAGE: &str = "usage: cargo xtask bench changelog|repo-sign|docker|dget|image-version|orig|verify-release [ARGS...]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, args)) = args.split_first() else {
        bail!(USAGE);
    };
    match name.as_str() {
        // `[--iterations N] [--skip-gbp] [--regenerate]`
        "changelog" => changelog::run(args),
        // `[--iterations N] [--regenerate]`
        "repo-sign" => repo_sign::run(args),
        // `[--iterations N] [--regenerate]`
        "dget" => dget::run(args),
        // `[--iterations N] [--docker-iterations N] [--skip-docker] [--regenerate]`
        "docker" => docker::run(args),
        // `[--iterations N] [--regenerate]`
        "image-version" => image_version::run(args),
        // `[--iterations N] [--regenerate]`: proving the gbp flow's orig tarball.
        "orig" => orig::run(args),
        // `[--iterations N]`: a rehearsed release checked as anyone checks it.
        "verify-release" => verify_release::run(args),
        other => bail!("unknown benchmark `{other}`; {USAGE}"),
    }
}

/// `cargo` (the one running us, when it does), in the workspace's top directory.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(tests::bin::workspace());
    cmd
}

/// Runs `cmd` with this process's output; fails unless it succeeds.
fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed with {status}");
    Ok(())
}

/// Runs `cmd` and returns what it prints; fails unless it succeeds.
fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed non-UTF-8"))
}

/// The median of `samples` (the upper one of an even count); zero when empty.
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// `--iterations N` (default `default`) and `--regenerate`, the options of the
/// benchmarks with a generated fixture; `name` is the benchmark, for the usage line.
fn fixture_options(args: &[String], name: &str, default: usize) -> anyhow::Result<(usize, bool)> {
    let mut iterations = default;
    let mut regenerate = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--iterations" => {
                iterations = it
                    .next()
                    .context("--iterations needs a number")?
                    .parse()
                    .context("--iterations: not a number")?;
                ensure!(iterations > 0, "--iterations must be at least 1");
            }
            "--regenerate" => regenerate = true,
            other => bail!(
                "unknown option `{other}`; usage: cargo xtask bench {name} [--iterations N] [--regenerate]"
            ),
        }
    }
    Ok((iterations, regenerate))
}

/// Builds `package`'s example `example` in release mode and returns its path: our
/// side of a benchmark runs as its own process, measured like the peer tool.
/// (`docker.rs` builds its own: lava-docker's `bench_docker` example includes it alone.)
fn release_example(package: &str, example: &str) -> anyhow::Result<PathBuf> {
    check(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        package,
        "--example",
        example,
    ]))
    .with_context(|| format!("building {package}'s example {example} failed"))?;
    Ok(tests::bin::target_dir()
        .join("release")
        .join("examples")
        .join(example))
}

/// Fails, naming the Debian package to install, unless every `(program, package)`
/// is on the PATH.
fn require_tools(tools: &[(&str, &str)]) -> anyhow::Result<()> {
    for (program, package) in tools {
        check(
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {program}")),
        )
        .with_context(|| format!("`{program}` is needed; apt-get install {package}"))?;
    }
    Ok(())
}

/// Runs `cmd` to completion and returns its standard output; fails with its stderr.
fn check(cmd: &mut Command) -> anyhow::Result<Vec<u8>> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}
