//! The release manifest: one signed statement of everything published under a version
//! (`lava-VERSION.manifest.json`, schema in `docs/manifest.md`). The `manifest` stage
//! gathers it from the world once the release is published ([`gather`]), signs it and
//! attaches it to the GitLab release; `verify-release` checks each of its claims against
//! the world again ([`crate::verify_release`]).
//!
//! The bytes are deterministic: keys sorted, two-space indentation, one final newline,
//! and no time but the tag's own, so the same release always gives the same file and
//! its signature stays valid for as long as the release does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::consistency::Record;
use crate::shared::repo::RepoSite;
use crate::step::Context;

/// The schema version this build writes and reads (`schema_version`).
pub const SCHEMA_VERSION: u32 = 1;

/// The GitLab generic package the manifest and its signature are uploaded to, one
/// package version per release.
pub const PACKAGE: &str = "lava-release-manifest";

/// The manifest of one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where the release lives.
    pub project: Project,
    /// The release version, `2024.05`.
    pub version: String,
    /// The Debian version of `debian/changelog` at the tag, `2024.05-1`.
    pub debian_version: String,
    /// The signed tag.
    pub tag: Tag,
    /// The tag's pipeline, which built everything below.
    pub pipeline: Pipeline,
    /// The Debian files CI built (`.changes`, `.dsc`, `.deb`, `.tar.*`), by name.
    pub artifacts: Vec<Artifact>,
    /// The apt suites they are published in.
    pub suites: Vec<Suite>,
    /// The container images, by reference (version tags only: `latest` moves on).
    pub images: Vec<Image>,
    /// The announcement, once sent.
    pub announcement: Option<Announcement>,
    /// The Debian packaging tags the release pushed (gbp and tag2upload flows).
    pub packaging_tags: Vec<GitTag>,
}

/// The GitLab project and its public git URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The GitLab instance, `https://gitlab.com`.
    pub gitlab: String,
    /// The project's path, `lava/lava`.
    pub path: String,
    /// The URL anyone clones it from.
    pub git: String,
}

/// The release tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Its name, the version.
    pub name: String,
    /// The tag object's id.
    pub object: String,
    /// The commit it points at.
    pub commit: String,
    /// The primary fingerprint of the key that signed it.
    pub signer: String,
    /// The tagger's time, RFC 3339 with the tagger's offset.
    pub date: String,
}

/// The tag's pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Its id.
    pub id: u64,
    /// Its page.
    pub url: String,
}

/// One file CI built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The file name, `lava-server_2024.05+12+bookworm_all.deb`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The suites it was built for.
    pub suites: Vec<String>,
}

/// One apt suite holding the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    /// The repository's URL (the directory holding `dists/`).
    pub repository: String,
    /// The suite, `bookworm`.
    pub suite: String,
    /// The source package, `lava`.
    pub source: String,
    /// Its version in this suite, `2024.05+12+bookworm`.
    pub version: String,
    /// The SHA-256 of the suite's `InRelease` (or `Release.gpg`) when the release was
    /// published. A suite is re-signed as it changes, so this is evidence, not a claim.
    pub signed_sha256: String,
    /// The primary fingerprint of the key that signed it.
    pub signer: String,
}

/// One published image tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `registry/repository:VERSION`.
    pub reference: String,
    /// Its manifest's digest.
    pub digest: String,
    /// A single image's platform, `linux/arm64`; `None` for a list.
    pub platform: Option<String>,
    /// A list's entries.
    pub manifests: Vec<Entry>,
}

/// An entry of a manifest list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// `linux/amd64`.
    pub platform: String,
    /// The per-arch manifest's digest.
    pub digest: String,
}

/// The announcement mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// Its Message-ID, `<lava-release.2024.05.X@lavasoftware.org>`.
    pub message_id: String,
}

/// A tag pushed to another repository (the Debian packaging one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitTag {
    /// The repository's URL.
    pub remote: String,
    /// The tag, `debian/2024.05-1`.
    pub name: String,
    /// The tag object's id.
    pub object: String,
    /// The commit it points at.
    pub commit: String,
}

impl Manifest {
    /// The file name, `lava-2024.05.manifest.json`.
    pub fn file_name(version: &str) -> String {
        format!("lava-{version}.manifest.json")
    }

    /// Its signature's file name.
    pub fn signature_name(version: &str) -> String {
        format!("{}.asc", Self::file_name(version))
    }

