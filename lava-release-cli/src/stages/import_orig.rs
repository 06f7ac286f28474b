//! Stage `import-orig` (`debian.flow = "gbp"`): `gbp import-orig` of the proven upstream
//! tarball in the packaging repository: committed on the upstream branch with the release
//! tag as a parent (`--upstream-vcs-tag`), tagged as `upstream-tag` says, kept in
//! pristine-tar when gbp.conf asks, and merged into the Debian branch.
//!
//! Done when the upstream tag holds what the tarball holds and the Debian branch contains
//! it; an upstream tag holding anything else stops the release, naming both.

use anyhow::Context as _;

use crate::config::Config;
use crate::shared::debian::file_name;
use crate::shared::packaging::{Packaging, orig_path};
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `import-orig` stage.
#[derive(Debug, Clone)]
pub struct ImportOrig {
    version: String,
    remote: String,
}

impl Step for ImportOrig {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if !config.debian.flow.imports() {
            return Err(Absent::new("import-orig", "debian.flow is \"dget\""));
        }
        Ok(Self {
            version: release.version.to_string(),
            remote: crate::shared::packaging::remote_name(config),
        })
    }

    fn name(&self) -> &'static str {
        "import-orig"
    }

    fn describe(&self) -> String {
        format!(
            "`gbp import-orig --upstream-vcs-tag={v}` of the tarball into the packaging repository of {}: the upstream branch, its upstream tag and pristine-tar, merged into the Debian branch",
            self.remote,
            v = self.version
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    /// The packaging remote has the branches, and none moved past the checkout.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        let moved = Packaging::in_context(ctx).and_then(|packaging| {
            let repo = packaging.open()?;
            let layout = packaging.layout(ctx)?;
            let refs = packaging.remote_refs(ctx, repo.as_ref())?;
            packaging.moved(&refs, repo.as_ref(), &layout)
        });
        match moved {
            Ok(problems) => problems,
            Err(e) => vec![crate::error::one_line(&e)],
        }
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let packaging = Packaging::in_context(ctx)?;
        let Some(repo) = packaging.open()? else {
            return Ok(Status::ToDo {
                detail: Some(format!(
                    "clones {} into {} first",
                    packaging.remote,
                    packaging.dir.display()
                )),
            });
        };
        let layout = packaging.layout(ctx)?;
        let tag = layout.upstream_tag(&self.version);
        let Some(upstream) = repo.resolve_commit(&format!("refs/tags/{tag}"))? else {
            return Ok(Status::todo());
        };
        let orig = orig_path(ctx);
        if let Err(e) = lava_debian::check_orig(&orig, repo.git_dir(), &tag) {
            return Ok(Status::Blocked {
                reason: format!(
                    "{} already has `{tag}` ({}), and it is not the release's tarball: {}",
                    packaging.dir.display(),
                    short(&upstream),
                    crate::error::one_line(&anyhow::Error::from(e))
                ),
            });
        }
        let branch = format!("refs/heads/{}", layout.debian_branch);
        let Some(debian) = repo.resolve_commit(&branch)? else {
            return Ok(Status::Blocked {
                reason: format!(
                    "{} has no branch `{}`",
                    packaging.dir.display(),
                    layout.debian_branch
                ),
            });
        };
        if !repo.is_ancestor(&upstream, &debian)? {
            return Ok(Status::Blocked {
                reason: format!(
                    "`{tag}` ({}) is not merged into `{}` of {}: the import stopped half-way; merge it, then run again",
                    short(&upstream),
                    layout.debian_branch,
                    packaging.dir.display()
                ),
            });
        }
        Ok(Status::Done {
            evidence: format!(
                "`{tag}` ({}) holds {} and is merged into `{}`",
                short(&upstream),
                file_name(&orig),
                layout.debian_branch
            ),
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let layout = packaging.layout(ctx)?;
        let repo = packaging.prepare(ctx, &layout, &self.version)?;
        // gbp reads the checkout's own gbp.conf from here on.
        let layout = crate::shared::packaging::Layout::read(repo.workdir(), repo.git_dir(), ctx)?;
        let refs = packaging.remote_refs(ctx, Some(&repo))?;
        let problems = packaging.moved(&refs, Some(&repo), &layout)?;
        anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
        let on = repo.head_branch()?;
        anyhow::ensure!(
            on.as_deref() == Some(layout.debian_branch.as_str()),
            "{} is on {}, not on the Debian branch `{}`; check it out, then run again",
            packaging.dir.display(),
            on.map_or("a detached HEAD".to_owned(), |b| format!("`{b}`")),
            layout.debian_branch
        );
        let dirty = repo.dirty_paths()?;
        anyhow::ensure!(
            dirty.is_empty(),
            "{} has uncommitted changes ({}); commit or stash them, then run again",
            packaging.dir.display(),
            dirty.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        );
        let orig = orig_path(ctx);
        lava_debian::import_orig(&lava_debian::ImportOrig {
            dir: packaging.dir.clone(),
            tarball: orig.clone(),
            version: self.version.clone(),
            upstream_vcs_tag: self.version.clone(),
            pristine_tar: Some(layout.pristine_tar),
        })
        .with_context(|| {
            format!(
                "cannot import {} into {}",
                file_name(&orig),
                packaging.dir.display()
            )
        })?;
        match self.check(ctx)? {
            Status::Done { evidence } => Ok(evidence),
            other => anyhow::bail!(
                "gbp import-orig ran, but {}",
                other.note().unwrap_or("the import is not seen")
            ),
        }
    }
}
