//! Manifests on a registry: `HEAD` for a tag's digest, `GET` of the exact bytes
//! (verified against a digest reference), `PUT` by digest or tag. The formats
//! themselves are [`crate::manifest`]'s.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use super::session::{Client, pull, push, successful};
use crate::error::{Error, Result};
use crate::manifest::{self, RawManifest};
use crate::reference::{Digest, Repository};

impl Client {
    /// `HEAD` of a manifest: its digest when it exists.
    pub(crate) async fn head_manifest(
        &self,
        repo: &Repository,
        reference: &str,
    ) -> Result<Option<Digest>> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/manifests/{reference}", repo.path));
        let response = self
            .send(&registry, &[pull(repo)], Method::HEAD, &url, |r| {
                r.header(ACCEPT, manifest::ACCEPT)
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let digest = response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|h| h.to_str().ok())
                    .and_then(|d| Digest::parse(d).ok());
                match digest {
                    Some(digest) => Ok(Some(digest)),
                    // Some registries omit the header on HEAD; read the manifest instead.
                    None => Ok(self.get_manifest(repo, reference).await?.map(|m| m.digest)),
                }
            }
            status => Err(Error::Status {
                method: "HEAD".into(),
                url,
                status: status.as_u16(),
                body: "(no body)".into(),
            }),
        }
    }

    /// `GET` of a manifest, with its exact bytes; a digest reference is verified.
    pub(crate) async fn get_manifest(
        &self,
        repo: &Repository,
        reference: &str,
    ) -> Result<Option<RawManifest>> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/manifests/{reference}", repo.path));
        let Some((bytes, content_type)) = self
            .get_whole(&registry, &[pull(repo)], &url, Some(manifest::ACCEPT))
            .await?
        else {
            return Ok(None);
        };
        let raw = RawManifest::new(bytes, content_type.as_deref());
        if reference.starts_with("sha256:") && raw.digest.as_str() != reference {
            return Err(Error::DigestMismatch {
                what: "manifest".into(),
                url,
                expected: reference.to_owned(),
                actual: raw.digest.to_string(),
                expected_size: 0,
                actual_size: raw.bytes.len() as u64,
            });
        }
        Ok(Some(raw))
    }

    /// Pushes a manifest's exact bytes under `reference` (a digest or a tag).
    pub(crate) async fn put_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        raw: &RawManifest,
    ) -> Result<()> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/manifests/{reference}", repo.path));
        let response = self
            .send(&registry, &[push(repo)], Method::PUT, &url, |r| {
                r.header(CONTENT_TYPE, &raw.media_type)
                    .body(raw.bytes.clone())
            })
            .await?;
        let response = successful(response, "PUT", &url).await?;
        let digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|h| h.to_str().ok())
            .and_then(|d| Digest::parse(d).ok());
        if let Some(digest) = digest
            && digest != raw.digest
        {
            return Err(Error::Verify {
                target: format!("{repo}:{reference}"),
                expected: raw.digest.to_string(),
                actual: digest.to_string(),
            });
        }
        Ok(())
    }
}
