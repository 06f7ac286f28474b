//! Stage `consistency`: the one check that ties the release together before anything
//! is published from it (the apt repository, Debian, Docker Hub, the GitLab release,
//! the mail). It gathers the [`Record`] of what every part says, stops at the first
//! disagreement naming both sides, and when all agree writes the record, which pins the
//! CI images `docker-publish` copies. Every publishing stage needs it.

use crate::config::Config;
use crate::consistency::{Observation, Record, blocked, observe};
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `consistency` stage.
#[derive(Debug, Clone)]
pub struct Consistency {
    version: String,
    description: String,
}

impl Step for Consistency {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let mut parts = vec![
            "debian/changelog".to_owned(),
            config.project.version_files.join(", "),
        ];
        if config.repo.incoming.is_some() || !config.gitlab.artifact_jobs.is_empty() {
            parts.push("the .changes and .dsc of each suite".into());
        }
        if config.docker.enabled {
            parts.push("CI's images".into());
        }
        parts.retain(|p| !p.is_empty());
        let last = parts.pop().unwrap_or_default();
        let pin = if config.docker.enabled {
            ", then pin the images to publish"
        } else {
            ""
        };
        Ok(Self {
            version: release.version.to_string(),
            description: format!(
                "check that tag {v} on {} is the commit its pipeline built and that {} and {last} agree on {v} (Debian {}){pin}",
                config.project.remote,
                parts.join(", "),
                release.debian_version,
                v = release.version,
            ),
        })
    }

    fn name(&self) -> &'static str {
        "consistency"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::PipelineSucceeded]
    }
    /// Read-only: done when everything agrees and the record pins the same release.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let record = match observe(ctx, &self.version)? {
            Observation::Missing(what) => return Ok(Status::ToDo { detail: Some(what) }),
            Observation::Wrong(reason) => return Ok(Status::Blocked { reason }),
            Observation::Complete(record) => record,
        };
        let mismatches = record.mismatches();
        if !mismatches.is_empty() {
            return Ok(Status::Blocked {
                reason: blocked(&mismatches),
            });
        }
        Ok(match Record::load(ctx)? {
            Some(saved) if saved.pins_same(&record) => Status::Done {
                evidence: record.evidence(),
            },
            Some(_) => Status::ToDo {
                detail: Some("CI's images or the tag changed since the last check".into()),
            },
            None => Status::ToDo {
                detail: Some("everything agrees; nothing is pinned yet".into()),
            },
        })
    }

    /// What the stages after it need: a record for this release that pins the commit the
    /// tag is at now. Publishing stages then copy what it pinned, even if CI's tags moved
    /// since; the next full run's check sees such a move.
    fn provides(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(record) = Record::load(ctx)? else {
            return Ok(Status::ToDo {
                detail: Some(format!("no consistency record pins {} yet", self.version)),
            });
        };
        Ok(match ctx.repo.read_tag(&self.version)? {
            Some(tag) if tag.commit() == record.commit => Status::Done {
                evidence: record.evidence(),
            },
            Some(tag) => Status::Blocked {
                reason: format!(
                    "the consistency record pins {}, but tag {} is at {}",
                    short(&record.commit),
                    self.version,
                    short(tag.commit())
                ),
            },
            None => Status::ToDo {
                detail: Some(format!("tag {} is not made yet", self.version)),
            },
        })
    }

    /// Checks again and records what is pinned.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let record = match observe(ctx, &self.version)? {
            Observation::Missing(what) => {
                anyhow::bail!("the release cannot be checked yet: {what}")
            }
            Observation::Wrong(reason) => anyhow::bail!("{reason}"),
            Observation::Complete(record) => record,
        };
        let mismatches = record.mismatches();
        anyhow::ensure!(mismatches.is_empty(), "{}", blocked(&mismatches));
        record.save(ctx)?;
        Ok(record.evidence())
    }
}
