//! Image references (`[host[:port]/]path[:tag][@digest]`) and digests, parsed the way the
//! Docker CLI does, without I/O.

use std::fmt;

use crate::error::{Error, Result};

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API answers on.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A `sha256:` content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex digits>`.
    pub fn parse(text: &str) -> Result<Self> {
        let ok = text.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::Digest {
                digest: text.to_owned(),
            })
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self::from_hasher(sha2::Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: sha2::Sha256) -> Self {
        use sha2::Digest as _;
        let sum = hasher.finalize();
        let mut text = String::with_capacity(71);
        text.push_str("sha256:");
        for byte in sum {
            text.push_str(&format!("{byte:02x}"));
        }
        Self(text)
    }

    /// `sha256:...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository in a registry, such as `docker.io/lavasoftware/lava-server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    /// The registry as written in references (`docker.io`, `registry.gitlab.com`,
    /// `127.0.0.1:5000`).
    pub registry: String,
    /// The path inside the registry (`lavasoftware/lava-server`, `library/debian`).
    pub path: String,
}

impl Repository {
    /// The host (and port) the registry API answers on: Docker Hub's API is not on
    /// `docker.io` itself.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// The reference of `tag` in this repository.
    pub fn tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            repository: self.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

/// The API host of a registry name.
pub(crate) fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "index.docker.io" {
        DOCKER_HUB_API
    } else {
        registry
    }
}

/// An image reference: a repository and a tag, a digest, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// The repository.
    pub repository: Repository,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// Parses a reference the way `docker pull` does: the first component is a registry
    /// when it contains `.` or `:` or is `localhost`, else the image is on Docker Hub,
    /// where one-component names live under `library/`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason| Error::Reference {
            reference: text.to_owned(),
            reason,
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/`; an earlier `:` is a port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_owned()),
            ),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid {
                return Err(bad("the tag has characters a registry does not accept"));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let path =
            if (registry == DOCKER_HUB || registry == "index.docker.io") && !path.contains('/') {
                format!("library/{path}")
            } else {
                path
            };
        let path_ok = !path.is_empty()
            && path.split('/').all(|component| {
                !component.is_empty()
                    && component.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            });
        if !path_ok {
            return Err(bad(
                "repository names are lowercase letters, digits, `.`, `_` and `-` between `/`",
            ));
        }
        Ok(Self {
            repository: Repository { registry, path },
            tag,
            digest,
        })
    }

    /// The tag, else the digest: what the registry API calls the manifest's reference.
    pub fn manifest_reference(&self) -> Option<String> {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => Some(digest.to_string()),
            (None, Some(tag)) => Some(tag.clone()),
            (None, None) => None,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let parsed = ImageRef::parse(text).map(|r| {
            format!(
                "{} | {} | {:?} | {:?} | api {}",
                r.repository.registry,
                r.repository.path,
                r.tag,
                r.digest.map(|d| d.short().to_owned()),
                r.repository.api_host()
            )
        });
        let got = match parsed {
            Ok(text) => text,
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "{text}");
    }

    #[test]
    fn parses_references_like_the_docker_cli() {
        check(
            "registry.gitlab.com/lava/lava/amd64/lava-server:2024.01",
            r#"registry.gitlab.com | lava/lava/amd64/lava-server | Some("2024.01") | None | api registry.gitlab.com"#,
        );
        check(
            "lavasoftware/amd64-lava-server:latest",
            r#"docker.io | lavasoftware/amd64-lava-server | Some("latest") | None | api registry-1.docker.io"#,
        );
        check(
            "debian",
            "docker.io | library/debian | None | None | api registry-1.docker.io",
        );
        check(
            "127.0.0.1:5000/lava/server:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            r#"127.0.0.1:5000 | lava/server | Some("1") | Some("0123456789ab") | api 127.0.0.1:5000"#,
        );
        check("localhost/x", "localhost | x | None | None | api localhost");
        check(
            "Lava/Server",
            "error: `Lava/Server` is not an image reference: repository names are lowercase letters, digits, `.`, `_` and `-` between `/`",
        );
        check(
            "lava/server:-bad",
            "error: `lava/server:-bad` is not an image reference: the tag has characters a registry does not accept",
        );
        check(
            "lava@sha256:12",
            "error: `sha256:12` is not a sha256 digest",
        );
    }

    #[test]
    fn digest_of_bytes() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
