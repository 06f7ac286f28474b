//! The embedding API: what the `lava-release` binary does, as functions any front end
//! calls (the binary, `cargo xtask release`, other Linaro tooling). Each takes a request
//! value and returns a result value; none prints, reads the process environment or
//! exits: the caller passes an [`Env`] and a [`Reporter`], and turns errors into
//! messages.
//!
//! ```no_run
//! use lava_release_cli::ops::{ReleaseRequest, Workspace};
//! use lava_release_cli::env::Env;
//!
//! let workspace = Workspace::open(".".as_ref(), None, Env::from_process())?;
//! let release = workspace.prepare(&ReleaseRequest::new("2026.12".parse()?))?;
//! for (stage, status) in release.plan.stages.iter().zip(workspace.observe(&release)) {
//!     println!("{}: {}", stage.name(), status.label());
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use crate::config::{ChangelogStyle, Config, Source};
use crate::entry::{self, CHANGELOG, EntryRequest};
use crate::env::Env;
use crate::error::UsageError;
use crate::gbp_conf::GbpConf;
use crate::journal::Journal;
use crate::plan::{self, Plan};
use crate::run::{self, Reporter, RunOptions, Summary};
use crate::step::{Context, Status};
use crate::version::{Release, ReleaseVersion};

/// The configuration a command runs under, and where it came from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The effective configuration.
    pub config: Config,
    /// Where it came from.
    pub source: Source,
}

impl Settings {
    /// The configuration for the repository at `repo_dir` (which need not be a git
    /// repository: `repo verify` and `config` run anywhere): `config_file`, else
    /// `release.toml` at the top of the repository, else the built-in defaults; what
    /// it leaves unset of the options shared with gbp comes from gbp's own files.
    pub fn discover(
        repo_dir: &Path,
        config_file: Option<&Path>,
        env: &Env,
    ) -> Result<Self, UsageError> {
        let repo = lava_git::Repository::open(repo_dir).ok();
        let (top, git_dir) = match &repo {
            Some(repo) => (repo.workdir().to_owned(), repo.git_dir().to_owned()),
            None => (PathBuf::from("."), PathBuf::from(".git")),
        };
        let personal = crate::config::personal_file(env);
        let (mut config, mut source) = Config::discover(config_file, &top, personal.as_deref())
            .map_err(|e| UsageError(one_line(&e)))?;
        let gbp = GbpConf::read(&GbpConf::files(&top, &git_dir, env), "dch")?;
        for (key, option) in crate::config::GBP_DCH_OPTIONS {
            if let (false, Some((_, file))) = (source.origins.contains_key(key), gbp.get(option)) {
                source.origins.insert(key.to_owned(), file.to_owned());
            }
        }
        config.changelog.resolve_gbp(&gbp)?;
        Ok(Self { config, source })
    }

    /// The configuration as a release needs it, or a usage error naming the file.
    pub fn validate(&self) -> Result<(), UsageError> {
        self.config
            .validate()
            .map_err(|e| UsageError(format!("{}: {e}", self.source.describe())))
    }
}

/// A LAVA repository with its configuration and the environment: what a release, its
/// journal and its changelog start from.
pub struct Workspace {
    /// The repository.
    pub repo: lava_git::Repository,
    /// Its configuration.
    pub settings: Settings,
    /// The environment, read once by the caller.
    pub env: Env,
}

/// Which release to work on.
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    /// The release version.
    pub version: ReleaseVersion,
    /// The Debian version, when not `VERSION-1`.
    pub debian_version: Option<String>,
    /// Release even if the milestone has open merge requests or issues.
    pub allow_open: bool,
    /// `git debpush` checks `debian-tag2upload` skips, besides `debian.force`.
    pub force: Vec<String>,
}

impl ReleaseRequest {
    /// The release of `version`, with the default Debian version.
    pub fn new(version: ReleaseVersion) -> Self {
        Self {
            version,
            debian_version: None,
            allow_open: false,
            force: Vec::new(),
        }
    }
}

/// A release ready to plan, print or run: its configuration, what it releases and its
/// plan.
#[derive(Debug)]
pub struct PreparedRelease {
    /// The configuration, with the request's overrides.
    pub config: Config,
    /// What is released.
    pub release: Release,
    /// The stages.
    pub plan: Plan,
}

/// How `run` runs.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The selection and the confirmation.
    pub options: RunOptions,
    /// A dry run in which the Debian upload is prepared, signed and rehearsed.
    pub simulate: bool,
    /// How much the stages say of their own progress.
    pub verbosity: crate::step::Verbosity,
    /// Where downloads and copies report their bytes.
    pub meter: lava_io::transfer::Meter,
    /// Where stages draw spinners of their own (a terminal's); `None`: lines instead.
    pub spinners: Option<indicatif::MultiProgress>,
}

