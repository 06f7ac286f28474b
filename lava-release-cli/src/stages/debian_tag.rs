//! Stage `debian-tag` (`debian.flow = "gbp"`): the signed Debian tag of the packaging
//! repository's Debian branch, named and worded as `gbp tag` does (`debian-tag` and
//! `debian-tag-msg` of gbp.conf, DEP-14 mangling: `debian/2026.07-1`), signed with the
//! Debian Developer's key and verified with its certificate alone. Never moved.

use lava_git::{NewTag, TagRef};

use crate::config::{Config, DebianFlow};
use crate::entry::CHANGELOG;
use crate::shared::packaging::{Packaging, dd_keyring};
use crate::step::{Absent, Context, Credential, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `debian-tag` stage.
#[derive(Debug, Clone)]
pub struct DebianTag {
    source: String,
    debian_version: String,
}

impl Step for DebianTag {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if config.debian.flow != DebianFlow::Gbp {
            return Err(Absent::new(
                "debian-tag",
                format!("debian.flow is \"{}\"", config.debian.flow.name()),
            ));
        }
        Ok(Self {
            source: config.repo.source.clone(),
            debian_version: release.debian_version.to_string(),
        })
    }

    fn name(&self) -> &'static str {
        "debian-tag"
    }

    fn describe(&self) -> String {
        format!(
            "tag the Debian branch `{}` as `gbp tag` names it, signed with the Debian Developer's key",
            lava_changelog::debian_tag(&self.debian_version)
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::DebianKey]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let packaging = Packaging::in_context(ctx)?;
        let Some(repo) = packaging.open()? else {
            return Ok(Status::ToDo {
                detail: Some("after import-orig".into()),
            });
        };
        let layout = packaging.layout(ctx)?;
        let name = layout.debian_tag(&self.debian_version);
        let Some(tag) = repo.read_tag(&name)? else {
            return Ok(Status::todo());
        };
        let branch = repo.resolve_commit(&format!("refs/heads/{}", layout.debian_branch))?;
        if branch.as_deref() != Some(tag.commit()) {
            return Ok(Status::Blocked {
                reason: format!(
                    "tag `{name}` already exists in {} at {}, not at `{}` ({}); a tag is never moved",
                    packaging.dir.display(),
                    short(tag.commit()),
                    layout.debian_branch,
                    branch.as_deref().map_or("absent", short)
                ),
            });
        }
        Ok(match &tag {
            TagRef::Annotated(t) if t.signature.is_some() => {
                match lava_signing::verify_detached(
                    &t.payload,
                    t.signature.as_deref().unwrap_or_default(),
                    &dd_keyring(ctx)?,
                ) {
                    Ok(fpr) => Status::Done {
                        evidence: format!("tag {name} ({}) signed by {fpr}", short(&t.id)),
                    },
                    Err(e) => Status::Blocked {
                        reason: format!(
                            "tag `{name}` in {} is not validly signed by the Debian Developer's key: {e}",
                            packaging.dir.display()
                        ),
                    },
                }
            }
            _ => Status::Blocked {
                reason: format!(
                    "tag `{name}` in {} is not signed; delete it, then run again",
                    packaging.dir.display()
                ),
            },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.need()?;
        let layout = packaging.layout(ctx)?;
        let name = layout.debian_tag(&self.debian_version);
        let commit = repo
            .resolve_commit(&format!("refs/heads/{}", layout.debian_branch))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no branch `{}`",
                    packaging.dir.display(),
                    layout.debian_branch
                )
            })?;
        let top = repo
            .file_at(&commit, CHANGELOG)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .and_then(|text| lava_changelog::parse_top(&text).ok());
        anyhow::ensure!(
            top.as_ref().map(|t| t.version.as_str()) == Some(self.debian_version.as_str()),
            "`{}` of {} does not start its {CHANGELOG} with {}; run debian-changelog first",
            layout.debian_branch,
            packaging.dir.display(),
            self.debian_version
        );
        let signer = ctx.debian_signer()?;
        let sign = |payload: &[u8]| -> Result<String, lava_git::Source> {
            signer.sign_detached_armored(payload).map_err(Into::into)
        };
        let message = format!(
            "{}\n",
            layout.debian_tag_message(&self.source, &self.debian_version)
        );
        repo.create_tag(
            &NewTag {
                name: &name,
                commit: &commit,
                message: &message,
                replaces: None,
                tagger: None,
            },
            Some(&sign),
        )?;
        match self.check(ctx)? {
            Status::Done { evidence } => Ok(evidence),
            other => anyhow::bail!(
                "tag `{name}` was written but {}",
                other.note().unwrap_or("is not seen")
            ),
        }
    }
}
