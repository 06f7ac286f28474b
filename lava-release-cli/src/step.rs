//! The one contract every stage implements, and what a stage sees while it runs.
//!
//! A stage is a value implementing [`Step`]: it names and describes itself, observes the
//! world read-only in [`Step::check`], and changes it in [`Step::apply`]. What it relies
//! on from earlier stages it declares as [`Need`]s, which the runner enforces for every
//! selection of stages; the secrets it uses it declares as [`Credential`]s, which the
//! runner opens before the first stage. This module names no stage.

use std::cell::OnceCell;

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::env::Env;
use crate::error::UsageError;
use crate::signing;
use crate::version::Release;

/// One stage of the release.
///
/// `check` never changes anything; the runner calls `apply` only after `check` said
/// [`Status::ToDo`], and calls `check` again afterwards to see the stage done. Because
/// the truth is observed rather than remembered, a re-run resumes where a run stopped.
pub trait Step: std::fmt::Debug {
    /// The stage for `release` as `config` plans it, or why the configuration leaves
    /// it out (the plan says so). Only the plan calls it.
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent>
    where
        Self: Sized;

    /// Short name used by `--from`, `--to`, `--only` and the journal.
    fn name(&self) -> &'static str;

    /// What applying it does, for this release, in one line.
    fn describe(&self) -> String;

    /// Whether it publishes something that cannot be taken back (a push, an upload, a
    /// mail): such a stage asks for confirmation unless `--yes`.
    fn irreversible(&self) -> bool {
        false
    }

    /// Whether it only checks (nothing to apply): its done means "passed".
    fn check_only(&self) -> bool {
        false
    }

    /// What it relies on from earlier stages; the runner refuses to run it while one is
    /// not met, whatever stages were selected.
    fn needs(&self) -> Vec<Need> {
        Vec::new()
    }

    /// The secrets it uses; the runner opens them all before the first stage.
    fn credentials(&self) -> Vec<Credential> {
        Vec::new()
    }

    /// What would stop this stage when its turn comes and can be seen now: each a
    /// sentence naming the setting, credential or server (a token without the `api`
    /// scope, an SMTP server refusing the login). The runner asks every selected stage
    /// before the first stage of a run, after the secrets are open, and stops with all
    /// of them at once; a stage already done says nothing.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        let _ = ctx;
        Vec::new()
    }

    /// Whether applying it signs with the release key.
    fn signs(&self) -> bool {
        self.credentials().contains(&Credential::ReleaseKey)
    }

    /// Observes whether the stage is done, without changing anything.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status>;

    /// Whether what this stage provides to the stages that need it holds now. By
    /// default, the stage's own check seeing it done; a stage whose product outlives a
    /// change its check would see (the consistency record pins what was checked, whatever
    /// CI's tags say later) says so here.
    fn provides(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        self.check(ctx)
    }

    /// Does the stage's work and returns its evidence.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String>;

    /// In a dry run, for a stage that is not done: shows what applying would publish
    /// without publishing it (a message written to a file, a simulated upload), in one
    /// line. `None` for stages with nothing to show.
    fn rehearse(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        let _ = ctx;
        Ok(None)
    }
}

/// What a stage's check observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Already done; `evidence` says how we know (a commit id, a digest, a URL).
    Done {
        /// How we know.
        evidence: String,
    },
    /// Not done yet.
    ToDo {
        /// What is in place already, if anything (e.g. an uncommitted entry).
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Cannot be done now.
    Blocked {
        /// Why, in one sentence.
        reason: String,
    },
}

impl Status {
    /// A to-do status with no detail.
    pub fn todo() -> Self {
        Status::ToDo { detail: None }
    }

    /// Short label for tables: `done`, `to do`, `blocked`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Done { .. } => "done",
            Status::ToDo { .. } => "to do",
            Status::Blocked { .. } => "blocked",
        }
    }

    /// The evidence, detail or reason, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            Status::Done { evidence } => Some(evidence),
            Status::ToDo { detail } => detail.as_deref(),
            Status::Blocked { reason } => Some(reason),
        }
    }
}

/// What a stage relies on from an earlier one. Each need names the stage that provides
/// it: the need is met when that stage ended done in this run, or when its
/// [`Step::provides`] sees it done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// The release tag is signed by the release key.
    SignedTag,
    /// The release branch alone is on the project's remote, at the release commit.
    BranchPushed,
    /// The release commit's pipeline on the branch succeeded.
    BranchPipelineSucceeded,
    /// The signed tag and the release branch are on the project's remote.
    TagPushed,
    /// The milestone has nothing open (or `--allow-open` was given).
    MilestoneClear,
    /// The tag's pipeline succeeded.
    PipelineSucceeded,
    /// The consistency record pins this release: its parts agree.
    Consistency,
}

impl Need {
    /// The stage that provides it.
    pub fn provider(self) -> &'static str {
        match self {
            Need::SignedTag => "signed-tag",
            Need::BranchPushed => "push-branch",
            Need::BranchPipelineSucceeded => "wait-branch-ci",
            Need::TagPushed => "push-tag",
            Need::MilestoneClear => "milestone-check",
            Need::PipelineSucceeded => "wait-ci",
            Need::Consistency => "consistency",
        }
    }

    /// What it is, as a sentence's object: "needs {what}".
    pub fn what(self) -> &'static str {
        match self {
            Need::SignedTag => "the release tag signed by the release key",
            Need::BranchPushed => "the release branch pushed",
            Need::BranchPipelineSucceeded => {
                "the release commit's branch pipeline to have succeeded"
            }
            Need::TagPushed => "the signed tag pushed",
            Need::MilestoneClear => "the milestone checked clear",
            Need::PipelineSucceeded => "the tag's pipeline to have succeeded",
            Need::Consistency => "the consistency record for this version",
        }
    }
}

