//! The rehearsal: a whole release, through the real `lava-release` binary and its real
//! code paths, against stand-ins in a sandbox, then every artifact checked with the tool
//! people use. `cargo xtask rehearse` prints its [`Report`]; the end-to-end tests assert
//! on it, and the resilience tests crash, fault and re-run a [`Rehearsal`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context as _;

use crate::gitlab::{JobSpec, OnPush, PipelineSpec};
use crate::sandbox::{self, RM_EMAIL, RM_NAME, Sandbox};

/// The version rehearsed when none is given.
pub const DEFAULT_VERSION: &str = "2024.02";

/// What the rehearsal did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// The version rehearsed.
    pub version: String,
    /// How the apt repository was published.
    pub publishing: Publishing,
    /// How the Debian package went to Debian.
    pub debian: DebianPath,
    /// Each stage's name, outcome and evidence, from the journal.
    pub stages: Vec<(String, String, String)>,
    /// The `debian/changelog` entry the release wrote.
    pub entry: String,
    /// Each check: what was checked, with which tool, whether it passed, and the detail.
    pub checks: Vec<Check>,
}

/// One verification of an artifact.
#[derive(Debug)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    fn record(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Rehearsal of LAVA {} (apt repository: {}, Debian: {})\n\nStages:",
            self.version,
            self.publishing.name(),
            self.debian.name()
        )?;
        for (stage, outcome, evidence) in &self.stages {
            writeln!(f, "  {stage:<16} {outcome:<13} {evidence}")?;
        }
        writeln!(f, "\nEntry:")?;
        for line in self.entry.lines() {
            writeln!(f, "  | {line}")?;
        }
        writeln!(f, "\nChecks:")?;
        for c in &self.checks {
            let mark = if c.passed { "ok  " } else { "FAIL" };
            writeln!(f, "  {mark} {:<40} {}", c.name, c.detail)?;
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        writeln!(
            f,
            "\n{} passed, {} failed",
            self.checks.len() - failed,
            failed
        )
    }
}

/// Runs the rehearsal of `version` with the `lava-release` binary at `bin`: the whole
/// release as one `lava-release run VERSION --yes`, then every check.
pub fn rehearse(bin: &Path, version: &str) -> anyhow::Result<Report> {
    rehearse_with(bin, version, Options::default())
}

/// Like [`rehearse`], set up with `options`.
pub fn rehearse_with(bin: &Path, version: &str, options: Options) -> anyhow::Result<Report> {
    let rehearsal = Rehearsal::setup_with(bin, version, options)?;
    rehearsal.release()?;
    rehearsal.checks()
}

/// How the apt repository is published in a rehearsal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Publishing {
    /// LAVA today: CI builds one native upload per suite (`VERSION+12+bookworm`,
    /// `VERSION+13+trixie`) in the jobs `debian/12` and `debian/13`, and the tag
    /// pipeline's trigger job `publish-packages/release` starts a pipeline in
    /// `lava/lava-apt-repo` that publishes them; `apt-publish` checks it.
    #[default]
    Pipeline,
    /// The written process: CI builds `VERSION-1` once, and `repo-import`, `repo-sign`,
    /// `repo-publish` publish it with reprepro; `debian-upload` takes it to Debian.
    Reprepro,
}

impl Publishing {
    /// Its name, as `repo.mode` says it.
    pub fn name(self) -> &'static str {
        match self {
            Publishing::Pipeline => "pipeline",
            Publishing::Reprepro => "reprepro",
        }
    }
}

/// How a rehearsal's Debian package goes to Debian (`debian.flow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DebianPath {
    /// As the publishing implies: with [`Publishing::Pipeline`] the gbp flow, with
    /// [`Publishing::Reprepro`] the dget flow.
    #[default]
    AsPublished,
    /// The written process's first path: the released source fetched and signed.
    Dget,
    /// The written process's "Debian uploads": git-buildpackage, built, signed, pushed.
    Gbp,
    /// One signed tag for Debian's tag2upload service.
    Tag2upload,
}

impl DebianPath {
    /// The path `publishing` takes when not told otherwise.
    fn resolve(self, publishing: Publishing) -> Self {
        match (self, publishing) {
            (DebianPath::AsPublished, Publishing::Pipeline) => DebianPath::Gbp,
            (DebianPath::AsPublished, Publishing::Reprepro) => DebianPath::Dget,
            (path, _) => path,
        }
    }

    /// Its name in the report (`debian.flow`).
    pub fn name(self) -> &'static str {
        match self {
            DebianPath::AsPublished => "as published",
            DebianPath::Dget => "dget",
            DebianPath::Gbp => "gbp",
            DebianPath::Tag2upload => "tag2upload",
        }
    }
}

/// With [`Publishing::Pipeline`], what the tag pipeline's publishing trigger job does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Downstream {
    /// Starts the `lava/lava-apt-repo` pipeline, which publishes the uploads.
    #[default]
    Publishes,
    /// Starts it, and it fails.
    Fails,
    /// Starts it, and it succeeds without publishing anything.
    PublishesNothing,
    /// The tag pipeline has no such trigger job.
    Missing,
}

