//! Stage `docker-publish` (unless `docker.enabled` is false): the CI's per-arch images
//! copied to Docker Hub as `VERSION` and `latest`, and the multi-arch manifest lists
//! over them, through lava-docker. The sources are the digests the consistency record
//! pinned, never CI's tags as they are now.

use anyhow::Context as _;
use lava_docker::{ImageSet, Promoter};

use crate::config::Config;
use crate::consistency::Record;
use crate::shared::docker::promoter;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `docker-publish` stage.
#[derive(Debug, Clone)]
pub struct DockerPublish {
    version: String,
    description: String,
}

impl Step for DockerPublish {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let d = &config.docker;
        if !d.enabled {
            return Err(Absent::new("docker-publish", "docker.enabled is false"));
        }
        let latest = if d.latest { " and latest" } else { "" };
        Ok(Self {
            version: release.version.to_string(),
            description: format!(
                "copy {} for {} from {} to {} as {}{latest}, with manifest lists {}",
                d.images.join(", "),
                d.arches.join(", "),
                d.source,
                d.target,
                release.version,
                d.list
            ),
        })
    }

    fn name(&self) -> &'static str {
        "docker-publish"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    /// The registry credentials may push to every target repository (nothing
    /// written), unless the images are published already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        let outcome = crate::shared::docker::promoter(ctx)
            .and_then(|(promoter, set)| Ok(promoter.check_push_access(&set)?));
        match outcome {
            Ok(()) => Vec::new(),
            Err(e) => vec![crate::error::one_line(&e)],
        }
    }

    /// Read-only: which target tags are already at the pinned digests.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some((promoter, set)) = pinned_promoter(ctx)? else {
            return Ok(Status::ToDo {
                detail: Some("the consistency record does not pin the images yet".into()),
            });
        };
        let promotion = promoter.check(&set)?;
        let tags = promotion.tags.len();
        Ok(if promotion.is_done() {
            Status::Done {
                evidence: format!("{tags} tags at the source digests for {}", self.version),
            }
        } else {
            Status::ToDo {
                detail: Some(format!(
                    "{} of {tags} tags to move",
                    promotion.moves().count()
                )),
            }
        })
    }

    /// Promotes the images; `latest` moves last, after the version tags verify.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let (promoter, set) = pinned_promoter(ctx)?.with_context(|| {
            format!(
                "there is no consistency record for {}; run the consistency stage first",
                self.version
            )
        })?;
        // The version tags first, as their own promotion: a crash between them and
        // `latest` leaves `latest` where it was, and the re-run moves only `latest`.
        if set.latest {
            let versions_only = lava_docker::ImageSet {
                latest: false,
                ..set.clone()
            };
            promoter.apply(&versions_only)?;
            ctx.failpoint("docker-publish:version-tags");
        }
        let report = promoter.apply(&set)?;
        Ok(format!(
            "{} tag(s) moved, {} unchanged, {} verified ({} blobs copied, {} mounted)",
            report.moved.len(),
            report.unchanged.len(),
            report.verified.len(),
            report.blobs_copied,
            report.blobs_mounted
        ))
    }
}

/// The promoter and the image set, each source pinned to the digest the consistency
/// record holds: a tag CI moves afterwards does not change what is published. `None`
/// before the record exists; a source the record does not pin is an error.
fn pinned_promoter(ctx: &Context<'_>) -> anyhow::Result<Option<(Promoter, ImageSet)>> {
    let Some(record) = Record::load(ctx)? else {
        return Ok(None);
    };
    let (promoter, mut set) = promoter(ctx)?;
    for arch in set.groups.iter_mut().flat_map(|g| g.arches.iter_mut()) {
        let source = arch.source.to_string();
        let pin = record
            .images
            .iter()
            .find(|p| p.source == source)
            .with_context(|| {
                format!(
                    "the consistency record does not pin {source}; run the consistency stage again"
                )
            })?;
        arch.source.digest =
            Some(lava_docker::Digest::parse(&pin.digest).with_context(|| {
                format!("the consistency record pins {source} to a bad digest")
            })?);
    }
    Ok(Some((promoter, set)))
}
