//! `lava-release verify-release VERSION`: anyone, anywhere, with no token and no
//! checkout, checks that what is published under a version is what the release
//! manifest says: the manifest and its signature come from the GitLab release of the
//! tag, then every claim is checked against the world as it is now (the tag on the
//! public remote, the pipeline, each apt suite, each image tag, each packaging tag).
//! Each check is one [`Check`]: the claim, whether it holds, and the evidence (both
//! values when they differ).

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use serde::Serialize;

use crate::env::Env;
use crate::error::UsageError;
use crate::manifest::{self, Manifest};
use crate::ops::Settings;

/// One claim of the manifest, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is claimed, `image docker.io/lavasoftware/lava-server:2024.05`.
    pub claim: String,
    /// Whether the world agrees.
    pub pass: bool,
    /// How we know: what was seen, or both values when they differ.
    pub evidence: String,
}

impl Check {
    fn pass(claim: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self {
            claim: claim.into(),
            pass: true,
            evidence: evidence.into(),
        }
    }

    fn fail(claim: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self {
            claim: claim.into(),
            pass: false,
            evidence: evidence.into(),
        }
    }
}

/// What `verify-release` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The version.
    pub version: String,
    /// Where the manifest was read.
    pub manifest_url: String,
    /// Every check, in order: the signature first.
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether every claim holds.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.pass)
    }
}

/// Verifies the published release `version` (see the module's documentation).
/// `keyring` is the release key's certificate; without it, `signing.public_key`, else
/// the key `signing.keyserver` serves for the manifest's signer.
pub fn verify_release(
    settings: &Settings,
    env: &Env,
    version: &str,
    keyring: Option<&Path>,
) -> anyhow::Result<Verification> {
    let config = &settings.config;
    let gitlab = crate::shared::gitlab::anonymous_client(config, &config.gitlab.project)?;
    let (json_url, json) = asset(&gitlab, version, &Manifest::file_name(version))?;
    let (_, asc) = asset(&gitlab, version, &Manifest::signature_name(version))?;
    let mut verification = Verification {
        version: version.to_owned(),
        manifest_url: json_url.clone(),
        checks: Vec::new(),
    };
    let manifest = Manifest::parse(&json, &json_url)?;
    let (keyring, from) = release_keyring(settings, keyring, &gitlab)?;
    let claim = format!("the signature of {}", Manifest::file_name(version));
    match lava_signing::verify_detached(&json, &asc, &keyring) {
        Ok(signer) => verification.checks.push(Check::pass(
            claim,
            format!("a good signature by {signer} ({from})"),
        )),
        Err(e) => {
            // Nothing a manifest says counts unless the release key signed it.
            verification.checks.push(Check::fail(
                claim,
                format!("{e} ({from}); its other claims were not checked"),
            ));
            return Ok(verification);
        }
    }
    let checks = &mut verification.checks;
    checks.push(if manifest.version == version {
        Check::pass("the manifest's version", version)
    } else {
        Check::fail(
            "the manifest's version",
            format!(
                "the manifest says {}, but it is attached to release {version}",
                manifest.version
            ),
        )
    });
    let keyring = keyring.at(SystemTime::now());
    checks.push(release_tag(&manifest, &keyring)?);
    checks.push(pipeline(&gitlab, &manifest)?);
    for suite in &manifest.suites {
        checks.push(apt_suite(&manifest, suite, &keyring));
    }
    if !manifest.images.is_empty() {
        let (promoter, _) = crate::shared::docker::promoter_for(
            config,
            env,
            version,
            lava_io::transfer::Meter::default(),
        )?;
        for image in &manifest.images {
            checks.push(image_tag(&promoter, image));
        }
    }
    for tag in &manifest.packaging_tags {
        checks.push(packaging_tag(tag)?);
    }
    Ok(verification)
}

/// A release asset's URL and bytes, from the link of that name on the release of
/// `version`.
fn asset(
    gitlab: &lava_gitlab::GitLab,
    version: &str,
    name: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    let links = gitlab
        .release_links(version)
        .with_context(|| format!("cannot read the release of tag {version} on GitLab"))?;
    let url = match links.iter().find(|l| l.name == name) {
        Some(link) => link.url.clone(),
        None => {
            let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
            anyhow::bail!(
                "the GitLab release of tag {version} links no {name} (it links {}); was it released with lava-release's manifest stage?",
                if names.is_empty() {
                    "nothing".to_owned()
                } else {
                    names.join(", ")
                }
            );
        }
    };
    let bytes = gitlab.download_url(&url)?;
    Ok((url, bytes))
}

