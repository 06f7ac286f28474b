//! Stage `dev-build` (when `debian.dev_build` is set): the release manager's builder
//! run on the local tag, before anything is signed or pushed. Output goes to the
//! terminal and to `.git/lava-release/VERSION-dev-build.log`; a stamp holding the
//! commit built makes a re-run skip it.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_debian::DevBuild as Build;

use crate::config::Config;
use crate::shared::debian::fill;
use crate::step::{Context, Status, Step, short};
use crate::version::Release;

/// Inputs of the `dev-build` stage.
#[derive(Debug, Clone)]
pub struct DevBuild {
    version: String,
    debian_version: String,
    builder: String,
}

impl Step for DevBuild {
    fn from_config(config: &Config, release: &Release) -> Option<Self> {
        config.debian.dev_build.then(|| Self {
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            builder: fill(&config.debian.builder, release),
        })
    }

    fn name(&self) -> &'static str {
        "dev-build"
    }

    fn describe(&self) -> String {
        format!(
            "build tag `{}` locally with `{}`",
            self.version, self.builder
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
            Status::todo()
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
        let build = Build {
            command: self.builder.clone(),
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
        lava_debian::dev_build(&build, &mut |line| eprintln!("    | {line}"))?;
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