/// How CI's images say which version they hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImageVersion {
    /// As the rehearsal's way of releasing has it: LAVA today's images write
    /// `lava_common/VERSION` and carry no label; the written process's carry the
    /// `org.opencontainers.image.version` label.
    #[default]
    AsReleased,
    /// `lava_common/VERSION` says this, and there is no label.
    File(&'static str),
    /// Neither a label nor the file.
    Nothing,
}

/// How a rehearsal is set up, besides the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// How the apt repository is published.
    pub publishing: Publishing,
    /// How the Debian package goes to Debian.
    pub debian: DebianPath,
    /// With [`Publishing::Pipeline`], what the publishing trigger job does.
    pub downstream: Downstream,
    /// How CI's images say their version.
    pub image_version: ImageVersion,
    /// Puts a [`crate::registry::FaultProxy`] in front of CI's registry, for tests that
    /// break connections to it ([`Rehearsal::registry_proxy`]).
    pub registry_proxy: bool,
    /// The Debian version CI builds the upload at, when not the release's
    /// (`VERSION-1` for the written process, `VERSION+12+bookworm` for bookworm today;
    /// the bare `VERSION` makes a native package). With [`Publishing::Pipeline`], the
    /// bookworm job's.
    pub upload_version: Option<&'static str>,
    /// With [`Publishing::Pipeline`]: the suite the bookworm job builds for, when not
    /// bookworm (a job building for the wrong suite).
    pub bookworm_job_suite: Option<&'static str>,
    /// The tag's pipeline reports this commit rather than the tag's.
    pub tag_pipeline_sha: Option<&'static str>,
}

/// One of the rehearsal's two registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageRegistry {
    /// CI's, where the pipeline pushes the per-arch images.
    Ci,
    /// The Docker Hub stand-in the release publishes to.
    Hub,
}

/// A sandbox ready for a release: the repository and its remotes, the stand-ins and
/// the configuration naming them. The rehearsal runs it once; other tests crash it,
/// inject faults and run it again.
pub struct Rehearsal {
    bin: PathBuf,
    version: String,
    publishing: Publishing,
    sandbox: Sandbox,
    apt: crate::rehearsal_repo::RepoRehearsal,
    debian: crate::rehearsal_debian::DebianRehearsal,
    /// How the Debian package goes to Debian.
    path: DebianPath,
    /// The packaging remote of the gbp and tag2upload flows.
    packaging: Option<PathBuf>,
    smtp: crate::smtp::SmtpSink,
    images: Images,
}

impl Rehearsal {
    /// Sets up the rehearsal of `version` with the `lava-release` binary at `bin`.
    pub fn setup(bin: &Path, version: &str) -> anyhow::Result<Self> {
        Self::setup_with(bin, version, Options::default())
    }