    /// Where the journal keeps the manifest of `version`.
    pub fn path(ctx: &Context<'_>, version: &str) -> PathBuf {
        ctx.state_dir().join(Self::file_name(version))
    }

    /// Where the journal keeps its signature.
    pub fn signature_path(ctx: &Context<'_>, version: &str) -> PathBuf {
        ctx.state_dir().join(Self::signature_name(version))
    }

    /// The deterministic bytes: keys sorted at every level, pretty-printed, one final
    /// newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let value = sorted(serde_json::to_value(self).expect("the manifest is plain data"));
        let mut text = serde_json::to_string_pretty(&value).expect("plain data");
        text.push('\n');
        text.into_bytes()
    }

    /// Reads a manifest, refusing a schema newer than this build knows; `origin` names
    /// it in errors.
    pub fn parse(bytes: &[u8], origin: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Versioned {
            schema_version: u32,
        }
        let versioned: Versioned = serde_json::from_slice(bytes)
            .with_context(|| format!("{origin} is not a release manifest"))?;
        anyhow::ensure!(
            versioned.schema_version <= SCHEMA_VERSION,
            "{origin} has schema version {}, newer than the {SCHEMA_VERSION} this lava-release reads; update lava-release",
            versioned.schema_version
        );
        serde_json::from_slice(bytes).with_context(|| format!("{origin} is not a release manifest"))
    }
}

/// `value` with every object's keys in order, whatever map serde_json was built with.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let ordered: BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(ordered.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// The project's public git URL: `project.public_git`, else GitLab's
/// `{gitlab.url}/{gitlab.project}.git`.
pub fn public_git(config: &crate::config::Config) -> String {
    config.project.public_git.clone().unwrap_or_else(|| {
        format!(
            "{}/{}.git",
            config.gitlab.url.trim_end_matches('/'),
            config.gitlab.project
        )
    })
}

/// Everything published under this release, observed now: the tag, its pipeline,
/// CI's Debian files, the apt suites, the images, the announcement and the packaging
/// tags. Read-only; fails naming what is not there yet.
pub fn gather(ctx: &Context<'_>) -> anyhow::Result<Manifest> {
    let config = ctx.config;
    let v = ctx.release.version.to_string();
    let record = Record::load(ctx)?.with_context(|| {
        format!("there is no consistency record for {v}; run the consistency stage first")
    })?;
    let tag = signed_tag(ctx, &v)?;
    anyhow::ensure!(
        tag.commit == record.commit,
        "tag {v} is at {}, but the consistency record says {}; run the consistency stage again",
        tag.commit,
        record.commit
    );
    let gitlab = crate::shared::gitlab::client(ctx)?;
    let pipeline = gitlab
        .find_pipeline(&lava_gitlab::CiTarget::Pipeline(record.pipeline))?
        .with_context(|| format!("pipeline {} of tag {v} is gone", record.pipeline))?;
    let mut manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        project: Project {
            gitlab: config.gitlab.url.trim_end_matches('/').to_owned(),
            path: config.gitlab.project.clone(),
            git: public_git(config),
        },
        version: v.clone(),
        debian_version: ctx.release.debian_version.to_string(),
        tag,
        pipeline: Pipeline {
            id: pipeline.id,
            url: pipeline.web_url,
        },
        artifacts: artifacts(ctx)?,
        suites: suites(ctx)?,
        images: images(ctx, &v)?,
        announcement: crate::shared::announce::sent_message_id(ctx, &v)?
            .map(|message_id| Announcement { message_id }),
        packaging_tags: packaging_tags(ctx)?,
    };
    manifest.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(manifest)
}

/// The release tag, which must be annotated and signed by the release key.
fn signed_tag(ctx: &Context<'_>, v: &str) -> anyhow::Result<Tag> {
    let Some(lava_git::TagRef::Annotated(tag)) = ctx.repo.read_tag(v)? else {
        anyhow::bail!("tag {v} is not an annotated tag in this repository");
    };
    let keyring = crate::signing::release_keyring(&ctx.config.signing, ctx.env)?;
    let signer = lava_signing::verify_detached(
        &tag.payload,
        tag.signature.as_deref().unwrap_or_default(),
        &keyring,
    )
    .with_context(|| format!("tag {v} is not signed by the release key"))?;
    Ok(Tag {
        name: v.to_owned(),
        date: tagger_date(&tag.payload)
            .with_context(|| format!("tag {v} has no readable tagger line"))?,
        object: tag.id,
        commit: tag.target,
        signer: signer.to_hex(),
    })
}

