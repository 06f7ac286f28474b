//! Stage `signed-tag`: the release tag signed with the release key (replacing the
//! unsigned local tag of the same commit) and verified right after with the public key
//! alone, as `git verify-tag` would. A signed tag is never re-signed or moved.

use anyhow::Context as _;
use lava_git::{NewTag, TagRef};

use crate::config::Config;
use crate::shared::git::{need_release_commit, release_commit, tag_elsewhere};
use crate::signing;
use crate::step::{Absent, Context, Credential, Status, Step, short};
use crate::version::Release;

/// Inputs of the `signed-tag` stage.
#[derive(Debug, Clone)]
pub struct SignedTag {
    tag: String,
    message: String,
    key: String,
}

impl Step for SignedTag {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let tag = release.version.to_string();
        Ok(Self {
            message: config.project.tag_message.replace("{version}", &tag),
            key: config.signing.release_key.clone(),
            tag,
        })
    }

    fn name(&self) -> &'static str {
        "signed-tag"
    }

    fn describe(&self) -> String {
        format!(
            "sign tag `{}` with the release key {} and verify it",
            self.tag, self.key
        )
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::ReleaseKey]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let commit = release_commit(ctx)?;
        let Some(tag) = ctx.repo.read_tag(&self.tag)? else {
            return Ok(Status::todo());
        };
        if commit.as_deref() != Some(tag.commit()) {
            return Ok(tag_elsewhere(&self.tag, &tag));
        }
        match &tag {
            TagRef::Annotated(t) if t.signature.is_some() => {
                let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
                let signature = t.signature.as_deref().unwrap_or_default();
                match lava_signing::verify_detached(&t.payload, signature, &keyring) {
                    Ok(fpr) => Ok(Status::Done {
                        evidence: format!("tag {} ({}) signed by {fpr}", self.tag, short(&t.id)),
                    }),
                    Err(e) => Ok(Status::Blocked {
                        reason: format!(
                            "tag `{}` is signed, but not validly by the release key: {e}",
                            self.tag
                        ),
                    }),
                }
            }
            _ => Ok(Status::ToDo {
                detail: Some("replaces the unsigned local tag".into()),
            }),
        }
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = need_release_commit(ctx)?;
        let signer = ctx.release_signer()?;
        let replaces = match ctx.repo.read_tag(&self.tag)? {
            Some(TagRef::Annotated(t)) if t.signature.is_none() && t.target == commit => Some(t.id),
            Some(TagRef::Annotated(t)) if t.signature.is_some() => {
                anyhow::bail!(
                    "tag `{}` is already signed; it is never re-signed",
                    self.tag
                )
            }
            Some(other) => anyhow::bail!(
                "tag `{}` exists at {} and is not an unsigned local tag of the release commit",
                self.tag,
                short(other.commit())
            ),
            None => None,
        };
        let sign = |payload: &[u8]| -> Result<String, lava_git::Source> {
            signer.sign_detached_armored(payload).map_err(Into::into)
        };
        let id = ctx.repo.create_tag(
            &NewTag {
                name: &self.tag,
                commit: &commit,
                message: &self.message,
                replaces: replaces.as_deref(),
                tagger: None,
            },
            Some(&sign),
        )?;
        // Verify right after, with the public key alone, as git verify-tag would.
        let Some(TagRef::Annotated(tag)) = ctx.repo.read_tag(&self.tag)? else {
            anyhow::bail!("tag `{}` vanished right after it was written", self.tag);
        };
        let keyring = lava_signing::Keyring::from_bytes(&signer.export_public_binary()?)?;
        let fpr = lava_signing::verify_detached(
            &tag.payload,
            tag.signature.as_deref().unwrap_or_default(),
            &keyring,
        )
        .with_context(|| format!("tag `{}` was written but does not verify", self.tag))?;
        Ok(format!("tag {} ({}) signed by {fpr}", self.tag, short(&id)))
    }
}
