//! Stage `debian-tag2upload` (`debian.flow = "tag2upload"`): instead of building, signing
//! and uploading, one signed tag that asks Debian's tag2upload service to do it
//! (tag2upload(5)), made as `git debpush` makes it on the packaging repository's Debian
//! branch, after the checks `git debpush` makes (each one sentence naming the check, the
//! ref and the value; `run --force=CHECK` skips one, never all), then pushed with the
//! branch and the upstream tag to the packaging remote, never forced.

use lava_debian::tag2upload::{self, TagMessage};
use lava_git::{NewTag, TagRef};

use crate::config::{Config, DebianFlow};
use crate::entry::CHANGELOG;
use crate::shared::packaging::{Layout, Packaging, dd_keyring};
use crate::step::{Absent, Context, Credential, Need, Status, Step, short};
use crate::version::Release;

/// The checks lava-release makes that `--force` cannot skip: tag2upload cannot do
/// them, or the release would not be the one the project signed.
const UNFORCEABLE: &[&str] = &["new-binary", "upstream-version", "tag-elsewhere"];

/// Inputs of the `debian-tag2upload` stage.
#[derive(Debug, Clone)]
pub struct DebianTag2upload {
    source: String,
    version: String,
    debian_version: String,
    remote: String,
}

impl Step for DebianTag2upload {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if config.debian.flow != DebianFlow::Tag2upload {
            return Err(Absent::new(
                "debian-tag2upload",
                format!("debian.flow is \"{}\"", config.debian.flow.name()),
            ));
        }
        Ok(Self {
            source: config.repo.source.clone(),
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            remote: crate::shared::packaging::remote_name(config),
        })
    }

    fn name(&self) -> &'static str {
        "debian-tag2upload"
    }

    fn describe(&self) -> String {
        format!(
            "tag the Debian branch `{}` for tag2upload (`[dgit please-upload source={} version={}]`), signed with the Debian Developer's key, and push it with the branch and the upstream tag to {}; tag2upload cannot upload to NEW",
            lava_changelog::debian_tag(&self.debian_version),
            self.source,
            self.debian_version,
            self.remote
        )
    }

    /// The push makes tag2upload upload to Debian.
    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::DebianKey]
    }

    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::shared::packaging::push_ready(ctx, self.check(ctx))
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.open()?;
        let layout = packaging.layout(ctx)?;
        let theirs = packaging.remote_refs(ctx, repo.as_ref())?;
        if let Some(reason) = packaging
            .moved(&theirs, repo.as_ref(), &layout)?
            .into_iter()
            .next()
        {
            return Ok(Status::Blocked { reason });
        }
        let Some(repo) = repo else {
            return Ok(Status::ToDo {
                detail: Some("after import-orig".into()),
            });
        };
        let name = self.tag_name();
        let remote_tag = theirs
            .iter()
            .find(|(n, _)| *n == format!("refs/tags/{name}"))
            .map(|(_, id)| id.clone());
        let local = repo.read_tag(&name)?;
        let local_id = local.as_ref().map(|t| match t {
            TagRef::Annotated(t) => t.id.clone(),
            TagRef::Lightweight { commit } => commit.clone(),
        });
        match (&remote_tag, &local_id) {
            (Some(remote), Some(local)) if remote == local => {
                return Ok(Status::Done {
                    evidence: format!("{} has tag {name} ({})", packaging.remote, short(remote)),
                });
            }
            (Some(remote), _) => {
                return Ok(Status::Blocked {
                    reason: format!(
                        "{} already has tag `{name}` at {}{}; a tag is never moved (tag-elsewhere check)",
                        packaging.remote,
                        short(remote),
                        local_id.as_deref().map_or_else(String::new, |l| format!(
                            ", not {} as {} has it",
                            short(l),
                            packaging.dir.display()
                        ))
                    ),
                });
            }
            _ => {}
        }
        // Pushing the tag is the upload: a freeze holds it back as it holds an upload.
        if let Some(reason) = crate::shared::debian::frozen(ctx)?.filter(|_| !ctx.yes) {
            return Ok(Status::Blocked { reason });
        }
        if let Some(tag) = &local {
            let branch = repo.resolve_commit(&format!("refs/heads/{}", layout.debian_branch))?;
            if branch.as_deref() != Some(tag.commit()) {
                return Ok(Status::Blocked {
                    reason: format!(
                        "tag `{name}` already exists in {} at {}, not at `{}` ({}); a tag is never moved (tag-elsewhere check)",
                        packaging.dir.display(),
                        short(tag.commit()),
                        layout.debian_branch,
                        branch.as_deref().map_or("absent", short)
                    ),
                });
            }
            return Ok(Status::ToDo {
                detail: Some(format!("tag {name} made; to push")),
            });
        }
        Ok(Status::todo())
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.need()?;
        let layout = packaging.layout(ctx)?;
        let name = self.tag_name();
        if let Some(reason) = crate::shared::debian::frozen(ctx)? {
            anyhow::ensure!(ctx.yes, "{reason}");
            eprintln!("warning: {reason}");
        }
        let (message, commit) = self.message(ctx, &repo, &layout)?;
        if repo.read_tag(&name)?.is_none() {
            let refusals = self.refusals(ctx, &repo, &layout, &message)?;
            if let Some(first) = refusals.first() {
                let more = match refusals.len() {
                    1 => String::new(),
                    n => format!(
                        " (and {} more check(s) failed: {})",
                        n - 1,
                        refusals[1..]
                            .iter()
                            .map(|r| r.check)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                anyhow::bail!(
                    "{} ({} check){more}; nothing was tagged",
                    first.message,
                    first.check
                );
            }
            let signer = ctx.debian_signer()?;
            let sign = |payload: &[u8]| -> Result<String, lava_git::Source> {
                signer.sign_detached_armored(payload).map_err(Into::into)
            };
            repo.create_tag(
                &NewTag {
                    name: &name,
                    commit: &commit,
                    message: &message.render(),
                    replaces: None,
                    tagger: None,
                },
                Some(&sign),
            )?;
        }
        let Some(TagRef::Annotated(tag)) = repo.read_tag(&name)? else {
            anyhow::bail!(
                "tag `{name}` in {} is not an annotated tag",
                packaging.dir.display()
            );
        };
        let fpr = lava_signing::verify_detached(
            &tag.payload,
            tag.signature.as_deref().unwrap_or_default(),
            &dd_keyring(ctx)?,
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "tag `{name}` in {} is not validly signed by the Debian Developer's key: {e}",
                packaging.dir.display()
            )
        })?;
        let mut refspecs = vec![format!(
            "refs/heads/{b}:refs/heads/{b}",
            b = layout.debian_branch
        )];
        if let Some((upstream, _)) = &message.upstream {
            refspecs.push(format!("refs/tags/{upstream}:refs/tags/{upstream}"));
        }
        refspecs.push(format!("refs/tags/{name}:refs/tags/{name}"));
        let refspecs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
        repo.push(
            &packaging.remote,
            &refspecs,
            &crate::shared::git::network(ctx),
        )?;
        Ok(format!(
            "tag {name} ({}) signed by {fpr} pushed to {} with `{}`",
            short(&tag.id),
            packaging.remote,
            layout.debian_branch
        ))
    }
}

