//! The `engine` transport: pull, tag and push through a Docker Engine with bollard, so
//! the release manager's engine keeps the images.

use std::path::Path;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{CreateImageOptions, PushImageOptions, TagImageOptions};
use futures_util::StreamExt as _;

use crate::auth::CredentialStore;
use crate::error::{Error, Result};
use crate::reference::{DOCKER_HUB, Digest, ImageRef, Repository};

pub(crate) struct EngineTransport {
    docker: Docker,
    socket: String,
    credentials: CredentialStore,
}

/// The name the engine knows a repository by.
fn engine_name(repo: &Repository) -> String {
    if repo.registry == DOCKER_HUB {
        repo.path.clone()
    } else {
        repo.to_string()
    }
}

impl EngineTransport {
    pub(crate) async fn connect(socket: &Path, credentials: &CredentialStore) -> Result<Self> {
        let shown = socket.display().to_string();
        let error = |what: &str, e: bollard::errors::Error| Error::Engine {
            socket: shown.clone(),
            what: what.to_owned(),
            source: Box::new(e),
        };
        // Pushes of big layers are slow; the engine answers a progress stream meanwhile.
        let docker = Docker::connect_with_unix(&shown, 3600, bollard::API_DEFAULT_VERSION)
            .map_err(|e| error("connect (is dockerd running and the socket readable?)", e))?
            .negotiate_version()
            .await
            .map_err(|e| error("negotiate the API version", e))?;
        Ok(Self {
            docker,
            socket: shown,
            credentials: credentials.clone(),
        })
    }

    fn error(&self, what: String, source: impl Into<crate::error::BoxError>) -> Error {
        Error::Engine {
            socket: self.socket.clone(),
            what,
            source: source.into(),
        }
    }

    fn credentials(&self, repo: &Repository) -> Result<Option<DockerCredentials>> {
        Ok(self
            .credentials
            .get(&repo.registry)?
            .map(|c| DockerCredentials {
                username: Some(c.username.clone()),
                password: Some(c.password().to_owned()),
                serveraddress: Some(if repo.registry == DOCKER_HUB {
                    "https://index.docker.io/v1/".into()
                } else {
                    repo.registry.clone()
                }),
                ..DockerCredentials::default()
            }))
    }

    /// Pulls `source` by digest, tags it `target` and pushes that.
    pub(crate) async fn promote(
        &self,
        source: &ImageRef,
        digest: &Digest,
        target: &ImageRef,
    ) -> Result<()> {
        let pinned = format!("{}@{digest}", engine_name(&source.repository));
        let options = CreateImageOptions {
            from_image: Some(pinned.clone()),
            ..CreateImageOptions::default()
        };
        let mut pull =
            self.docker
                .create_image(Some(options), None, self.credentials(&source.repository)?);
        while let Some(item) = pull.next().await {
            let info = item.map_err(|e| self.error(format!("pull {pinned}"), e))?;
            if let Some(detail) = info.error_detail {
                return Err(self.error(
                    format!("pull {pinned}"),
                    detail.message.unwrap_or_else(|| "unknown error".into()),
                ));
            }
        }
        self.tag_and_push_name(&pinned, target).await
    }

    /// Tags the local image `from` as `to` and pushes it.
    pub(crate) async fn tag_and_push(&self, from: &ImageRef, to: &ImageRef) -> Result<()> {
        let name = format!(
            "{}:{}",
            engine_name(&from.repository),
            from.tag.as_deref().unwrap_or("latest")
        );
        self.tag_and_push_name(&name, to).await
    }

    async fn tag_and_push_name(&self, local: &str, target: &ImageRef) -> Result<()> {
        let repo = engine_name(&target.repository);
        let tag = target.tag.clone().unwrap_or_else(|| "latest".into());
        self.docker
            .tag_image(
                local,
                Some(TagImageOptions {
                    repo: Some(repo.clone()),
                    tag: Some(tag.clone()),
                }),
            )
            .await
            .map_err(|e| self.error(format!("tag {local} as {repo}:{tag}"), e))?;
        let mut push = self.docker.push_image(
            &repo,
            Some(PushImageOptions {
                tag: Some(tag.clone()),
                ..PushImageOptions::default()
            }),
            self.credentials(&target.repository)?,
        );
        while let Some(item) = push.next().await {
            let info = item.map_err(|e| self.error(format!("push {repo}:{tag}"), e))?;
            if let Some(detail) = info.error_detail {
                return Err(self.error(
                    format!("push {repo}:{tag}"),
                    detail.message.unwrap_or_else(|| "unknown error".into()),
                ));
            }
        }
        Ok(())
    }
}
