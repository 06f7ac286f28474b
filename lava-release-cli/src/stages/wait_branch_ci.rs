//! Stage `wait-branch-ci` (with `push-branch`): the pipeline of the release commit on the
//! project's branch succeeded, before the tag whose pipeline publishes is pushed.

use anyhow::Context as _;
use lava_gitlab::CiTarget;

use crate::config::Config;
use crate::shared::git::release_commit;
use crate::shared::gitlab::{client, pipeline_status, project_url, wait};
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `wait-branch-ci` stage.
#[derive(Debug, Clone)]
pub struct WaitBranchCi {
    branch: String,
    project: String,
}

impl Step for WaitBranchCi {
    fn from_config(config: &Config, _: &Release) -> Result<Self, Absent> {
        if !config.project.push_branch_first {
            return Err(Absent::new(
                "wait-branch-ci",
                "project.push_branch_first is false",
            ));
        }
        Ok(Self {
            branch: config.project.branch.clone(),
            project: project_url(config),
        })
    }

    fn name(&self) -> &'static str {
        "wait-branch-ci"
    }

    fn describe(&self) -> String {
        format!(
            "wait for the pipeline of the release commit on {} of {} to succeed",
            self.branch, self.project
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::BranchPushed]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(target) = self.target(ctx)? else {
            return Ok(Status::todo());
        };
        pipeline_status(&client(ctx)?, &target, "branch pipeline")
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let target = self
            .target(ctx)?
            .context("HEAD is not the release commit yet")?;
        let pipeline = wait(&client(ctx)?, ctx, target)?;
        Ok(format!(
            "branch pipeline {} succeeded {}",
            pipeline.id, pipeline.web_url
        ))
    }
}

impl WaitBranchCi {
    /// The release commit's pipeline on the branch.
    fn target(&self, ctx: &Context<'_>) -> anyhow::Result<Option<CiTarget>> {
        Ok(release_commit(ctx)?.map(|sha| CiTarget::Commit {
            sha,
            ref_name: Some(self.branch.clone()),
        }))
    }
}
