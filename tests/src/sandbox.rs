//! A LAVA-shaped sandbox: a repository with realistic history, a previous release tag
//! and a `debian/changelog`, in a temporary directory, built with the real `git`.
//!
//! Dates are pinned so the history (and so every commit id) is the same on every run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

pub use crate::tools::{all_text, text};

/// The release the sandbox's history ends with.
pub const PREVIOUS_VERSION: &str = "2024.01";

/// Release manager identity configured in the sandbox repository.
pub const RM_NAME: &str = "Rémi Release";
/// Release manager e-mail.
pub const RM_EMAIL: &str = "rm@lavasoftware.example";

/// A temporary directory holding the sandbox repositories; removed on drop.
pub struct Sandbox {
    dir: tempfile::TempDir,
    clock: u64,
    /// `release.toml` sections, written to [`Sandbox::config`] on each change.
    sections: Vec<String>,
    gitlab: Option<crate::gitlab::GitLabStandIn>,
}

/// The GitLab token the sandbox's stand-in accepts (read-write).
pub const GITLAB_TOKEN: &str = "glpat-sandbox-0123456789";
/// A token the sandbox's GitLab stand-in knows with the `read_api` scope only.
pub const GITLAB_READ_ONLY_TOKEN: &str = "glpat-sandbox-readonly-42";
/// A token the sandbox's GitLab stand-in knows with the `api` scope, of a Reporter.
pub const GITLAB_REPORTER_TOKEN: &str = "glpat-sandbox-reporter-77";

/// Authors of the sandbox history: non-ASCII names and one person with two spellings.
const AUTHORS: &[(&str, &str)] = &[
    ("Rémi Duraffort", "remi.duraffort@linaro.example"),
    ("Stevan Radaković", "stevan@linaro.example"),
    ("Antonio Terceiro", "antonio@linaro.example"),
    ("Remi Duraffort", "remi.duraffort@linaro.example"),
    ("Chase Qi", "chase@linaro.example"),
];