/// Which changelog entry to render.
#[derive(Debug, Clone)]
pub struct ChangelogRequest {
    /// The release.
    pub release: ReleaseRequest,
    /// Start after this tag or commit, or a revision expression such as `^X TAG`.
    pub since: Option<String>,
    /// The entry style; the configuration's when `None`.
    pub style: Option<ChangelogStyle>,
    /// Only commits touching these paths.
    pub paths: Vec<String>,
    /// One `[ Author ]` block per author; the configuration's when `None`.
    pub multimaint_merge: Option<bool>,
    /// The `git-log` style lists commits newest first; the configuration's when `None`.
    pub newest_first: Option<bool>,
    /// The first bullet instead of the configuration's.
    pub message: Option<String>,
    /// Open the entry in the editor before returning it.
    pub edit: bool,
}

/// A changelog entry `Workspace::changelog` rendered.
#[derive(Debug, Clone)]
pub struct ChangelogEntry {
    /// What is released.
    pub release: Release,
    /// The entry, header to trailer.
    pub text: String,
    /// What the existing changelog's top entry made the reader warn about, one line
    /// each, naming the file and line.
    pub warnings: Vec<String>,
}

impl Workspace {
    /// Opens the repository at `repo_dir` and its configuration.
    pub fn open(repo_dir: &Path, config_file: Option<&Path>, env: Env) -> anyhow::Result<Self> {
        let repo = lava_git::Repository::open(repo_dir).map_err(|e| UsageError(e.to_string()))?;
        let settings = Settings::discover(repo.workdir(), config_file, &env)?;
        Ok(Self {
            repo,
            settings,
            env,
        })
    }

    /// The plan of `request`, after the configuration validated.
    pub fn prepare(&self, request: &ReleaseRequest) -> anyhow::Result<PreparedRelease> {
        self.settings.validate()?;
        let mut config = self.settings.config.clone();
        config.gitlab.allow_open |= request.allow_open;
        config.debian.force.extend(request.force.iter().cloned());
        let release = release(request)?;
        let plan = plan::plan(&config, &release);
        Ok(PreparedRelease {
            config,
            release,
            plan,
        })
    }

    /// A context in which `prepared`'s stages check and apply.
    pub fn context<'a>(&'a self, prepared: &'a PreparedRelease) -> Context<'a> {
        Context::new(&self.repo, &prepared.config, &self.env, &prepared.release)
    }

    /// Every stage's observed status, read-only: a check that fails is shown as blocked
    /// with its error.
    pub fn observe(&self, prepared: &PreparedRelease) -> Vec<Status> {
        let ctx = self.context(prepared);
        prepared
            .plan
            .stages
            .iter()
            .map(|s| {
                s.check(&ctx).unwrap_or_else(|e| Status::Blocked {
                    reason: one_line(&e),
                })
            })
            .collect()
    }

    /// What would stop the release that can be seen now (each stage's
    /// [`crate::step::Step::ready`]): the "ready to release?" of `plan`, and what `run`
    /// refuses to start with.
    pub fn readiness(&self, prepared: &PreparedRelease) -> Vec<String> {
        run::readiness(&prepared.plan.stages, &self.context(prepared))
    }

    /// The plan with every stage's status, as `plan --json` prints it.
    pub fn plan_json(&self, prepared: &PreparedRelease) -> serde_json::Value {
        let statuses = self.observe(prepared);
        serde_json::json!({
            "version": prepared.release.version,
            "debian_version": prepared.release.debian_version.to_string(),
            "repository": self.repo.workdir(),
            "stages": prepared.plan.views(&statuses),
            "absent": prepared.plan.absent,
            "not_ready": self.readiness(prepared),
        })
    }

    /// Runs the selected stages of `prepared`. The selection is checked and the secrets
    /// the selected stages use are opened before anything, journal included, is
    /// touched; a dry run opens no journal.
    pub fn run(
        &self,
        prepared: &PreparedRelease,
        request: &RunRequest,
        reporter: &mut dyn Reporter,
    ) -> anyhow::Result<Summary> {
        let opts = RunOptions {
            dry_run: request.options.dry_run || request.simulate,
            ..request.options.clone()
        };
        let selected = run::select(&prepared.plan, &opts)?;
        let mut ctx = self.context(prepared);
        ctx.yes = opts.yes;
        ctx.simulate = request.simulate;
        ctx.dry_run = opts.dry_run;
        ctx.verbosity = request.verbosity;
        ctx.meter = request.meter.clone();
        ctx.spinners = request.spinners.clone();
        if !opts.dry_run {
            run::open_secrets(selected, &ctx)?;
            // Everything that can be seen wrong now is said now, before the first stage.
            let problems = run::readiness(selected, &ctx);
            if !problems.is_empty() {
                return Err(UsageError(problems.join("\n")).into());
            }
        }
        let mut journal = if opts.dry_run {
            None
        } else {
            Some(self.journal(&prepared.release.version)?)
        };
        run::run(&prepared.plan, &ctx, journal.as_mut(), &opts, reporter)
    }

    /// The journal of `version`.
    pub fn journal(&self, version: &ReleaseVersion) -> anyhow::Result<Journal> {
        Journal::open(self.repo.git_dir(), &version.to_string())
    }

