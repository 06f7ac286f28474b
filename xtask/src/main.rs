//! Developer workflows of the lava-release workspace, as `cargo xtask <task>`.
//!
//! - `ci`: installs the Debian tools the tests use, then fmt, clippy and every test;
//! - `rehearse [VERSION]`: a whole release against local stand-ins in a sandbox;
//! - `release VERSION [ARGS]`: `lava-release run VERSION [ARGS]` from this checkout;
//! - `bench NAME`: a capability side by side with the peer tool (`changelog`).

// Test fixtures and developer tasks read their environment freely; the ban is for the
// shipped crates, where only lava-release-cli's `Env` may.
#![allow(clippy::disallowed_methods)]

mod bench;
mod packages;
mod tidy;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <ci | rehearse [VERSION] | release VERSION [ARGS...] | bench changelog|repo-sign|docker|dget [ARGS...]>";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        bail!(USAGE);
    };
    match task.as_str() {
        "ci" => ci(),
        "rehearse" => rehearse(rest),
        "release" => release(rest),
        "bench" => match rest.split_first() {
            Some((name, args)) if name == "changelog" => bench::changelog(args),
            Some((name, args)) if name == "repo-sign" => bench::repo_sign(args),
            Some((name, args)) if name == "docker" => bench::docker(args),
            Some((name, args)) if name == "dget" => bench::dget(args),
            Some((name, _)) => {
                bail!("unknown benchmark `{name}`; benchmarks: changelog, repo-sign, docker, dget")
            }
            None => bail!("usage: cargo xtask bench changelog"),
        },
        other => bail!("unknown task `{other}`; {USAGE}"),
    }
}

/// The workspace's top directory.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace());
    cmd
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Builds `lava-release` (debug) and returns its path.
fn build_lava_release() -> anyhow::Result<PathBuf> {
    run(cargo().args([
        "build",
        "--quiet",
        "--package",
        "lava-release-cli",
        "--bin",
        "lava-release",
    ]))?;
    Ok(tests::bin::target_dir().join("debug").join("lava-release"))
}

fn ci() -> anyhow::Result<()> {
    packages::ensure(packages::TEST_PACKAGES)?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))?;
    let bin = build_lava_release()?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("LAVA_RELEASE_BIN", &bin))
}

fn rehearse(args: &[String]) -> anyhow::Result<()> {
    let version = args
        .first()
        .map(String::as_str)
        .unwrap_or(tests::rehearsal::DEFAULT_VERSION);
    packages::ensure(packages::REHEARSAL_PACKAGES)?;
    let bin = build_lava_release()?;
    let report = tests::rehearsal::rehearse(&bin, version)?;
    print!("{report}");
    if !report.passed() {
        bail!("the rehearsal of {version} failed");
    }
    Ok(())
}

fn release(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!("usage: cargo xtask release VERSION [lava-release run options]");
    }
    let bin = build_lava_release()?;
    run(Command::new(bin).arg("run").args(args))
}
