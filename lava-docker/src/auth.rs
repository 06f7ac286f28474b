//! Registry credentials: `~/.docker/config.json` (`auths`, `credsStore`, `credHelpers`)
//! and values the caller passes in; and the `WWW-Authenticate` challenge.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::error::{Error, Result};

/// A user name and password (or token). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    password: String,
}

impl Credentials {
    /// Credentials from a user name and password or access token.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The password, for the few places that must send it.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    /// `Basic base64(user:password)`.
    pub(crate) fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where credentials for a registry come from.
#[derive(Clone, PartialEq, Eq)]
enum Source {
    Inline(Credentials),
    Helper(String),
}

/// Credentials by registry. Explicit entries win over the Docker configuration's.
#[derive(Clone, Default)]
pub struct CredentialStore {
    entries: BTreeMap<String, Source>,
    default_helper: Option<String>,
    config_path: Option<PathBuf>,
    helper_dir: Option<PathBuf>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registries: Vec<_> = self.entries.keys().collect();
        f.debug_struct("CredentialStore")
            .field("registries", &registries)
            .field("default_helper", &self.default_helper)
            .field("config_path", &self.config_path)
            .finish()
    }
}

/// The key Docker uses for Docker Hub in `auths`.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Normalises the ways a registry is written in `config.json` (`https://host/v1/`,
/// `host`, Docker Hub's aliases) to the host.
fn normalise(registry: &str) -> String {
    let host = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ConfigFile {
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(rename = "identitytoken")]
    identity_token: Option<String>,
}

impl CredentialStore {
    /// No credentials: anonymous access only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a Docker client configuration (`~/.docker/config.json`; the caller finds
    /// it, from `DOCKER_CONFIG` or the home directory). A missing file is an empty store.
    pub fn from_docker_config(path: &Path) -> Result<Self> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(Error::DockerConfigRead {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let parse_error = |reason: String| Error::DockerConfigParse {
            path: path.to_owned(),
            reason,
        };
        let file: ConfigFile =
            serde_json::from_slice(&text).map_err(|e| parse_error(e.to_string()))?;
        let mut store = Self {
            config_path: Some(path.to_owned()),
            default_helper: file.creds_store.filter(|h| !h.is_empty()),
            ..Self::default()
        };
        for (registry, entry) in file.auths {
            let credentials = if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| parse_error(format!("the `auth` of {registry} is not base64")))?;
                let decoded = String::from_utf8(decoded)
                    .map_err(|_| parse_error(format!("the `auth` of {registry} is not UTF-8")))?;
                let (user, password) = decoded.split_once(':').ok_or_else(|| {
                    parse_error(format!("the `auth` of {registry} is not `user:password`"))
                })?;
                Some(Credentials::new(user, password))
            } else if let (Some(user), Some(password)) = (entry.username, entry.password) {
                Some(Credentials::new(user, password))
            } else {
                // Docker's convention for OAuth identity tokens.
                entry
                    .identity_token
                    .map(|token| Credentials::new("<token>", token))
            };
            if let Some(credentials) = credentials {
                store
                    .entries
                    .insert(normalise(&registry), Source::Inline(credentials));
            }
        }
        for (registry, helper) in file.cred_helpers {
            store
                .entries
                .insert(normalise(&registry), Source::Helper(helper));
        }
        Ok(store)
    }

    /// Adds credentials for `registry` (as written in references, `docker.io` for
    /// Docker Hub), such as values the caller read from the environment. They win over
    /// the Docker configuration's.
    pub fn insert(&mut self, registry: &str, credentials: Credentials) {
        self.entries
            .insert(normalise(registry), Source::Inline(credentials));
    }

    /// Runs credential helpers from `dir` instead of finding them on `PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The credentials for `registry`, running a credential helper when one is
    /// configured for it.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>> {
        let key = normalise(registry);
        let helper = match self.entries.get(&key) {
            Some(Source::Inline(credentials)) => return Ok(Some(credentials.clone())),
            Some(Source::Helper(helper)) => helper,
            None => match &self.default_helper {
                Some(helper) => helper,
                None => return Ok(None),
            },
        };
        let program = format!("docker-credential-{helper}");
        let program = match &self.helper_dir {
            Some(dir) => dir.join(program),
            None => PathBuf::from(program),
        };
        run_helper(&program, helper, &key)
    }
}

/// Runs `docker-credential-<helper> get` with the server URL on stdin, as the Docker CLI
/// does (Docker Hub under its `https://index.docker.io/v1/` key).
fn run_helper(program: &Path, helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let server = if registry == "docker.io" {
        DOCKER_HUB_KEY
    } else {
        registry
    };
    let error = |reason: String| Error::CredentialHelper {
        helper: helper.to_owned(),
        registry: registry.to_owned(),
        reason,
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| error(format!("it cannot be started ({e}); is it on PATH?")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| error(format!("cannot write to it ({e})")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| error(format!("cannot read its answer ({e})")))?;
    if !out.status.success() {
        // Helpers answer "credentials not found in native keychain" on stdout.
        let said = String::from_utf8_lossy(&out.stdout);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(error(format!("it exited with {}", out.status)));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&out.stdout)
        .map_err(|_| error("it did not print {\"Username\", \"Secret\"} JSON".into()))?;
    Ok(Some(Credentials::new(answer.username, answer.secret)))
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=...`.
    Basic,
    /// `Bearer realm=...,service=...`: fetch a token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header value; `None` when it is neither Basic nor a
/// Bearer challenge with a realm.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(params);
    let realm = params.get("realm")?.clone();
    Some(Challenge::Bearer {
        realm,
        service: params.get("service").cloned(),
    })
}

/// `key="value", key2=value2` with quoted commas.
fn parse_params(text: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_owned(), &quoted[end + 1..]),
                None => (quoted.to_owned(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_owned(), &after[end..]),
                None => (after.trim().to_owned(), ""),
            }
        };
        params.insert(key, value);
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_and_distribution_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:lavasoftware/lava-server:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn reads_auths_and_keeps_passwords_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("lava:s3cr3t:with:colons");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"u","password":"p"}}}}}}"#
            ),
        )
        .unwrap();
        let store = CredentialStore::from_docker_config(&path).unwrap();
        let hub = store.get("docker.io").unwrap().unwrap();
        assert_eq!(hub.username, "lava");
        assert_eq!(hub.password(), "s3cr3t:with:colons");
        assert_eq!(store.get("127.0.0.1:5000").unwrap().unwrap().username, "u");
        assert_eq!(store.get("quay.io").unwrap(), None);
        let debug = format!("{hub:?} {store:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(
            CredentialStore::from_docker_config(&dir.path().join("missing.json"))
                .unwrap()
                .get("docker.io")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn runs_credential_helpers() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-lavatest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\nif [ \"$server\" = https://index.docker.io/v1/ ]; then echo '{\"ServerURL\":\"hub\",\"Username\":\"hub-user\",\"Secret\":\"hub-secret\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"credsStore":"lavatest","credHelpers":{"registry.example":"missing"}}"#,
        )
        .unwrap();
        let store = CredentialStore::from_docker_config(&config)
            .unwrap()
            .with_helper_dir(dir.path());
        let hub = store.get("docker.io").unwrap().unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password()),
            ("hub-user", "hub-secret")
        );
        assert_eq!(store.get("quay.io").unwrap(), None);
        let err = store.get("registry.example").unwrap_err().to_string();
        assert!(
            err.starts_with("credential helper `docker-credential-missing` failed for registry.example: it cannot be started"),
            "{err}"
        );
    }
}
