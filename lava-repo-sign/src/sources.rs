//! Finding a released source package in a published repository, the way apt would:
//! the suite's `InRelease` verified with the release key, the component's `Sources`
//! index checked against the size and SHA256 the signed Release lists, and the
//! package's `.dsc` located in the pool from its `Directory` and `Files`.

use std::io::Read as _;
use std::time::SystemTime;

use lava_signing::Keyring;
use sha2::{Digest as _, Sha256};

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};
use crate::http::{client, get_bytes};
use crate::release::ReleaseInfo;

/// Where a source package's `.dsc` is, as the signed indices say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    /// The `.dsc`'s URL.
    pub dsc_url: String,
    /// The `.dsc`'s SHA256, from the `Sources` index: what the fetched file must hash to.
    pub dsc_sha256: String,
    /// The `.dsc`'s size, from the `Sources` index.
    pub dsc_size: u64,
    /// The index the package was found in.
    pub index_url: String,
}

/// What to look up: source `package` at `version` in `suite`'s `component` of the
/// repository at `base` (the URL of the directory holding `dists/`).
#[derive(Clone, Debug)]
pub struct SourceQuery<'a> {
    /// The repository URL.
    pub base: &'a str,
    /// The suite, e.g. `bookworm`.
    pub suite: &'a str,
    /// The component, e.g. `main`.
    pub component: &'a str,
    /// The source package.
    pub package: &'a str,
    /// Its version.
    pub version: &'a str,
}

/// Looks `query` up, trusting only `keyring` (at `now`) for the suite's signature.
pub fn find_source(
    query: &SourceQuery<'_>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<SourceLocation> {
    let suite = SignedSuite::open(query, keyring, now)?;
    let (client, dir, release_url, info) =
        (&suite.client, &suite.dir, &suite.release_url, &suite.info);
    let base = query.base.trim_end_matches('/');
    let path = format!("{}/source/Sources", query.component);
    let (index_url, text) =
        signed_index(client, dir, info, &path)?.ok_or_else(|| Error::SourceIndex {
            url: release_url.clone(),
            reason: format!("it lists no {path}.gz or {path}"),
        })?;
    let found = find_in_index(&text, query.package, query.version).map_err(|reason| {
        Error::SourceIndex {
            url: index_url.clone(),
            reason,
        }
    })?;
    Ok(SourceLocation {
        dsc_url: format!("{base}/{}/{}", found.directory, found.dsc_name),
        dsc_sha256: found.sha256,
        dsc_size: found.size,
        index_url,
    })
}

/// The index `path` (without `.gz`) of a suite whose signed Release is `info`, checked
/// against the size and SHA256 it lists and uncompressed: its URL and text. `None` when
/// the Release lists neither `path.gz` nor `path`.
fn signed_index(
    client: &reqwest::blocking::Client,
    dir: &str,
    info: &ReleaseInfo,
    path: &str,
) -> Result<Option<(String, String)>> {
    let Some(listed) = [".gz", ""].iter().find_map(|ext| {
        let want = format!("{path}{ext}");
        info.files.iter().find(|f| f.path == want)
    }) else {
        return Ok(None);
    };
    let index_url = format!("{dir}/{}", listed.path);
    let bytes = get_bytes(client, &index_url)?.ok_or_else(|| Error::SourceIndex {
        url: index_url.clone(),
        reason: "it is listed in the signed Release but the server has no such file".into(),
    })?;
    let actual = hex(&Sha256::digest(&bytes));
    let expected = listed.hash(Algorithm::Sha256);
    if bytes.len() as u64 != listed.size || expected.is_some_and(|e| e != actual) {
        return Err(Error::SourceIndex {
            url: index_url,
            reason: format!(
                "it does not match the signed Release ({} bytes with SHA256 {actual}, {} bytes with SHA256 {} expected)",
                bytes.len(),
                listed.size,
                expected.unwrap_or("(none)")
            ),
        });
    }
    let text = if listed.path.ends_with(".gz") {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(|e| Error::SourceIndex {
                url: index_url.clone(),
                reason: format!("it is not gzip-compressed UTF-8 ({e})"),
            })?;
        text
    } else {
        String::from_utf8(bytes).map_err(|_| Error::SourceIndex {
            url: index_url.clone(),
            reason: "it is not UTF-8".into(),
        })?
    };
    Ok(Some((index_url, text)))
}

/// A suite whose Release verified with the release key, and how to read its indices.
struct SignedSuite {
    client: reqwest::blocking::Client,
    /// `BASE/dists/SUITE`.
    dir: String,
    /// Where its signed Release was read (`InRelease`, or `Release` with `Release.gpg`).
    release_url: String,
    info: ReleaseInfo,
    /// What was verified: the signed file's SHA-256 and the signer.
    signed: Signed,
}