    /// Like [`Rehearsal::setup`], with `options`.
    pub fn setup_with(bin: &Path, version: &str, options: Options) -> anyhow::Result<Self> {
        let mut sandbox = Sandbox::lava()?.with_gitlab(version)?;
        let pipeline = options.publishing == Publishing::Pipeline;
        // The apt repository: the previous release published; what CI builds of this one.
        let uploads: Vec<(Option<&str>, String)> = if pipeline {
            let bookworm_suite = options.bookworm_job_suite.unwrap_or("bookworm");
            let release = if bookworm_suite == "trixie" { 13 } else { 12 };
            vec![
                (
                    Some(bookworm_suite),
                    options.upload_version.map_or_else(
                        || format!("{version}+{release}+{bookworm_suite}"),
                        str::to_owned,
                    ),
                ),
                (Some("trixie"), format!("{version}+13+trixie")),
            ]
        } else {
            vec![(
                None,
                options
                    .upload_version
                    .map_or_else(|| format!("{version}-1"), str::to_owned),
            )]
        };
        let apt = crate::rehearsal_repo::prepare(sandbox.path(), version, &uploads)?;
        // Debian: a dev build of the tag; in the written process, the upload fetched from
        // the published repository over HTTP and put in an SFTP queue.
        // As LAVA today, the Debian Developer's git-buildpackage flow into a DEP-14
        // packaging remote.
        let debian = crate::rehearsal_debian::prepare(apt.root())?;
        let path = options.debian.resolve(options.publishing);
        let packaging = match path {
            DebianPath::Gbp | DebianPath::Tag2upload => {
                let remote = crate::packaging::packaging_remote(&sandbox)?;
                let section = if path == DebianPath::Gbp {
                    debian.gbp_config_toml(&remote)
                } else {
                    debian.tag2upload_config_toml(&remote)
                };
                sandbox.add_config(&section)?;
                Some(remote)
            }
            DebianPath::Dget => {
                sandbox.add_config(&debian.config_toml(true))?;
                None
            }
            DebianPath::AsPublished => unreachable!("resolved above"),
        };
        // Container images: CI's registry with the per-arch images, and a Docker Hub
        // stand-in with a password.
        let (label, file) = match (options.image_version, options.publishing) {
            (ImageVersion::AsReleased, Publishing::Pipeline) => (None, Some(version.to_owned())),
            (ImageVersion::AsReleased, Publishing::Reprepro) => (Some(version.to_owned()), None),
            (ImageVersion::File(said), _) => (None, Some(said.to_owned())),
            (ImageVersion::Nothing, _) => (None, None),
        };
        let spec = crate::registry::ImageSetSpec {
            version_label: label,
            version_file: file,
            ..crate::registry::ImageSetSpec::small(2024)
        };
        let images = Images::start(&mut sandbox, version, &spec, options.registry_proxy)?;
        // CI builds the uploads: they come back as the Debian jobs' artifacts.
        let mut jobs = Vec::new();
        if pipeline {
            // LAVA today's jobs and publishing pipeline (the defaults of gitlab.artifact_jobs,
            // repo.publish_job, repo.publish_project); apt-publish reads the repository
            // over HTTP as users do.
            for (name, dir) in ["debian/12", "debian/13"].iter().zip(apt.uploads()) {
                jobs.push(JobSpec::new(name, "build").artifacts(zip_dir(dir)?));
            }
            let trigger = |timeline: &[&str]| {
                JobSpec::trigger(
                    "publish-packages/release",
                    "deploy",
                    "lava/lava-apt-repo",
                    PipelineSpec::tag("", "").timeline(timeline),
                )
            };
            match options.downstream {
                Downstream::Publishes => jobs
                    .push(trigger(&["pending", "running", "success"]).publishes(apt.publisher())),
                Downstream::Fails => jobs.push(trigger(&["pending", "running", "failed"])),
                Downstream::PublishesNothing => {
                    jobs.push(trigger(&["pending", "running", "success"]));
                }
                Downstream::Missing => {}
            }
            sandbox.replace_section(
                "repo",
                &format!("[repo]\nurl = {:?}\n", debian.repository_url()),
            )?;
            sandbox.add_gitlab_keys("artifact_jobs = [\"debian/12\", \"debian/13\"]")?;
        } else {
            sandbox.replace_section("repo", &apt.config_toml())?;
            // Where users read the site, as the release manifest records it.
            sandbox.add_keys("repo", &format!("url = {:?}", debian.repository_url()))?;
            let dir = apt.uploads()[0].to_owned();
            jobs.push(JobSpec::new("debian-bookworm", "build").artifacts(zip_dir(&dir)?));
            remove_files(&dir)?;
            sandbox.add_gitlab_keys("artifact_jobs = [\"debian-bookworm\"]")?;
        }
        // LAVA today: the branch's own pipeline (push-branch, wait-branch-ci) tests the
        // release commit; the fork is pushed (fork-ci) but its pipeline is not awaited,
        // which the stand-in could not tell from the branch's.
        // The announcement list's server: STARTTLS with its own certificate, a login.
        let smtp = crate::smtp::SmtpSink::start(
            crate::smtp::Security::StartTls,
            "lava-release",
            "rehearsal-smtp-password",
        )?;
        let section = smtp.announce_section(&sandbox.path().join("smtp-password"), true)?;
        sandbox.add_config(&section)?;
        // GitLab runs a pipeline for each push: master's, and the tag's, whose Debian jobs
        // carry the uploads.
        let gitlab = sandbox
            .gitlab()
            .context("the sandbox has a GitLab stand-in")?;
        let mut tag = PipelineSpec::tag("", options.tag_pipeline_sha.unwrap_or_default())
            .timeline(&["pending", "running", "running", "success"]);
        for job in jobs {
            tag = tag.job(job);
        }
        gitlab.pipelines_on_push(
            OnPush::new(&[&sandbox.fork(), &sandbox.origin()])
                .branch(PipelineSpec::branch("", "").timeline(&["pending", "running", "success"]))
                .tag(tag),
        );
        Ok(Self {
            bin: bin.to_owned(),
            version: version.to_owned(),
            publishing: options.publishing,
            sandbox,
            apt,
            debian,
            path,
            packaging,
            smtp,
            images,
        })
    }

    /// The version released.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The sandbox: the repository, its remotes, the GitLab stand-in, the configuration.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The apt repository site.
    pub fn apt(&self) -> &crate::rehearsal_repo::RepoRehearsal {
        &self.apt
    }

    /// The Debian upload queue (the SFTP server's directory), with
    /// [`Publishing::Reprepro`].
    pub fn upload_queue(&self) -> &Path {
        self.debian.queue()
    }

    /// Writes the Docker Hub stand-in's credentials file with `password` for its user
    /// (a wrong password, when not [`Images::PASSWORD`]).
    pub fn set_hub_password(&self, password: &str) -> anyhow::Result<()> {
        crate::registry::write_authfile(
            &self.images.authfile,
            &self.images.target.host(),
            Images::USER,
            password,
        )
    }

