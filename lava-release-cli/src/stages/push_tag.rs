//! Stage `push-tag`: the release branch and the signed tag pushed to the project's
//! remote, never forced. The tag's pipeline, which builds what is published, starts
//! from this push.

use crate::config::Config;
use crate::shared::git::{check_pushed, credentials, need_release_commit};
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `push-tag` stage.
#[derive(Debug, Clone)]
pub struct PushTag {
    tag: String,
    branch: String,
    remote: String,
}

impl Step for PushTag {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            tag: release.version.to_string(),
            branch: config.project.branch.clone(),
            remote: config.project.remote.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "push-tag"
    }

    fn describe(&self) -> String {
        format!(
            "push {} and tag `{}` to {}",
            self.branch, self.tag, self.remote
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    /// An unsigned local tag of the same name is never pushed.
    fn needs(&self) -> Vec<Need> {
        vec![Need::SignedTag]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        check_pushed(ctx, &self.remote, true)
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        need_release_commit(ctx)?;
        let branch = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
        let tag = format!("refs/tags/{0}:refs/tags/{0}", self.tag);
        ctx.failpoint("push-tag:before-push");
        ctx.repo.push(
            &self.remote,
            &[branch.as_str(), tag.as_str()],
            &credentials(ctx),
        )?;
        Ok(format!(
            "{} has {} and tag {}",
            self.remote, self.branch, self.tag
        ))
    }
}