impl Sandbox {
    /// An empty sandbox.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lava-release-sandbox-")
            .tempdir()?;
        // 2024-01-15 10:00 UTC.
        // No images unless a test or the rehearsal brings registries, and no apt
        // repository unless one brings a site or a publishing pipeline.
        let sandbox = Self {
            dir,
            clock: 1_705_312_800,
            sections: vec![
                "[docker]\nenabled = false".into(),
                "[repo]\nmode = \"none\"".into(),
            ],
            gitlab: None,
        };
        sandbox.write_config()?;
        Ok(sandbox)
    }

    /// LAVA's history with bare remotes and a release key: where most end-to-end
    /// tests start.
    pub fn lava() -> anyhow::Result<Self> {
        Self::new()?.with_lava_history()?.with_remotes_and_keys()
    }

    /// `XDG_CONFIG_HOME` of every run: the person's own configuration is
    /// `lava-release/config.toml` under it.
    pub fn xdg_config_home(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    /// The sandbox directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The LAVA working repository.
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("lava")
    }

    /// Builds `lava/`: history up to the `2024.01` release (tagged, annotated), then a
    /// few months of work by several authors, with feature branches merged.
    pub fn with_lava_history(mut self) -> anyhow::Result<Self> {
        let repo = self.repo();
        std::fs::create_dir_all(&repo)?;
        self.git(&["init", "--quiet", "--initial-branch=master"], None)?;
        self.git(&["config", "user.name", RM_NAME], None)?;
        self.git(&["config", "user.email", RM_EMAIL], None)?;

        self.write(
            "README.md",
            "# LAVA\n\nLinaro Automated Validation Architecture.\n",
        )?;
        self.write("debian/source/format", "3.0 (native)\n")?;
        self.write(
            "debian/control",
            "Source: lava\nSection: net\nPriority: optional\nMaintainer: Debian LAVA team <pkg-linaro-lava-devel@lists.alioth.debian.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n\nPackage: lava\nArchitecture: all\nDepends: ${misc:Depends}\nDescription: Linaro Automated Validation Architecture\n LAVA is a continuous integration system for deploying operating\n systems onto physical and virtual hardware for running tests.\n",
        )?;
        self.write(
            "debian/changelog",
            "lava (2023.12-1) unstable; urgency=medium\n\n  * LAVA Software 2023.12 release\n\n -- Rémi Release <rm@lavasoftware.example>  Tue, 19 Dec 2023 10:00:00 +0000\n",
        )?;
        self.write("lava_common/VERSION", "2023.12\n")?;
        self.write("lava_dispatcher/actions/deploy.py", "# deploy actions\n")?;
        self.write("lava_server/settings.py", "# settings\n")?;
        self.write(
            "etc/dispatcher-config/device-types/qemu.jinja2",
            "{% extends 'base.jinja2' %}\n",
        )?;
        self.commit(AUTHORS[0], "Initial import", &[])?;

        // The 2024.01 release, as the release manager cut it.
        self.commit(
            AUTHORS[1],
            "lava_dispatcher: fix deploy timeout",
            &[(
                "lava_dispatcher/actions/deploy.py",
                "# deploy actions\ntimeout = 30\n",
            )],
        )?;
        self.commit(AUTHORS[0], "debian: depend on python3-jinja2", &[("debian/control", "Source: lava\nSection: net\nPriority: optional\nMaintainer: Debian LAVA team <pkg-linaro-lava-devel@lists.alioth.debian.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n\nPackage: lava\nArchitecture: all\nDepends: ${misc:Depends}, python3-jinja2\nDescription: Linaro Automated Validation Architecture\n LAVA is a continuous integration system for deploying operating\n systems onto physical and virtual hardware for running tests.\n")])?;
        let changelog = std::fs::read_to_string(repo.join("debian/changelog"))?;
        let entry = format!(
            "lava ({PREVIOUS_VERSION}-1) unstable; urgency=medium\n\n  * LAVA Software {PREVIOUS_VERSION} release\n\n  [ Rémi Duraffort ]\n  * [a1b2c3d4e] debian: depend on python3-jinja2\n\n -- {RM_NAME} <{RM_EMAIL}>  Mon, 29 Jan 2024 10:00:00 +0000\n\n{changelog}"
        );
        self.commit(
            (RM_NAME, RM_EMAIL),
            &format!("LAVA Software {PREVIOUS_VERSION} release"),
            &[
                ("debian/changelog", &entry),
                ("lava_common/VERSION", &format!("{PREVIOUS_VERSION}\n")),
            ],
        )?;
        self.tag(
            PREVIOUS_VERSION,
            &format!("LAVA Software {PREVIOUS_VERSION}"),
        )?;

        // A few months of work since.
        self.commit(
            AUTHORS[2],
            "lava_server: paginate the job list",
            &[("lava_server/settings.py", "# settings\nPAGE = 50\n")],
        )?;
        self.commit(
            AUTHORS[0],
            "debian: install the lava-coordinator unit\n\nCloses: #1042",
            &[("debian/lava.install", "lava-coordinator.service\n")],
        )?;
        self.git(&["checkout", "--quiet", "-b", "feature/fastboot"], None)?;
        self.commit(AUTHORS[1], "lava_dispatcher: support fastboot reboot to bootloader, which some boards need before flashing images", &[("lava_dispatcher/actions/boot.py", "# fastboot\n")])?;
        self.commit(
            AUTHORS[1],
            "debian: recommend fastboot",
            &[("debian/lava.recommends", "fastboot\n")],
        )?;
        self.git(&["checkout", "--quiet", "master"], None)?;
        self.commit(
            AUTHORS[3],
            "debian: bump Standards-Version\nto 4.7.0",
            &[("debian/compat.note", "4.7.0\n")],
        )?;
        self.merge(
            "feature/fastboot",
            "Merge branch 'feature/fastboot' into 'master'",
        )?;
        self.commit(
            AUTHORS[4],
            "lava_scheduler_app: add the rk3399 device type",
            &[(
                "etc/dispatcher-config/device-types/rk3399.jinja2",
                "{% extends 'base-uboot.jinja2' %}\n",
            )],
        )?;
        self.commit(
            AUTHORS[2],
            "debian: drop obsolete maintainer scripts\n\nThanks: Debian QA",
            &[("debian/lava.postinst.old", "")],
        )?;
        self.commit(
            AUTHORS[0],
            "ci: lint with ruff\n\nGbp-Dch: Ignore",
            &[("debian/ci.note", "ruff\n")],
        )?;
        Ok(self)
    }

    /// The project's bare remote.
    pub fn origin(&self) -> PathBuf {
        self.dir.path().join("remotes/lava.git")
    }

    /// The release manager's fork.
    pub fn fork(&self) -> PathBuf {
        self.dir.path().join("remotes/fork.git")
    }

    /// The lava-lab repository (a bare repository standing in for Gerrit).
    pub fn lab(&self) -> PathBuf {
        self.dir.path().join("remotes/lava-lab.git")
    }

    /// The configuration the sandbox release uses.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("release.toml")
    }

    /// The throwaway release key's secret key file and public certificate.
    pub fn release_key(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("keys/release.key"),
            self.dir.path().join("keys/release.pub"),
        )
    }

    /// Adds the remotes (`origin` with the history so far, an empty fork, a lava-lab
    /// with older device types), a throwaway release key, and `release.toml` naming them.
    pub fn with_remotes_and_keys(self) -> anyhow::Result<Self> {
        for bare in [self.origin(), self.fork()] {
            let mut cmd = Command::new("git");
            cmd.args(["init", "--quiet", "--bare", "--initial-branch=master"])
                .arg(&bare);
            run(cmd, None)?;
        }
        let origin = self.origin().display().to_string();
        self.git(&["remote", "add", "origin", &origin], None)?;
        self.git(&["push", "--quiet", "origin", "master", "--tags"], None)?;

        // lava-lab: one device type already shared, in an older version.
        let lab_work = self.dir.path().join("lab-work");
        let mut cmd = Command::new("git");
        cmd.args(["init", "--quiet", "--initial-branch=master"])
            .arg(&lab_work);
        run(cmd, None)?;
        std::fs::create_dir_all(lab_work.join("shared/device-types"))?;
        std::fs::write(
            lab_work.join("shared/device-types/qemu.jinja2"),
            "{# old #}\n",
        )?;
        std::fs::write(lab_work.join("README"), "lava-lab\n")?;
        let lab = |args: &[&str]| -> anyhow::Result<()> {
            let mut cmd = Command::new("git");
            cmd.current_dir(&lab_work)
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1");
            cmd.env("GIT_AUTHOR_NAME", RM_NAME)
                .env("GIT_AUTHOR_EMAIL", RM_EMAIL);
            cmd.env("GIT_COMMITTER_NAME", RM_NAME)
                .env("GIT_COMMITTER_EMAIL", RM_EMAIL);
            run(cmd, None).map(drop)
        };
        lab(&["add", "--all"])?;
        lab(&["commit", "--quiet", "-m", "lava-lab"])?;
        let mut cmd = Command::new("git");
        cmd.args(["clone", "--quiet", "--bare"])
            .arg(&lab_work)
            .arg(self.lab());
        run(cmd, None)?;
        std::fs::remove_dir_all(&lab_work)?;

        let (secret, public) = self.release_key();
        std::fs::create_dir_all(secret.parent().expect("keys live in a directory"))?;
        let created = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let key = lava_signing::keygen::KeySpec::new(
            "LAVA Release (rehearsal)",
            "release@lavasoftware.example",
            created,
        )
        .generate()?;
        key.write_secret_key(&secret)?;
        key.write_public_key(&public)?;
        let config = format!(
            "[project]\nfork = {fork:?}\npublic_git = {origin:?}\n\n[signing]\nrelease_key = \"{fpr}\"\nkey_file = {secret:?}\npublic_key = {public:?}\n\n[lab]\nurl = {lab:?}",
            fork = self.fork().display().to_string(),
            origin = self.origin().display().to_string(),
            fpr = key.fingerprint().to_hex(),
            secret = secret.display().to_string(),
            public = public.display().to_string(),
            lab = self.lab().display().to_string(),
        );
        let mut sandbox = self;
        sandbox.sections.push(config);
        sandbox.write_config()?;
        Ok(sandbox)
    }

    /// Starts a GitLab stand-in for project `lava/lava` with a clear milestone for
    /// `version`, and points the configuration at it (token in a file, fast polls).
    pub fn with_gitlab(self, version: &str) -> anyhow::Result<Self> {
        use crate::gitlab::MilestoneSpec;
        let version = version.to_owned();
        self.with_gitlab_seeded(move |b| {
            b.milestone(
                MilestoneSpec::new(&version)
                    .issues(0, 12)
                    .merge_requests(0, 30),
            )
        })
    }

    /// Like [`Sandbox::with_gitlab`], with the stand-in seeded by `seed` (milestones,
    /// pipelines, registry, faults) besides the project and the token.
    pub fn with_gitlab_seeded(
        mut self,
        seed: impl FnOnce(crate::gitlab::Builder) -> crate::gitlab::Builder,
    ) -> anyhow::Result<Self> {
        use crate::gitlab::{Access, GitLabStandIn};
        let builder = GitLabStandIn::builder()
            .project("lava/lava", 2)
            .token("release-manager", GITLAB_TOKEN, Access::ReadWrite)
            .token("read-only", GITLAB_READ_ONLY_TOKEN, Access::ReadOnly)
            .token("reporter", GITLAB_REPORTER_TOKEN, Access::Reporter);
        let standin = seed(builder).start()?;
        // As GitLab does, a push of the branch to origin runs its pipeline (which passes).
        standin.pipelines_on_push(
            crate::gitlab::OnPush::new(&[&self.origin()])
                .branch(crate::gitlab::PipelineSpec::branch("", "").timeline(&["success"])),
        );
        let token = self.dir.path().join("gitlab-token");
        std::fs::write(&token, format!("{GITLAB_TOKEN}\n"))?;
        self.sections.push(format!(
            "[gitlab]\nurl = {:?}\nproject = \"lava/lava\"\ntoken_file = {:?}\npoll_initial_ms = 100\npoll_max_ms = 300\nci_timeout_secs = 60\nartifact_jobs = []",
            standin.url(),
            token.display().to_string()
        ));
        self.gitlab = Some(standin);
        self.write_config()?;
        Ok(self)
    }

    /// Brings the release of `version` through the `consistency` stage: against a
    /// GitLab stand-in (started here unless the sandbox has one) whose pipeline of the
    /// pushed tag succeeds, without container images unless configured. A stage after
    /// `consistency` needs its record, so this is how a test runs such a stage alone.
    pub fn through_consistency(self, version: &str) -> anyhow::Result<Self> {
        let mut sb = if self.gitlab.is_some() {
            self
        } else {
            self.with_gitlab(version)?
        };
        if !sb.sections.iter().any(|s| s.starts_with("[docker]")) {
            sb.add_config("[docker]\nenabled = false")?;
        }
        run(
            sb.lava_release(&["run", version, "--yes", "--to", "push-tag"])
                .command(),
            None,
        )?;
        sb.ci_for_tag(version)?;
        run(
            sb.lava_release(&["run", version, "--yes", "--to", "consistency"])
                .command(),
            None,
        )?;
        Ok(sb)
    }

    /// Has the stand-in run a successful pipeline for tag `version`, as GitLab does
    /// once the tag is pushed; returns the pipeline id.
    pub fn ci_for_tag(&self, version: &str) -> anyhow::Result<u64> {
        let standin = self
            .gitlab
            .as_ref()
            .context("the sandbox has no GitLab stand-in")?;
        let sha = self.git(
            &["rev-parse", &format!("refs/tags/{version}^{{commit}}")],
            None,
        )?;
        let spec = crate::gitlab::PipelineSpec::tag(version, sha.trim())
            .timeline(&["pending", "running", "running", "success"]);
        Ok(standin.add_pipeline(spec))
    }

    /// The GitLab stand-in, once [`Sandbox::with_gitlab`] started it.
    pub fn gitlab(&self) -> Option<&crate::gitlab::GitLabStandIn> {
        self.gitlab.as_ref()
    }

    /// Adds `key = value` lines to the configuration's `[gitlab]` table.
    pub fn add_gitlab_keys(&mut self, lines: &str) -> anyhow::Result<()> {
        self.add_keys("gitlab", lines)
    }

    /// Adds `key = value` lines to the configuration's table `[table]`, right under its
    /// header (the sandbox writes several tables in one section).
    pub fn add_keys(&mut self, table: &str, lines: &str) -> anyhow::Result<()> {
        let header = format!("[{table}]\n");
        let section = self
            .sections
            .iter_mut()
            .find(|s| s.starts_with(&header) || s.contains(&format!("\n{header}")))
            .with_context(|| format!("the sandbox configuration has no [{table}] table"))?;
        // A key given again replaces the table's earlier value.
        let keys: Vec<String> = lines
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .collect();
        let kept: Vec<&str> = section
            .lines()
            .filter(|l| {
                l.split_once('=')
                    .is_none_or(|(k, _)| !keys.iter().any(|key| key == k.trim()))
            })
            .collect();
        *section = kept
            .join("\n")
            .replacen(&header, &format!("{header}{}\n", lines.trim_end()), 1);
        self.write_config()
    }

    /// Replaces the configuration's table `[name]` with `toml` (which starts with it).
    pub fn replace_section(&mut self, name: &str, toml: &str) -> anyhow::Result<()> {
        let header = format!("[{name}]");
        self.sections.retain(|s| !s.starts_with(&header));
        self.sections.push(toml.trim_end().to_owned());
        self.write_config()
    }

    /// Replaces every `key = ...` line of the configuration with `line` (`line` empty:
    /// the key goes).
    pub fn replace_key(&mut self, key: &str, line: &str) -> anyhow::Result<()> {
        for section in &mut self.sections {
            *section = section
                .lines()
                .filter_map(|l| match l.split_once('=') {
                    Some((k, _)) if k.trim() == key => (!line.is_empty()).then_some(line),
                    _ => Some(l),
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        self.write_config()
    }

    /// Appends a section (or any TOML) to the configuration.
    pub fn add_config(&mut self, toml: &str) -> anyhow::Result<()> {
        self.sections.push(toml.trim_end().to_owned());
        self.write_config()
    }

    fn write_config(&self) -> anyhow::Result<()> {
        let mut text = self.sections.join("\n\n");
        text.push('\n');
        std::fs::write(self.config(), text)
            .with_context(|| format!("cannot write {}", self.config().display()))
    }

    fn write(&self, path: &str, contents: &str) -> anyhow::Result<()> {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().expect("a file path has a parent"))?;
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    fn tick(&mut self) -> String {
        self.clock += 3 * 3600 + 17;
        format!("@{} +0000", self.clock)
    }

    fn commit(
        &mut self,
        author: (&str, &str),
        message: &str,
        files: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        for (path, contents) in files {
            self.write(path, contents)?;
        }
        self.git(&["add", "--all"], None)?;
        let date = self.tick();
        let mut cmd = self.git_cmd(&["commit", "--quiet", "--allow-empty", "-F", "-"]);
        cmd.env("GIT_AUTHOR_NAME", author.0)
            .env("GIT_AUTHOR_EMAIL", author.1)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        run(cmd, Some(message))?;
        Ok(())
    }

    fn merge(&mut self, branch: &str, message: &str) -> anyhow::Result<()> {
        let date = self.tick();
        let mut cmd = self.git_cmd(&["merge", "--quiet", "--no-ff", "-m", message, branch]);
        cmd.env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        run(cmd, None)?;
        Ok(())
    }

    fn tag(&mut self, name: &str, message: &str) -> anyhow::Result<()> {
        let date = self.tick();
        let mut cmd = self.git_cmd(&["tag", "--annotate", "-m", message, name]);
        cmd.env("GIT_COMMITTER_DATE", &date);
        run(cmd, None)?;
        Ok(())
    }

    fn git_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.repo())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1");
        cmd
    }

    /// `lava-release ARGS` on the sandbox repository with its configuration, as the
    /// release manager runs it (DEBFULLNAME and DEBEMAIL set, no colour, no
    /// failpoint); [`Invocation`] changes that before [`Invocation::output`] runs it.
    pub fn lava_release(&self, args: &[&str]) -> Invocation<'_> {
        Invocation {
            sandbox: self,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            repo: None,
            config: None,
            discover: false,
            colour: false,
            env: Vec::new(),
        }
    }

    /// Runs git in the sandbox repository and returns its stdout.
    pub fn git(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let out = run(self.git_cmd(args), stdin)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// One `lava-release` run on a [`Sandbox`], built up by [`Sandbox::lava_release`].
#[must_use = "nothing runs until `output`"]
pub struct Invocation<'a> {
    sandbox: &'a Sandbox,
    args: Vec<String>,
    repo: Option<PathBuf>,
    config: Option<PathBuf>,
    /// No `--config`: lava-release finds `release.toml` in the repository itself.
    discover: bool,
    colour: bool,
    env: Vec<(String, Option<String>)>,
}

