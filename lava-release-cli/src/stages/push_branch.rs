//! Stage `push-branch` (unless `project.push_branch_first` is false): the release commit
//! pushed to the project's branch alone, fast-forward only, so that its pipeline runs
//! before the tag exists, as LAVA's release script does: the tag's pipeline publishes,
//! the branch's only tests.

use crate::config::Config;
use crate::shared::git::{
    different_tag, local_tag_id, need_release_commit, network, release_commit, tip_contains,
};
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `push-branch` stage.
#[derive(Debug, Clone)]
pub struct PushBranch {
    branch: String,
    remote: String,
}

/// Where the remote's branch stands against the release commit.
enum Remote {
    /// It has the release commit.
    Has,
    /// It is behind: a fast-forward push brings it there.
    Behind,
    /// It has commits the release commit lacks: pushing would need force.
    Moved { at: String },
    /// It already has another tag of the release's name: the tag could never follow.
    OtherTag { reason: String },
}

impl Step for PushBranch {
    fn from_config(config: &Config, _: &Release) -> Result<Self, Absent> {
        if !config.project.push_branch_first {
            return Err(Absent::new(
                "push-branch",
                "project.push_branch_first is false",
            ));
        }
        Ok(Self {
            branch: config.project.branch.clone(),
            remote: config.project.remote.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "push-branch"
    }

    fn describe(&self) -> String {
        format!(
            "push {} alone to {} (fast-forward only) so its pipeline runs before the tag",
            self.branch, self.remote
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    /// Nothing is made public before the release tag is signed and verified.
    fn needs(&self) -> Vec<Need> {
        vec![Need::SignedTag]
    }

    /// The remote answers (its URL, the credentials, the host key).
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::shared::git::push_ready(ctx, self.check(ctx))
    }

    /// The remote is asked first, release commit or not, so the plan shows a remote
    /// that does not answer.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let refs = ctx.repo.remote_refs(&self.remote, &network(ctx))?;
        let Some(commit) = release_commit(ctx)? else {
            return Ok(Status::todo());
        };
        Ok(match self.remote_state(ctx, &commit, &refs)? {
            Remote::Has => Status::Done {
                evidence: format!(
                    "{} {} contains {}",
                    self.remote,
                    self.branch,
                    short(&commit)
                ),
            },
            Remote::Behind => Status::todo(),
            Remote::Moved { at } => Status::Blocked {
                reason: self.moved(&at, &commit),
            },
            Remote::OtherTag { reason } => Status::Blocked { reason },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = need_release_commit(ctx)?;
        let refs = ctx.repo.remote_refs(&self.remote, &network(ctx))?;
        match self.remote_state(ctx, &commit, &refs)? {
            Remote::Has => {}
            Remote::Moved { at } => anyhow::bail!("{}", self.moved(&at, &commit)),
            Remote::OtherTag { reason } => anyhow::bail!("{reason}"),
            Remote::Behind => {
                let spec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
                ctx.repo
                    .push(&self.remote, &[spec.as_str()], &network(ctx))?;
            }
        }
        Ok(format!(
            "{} {} at {}",
            self.remote,
            self.branch,
            short(&commit)
        ))
    }
}

impl PushBranch {
    /// Where the remote stands, from one listing of its `refs`. Its branch tip may be a
    /// commit this clone has never seen: then it is not one the release builds on.
    fn remote_state(
        &self,
        ctx: &Context<'_>,
        commit: &str,
        refs: &[(String, String)],
    ) -> anyhow::Result<Remote> {
        let find = |name: String| refs.iter().find(|(n, _)| *n == name).map(|(_, id)| id);
        let tag = ctx.release.version.to_string();
        if let Some(id) = find(format!("refs/tags/{tag}")) {
            if *id != local_tag_id(ctx, &tag)? {
                return Ok(Remote::OtherTag {
                    reason: different_tag(&self.remote, &tag, id),
                });
            }
        }
        let Some(at) = find(format!("refs/heads/{}", self.branch)) else {
            return Ok(Remote::Behind);
        };
        Ok(if tip_contains(ctx, at, commit)? {
            Remote::Has
        } else if ctx.repo.resolve_commit(at)?.is_some() && ctx.repo.is_ancestor(at, commit)? {
            Remote::Behind
        } else {
            Remote::Moved { at: at.clone() }
        })
    }

    fn moved(&self, at: &str, commit: &str) -> String {
        format!(
            "{} {} is at {}, which the release commit {} does not build on: someone pushed since; fetch, rebase the release onto it and run again (it is never force-pushed)",
            self.remote,
            self.branch,
            short(at),
            short(commit)
        )
    }
}