    /// The Docker credentials file (`docker.docker_config`) with the hub stand-in's
    /// login, as skopeo's `--authfile` takes it.
    pub fn docker_authfile(&self) -> &Path {
        &self.images.authfile
    }

    /// The messages the announcement list's server received.
    pub fn mails(&self) -> usize {
        self.smtp.received().len()
    }

    /// The proxy in front of CI's registry, with [`Options::registry_proxy`].
    pub fn registry_proxy(&self) -> Option<&crate::registry::FaultProxy> {
        self.images.proxy.as_ref()
    }

    /// The per-arch images CI built, with their digests.
    pub fn image_layout(&self) -> &crate::registry::ImageLayout {
        &self.images.layout
    }

    /// The digest of `reference` (`lavasoftware/amd64-lava-server:2024.02`) in the
    /// Docker Hub stand-in, as `skopeo inspect` reads it.
    pub fn published_digest(&self, reference: &str) -> anyhow::Result<String> {
        self.images.digest(reference)
    }

    /// Pushes CI's generated `image` for `arch` to `to` as `repo:tag`
    /// (`lavasoftware/amd64-lava-server` on the hub, as if published before;
    /// `lava/lava/amd64/lava-server` on CI's, as a later pipeline moving a tag would);
    /// returns its digest.
    pub fn push_image(
        &self,
        to: ImageRegistry,
        repo: &str,
        tag: &str,
        image: &str,
        arch: &str,
    ) -> anyhow::Result<String> {
        let (host, basic) = match to {
            ImageRegistry::Ci => (self.images.source.host(), None),
            ImageRegistry::Hub => (
                self.images.target.host(),
                Some((Images::USER, Images::PASSWORD)),
            ),
        };
        let built = self.images.layout.image(image, arch);
        let client = reqwest::blocking::Client::new();
        self.images
            .layout
            .push(&client, &host, repo, tag, built, basic)?;
        Ok(built.digest.clone())
    }

    /// `lava-release ARGS` in the sandbox's repository with its configuration.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-C")
            .arg(self.sandbox.repo())
            .arg("--config")
            .arg(self.sandbox.config())
            .args(args);
        cmd.env("DEBFULLNAME", RM_NAME)
            .env("DEBEMAIL", RM_EMAIL)
            .env("NO_COLOR", "1")
            .env_remove("LAVA_RELEASE_FAILPOINT");
        cmd
    }

    /// Runs `lava-release ARGS`, crashing at `failpoint` if given, and returns what it
    /// did whatever its exit status.
    pub fn run(&self, args: &[&str], failpoint: Option<&str>) -> anyhow::Result<Output> {
        let mut cmd = self.command(args);
        if let Some(point) = failpoint {
            cmd.env("LAVA_RELEASE_FAILPOINT", point);
        }
        cmd.stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))
    }

    /// The whole release: `lava-release run VERSION --yes`, which must succeed.
    pub fn release(&self) -> anyhow::Result<Output> {
        let version = &self.version;
        sandbox::run(self.command(&["run", version, "--yes"]), None).with_context(|| {
            format!(
                "lava-release run {version} failed in {}",
                self.sandbox.repo().display()
            )
        })
    }

    /// `lava-release verify-release VERSION ARGS` as anyone runs it: from a directory
    /// that is no repository, with the configuration but no GitLab token, and the
    /// release key's certificate as `--keyring`. Its output whatever its exit status.
    pub fn verify_release(&self, args: &[&str]) -> anyhow::Result<Output> {
        let anywhere = tempfile::tempdir()?;
        let (_, public) = self.sandbox.release_key();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-C")
            .arg(anywhere.path())
            .arg("--config")
            .arg(self.sandbox.config())
            .args(["verify-release", &self.version, "--keyring"])
            .arg(&public)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("GITLAB_TOKEN")
            .env_remove("LAVA_RELEASE_FAILPOINT")
            .stdin(std::process::Stdio::null());
        cmd.output()
            .with_context(|| format!("cannot run {}", self.bin.display()))
    }

    /// The journal, as `lava-release status VERSION --json` prints it.
    pub fn journal(&self) -> anyhow::Result<serde_json::Value> {
        let out = sandbox::run(self.command(&["status", &self.version, "--json"]), None)?;
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Checks every artifact of the finished release with the tool people use, then
    /// that a re-run does nothing and the plan shows every stage done.
    pub fn checks(&self) -> anyhow::Result<Report> {
        let Self {
            sandbox,
            version,
            apt,
            debian,
            smtp,
            images,
            ..
        } = self;
        let repo = sandbox.repo();
        let mut report = Report {
            version: version.clone(),
            publishing: self.publishing,
            debian: self.path,
            ..Report::default()
        };
        let journal = self.journal()?;
        for event in journal["events"].as_array().into_iter().flatten() {
            let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
            let entry = (text("stage"), text("outcome"), text("note"));
            // The latest outcome of each stage, in the order the stages first ran.
            match report
                .stages
                .iter_mut()
                .find(|(stage, _, _)| *stage == entry.0)
            {
                Some(seen) => *seen = entry,
                None => report.stages.push(entry),
            }
        }

        let changelog = std::fs::read_to_string(repo.join("debian/changelog"))?;
        report.entry = crate::gitrepo::top_entry(&changelog);
        check_changelog(&mut report, sandbox, version)?;
        check_git(&mut report, sandbox, version)?;
        check_gitlab(&mut report, sandbox, version);
        images.check(&mut report, version);
        check_consistency(&mut report, sandbox, images, version);
        apt.check(|name, passed, detail| report.record(name, passed, detail));
        if self.publishing == Publishing::Pipeline {
            check_publishing_pipeline(&mut report, sandbox, version);
        }
        let mut record = |name: &str, passed, detail| report.record(name, passed, detail);
        match (self.path, &self.packaging) {
            (DebianPath::Gbp, Some(packaging)) => {
                let orig = repo
                    .join(".git/lava-release/debian")
                    .join(version)
                    .join(format!("gbp/lava_{version}.orig.tar.gz"));
                debian.check_gbp(version, packaging, &orig, &mut record);
            }
            (DebianPath::Tag2upload, Some(packaging)) => {
                debian.check_tag2upload(version, packaging, &mut record);
            }
            _ => debian.check(&format!("{version}-1"), &mut record),
        }

        // A second run changes nothing: every stage is observed done.
        let before = std::fs::read(repo.join("debian/changelog"))?;
        let head = sandbox.git(&["rev-parse", "HEAD"], None)?;
        let rerun = sandbox::run(self.command(&["run", version, "--yes"]), None)?;
        let rerun = String::from_utf8_lossy(&rerun.stdout).into_owned();
        let unchanged = std::fs::read(repo.join("debian/changelog"))? == before
            && sandbox.git(&["rev-parse", "HEAD"], None)? == head;
        report.record(
            "re-run does nothing (lava-release run)",
            unchanged && rerun.contains("0 stage(s) applied"),
            rerun.lines().last().unwrap_or_default(),
        );

        check_announcement(&mut report, sandbox, smtp, version);

        check_verify_release(&mut report, self);

        let plan = sandbox::run(self.command(&["plan", version, "--json"]), None)?;
        let plan: serde_json::Value = serde_json::from_slice(&plan.stdout)?;
        let stages = plan["stages"].as_array().cloned().unwrap_or_default();
        let all_done = !stages.is_empty() && stages.iter().all(|s| s["status"] == "done");
        report.record(
            "plan shows every stage done (plan --json)",
            all_done,
            format!("{} stages", stages.len()),
        );
        Ok(report)
    }
}

