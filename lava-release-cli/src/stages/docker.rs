//! Stage `docker-publish`: the CI's per-arch images copied to Docker Hub as `VERSION`
//! and `latest`, and the multi-arch manifest lists over them, through lava-docker.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_docker::{CredentialStore, ImagesConfig, Options, Promoter, Transport};

use crate::Context;
use crate::config::{Config, DockerTransport};
use crate::plan::{Action, Release, Stage, Status};

/// The `docker-publish` stage's inputs.
#[derive(Debug, Clone)]
pub struct DockerStage {
    /// The version tag.
    pub version: String,
}

/// `docker-publish`, unless `docker.enabled` is false.
pub fn stage(config: &Config, release: &Release) -> Option<Stage> {
    let d = &config.docker;
    if !d.enabled {
        return None;
    }
    let latest = if d.latest { " and latest" } else { "" };
    Some(Stage {
        name: "docker-publish",
        description: format!(
            "copy {} for {} from {} to {} as {}{latest}, with manifest lists {}",
            d.images.join(", "),
            d.arches.join(", "),
            d.source,
            d.target,
            release.version,
            d.list
        ),
        irreversible: true,
        check_only: false,
        action: Action::Docker(DockerStage {
            version: release.version.to_string(),
        }),
    })
}

/// The promoter and the image set of this release, the sources by their tags.
pub(crate) fn promoter(ctx: &Context<'_>) -> anyhow::Result<(Promoter, lava_docker::ImageSet)> {
    let d = &ctx.config.docker;
    let images = ImagesConfig {
        images: d.images.clone(),
        arches: d.arches.clone(),
        source: d.source.clone(),
        target: d.target.clone(),
        list: d.list.clone(),
        latest: d.latest,
    };
    let version = ctx.release.version.to_string();
    let set = images
        .expand(&version)
        .with_context(|| format!("the [docker] image templates do not expand for {version}"))?;
    let config_path = d.docker_config.clone().or_else(|| {
        match (ctx.env.var("DOCKER_CONFIG"), ctx.env.var("HOME")) {
            (Some(dir), _) => Some(PathBuf::from(dir).join("config.json")),
            (None, Some(home)) => Some(PathBuf::from(home).join(".docker/config.json")),
            (None, None) => None,
        }
    });
    let credentials = match &config_path {
        Some(path) => CredentialStore::from_docker_config(path)
            .with_context(|| format!("cannot read Docker credentials from {}", path.display()))?,
        None => CredentialStore::new(),
    };
    let transport = match d.transport {
        DockerTransport::Registry => Transport::Registry,
        DockerTransport::Engine => Transport::Engine {
            socket: d.socket.clone(),
        },
    };
    let options = Options {
        transport,
        credentials,
        plain_http: d.plain_http.clone(),
        concurrency: d.concurrency.max(1),
        ..Options::default()
    };
    Ok((Promoter::new(options)?, set))
}

/// The promoter and the image set, each source pinned to the digest the
/// `consistency` stage checked, when it has run: a tag CI moves afterwards does not
/// change what is published.
fn pinned_promoter(ctx: &Context<'_>) -> anyhow::Result<(Promoter, lava_docker::ImageSet)> {
    let (promoter, mut set) = promoter(ctx)?;
    if let Some(record) = crate::stages::gate::Record::load(ctx)? {
        for arch in set.groups.iter_mut().flat_map(|g| g.arches.iter_mut()) {
            let source = arch.source.to_string();
            if let Some(pin) = record.images.iter().find(|p| p.source == source) {
                arch.source.digest =
                    Some(lava_docker::Digest::parse(&pin.digest).with_context(|| {
                        format!("the consistency record pins {source} to a bad digest")
                    })?);
            }
        }
    }
    Ok((promoter, set))
}

impl DockerStage {
    /// Read-only: which target tags are already at the right digest.
    pub fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let (promoter, set) = pinned_promoter(ctx)?;
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
    pub fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let (promoter, set) = pinned_promoter(ctx)?;
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
