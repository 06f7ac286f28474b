//! Embedding lava-release: build the plan of a release from a configuration, print it,
//! and run one stage with a reporter of your own, as other Linaro tooling would.
//!
//! `cargo run -p lava-release-cli --example embed -- /path/to/lava 2026.12 preflight`

use lava_release_cli::env::Env;
use lava_release_cli::ops::{ReleaseRequest, RunRequest, Workspace};
use lava_release_cli::run::{Report, Reporter, RunOptions};
use lava_release_cli::step::{Step, Verbosity};

/// Prints each stage's outcome as one plain line, and declines irreversible stages.
struct Plain;

impl Reporter for Plain {
    fn started(&mut self, stage: &dyn Step) {
        println!("{}: checking", stage.name());
    }

    fn finished(&mut self, stage: &dyn Step, report: Report<'_>) {
        println!("{}: {report:?}", stage.name());
    }

    fn confirm(&mut self, _: &dyn Step) -> bool {
        false
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let repo = args.next().unwrap_or_else(|| ".".into());
    let version = args.next().unwrap_or_else(|| "2026.12".into());
    let stage = args.next().unwrap_or_else(|| "preflight".into());

    let workspace = Workspace::open(repo.as_ref(), None, Env::from_process())?;
    let release = workspace.prepare(&ReleaseRequest::new(version.parse()?))?;
    for stage in &release.plan.stages {
        let mark = if stage.irreversible() { "!" } else { " " };
        println!("{mark} {:<16} {}", stage.name(), stage.describe());
    }
    let request = RunRequest {
        options: RunOptions {
            only: Some(stage),
            dry_run: true,
            ..RunOptions::default()
        },
        simulate: false,
        verbosity: Verbosity::Normal,
        meter: Default::default(),
        spinners: None,
    };
    let summary = workspace.run(&release, &request, &mut Plain)?;
    println!("{summary:?}");
    Ok(())
}
