//! Blobs on a registry: whether a repository has one, cross-repository mounts, small
//! blobs read whole, and the streamed copy from one registry to another, hashed on the
//! way so that a blob whose digest or size is wrong is never committed.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use lava_io::retry::retryable_status;
use lava_io::transfer::Transfer;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;

use super::session::{Client, Registry, body_excerpt, lock, pull, push, successful};
use crate::error::{BoxError, Error, Result};
use crate::layers::{self, InLayer, LayerFile};
use crate::manifest::Descriptor;
use crate::reference::{Digest, Repository};

/// What a blob copy attempt ended with.
enum CopyFailure {
    /// Try again (connection dropped, 5xx, short read).
    Transient(Error),
    /// Stop.
    Fatal(Error),
}

/// The body of a layer as the blocking tar reader sees it: the chunks the download
/// sends; end of file when the sender is done.
struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl Client {
    /// One file of the image whose layers are `layers` (base first) in `repo`: the
    /// newest layer first, each streamed into a tar reader that stops the download as
    /// soon as the layer has answered (see [`crate::layers`]).
    pub(crate) async fn read_layer_file(
        &self,
        repo: &Repository,
        layers: &[Descriptor],
        path: &str,
    ) -> Result<LayerFile> {
        let registry = self.registry(repo).await?;
        let mut out = LayerFile {
            content: None,
            layer: None,
            layers_read: 0,
            bytes_downloaded: 0,
        };
        for blob in layers.iter().rev() {
            let url = registry.url(&format!("v2/{}/blobs/{}", repo.path, blob.digest));
            let Some(gzip) = layers::gzipped(&blob.media_type) else {
                return Err(Error::Layer {
                    url,
                    reason: format!(
                        "its media type `{}` is not a gzip-compressed or plain tar layer",
                        blob.media_type
                    ),
                });
            };
            let response = self
                .send(&registry, &[pull(repo)], Method::GET, &url, |r| r)
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                return Err(Error::NotFound {
                    what: format!("blob {}", blob.digest),
                    url,
                });
            }
            let response = successful(response, "GET", &url).await?;
            out.layers_read += 1;
            // The tar reader runs on a blocking thread; when it has its answer it drops
            // its end of the channel and the download stops there.
            let (send, chunks) = tokio::sync::mpsc::channel::<Bytes>(4);
            let wanted = path.to_owned();
            let reader = tokio::task::spawn_blocking(move || {
                let reader = ChannelReader {
                    chunks,
                    current: Bytes::new(),
                };
                layers::scan(reader, gzip, &wanted)
            });
            let mut body = response.bytes_stream();
            while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
                let chunk = chunk.map_err(|e| Error::Layer {
                    url: url.clone(),
                    reason: format!("the download broke off ({e})"),
                })?;
                out.bytes_downloaded += chunk.len() as u64;
                if send.send(chunk).await.is_err() {
                    break;
                }
            }
            drop(send);
            let answer = reader
                .await
                .map_err(|e| Error::Layer {
                    url: url.clone(),
                    reason: format!("the reader stopped ({e})"),
                })?
                .map_err(|e| Error::Layer {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
            match answer {
                InLayer::Has(content) => {
                    out.content = Some(content);
                    out.layer = Some(blob.digest.clone());
                    return Ok(out);
                }
                InLayer::Deletes => {
                    out.layer = Some(blob.digest.clone());
                    return Ok(out);
                }
                InLayer::Silent => {}
            }
        }
        Ok(out)
    }

    /// A small blob (an image config), read whole and verified.
    pub(crate) async fn get_small_blob(
        &self,
        repo: &Repository,
        blob: &Descriptor,
    ) -> Result<Bytes> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/blobs/{}", repo.path, blob.digest));
        let Some((bytes, _)) = self.get_whole(&registry, &[pull(repo)], &url, None).await? else {
            return Err(Error::NotFound {
                what: format!("blob {}", blob.digest),
                url,
            });
        };
        let actual = Digest::of(&bytes);
        if actual != blob.digest {
            return Err(Error::DigestMismatch {
                what: "blob".into(),
                url,
                expected: blob.digest.to_string(),
                actual: actual.to_string(),
                expected_size: blob.size,
                actual_size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Whether `repo` has the blob.
    pub(crate) async fn blob_exists(&self, repo: &Repository, digest: &Digest) -> Result<bool> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/blobs/{digest}", repo.path));
        let response = self
            .send(&registry, &[push(repo)], Method::HEAD, &url, |r| r)
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            status => Err(Error::Status {
                method: "HEAD".into(),
                url,
                status: status.as_u16(),
                body: "(no body)".into(),
            }),
        }
    }

    /// Starts an upload to `repo`, mounting the blob from `from` (same registry) when
    /// given: `None` when the mount made the blob present, else the upload URL.
    async fn start_upload(
        &self,
        registry: &Registry,
        repo: &Repository,
        mount: Option<(&Digest, &Repository)>,
    ) -> Result<Option<String>> {
        let mut url = registry.url(&format!("v2/{}/blobs/uploads/", repo.path));
        let mut scopes = vec![push(repo)];
        if let Some((digest, from)) = mount {
            url.push_str(&format!("?mount={digest}&from={}", from.path));
            scopes.push(pull(from));
        }
        let response = self
            .send(registry, &scopes, Method::POST, &url, |r| {
                r.header(CONTENT_LENGTH, "0")
            })
            .await?;
        match response.status() {
            StatusCode::CREATED if mount.is_some() => Ok(None),
            StatusCode::ACCEPTED => {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|h| h.to_str().ok())
                    .ok_or_else(|| Error::Status {
                        method: "POST".into(),
                        url: url.clone(),
                        status: 202,
                        body: "the registry started an upload without a Location".into(),
                    })?;
                let location = registry.base.join(location).map_err(|_| Error::Status {
                    method: "POST".into(),
                    url: url.clone(),
                    status: 202,
                    body: format!("the upload Location `{location}` is not a URL"),
                })?;
                Ok(Some(location.to_string()))
            }
            status => Err(Error::Status {
                method: "POST".into(),
                url,
                status: status.as_u16(),
                body: body_excerpt(response).await,
            }),
        }
    }

    /// Mounts `digest` into `repo` from `from` (same registry); `false` when the registry
    /// declined and the blob must be copied.
    pub(crate) async fn mount(
        &self,
        repo: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool> {
        let registry = self.registry(repo).await?;
        let location = self
            .start_upload(&registry, repo, Some((digest, from)))
            .await?;
        if let Some(location) = location {
            // Abandon the upload the registry opened instead of mounting; it expires on
            // its own if this fails.
            let _ = self
                .send(&registry, &[push(repo)], Method::DELETE, &location, |r| r)
                .await;
            return Ok(false);
        }
        Ok(true)
    }

    /// Streams a blob from `source` to `target`, hashing it on the way: the upload is
    /// aborted before the registry commits anything when the digest or size is wrong.
    /// Transient failures start a fresh upload, up to the retry policy's attempts.
    pub(crate) async fn copy_blob(
        &self,
        source: &Repository,
        target: &Repository,
        blob: &Descriptor,
        transfer: Arc<Transfer>,
    ) -> Result<()> {
        // What the transfer was told of this blob, across attempts: a retry re-sends
        // the blob, but only what goes past the last attempt is news.
        let reported = Arc::new(AtomicU64::new(0));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let progress = (transfer.clone(), reported.clone());
            match self.copy_blob_once(source, target, blob, progress).await {
                Ok(()) => return Ok(()),
                Err(CopyFailure::Transient(e)) => {
                    if !self.retry_failure(attempt).await {
                        return Err(e);
                    }
                }
                Err(CopyFailure::Fatal(e)) => return Err(e),
            }
        }
    }

    async fn copy_blob_once(
        &self,
        source: &Repository,
        target: &Repository,
        blob: &Descriptor,
        (transfer, reported): (Arc<Transfer>, Arc<AtomicU64>),
    ) -> Result<(), CopyFailure> {
        let fatal = CopyFailure::Fatal;
        let src = self.registry(source).await.map_err(fatal)?;
        let dst = self.registry(target).await.map_err(fatal)?;
        let location = self
            .start_upload(&dst, target, None)
            .await
            .map_err(fatal)?
            .ok_or_else(|| {
                CopyFailure::Fatal(Error::Status {
                    method: "POST".into(),
                    url: dst.url(&format!("v2/{}/blobs/uploads/", target.path)),
                    status: 201,
                    body: "the registry created a blob without data".into(),
                })
            })?;
        let src_url = src.url(&format!("v2/{}/blobs/{}", source.path, blob.digest));
        let response = self
            .send(&src, &[pull(source)], Method::GET, &src_url, |r| r)
            .await
            .map_err(CopyFailure::Transient)?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(CopyFailure::Fatal(Error::NotFound {
                what: format!("blob {}", blob.digest),
                url: src_url,
            }));
        }
        if !status.is_success() {
            let error = Error::Status {
                method: "GET".into(),
                url: src_url,
                status: status.as_u16(),
                body: body_excerpt(response).await,
            };
            return Err(if retryable_status(status.as_u16()) {
                CopyFailure::Transient(error)
            } else {
                CopyFailure::Fatal(error)
            });
        }
        let outcome = Arc::new(Mutex::new(None));
        let body = VerifyStream {
            inner: Box::pin(response.bytes_stream()),
            hasher: sha2::Sha256::new(),
            seen: 0,
            expected: blob.digest.clone(),
            size: blob.size,
            finished: false,
            outcome: outcome.clone(),
            transfer,
            reported,
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{separator}digest={}", blob.digest);
        let authorization = self
            .authorization(&dst, &[push(target)])
            .await
            .map_err(fatal)?;
        let mut request = self
            .http
            .put(&put_url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, blob.size)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let sent = request.send().await;
        let stream_failure = lock(&outcome).take();
        match (sent, stream_failure) {
            (
                _,
                Some(StreamFailure::Mismatch {
                    actual,
                    actual_size,
                }),
            ) => Err(CopyFailure::Fatal(Error::DigestMismatch {
                what: "blob".into(),
                url: src_url,
                expected: blob.digest.to_string(),
                actual: actual.to_string(),
                expected_size: blob.size,
                actual_size,
            })),
            (Err(e), _) => Err(CopyFailure::Transient(Error::Http {
                method: "PUT".into(),
                url: redact_query(&put_url),
                attempts: 1,
                source: Box::new(e),
            })),
            (Ok(response), None) => {
                let status = response.status();
                if status == StatusCode::CREATED || status.is_success() {
                    self.counters
                        .copied
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    self.counters
                        .bytes
                        .fetch_add(blob.size, std::sync::atomic::Ordering::Relaxed);
                    return Ok(());
                }
                if status == StatusCode::UNAUTHORIZED {
                    // A token that expired during a long upload: drop it and start over.
                    dst.forget_token(&[push(target)]);
                }
                let error = Error::Status {
                    method: "PUT".into(),
                    url: redact_query(&put_url),
                    status: status.as_u16(),
                    body: body_excerpt(response).await,
                };
                if retryable_status(status.as_u16()) || status == StatusCode::UNAUTHORIZED {
                    Err(CopyFailure::Transient(error))
                } else {
                    Err(CopyFailure::Fatal(error))
                }
            }
        }
    }
}

