//! Stage `push-tag`: the release branch and the signed tag pushed to the project's
//! remote, never forced. The tag's pipeline, which builds what is published, starts
//! from this push.

use crate::config::Config;
use crate::shared::git::{check_pushed, need_release_commit, network};
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `push-tag` stage.
#[derive(Debug, Clone)]
pub struct PushTag {
    tag: String,
    branch: String,
    remote: String,
    /// The branch is pushed and its pipeline waited for first (`push-branch`).
    branch_first: bool,
}

impl Step for PushTag {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            tag: release.version.to_string(),
            branch: config.project.branch.clone(),
            remote: config.project.remote.clone(),
            branch_first: config.project.push_branch_first,
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

    /// An unsigned local tag of the same name is never pushed, nor the tag before the
    /// branch's pipeline passed when the branch goes first.
    fn needs(&self) -> Vec<Need> {
        match self.branch_first {
            true => vec![Need::SignedTag, Need::BranchPipelineSucceeded],
            false => vec![Need::SignedTag],
        }
    }

    /// The remote answers (its URL, the credentials, the host key).
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::shared::git::push_ready(ctx, self.check(ctx))
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
            &network(ctx),
        )?;
        Ok(format!(
            "{} has {} and tag {}",
            self.remote, self.branch, self.tag
        ))
    }
}