/// The tagger's time of a tag object, `tagger NAME <EMAIL> SECONDS +HHMM`, as RFC 3339.
pub fn tagger_date(payload: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(payload);
    let header = text.split("\n\n").next()?;
    let line = header.lines().find_map(|l| l.strip_prefix("tagger "))?;
    let mut words = line.rsplitn(3, ' ');
    let (zone, seconds) = (words.next()?, words.next()?);
    let seconds: i64 = seconds.parse().ok()?;
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits = zone.trim_start_matches(['+', '-']);
    let (hours, minutes) = (digits.get(..2)?.parse::<i8>().ok()?, digits.get(2..4)?);
    let offset =
        time::UtcOffset::from_hms(sign * hours, sign * minutes.parse::<i8>().ok()?, 0).ok()?;
    let at = time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .to_offset(offset);
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files of every `.changes` CI built (and the `.changes` themselves), each with
/// the suites it was built for.
fn artifacts(ctx: &Context<'_>) -> anyhow::Result<Vec<Artifact>> {
    let repo = RepoSite::in_context(ctx);
    let Some((_, uploads)) = repo.uploads()? else {
        return Ok(Vec::new());
    };
    let mut by_name: BTreeMap<String, Artifact> = BTreeMap::new();
    for changes in &uploads {
        let suites: Vec<String> = repo
            .suites_of(changes)
            .iter()
            .map(|s| s.suite.clone())
            .collect();
        let path = std::path::Path::new(&changes.path);
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = lava_debian::strip_cleartext(&bytes);
        let parsed = lava_debian::parse_dsc(&changes.path, &String::from_utf8_lossy(&text))?;
        let own = Artifact {
            name: crate::shared::debian::file_name(path),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            suites: suites.clone(),
        };
        let files = parsed.files.into_iter().map(|f| Artifact {
            name: f.name,
            size: f.size,
            sha256: f.sha256,
            suites: suites.clone(),
        });
        for artifact in std::iter::once(own).chain(files) {
            match by_name.get_mut(&artifact.name) {
                Some(known) if known.sha256 != artifact.sha256 => anyhow::bail!(
                    "CI built two different {}: SHA-256 {} and {}",
                    artifact.name,
                    known.sha256,
                    artifact.sha256
                ),
                Some(known) => {
                    known.suites.extend(artifact.suites);
                    known.suites.sort();
                    known.suites.dedup();
                }
                None => {
                    by_name.insert(artifact.name.clone(), artifact);
                }
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// Each suite of `repo.url` that holds the release, as its signed indices say now.
fn suites(ctx: &Context<'_>) -> anyhow::Result<Vec<Suite>> {
    let config = ctx.config;
    if config.repo.mode == crate::config::RepoMode::None {
        return Ok(Vec::new());
    }
    let repo = RepoSite::in_context(ctx);
    let keyring = crate::signing::release_keyring(&config.signing, ctx.env)?;
    let base = config.repo.url.trim_end_matches('/').to_owned();
    let mut suites = Vec::new();
    for want in &repo.packages {
        let query = lava_repo_sign::SourceQuery {
            base: &base,
            suite: &want.suite,
            component: "main",
            package: &repo.source,
            version: &want.version,
        };
        let published = lava_repo_sign::published(&query, &keyring, std::time::SystemTime::now())?;
        anyhow::ensure!(
            published.source_versions.contains(&want.version),
            "{} does not list {} {} in {}",
            published.release_url,
            repo.source,
            want.version,
            want.suite
        );
        suites.push(Suite {
            repository: base.clone(),
            suite: want.suite.clone(),
            source: repo.source.clone(),
            version: want.version.clone(),
            signed_sha256: published.signed.sha256,
            signer: published.signed.signer,
        });
    }
    Ok(suites)
}

/// Every version tag `docker-publish` made, as its registry serves it now.
fn images(ctx: &Context<'_>, v: &str) -> anyhow::Result<Vec<Image>> {
    if !ctx.config.docker.enabled {
        return Ok(Vec::new());
    }
    let (promoter, set) = crate::shared::docker::promoter(ctx)?;
    let mut images = Vec::new();
    for group in &set.groups {
        let targets = group.arches.iter().map(|a| a.target.tag(v));
        for reference in targets.chain(std::iter::once(group.list.tag(v))) {
            let published = promoter
                .inspect(&reference)?
                .with_context(|| format!("{reference} is not published"))?;
            images.push(image_of(&published));
        }
    }
    Ok(images)
}

/// An image as the manifest records it.
pub fn image_of(published: &lava_docker::Published) -> Image {
    let mut manifests: Vec<Entry> = published
        .entries
        .iter()
        .map(|(platform, digest)| Entry {
            platform: platform.to_string(),
            digest: digest.to_string(),
        })
        .collect();
    manifests.sort();
    Image {
        reference: published.reference.to_string(),
        digest: published.digest.to_string(),
        platform: published.platform.as_ref().map(ToString::to_string),
        manifests,
    }
}

/// The packaging repository's Debian tag of this release, as its remote has it.
fn packaging_tags(ctx: &Context<'_>) -> anyhow::Result<Vec<GitTag>> {
    let config = ctx.config;
    if !config.debian.flow.imports() {
        return Ok(Vec::new());
    }
    let packaging = crate::shared::packaging::Packaging::in_context(ctx)?;
    let Some(repo) = packaging.open()? else {
        return Ok(Vec::new());
    };
    let layout = packaging.layout(ctx)?;
    let name = layout.debian_tag(&ctx.release.debian_version.to_string());
    let Some(lava_git::TagRef::Annotated(tag)) = repo.read_tag(&name)? else {
        return Ok(Vec::new());
    };
    Ok(vec![GitTag {
        remote: packaging.remote.clone(),
        name,
        object: tag.id,
        commit: tag.target,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            project: Project {
                gitlab: "https://gitlab.com".into(),
                path: "lava/lava".into(),
                git: "https://gitlab.com/lava/lava.git".into(),
            },
            version: "2024.05".into(),
            debian_version: "2024.05-1".into(),
            tag: Tag {
                name: "2024.05".into(),
                object: "a".repeat(40),
                commit: "b".repeat(40),
                signer: "C".repeat(40),
                date: "2024-05-06T12:00:00+02:00".into(),
            },
            pipeline: Pipeline {
                id: 17,
                url: "https://gitlab.com/lava/lava/-/pipelines/17".into(),
            },
            artifacts: vec![Artifact {
                name: "lava_2024.05+12+bookworm.dsc".into(),
                size: 1234,
                sha256: "d".repeat(64),
                suites: vec!["bookworm".into()],
            }],
            suites: Vec::new(),
            images: vec![Image {
                reference: "docker.io/lavasoftware/lava-server:2024.05".into(),
                digest: format!("sha256:{}", "e".repeat(64)),
                platform: None,
                manifests: vec![Entry {
                    platform: "linux/amd64".into(),
                    digest: format!("sha256:{}", "f".repeat(64)),
                }],
            }],
            announcement: None,
            packaging_tags: Vec::new(),
        }
    }

    #[test]
    fn the_bytes_are_sorted_and_round_trip() {
        let m = manifest();
        let bytes = m.to_bytes();
        assert_eq!(bytes, m.clone().to_bytes());
        let text = String::from_utf8(bytes.clone()).unwrap();
        let top: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("    "))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        let mut want = top.clone();
        want.sort_unstable();
        assert_eq!(top, want);
        assert!(text.ends_with("}\n"));
        assert_eq!(Manifest::parse(&bytes, "test").unwrap(), m);
    }

    #[test]
    fn a_newer_schema_is_refused_by_name() {
        let text = String::from_utf8(manifest().to_bytes())
            .unwrap()
            .replace("\"schema_version\": 1", "\"schema_version\": 2");
        let e = Manifest::parse(text.as_bytes(), "lava-2024.05.manifest.json").unwrap_err();
        assert_eq!(
            e.to_string(),
            "lava-2024.05.manifest.json has schema version 2, newer than the 1 this lava-release reads; update lava-release"
        );
    }

    #[test]
    fn the_tagger_date_keeps_its_offset() {
        let payload = b"object 0123\ntype commit\ntag 2024.05\ntagger R\xc3\xa9mi <rm@example.org> 1714557600 +0200\n\nLAVA 2024.05\n";
        assert_eq!(
            tagger_date(payload).as_deref(),
            Some("2024-05-01T12:00:00+02:00")
        );
        let west = b"tagger A <a@b> 1714557600 -0530\n\nx\n";
        assert_eq!(
            tagger_date(west).as_deref(),
            Some("2024-05-01T04:30:00-05:30")
        );
        assert_eq!(tagger_date(b"object 1\n\nno tagger\n"), None);
    }
}