/// `lava-release verify-release VERSION` as anyone runs it: outside the repository,
/// with no GitLab token, the release key's certificate given. Every check passes.
fn check_verify_release(report: &mut Report, rehearsal: &Rehearsal) {
    let (passed, detail) = match rehearsal.verify_release(&["--json"]) {
        Ok(out) => {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let checks = json["checks"].as_array().cloned().unwrap_or_default();
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| c["pass"] != true)
                .map(|c| format!("{}: {}", c["claim"], c["evidence"]))
                .collect();
            let images = checks
                .iter()
                .filter(|c| c["claim"].as_str().is_some_and(|s| s.starts_with("image ")))
                .count();
            let suites = checks
                .iter()
                .filter(|c| {
                    c["claim"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("apt suite "))
                })
                .count();
            (
                out.status.success() && failed.is_empty() && images > 0 && suites > 0,
                if failed.is_empty() {
                    format!(
                        "{} checks passed ({suites} apt suites, {images} image tags){}",
                        checks.len(),
                        if out.status.success() {
                            ""
                        } else {
                            "; but it exited non-zero"
                        }
                    )
                } else {
                    failed.join("; ")
                },
            )
        }
        Err(e) => (false, format!("{e:#}")),
    };
    report.record(
        "verify-release passes every check (lava-release verify-release)",
        passed,
        detail,
    );
}

