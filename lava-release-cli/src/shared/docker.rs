//! The Docker promoter and this release's image set, as `[docker]` describes them:
//! shared by the consistency stage (which pins CI's images) and `docker-publish`.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_docker::{CredentialStore, Options, Promoter, Transport};

use crate::config::DockerTransport;
use crate::step::Context;

/// The promoter and the image set of this release, the sources by their tags.
pub fn promoter(ctx: &Context<'_>) -> anyhow::Result<(Promoter, lava_docker::ImageSet)> {
    promoter_for(
        ctx.config,
        ctx.env,
        &ctx.release.version.to_string(),
        ctx.meter.clone(),
    )
}

/// The promoter and the image set of release `version`, with no repository: how
/// `verify-release` reads the published images (anonymously, unless the Docker
/// configuration holds credentials).
pub fn promoter_for(
    config: &crate::config::Config,
    env: &crate::env::Env,
    version: &str,
    meter: lava_io::transfer::Meter,
) -> anyhow::Result<(Promoter, lava_docker::ImageSet)> {
    let d = &config.docker;
    let images = d.images_config();
    let version = version.to_owned();
    let set = images
        .expand(&version)
        .with_context(|| format!("the [docker] image templates do not expand for {version}"))?;
    let config_path =
        d.docker_config
            .clone()
            .or_else(|| match (env.var("DOCKER_CONFIG"), env.var("HOME")) {
                (Some(dir), _) => Some(PathBuf::from(dir).join("config.json")),
                (None, Some(home)) => Some(PathBuf::from(home).join(".docker/config.json")),
                (None, None) => None,
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
        meter,
        ..Options::default()
    };
    Ok((Promoter::new(options)?, set))
}
