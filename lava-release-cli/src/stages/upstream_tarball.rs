//! Stage `upstream-tarball` (`debian.flow = "gbp"`): the release tarball of the signed
//! tag, downloaded from GitLab (its archive of the tag, or `debian.archive_url`) and proven
//! to be the tag: every path and every file's bytes equal `git archive TAG`. It takes its
//! Debian name, `SOURCE_VERSION.orig.tar.gz`, only once proven.

use anyhow::Context as _;

use crate::config::Config;
use crate::shared::debian::{file_name, fill};
use crate::shared::packaging::orig_path;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `upstream-tarball` stage.
#[derive(Debug, Clone)]
pub struct UpstreamTarball {
    tag: String,
    url: Option<String>,
}

impl Step for UpstreamTarball {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if !config.debian.flow.imports() {
            return Err(Absent::new("upstream-tarball", "debian.flow is \"dget\""));
        }
        Ok(Self {
            tag: release.version.to_string(),
            url: config.debian.archive_url.as_ref().map(|u| fill(u, release)),
        })
    }

    fn name(&self) -> &'static str {
        "upstream-tarball"
    }

    fn describe(&self) -> String {
        format!(
            "download the tarball of tag {} from {} and prove it is `git archive {}`",
            self.tag,
            self.url.as_deref().unwrap_or("GitLab's repository archive"),
            self.tag
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::TagPushed]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let orig = orig_path(ctx);
        if !orig.exists() {
            return Ok(Status::todo());
        }
        Ok(
            match lava_debian::check_orig(&orig, ctx.repo.git_dir(), &self.tag) {
                Ok(matched) => Status::Done {
                    evidence: format!(
                        "{} holds the {} files of tag {}",
                        file_name(&orig),
                        matched.members,
                        self.tag
                    ),
                },
                Err(e) => Status::Blocked {
                    reason: crate::error::one_line(&anyhow::Error::from(e)),
                },
            },
        )
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let orig = orig_path(ctx);
        let dir = orig.parent().expect("the orig tarball has a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let part = dir.join(format!("{}.part", file_name(&orig)));
        let (size, from) = match &self.url {
            Some(url) => (lava_debian::download(url, &part, &ctx.meter)?, url.clone()),
            None => {
                let gitlab = crate::shared::gitlab::client(ctx)?;
                let size = gitlab.download_archive(&self.tag, &part)?;
                (size, format!("GitLab's archive of tag {}", self.tag))
            }
        };
        let proven = lava_debian::check_orig(&part, ctx.repo.git_dir(), &self.tag);
        let matched = match proven {
            Ok(matched) => matched,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                if let lava_debian::Error::OrigDiffers { path, why, .. } = &e {
                    anyhow::bail!(
                        "the tarball of {from} is not `git archive {}`: `{path}` {why}; it was not kept",
                        self.tag
                    );
                }
                return Err(
                    anyhow::Error::from(e).context(format!("the tarball of {from} is refused"))
                );
            }
        };
        std::fs::rename(&part, &orig)
            .with_context(|| format!("cannot rename {} to {}", part.display(), orig.display()))?;
        Ok(format!(
            "{} ({size} bytes, under {}) holds the {} files of tag {}",
            file_name(&orig),
            matched.prefix,
            matched.members,
            self.tag
        ))
    }
}
