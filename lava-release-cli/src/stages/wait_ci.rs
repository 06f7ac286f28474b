//! Stage `wait-ci`: the pipeline of the pushed tag succeeded. The tag's pipeline builds
//! everything the later stages publish.

use lava_gitlab::CiTarget;

use crate::config::Config;
use crate::shared::gitlab::{client, pipeline_status, project_url, wait};
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `wait-ci` stage.
#[derive(Debug, Clone)]
pub struct WaitCi {
    version: String,
    project: String,
}

impl Step for WaitCi {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
            project: project_url(config),
        })
    }

    fn name(&self) -> &'static str {
        "wait-ci"
    }

    fn describe(&self) -> String {
        format!(
            "wait for the pipeline of tag {} on {} to succeed",
            self.version, self.project
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::TagPushed]
    }
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        pipeline_status(
            &client(ctx)?,
            &CiTarget::Tag(self.version.clone()),
            "pipeline",
        )
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let pipeline = wait(&client(ctx)?, ctx, CiTarget::Tag(self.version.clone()))?;
        Ok(format!(
            "pipeline {} succeeded {}",
            pipeline.id, pipeline.web_url
        ))
    }
}