/// The release key's certificate and where it came from.
fn release_keyring(
    settings: &Settings,
    keyring: Option<&Path>,
    gitlab: &lava_gitlab::GitLab,
) -> anyhow::Result<(lava_signing::Keyring, String)> {
    let signing = &settings.config.signing;
    let file = |path: &Path, what: &str| {
        lava_signing::Keyring::from_file(path)
            .with_context(|| format!("cannot read the keyring {}", path.display()))
            .map(|k| (k, format!("{what} {}", path.display())))
    };
    if let Some(path) = keyring {
        return file(path, "--keyring");
    }
    if let Some(path) = &signing.public_key {
        return file(path, "signing.public_key");
    }
    let Some(server) = &signing.keyserver else {
        return Err(UsageError(
            "verify-release needs the release key's certificate: pass --keyring FILE, or set signing.public_key or signing.keyserver".into(),
        )
        .into());
    };
    // The key of the fingerprint the release is configured with, not whichever the
    // manifest names: a keyserver serves anyone's key.
    let fingerprint = signing.release_key.to_uppercase();
    let url = format!(
        "{}/vks/v1/by-fingerprint/{fingerprint}",
        server.trim_end_matches('/')
    );
    let bytes = gitlab
        .download_url(&url)
        .with_context(|| format!("cannot fetch the release key {fingerprint} from {server}"))?;
    let keyring = lava_signing::Keyring::from_bytes(&bytes)
        .with_context(|| format!("{url} is not an OpenPGP certificate"))?;
    anyhow::ensure!(
        keyring
            .fingerprints()
            .iter()
            .any(|f| f.to_hex() == fingerprint),
        "{url} serves another key than {fingerprint}"
    );
    Ok((keyring, format!("key {fingerprint} from {server}")))
}

/// The release tag on the public remote: there, the same object, at the same commit,
/// signed by the release key.
fn release_tag(manifest: &Manifest, keyring: &lava_signing::Keyring) -> anyhow::Result<Check> {
    let tag = &manifest.tag;
    let git = &manifest.project.git;
    let claim = format!("tag {} on {git}", tag.name);
    let object = match remote_tag(git, &tag.name, &tag.object)? {
        Ok(object) => object,
        Err(evidence) => return Ok(Check::fail(claim, evidence)),
    };
    if object.id != tag.object {
        return Ok(Check::fail(
            claim,
            format!(
                "the manifest says tag object {}, but {git} has {}",
                tag.object, object.id
            ),
        ));
    }
    if object.target != tag.commit {
        return Ok(Check::fail(
            claim,
            format!(
                "the manifest says commit {}, but the tag points at {}",
                tag.commit, object.target
            ),
        ));
    }
    Ok(
        match lava_signing::verify_detached(
            &object.payload,
            object.signature.as_deref().unwrap_or_default(),
            keyring,
        ) {
            Ok(signer) => Check::pass(
                claim,
                format!(
                    "tag object {} at commit {} signed by {signer}",
                    tag.object, tag.commit
                ),
            ),
            Err(e) => Check::fail(
                claim,
                format!(
                    "the manifest says signed by {}, but the tag does not verify with the release key: {e}",
                    tag.signer
                ),
            ),
        },
    )
}

/// The tag's pipeline succeeded, for the tag's commit.
fn pipeline(gitlab: &lava_gitlab::GitLab, manifest: &Manifest) -> anyhow::Result<Check> {
    let p = &manifest.pipeline;
    let claim = format!("pipeline {} ({})", p.id, p.url);
    let found = match gitlab.find_pipeline(&lava_gitlab::CiTarget::Pipeline(p.id)) {
        Ok(found) => found,
        Err(e) => return Ok(Check::fail(claim, e.to_string())),
    };
    Ok(match found {
        None => Check::fail(claim, "GitLab has no such pipeline"),
        Some(found) if found.sha != manifest.tag.commit => Check::fail(
            claim,
            format!(
                "the manifest says it built commit {}, but GitLab says {}",
                manifest.tag.commit, found.sha
            ),
        ),
        Some(found) if found.status != "success" => Check::fail(
            claim,
            format!(
                "the manifest says it succeeded, but GitLab says it is {}",
                found.status
            ),
        ),
        Some(found) => Check::pass(claim, format!("succeeded for commit {}", found.sha)),
    })
}