impl DebianTag2upload {
    /// `debian/VERSION`, DEP-14 mangled, as `git debpush` and `gbp tag` name it.
    fn tag_name(&self) -> String {
        lava_changelog::debian_tag(&self.debian_version)
    }

    /// What the tag will say, and the commit it tags: the Debian branch's head.
    fn message(
        &self,
        ctx: &Context<'_>,
        repo: &lava_git::Repository,
        layout: &Layout,
    ) -> anyhow::Result<(TagMessage, String)> {
        let commit = repo
            .resolve_commit(&format!("refs/heads/{}", layout.debian_branch))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no branch `{}`",
                    repo.workdir().display(),
                    layout.debian_branch
                )
            })?;
        let text = repo
            .file_at(&commit, CHANGELOG)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let top = lava_changelog::parse_top(&text)?;
        let format = repo
            .file_at(&commit, "debian/source/format")?
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        let native = format == "3.0 (native)";
        let (quilt, upstream) = if native {
            (None, None)
        } else {
            let quilt = match &ctx.config.debian.quilt {
                Some(mode) => mode.clone(),
                None => self.previous_quilt(repo, &commit)?.ok_or_else(|| {
                    crate::error::UsageError(format!(
                        "no earlier tag2upload tag on `{}` names a quilt mode; set debian.quilt (LAVA's DEP-14 layout is \"gbp\")",
                        layout.debian_branch
                    ))
                })?,
            };
            anyhow::ensure!(
                tag2upload::QUILT_MODES.contains(&quilt.as_str()),
                crate::error::UsageError(format!(
                    "debian.quilt `{quilt}` is not a quilt mode tag2upload knows ({})",
                    tag2upload::QUILT_MODES.join(", ")
                ))
            );
            let tag = layout.upstream_tag(&self.version);
            let upstream = repo
                .resolve_commit(&format!("refs/tags/{tag}"))?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no upstream tag `{tag}`; run import-orig first",
                        repo.workdir().display()
                    )
                })?;
            (Some(quilt), Some((tag, upstream)))
        };
        Ok((
            TagMessage {
                source: top.source,
                version: top.version,
                target: top.distribution,
                distro: "debian".into(),
                quilt,
                upstream,
            },
            commit,
        ))
    }

    /// The quilt mode of the newest earlier `debian/*` tag on the branch that says one.
    fn previous_quilt(
        &self,
        repo: &lava_git::Repository,
        commit: &str,
    ) -> anyhow::Result<Option<String>> {
        for tag in self.earlier_tags(repo, commit)? {
            if let Some(TagRef::Annotated(t)) = repo.read_tag(&tag)? {
                if let Some(mode) = tag2upload::quilt_of(&t.message) {
                    return Ok(Some(mode));
                }
            }
        }
        Ok(None)
    }

    /// The `debian/*` tags of earlier Debian versions that `commit` contains, newest
    /// version first.
    fn earlier_tags(
        &self,
        repo: &lava_git::Repository,
        commit: &str,
    ) -> anyhow::Result<Vec<String>> {
        let mine = self.tag_name();
        let mut tags = Vec::new();
        for tag in repo.tag_names("debian/")? {
            let Ok(version) = tag
                .trim_start_matches("debian/")
                .replace('%', ":")
                .replace('_', "~")
                .parse::<debversion::Version>()
            else {
                continue;
            };
            let Some(tagged) = repo.resolve_commit(&format!("refs/tags/{tag}"))? else {
                continue;
            };
            if tag != mine && repo.is_ancestor(&tagged, commit)? {
                tags.push((version, tag));
            }
        }
        tags.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(tags.into_iter().map(|(_, tag)| tag).collect())
    }

    /// Every check that stops the tag, those `--force` names left out.
    fn refusals(
        &self,
        ctx: &Context<'_>,
        repo: &lava_git::Repository,
        layout: &Layout,
        message: &TagMessage,
    ) -> anyhow::Result<Vec<tag2upload::Refusal>> {
        let head = repo.head_branch()?;
        let mut refusals = tag2upload::check(&tag2upload::Checks {
            git_dir: repo.git_dir(),
            branch: &layout.debian_branch,
            head_branch: head.as_deref(),
            suite: &ctx.config.changelog.distribution,
            message,
            release_tag: Some(&self.version),
        })?;
        // The Debian version is the release's.
        let want = ctx.release.debian_version.to_string();
        if message.version != want {
            refusals.push(tag2upload::Refusal {
                check: "upstream-version",
                message: format!(
                    "debian/changelog on `{}` is version {}, not the release's {want}",
                    layout.debian_branch, message.version
                ),
            });
        }
        // tag2upload cannot upload to NEW.
        let commit = repo
            .resolve_commit(&format!("refs/heads/{}", layout.debian_branch))?
            .unwrap_or_default();
        let previous = self.earlier_tags(repo, &commit)?.into_iter().next();
        if let Some(tag) = previous {
            let old = repo
                .resolve_commit(&format!("refs/tags/{tag}"))?
                .unwrap_or_default();
            let packages = |id: &str| -> anyhow::Result<Vec<String>> {
                Ok(repo
                    .file_at(id, "debian/control")?
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.strip_prefix("Package:").map(|p| p.trim().to_owned()))
                    .collect())
            };
            let before = packages(&old)?;
            let new: Vec<String> = packages(&commit)?
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect();
            if !new.is_empty() {
                refusals.push(tag2upload::Refusal {
                    check: "new-binary",
                    message: format!(
                        "debian/control on `{}` adds the binary package(s) {} since {tag}, which go through NEW, and tag2upload cannot upload to NEW; use debian.flow = \"gbp\" for this upload",
                        layout.debian_branch,
                        new.join(", ")
                    ),
                });
            }
        }
        let forced = &ctx.config.debian.force;
        Ok(refusals
            .into_iter()
            .filter(|r| UNFORCEABLE.contains(&r.check) || !forced.iter().any(|f| f == r.check))
            .collect())
    }
}
