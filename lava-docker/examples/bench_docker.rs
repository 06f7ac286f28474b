//! The `cargo xtask bench docker` harness, runnable on its own:
//! `cargo run --release -p lava-docker --example bench_docker -- [--iterations N]`.

// The benchmark reads CARGO and the target directory from its environment.
#![allow(clippy::disallowed_methods)]

#[path = "../../bench/src/docker.rs"]
mod docker;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    docker::run(&args)
}
