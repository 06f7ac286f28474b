//! `cargo xtask bench <name>`: a capability of lava-release timed side by side with the
//! tool it replaces, on a generated fixture cached under the target directory.

use std::time::Duration;

mod changelog;
mod dget;
mod docker;
mod repo_sign;

/// `cargo xtask bench changelog [--iterations N] [--skip-gbp] [--regenerate]`.
pub fn changelog(args: &[String]) -> anyhow::Result<()> {
    changelog::run(args)
}

/// `cargo xtask bench repo-sign [ARGS]`.
pub fn repo_sign(args: &[String]) -> anyhow::Result<()> {
    repo_sign::run(args)
}

/// `cargo xtask bench dget [ARGS]`.
pub fn dget(args: &[String]) -> anyhow::Result<()> {
    dget::run(args)
}

/// `cargo xtask bench docker [ARGS]`.
pub fn docker(args: &[String]) -> anyhow::Result<()> {
    docker::run(args)
}

/// The median of `samples` (the upper one of an even count); zero when empty.
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