/// One apt suite: signed by the release key, listing the source at its version and
/// every `.deb` (and the `.dsc`) of that suite at the manifest's SHA-256.
fn apt_suite(
    manifest: &Manifest,
    suite: &manifest::Suite,
    keyring: &lava_signing::Keyring,
) -> Check {
    let claim = format!("apt suite {} at {}", suite.suite, suite.repository);
    let query = lava_repo_sign::SourceQuery {
        base: &suite.repository,
        suite: &suite.suite,
        component: "main",
        package: &suite.source,
        version: &suite.version,
    };
    let now = SystemTime::now();
    let published = match lava_repo_sign::published(&query, keyring, now) {
        Ok(p) => p,
        Err(e) => return Check::fail(claim, crate::error::one_line(&e.into())),
    };
    if !published.source_versions.contains(&suite.version) {
        return Check::fail(
            claim,
            format!(
                "the manifest says {} {}, but {} lists {}",
                suite.source,
                suite.version,
                published.release_url,
                if published.source_versions.is_empty() {
                    "no version of it".to_owned()
                } else {
                    published.source_versions.join(", ")
                }
            ),
        );
    }
    let mine = manifest
        .artifacts
        .iter()
        .filter(|a| a.suites.contains(&suite.suite));
    let mut debs = 0;
    for artifact in mine.clone().filter(|a| a.name.ends_with(".deb")) {
        match published.binaries.iter().find(|b| b.file == artifact.name) {
            None => {
                return Check::fail(
                    claim,
                    format!(
                        "the manifest says {} (SHA-256 {}), but {} does not list it",
                        artifact.name, artifact.sha256, published.release_url
                    ),
                );
            }
            Some(b) if b.sha256 != artifact.sha256 => {
                return Check::fail(
                    claim,
                    format!(
                        "the manifest says {} has SHA-256 {}, but {} says {}",
                        artifact.name, artifact.sha256, published.release_url, b.sha256
                    ),
                );
            }
            Some(_) => debs += 1,
        }
    }
    if let Some(dsc) = mine.clone().find(|a| a.name.ends_with(".dsc")) {
        match lava_repo_sign::find_source(&query, keyring, now) {
            Ok(found) if found.dsc_sha256 == dsc.sha256 => {}
            Ok(found) => {
                return Check::fail(
                    claim,
                    format!(
                        "the manifest says {} has SHA-256 {}, but {} says {}",
                        dsc.name, dsc.sha256, found.index_url, found.dsc_sha256
                    ),
                );
            }
            Err(e) => return Check::fail(claim, crate::error::one_line(&e.into())),
        }
    }
    let resigned = if published.signed.sha256 == suite.signed_sha256 {
        String::new()
    } else {
        "; re-signed since the release".to_owned()
    };
    Check::pass(
        claim,
        format!(
            "signed by {}, lists {} {} and its {debs} .deb(s) at the manifest's SHA-256{resigned}",
            published.signed.signer, suite.source, suite.version
        ),
    )
}

/// One image tag: at the manifest's digest, a list over the same per-arch digests.
fn image_tag(promoter: &lava_docker::Promoter, image: &manifest::Image) -> Check {
    let claim = format!("image {}", image.reference);
    let reference = match lava_docker::ImageRef::parse(&image.reference) {
        Ok(r) => r,
        Err(e) => return Check::fail(claim, e.to_string()),
    };
    let published = match promoter.inspect(&reference) {
        Ok(Some(p)) => manifest::image_of(&p),
        Ok(None) => {
            return Check::fail(
                claim,
                format!(
                    "the manifest says {}, but the registry has no such tag",
                    image.digest
                ),
            );
        }
        Err(e) => return Check::fail(claim, crate::error::one_line(&e.into())),
    };
    if published.digest != image.digest {
        return Check::fail(
            claim,
            format!(
                "the manifest says {}, but the registry says {}",
                image.digest, published.digest
            ),
        );
    }
    if published.manifests != image.manifests || published.platform != image.platform {
        return Check::fail(
            claim,
            format!(
                "the manifest says [{}], but the registry says [{}]",
                platforms(image),
                platforms(&published)
            ),
        );
    }
    Check::pass(
        claim,
        format!("{} ({})", published.digest, platforms(&published)),
    )
}

fn platforms(image: &manifest::Image) -> String {
    match &image.platform {
        Some(platform) => platform.clone(),
        None => image
            .manifests
            .iter()
            .map(|e| format!("{} {}", e.platform, e.digest))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A packaging tag, on its remote, at the same object.
fn packaging_tag(tag: &manifest::GitTag) -> anyhow::Result<Check> {
    let claim = format!("tag {} on {}", tag.name, tag.remote);
    Ok(match remote_tag(&tag.remote, &tag.name, &tag.object)? {
        Err(evidence) => Check::fail(claim, evidence),
        Ok(found) if found.id != tag.object => Check::fail(
            claim,
            format!(
                "the manifest says tag object {}, but {} has {}",
                tag.object, tag.remote, found.id
            ),
        ),
        Ok(found) => Check::pass(
            claim,
            format!("tag object {} at commit {}", found.id, found.target),
        ),
    })
}

/// Annotated tag `name` as `url` publishes it, or why it is not there as the
/// manifest's `object`: the fetch failed, there is no such tag, or it is lightweight.
fn remote_tag(
    url: &str,
    name: &str,
    object: &str,
) -> anyhow::Result<Result<lava_git::TagObject, String>> {
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let found = lava_git::read_remote_tag(
        url,
        name,
        &scratch.path().join("tag.git"),
        &lava_git::Network::default(),
    );
    Ok(match found {
        Err(e) => Err(crate::error::one_line(&e.into())),
        Ok(None) => Err(format!("{url} has no tag {name}")),
        Ok(Some(lava_git::TagRef::Lightweight { commit })) => Err(format!(
            "the manifest says tag object {object}, but {url} has a lightweight tag at {commit}"
        )),
        Ok(Some(lava_git::TagRef::Annotated(tag))) => Ok(tag),
    })
}
