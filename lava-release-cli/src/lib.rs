//! Cuts a LAVA release as a plan of stages that it prints, runs, journals and resumes.
//!
//! This crate composes the others: [`plan::plan`] turns the configuration and version into
//! a [`plan::Plan`] of stages, [`run::run`] executes it against the world with a journal,
//! and the `lava-release` binary is a thin clap front end over both. It is the only crate
//! that reads the environment ([`Env::from_process`]), and the only one that turns errors
//! into messages and exit codes. It holds no stage logic a second front end could not
//! reuse: each stage calls one library crate.
#![warn(missing_docs)]

pub mod config;
pub mod entry;
pub mod journal;
pub mod notes;
pub mod plan;
pub mod run;
pub mod signing;
pub mod stages;
pub mod ui;
pub mod version;

use time::OffsetDateTime;

use crate::config::Config;
use crate::plan::Release;

/// The environment variables lava-release reads, read once, at start-up.
#[derive(Clone, Default)]
pub struct Env {
    /// `DEBFULLNAME`: the changelog trailer's name.
    pub debfullname: Option<String>,
    /// `DEBEMAIL` (or `EMAIL`): the trailer's e-mail, possibly as `Name <email>`.
    pub debemail: Option<String>,
    /// `NO_COLOR` set to anything non-empty.
    pub no_color: bool,
    /// `SOURCE_DATE_EPOCH`: the trailer's date, for reproducible entries.
    pub source_date_epoch: Option<i64>,
    /// `LAVA_RELEASE_FAILPOINT`: where to simulate a crash (tests only).
    pub failpoint: Option<String>,
    /// Every variable, for those the configuration names (`signing.passphrase_env`,
    /// `gitlab.token_env`). Their values may be secrets: `Debug` shows names only.
    vars: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("debfullname", &self.debfullname)
            .field("debemail", &self.debemail)
            .field("no_color", &self.no_color)
            .field("source_date_epoch", &self.source_date_epoch)
            .field("failpoint", &self.failpoint)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// Reads the variables of this process.
    #[allow(clippy::disallowed_methods)] // The one place that reads the environment.
    pub fn from_process() -> Self {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            debfullname: get("DEBFULLNAME"),
            debemail: get("DEBEMAIL").or_else(|| get("EMAIL")),
            no_color: get("NO_COLOR").is_some(),
            source_date_epoch: get("SOURCE_DATE_EPOCH").and_then(|v| v.parse().ok()),
            failpoint: get("LAVA_RELEASE_FAILPOINT"),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// The value of variable `name`, if set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// An environment with exactly these variables (tests).
    pub fn with_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Self::default()
        }
    }
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
    /// The release key, once unlocked: its passphrase is asked for at most once a run.
    pub signer: std::cell::OnceCell<lava_signing::Signer>,
    /// The Debian Developer's key (`debian.key`), once unlocked.
    pub debian_signer: std::cell::OnceCell<lava_signing::Signer>,
}

impl Context<'_> {
    /// The release key's signer, unlocked on first use and kept for the run.
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

    /// Simulates a crash here when `LAVA_RELEASE_FAILPOINT` names `point`: the process
    /// exits at once, without cleaning up, as a kill would leave it. Used by tests of
    /// resumption only.
    pub fn failpoint(&self, point: &str) {
        if self.env.failpoint.as_deref() == Some(point) {
            eprintln!("lava-release: failpoint `{point}` reached; exiting as if killed");
            std::process::exit(FAILPOINT_EXIT);
        }
    }
}

/// The exit status of a process stopped at a failpoint.
pub const FAILPOINT_EXIT: i32 = 86;

/// A mistake in how lava-release was called (a bad version, an unknown stage): the
/// binary exits with status 2 and changes nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
