//! Stage `release-notes`: the GitLab release of the tag, created or updated (never
//! duplicated) to say what the changelog entry says, with the commits since the
//! previous release.

use lava_gitlab::{ReleaseNotes as Notes, ReleaseState};

use crate::config::Config;
use crate::notes::{ReleaseContent, subject};
use crate::shared::gitlab::{client, project_url, writer};
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `release-notes` stage.
#[derive(Debug, Clone)]
pub struct ReleaseNotes {
    version: String,
}

impl Step for ReleaseNotes {
    fn from_config(_: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
        })
    }

    fn name(&self) -> &'static str {
        "release-notes"
    }

    fn describe(&self) -> String {
        format!(
            "create or update the GitLab release of tag {} with the changelog entry and commits",
            self.version
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::GitLab]
    }

    /// The token can write to the project (scope `api`, Developer or more), unless
    /// this stage is done already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        crate::shared::gitlab::write_ready(ctx)
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        if ctx.repo.read_tag(&self.version)?.is_none() {
            return Ok(Status::todo());
        }
        Ok(
            match client(ctx)?.release_notes_check(&release_notes(ctx, &self.version)?)? {
                ReleaseState::UpToDate(r) => Status::Done {
                    evidence: format!(
                        "release {} {}",
                        r.name.as_deref().unwrap_or(&r.tag_name),
                        r.web_url().unwrap_or_default()
                    ),
                },
                ReleaseState::Differs(_) => Status::ToDo {
                    detail: Some("the release exists with other notes".into()),
                },
                ReleaseState::Missing => Status::todo(),
            },
        )
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let (release, action) =
            writer(ctx)?.publish_release(&release_notes(ctx, &self.version)?)?;
        ctx.failpoint("release-notes:published");
        Ok(format!(
            "release {} {:?} {}",
            release.name.as_deref().unwrap_or(&release.tag_name),
            action,
            release.web_url().unwrap_or_default()
        ))
    }
}

/// The release notes: the changelog entry at HEAD, then the commits since the previous
/// release with links, from [`ReleaseContent`], the source the announcement also uses.
pub fn release_notes(ctx: &Context<'_>, version: &str) -> anyhow::Result<Notes> {
    let content = ReleaseContent::read(ctx)?;
    let base = project_url(ctx.config);
    let mut description = format!("```\n{}\n```\n\n", content.entry);
    if let Some(previous) = &content.previous {
        description.push_str(&format!("Changes since {previous}:\n\n"));
    }
    for c in &content.commits {
        description.push_str(&format!(
            "* [{}]({base}/-/commit/{}) {}\n",
            c.short_id,
            c.id,
            subject(c)
        ));
    }
    Ok(Notes {
        tag: version.to_owned(),
        name: ctx.config.gitlab.release_name.replace("{version}", version),
        description,
    })
}
