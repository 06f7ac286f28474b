//! Container registry stand-ins: a real `docker-registry` (Debian package
//! `docker-registry`) on a 127.0.0.1 port with its own config and storage, optionally
//! behind htpasswd basic auth or Docker Hub-style token auth (a token server signing
//! JWTs with a generated key and certificate); a TCP proxy that injects faults; and an
//! image maker that writes OCI layouts of random layers (two arches, a shared base
//! layer) and pushes them through the registry API, without Docker.
//!
//! Processes started here are stopped by PID when their handle drops.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};

use crate::loopback::Loopback;
pub use crate::tools::require_tool;
use base64::Engine as _;
use sha2::Digest as _;

/// The registry binary of the Debian package `docker-registry`.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Writes a Docker/containers auth file (`{"auths": {host: {"auth": base64}}}`) for
/// skopeo and the docker CLI, so passwords stay off command lines.
pub fn write_authfile(path: &Path, host: &str, user: &str, password: &str) -> anyhow::Result<()> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        path,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// How a registry authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may push and pull.
    None,
    /// htpasswd basic auth with one user.
    Htpasswd {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Docker Hub's scheme: 401 with a Bearer challenge, a token endpoint taking basic
    /// credentials, JWTs per scope.
    Token {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

/// A running `docker-registry`; stopped (by PID) on drop.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    token_server: Option<TokenServer>,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Registry {
    /// Starts a registry with its own storage in a temporary directory.
    pub fn start(auth: Auth) -> anyhow::Result<Self> {
        Self::start_with_storage(auth, None)
    }

    /// Starts a registry on `storage` (kept after the registry stops, so a benchmark can
    /// reuse a populated source), or on a temporary directory.
    pub fn start_with_storage(auth: Auth, storage: Option<&Path>) -> anyhow::Result<Self> {
        require_tool(REGISTRY_BIN, "docker-registry")?;
        let dir = tempfile::Builder::new()
            .prefix("lava-registry-")
            .tempdir()
            .context("cannot create a registry directory")?;
        let storage = match storage {
            Some(path) => path.to_owned(),
            None => dir.path().join("storage"),
        };
        std::fs::create_dir_all(&storage)
            .with_context(|| format!("cannot create {}", storage.display()))?;
        let mut token_server = None;
        let auth_section = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                require_tool("htpasswd", "apache2-utils")?;
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .context("cannot run htpasswd")?;
                ensure!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: lava-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token { user, password } => {
                let server = TokenServer::start(dir.path(), user, password)?;
                let section = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.realm(),
                    TOKEN_SERVICE,
                    TOKEN_ISSUER,
                    server.cert.display()
                );
                token_server = Some(server);
                section
            }
        };
        let port = free_port()?;
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: lava-test-secret\n{auth_section}",
                storage.display()
            ),
        )?;
        let log = File::create(dir.path().join("registry.log"))?;
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {REGISTRY_BIN}"))?;
        let mut registry = Self {
            child,
            port,
            dir,
            token_server,
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "docker-registry exited with {status}: {}",
                    std::fs::read_to_string(self.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut answer = [0u8; 12];
                if stream.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.") {
                    return Ok(());
                }
            }
            ensure!(
                Instant::now() < deadline,
                "docker-registry did not answer on 127.0.0.1:{} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:<port>`, the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The registry's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Token requests served so far (0 without token auth).
    pub fn token_requests(&self) -> usize {
        self.token_server
            .as_ref()
            .map_or(0, |t| t.requests.load(Ordering::SeqCst))
    }

    /// The registry's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // Stop exactly the process this handle started.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOKEN_SERVICE: &str = "lava-test-registry";
const TOKEN_ISSUER: &str = "lava-test-issuer";

/// Docker Hub's token endpoint, in miniature: `GET /token?service=..&scope=..` with
/// basic credentials answers `{"token": JWT}` granting the scopes asked for, signed
/// (RS256) with a key whose self-signed certificate is the registry's root bundle.
struct TokenServer {
    server: Loopback,
    cert: PathBuf,
    requests: Arc<AtomicUsize>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenServer {
    fn start(dir: &Path, user: &str, password: &str) -> anyhow::Result<Self> {
        require_tool("openssl", "openssl")?;
        let key = dir.join("token-key.pem");
        let cert = dir.join("token-cert.pem");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=lava-test-token-issuer", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .output()
            .context("cannot run openssl")?;
        ensure!(
            out.status.success(),
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .context("cannot run openssl")?;
        ensure!(der.status.success(), "openssl x509 failed");
        let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
        // One request per connection, each in its own thread: tiny_http's small pool
        // starved new connections behind idle keep-alive ones.
        let requests = Arc::new(AtomicUsize::new(0));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let user = user.to_owned();
        let counted = requests.clone();
        let server = Loopback::serve("registry-token", move |stream, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            let Ok(reader) = stream.try_clone() else {
                return;
            };
            let mut reader = BufReader::new(reader);
            let Ok(head) = read_head(&mut reader) else {
                return;
            };
            let url = head
                .first()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or("")
                .to_owned();
            let authorized = head.iter().any(|h| {
                h.split_once(':').is_some_and(|(name, value)| {
                    name.eq_ignore_ascii_case("authorization") && value.trim() == expected
                })
            });
            let (status, body) = if authorized {
                match sign_token(&key, &x5c, &user, &url) {
                    Ok(token) => (
                        "200 OK",
                        format!(
                            "{{\"token\":\"{token}\",\"access_token\":\"{token}\",\"expires_in\":300}}"
                        ),
                    ),
                    Err(e) => ("500 Internal Server Error", format!("{e:#}")),
                }
            } else {
                (
                    "401 Unauthorized",
                    "{\"details\":\"incorrect username or password\"}".to_owned(),
                )
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Both);
        })
        .context("cannot listen on 127.0.0.1")?;
        Ok(Self {
            server,
            cert,
            requests,
        })
    }

    fn realm(&self) -> String {
        self.server.url("token")
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JWT granting every scope in the query of `url`.
fn sign_token(key: &Path, x5c: &str, user: &str, url: &str) -> anyhow::Result<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut service = String::new();
    let mut access = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "service" => service = value,
            "scope" => {
                // repository:name:actions; a name may hold a port-less path only.
                let mut parts = value.splitn(3, ':');
                let (Some(kind), Some(name), Some(actions)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let actions: Vec<_> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
                access.push(format!(
                    "{{\"type\":\"{kind}\",\"name\":\"{name}\",\"actions\":[{}]}}",
                    actions.join(",")
                ));
            }
            _ => {}
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let header = format!("{{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"{x5c}\"]}}");
    let claims = format!(
        "{{\"iss\":\"{TOKEN_ISSUER}\",\"sub\":\"{user}\",\"aud\":\"{service}\",\"exp\":{},\"nbf\":{},\"iat\":{now},\"jti\":\"{now}-{}\",\"access\":[{}]}}",
        now + 300,
        now - 10,
        std::process::id(),
        access.join(",")
    );
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run openssl dgst")?;
    child
        .stdin
        .take()
        .context("openssl has a stdin")?
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    ensure!(out.status.success(), "openssl dgst -sign failed");
    Ok(format!("{input}.{}", b64url(&out.stdout)))
}

/// A fault the proxy injects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward the response head and `after` body bytes of the next `times` requests
    /// whose method and path match, then drop both connections.
    DropMidBody {
        /// HTTP method.
        method: String,
        /// A substring of the path.
        path_contains: String,
        /// Body bytes forwarded before the drop.
        after: usize,
        /// How many requests to break.
        times: usize,
    },
    /// Answer the next `times` matching requests with a status without forwarding them.
    Status {
        /// HTTP method.
        method: String,
        /// A substring of the path.
        path_contains: String,
        /// The status code (500, 503, ...).
        status: u16,
        /// How many requests to answer so.
        times: usize,
    },
}

/// A TCP proxy on 127.0.0.1 in front of a registry, one request per connection (it
/// asks for `Connection: close`), injecting [`Fault`]s. Requests it saw are logged.
pub struct FaultProxy {
    server: Loopback,
    faults: Arc<Mutex<Vec<Fault>>>,
    fired: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Proxies to `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16) -> anyhow::Result<Self> {
        let upstream: SocketAddr = ([127, 0, 0, 1], upstream_port).into();
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let fired = Arc::new(AtomicUsize::new(0));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let server = {
            let (faults, fired, seen) = (faults.clone(), fired.clone(), seen.clone());
            Loopback::serve("registry-proxy", move |client, _| {
                let _ = proxy_one(client, upstream, &faults, &fired, &seen);
            })
            .context("cannot listen on 127.0.0.1")?
        };
        Ok(Self {
            server,
            faults,
            fired,
            seen,
        })
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Arms a fault.
    pub fn inject(&self, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(fault);
    }

    /// Faults fired so far.
    pub fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    /// `METHOD path` of every request seen.
    pub fn requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

enum Action {
    Forward,
    Drop(usize),
    Status(u16),
}

fn take_fault(faults: &Mutex<Vec<Fault>>, method: &str, path: &str) -> Action {
    let mut faults = faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for fault in faults.iter_mut() {
        match fault {
            Fault::DropMidBody {
                method: m,
                path_contains,
                after,
                times,
            } if *times > 0 && m == method && path.contains(path_contains.as_str()) => {
                *times -= 1;
                return Action::Drop(*after);
            }
            Fault::Status {
                method: m,
                path_contains,
                status,
                times,
            } if *times > 0 && m == method && path.contains(path_contains.as_str()) => {
                *times -= 1;
                return Action::Status(*status);
            }
            _ => {}
        }
    }
    Action::Forward
}

fn read_head(reader: &mut BufReader<TcpStream>) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        ensure!(n > 0, "connection closed in the head");
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

fn proxy_one(
    client: TcpStream,
    upstream: SocketAddr,
    faults: &Mutex<Vec<Fault>>,
    fired: &AtomicUsize,
    seen: &Mutex<Vec<String>>,
) -> anyhow::Result<()> {
    let mut client_reader = BufReader::new(client.try_clone()?);
    let head = read_head(&mut client_reader)?;
    let request_line = head.first().context("an empty request")?.clone();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(format!("{method} {path}"));
    let action = take_fault(faults, &method, &path);
    let mut client_writer = client.try_clone()?;
    if let Action::Status(status) = action {
        fired.fetch_add(1, Ordering::SeqCst);
        // Read a small body so the client sees the answer, not a reset.
        let length: usize = head
            .iter()
            .find_map(|h| {
                let (name, value) = h.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if length <= 1 << 20 {
            let mut body = vec![0; length];
            client_reader.read_exact(&mut body)?;
        }
        let body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected fault\"}]}";
        write!(
            client_writer,
            "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        client_writer.flush()?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let upstream_stream = TcpStream::connect(upstream)?;
    let mut upstream_writer = upstream_stream.try_clone()?;
    let mut rewritten = String::new();
    for line in &head {
        let name = line.split(':').next().unwrap_or("");
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    upstream_writer.write_all(rewritten.as_bytes())?;
    // The rest of the request body, as it comes.
    let uploader = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    let mut upstream_reader = BufReader::new(upstream_stream.try_clone()?);
    match action {
        Action::Drop(after) => {
            let head = read_head(&mut upstream_reader)?;
            let mut text = head.join("\r\n");
            text.push_str("\r\n\r\n");
            client_writer.write_all(text.as_bytes())?;
            let mut limited = (&mut upstream_reader).take(after as u64);
            std::io::copy(&mut limited, &mut client_writer)?;
            client_writer.flush()?;
            fired.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream_stream.shutdown(Shutdown::Both);
        }
        _ => {
            let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
            let _ = client.shutdown(Shutdown::Both);
        }
    }
    let _ = uploader.join();
    Ok(())
}

/// Manifest media types the image maker writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTypes {
    /// Docker v2 schema 2.
    Docker,
    /// OCI.
    Oci,
}

impl MediaTypes {
    fn manifest(self) -> &'static str {
        match self {
            Self::Docker => "application/vnd.docker.distribution.manifest.v2+json",
            Self::Oci => "application/vnd.oci.image.manifest.v1+json",
        }
    }
    fn config(self) -> &'static str {
        match self {
            Self::Docker => "application/vnd.docker.container.image.v1+json",
            Self::Oci => "application/vnd.oci.image.config.v1+json",
        }
    }
    fn layer(self) -> &'static str {
        match self {
            Self::Docker => "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Self::Oci => "application/vnd.oci.image.layer.v1.tar+gzip",
        }
    }
}

/// An architecture of the image set: its name in LAVA's image names and its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    /// Name in image names (`amd64`, `aarch64`).
    pub name: String,
    /// Platform architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Platform variant (`v8`).
    pub variant: Option<String>,
}

/// LAVA's two arches.
pub fn lava_arches() -> Vec<Arch> {
    vec![
        Arch {
            name: "amd64".into(),
            architecture: "amd64".into(),
            variant: None,
        },
        Arch {
            name: "aarch64".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        },
    ]
}

/// The shape of a generated image set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSetSpec {
    /// Image names.
    pub images: Vec<String>,
    /// Arches.
    pub arches: Vec<Arch>,
    /// Bytes of the per-arch base layer every image of that arch shares.
    pub base_size: usize,
    /// Bytes of each image's own layer.
    pub own_size: usize,
    /// Media types.
    pub media: MediaTypes,
    /// Seed of the random content; change it for different digests.
    pub seed: u64,
    /// The `org.opencontainers.image.version` label of every image, as CI sets it.
    pub version_label: Option<String>,
    /// The content of `usr/lib/python3/dist-packages/lava_common/VERSION` in each
    /// image's own layer, as LAVA's Dockerfiles write it: the first entry of the layer,
    /// before its bulk (LAVA's install tree has it after `etc/` and `lava_common`'s few
    /// modules, before the other Python packages and the documentation).
    pub version_file: Option<String>,
}

impl ImageSetSpec {
    /// LAVA's images and arches with small layers.
    pub fn small(seed: u64) -> Self {
        Self {
            images: vec!["lava-dispatcher".into(), "lava-server".into()],
            arches: lava_arches(),
            base_size: 64 * 1024,
            own_size: 16 * 1024,
            media: MediaTypes::Docker,
            seed,
            version_label: None,
            version_file: None,
        }
    }

    fn fingerprint(&self) -> String {
        format!("{self:?} v1")
    }
}

/// A blob of a generated image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Media type.
    pub media_type: String,
    /// `sha256:...`.
    pub digest: String,
    /// Size.
    pub size: u64,
}

/// A generated per-arch image, its blobs in an OCI layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// Image name.
    pub image: String,
    /// Arch name.
    pub arch: String,
    /// The config blob.
    pub config: Blob,
    /// The layers, base first.
    pub layers: Vec<Blob>,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's digest.
    pub digest: String,
}

/// A generated image set in an OCI layout directory (`oci-layout`, `index.json`,
/// `blobs/sha256/`).
#[derive(Debug, Clone)]
pub struct ImageLayout {
    /// The layout directory.
    pub dir: PathBuf,
    /// The images, by image then arch.
    pub images: Vec<BuiltImage>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let sum = sha2::Sha256::digest(bytes);
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes and counts what passes.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Random bytes from a seed, fast (xorshift64*), as a reader of `len` bytes.
struct RandomReader {
    state: u64,
    left: usize,
}

impl Read for RandomReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left) / 8 * 8;
        let n = if n == 0 { buf.len().min(self.left) } else { n };
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let word = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.left -= n;
        Ok(n)
    }
}

impl ImageLayout {
    /// Generates the set into `dir`, or loads it when `dir` already holds this spec.
    pub fn generate(spec: &ImageSetSpec, dir: &Path) -> anyhow::Result<Self> {
        let stamp = dir.join(".complete");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(spec.fingerprint().as_str())
            && let Ok(layout) = Self::load(dir)
        {
            return Ok(layout);
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs)
            .with_context(|| format!("cannot create {}", blobs.display()))?;
        let mut bases = BTreeMap::new();
        let mut images = Vec::new();
        for (a, arch) in spec.arches.iter().enumerate() {
            let base = write_layer(
                &blobs,
                spec,
                &format!("base-{}", arch.name),
                spec.seed ^ (0x1000 + a as u64),
                spec.base_size,
                None,
            )?;
            bases.insert(arch.name.clone(), base);
        }
        for (i, image) in spec.images.iter().enumerate() {
            for (a, arch) in spec.arches.iter().enumerate() {
                let (base, base_diff) = bases[&arch.name].clone();
                let version_file = spec.version_file.as_ref().map(|v| {
                    (
                        "usr/lib/python3/dist-packages/lava_common/VERSION",
                        format!("{v}\n").into_bytes(),
                    )
                });
                let (own, own_diff) = write_layer(
                    &blobs,
                    spec,
                    &format!("{image}-{}", arch.name),
                    spec.seed ^ (0x10_0000 + (i as u64) * 64 + a as u64),
                    spec.own_size,
                    version_file.as_ref().map(|(p, c)| (*p, c.as_slice())),
                )?;
                let variant = arch
                    .variant
                    .as_ref()
                    .map(|v| format!(",\"variant\":\"{v}\""))
                    .unwrap_or_default();
                let version = spec
                    .version_label
                    .as_ref()
                    .map(|v| format!(",\"org.opencontainers.image.version\":\"{v}\""))
                    .unwrap_or_default();
                let config = format!(
                    "{{\"architecture\":\"{}\",\"os\":\"linux\"{variant},\"created\":\"2024-01-15T10:00:00Z\",\"config\":{{\"Cmd\":[\"/bin/sh\"],\"Labels\":{{\"org.lavasoftware.image\":\"{image}\",\"org.lavasoftware.seed\":\"{}\"{version}}}}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{base_diff}\",\"sha256:{own_diff}\"]}},\"history\":[{{\"created\":\"2024-01-15T10:00:00Z\",\"created_by\":\"lava-test base\"}},{{\"created\":\"2024-01-15T10:00:00Z\",\"created_by\":\"lava-test {image}\"}}]}}",
                    arch.architecture, spec.seed
                );
                let config_hex = sha256_hex(config.as_bytes());
                std::fs::write(blobs.join(&config_hex), &config)?;
                let config_blob = Blob {
                    media_type: spec.media.config().into(),
                    digest: format!("sha256:{config_hex}"),
                    size: config.len() as u64,
                };
                let layers = vec![base, own];
                let manifest = manifest_json(spec.media, &config_blob, &layers);
                let manifest_hex = sha256_hex(manifest.as_bytes());
                std::fs::write(blobs.join(&manifest_hex), &manifest)?;
                images.push(BuiltImage {
                    image: image.clone(),
                    arch: arch.name.clone(),
                    config: config_blob,
                    layers,
                    manifest: manifest.into_bytes(),
                    media_type: spec.media.manifest().into(),
                    digest: format!("sha256:{manifest_hex}"),
                });
            }
        }
        let layout = Self {
            dir: dir.to_owned(),
            images,
        };
        layout.save()?;
        std::fs::write(&stamp, spec.fingerprint())?;
        Ok(layout)
    }

    fn save(&self) -> anyhow::Result<()> {
        std::fs::write(
            self.dir.join("oci-layout"),
            "{\"imageLayoutVersion\":\"1.0.0\"}",
        )?;
        let manifests: Vec<serde_json::Value> = self
            .images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "mediaType": i.media_type,
                    "digest": i.digest,
                    "size": i.manifest.len(),
                    "annotations": {"org.opencontainers.image.ref.name": format!("{}-{}", i.arch, i.image)}
                })
            })
            .collect();
        let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec_pretty(&index)?,
        )?;
        Ok(())
    }

    fn load(dir: &Path) -> anyhow::Result<Self> {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
        let mut images = Vec::new();
        for entry in index["manifests"]
            .as_array()
            .context("index.json lists manifests")?
        {
            let digest = entry["digest"].as_str().context("a digest")?.to_owned();
            let name = entry["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .context("a ref name")?;
            let (arch, image) = name.split_once('-').context("arch-image")?;
            let manifest = std::fs::read(blob_path(dir, &digest))?;
            let doc: serde_json::Value = serde_json::from_slice(&manifest)?;
            let blob = |v: &serde_json::Value| -> anyhow::Result<Blob> {
                Ok(Blob {
                    media_type: v["mediaType"].as_str().context("mediaType")?.to_owned(),
                    digest: v["digest"].as_str().context("digest")?.to_owned(),
                    size: v["size"].as_u64().context("size")?,
                })
            };
            images.push(BuiltImage {
                image: image.to_owned(),
                arch: arch.to_owned(),
                config: blob(&doc["config"])?,
                layers: doc["layers"]
                    .as_array()
                    .context("layers")?
                    .iter()
                    .map(blob)
                    .collect::<anyhow::Result<_>>()?,
                media_type: entry["mediaType"].as_str().context("mediaType")?.to_owned(),
                manifest,
                digest,
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            images,
        })
    }

    /// The image `image` for arch `arch`.
    pub fn image(&self, image: &str, arch: &str) -> &BuiltImage {
        self.images
            .iter()
            .find(|i| i.image == image && i.arch == arch)
            .unwrap_or_else(|| panic!("the layout has no {arch}/{image}"))
    }

    /// Path of a blob.
    pub fn blob(&self, digest: &str) -> PathBuf {
        blob_path(&self.dir, digest)
    }

    /// Pushes every image to `host` as `{repo_prefix}/{arch}/{image}:{tag}` (LAVA's CI
    /// layout) through the registry API, with basic credentials when given.
    pub fn push_all(
        &self,
        host: &str,
        repo_prefix: &str,
        tag: &str,
        basic: Option<(&str, &str)>,
    ) -> anyhow::Result<()> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()?;
        for image in &self.images {
            let repo = format!("{repo_prefix}/{}/{}", image.arch, image.image);
            self.push(&client, host, &repo, tag, image, basic)?;
        }
        Ok(())
    }

    /// Pushes one image as `repo:tag`.
    pub fn push(
        &self,
        client: &reqwest::blocking::Client,
        host: &str,
        repo: &str,
        tag: &str,
        image: &BuiltImage,
        basic: Option<(&str, &str)>,
    ) -> anyhow::Result<()> {
        let with_auth = |r: reqwest::blocking::RequestBuilder| match basic {
            Some((user, password)) => r.basic_auth(user, Some(password)),
            None => r,
        };
        for blob in std::iter::once(&image.config).chain(&image.layers) {
            let url = format!("http://{host}/v2/{repo}/blobs/{}", blob.digest);
            if with_auth(client.head(&url)).send()?.status().is_success() {
                continue;
            }
            let start =
                with_auth(client.post(format!("http://{host}/v2/{repo}/blobs/uploads/"))).send()?;
            ensure!(
                start.status().as_u16() == 202,
                "POST upload to {host}/{repo} returned {}",
                start.status()
            );
            let location = start
                .headers()
                .get("location")
                .and_then(|h| h.to_str().ok())
                .context("an upload Location")?;
            let location = if location.starts_with("http") {
                location.to_owned()
            } else {
                format!("http://{host}{location}")
            };
            let separator = if location.contains('?') { '&' } else { '?' };
            let file = File::open(self.blob(&blob.digest))?;
            let put = with_auth(
                client
                    .put(format!("{location}{separator}digest={}", blob.digest))
                    .header("content-type", "application/octet-stream")
                    .body(reqwest::blocking::Body::sized(file, blob.size)),
            )
            .send()?;
            ensure!(
                put.status().as_u16() == 201,
                "PUT blob {} to {host}/{repo} returned {}: {}",
                blob.digest,
                put.status(),
                put.text().unwrap_or_default()
            );
        }
        let put = with_auth(
            client
                .put(format!("http://{host}/v2/{repo}/manifests/{tag}"))
                .header("content-type", &image.media_type)
                .body(image.manifest.clone()),
        )
        .send()?;
        ensure!(
            put.status().as_u16() == 201,
            "PUT manifest {host}/{repo}:{tag} returned {}: {}",
            put.status(),
            put.text().unwrap_or_default()
        );
        Ok(())
    }
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs")
        .join("sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn manifest_json(media: MediaTypes, config: &Blob, layers: &[Blob]) -> String {
    let descriptor = |b: &Blob| {
        format!(
            "{{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\"}}",
            b.media_type, b.size, b.digest
        )
    };
    let layers: Vec<_> = layers.iter().map(descriptor).collect();
    format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"config\":{},\"layers\":[{}]}}",
        media.manifest(),
        descriptor(config),
        layers.join(",")
    )
}

/// Writes a gzip'd tar layer holding one file of `size` random bytes; returns its blob
/// and its diff ID (hex sha256 of the tar). Gzip level 0 keeps generation fast while the
/// layer stays valid for `docker pull`.
fn write_layer(
    blobs: &Path,
    spec: &ImageSetSpec,
    name: &str,
    seed: u64,
    size: usize,
    first: Option<(&str, &[u8])>,
) -> anyhow::Result<(Blob, String)> {
    let tmp = blobs.join(format!(".tmp-{name}"));
    let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let gz_hash = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hasher: sha2::Sha256::new(),
        count: 0,
    };
    let gz = flate2::write::GzEncoder::new(gz_hash, flate2::Compression::none());
    let tar_hash = Hashing {
        inner: gz,
        hasher: sha2::Sha256::new(),
        count: 0,
    };
    let mut tar = tar::Builder::new(tar_hash);
    if let Some((path, content)) = first {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_705_312_800);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, content)?;
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_mtime(1_705_312_800);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(
        &mut header,
        format!("lava/{name}.bin"),
        RandomReader {
            state: seed | 1,
            left: size,
        },
    )?;
    let tar_hash = tar.into_inner()?;
    let diff_id: String = tar_hash
        .hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut gz_hash = tar_hash.inner.finish()?;
    gz_hash.flush()?;
    let size = gz_hash.count;
    let hex: String = gz_hash
        .hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::rename(&tmp, blobs.join(&hex))?;
    Ok((
        Blob {
            media_type: spec.media.layer().into(),
            digest: format!("sha256:{hex}"),
            size,
        },
        diff_id,
    ))
}
