//! The apt repository site as the configuration describes it, and the upload
//! `repo-import` takes: shared by the repository stages and the consistency stage.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_repo_sign::{Changes, Layout, Location, Site, SshOptions, SuiteStatus, Tree};

use crate::config::{Config, RepoMode};
use crate::packages::SuiteVersion;
use crate::shared::debian::release_package_versions;
use crate::step::{Context, Status};
use crate::version::Release;

/// What every repository stage needs to know.
#[derive(Debug, Clone)]
pub struct RepoSite {
    /// The site: a local directory or an `ssh://` URL.
    pub site: String,
    /// The directory of built `.changes` files, on the machine holding the site.
    pub incoming: Option<PathBuf>,
    /// The `ssh_config` for an `ssh://` site.
    pub ssh_config: Option<PathBuf>,
    /// The suites imported into.
    pub suites: Vec<String>,
    /// The source package uploaded.
    pub source: String,
    /// Names inside the site.
    pub layout: Layout,
    /// The bare version, which names the kept tree (`archive/VERSION`).
    pub version: String,
    /// The Debian version of the upload.
    pub debian_version: String,
    /// The version CI builds for each suite (`repo.package_version`).
    pub packages: Vec<SuiteVersion>,
    /// Whether each suite has its own upload (`repo.package_version` names the suite).
    pub per_suite: bool,
}

/// Why the import cannot be judged (no incoming directory, no matching upload).
pub type Blocked = String;

impl RepoSite {
    /// The site of `release` under `config`.
    pub fn new(config: &Config, release: &Release) -> Self {
        let repo = &config.repo;
        Self {
            site: repo.site.clone().unwrap_or_default(),
            incoming: repo.incoming.clone(),
            ssh_config: repo.ssh_config.clone(),
            suites: repo.suites.clone(),
            source: repo.source.clone(),
            layout: Layout {
                current: repo.current.clone(),
                live: repo.live.clone(),
                archive: repo.archive.clone(),
            },
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            // `Config::validate` has checked the template before any plan is made.
            packages: release_package_versions(config, release).unwrap_or_default(),
            per_suite: crate::shared::debian::per_suite(config),
        }
    }

    /// The site as a running stage sees it: in pipeline mode the CI artifacts go, unless
    /// `repo.incoming` says otherwise, to `.git/lava-release/VERSION-ci-artifacts/`.
    pub fn in_context(ctx: &Context<'_>) -> Self {
        let mut site = Self::new(ctx.config, ctx.release);
        site.incoming = incoming(ctx);
        site
    }

