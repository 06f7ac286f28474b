//! Image manifests, manifest lists and image configs (Docker v2 schema 2 and OCI), parsed
//! and built without I/O. Manifests are kept as the exact bytes the registry served, so
//! pushing them elsewhere preserves their digests.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::Digest;

/// Docker v2 schema 2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 schema 2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The `Accept` header for manifests: every type this crate reads.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Media type.
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Digest.
    pub digest: Digest,
    /// Platform, in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An image's platform, as in its config and in manifest list entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// OS version, for Windows images.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OS features.
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// A single-platform image manifest: a config and layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// Media type (Docker or OCI).
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs.
    pub layers: Vec<Descriptor>,
}

impl ImageManifest {
    /// Every blob the manifest references, config first.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        std::iter::once(&self.config).chain(&self.layers)
    }
}

/// A manifest as served: its bytes, media type and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// The exact bytes.
    pub bytes: bytes::Bytes,
    /// The media type (the `Content-Type` the registry sent, else the document's).
    pub media_type: String,
    /// The digest of `bytes`.
    pub digest: Digest,
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    manifests: Option<Vec<Descriptor>>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A single-platform image.
    Image(ImageManifest),
    /// A manifest list or OCI index, with its entries.
    List(Vec<Descriptor>),
}

impl RawManifest {
    /// Wraps bytes read from a registry; `content_type` is the response's.
    pub fn new(bytes: bytes::Bytes, content_type: Option<&str>) -> Self {
        let digest = Digest::of(&bytes);
        let media_type = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
            .filter(|c| is_manifest_type(c))
            .or_else(|| {
                serde_json::from_slice::<Document>(&bytes)
                    .ok()
                    .and_then(|d| d.media_type)
            })
            .unwrap_or_else(|| OCI_MANIFEST.to_owned());
        Self {
            bytes,
            media_type,
            digest,
        }
    }

    /// Parses the manifest; `reference` names it in errors.
    pub fn parse(&self, reference: &str) -> Result<Manifest> {
        let error = |reason: String| Error::Manifest {
            reference: reference.to_owned(),
            media_type: self.media_type.clone(),
            reason,
        };
        let doc: Document = serde_json::from_slice(&self.bytes)
            .map_err(|e| error(format!("it is not a manifest document ({e})")))?;
        if doc.schema_version != 2 {
            return Err(error(format!(
                "schema version {} is not supported; push the image with a current Docker or buildah",
                doc.schema_version
            )));
        }
        match self.media_type.as_str() {
            DOCKER_MANIFEST | OCI_MANIFEST => {
                let config = doc
                    .config
                    .ok_or_else(|| error("it has no config descriptor".into()))?;
                Ok(Manifest::Image(ImageManifest {
                    media_type: self.media_type.clone(),
                    config,
                    layers: doc.layers,
                }))
            }
            DOCKER_LIST | OCI_INDEX => Ok(Manifest::List(doc.manifests.unwrap_or_default())),
            other => Err(error(format!("media type {other} is not supported"))),
        }
    }
}

/// Whether `media_type` is one of the manifest types this crate handles.
pub fn is_manifest_type(media_type: &str) -> bool {
    matches!(
        media_type,
        DOCKER_MANIFEST | DOCKER_LIST | OCI_MANIFEST | OCI_INDEX
    )
}

#[derive(Deserialize)]
struct ConfigDocument {
    architecture: Option<String>,
    os: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
    #[serde(rename = "os.features", default)]
    os_features: Vec<String>,
    variant: Option<String>,
    #[serde(default)]
    config: Option<RunConfig>,
}

#[derive(Deserialize)]
struct RunConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

/// The labels recorded in an image's config blob (`config.Labels`, e.g.
/// `org.opencontainers.image.version`); none when it has none or is not JSON.
pub fn labels_of_config(config: &[u8]) -> std::collections::BTreeMap<String, String> {
    serde_json::from_slice::<ConfigDocument>(config)
        .ok()
        .and_then(|doc| doc.config?.labels)
        .unwrap_or_default()
}

/// The platform recorded in an image's config blob.
pub fn platform_of_config(config: &[u8], reference: &str) -> Result<Platform> {
    let error = |reason: String| Error::Manifest {
        reference: reference.to_owned(),
        media_type: "image config".into(),
        reason,
    };
    let doc: ConfigDocument = serde_json::from_slice(config)
        .map_err(|e| error(format!("the config blob is not JSON ({e})")))?;
    match (doc.architecture, doc.os) {
        (Some(architecture), Some(os)) if !architecture.is_empty() && !os.is_empty() => {
            Ok(Platform {
                architecture,
                os,
                os_version: doc.os_version.filter(|v| !v.is_empty()),
                os_features: doc.os_features,
                variant: doc.variant.filter(|v| !v.is_empty()),
            })
        }
        _ => Err(error(
            "the config names no architecture and os; rebuild the image with a platform".into(),
        )),
    }
}