/// Why the configuration leaves a stage out of the plan: the stage and the setting,
/// e.g. `dev-build`, "debian.dev_build is false".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Absent {
    /// The stage's name.
    pub stage: &'static str,
    /// The setting that leaves it out, as a clause.
    pub why: String,
}

impl Absent {
    /// `stage` is left out because of `why`.
    pub fn new(stage: &'static str, why: impl Into<String>) -> Self {
        Self {
            stage,
            why: why.into(),
        }
    }
}

/// A secret a stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// The release key, unlocked.
    ReleaseKey,
    /// The Debian Developer's key (`debian.key`), unlocked.
    DebianKey,
    /// The GitLab API token, for writes (reads of a public project need none).
    GitLab,
}

/// How much a run says: `--quiet`, the default, or `-v`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and warnings only: no progress, no stage lines, no builder output.
    Quiet,
    /// A line per stage, progress on a terminal.
    #[default]
    Normal,
    /// Also each stage as it starts, how long it took, and an error's causes one per
    /// line.
    Verbose,
}

/// Everything a stage sees: the repository, the configuration, the environment, the
/// release and the time the run started.
pub struct Context<'a> {
    /// The repository the release is cut from.
    pub repo: &'a lava_git::Repository,
    /// The effective configuration.
    pub config: &'a Config,
    /// The environment, read once.
    pub env: &'a Env,
    /// What is released.
    pub release: &'a Release,
    /// When this run started (or `SOURCE_DATE_EPOCH`).
    pub now: OffsetDateTime,
    /// `--yes`: the release manager accepted every irreversible stage up front, and
    /// warnings that need it (e.g. a Debian freeze).
    pub yes: bool,
    /// `--simulate`: a dry run in which stages that publish rehearse their
    /// publication as far as they can without publishing (e.g. `dput -s`).
    pub simulate: bool,
    /// `--dry-run` (or `--simulate`): stages only check, and what a rehearsal writes
    /// goes under [`Context::scratch_dir`], nowhere else.
    pub dry_run: bool,
    /// How much stages say of their own progress (pipeline waits, the builder's output).
    pub verbosity: Verbosity,
    /// Where downloads and copies report their bytes (bars on a terminal).
    pub meter: lava_io::transfer::Meter,
    /// Where a stage's own spinner goes (a pipeline wait), beside the run's: `None`
    /// off a terminal, where a stage prints lines instead.
    pub spinners: Option<indicatif::MultiProgress>,
    signer: OnceCell<lava_signing::Signer>,
    debian_signer: OnceCell<lava_signing::Signer>,
}

impl<'a> Context<'a> {
    /// A context for `release` of `repo` under `config`, started now.
    pub fn new(
        repo: &'a lava_git::Repository,
        config: &'a Config,
        env: &'a Env,
        release: &'a Release,
    ) -> Self {
        Self {
            repo,
            config,
            env,
            release,
            now: OffsetDateTime::now_utc(),
            yes: false,
            simulate: false,
            dry_run: false,
            verbosity: Verbosity::Normal,
            meter: lava_io::transfer::Meter::default(),
            spinners: None,
            signer: OnceCell::new(),
            debian_signer: OnceCell::new(),
        }
    }

    /// The release key's signer, unlocked on first use and kept for the run: its
    /// passphrase is asked for at most once.
    pub fn release_signer(&self) -> anyhow::Result<&lava_signing::Signer> {
        if let Some(signer) = self.signer.get() {
            return Ok(signer);
        }
        let signer = signing::release_signer(&self.config.signing, self.env)?;
        Ok(self.signer.get_or_init(|| signer))
    }

    /// The Debian Developer's signer (`debian.key`), unlocked on first use and kept.
    pub fn debian_signer(&self) -> anyhow::Result<&lava_signing::Signer> {
        if let Some(signer) = self.debian_signer.get() {
            return Ok(signer);
        }
        let signing = self.config.debian.signing().ok_or_else(|| {
            UsageError(
                "debian.key is not set in the configuration; name the Debian Developer's key that signs the upload".into(),
            )
        })?;
        let signer = signing::key_signer(
            &signing,
            self.env,
            "debian.key",
            "the Debian Developer's key",
        )?;
        Ok(self.debian_signer.get_or_init(|| signer))
    }

    /// The directory where lava-release keeps its state: `.git/lava-release/`.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.repo.git_dir().join("lava-release")
    }

    /// Where a dry run writes what it shows (the message it would send, the upload it
    /// would make): `.git/lava-release/dry-run/VERSION/`, created on first use. Nothing
    /// a real run reads is there.
    pub fn scratch_dir(&self) -> anyhow::Result<std::path::PathBuf> {
        let dir = self
            .state_dir()
            .join("dry-run")
            .join(self.release.version.to_string());
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// Simulates a crash here when `LAVA_RELEASE_FAILPOINT` names `point`: the process
    /// exits at once, without cleaning up, as a kill would leave it. Used by tests of
    /// resumption only.
    pub fn failpoint(&self, point: &str) {
        failpoint(point, self.env.failpoint.as_deref());
    }
}

/// [`Context::failpoint`] for code that cannot hold the context (a library's worker
/// threads): `armed` is the failpoint `LAVA_RELEASE_FAILPOINT` names.
pub fn failpoint(point: &str, armed: Option<&str>) {
    if armed == Some(point) {
        eprintln!("lava-release: failpoint `{point}` reached; exiting as if killed");
        std::process::exit(FAILPOINT_EXIT);
    }
}

/// The exit status of a process stopped at a failpoint.
pub const FAILPOINT_EXIT: i32 = 86;

/// A commit or object id shortened for evidence and messages.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