/// Upload URLs carry the registry's upload state; keep error messages short.
fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((path, _)) => format!("{path}?…"),
        None => url.to_owned(),
    }
}

enum StreamFailure {
    Mismatch { actual: Digest, actual_size: u64 },
}

/// The source blob's body, hashed as it passes; it fails at the end (so the upload is
/// aborted) when the digest or size is not the descriptor's.
struct VerifyStream {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    hasher: sha2::Sha256,
    seen: u64,
    expected: Digest,
    size: u64,
    finished: bool,
    outcome: Arc<Mutex<Option<StreamFailure>>>,
    /// The target image's transfer, advanced by every chunk not reported before.
    transfer: Arc<Transfer>,
    /// The bytes of this blob the transfer was told of, by this or an earlier attempt.
    reported: Arc<AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
#[error("the source blob's digest or size is not the descriptor's")]
struct StreamMismatch;

impl Stream for VerifyStream {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.hasher.update(&chunk);
                self.seen += chunk.len() as u64;
                let before = self.reported.fetch_max(self.seen, Ordering::Relaxed);
                if self.seen > before {
                    self.transfer.advance(self.seen - before);
                }
                if self.seen > self.size {
                    self.finished = true;
                    return Poll::Ready(Some(Err(Box::new(StreamMismatch))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.finished = true;
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(None) => {
                self.finished = true;
                let hasher = std::mem::take(&mut self.hasher);
                let actual = Digest::from_hasher(hasher);
                if self.seen == self.size && actual == self.expected {
                    Poll::Ready(None)
                } else {
                    if self.seen == self.size {
                        // All the bytes came and they are wrong: not a network hiccup.
                        *lock(&self.outcome) = Some(StreamFailure::Mismatch {
                            actual,
                            actual_size: self.seen,
                        });
                    }
                    Poll::Ready(Some(Err(Box::new(StreamMismatch))))
                }
            }
        }
    }
}
