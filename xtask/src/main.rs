//! Developer workflows of the lava-release workspace, as `cargo xtask <task>`.
//!
//! xtask builds with the Rust toolchain alone (its one dependency is `anyhow`), so each
//! task starts on a fresh machine: it first installs the Debian packages it needs,
//! OpenSSL and a C compiler for the other crates included (`packages.rs`), then runs
//! cargo for the work that needs the workspace's crates:
//! - `ci`: fmt, clippy and every test;
//! - `rehearse [VERSION]`: a whole release against local stand-ins in a sandbox (the
//!   `tests` crate's `rehearse` binary);
//! - `release VERSION [ARGS]`: `lava-release run VERSION [ARGS]` from this checkout;
//! - `bench NAME [ARGS]`: a capability side by side with the peer tool (the `bench`
//!   crate), once that benchmark's peer tools are installed;
//! - `dist`: the release binary with its man pages and shell completions, generated
//!   from the binary's own clap definition, in `target/dist/`.
//!
//! The repository's invariants are `#[test]`s here (`tidy.rs`), run by `cargo test`.

// Developer tasks read their environment freely; the ban is for the shipped crates,
// where only lava-release-cli's `Env` may.
#![allow(clippy::disallowed_methods)]

mod packages;
mod tidy;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <ci | rehearse [VERSION] | release VERSION [ARGS...] | bench changelog|repo-sign|docker|dget [ARGS...] | dist>";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        bail!(USAGE);
    };
    match task.as_str() {
        "ci" => ci(),
        "rehearse" => rehearse(rest),
        "release" => release(rest),
        "bench" => bench(rest),
        "dist" => dist(),
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

/// `cargo` (the one running us, when it does), in the workspace's top directory.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace());
    cmd
}

/// Runs `cmd` with this process's output; fails unless it succeeds.
fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// fmt, clippy, then every test with cargo's own output, closing lines included.
fn ci() -> anyhow::Result<()> {
    packages::ensure(&[packages::BUILD, packages::TESTS])?;
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
    // Every test target built first: that builds the `lava-release` binary too (its
    // package has integration tests) with the same features, so the e2e tests need not
    // each ask cargo for it, and no dependency is built twice with other features.
    run(cargo().args(["test", "--workspace", "--no-run", "--quiet"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    run(cargo().args(["test", "--workspace"]).env(
        "LAVA_RELEASE_BIN",
        target.join("debug").join("lava-release"),
    ))
}

/// `target/dist/`: `lava-release` (release build), `man/*.1`, and `completions/` for
/// bash, zsh and fish, each made by the binary from its clap definition.
fn dist() -> anyhow::Result<()> {
    packages::ensure(&[packages::BUILD])?;
    run(cargo().args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "lava-release-cli",
        "--bin",
        "lava-release",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    let binary = target.join("release").join("lava-release");
    let dist = workspace().join("target").join("dist");
    let completions = dist.join("completions");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("cannot create {}", completions.display()))?;
    std::fs::copy(&binary, dist.join("lava-release"))
        .with_context(|| format!("cannot copy {}", binary.display()))?;
    run(Command::new(&binary).arg("man").arg(dist.join("man")))?;
    for (shell, file) in [
        ("bash", "lava-release.bash"),
        ("zsh", "_lava-release"),
        ("fish", "lava-release.fish"),
    ] {
        let out = Command::new(&binary)
            .args(["completions", shell])
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        if !out.status.success() {
            bail!(
                "lava-release completions {shell} failed with {}",
                out.status
            );
        }
        std::fs::write(completions.join(file), out.stdout)
            .with_context(|| format!("cannot write {file}"))?;
    }
    println!("{}", dist.display());
    Ok(())
}

fn rehearse(args: &[String]) -> anyhow::Result<()> {
    packages::ensure(&[packages::BUILD, packages::REHEARSAL])?;
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--package",
            "tests",
            "--bin",
            "rehearse",
            "--",
        ])
        .args(args))
}

/// `lava-release run VERSION [ARGS]` through the binary, which is a thin shell over
/// lava-release-cli's embedding API: this task drives a release the way any other
/// frontend would.
fn release(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!("usage: cargo xtask release VERSION [lava-release run options]");
    }
    packages::ensure(&[packages::BUILD])?;
    run(cargo()
        .args(["run", "--quiet", "--package", "lava-release-cli"])
        .args(["--bin", "lava-release", "--", "run"])
        .args(args))
}

fn bench(args: &[String]) -> anyhow::Result<()> {
    let Some((name, rest)) = args.split_first() else {
        bail!("usage: cargo xtask bench changelog|repo-sign|docker|dget [ARGS...]");
    };
    let peers = packages::bench(name, rest)?;
    packages::ensure(&[packages::BUILD, &peers])?;
    run(cargo()
        .args(["run", "--quiet", "--package", "bench", "--"])
        .args(args))
}

#[cfg(test)]
mod tests {
    /// The premise of every task: Rust alone builds xtask, so nothing it depends on may
    /// need a system library or a C compiler. anyhow is the one dependency.
    #[test]
    fn xtask_depends_on_anyhow_alone() {
        let path = super::workspace().join("xtask/Cargo.toml");
        let manifest = std::fs::read_to_string(&path).expect("xtask has a manifest");
        let (_, deps) = manifest
            .split_once("[dependencies]\n")
            .expect("xtask has dependencies");
        let names: Vec<&str> = deps
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split(['.', '=', ' ']).next().unwrap_or(l))
            .collect();
        assert_eq!(names, ["anyhow"], "{}", path.display());
        for table in ["[build-dependencies]", "[target."] {
            assert!(!manifest.contains(table), "{}: {table}", path.display());
        }
    }
}