#[derive(Serialize)]
struct ListDocument<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: &'a [Descriptor],
}

/// Builds a manifest list over `entries` (each with its platform): a Docker manifest
/// list when every entry is a Docker manifest, else an OCI index. The bytes are
/// deterministic, so the same entries always give the same digest.
pub fn build_list(entries: &[Descriptor]) -> RawManifest {
    let media_type = if entries.iter().all(|e| e.media_type == DOCKER_MANIFEST) {
        DOCKER_LIST
    } else {
        OCI_INDEX
    };
    let doc = ListDocument {
        schema_version: 2,
        media_type,
        manifests: entries,
    };
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    doc.serialize(&mut ser)
        .expect("a list of descriptors always serializes");
    let bytes = bytes::Bytes::from(bytes);
    RawManifest {
        digest: Digest::of(&bytes),
        bytes,
        media_type: media_type.to_owned(),
    }
}

/// Whether two lists have the same entries (digest and platform), in any order and
/// whatever their formatting: then the tag need not move.
pub fn same_entries(a: &[Descriptor], b: &[Descriptor]) -> bool {
    let key = |entries: &[Descriptor]| {
        let mut keys: Vec<_> = entries
            .iter()
            .map(|e| (e.digest.clone(), e.platform.clone()))
            .collect();
        keys.sort();
        keys
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    #[test]
    fn builds_a_docker_list_with_platforms_and_variant() {
        let entries = [
            Descriptor {
                media_type: DOCKER_MANIFEST.into(),
                size: 100,
                digest: digest(1),
                platform: Some(Platform {
                    architecture: "amd64".into(),
                    os: "linux".into(),
                    os_version: None,
                    os_features: vec![],
                    variant: None,
                }),
            },
            Descriptor {
                media_type: DOCKER_MANIFEST.into(),
                size: 200,
                digest: digest(2),
                platform: Some(Platform {
                    architecture: "arm64".into(),
                    os: "linux".into(),
                    os_version: None,
                    os_features: vec![],
                    variant: Some("v8".into()),
                }),
            },
        ];
        let list = build_list(&entries);
        assert_eq!(list.media_type, DOCKER_LIST);
        let text = String::from_utf8(list.bytes.to_vec()).unwrap();
        assert!(text.starts_with("{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\""), "{text}");
        assert!(text.contains("\"variant\": \"v8\""));
        let Manifest::List(parsed) = list.parse("test").unwrap() else {
            panic!("a list")
        };
        assert_eq!(parsed, entries);
        let mut reversed = entries.to_vec();
        reversed.reverse();
        assert!(same_entries(&parsed, &reversed));
        assert!(!same_entries(&parsed, &entries[..1]));
        let oci = build_list(&[Descriptor {
            media_type: OCI_MANIFEST.into(),
            ..entries[0].clone()
        }]);
        assert_eq!(oci.media_type, OCI_INDEX);
    }

    #[test]
    fn reads_the_platform_from_a_config() {
        let platform = platform_of_config(
            br#"{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{}}"#,
            "x",
        )
        .unwrap();
        assert_eq!(platform.to_string(), "linux/arm64/v8");
        assert_eq!(
            platform_of_config(b"{}", "reg/x:1")
                .unwrap_err()
                .to_string(),
            "manifest reg/x:1 (image config) cannot be used: the config names no architecture and os; rebuild the image with a platform"
        );
    }

    #[test]
    fn reads_the_labels_from_a_config() {
        let labels = labels_of_config(
            br#"{"architecture":"arm64","os":"linux","config":{"Cmd":["/bin/sh"],"Labels":{"org.opencontainers.image.version":"2024.05"}}}"#,
        );
        assert_eq!(
            labels
                .get("org.opencontainers.image.version")
                .map(String::as_str),
            Some("2024.05")
        );
        assert!(labels_of_config(br#"{"config":{"Labels":null}}"#).is_empty());
        assert!(labels_of_config(b"not json").is_empty());
    }

    #[test]
    fn rejects_schema_1() {
        let raw = RawManifest::new(
            bytes::Bytes::from_static(br#"{"schemaVersion":1,"name":"x"}"#),
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
        );
        assert!(
            raw.parse("x")
                .unwrap_err()
                .to_string()
                .contains("schema version 1")
        );
    }
}