/// A suite's signed Release as read: the SHA-256 of the file that carries the
/// signature (`InRelease`, else `Release.gpg`) and the release key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The SHA-256 of `InRelease` (or of `Release.gpg`), hex.
    pub sha256: String,
    /// The signer's primary fingerprint.
    pub signer: String,
}

impl SignedSuite {
    fn open(query: &SourceQuery<'_>, keyring: &Keyring, now: SystemTime) -> Result<Self> {
        let client = client()?;
        let base = query.base.trim_end_matches('/');
        let dir = format!("{base}/dists/{}", query.suite);
        let keyring = keyring.clone().at(now);
        let (release, signed) = signed_release(&client, &dir, &keyring)?;
        let release_url = format!("{dir}/InRelease");
        let info = ReleaseInfo::parse(&release, &release_url)?;
        Ok(Self {
            client,
            dir,
            release_url,
            info,
            signed,
        })
    }
}

/// A binary package as a suite's signed `Packages` index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedBinary {
    /// `Package`.
    pub package: String,
    /// `Version`.
    pub version: String,
    /// `Architecture`.
    pub architecture: String,
    /// The `.deb`'s file name (the last part of `Filename`).
    pub file: String,
    /// `SHA256`.
    pub sha256: String,
}

/// What a suite publishes of one source package, as its signed indices say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The suite's `InRelease` (or `Release`) URL.
    pub release_url: String,
    /// The versions of the source package in the `Sources` index.
    pub source_versions: Vec<String>,
    /// Its binary packages in every `Packages` index of the component.
    pub binaries: Vec<PublishedBinary>,
    /// The signature that vouches for all of it.
    pub signed: Signed,
}

/// What `query.suite`'s `query.component` of the repository at `query.base` publishes
/// of source `query.package` (any version: `query.version` is not used), trusting only
/// `keyring` (at `now`): the suite's signature, then every index checked against the
/// signed Release.
pub fn published(query: &SourceQuery<'_>, keyring: &Keyring, now: SystemTime) -> Result<Published> {
    let SignedSuite {
        client,
        dir,
        release_url,
        info,
        signed,
    } = SignedSuite::open(query, keyring, now)?;
    let mut source_versions = Vec::new();
    if let Some((_, text)) = signed_index(
        &client,
        &dir,
        &info,
        &format!("{}/source/Sources", query.component),
    )? {
        for paragraph in text.split("\n\n") {
            if field(paragraph, "Package").as_deref() == Some(query.package) {
                source_versions.extend(field(paragraph, "Version"));
            }
        }
    }
    let prefix = format!("{}/binary-", query.component);
    let mut indices: Vec<&str> = info
        .files
        .iter()
        .filter_map(|f| {
            let path = f.path.strip_suffix(".gz").unwrap_or(&f.path);
            (path.starts_with(&prefix) && path.ends_with("/Packages")).then_some(path)
        })
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let mut binaries = Vec::new();
    for path in indices {
        let Some((_, text)) = signed_index(&client, &dir, &info, path)? else {
            continue;
        };
        for paragraph in text.split("\n\n") {
            let field = |name: &str| field(paragraph, name);
            let Some(package) = field("Package") else {
                continue;
            };
            // `Source: NAME (VERSION)` when it differs from the binary's; absent when
            // the binary is named as its source.
            let source = field("Source");
            let from = source
                .as_deref()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or(&package);
            if from != query.package {
                continue;
            }
            let filename = field("Filename").unwrap_or_default();
            binaries.push(PublishedBinary {
                version: field("Version").unwrap_or_default(),
                architecture: field("Architecture").unwrap_or_default(),
                file: filename.rsplit('/').next().unwrap_or_default().to_owned(),
                sha256: field("SHA256").unwrap_or_default(),
                package,
            });
        }
    }
    binaries.sort_by(|a, b| (&a.file, &a.architecture).cmp(&(&b.file, &b.architecture)));
    binaries.dedup_by(|a, b| a.file == b.file && a.sha256 == b.sha256);
    Ok(Published {
        release_url,
        source_versions,
        binaries,
        signed,
    })
}