fn check_changelog(report: &mut Report, sandbox: &Sandbox, version: &str) -> anyhow::Result<()> {
    let repo = sandbox.repo();
    let mut cmd = Command::new("dpkg-parsechangelog");
    cmd.current_dir(&repo).args(["-l", "debian/changelog"]);
    let parsed = sandbox::run(cmd, None)?;
    let parsed = String::from_utf8_lossy(&parsed.stdout).into_owned();
    let field = |name: &str| {
        parsed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_owned()
    };
    let expected = [
        ("Source", "lava".to_owned()),
        ("Version", format!("{version}-1")),
        ("Distribution", "unstable".to_owned()),
        ("Urgency", "medium".to_owned()),
        ("Maintainer", format!("{RM_NAME} <{RM_EMAIL}>")),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(k, v)| field(k) != *v)
        .map(|(k, v)| format!("{k} is `{}`, expected `{v}`", field(k)))
        .collect();
    report.record(
        "changelog entry (dpkg-parsechangelog)",
        wrong.is_empty() && !field("Date").is_empty(),
        if wrong.is_empty() {
            format!("lava {version}-1 unstable, {}", field("Date"))
        } else {
            wrong.join("; ")
        },
    );

    let subject = sandbox.git(&["log", "-1", "--format=%s"], None)?;
    let status = sandbox.git(&["status", "--porcelain"], None)?;
    let want = format!("LAVA Software {version} release");
    report.record(
        "release commit, clean tree (git log, git status)",
        subject.trim() == want && status.trim().is_empty(),
        format!("HEAD `{}`", subject.trim()),
    );

    let file = std::fs::read_to_string(repo.join("lava_common/VERSION"))?;
    report.record(
        "lava_common/VERSION",
        file == format!("{version}\n"),
        file.trim().to_owned(),
    );
    Ok(())
}

