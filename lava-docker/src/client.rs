//! The registry HTTP API (distribution spec v2): manifests, blobs, cross-repository
//! mounts and streaming blob copies, with Docker Hub's authentication (a
//! `WWW-Authenticate` challenge, then a bearer token per scope, or plain basic auth)
//! and bounded retries of what can be retried.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::Digest as _;
use tokio::sync::OnceCell;

use crate::auth::{Challenge, CredentialStore, Credentials, parse_challenge};
use crate::error::BoxError;
use crate::manifest::{self, Descriptor, RawManifest};
use crate::reference::{Digest, Repository, api_host};
use crate::{Error, Result};

/// How often and how patiently transient failures (connection errors, 5xx, 429) are
/// retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub attempts: u32,
    /// Delay before the second attempt; it doubles each time.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Counters of what a promotion did, for the report.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub copied: std::sync::atomic::AtomicU64,
    pub bytes: std::sync::atomic::AtomicU64,
    pub mounted: std::sync::atomic::AtomicU64,
    pub present: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<String, String>,
    /// Set once the registry refused our credentials: every later request fails at once
    /// instead of asking again (no retry storm, no account lock-out).
    rejected: bool,
}

/// One registry's connection state.
pub(crate) struct Registry {
    /// The name used in references and error messages.
    name: String,
    base: url::Url,
    credentials: Option<Credentials>,
    state: Mutex<AuthState>,
    ping: OnceCell<()>,
}

/// A client of several registries, sharing one connection pool.
pub(crate) struct Client {
    http: reqwest::Client,
    credentials: CredentialStore,
    plain_http: Vec<String>,
    pub(crate) retry: RetryPolicy,
    registries: Mutex<HashMap<String, Arc<Registry>>>,
    pub(crate) counters: Counters,
}

