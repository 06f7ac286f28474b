//! Stage `debian-push` (`debian.flow = "gbp"`): what `gbp push` sends, to the packaging
//! remote: the Debian branch, the upstream branch, pristine-tar (when gbp.conf keeps it),
//! the upstream tag and the signed Debian tag, in one atomic push, never forced. Done when
//! the remote has every one of them where the packaging repository has it.

use crate::config::{Config, DebianFlow};
use crate::shared::packaging::Packaging;
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `debian-push` stage.
#[derive(Debug, Clone)]
pub struct DebianPush {
    version: String,
    debian_version: String,
    remote: String,
}

/// What the push sends: (local ref, id).
type Refs = Vec<(String, String)>;

impl Step for DebianPush {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if config.debian.flow != DebianFlow::Gbp {
            return Err(Absent::new(
                "debian-push",
                format!("debian.flow is \"{}\"", config.debian.flow.name()),
            ));
        }
        Ok(Self {
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            remote: crate::shared::packaging::remote_name(config),
        })
    }

    fn name(&self) -> &'static str {
        "debian-push"
    }

    fn describe(&self) -> String {
        format!(
            "push the Debian and upstream branches, pristine-tar, `{}` and the upstream tag to {}, never forced",
            lava_changelog::debian_tag(&self.debian_version),
            self.remote
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        crate::shared::packaging::push_ready(ctx, self.check(ctx))
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.open()?;
        let layout = packaging.layout(ctx)?;
        let theirs = packaging.remote_refs(ctx, repo.as_ref())?;
        let moved = packaging.moved(&theirs, repo.as_ref(), &layout)?;
        if let Some(reason) = moved.into_iter().next() {
            return Ok(Status::Blocked { reason });
        }
        let Some(repo) = repo else {
            return Ok(Status::ToDo {
                detail: Some("after import-orig".into()),
            });
        };
        let Some(wanted) = self.refs(&repo, &layout)? else {
            return Ok(Status::ToDo {
                detail: Some("after debian-tag".into()),
            });
        };
        let mut missing = Vec::new();
        for (name, id) in &wanted {
            match theirs.iter().find(|(n, _)| n == name) {
                Some((_, remote)) if remote == id => {}
                Some((_, remote)) if name.starts_with("refs/tags/") => {
                    return Ok(Status::Blocked {
                        reason: format!(
                            "{} has `{}` at {}, not at {} as {} has it; a tag is never moved",
                            packaging.remote,
                            name.trim_start_matches("refs/tags/"),
                            short(remote),
                            short(id),
                            packaging.dir.display()
                        ),
                    });
                }
                _ => missing.push(
                    name.trim_start_matches("refs/heads/")
                        .trim_start_matches("refs/tags/"),
                ),
            }
        }
        if missing.is_empty() {
            return Ok(Status::Done {
                evidence: format!(
                    "{} has {}",
                    packaging.remote,
                    wanted
                        .iter()
                        .map(|(n, id)| format!(
                            "{} {}",
                            n.trim_start_matches("refs/heads/")
                                .trim_start_matches("refs/tags/"),
                            short(id)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(Status::ToDo {
            detail: Some(format!("to push: {}", missing.join(", "))),
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.need()?;
        let layout = packaging.layout(ctx)?;
        let wanted = self.refs(&repo, &layout)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no `{}` yet; run debian-tag first",
                packaging.dir.display(),
                layout.debian_tag(&self.debian_version)
            )
        })?;
        let refspecs: Vec<String> = wanted.iter().map(|(n, _)| format!("{n}:{n}")).collect();
        let refspecs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
        repo.push(
            &packaging.remote,
            &refspecs,
            &crate::shared::git::network(ctx),
        )?;
        match self.check(ctx)? {
            Status::Done { evidence } => Ok(evidence),
            other => anyhow::bail!(
                "the push went through, but {}",
                other.note().unwrap_or("the remote does not show it")
            ),
        }
    }
}

impl DebianPush {
    /// The refs to push with their ids (a tag's is its tag object's), or `None` while the
    /// Debian tag is not made.
    fn refs(
        &self,
        repo: &lava_git::Repository,
        layout: &crate::shared::packaging::Layout,
    ) -> anyhow::Result<Option<Refs>> {
        let mut refs = Vec::new();
        for branch in layout.branches() {
            let name = format!("refs/heads/{branch}");
            match repo.resolve_commit(&name)? {
                Some(id) => refs.push((name, id)),
                None => return Ok(None),
            }
        }
        for tag in [
            layout.upstream_tag(&self.version),
            layout.debian_tag(&self.debian_version),
        ] {
            match repo.read_tag(&tag)? {
                Some(lava_git::TagRef::Annotated(t)) => {
                    refs.push((format!("refs/tags/{tag}"), t.id))
                }
                Some(lava_git::TagRef::Lightweight { commit }) => {
                    refs.push((format!("refs/tags/{tag}"), commit));
                }
                None => return Ok(None),
            }
        }
        Ok(Some(refs))
    }
}
