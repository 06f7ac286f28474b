//! The HTTP edge: a `gitlab::api::Client` over reqwest's blocking client that retries
//! what is worth retrying and turns GitLab's answers into sentences.

use std::fmt;
use std::io::Read;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gitlab::api::common::NameOrId;
use gitlab::api::{ApiError, Endpoint};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use lava_io::retry::{Decision, RetryPolicy, parse_retry_after};

use crate::{Error, Result};

/// A GitLab access token. It is only ever written into a request header: `Debug` prints
/// `Token(<redacted>)` and there is no `Display`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps the token the caller read (from `GITLAB_TOKEN` or the token file).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_owned())
    }

    /// No token: requests go without one, as anyone reads a public project (pipelines,
    /// jobs, artifacts, milestones); writes are then refused by GitLab with 401.
    pub fn anonymous() -> Self {
        Self(String::new())
    }

    /// Whether this is [`Token::anonymous`].
    pub fn is_anonymous(&self) -> bool {
        self.0.is_empty()
    }

    fn header_value(&self) -> Option<HeaderValue> {
        if self.is_anonymous() {
            return None;
        }
        let mut value = HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A project, by path (`lava/lava`) or numeric id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Project {
    /// `namespace/name`.
    Path(String),
    /// The numeric id.
    Id(u64),
}

impl Project {
    pub(crate) fn name_or_id(&self) -> NameOrId<'_> {
        match self {
            Project::Path(p) => NameOrId::Name(p.as_str().into()),
            Project::Id(id) => NameOrId::Id(*id),
        }
    }
}

impl fmt::Display for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Project::Path(p) => f.write_str(p),
            Project::Id(id) => write!(f, "{id}"),
        }
    }
}

impl FromStr for Project {
    type Err = std::convert::Infallible;

    /// All digits is an id, anything else a path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_matches('/');
        Ok(match s.parse::<u64>() {
            Ok(id) => Project::Id(id),
            Err(_) => Project::Path(s.to_owned()),
        })
    }
}

/// Where and how to talk to GitLab. LAVA: `https://gitlab.com`, project `lava/lava`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Instance URL, e.g. `https://gitlab.com` (http is accepted, for stand-ins).
    pub base_url: String,
    /// The project releases are cut for.
    pub project: Project,
    /// Retries of busy and flaky answers.
    pub retry: RetryPolicy,
    /// Timeout of one request (connect plus answer).
    pub request_timeout: Duration,
    /// An HTTP proxy; `None` connects directly. The library reads no proxy variables
    /// from the environment: the caller passes one in.
    pub proxy: Option<String>,
}

impl Config {
    /// A config with the default retry policy, a one-minute request timeout and no
    /// proxy.
    pub fn new(base_url: impl Into<String>, project: Project) -> Self {
        Self {
            base_url: base_url.into(),
            project,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            proxy: None,
        }
    }
}

/// What a request is for, so that failures are sentences about it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub what: String,
    pub write: bool,
    /// What a 404 means for this call, e.g. "milestone `2024.05`".
    pub missing: String,
    pub hint: String,
}

impl Call {
    pub fn read(
        what: impl Into<String>,
        missing: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            what: what.into(),
            write: false,
            missing: missing.into(),
            hint: hint.into(),
        }
    }

    pub fn write(
        what: impl Into<String>,
        missing: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            write: true,
            ..Self::read(what, missing, hint)
        }
    }

    fn scope(&self) -> &'static str {
        if self.write { "api" } else { "read_api" }
    }
}

/// A complete answer: status, headers and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The GitLab client: one project, one token, retries and clear errors.
///
/// It implements `gitlab::api::Client`, so any endpoint of the `gitlab` crate can be
/// queried through it and gets the same retries.
pub struct GitLab {
    http: reqwest::blocking::Client,
    /// The same client, but redirects come back as answers: [`GitLab::fetch`] follows
    /// them itself, so that the token never goes with a hop to another host (reqwest
    /// strips `Authorization` on such a hop, but not GitLab's `PRIVATE-TOKEN`).
    direct: reqwest::blocking::Client,
    api: Url,
    project: Project,
    token: Token,
    retry: RetryPolicy,
    sent: AtomicU64,
    meter: lava_io::transfer::Meter,
}

