//! ARCHITECTURE.md's "Adding a stage" recipe, followed: a stage is one type implementing
//! `Step` (here in this one file, as an embedder would write it) and one line that adds
//! it to the plan. The runner then runs, journals and resumes it, and enforces what it
//! needs, without knowing anything else about it.

// Test code: a panic with the value is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use lava_release_cli::config::Config;
use lava_release_cli::env::Env;
use lava_release_cli::journal::{Journal, Outcome};
use lava_release_cli::plan::{self, Plan};
use lava_release_cli::run::{self, Report, Reporter, RunOptions, StageError};
use lava_release_cli::step::{Absent, Context, Need, Status, Step};
use lava_release_cli::version::Release;

/// The new stage: writes a stamp file beside the journal, once the consistency record
/// says the release agrees.
#[derive(Debug)]
struct Stamp {
    version: String,
}

impl Stamp {
    fn path(&self, ctx: &Context<'_>) -> PathBuf {
        ctx.state_dir().join(format!("{}-stamp", self.version))
    }
}

impl Step for Stamp {
    fn from_config(_: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
        })
    }

    fn name(&self) -> &'static str {
        "stamp"
    }

    fn describe(&self) -> String {
        format!("stamp {}", self.version)
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        Ok(match std::fs::read_to_string(self.path(ctx)) {
            Ok(text) => Status::Done { evidence: text },
            Err(_) => Status::todo(),
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        std::fs::create_dir_all(ctx.state_dir())?;
        std::fs::write(self.path(ctx), format!("stamped {}", self.version))?;
        Ok(format!("stamped {}", self.version))
    }
}

/// A stand-in for the consistency stage that says the release agrees.
#[derive(Debug)]
struct Agreed;

impl Step for Agreed {
    fn from_config(_: &Config, _: &Release) -> Result<Self, Absent> {
        Ok(Self)
    }

    fn name(&self) -> &'static str {
        "consistency"
    }

    fn describe(&self) -> String {
        "the parts agree".into()
    }

    fn check(&self, _: &Context<'_>) -> anyhow::Result<Status> {
        Ok(Status::Done {
            evidence: "agreed".into(),
        })
    }

    fn apply(&self, _: &Context<'_>) -> anyhow::Result<String> {
        Ok("agreed".into())
    }
}

/// What the runner told the reporter, one line a stage.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Reporter for Recorder {
    fn started(&mut self, _: &dyn Step) {}

    fn finished(&mut self, stage: &dyn Step, report: Report<'_>) {
        self.0.push(format!("{}: {report:?}", stage.name()));
    }

    fn confirm(&mut self, _: &dyn Step) -> bool {
        true
    }
}

/// A git repository with one commit, in a temporary directory.
fn repository() -> (tempfile::TempDir, lava_git::Repository) {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "R M")
            .env("GIT_AUTHOR_EMAIL", "rm@example.org")
            .env("GIT_COMMITTER_NAME", "R M")
            .env("GIT_COMMITTER_EMAIL", "rm@example.org")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "master"]);
    git(&["commit", "-q", "--allow-empty", "-m", "start"]);
    let repo = lava_git::Repository::open(dir.path()).unwrap();
    (dir, repo)
}

fn only(stage: &str) -> RunOptions {
    RunOptions {
        only: Some(stage.into()),
        ..RunOptions::default()
    }
}

#[test]
fn a_new_stage_is_one_type_and_one_plan_line() {
    let (_dir, repo) = repository();
    let config = Config::default();
    let env = Env::default();
    let release = Release::new("2024.05".parse().unwrap(), None).unwrap();
    let ctx = Context::new(&repo, &config, &env, &release);

    // In LAVA's plan, the new stage needs the real consistency stage, which has nothing
    // to agree on yet: the stage is refused and writes nothing, journal aside.
    let mut lava = plan::plan(&config, &release);
    lava.add::<Stamp>(&config);
    assert_eq!(lava.names().last(), Some(&"stamp"));
    let mut journal = Journal::open(repo.git_dir(), "2024.05").unwrap();
    let mut recorder = Recorder::default();
    let err = run::run(
        &lava,
        &ctx,
        Some(&mut journal),
        &only("stamp"),
        &mut recorder,
    )
    .unwrap_err();
    let Some(StageError::Blocked { stage, reason }) = err.downcast_ref::<StageError>() else {
        panic!("{err:#}");
    };
    assert_eq!(*stage, "stamp");
    assert_eq!(
        reason,
        "it needs the consistency record for this version, and stage `consistency` is to do (no consistency record pins 2024.05 yet); run it first"
    );
    assert!(!ctx.state_dir().join("2024.05-stamp").exists());

    // Where the release agrees, the runner runs it, journals it, and a re-run finds it
    // done.
    let mut agreed = Plan::new(release.clone());
    agreed.add::<Agreed>(&config);
    agreed.add::<Stamp>(&config);
    let mut recorder = Recorder::default();
    let summary = run::run(
        &agreed,
        &ctx,
        Some(&mut journal),
        &only("stamp"),
        &mut recorder,
    )
    .unwrap();
    assert_eq!(summary.applied, 1);
    let summary = run::run(
        &agreed,
        &ctx,
        Some(&mut journal),
        &RunOptions::default(),
        &mut recorder,
    )
    .unwrap();
    assert_eq!((summary.passed, summary.already_done), (0, 2));
    assert_eq!(
        recorder.0,
        [
            "stamp: Applied(\"stamped 2024.05\")",
            "consistency: AlreadyDone(\"agreed\")",
            "stamp: AlreadyDone(\"stamped 2024.05\")",
        ]
    );
    let outcomes: Vec<(String, Outcome)> = journal
        .events()
        .iter()
        .map(|e| (e.stage.clone(), e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("stamp".into(), Outcome::Blocked),
            ("stamp".into(), Outcome::Applied),
            ("consistency".into(), Outcome::AlreadyDone),
            ("stamp".into(), Outcome::AlreadyDone),
        ]
    );
}
