//! Stage `dev-build` (when `debian.dev_build` is set): the release manager's builder
//! (LAVA's `./share/debian-dev-build.sh` by default) run on the local tag, before
//! anything is signed or pushed. Output goes to the terminal and to
//! `.git/lava-release/VERSION-dev-build.log`, packages to
//! `.git/lava-release/VERSION-dev-build/`; a stamp holding the commit built makes a
//! re-run skip it. A `gbp buildpackage` builder is checked against gbp's configuration
//! first: LAVA's `debian/gbp.conf` is DEP-14, and gbp refuses to build master.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_debian::DevBuild as Build;

use crate::config::Config;
use crate::gbp_conf::GbpConf;
use crate::shared::debian::fill;
use crate::step::{Absent, Context, Status, Step, Verbosity, short};
use crate::version::Release;

/// Inputs of the `dev-build` stage.
#[derive(Debug, Clone)]
pub struct DevBuild {
    version: String,
    debian_version: String,
    builder: String,
}

impl Step for DevBuild {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if !config.debian.dev_build {
            return Err(Absent::new("dev-build", "debian.dev_build is false"));
        }
        Ok(Self {
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            builder: fill(&config.debian.builder, release)
                .replace("{suite}", &config.debian.dev_build_suite),
        })
    }

    fn name(&self) -> &'static str {
        "dev-build"
    }

    fn describe(&self) -> String {
        format!(
            "build tag `{}` locally with `{}`",
            self.version,
            self.builder.replace(
                "{output}",
                &format!(".git/lava-release/{}-dev-build", self.version)
            )
        )
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(commit) = self.tag_commit(ctx)? else {
            return Ok(Status::Blocked {
                reason: format!(
                    "tag `{}` does not exist in {}; run the local-tag stage first",
                    self.version,
                    ctx.repo.workdir().display()
                ),
            });
        };
        if let Some(reason) = self.gbp_refusal(ctx)? {
            return Ok(Status::Blocked { reason });
        }
        let stamp = self.stamp(ctx);
        let built = std::fs::read_to_string(&stamp).unwrap_or_default();
        Ok(if built.trim() == commit {
            Status::Done {
                evidence: format!(
                    "built {} at {}; log {}",
                    self.version,
                    short(&commit),
                    self.log(ctx).display()
                ),
            }
        } else {
            Status::ToDo {
                detail: self.gbp_builder(ctx)?,
            }
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = self.tag_commit(ctx)?.with_context(|| {
            format!(
                "tag `{}` does not exist; run the local-tag stage first",
                self.version
            )
        })?;
        let head = ctx.repo.head_id()?;
        anyhow::ensure!(
            head == commit,
            "HEAD of {} is {}, not tag `{}` at {}; check out the release commit to build it",
            ctx.repo.workdir().display(),
            short(&head),
            self.version,
            short(&commit)
        );
        if let Some(reason) = self.gbp_refusal(ctx)? {
            anyhow::bail!("{reason}");
        }
        let output = self.output(ctx);
        std::fs::create_dir_all(&output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let build = Build {
            command: self.command(ctx),
            dir: ctx.repo.workdir().to_owned(),
            env: vec![
                ("LAVA_RELEASE_VERSION".into(), self.version.clone()),
                (
                    "LAVA_RELEASE_DEBIAN_VERSION".into(),
                    self.debian_version.clone(),
                ),
                ("LAVA_RELEASE_TAG".into(), self.version.clone()),
            ],
            log: self.log(ctx),
        };
        let quiet = ctx.verbosity == Verbosity::Quiet;
        lava_debian::dev_build(&build, &mut |line| {
            if !quiet {
                eprintln!("    | {line}");
            }
        })?;
        lava_io::write_atomically(self.stamp(ctx), format!("{commit}\n").as_bytes())?;
        Ok(format!(
            "built {} at {}; log {}",
            self.version,
            short(&commit),
            build.log.display()
        ))
    }
}

impl DevBuild {
    /// The builder with `{output}` filled in.
    fn command(&self, ctx: &Context<'_>) -> String {
        self.builder
            .replace("{output}", &self.output(ctx).display().to_string())
    }

    /// Where the builder puts the packages: the journal's scratch space.
    fn output(&self, ctx: &Context<'_>) -> PathBuf {
        ctx.state_dir().join(format!("{}-dev-build", self.version))
    }

    /// Why `gbp buildpackage` would refuse to build here, read from gbp's own
    /// configuration (`[DEFAULT]`, `[buildpackage]`): HEAD not on its Debian branch
    /// (unless the builder passes `--git-ignore-branch` or gbp.conf says
    /// `ignore-branch = True`), or `pristine-tar = True`
    /// without a `pristine-tar` branch. `None` for other builders.
    fn gbp_refusal(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        if !self.builder.trim_start().starts_with("gbp buildpackage") {
            return Ok(None);
        }
        let repo = ctx.repo;
        let files = GbpConf::files(repo.workdir(), repo.git_dir(), ctx.env);
        let gbp = GbpConf::read(&files, "buildpackage")?;
        let source = |key: &str| {
            gbp.get(key).map_or_else(
                || "gbp's default".to_owned(),
                |(_, f)| f.display().to_string(),
            )
        };
        let ignore_branch = self.builder.contains("--git-ignore-branch")
            || gbp.bool("ignore-branch")? == Some(true);
        if !ignore_branch {
            let wanted = gbp.get("debian-branch").map_or("master", |(v, _)| v);
            let head = repo.head_branch()?;
            if head.as_deref() != Some(wanted) {
                return Ok(Some(format!(
                    "gbp buildpackage would refuse to build: debian-branch is `{wanted}` ({}) but HEAD is {}; add --git-ignore-branch to debian.builder or use LAVA's ./share/debian-dev-build.sh",
                    source("debian-branch"),
                    head.map_or_else(|| "detached".to_owned(), |b| format!("on `{b}`")),
                )));
            }
        }
        if gbp.bool("pristine-tar")? == Some(true)
            && repo.resolve_commit("refs/heads/pristine-tar")?.is_none()
        {
            return Ok(Some(format!(
                "gbp buildpackage would fail: pristine-tar is on ({}) but {} has no pristine-tar branch; fetch it or pass --git-no-pristine-tar in debian.builder",
                source("pristine-tar"),
                repo.workdir().display()
            )));
        }
        Ok(None)
    }

    /// What `gbp buildpackage` runs when debian.builder does not say (`--git-builder`):
    /// gbp.conf's `builder`, and the file that set it.
    fn gbp_builder(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        if !self.builder.trim_start().starts_with("gbp buildpackage")
            || self.builder.contains("--git-builder")
        {
            return Ok(None);
        }
        let repo = ctx.repo;
        let gbp = GbpConf::read(
            &GbpConf::files(repo.workdir(), repo.git_dir(), ctx.env),
            "buildpackage",
        )?;
        Ok(gbp.get("builder").map(|(builder, file)| {
            format!(
                "gbp builds with `{builder}` (builder in {})",
                file.display()
            )
        }))
    }

    fn stamp(&self, ctx: &Context<'_>) -> PathBuf {
        ctx.state_dir()
            .join(format!("{}-dev-build.ok", self.version))
    }

    fn log(&self, ctx: &Context<'_>) -> PathBuf {
        ctx.state_dir()
            .join(format!("{}-dev-build.log", self.version))
    }

    fn tag_commit(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        Ok(ctx
            .repo
            .resolve_commit(&format!("refs/tags/{}^{{commit}}", self.version))?)
    }
}
