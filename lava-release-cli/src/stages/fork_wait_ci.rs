//! Stage `fork-wait-ci` (when `project.fork` and `gitlab.fork_project` are set): the
//! pipeline of the release commit on the fork's release branch succeeded.

use anyhow::Context as _;
use lava_gitlab::{CiTarget, GitLab};

use crate::config::Config;
use crate::shared::git::release_commit;
use crate::shared::gitlab::{gitlab_client, pipeline_status, wait};
use crate::step::{Absent, Context, Status, Step};
use crate::version::Release;

/// Inputs of the `fork-wait-ci` stage.
#[derive(Debug, Clone)]
pub struct ForkWaitCi {
    fork_project: String,
    branch: String,
    url: String,
}

impl Step for ForkWaitCi {
    fn from_config(config: &Config, _: &Release) -> Result<Self, Absent> {
        config
            .project
            .fork
            .as_deref()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| Absent::new("fork-wait-ci", "project.fork is not set"))?;
        let fork_project = config
            .gitlab
            .fork_project
            .as_deref()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| Absent::new("fork-wait-ci", "gitlab.fork_project is not set"))?;
        Ok(Self {
            fork_project: fork_project.to_owned(),
            branch: config.project.branch.clone(),
            url: config.gitlab.url.trim_end_matches('/').to_owned(),
        })
    }

    fn name(&self) -> &'static str {
        "fork-wait-ci"
    }

    fn describe(&self) -> String {
        format!(
            "wait for the pipeline of the release commit on {} of {}/{} to succeed",
            self.branch, self.url, self.fork_project
        )
    }
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(target) = self.target(ctx)? else {
            return Ok(Status::todo());
        };
        pipeline_status(&self.client(ctx)?, &target, "fork pipeline")
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let target = self
            .target(ctx)?
            .context("HEAD is not the release commit yet")?;
        let pipeline = wait(&self.client(ctx)?, ctx, target)?;
        Ok(format!(
            "fork pipeline {} succeeded {}",
            pipeline.id, pipeline.web_url
        ))
    }
}

impl ForkWaitCi {
    fn client(&self, ctx: &Context<'_>) -> anyhow::Result<GitLab> {
        gitlab_client(ctx.config, ctx.env, &self.fork_project)
    }

    /// The fork's pipeline to wait for: the release commit on the release branch.
    fn target(&self, ctx: &Context<'_>) -> anyhow::Result<Option<CiTarget>> {
        Ok(release_commit(ctx)?.map(|sha| CiTarget::Commit {
            sha,
            ref_name: Some(self.branch.clone()),
        }))
    }
}
