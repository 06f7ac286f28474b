//! Stage `local-tag`: the release commit tagged, unsigned, so the dev build can build
//! the tag before anything is signed or pushed. `signed-tag` replaces it.

use lava_git::NewTag;

use crate::config::Config;
use crate::shared::git::{need_release_commit, release_commit, tag_elsewhere};
use crate::step::{Absent, Context, Status, Step, short};
use crate::version::Release;

/// Inputs of the `local-tag` stage.
#[derive(Debug, Clone)]
pub struct LocalTag {
    tag: String,
    message: String,
}

impl Step for LocalTag {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let tag = release.version.to_string();
        Ok(Self {
            message: config.project.tag_message.replace("{version}", &tag),
            tag,
        })
    }

    fn name(&self) -> &'static str {
        "local-tag"
    }

    fn describe(&self) -> String {
        format!(
            "tag the release commit `{}` (unsigned, for the local build)",
            self.tag
        )
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let commit = release_commit(ctx)?;
        Ok(match (ctx.repo.read_tag(&self.tag)?, commit) {
            (None, _) => Status::todo(),
            (Some(tag), Some(commit)) if tag.commit() == commit => Status::Done {
                evidence: format!("tag {} at {}", self.tag, short(&commit)),
            },
            (Some(tag), _) => tag_elsewhere(&self.tag, &tag),
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = need_release_commit(ctx)?;
        let id = ctx.repo.create_tag(
            &NewTag {
                name: &self.tag,
                commit: &commit,
                message: &self.message,
                replaces: None,
                tagger: None,
            },
            None,
        )?;
        Ok(format!(
            "tag {} ({}) at {}",
            self.tag,
            short(&id),
            short(&commit)
        ))
    }
}