/// What a blob copy attempt ended with.
enum CopyFailure {
    /// Try again (connection dropped, 5xx, short read).
    Transient(Error),
    /// Stop.
    Fatal(Error),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

async fn body_excerpt(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let text = text.trim();
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if text.is_empty() {
        "(no body)".to_owned()
    } else {
        text[..end].to_owned()
    }
}

/// Scopes for reading `repo`.
pub(crate) fn pull(repo: &Repository) -> String {
    format!("repository:{}:pull", repo.path)
}

/// Scopes for writing `repo`.
pub(crate) fn push(repo: &Repository) -> String {
    format!("repository:{}:pull,push", repo.path)
}

impl Client {
    pub(crate) fn new(
        credentials: CredentialStore,
        plain_http: Vec<String>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("lava-docker/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| Error::Http {
                method: "build".into(),
                url: "(HTTP client)".into(),
                attempts: 0,
                source: Box::new(e),
            })?;
        Ok(Self {
            http,
            credentials,
            plain_http,
            retry: RetryPolicy {
                attempts: retry.attempts.max(1),
                ..retry
            },
            registries: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// The registry of `repo`, pinged once so its authentication challenge is known
    /// before the first real request (a streamed upload cannot be replayed after a 401).
    pub(crate) async fn registry(&self, repo: &Repository) -> Result<Arc<Registry>> {
        let host = api_host(&repo.registry).to_owned();
        let registry = {
            let mut registries = lock(&self.registries);
            if let Some(registry) = registries.get(&host) {
                registry.clone()
            } else {
                // Like dockerd, registries on the loopback interface speak plain HTTP.
                let hostname = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
                let plain = hostname == "localhost"
                    || hostname.starts_with("127.")
                    || hostname == "[::1]"
                    || self
                        .plain_http
                        .iter()
                        .any(|p| p == &host || p == &repo.registry);
                let scheme = if plain { "http" } else { "https" };
                let base = url::Url::parse(&format!("{scheme}://{host}/")).map_err(|_| {
                    Error::Reference {
                        reference: repo.to_string(),
                        reason: "the registry host is not a valid URL host",
                    }
                })?;
                let registry = Arc::new(Registry {
                    name: repo.registry.clone(),
                    base,
                    credentials: self.credentials.get(&repo.registry)?,
                    state: Mutex::new(AuthState::default()),
                    ping: OnceCell::new(),
                });
                registries.insert(host, registry.clone());
                registry
            }
        };
        registry
            .ping
            .get_or_try_init(|| async {
                let url = registry.url("v2/");
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.send_once(&Method::GET, &url, |r| r, None).await {
                        Ok(response) => {
                            if response.status() == StatusCode::UNAUTHORIZED {
                                self.learn_challenge(&registry, response.headers())?;
                            }
                            return Ok::<(), Error>(());
                        }
                        Err(_) if attempt < self.retry.attempts => {
                            self.note_retry();
                            tokio::time::sleep(self.retry.delay(attempt)).await;
                        }
                        Err(e) => {
                            return Err(Error::Http {
                                method: "GET".into(),
                                url: url.clone(),
                                attempts: attempt,
                                source: Box::new(e),
                            });
                        }
                    }
                }
            })
            .await?;
        Ok(registry)
    }

    /// One request with retries of connection errors and transient statuses, and the
    /// authentication dance on 401. `build` must be replayable.
    pub(crate) async fn send(
        &self,
        registry: &Registry,
        scopes: &[String],
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let mut attempt = 0;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let authorization = self.authorization(registry, scopes).await?;
            let result = self
                .send_once(&method, url, &build, authorization.as_deref())
                .await;
            match result {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                    let sent_basic = authorization
                        .as_deref()
                        .is_some_and(|a| a.starts_with("Basic "));
                    self.learn_challenge(registry, response.headers())?;
                    if authorization.is_some() {
                        lock(&registry.state).tokens.remove(&scopes.join(" "));
                    }
                    // A refused password is final; a refused token may just have expired.
                    if reauthenticated || sent_basic {
                        return Err(self.refused(registry, &method, url, scopes));
                    }
                    reauthenticated = true;
                    attempt -= 1;
                }
                Ok(response)
                    if is_transient(response.status()) && attempt < self.retry.attempts =>
                {
                    self.note_retry();
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Ok(response) => return Ok(response),
                Err(e) if attempt < self.retry.attempts => {
                    drop(e);
                    self.note_retry();
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(e) => {
                    return Err(Error::Http {
                        method: method.to_string(),
                        url: url.to_owned(),
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
            }
        }
    }

    fn note_retry(&self) {
        self.counters
            .retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The error for a 401 that authenticating again did not cure.
    fn refused(&self, registry: &Registry, method: &Method, url: &str, scopes: &[String]) -> Error {
        let what = format!("{method} {url} ({})", scopes.join(" "));
        match &registry.credentials {
            Some(credentials) => {
                let basic = matches!(lock(&registry.state).challenge, Some(Challenge::Basic));
                if basic {
                    lock(&registry.state).rejected = true;
                    Error::BadCredentials {
                        registry: registry.name.clone(),
                        user: credentials.username.clone(),
                    }
                } else {
                    Error::Denied {
                        registry: registry.name.clone(),
                        what,
                        user: credentials.username.clone(),
                    }
                }
            }
            None => Error::NoCredentials {
                registry: registry.name.clone(),
                what,
            },
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
        authorization: Option<&str>,
    ) -> Result<Response, reqwest::Error> {
        let mut request = build(self.http.request(method.clone(), url));
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        request.send().await
    }

    fn learn_challenge(&self, registry: &Registry, headers: &HeaderMap) -> Result<()> {
        let header = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let challenge = parse_challenge(header).ok_or_else(|| Error::Challenge {
            registry: registry.name.clone(),
            challenge: header.to_owned(),
        })?;
        lock(&registry.state).challenge = Some(challenge);
        Ok(())
    }

    /// The `Authorization` value for `scopes`, fetching a bearer token when the
    /// registry's challenge asks for one.
    async fn authorization(
        &self,
        registry: &Registry,
        scopes: &[String],
    ) -> Result<Option<String>> {
        let (challenge, cached) = {
            let state = lock(&registry.state);
            if state.rejected
                && let Some(credentials) = &registry.credentials
            {
                return Err(Error::BadCredentials {
                    registry: registry.name.clone(),
                    user: credentials.username.clone(),
                });
            }
            (
                state.challenge.clone(),
                state.tokens.get(&scopes.join(" ")).cloned(),
            )
        };
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(registry.credentials.as_ref().map(Credentials::basic)),
            Some(Challenge::Bearer { .. }) if cached.is_some() => Ok(cached),
            Some(Challenge::Bearer { realm, service }) => {
                let token = self
                    .fetch_token(registry, &realm, service.as_deref(), scopes)
                    .await?;
                let value = format!("Bearer {token}");
                lock(&registry.state)
                    .tokens
                    .insert(scopes.join(" "), value.clone());
                Ok(Some(value))
            }
        }
    }

    async fn fetch_token(
        &self,
        registry: &Registry,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<String> {
        let mut url = url::Url::parse(realm).map_err(|_| Error::Challenge {
            registry: registry.name.clone(),
            challenge: format!("Bearer realm=\"{realm}\""),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            for scope in scopes {
                query.append_pair("scope", scope);
            }
        }
        let shown = url.to_string();
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            let mut request = self.http.get(url.clone());
            if let Some(credentials) = &registry.credentials {
                request = request.basic_auth(&credentials.username, Some(credentials.password()));
            }
            match request.send().await {
                Ok(r) if is_transient(r.status()) && attempt < self.retry.attempts => {}
                Ok(r) => break r,
                Err(_) if attempt < self.retry.attempts => {}
                Err(e) => {
                    return Err(Error::Http {
                        method: "GET".into(),
                        url: shown,
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
            }
            self.note_retry();
            tokio::time::sleep(self.retry.delay(attempt)).await;
        };
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(match &registry.credentials {
                Some(credentials) => {
                    lock(&registry.state).rejected = true;
                    Error::BadCredentials {
                        registry: registry.name.clone(),
                        user: credentials.username.clone(),
                    }
                }
                None => Error::NoCredentials {
                    registry: registry.name.clone(),
                    what: scopes.join(" "),
                },
            });
        }
        if !status.is_success() {
            return Err(Error::Status {
                method: "GET".into(),
                url: shown,
                status: status.as_u16(),
                body: body_excerpt(response).await,
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = response.bytes().await.map_err(|e| Error::Http {
            method: "GET".into(),
            url: shown.clone(),
            attempts: attempt,
            source: Box::new(e),
        })?;
        let token: Token = serde_json::from_slice(&body).map_err(|_| Error::Status {
            method: "GET".into(),
            url: shown.clone(),
            status: status.as_u16(),
            body: "the token endpoint answered without a JSON token".into(),
        })?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Status {
                method: "GET".into(),
                url: shown,
                status: status.as_u16(),
                body: "the token endpoint answered without a token".into(),
            })
    }

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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self
                .send(&registry, &[pull(repo)], Method::GET, &url, |r| {
                    r.header(ACCEPT, manifest::ACCEPT)
                })
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(Error::Status {
                    method: "GET".into(),
                    url,
                    status: status.as_u16(),
                    body: body_excerpt(response).await,
                });
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned);
            match response.bytes().await {
                Ok(bytes) => {
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
                    return Ok(Some(raw));
                }
                Err(e) if attempt < self.retry.attempts => {
                    drop(e);
                    self.note_retry();
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(e) => {
                    return Err(Error::Http {
                        method: "GET".into(),
                        url,
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
            }
        }
    }

    /// A small blob (an image config), read whole and verified.
    pub(crate) async fn get_small_blob(
        &self,
        repo: &Repository,
        blob: &Descriptor,
    ) -> Result<Bytes> {
        let registry = self.registry(repo).await?;
        let url = registry.url(&format!("v2/{}/blobs/{}", repo.path, blob.digest));
        let mut attempt = 0;
        loop {
            attempt += 1;
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
            if !status.is_success() {
                return Err(Error::Status {
                    method: "GET".into(),
                    url,
                    status: status.as_u16(),
                    body: body_excerpt(response).await,
                });
            }
            match response.bytes().await {
                Ok(bytes) => {
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
                    return Ok(bytes);
                }
                Err(e) if attempt < self.retry.attempts => {
                    drop(e);
                    self.note_retry();
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(e) => {
                    return Err(Error::Http {
                        method: "GET".into(),
                        url,
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
            }
        }
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
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.copy_blob_once(source, target, blob).await {
                Ok(()) => return Ok(()),
                Err(CopyFailure::Transient(e)) if attempt < self.retry.attempts => {
                    drop(e);
                    self.note_retry();
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                }
                Err(CopyFailure::Transient(e) | CopyFailure::Fatal(e)) => return Err(e),
            }
        }
    }

    async fn copy_blob_once(
        &self,
        source: &Repository,
        target: &Repository,
        blob: &Descriptor,
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
            return Err(if is_transient(status) {
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
                    lock(&dst.state).tokens.remove(&push(target));
                }
                let error = Error::Status {
                    method: "PUT".into(),
                    url: redact_query(&put_url),
                    status: status.as_u16(),
                    body: body_excerpt(response).await,
                };
                if is_transient(status) || status == StatusCode::UNAUTHORIZED {
                    Err(CopyFailure::Transient(error))
                } else {
                    Err(CopyFailure::Fatal(error))
                }
            }
        }
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
        let status = response.status();
        if !status.is_success() {
            return Err(Error::Status {
                method: "PUT".into(),
                url,
                status: status.as_u16(),
                body: body_excerpt(response).await,
            });
        }
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

impl Registry {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
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