impl fmt::Debug for GitLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLab")
            .field("api", &self.api.as_str())
            .field("project", &self.project)
            .field("token", &self.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// Builds the client; no request is sent.
    pub fn new(config: Config, token: Token) -> Result<Self> {
        let mut base = Url::parse(&config.base_url).map_err(|source| Error::BaseUrl {
            url: config.base_url.clone(),
            source,
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let api = base.join("api/v4/").map_err(|source| Error::BaseUrl {
            url: config.base_url.clone(),
            source,
        })?;
        let build = |redirects: reqwest::redirect::Policy| {
            let mut builder = reqwest::blocking::Client::builder()
                .user_agent(concat!("lava-release/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(20))
                .timeout(config.request_timeout)
                .redirect(redirects)
                .no_proxy();
            if let Some(proxy) = &config.proxy {
                let proxy =
                    reqwest::Proxy::all(proxy.as_str()).map_err(|source| Error::HttpClient {
                        url: config.base_url.clone(),
                        source,
                    })?;
                builder = builder.proxy(proxy);
            }
            builder.build().map_err(|source| Error::HttpClient {
                url: config.base_url.clone(),
                source,
            })
        };
        let http = build(reqwest::redirect::Policy::default())?;
        let direct = build(reqwest::redirect::Policy::none())?;
        Ok(Self {
            http,
            direct,
            api,
            project: config.project,
            token,
            retry: config.retry,
            sent: AtomicU64::new(0),
            meter: lava_io::transfer::Meter::default(),
        })
    }

    /// This client, reporting its downloads (job artifacts) to `meter`.
    #[must_use]
    pub fn with_meter(mut self, meter: lava_io::transfer::Meter) -> Self {
        self.meter = meter;
        self
    }

    /// The project this client acts on.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The API's base URL, ending in `/api/v4/`.
    pub(crate) fn api_base(&self) -> &Url {
        &self.api
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn url_for<E: Endpoint>(&self, endpoint: &E) -> Result<Url> {
        let mut url = self
            .api
            .join(&endpoint.endpoint())
            .map_err(|source| Error::BaseUrl {
                url: self.api.to_string(),
                source,
            })?;
        endpoint.parameters().add_to_url(&mut url);
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// Whether `url` is on this GitLab (scheme, host and port of the API): the only
    /// place the token is sent.
    pub(crate) fn is_own(&self, url: &Url) -> bool {
        url.scheme() == self.api.scheme()
            && url.host_str() == self.api.host_str()
            && url.port_or_known_default() == self.api.port_or_known_default()
    }

    /// An API request: the redirect-following client, with the token.
    fn api_route<'a>(&'a self, url: &'a Url) -> Route<'a> {
        Route {
            http: &self.http,
            token: true,
            shown: url.as_str(),
        }
    }

    /// Sends until an answer that is not worth retrying, or the policy is spent.
    fn attempts(
        &self,
        call: &Call,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<reqwest::blocking::Response> {
        self.attempts_on(self.api_route(url), call, method, url, headers, body)
    }

    /// [`Self::attempts`] by `route`.
    fn attempts_on(
        &self,
        route: Route<'_>,
        call: &Call,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<reqwest::blocking::Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = route.http.request(method.clone(), url.as_str());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(token) = self.token.header_value().filter(|_| route.token) {
                request = request.header("PRIVATE-TOKEN", token);
            }
            if !body.is_empty() || *method != Method::GET {
                request = request.body(body.to_vec());
            }
            self.sent.fetch_add(1, Ordering::Relaxed);
            match request.send() {
                Err(source) => match self.retry.after_failure(attempt, fastrand::f64()) {
                    Some(wait) => std::thread::sleep(wait),
                    None => {
                        return Err(Error::Transport {
                            call: call.what.clone(),
                            url: route.shown.to_owned(),
                            attempts: attempt,
                            source: source.without_url(),
                        });
                    }
                },
                Ok(response) => {
                    let status = response.status();
                    let asked = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    match self
                        .retry
                        .after_status(attempt, status.as_u16(), asked, fastrand::f64())
                    {
                        Decision::Done => return Ok(response),
                        Decision::TooLong(asked) => {
                            return Err(Error::RateLimited {
                                call: call.what.clone(),
                                url: route.shown.to_owned(),
                                wait_secs: asked.as_secs(),
                                max_secs: self.retry.max_retry_after.as_secs(),
                            });
                        }
                        Decision::Exhausted => {
                            return Err(Error::Exhausted {
                                call: call.what.clone(),
                                url: route.shown.to_owned(),
                                status: status.as_u16(),
                                attempts: attempt,
                            });
                        }
                        Decision::Retry(wait) => {
                            drop(response);
                            std::thread::sleep(wait);
                        }
                    }
                }
            }
        }
    }

    /// Sends and reads the whole answer; a body cut short is retried like a dropped
    /// connection. Error statuses are returned as they are, unmapped.
    fn exchange(
        &self,
        call: &Call,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Answer> {
        self.exchange_on(self.api_route(url), call, method, url, headers, body)
    }

    /// [`Self::exchange`] by `route`.
    fn exchange_on(
        &self,
        route: Route<'_>,
        call: &Call,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Answer> {
        let mut tries = 0;
        loop {
            tries += 1;
            let response = self.attempts_on(route, call, method, url, headers, body)?;
            let status = response.status();
            let headers_in = response.headers().clone();
            match response.bytes() {
                Ok(bytes) => {
                    return Ok(Answer {
                        status,
                        headers: headers_in,
                        body: bytes,
                    });
                }
                Err(source) => match self.retry.after_failure(tries, fastrand::f64()) {
                    Some(wait) => std::thread::sleep(wait),
                    None => {
                        return Err(Error::Transport {
                            call: call.what.clone(),
                            url: route.shown.to_owned(),
                            attempts: tries,
                            source: source.without_url(),
                        });
                    }
                },
            }
        }
    }

    /// Sends one call and maps error statuses to sentences.
    pub(crate) fn send(
        &self,
        call: &Call,
        method: Method,
        url: &Url,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer> {
        let mut headers = HeaderMap::new();
        let body = match body {
            Some((mime, data)) => {
                if let Ok(v) = HeaderValue::from_str(mime) {
                    headers.insert(http::header::CONTENT_TYPE, v);
                }
                data
            }
            None => Vec::new(),
        };
        let answer = self.exchange(call, &method, url, &headers, &body)?;
        self.check(call, url, answer)
    }

    fn check(&self, call: &Call, url: &Url, answer: Answer) -> Result<Answer> {
        if answer.status.is_success() {
            return Ok(answer);
        }
        let message = gitlab_message(&answer.body);
        let url = url.to_string();
        Err(match answer.status.as_u16() {
            401 if self.token.is_anonymous() => Error::TokenNeeded {
                call: call.what.clone(),
                url,
                scope: call.scope(),
            },
            401 => Error::Unauthorized {
                call: call.what.clone(),
                url,
                scope: call.scope(),
            },
            403 => Error::Forbidden {
                call: call.what.clone(),
                project: self.project.to_string(),
                url,
                scope: call.scope(),
            },
            404 if message.contains("Project Not Found") => Error::NotFound {
                call: call.what.clone(),
                missing: format!("project `{}`", self.project),
                url,
                message,
                hint: if self.token.is_anonymous() {
                    "the project path or id in the config; a private project is read with a token (GITLAB_TOKEN or the token file)"
                } else {
                    "the project path or id in the config, and that the token's user is a member"
                }
                .into(),
            },
            404 => Error::NotFound {
                call: call.what.clone(),
                missing: call.missing.clone(),
                url,
                message,
                hint: call.hint.clone(),
            },
            status => Error::Api {
                call: call.what.clone(),
                url,
                status,
                message,
            },
        })
    }

    /// One endpoint, decoded.
    pub(crate) fn json<E: Endpoint, T: DeserializeOwned>(
        &self,
        call: &Call,
        endpoint: &E,
    ) -> Result<T> {
        let url = self.url_for(endpoint)?;
        let body = endpoint.body().ok().flatten();
        let answer = self.send(call, endpoint.method(), &url, body)?;
        decode(call, &url, &answer.body)
    }

    /// One endpoint, decoded, with 404 as `None` (for "does it exist yet?").
    pub(crate) fn optional_json<E: Endpoint, T: DeserializeOwned>(
        &self,
        call: &Call,
        endpoint: &E,
    ) -> Result<Option<T>> {
        match self.json(call, endpoint) {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound { missing, .. }) if !missing.starts_with("project ") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A list endpoint, every page: follows `x-next-page` (or `Link: rel="next"`) until
    /// GitLab says there is none, 100 items a page.
    pub(crate) fn all<E: Endpoint, T: DeserializeOwned>(
        &self,
        call: &Call,
        endpoint: &E,
    ) -> Result<Vec<T>> {
        self.pages(call, endpoint, None)
    }

    /// Like [`Self::all`] but stops after `limit` items (newest first where sorted so).
    /// A whole list shorter than the `x-total` GitLab announced (a page lost on the way)
    /// is read again once, then an error: never a silently short list.
    pub(crate) fn pages<E: Endpoint, T: DeserializeOwned>(
        &self,
        call: &Call,
        endpoint: &E,
        limit: Option<usize>,
    ) -> Result<Vec<T>> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (items, total, url) = self.read_pages(call, endpoint, limit)?;
            match total {
                Some(total) if limit.is_none() && (items.len() as u64) < total => {
                    if tries >= 2 {
                        return Err(Error::ShortList {
                            call: call.what.clone(),
                            url,
                            got: items.len() as u64,
                            total,
                        });
                    }
                }
                _ => return Ok(items),
            }
        }
    }

    /// Every page (or up to `limit` items), and the `x-total` of the last answer.
    fn read_pages<E: Endpoint, T: DeserializeOwned>(
        &self,
        call: &Call,
        endpoint: &E,
        limit: Option<usize>,
    ) -> Result<(Vec<T>, Option<u64>, String)> {
        let first = self.url_for(endpoint)?;
        let per_page = limit.map_or(100, |l| l.clamp(1, 100));
        let mut items = Vec::new();
        let mut page = 1u64;
        loop {
            let mut url = first.clone();
            url.query_pairs_mut()
                .append_pair("per_page", &per_page.to_string())
                .append_pair("page", &page.to_string());
            let answer = self.send(call, endpoint.method(), &url, None)?;
            let batch: Vec<T> = decode(call, &url, &answer.body)?;
            let got = batch.len();
            items.extend(batch);
            let total = answer
                .headers
                .get("x-total")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let done = |items: Vec<T>| Ok((items, total, first.to_string()));
            if limit.is_some_and(|l| items.len() >= l) {
                items.truncate(limit.unwrap_or(usize::MAX));
                return done(items);
            }
            match next_page(&answer.headers) {
                NextPage::Page(n) if n > page => page = n,
                NextPage::Page(_) | NextPage::None => return done(items),
                // Headers absent (GitLab omits x-total for large tables): a short page is the last.
                NextPage::Unknown if got < per_page => return done(items),
                NextPage::Unknown => page += 1,
            }
        }
    }

    /// GETs `url`, which may be anywhere (a release link's target), following up to
    /// [`MAX_REDIRECTS`] redirects itself: the token goes with a hop only when it is on
    /// this GitLab ([`Self::is_own`]), so a redirect to object storage or a mirror never
    /// carries it. An error names `url` as asked, never a later hop (a signed storage
    /// URL holds credentials in its query); GitLab's own error answers are mapped as
    /// every call's are, another host's are [`Error::Elsewhere`].
    pub(crate) fn fetch(&self, call: &Call, url: &Url) -> Result<Bytes> {
        let mut hop = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let own = self.is_own(&hop);
            let route = Route {
                http: &self.direct,
                token: own,
                shown: url.as_str(),
            };
            let answer =
                self.exchange_on(route, call, &Method::GET, &hop, &HeaderMap::new(), &[])?;
            if answer.status.is_redirection() {
                let next = answer
                    .headers
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|location| hop.join(location).ok());
                if let Some(next) = next {
                    hop = next;
                    continue;
                }
            }
            if own {
                return self.check(call, url, answer).map(|a| a.body);
            }
            if answer.status.is_success() {
                return Ok(answer.body);
            }
            return Err(Error::Elsewhere {
                call: call.what.clone(),
                url: url.to_string(),
                host: match (hop.host_str(), hop.port()) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (host, _) => host.unwrap_or_default().to_owned(),
                },
                status: answer.status.as_u16(),
                message: gitlab_message(&answer.body),
            });
        }
        Err(Error::Redirects {
            call: call.what.clone(),
            url: url.to_string(),
            max: MAX_REDIRECTS,
        })
    }

    /// Streams a GET body into `dest`, retrying a transfer that breaks off. Returns the size.
    /// Streams `url` into `dest`, reported to the meter as `label`.
    pub(crate) fn download(
        &self,
        call: &Call,
        url: &Url,
        dest: &std::path::Path,
        label: &str,
    ) -> Result<u64> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut response = self.attempts(call, &Method::GET, url, &HeaderMap::new(), &[])?;
            if !response.status().is_success() {
                let status = response.status();
                let headers = response.headers().clone();
                let mut body = Vec::new();
                // The error body only words the message; a failure to read it leaves it empty.
                let _ = response.by_ref().take(64 * 1024).read_to_end(&mut body);
                self.check(
                    call,
                    url,
                    Answer {
                        status,
                        headers,
                        body: body.into(),
                    },
                )?;
            }
            let expected = response.content_length();
            let mut file = std::fs::File::create(dest).map_err(|source| Error::File {
                action: "create",
                path: dest.to_owned(),
                source,
            })?;
            let mut body = self.meter.start(label, expected).reader(&mut response);
            let copied = std::io::copy(&mut body, &mut file).and_then(|n| {
                file.sync_all()?;
                match expected {
                    Some(len) if len != n => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("got {n} of {len} bytes"),
                    )),
                    _ => Ok(n),
                }
            });
            match copied {
                Ok(n) => return Ok(n),
                Err(source) => match self.retry.after_failure(tries, fastrand::f64()) {
                    Some(wait) => std::thread::sleep(wait),
                    None => {
                        return Err(Error::Download {
                            url: url.to_string(),
                            path: dest.to_owned(),
                            source,
                        });
                    }
                },
            }
        }
    }
}

/// Redirects [`GitLab::fetch`] follows before giving up (reqwest's default too).
const MAX_REDIRECTS: u32 = 10;

/// How one request goes out.
#[derive(Clone, Copy)]
struct Route<'a> {
    http: &'a reqwest::blocking::Client,
    /// Whether the token goes with it.
    token: bool,
    /// The URL errors name.
    shown: &'a str,
}