    /// The changelog entry `request` asks for.
    pub fn changelog(&self, request: &ChangelogRequest) -> anyhow::Result<ChangelogEntry> {
        let config = &self.settings.config;
        let release = release(&request.release)?;
        let ctx = Context::new(&self.repo, config, &self.env, &release);
        let defaults = EntryRequest::from_config(&config.changelog);
        let rendered = entry::render_entry(
            &ctx,
            &EntryRequest {
                style: request.style.unwrap_or(defaults.style),
                since: request.since.as_deref(),
                paths: (!request.paths.is_empty()).then_some(request.paths.as_slice()),
                multimaint_merge: request
                    .multimaint_merge
                    .unwrap_or(defaults.multimaint_merge),
                newest_first: request.newest_first.unwrap_or(defaults.newest_first),
                message: request.message.as_deref(),
            },
        )?;
        let text = match request.edit {
            true => entry::edit(&ctx, &rendered.text)?,
            false => rendered.text,
        };
        Ok(ChangelogEntry {
            release,
            text,
            warnings: rendered.warnings,
        })
    }

    /// Puts `entry` on top of `debian/changelog`, atomically; returns the file.
    pub fn write_changelog(&self, entry: &str) -> anyhow::Result<PathBuf> {
        let path = self.repo.workdir().join(CHANGELOG);
        let old = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        lava_io::write_atomically(&path, lava_changelog::prepend(entry, &old).as_bytes())?;
        Ok(path)
    }

    /// Lists (or with `request.dry_run` false, deletes) the GitLab project's
    /// container-registry tags matching a pattern.
    pub fn registry_prune(
        &self,
        request: &lava_gitlab::PruneRequest,
    ) -> anyhow::Result<lava_gitlab::PruneReport> {
        let config = &self.settings.config;
        let project = &config.gitlab.project;
        let gl = match request.dry_run {
            true => crate::shared::gitlab::gitlab_client(config, &self.env, project)?,
            false => crate::shared::gitlab::gitlab_writer(config, &self.env, project)?,
        };
        Ok(gl.registry_prune(request)?)
    }
}

/// The release `request` names, or a usage error.
pub fn release(request: &ReleaseRequest) -> Result<Release, UsageError> {
    Release::new(request.version, request.debian_version.as_deref())
        .map_err(|e| UsageError(e.to_string()))
}

/// Verifies every suite of the repository at `location` (a path, an `ssh://` URL, or an
/// `http(s)://` URL, then over `repo.suites`) against `keyring`, or the release key's
/// certificate. A suite that is wrong is an error, unless `all_problems`: then every
/// suite's status comes back, each with all its problems (a path or `ssh://` location;
/// over HTTP the first wrong suite stays an error).
pub fn repo_verify(
    settings: &Settings,
    env: &Env,
    location: &str,
    keyring: Option<&Path>,
    all_problems: bool,
    meter: &lava_io::transfer::Meter,
) -> anyhow::Result<Vec<lava_repo_sign::SuiteStatus>> {
    use lava_repo_sign::{Location, Tree};
    let config = &settings.config;
    let keyring = match keyring {
        Some(path) => lava_signing::Keyring::from_file(path)
            .with_context(|| format!("cannot read the keyring {}", path.display()))?,
        None => crate::signing::release_keyring(&config.signing, env)?,
    };
    let now = SystemTime::now();
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(lava_repo_sign::verify_url(
            location,
            &config.repo.suites,
            &keyring,
            now,
            meter,
        )?);
    }
    let location = Location::parse(location).map_err(|e| UsageError(e.to_string()))?;
    let tree = Tree::new(location, ssh_options(config));
    Ok(if all_problems {
        tree.status(&keyring, now)?
    } else {
        tree.verify(&keyring, now)?
    })
}

/// Switches the live symlink of `repo.site` back to the kept tree of `version` (default:
/// the newest older than the live one), after verifying it.
pub fn repo_rollback(
    settings: &Settings,
    env: &Env,
    version: Option<&str>,
) -> anyhow::Result<lava_repo_sign::Switch> {
    use lava_repo_sign::{Layout, Location, Site};
    let config = &settings.config;
    let site = config.repo.site.as_deref().ok_or_else(|| {
        UsageError("repo.site is not set in the configuration; name the publishing site".into())
    })?;
    let location = Location::parse(site).map_err(|e| UsageError(e.to_string()))?;
    let layout = Layout {
        current: config.repo.current.clone(),
        live: config.repo.live.clone(),
        archive: config.repo.archive.clone(),
    };
    let keyring = crate::signing::release_keyring(&config.signing, env)?;
    Ok(Site::new(location, ssh_options(config), layout).rollback(
        version,
        &keyring,
        SystemTime::now(),
    )?)
}

fn ssh_options(config: &Config) -> lava_repo_sign::SshOptions {
    lava_repo_sign::SshOptions {
        config: config.repo.ssh_config.clone(),
        ..lava_repo_sign::SshOptions::default()
    }
}

pub use crate::error::one_line;