    /// The expected package versions, for messages: `2026.07+12+bookworm for bookworm`.
    pub fn expected(&self) -> String {
        if !self.per_suite {
            let version = self.packages.first().map_or("", |p| p.version.as_str());
            return format!("{} {version}", self.source);
        }
        self.packages
            .iter()
            .map(|p| format!("{} {} for {}", self.source, p.version, p.suite))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the reprepro stages are planned (`repo.mode = "reprepro"`); when not,
    /// why, for the plan's "Not in this plan".
    pub fn reprepro(config: &Config, stage: &'static str) -> Result<(), crate::step::Absent> {
        match config.repo.mode {
            RepoMode::Reprepro => Ok(()),
            RepoMode::Pipeline => Err(crate::step::Absent::new(
                stage,
                "repo.mode is pipeline: CI publishes the repository",
            )),
            RepoMode::None => Err(crate::step::Absent::new(stage, "repo.mode is none")),
        }
    }

    /// The tree reprepro writes, as the configuration names it.
    pub fn current_name(&self) -> String {
        format!(
            "{}/{}",
            self.site.trim_end_matches('/'),
            self.layout.current
        )
    }

    /// The site, reached locally or over ssh.
    pub fn site(&self) -> anyhow::Result<Site> {
        let location = Location::parse(&self.site)
            .with_context(|| format!("repo.site `{}` in the configuration", self.site))?;
        let ssh = SshOptions {
            config: self.ssh_config.clone(),
            ..SshOptions::default()
        };
        Ok(Site::new(location, ssh, self.layout.clone()))
    }

    /// What would stop the repository stages, for their [`Step::ready`]: the site is
    /// unreachable (over SSH without a prompt) or not writable by the login.
    ///
    /// [`Step::ready`]: crate::step::Step::ready
    pub fn ready(&self) -> Vec<String> {
        let missing =
            crate::config::missing_paths(&[("repo.ssh_config", self.ssh_config.as_ref())]);
        if !missing.is_empty() {
            return missing;
        }
        match self.site().and_then(|site| Ok(site.check_writable()?)) {
            Ok(()) => Vec::new(),
            Err(e) => vec![crate::error::one_line(&e)],
        }
    }

    /// The `.changes` of this release's source in `dir`: those at a version CI builds
    /// for a suite, and those whose upstream part is this release's (a suite's upload
    /// built for the wrong suite), which the consistency gate then refuses.
    fn find_uploads(&self, tree: &Tree, dir: &str) -> anyhow::Result<Vec<Changes>> {
        Ok(tree
            .find_changes(dir)?
            .into_iter()
            .filter(|c| {
                c.source == self.source
                    && (self.packages.iter().any(|p| p.version == c.version)
                        || upstream_of(&c.version) == self.version)
            })
            .collect())
    }

    /// The suites `changes` is the upload of: with per-suite uploads, the first
    /// configured suite its `Distribution` names (none when it names none); otherwise
    /// every suite, the written process's one upload.
    pub fn suites_of<'s>(&'s self, changes: &Changes) -> Vec<&'s SuiteVersion> {
        if !self.per_suite {
            return self.packages.iter().collect();
        }
        changes
            .distribution
            .split_whitespace()
            .find_map(|d| self.packages.iter().find(|p| p.suite == d))
            .into_iter()
            .collect()
    }

    /// The upload `repo-import` would take, and the tree that reads it: the site's
    /// machine when `repo.site` is set, else this one. `None` without `repo.incoming`.
    pub fn uploads(&self) -> anyhow::Result<Option<(Tree, Vec<Changes>)>> {
        let Some(dir) = &self.incoming else {
            return Ok(None);
        };
        let dir = dir.display().to_string();
        let tree = if self.site.is_empty() {
            Tree::new(
                Location::parse(&dir).with_context(|| format!("repo.incoming `{dir}`"))?,
                SshOptions::default(),
            )
        } else {
            self.site()?.current()
        };
        let found = self.find_uploads(&tree, &dir)?;
        Ok(Some((tree, found)))
    }

    /// The upload of this release in the incoming directory.
    pub fn changes(&self, tree: &Tree) -> anyhow::Result<Result<Vec<Changes>, Blocked>> {
        let Some(dir) = &self.incoming else {
            return Ok(Err(
                "repo.incoming is not set; name the directory of the built .changes files".into(),
            ));
        };
        let dir = dir.display().to_string();
        let found = self.find_uploads(tree, &dir)?;
        if found.is_empty() {
            return Ok(Err(format!(
                "{dir} holds no .changes of {}; build the packages and copy them there",
                self.expected()
            )));
        }
        Ok(Ok(found))
    }

    /// Whether every suite holds the upload: the observation behind `repo-import`, and
    /// the first thing `repo-sign` needs.
    pub fn check_import(&self, tree: &Tree) -> anyhow::Result<Status> {
        let changes = match self.changes(tree)? {
            Ok(c) => c,
            Err(reason) => return Ok(Status::Blocked { reason }),
        };
        let pending = tree.import_preview(&self.suites, &changes)?;
        let todo: Vec<String> = pending
            .iter()
            .filter(|i| i.include)
            .map(ToString::to_string)
            .collect();
        if todo.is_empty() {
            let present: Vec<String> = pending
                .iter()
                .map(|i| {
                    format!(
                        "{} {} in {}",
                        i.changes.source,
                        i.existing.as_deref().unwrap_or("?"),
                        i.suite
                    )
                })
                .collect();
            Ok(Status::Done {
                evidence: present.join(", "),
            })
        } else {
            Ok(Status::ToDo {
                detail: Some(todo.join("; ")),
            })
        }
    }
}

/// Where the CI artifacts are: `repo.incoming`, or in pipeline mode the state
/// directory's `VERSION-ci-artifacts/`.
pub fn incoming(ctx: &Context<'_>) -> Option<PathBuf> {
    match (&ctx.config.repo.incoming, ctx.config.repo.mode) {
        (Some(dir), _) => Some(dir.clone()),
        (None, RepoMode::Pipeline) => Some(
            ctx.state_dir()
                .join(format!("{}-ci-artifacts", ctx.release.version)),
        ),
        (None, RepoMode::Reprepro | RepoMode::None) => None,
    }
}

/// The upstream part of a Debian version: without the revision and any `+` suffix
/// (`2026.07+12+bookworm` and `2026.07-1` are both `2026.07`).
pub fn upstream_of(version: &str) -> &str {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    upstream.split('+').next().unwrap_or(upstream)
}

/// The suites' names, for evidence.
pub fn suite_names(statuses: &[SuiteStatus]) -> String {
    statuses
        .iter()
        .map(|s| s.suite.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