enum NextPage {
    Page(u64),
    None,
    Unknown,
}

/// GitLab's offset pagination: `x-next-page` is empty on the last page; `Link` carries
/// `rel="next"` when there is one.
fn next_page(headers: &HeaderMap) -> NextPage {
    if let Some(v) = headers.get("x-next-page").and_then(|v| v.to_str().ok()) {
        return match v.trim().parse::<u64>() {
            Ok(n) => NextPage::Page(n),
            Err(_) => NextPage::None,
        };
    }
    if let Some(link) = headers
        .get(http::header::LINK)
        .and_then(|v| v.to_str().ok())
    {
        let next = link
            .split(',')
            .filter(|part| part.contains("rel=\"next\""))
            .find_map(|part| {
                let start = part.find('<')?;
                let end = part.find('>')?;
                let url = Url::parse(part.get(start + 1..end)?).ok()?;
                let (_, p) = url.query_pairs().find(|(k, _)| k == "page")?;
                p.parse().ok()
            });
        return next.map_or(NextPage::None, NextPage::Page);
    }
    NextPage::Unknown
}

fn decode<T: DeserializeOwned>(call: &Call, url: &Url, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| Error::Decode {
        call: call.what.clone(),
        url: url.to_string(),
        source,
    })
}

/// GitLab's error bodies are `{"message": ...}` (a string or an object of field errors)
/// or `{"error": ...}`; anything else is quoted short.
fn gitlab_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "error"] {
            match v.get(key) {
                Some(serde_json::Value::String(s)) => return s.clone(),
                Some(other) if !other.is_null() => return other.to_string(),
                _ => {}
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

impl gitlab::api::RestClient for GitLab {
    type Error = Error;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        self.api.join(endpoint).map_err(|source| {
            ApiError::client(Error::BaseUrl {
                url: self.api.to_string(),
                source,
            })
        })
    }
}

impl gitlab::api::Client for GitLab {
    /// Sends with this client's retries; statuses are left to the `gitlab` crate to read.
    fn rest(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        let uri = request.uri_ref().map(|u| u.to_string()).unwrap_or_default();
        let request = request.body(body).map_err(|source| {
            ApiError::client(Error::InvalidRequest {
                url: uri.clone(),
                source,
            })
        })?;
        let url = Url::parse(&uri).map_err(|source| {
            ApiError::client(Error::BaseUrl {
                url: uri.clone(),
                source,
            })
        })?;
        let call = Call {
            what: format!("{} {}", request.method(), url.path()),
            write: request.method() != Method::GET,
            missing: "the resource".into(),
            hint: "the path".into(),
        };
        let answer = self
            .exchange(
                &call,
                request.method(),
                &url,
                request.headers(),
                request.body(),
            )
            .map_err(ApiError::client)?;
        let mut response = http::Response::new(answer.body);
        *response.status_mut() = answer.status;
        *response.headers_mut() = answer.headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::new("glpat-secret-value");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let gl = GitLab::new(
            Config::new("http://127.0.0.1:1", Project::Path("lava/lava".into())),
            t,
        )
        .unwrap();
        assert!(!format!("{gl:?}").contains("glpat-secret-value"));
    }

    #[test]
    fn project_parses_ids_and_paths() {
        assert_eq!("2".parse::<Project>().unwrap(), Project::Id(2));
        assert_eq!(
            "/lava/lava/".parse::<Project>().unwrap(),
            Project::Path("lava/lava".into())
        );
    }

    #[test]
    fn gitlab_messages_are_read_from_json_or_quoted() {
        assert_eq!(
            gitlab_message(br#"{"message":"404 Project Not Found"}"#),
            "404 Project Not Found"
        );
        assert_eq!(
            gitlab_message(br#"{"error":"insufficient_scope"}"#),
            "insufficient_scope"
        );
        assert_eq!(
            gitlab_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(gitlab_message(b""), "(empty body)");
    }

    #[test]
    fn next_page_reads_headers_then_link() {
        let mut h = HeaderMap::new();
        assert!(matches!(next_page(&h), NextPage::Unknown));
        h.insert("link", r#"<http://x/api/v4/p?page=3&per_page=100>; rel="next", <http://x/api/v4/p?page=1>; rel="first""#.parse().unwrap());
        assert!(matches!(next_page(&h), NextPage::Page(3)));
        h.insert("x-next-page", "".parse().unwrap());
        assert!(matches!(next_page(&h), NextPage::None));
    }
}
