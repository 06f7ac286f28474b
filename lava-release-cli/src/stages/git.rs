//! The git stages: `local-tag` (unsigned, for the dev build), `fork-ci` (master to the
//! release manager's fork, so its CI runs), `signed-tag` (the release key's OpenPGP tag,
//! verified right after), `push-tag` (master and the tag to the project), and `lab-sync`
//! (the device types handed to lava-lab for review).
//!
//! Every check reads the truth from the repositories themselves: the tag object and its
//! signature, the refs a remote advertises, the review ref's tree.

use anyhow::Context as _;
use lava_git::{Credentials, Handover, HandoverState, NewTag, TagRef};

use crate::Context;
use crate::config::Config;
use crate::plan::{Release, Status};
use crate::signing;
use crate::stages::short;

/// What every git stage needs to know.
#[derive(Debug, Clone)]
pub struct GitStage {
    /// The tag's name: the bare version.
    pub tag: String,
    /// The tag's message.
    pub tag_message: String,
    /// The release commit's message (HEAD must be that commit).
    pub release_message: String,
    /// The release branch.
    pub branch: String,
    /// The project's remote (name or URL).
    pub remote: String,
    /// The release manager's fork (name or URL), if any.
    pub fork: Option<String>,
    /// Which of the git stages this is.
    pub kind: GitKind,
}

/// The git stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitKind {
    /// `local-tag`
    LocalTag,
    /// `fork-ci`
    ForkCi,
    /// `signed-tag`
    SignedTag,
    /// `push-tag`
    PushTag,
    /// `lab-sync`
    LabSync,
}

impl GitStage {
    /// The stage `kind` for `release` under `config`.
    pub fn new(config: &Config, release: &Release, kind: GitKind) -> Self {
        let version = release.version.to_string();
        Self {
            tag_message: config.project.tag_message.replace("{version}", &version),
            release_message: config.project.commit_message.replace("{version}", &version),
            branch: config.project.branch.clone(),
            remote: config.project.remote.clone(),
            fork: config.project.fork.clone().filter(|f| !f.is_empty()),
            tag: version,
            kind,
        }
    }

    /// One line saying what `apply` does.
    pub fn describe(&self, config: &Config) -> String {
        match self.kind {
            GitKind::LocalTag => format!(
                "tag the release commit `{}` (unsigned, for the local build)",
                self.tag
            ),
            GitKind::ForkCi => format!(
                "push {} to the fork {} so its CI runs",
                self.branch,
                self.fork.as_deref().unwrap_or("(unset)")
            ),
            GitKind::SignedTag => format!(
                "sign tag `{}` with the release key {} and verify it",
                self.tag, config.signing.release_key
            ),
            GitKind::PushTag => format!(
                "push {} and tag `{}` to {}",
                self.branch, self.tag, self.remote
            ),
            GitKind::LabSync => format!(
                "copy {} to {}:{} and push it to {} for review",
                config.lab.source, config.lab.url, config.lab.dest, config.lab.push_ref
            ),
        }
    }

    /// The release commit: HEAD, once the changelog stage made it.
    fn release_commit(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        let head = ctx.repo.head_id()?;
        Ok((ctx.repo.commit_message(&head)?.trim_end() == self.release_message).then_some(head))
    }

    fn need_release_commit(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        self.release_commit(ctx)?.ok_or_else(|| {
            anyhow::anyhow!(
                "HEAD of {} is not the release commit `{}`; run the changelog stage first",
                ctx.repo.workdir().display(),
                self.release_message
            )
        })
    }

