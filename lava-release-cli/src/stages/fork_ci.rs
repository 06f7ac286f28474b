//! Stage `fork-ci` (when `project.fork` is set): the release branch pushed to the
//! release manager's fork, so its CI runs on the release commit before the tag exists.

use crate::config::Config;
use crate::shared::git::{check_pushed, need_release_commit, network};
use crate::step::{Absent, Context, Status, Step, short};
use crate::version::Release;

/// Inputs of the `fork-ci` stage.
#[derive(Debug, Clone)]
pub struct ForkCi {
    fork: String,
    branch: String,
}

impl Step for ForkCi {
    fn from_config(config: &Config, _: &Release) -> Result<Self, Absent> {
        let fork = config
            .project
            .fork
            .as_deref()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| Absent::new("fork-ci", "project.fork is not set"))?;
        Ok(Self {
            fork: fork.to_owned(),
            branch: config.project.branch.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "fork-ci"
    }

    fn describe(&self) -> String {
        format!(
            "push {} to the fork {} so its CI runs",
            self.branch, self.fork
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    /// The remote answers (its URL, the credentials, the host key).
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::shared::git::push_ready(ctx, self.check(ctx))
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        check_pushed(ctx, &self.fork, false)
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = need_release_commit(ctx)?;
        let spec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
        ctx.repo.push(&self.fork, &[spec.as_str()], &network(ctx))?;
        Ok(format!(
            "{} {} at {}",
            self.fork,
            self.branch,
            short(&commit)
        ))
    }
}