/// The suite's Release as signed: `InRelease`, else `Release` with `Release.gpg`.
fn signed_release(
    client: &reqwest::blocking::Client,
    dir: &str,
    keyring: &Keyring,
) -> Result<(Vec<u8>, Signed)> {
    use sha2::Digest as _;
    let sha256 = |bytes: &[u8]| hex(&sha2::Sha256::digest(bytes));
    let bad = |location: String, e: lava_signing::Error| Error::BadSignature {
        location,
        reason: "it does not verify with the release key".into(),
        source: Some(Box::new(e)),
    };
    let inrelease_url = format!("{dir}/InRelease");
    if let Some(inrelease) = get_bytes(client, &inrelease_url)? {
        let verified = lava_signing::verify_cleartext(&inrelease, keyring)
            .map_err(|e| bad(inrelease_url, e))?;
        let signed = Signed {
            sha256: sha256(&inrelease),
            signer: verified.signer.to_hex(),
        };
        return Ok((verified.text, signed));
    }
    let release_url = format!("{dir}/Release");
    let release = get_bytes(client, &release_url)?.ok_or(Error::MissingRelease {
        location: release_url,
    })?;
    let detached_url = format!("{dir}/Release.gpg");
    let detached = get_bytes(client, &detached_url)?.ok_or_else(|| Error::BadSignature {
        location: dir.to_owned(),
        reason: "the suite is not signed (neither InRelease nor Release.gpg)".into(),
        source: None,
    })?;
    let signer = lava_signing::verify_detached(&release, &detached, keyring)
        .map_err(|e| bad(detached_url, e))?;
    let signed = Signed {
        sha256: sha256(&detached),
        signer: signer.to_hex(),
    };
    Ok((release, signed))
}

#[derive(Debug, PartialEq, Eq)]
struct Found {
    directory: String,
    dsc_name: String,
    sha256: String,
    size: u64,
}

/// Finds `package` at `version` in the text of a `Sources` index.
fn find_in_index(text: &str, package: &str, version: &str) -> std::result::Result<Found, String> {
    let mut versions = Vec::new();
    for paragraph in text.split("\n\n") {
        let field = |name: &str| field(paragraph, name);
        if field("Package").as_deref() != Some(package) {
            continue;
        }
        let Some(v) = field("Version") else { continue };
        if v != version {
            versions.push(v);
            continue;
        }
        let directory = field("Directory")
            .ok_or_else(|| format!("{package} {version} has no Directory field"))?;
        let sums = field("Checksums-Sha256")
            .ok_or_else(|| format!("{package} {version} has no Checksums-Sha256 field"))?;
        let dsc = sums
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                Some((parts.next()?, parts.next()?, parts.next()?))
            })
            .find(|(_, _, name)| name.ends_with(".dsc"))
            .ok_or_else(|| format!("{package} {version} lists no .dsc file"))?;
        let size = dsc
            .1
            .parse()
            .map_err(|_| format!("{package} {version} lists the .dsc with a bad size"))?;
        return Ok(Found {
            directory,
            dsc_name: dsc.2.to_owned(),
            sha256: dsc.0.to_owned(),
            size,
        });
    }
    Err(if versions.is_empty() {
        format!("it has no source package {package}")
    } else {
        format!("it has {package} {} but not {version}", versions.join(", "))
    })
}

/// The value of `name` in a deb822 paragraph, continuation lines joined with newlines.
fn field(paragraph: &str, name: &str) -> Option<String> {
    let mut lines = paragraph.lines();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if !key.eq_ignore_ascii_case(name) || line.starts_with([' ', '\t']) {
            continue;
        }
        let mut value = value.trim().to_owned();
        for more in lines.by_ref() {
            if !more.starts_with([' ', '\t']) {
                break;
            }
            value.push('\n');
            value.push_str(more.trim());
        }
        return Some(value.trim_start_matches('\n').to_owned());
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "Package: lava\nFormat: 3.0 (native)\nVersion: 2024.01\nDirectory: pool/main/l/lava\nChecksums-Sha256:\n aaaa 100 lava_2024.01.dsc\n bbbb 2000 lava_2024.01.tar.xz\n\nPackage: lava\nVersion: 2024.02-1\nDirectory: pool/main/l/lava\nChecksums-Sha256: \n cccc 2000 lava_2024.02.orig.tar.gz\n dddd 120 lava_2024.02-1.dsc\n";

    #[test]
    fn finds_the_dsc_of_the_version() {
        assert_eq!(
            find_in_index(INDEX, "lava", "2024.02-1").unwrap(),
            Found {
                directory: "pool/main/l/lava".into(),
                dsc_name: "lava_2024.02-1.dsc".into(),
                sha256: "dddd".into(),
                size: 120,
            }
        );
    }

    #[test]
    fn names_the_versions_it_has_when_the_version_is_missing() {
        assert_eq!(
            find_in_index(INDEX, "lava", "2024.03-1").unwrap_err(),
            "it has lava 2024.01, 2024.02-1 but not 2024.03-1"
        );
        assert_eq!(
            find_in_index(INDEX, "lava-server", "2024.02-1").unwrap_err(),
            "it has no source package lava-server"
        );
    }
}