    /// Read-only observation.
    pub fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        match self.kind {
            GitKind::LocalTag => self.check_local_tag(ctx),
            GitKind::SignedTag => self.check_signed_tag(ctx),
            GitKind::ForkCi => self.check_pushed(ctx, self.fork_remote()?, false),
            GitKind::PushTag => self.check_pushed(ctx, &self.remote, true),
            GitKind::LabSync => check_lab(ctx, &self.tag),
        }
    }

    /// Does the stage.
    pub fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let commit = self.need_release_commit(ctx)?;
        match self.kind {
            GitKind::LocalTag => {
                let id = ctx.repo.create_tag(
                    &NewTag {
                        name: &self.tag,
                        commit: &commit,
                        message: &self.tag_message,
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
            GitKind::SignedTag => self.apply_signed_tag(ctx, &commit),
            GitKind::ForkCi => {
                let remote = self.fork_remote()?;
                let spec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
                ctx.repo.push(remote, &[spec.as_str()], &credentials(ctx))?;
                Ok(format!("{remote} {} at {}", self.branch, short(&commit)))
            }
            GitKind::PushTag => {
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
            GitKind::LabSync => apply_lab(ctx, &self.tag),
        }
    }

    fn fork_remote(&self) -> anyhow::Result<&str> {
        self.fork
            .as_deref()
            .context("project.fork is not set in release.toml")
    }

    fn check_local_tag(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let commit = self.release_commit(ctx)?;
        Ok(match (ctx.repo.read_tag(&self.tag)?, commit) {
            (None, _) => Status::todo(),
            (Some(tag), Some(commit)) if tag.commit() == commit => Status::Done {
                evidence: format!("tag {} at {}", self.tag, short(&commit)),
            },
            (Some(tag), _) => Status::Blocked {
                reason: format!(
                    "tag `{}` already exists at {}, not at the release commit; it is never moved",
                    self.tag,
                    short(tag.commit())
                ),
            },
        })
    }

    fn check_signed_tag(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let commit = self.release_commit(ctx)?;
        let Some(tag) = ctx.repo.read_tag(&self.tag)? else {
            return Ok(Status::todo());
        };
        if commit.as_deref() != Some(tag.commit()) {
            return Ok(Status::Blocked {
                reason: format!(
                    "tag `{}` already exists at {}, not at the release commit; it is never moved",
                    self.tag,
                    short(tag.commit())
                ),
            });
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

    fn apply_signed_tag(&self, ctx: &Context<'_>, commit: &str) -> anyhow::Result<String> {
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
                commit,
                message: &self.tag_message,
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

    fn check_pushed(
        &self,
        ctx: &Context<'_>,
        remote: &str,
        with_tag: bool,
    ) -> anyhow::Result<Status> {
        let Some(commit) = self.release_commit(ctx)? else {
            return Ok(Status::todo());
        };
        let refs = ctx.repo.remote_refs(remote, &credentials(ctx))?;
        let find = |name: &str| {
            refs.iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| id.as_str())
        };
        let branch_ref = format!("refs/heads/{}", self.branch);
        let branch_ok = match find(&branch_ref) {
            Some(id) => id == commit || ctx.repo.is_ancestor(&commit, id)?,
            None => false,
        };
        if !with_tag {
            return Ok(if branch_ok {
                Status::Done {
                    evidence: format!("{remote} {} contains {}", self.branch, short(&commit)),
                }
            } else {
                Status::todo()
            });
        }
        let local = match ctx.repo.read_tag(&self.tag)? {
            Some(TagRef::Annotated(t)) => t.id,
            Some(TagRef::Lightweight { commit }) => commit,
            None => String::new(),
        };
        match find(&format!("refs/tags/{}", self.tag)) {
            Some(id) if id == local && branch_ok => Ok(Status::Done {
                evidence: format!(
                    "{remote} has tag {} ({}) and {} at {}",
                    self.tag,
                    short(id),
                    self.branch,
                    short(&commit)
                ),
            }),
            Some(id) if id != local => Ok(Status::Blocked {
                reason: format!(
                    "{remote} already has a different tag `{}` ({}); it is never overwritten",
                    self.tag,
                    short(id)
                ),
            }),
            Some(_) => Ok(Status::ToDo {
                detail: Some(format!("the tag is there, {} is not", self.branch)),
            }),
            None => Ok(Status::todo()),
        }
    }
}

/// Push credentials from the configuration and the environment.
pub fn credentials(ctx: &Context<'_>) -> Credentials {
    let git = &ctx.config.git;
    Credentials {
        ssh_user: git.ssh_user.clone(),
        ssh_key: git.ssh_key.clone(),
        ssh_key_passphrase: git
            .ssh_key_passphrase_env
            .as_deref()
            .and_then(|v| ctx.env.var(v))
            .map(str::to_owned),
        token: git
            .token_env
            .as_deref()
            .and_then(|v| ctx.env.var(v))
            .map(str::to_owned),
    }
}

fn handover<'a>(
    ctx: &'a Context<'_>,
    tag: &str,
    source_dir: &'a std::path::Path,
    clone_dir: &'a std::path::Path,
    creds: &'a Credentials,
    strings: &'a (String, String, String, String),
) -> Handover<'a> {
    let _ = tag;
    let lab = &ctx.config.lab;
    Handover {
        url: &lab.url,
        base: &lab.base,
        source_dir,
        dest_dir: &lab.dest,
        branch: &strings.0,
        push_ref: &lab.push_ref,
        message: &strings.1,
        author: (&strings.2, &strings.3),
        clone_dir,
        creds,
    }
}

fn lab_strings(
    ctx: &Context<'_>,
    version: &str,
) -> anyhow::Result<(String, String, String, String)> {
    let (name, email) = ctx.repo.user_identity()?;
    let lab = &ctx.config.lab;
    Ok((
        lab.branch.replace("{version}", version),
        lab.message.replace("{version}", version),
        name.context("git's user.name is not set; lab-sync commits as the release manager")?,
        email.context("git's user.email is not set; lab-sync commits as the release manager")?,
    ))
}

fn check_lab(ctx: &Context<'_>, version: &str) -> anyhow::Result<Status> {
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let source = ctx.repo.workdir().join(&ctx.config.lab.source);
    let creds = credentials(ctx);
    let strings = lab_strings(ctx, version)?;
    let clone = scratch.path().join("lava-lab");
    let h = handover(ctx, version, &source, &clone, &creds, &strings);
    Ok(match lava_git::handover_state(&h)? {
        HandoverState::Present { reference, commit } => Status::Done {
            evidence: format!("{reference} at {} has the device types", short(&commit)),
        },
        HandoverState::Missing(files) => Status::ToDo {
            detail: Some(format!("{} file(s) to hand over", files.len())),
        },
    })
}

fn apply_lab(ctx: &Context<'_>, version: &str) -> anyhow::Result<String> {
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let source = ctx.repo.workdir().join(&ctx.config.lab.source);
    let creds = credentials(ctx);
    let strings = lab_strings(ctx, version)?;
    let clone = scratch.path().join("lava-lab");
    let h = handover(ctx, version, &source, &clone, &creds, &strings);
    match lava_git::handover(&h)? {
        HandoverState::Present { reference, commit } => {
            Ok(format!("{reference} at {}", short(&commit)))
        }
        HandoverState::Missing(files) => {
            anyhow::bail!("{} device type file(s) were not handed over", files.len())
        }
    }
}
