//! Two registries, a generated image set pushed to the source, and skopeo.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::Command;

use lava_docker::{
    CredentialStore, Credentials, ImageSet, ImagesConfig, Options, Promoter, RetryPolicy,
};
use tests::registry::{Auth, ImageLayout, ImageSetSpec, Registry, require_tool, write_authfile};

pub const USER: &str = "lava";
pub const PASSWORD: &str = "release-manager-password";
pub const VERSION: &str = "2024.05";

/// A source registry holding LAVA's four per-arch images, as CI pushed them.
pub struct Source {
    pub registry: Registry,
    pub layout: ImageLayout,
    _dir: tempfile::TempDir,
}

impl Source {
    pub fn start(spec: &ImageSetSpec) -> Source {
        let registry = Registry::start(Auth::None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let layout = ImageLayout::generate(spec, &dir.path().join("layout")).unwrap();
        layout
            .push_all(&registry.host(), "lava/lava", VERSION, None)
            .unwrap();
        Source {
            registry,
            layout,
            _dir: dir,
        }
    }

    /// Pushes another build under the same version tag.
    pub fn repush(&mut self, spec: &ImageSetSpec) {
        let dir = self._dir.path().join(format!("layout-{}", spec.seed));
        self.layout = ImageLayout::generate(spec, &dir).unwrap();
        self.layout
            .push_all(&self.registry.host(), "lava/lava", VERSION, None)
            .unwrap();
    }
}

pub fn htpasswd() -> Auth {
    Auth::Htpasswd {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

pub fn token() -> Auth {
    Auth::Token {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

/// LAVA's image set with the registries swapped for local ones.
pub fn images(source: &str, target: &str) -> ImagesConfig {
    ImagesConfig {
        source: format!("{source}/lava/lava/{{arch}}/{{image}}:{{version}}"),
        target: format!("{target}/lavasoftware/{{arch}}-{{image}}"),
        list: format!("{target}/lavasoftware/{{image}}"),
        ..ImagesConfig::default()
    }
}

/// [`images`] for [`VERSION`].
pub fn image_set(source: &str, target: &str) -> ImageSet {
    images(source, target).expand(VERSION).unwrap()
}

/// A promoter logging in to `target` as [`USER`] with `password`.
pub fn promoter(target: &str, password: &str) -> Promoter {
    Promoter::new(options(target, password)).unwrap()
}

pub fn options(target: &str, password: &str) -> Options {
    let mut credentials = CredentialStore::new();
    credentials.insert(target, Credentials::new(USER, password));
    Options {
        credentials,
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: std::time::Duration::from_millis(20),
            max_backoff: std::time::Duration::from_millis(200),
            max_retry_after: std::time::Duration::from_secs(5),
        },
        ..Options::default()
    }
}

/// `skopeo inspect --raw` of `reference`, with the target's credentials in an authfile
/// (never on the command line).
pub fn skopeo_raw(reference: &str, host: &str) -> serde_json::Value {
    require_tool("skopeo", "skopeo").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let authfile = dir.path().join("auth.json");
    write_authfile(&authfile, host, USER, PASSWORD).unwrap();
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&authfile)
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect --raw {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `platform digest` lines of a list, as skopeo shows it.
pub fn skopeo_entries(reference: &str, host: &str) -> Vec<String> {
    let raw = skopeo_raw(reference, host);
    raw["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("{reference} is not a list: {raw}"))
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let variant = p["variant"]
                .as_str()
                .map(|v| format!("/{v}"))
                .unwrap_or_default();
            format!(
                "{}/{}{variant} {}",
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap(),
                m["digest"].as_str().unwrap()
            )
        })
        .collect()
}