impl Invocation<'_> {
    /// Runs in `repo` (`-C`) instead of the sandbox repository.
    pub fn in_repo(mut self, repo: impl Into<PathBuf>) -> Self {
        self.repo = Some(repo.into());
        self
    }

    /// Reads `config` instead of the sandbox's `release.toml`.
    pub fn config(mut self, config: impl Into<PathBuf>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Passes no `--config`: lava-release discovers `release.toml` at the top of the
    /// repository, as a release manager's run does.
    pub fn discover_config(mut self) -> Self {
        self.discover = true;
        self
    }

    /// Sets `NAME=value` for the run.
    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.env.push((name.to_owned(), Some(value)));
        self
    }

    /// Sets every `(NAME, value)` of `vars` for the run.
    pub fn envs(self, vars: &[(&str, &str)]) -> Self {
        vars.iter()
            .fold(self, |run, (name, value)| run.env(name, value))
    }

    /// Removes `NAME` from the run's environment.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.push((name.to_owned(), None));
        self
    }

    /// Stops the run at `point` as if killed (`LAVA_RELEASE_FAILPOINT`), if given.
    pub fn failpoint(self, point: Option<&str>) -> Self {
        match point {
            Some(point) => self.env("LAVA_RELEASE_FAILPOINT", point),
            None => self,
        }
    }

    /// Leaves the colour choice to lava-release (no `NO_COLOR`).
    pub fn default_colour(mut self) -> Self {
        self.colour = true;
        self
    }

    /// The command, ready to run. `--config` comes from the sandbox unless the
    /// arguments name one or the configuration is discovered.
    pub fn command(self) -> Command {
        let mut cmd = Command::new(crate::bin::lava_release_bin());
        cmd.arg("-C")
            .arg(self.repo.unwrap_or_else(|| self.sandbox.repo()));
        if !self.discover && !self.args.iter().any(|a| a == "--config") {
            cmd.arg("--config")
                .arg(self.config.unwrap_or_else(|| self.sandbox.config()));
        }
        // The person's own configuration is the sandbox's: none unless a test writes one.
        cmd.args(&self.args)
            .env("XDG_CONFIG_HOME", self.sandbox.xdg_config_home())
            .env("DEBFULLNAME", RM_NAME)
            .env("DEBEMAIL", RM_EMAIL)
            .env_remove("LAVA_RELEASE_FAILPOINT");
        if !self.colour {
            cmd.env("NO_COLOR", "1");
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    /// Runs lava-release to its end.
    pub fn output(self) -> Output {
        self.command().output().expect("lava-release runs")
    }

    /// Runs lava-release to its end on a pseudo-terminal (`script` of util-linux):
    /// stdout and stderr are the terminal's, both in the output's `stdout`, escape
    /// codes and all.
    pub fn on_terminal(self) -> Output {
        let inner = self.command();
        let quote =
            |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(inner.get_program())
            .chain(inner.get_args())
            .map(quote)
            .collect();
        let mut cmd = Command::new("script");
        cmd.args(["--quiet", "--flush", "--return", "--command"])
            .arg(line.join(" "))
            .arg("/dev/null")
            .env("TERM", "xterm-256color")
            .env("COLUMNS", "120");
        if let Some(dir) = inner.get_current_dir() {
            cmd.current_dir(dir);
        }
        for (name, value) in inner.get_envs() {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd.stdin(std::process::Stdio::null())
            .output()
            .expect("script runs lava-release")
    }
}

/// Asserts that the run succeeded, showing its standard error otherwise.
#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Asserts that standard output holds `needle`, showing it otherwise.
#[track_caller]
pub fn assert_stdout_contains(out: &Output, needle: &str) {
    let stdout = text(&out.stdout);
    assert!(stdout.contains(needle), "{stdout}");
}

/// Asserts that standard error holds `needle`, showing it otherwise.
#[track_caller]
pub fn assert_stderr_contains(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert!(stderr.contains(needle), "{stderr}");
}

/// Asserts that standard output and error together hold `needle`, showing them
/// otherwise.
#[track_caller]
pub fn assert_output_contains(out: &Output, needle: &str) {
    let all = all_text(out);
    assert!(all.contains(needle), "{all}");
}

/// Runs `cmd`, feeding `stdin`, and fails with its stderr unless it succeeds.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> anyhow::Result<Output> {
    let out = crate::tools::output(&mut cmd, stdin.map(str::as_bytes))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}
