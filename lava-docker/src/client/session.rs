//! The session with each registry: one connection pool, the `WWW-Authenticate`
//! challenge learnt once per registry, bearer tokens negotiated per scope (or basic
//! auth), and the authenticated request, replayed under the project's [`RetryPolicy`]
//! with a fresh token after a 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lava_io::retry::{Decision, RetryPolicy, parse_retry_after};
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tokio::sync::OnceCell;

use crate::auth::{Challenge, CredentialStore, Credentials, parse_challenge};
use crate::error::{Error, Result};
use crate::reference::{Repository, api_host};

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
pub(super) struct Registry {
    /// The name used in references and error messages.
    name: String,
    pub(super) base: url::Url,
    credentials: Option<Credentials>,
    state: Mutex<AuthState>,
    ping: OnceCell<()>,
}

/// A client of several registries, sharing one connection pool.
pub(crate) struct Client {
    pub(super) http: reqwest::Client,
    credentials: CredentialStore,
    plain_http: Vec<String>,
    retry: RetryPolicy,
    registries: Mutex<HashMap<String, Arc<Registry>>>,
    pub(crate) counters: Counters,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `response` if its status is a success, else the error naming the call and the
/// start of the registry's answer.
pub(super) async fn successful(response: Response, method: &str, url: &str) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(Error::Status {
        method: method.into(),
        url: url.to_owned(),
        status: status.as_u16(),
        body: body_excerpt(response).await,
    })
}