fn check_git(report: &mut Report, sandbox: &Sandbox, version: &str) -> anyhow::Result<()> {
    // git verify-tag with GnuPG holding only the release key's public certificate.
    let gnupg = tempfile::Builder::new()
        .prefix("lr-gpg")
        .tempdir_in("/tmp")?;
    let (_, public) = sandbox.release_key();
    let mut import = Command::new("gpg");
    import
        .arg("--homedir")
        .arg(gnupg.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(&public);
    sandbox::run(import, None)?;
    let mut verify = Command::new("git");
    verify
        .current_dir(sandbox.repo())
        .args(["verify-tag", "--raw", version])
        .env("GNUPGHOME", gnupg.path());
    let verified = verify.output()?;
    let status = String::from_utf8_lossy(&verified.stderr).into_owned();
    let good = status
        .lines()
        .find(|l| l.contains("VALIDSIG"))
        .unwrap_or_default()
        .to_owned();
    report.record(
        "signed tag (git verify-tag)",
        verified.status.success() && !good.is_empty(),
        good.split_whitespace()
            .last()
            .map(|fpr| format!("valid signature by {fpr}"))
            .unwrap_or(status),
    );
    stop_agent(gnupg.path());

    let ls = |remote: &std::path::Path| -> anyhow::Result<String> {
        let mut cmd = Command::new("git");
        cmd.arg("ls-remote").arg(remote);
        Ok(String::from_utf8_lossy(&sandbox::run(cmd, None)?.stdout).into_owned())
    };
    let head = sandbox.git(&["rev-parse", "HEAD"], None)?.trim().to_owned();
    let tag = sandbox
        .git(&["rev-parse", &format!("refs/tags/{version}")], None)?
        .trim()
        .to_owned();
    let origin = ls(&sandbox.origin())?;
    report.record(
        "master and tag pushed (git ls-remote origin)",
        origin.contains(&format!("{head}\trefs/heads/master"))
            && origin.contains(&format!("{tag}\trefs/tags/{version}")),
        format!("master {}, tag {}", &head[..12], &tag[..12]),
    );
    let fork = ls(&sandbox.fork())?;
    report.record(
        "master pushed to the fork (git ls-remote fork)",
        fork.contains(&format!("{head}\trefs/heads/master")),
        format!("master {}", &head[..12]),
    );
    let mut show = Command::new("git");
    show.arg("--git-dir")
        .arg(sandbox.lab())
        .args(["show", "refs/for/master:shared/device-types/rk3399.jinja2"]);
    let shown = show.output()?;
    let mut subject = Command::new("git");
    subject.arg("--git-dir").arg(sandbox.lab()).args([
        "log",
        "-1",
        "--format=%s",
        "refs/for/master",
    ]);
    let subject = String::from_utf8_lossy(&subject.output()?.stdout)
        .trim()
        .to_owned();
    report.record(
        "device types under review (git show lava-lab refs/for/master)",
        shown.status.success() && subject.contains(version),
        subject,
    );
    Ok(())
}

/// Stops the gpg-agent that `gpg` started for `home`, by its PID.
pub fn stop_agent(home: &std::path::Path) {
    let out = Command::new("gpg-connect-agent")
        .arg("--homedir")
        .arg(home)
        .arg("--no-autostart")
        .args(["getinfo pid", "/bye"])
        .output();
    let Ok(out) = out else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some(pid) = text
        .lines()
        .find_map(|l| l.strip_prefix("D "))
        .and_then(|p| p.trim().parse::<u32>().ok())
    {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}

/// The consistency gate passed and pinned the tag's commit and the images CI built.
fn check_consistency(report: &mut Report, sandbox: &Sandbox, images: &Images, version: &str) {
    let path = sandbox
        .repo()
        .join(".git/lava-release")
        .join(format!("{version}-consistency.json"));
    let outcome = (|| -> anyhow::Result<(bool, String)> {
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let commit = sandbox.git(&["rev-parse", &format!("{version}^{{commit}}")], None)?;
        let mut pinned: Vec<&str> = record["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["digest"].as_str())
            .collect();
        pinned.sort_unstable();
        let mut built: Vec<&str> = images
            .layout
            .images
            .iter()
            .map(|i| i.digest.as_str())
            .collect();
        built.sort_unstable();
        let agreements = record["agreements"].as_array().map_or(0, Vec::len);
        Ok((
            record["commit"].as_str() == Some(commit.trim()) && pinned == built,
            format!(
                "{agreements} agreements; commit {}, {} images pinned at CI's digests",
                &commit.trim()[..12.min(commit.trim().len())],
                pinned.len()
            ),
        ))
    })();
    let (passed, detail) =
        outcome.unwrap_or_else(|e| (false, format!("{}: {e:#}", path.display())));
    report.record("consistency gate record", passed, detail);
}

fn check_gitlab(report: &mut Report, sandbox: &Sandbox, version: &str) {
    let Some(gitlab) = sandbox.gitlab() else {
        return;
    };
    let releases = gitlab.releases();
    let ours: Vec<_> = releases
        .iter()
        .filter(|(tag, _, _)| tag == version)
        .collect();
    let changelog_in_notes = ours
        .first()
        .is_some_and(|(_, _, notes)| notes.contains(&format!("lava ({version}-1) unstable")));
    report.record(
        "one GitLab release with the changelog (API stand-in)",
        ours.len() == 1 && changelog_in_notes,
        format!("{} release(s) for {version}", ours.len()),
    );
    let state = gitlab.milestone_state(version).unwrap_or_default();
    report.record(
        "milestone closed (API stand-in)",
        state == "closed",
        format!("milestone {version} {state}"),
    );
    // LAVA today: master's pipeline ran, and passed, before the tag, whose pipeline
    // publishes, was pushed: GitLab starts a pipeline when a ref arrives, so the tag's
    // comes after the branch's.
    let pipelines = gitlab.pipelines();
    let branch = pipelines.iter().find(|p| !p.2 && p.1 == "master");
    let tag_pipeline = pipelines.iter().find(|p| p.2 && p.1 == version);
    // And in the stand-in's request count: the tag's pipeline was created (asked for
    // once the tag was pushed) after master's was answered as succeeded.
    let times =
        |p: Option<&(u64, String, bool, String)>| p.and_then(|p| gitlab.pipeline_times(p.0));
    let (branch_times, tag_times) = (times(branch), times(tag_pipeline));
    let ordered = matches!(
        (branch_times, tag_times),
        (Some((_, Some(succeeded))), Some((created, _))) if succeeded < created
    );
    report.record(
        "branch pipeline before the tag's (API stand-in)",
        ordered,
        format!(
            "master pipeline {:?} succeeded at request {:?}, tag pipeline {:?} created at request {:?}",
            branch.map(|b| (b.0, &b.3)),
            branch_times.and_then(|t| t.1),
            tag_pipeline.map(|t| (t.0, &t.3)),
            tag_times.map(|t| t.0)
        ),
    );
    let token_leaked = gitlab
        .requests()
        .iter()
        .any(|r| format!("{r:?}").contains(crate::sandbox::GITLAB_TOKEN));
    report.record(
        "token never in the request log (API stand-in)",
        !token_leaked,
        "requests name the token's label only".to_owned(),
    );
}

/// LAVA today: the tag pipeline's trigger job started one pipeline in
/// `lava/lava-apt-repo` for the tag, which succeeded (and published).
fn check_publishing_pipeline(report: &mut Report, sandbox: &Sandbox, version: &str) {
    let Some(gitlab) = sandbox.gitlab() else {
        return;
    };
    let downstream = gitlab.pipelines_of("lava/lava-apt-repo");
    report.record(
        "lava-apt-repo pipeline published the tag (API stand-in)",
        matches!(downstream.as_slice(), [(_, r, status)] if r == version && status == "success"),
        format!("{downstream:?}"),
    );
}

/// One announcement reached the list (the re-run sent none), with the subject, the
/// Message-ID the journal names, and a PGP/MIME signature `gpg --verify` accepts.
fn check_announcement(
    report: &mut Report,
    sandbox: &Sandbox,
    smtp: &crate::smtp::SmtpSink,
    version: &str,
) {
    let received = smtp.received();
    let evidence = report
        .stages
        .iter()
        .find(|(stage, _, _)| stage == "announce")
        .map(|(_, _, evidence)| evidence.clone())
        .unwrap_or_default();
    let (passed, detail) = match received.as_slice() {
        [mail] => {
            let id = mail.header("Message-ID").unwrap_or_default();
            let subject = mail.header("Subject").unwrap_or_default();
            let (_, public) = sandbox.release_key();
            match mail.gpg_verify(&public) {
                Ok(fpr) => (
                    subject == format!("LAVA Software {version} release")
                        && !id.is_empty()
                        && evidence.starts_with(&format!("sent {id} ")),
                    format!("{id}, signed by {fpr}"),
                ),
                Err(e) => (false, format!("{e:#}")),
            }
        }
        other => (false, format!("{} message(s) received", other.len())),
    };
    report.record("announcement received (SMTP sink)", passed, detail);
}

/// Zips every file of `dir` as a CI job's artifacts hold them (under `build/`).
fn zip_dir(dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default();
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for path in &files {
        let name = path
            .file_name()
            .context("a file has a name")?
            .to_string_lossy();
        zip.start_file(format!("build/{name}"), options)?;
        zip.write_all(&std::fs::read(path)?)?;
    }
    zip.finish()?;
    Ok(out.into_inner())
}

/// Removes every file of `dir`: the upload reaches the release only through CI.
fn remove_files(dir: &std::path::Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        std::fs::remove_file(entry?.path())?;
    }
    Ok(())
}

/// The two registries of the rehearsal and the images CI pushed.
struct Images {
    layout: crate::registry::ImageLayout,
    source: crate::registry::Registry,
    /// In front of `source` when asked for: the configuration names it instead.
    proxy: Option<crate::registry::FaultProxy>,
    target: crate::registry::Registry,
    authfile: std::path::PathBuf,
}

impl Images {
    const USER: &str = "lavasoftware";
    const PASSWORD: &str = "rehearsal-hub-password";

    fn start(
        sandbox: &mut Sandbox,
        version: &str,
        spec: &crate::registry::ImageSetSpec,
        proxied: bool,
    ) -> anyhow::Result<Self> {
        use crate::registry::{Auth, FaultProxy, ImageLayout, Registry};
        let layout = ImageLayout::generate(spec, &sandbox.path().join("images"))?;
        let source = Registry::start(Auth::None)?;
        layout.push_all(&source.host(), "lava/lava", version, None)?;
        let proxy = proxied
            .then(|| FaultProxy::start(source.port()))
            .transpose()?;
        let source_host = proxy
            .as_ref()
            .map_or_else(|| source.host(), FaultProxy::host);
        let target = Registry::start(Auth::Htpasswd {
            user: Self::USER.into(),
            password: Self::PASSWORD.into(),
        })?;
        let authfile = sandbox.path().join("docker/config.json");
        std::fs::create_dir_all(sandbox.path().join("docker"))?;
        crate::registry::write_authfile(&authfile, &target.host(), Self::USER, Self::PASSWORD)?;
        sandbox.replace_section(
            "docker",
            &format!(
                "[docker]\nenabled = true\nsource = \"{src}/lava/lava/{{arch}}/{{image}}:{{version}}\"\ntarget = \"{dst}/lavasoftware/{{arch}}-{{image}}\"\nlist = \"{dst}/lavasoftware/{{image}}\"\ndocker_config = {auth:?}",
                src = source_host,
                dst = target.host(),
                auth = authfile.display().to_string(),
            ),
        )?;
        Ok(Self {
            layout,
            source,
            proxy,
            target,
            authfile,
        })
    }

    /// The manifest digest of `reference` (a repository and tag) in the target
    /// registry, as `skopeo inspect` reads it.
    fn digest(&self, reference: &str) -> anyhow::Result<String> {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
            .arg(&self.authfile)
            .arg(format!("docker://{}/{reference}", self.target.host()));
        let out = sandbox::run(cmd, None)?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&out.stdout);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("sha256:{hex}"))
    }

    /// Each manifest list, under the version and `latest`, lists both platforms at the
    /// digests CI built, as `skopeo inspect --raw` reads it.
    fn check(&self, report: &mut Report, version: &str) {
        for image in ["lava-dispatcher", "lava-server"] {
            for tag in [version, "latest"] {
                let reference = format!("{}/lavasoftware/{image}:{tag}", self.target.host());
                let (passed, detail) = match self.entries(&reference) {
                    Ok(entries) => {
                        let want = [
                            format!("linux/amd64 {}", self.layout.image(image, "amd64").digest),
                            format!(
                                "linux/arm64/v8 {}",
                                self.layout.image(image, "aarch64").digest
                            ),
                        ];
                        (
                            entries == want,
                            format!("{} platforms at the CI digests", entries.len()),
                        )
                    }
                    Err(e) => (false, format!("{e:#}")),
                };
                report.record(
                    &format!("manifest list {image}:{tag} (skopeo inspect --raw)"),
                    passed,
                    detail,
                );
            }
        }
    }

    fn entries(&self, reference: &str) -> anyhow::Result<Vec<String>> {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
            .arg(&self.authfile)
            .arg(format!("docker://{reference}"));
        let out = sandbox::run(cmd, None)?;
        let raw: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(raw["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let p = &m["platform"];
                let mut platform = format!(
                    "{}/{}",
                    p["os"].as_str().unwrap_or_default(),
                    p["architecture"].as_str().unwrap_or_default()
                );
                if let Some(variant) = p["variant"].as_str() {
                    platform.push('/');
                    platform.push_str(variant);
                }
                format!("{platform} {}", m["digest"].as_str().unwrap_or_default())
            })
            .collect())
    }
}