pub(super) async fn body_excerpt(response: Response) -> String {
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
pub(super) fn pull(repo: &Repository) -> String {
    format!("repository:{}:pull", repo.path)
}

/// Scopes for writing `repo`.
pub(super) fn push(repo: &Repository) -> String {
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
            retry,
            registries: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// The registry of `repo`, pinged once so its authentication challenge is known
    /// before the first real request (a streamed upload cannot be replayed after a 401).
    pub(super) async fn registry(&self, repo: &Repository) -> Result<Arc<Registry>> {
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
                        Err(e) => {
                            if !self.retry_failure(attempt).await {
                                return Err(Error::Http {
                                    method: "GET".into(),
                                    url: url.clone(),
                                    attempts: attempt,
                                    source: Box::new(e),
                                });
                            }
                        }
                    }
                }
            })
            .await?;
        Ok(registry)
    }

    /// One request with retries of connection errors and transient statuses, and the
    /// authentication dance on 401. `build` must be replayable.
    pub(super) async fn send(
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
                        registry.forget_token(scopes);
                    }
                    // A refused password is final; a refused token may just have expired.
                    if reauthenticated || sent_basic {
                        return Err(self.refused(registry, &method, url, scopes));
                    }
                    reauthenticated = true;
                    attempt -= 1;
                }
                Ok(response) => {
                    if !self.retry_status(attempt, &response).await {
                        return Ok(response);
                    }
                }
                Err(e) => {
                    if !self.retry_failure(attempt).await {
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
    }

    /// `GET url` read whole: `None` on 404, else the body and its `Content-Type`. Any
    /// other status is an error; a body that breaks off is asked for again under the
    /// retry policy.
    pub(super) async fn get_whole(
        &self,
        registry: &Registry,
        scopes: &[String],
        url: &str,
        accept: Option<&str>,
    ) -> Result<Option<(bytes::Bytes, Option<String>)>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self
                .send(registry, scopes, Method::GET, url, |r| match accept {
                    Some(accept) => r.header(reqwest::header::ACCEPT, accept),
                    None => r,
                })
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(Error::Status {
                    method: "GET".into(),
                    url: url.to_owned(),
                    status: status.as_u16(),
                    body: body_excerpt(response).await,
                });
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned);
            match response.bytes().await {
                Ok(bytes) => return Ok(Some((bytes, content_type))),
                Err(e) if !self.retry_failure(attempt).await => {
                    return Err(Error::Http {
                        method: "GET".into(),
                        url: url.to_owned(),
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
                Err(_) => {}
            }
        }
    }

    /// After attempt `attempt` failed without an answer: waits out the policy's backoff
    /// and says `true`, or says `false` when the attempts are spent.
    pub(super) async fn retry_failure(&self, attempt: u32) -> bool {
        match self.retry.after_failure(attempt, fastrand::f64()) {
            Some(wait) => {
                self.back_off(wait).await;
                true
            }
            None => false,
        }
    }

    /// After attempt `attempt` was answered: when the status is worth another attempt
    /// and the policy allows one, waits (the server's `Retry-After` or the backoff) and
    /// says `true`. `false` leaves the answer to the caller, who words its status.
    async fn retry_status(&self, attempt: u32, response: &Response) -> bool {
        let asked = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let status = response.status().as_u16();
        match self
            .retry
            .after_status(attempt, status, asked, fastrand::f64())
        {
            Decision::Retry(wait) => {
                self.back_off(wait).await;
                true
            }
            Decision::Done | Decision::Exhausted | Decision::TooLong(_) => false,
        }
    }

    async fn back_off(&self, wait: Duration) {
        self.counters
            .retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(wait).await;
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

    /// Whether the credentials may push to `repo`, writing nothing: an authenticated
    /// `GET /v2/` with a token asked for `pull,push` on it, and, when the token is a JWT
    /// that lists what it grants (as Docker Hub's do), `push` among it.
    pub(crate) async fn check_push(&self, repo: &Repository) -> Result<()> {
        let registry = self.registry(repo).await?;
        let url = registry.url("v2/");
        let scopes = [push(repo)];
        let response = self
            .send(&registry, &scopes, Method::GET, &url, |r| r)
            .await?;
        successful(response, "GET", &url).await?;
        let Some(Some(bearer)) = self.authorization(&registry, &scopes).await.ok() else {
            return Ok(());
        };
        let Some(token) = bearer.strip_prefix("Bearer ") else {
            return Ok(());
        };
        if let Some(actions) = granted_actions(token, &repo.path) {
            if !actions.iter().any(|a| a == "push" || a == "*") {
                return Err(Error::Denied {
                    registry: registry.name.clone(),
                    what: format!("push to {}", repo.path),
                    user: registry
                        .credentials
                        .as_ref()
                        .map_or_else(|| "(anonymous)".to_owned(), |c| c.username.clone()),
                });
            }
        }
        Ok(())
    }

    /// The `Authorization` value for `scopes`, fetching a bearer token when the
    /// registry's challenge asks for one.
    pub(super) async fn authorization(
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
                Ok(r) => {
                    if !self.retry_status(attempt, &r).await {
                        break r;
                    }
                }
                Err(e) => {
                    if !self.retry_failure(attempt).await {
                        return Err(Error::Http {
                            method: "GET".into(),
                            url: shown,
                            attempts: attempt,
                            source: Box::new(e),
                        });
                    }
                }
            }
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
}

impl Registry {
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Drops the token cached for `scopes`, so that the next request fetches a new one.
    pub(super) fn forget_token(&self, scopes: &[String]) {
        lock(&self.state).tokens.remove(&scopes.join(" "));
    }
}

/// The actions a JWT bearer token grants on repository `path` (its `access` claim), when
/// the token is a JWT that says; `None` when it is opaque.
fn granted_actions(token: &str, path: &str) -> Option<Vec<String>> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let access = claims.get("access")?.as_array()?;
    Some(
        access
            .iter()
            .filter(|a| a["type"] == "repository" && a["name"] == path)
            .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}

#[cfg(test)]
mod jwt_tests {
    use base64::Engine as _;

    use super::granted_actions;

    fn jwt(claims: &str) -> String {
        let part = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", part("{\"alg\":\"RS256\"}"), part(claims))
    }

    #[test]
    fn reads_what_a_token_grants() {
        let token = jwt(
            r#"{"access":[{"type":"repository","name":"lavasoftware/lava-server","actions":["pull"]}]}"#,
        );
        assert_eq!(
            granted_actions(&token, "lavasoftware/lava-server"),
            Some(vec!["pull".to_owned()])
        );
        assert_eq!(
            granted_actions(&token, "lavasoftware/other"),
            Some(Vec::new())
        );
        assert_eq!(granted_actions("opaque-token", "x"), None);
    }
}
