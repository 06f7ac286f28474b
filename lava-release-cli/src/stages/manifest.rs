//! Stage `manifest`: the release manifest (`lava-VERSION.manifest.json`, see
//! [`crate::manifest`]) gathered once everything is published, signed with the release
//! key (a detached, ASCII-armoured `.asc`), kept in the journal directory and attached
//! to the GitLab release of the tag: both files uploaded to the project's generic
//! package registry and linked from the release as assets. The journal's copy is
//! written once; a re-run publishes that same copy, byte for byte, or finds it there.

use anyhow::Context as _;

use crate::config::Config;
use crate::manifest::{Manifest, PACKAGE};
use crate::shared::gitlab::{client, writer};
use crate::step::{Absent, Context, Credential, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `manifest` stage.
#[derive(Debug, Clone)]
pub struct ManifestStage {
    version: String,
}

/// The manifest and its signature.
struct Signed {
    json: Vec<u8>,
    asc: Vec<u8>,
}

/// What GitLab holds of the manifest.
enum Published {
    /// Both files, byte for byte this run's, linked from the release.
    Same(String),
    /// Not (all) there yet.
    Missing(String),
    /// Another manifest is there.
    Other(String),
}

impl Step for ManifestStage {
    fn from_config(_: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
        })
    }

    fn name(&self) -> &'static str {
        "manifest"
    }

    fn describe(&self) -> String {
        format!(
            "write {} (the tag, its pipeline, CI's Debian files, the apt suites, the images, the announcement), sign it with the release key and attach it to the GitLab release of tag {}",
            Manifest::file_name(&self.version),
            self.version
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn signs(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::ReleaseKey, Credential::GitLab]
    }

    /// The token can write to the project, unless the manifest is published already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        crate::shared::gitlab::write_ready(ctx)
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let gitlab = client(ctx)?;
        if gitlab.release(&self.version)?.is_none() {
            return Ok(Status::ToDo {
                detail: Some(format!(
                    "the GitLab release of tag {} is not made yet (release-notes)",
                    self.version
                )),
            });
        }
        let Some(local) = self.load(ctx)? else {
            return Ok(Status::todo());
        };
        Ok(match self.published(ctx, &gitlab, &local)? {
            Published::Same(evidence) => Status::Done { evidence },
            Published::Missing(detail) => Status::ToDo {
                detail: Some(detail),
            },
            Published::Other(reason) => Status::Blocked { reason },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let signed = match self.load(ctx)? {
            Some(signed) => signed,
            None => self.write(ctx)?,
        };
        ctx.failpoint("manifest:signed");
        let gitlab = writer(ctx)?;
        if let Published::Other(reason) = self.published(ctx, &gitlab, &signed)? {
            anyhow::bail!(reason);
        }
        let names = [
            (Manifest::file_name(&self.version), &signed.json),
            (Manifest::signature_name(&self.version), &signed.asc),
        ];
        for (name, bytes) in names {
            if gitlab
                .generic_package_file(PACKAGE, &self.version, &name)?
                .as_ref()
                != Some(bytes)
            {
                gitlab.upload_generic_package(PACKAGE, &self.version, &name, bytes)?;
            }
            let url = gitlab.generic_package_url(PACKAGE, &self.version, &name);
            gitlab.link_release_asset(&self.version, &name, &url, Some(&format!("/{name}")))?;
        }
        match self.published(ctx, &gitlab, &signed)? {
            Published::Same(evidence) => Ok(evidence),
            Published::Missing(why) | Published::Other(why) => {
                anyhow::bail!("the manifest was uploaded, but {why}")
            }
        }
    }
}

impl ManifestStage {
    /// The journal's manifest and signature, if this release has them.
    fn load(&self, ctx: &Context<'_>) -> anyhow::Result<Option<Signed>> {
        let read = |path: std::path::PathBuf| match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display()))),
        };
        let json = read(Manifest::path(ctx, &self.version))?;
        let asc = read(Manifest::signature_path(ctx, &self.version))?;
        Ok(match (json, asc) {
            (Some(json), Some(asc)) => Some(Signed { json, asc }),
            _ => None,
        })
    }

    /// Gathers the manifest, signs it and keeps both in the journal directory, the
    /// signature first checked with the release key's certificate alone.
    fn write(&self, ctx: &Context<'_>) -> anyhow::Result<Signed> {
        let json = crate::manifest::gather(ctx)?.to_bytes();
        let signer = ctx.release_signer()?;
        let asc = signer.sign_detached_armored(&json)?.into_bytes();
        let keyring = lava_signing::Keyring::from_bytes(&signer.export_public_binary()?)?;
        lava_signing::verify_detached(&json, &asc, &keyring)
            .context("the manifest's signature does not verify right after signing")?;
        std::fs::create_dir_all(ctx.state_dir())
            .with_context(|| format!("cannot create {}", ctx.state_dir().display()))?;
        // The manifest before its signature: a crash between them leaves no pair, and
        // the next run signs again.
        let path = Manifest::path(ctx, &self.version);
        lava_io::write_atomically(&path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let sig = Manifest::signature_path(ctx, &self.version);
        lava_io::write_atomically(&sig, &asc)
            .with_context(|| format!("cannot write {}", sig.display()))?;
        Ok(Signed { json, asc })
    }

    /// Whether GitLab holds `signed` and links it from the release.
    fn published(
        &self,
        ctx: &Context<'_>,
        gitlab: &lava_gitlab::GitLab,
        signed: &Signed,
    ) -> anyhow::Result<Published> {
        let v = &self.version;
        let mut missing = Vec::new();
        let links = gitlab.release_links(v)?;
        for (name, bytes) in [
            (Manifest::file_name(v), &signed.json),
            (Manifest::signature_name(v), &signed.asc),
        ] {
            match gitlab.generic_package_file(PACKAGE, v, &name)? {
                None => missing.push(format!("{name} is not uploaded")),
                Some(there) if there != *bytes => {
                    return Ok(Published::Other(format!(
                        "{} already holds another {name} (SHA-256 {}; the journal's {} is {}); remove it from the package registry to publish this one",
                        gitlab.generic_package_url(PACKAGE, v, &name),
                        crate::manifest::sha256_hex(&there),
                        Manifest::path(ctx, v).display(),
                        crate::manifest::sha256_hex(bytes),
                    )));
                }
                Some(_) => {}
            }
            let url = gitlab.generic_package_url(PACKAGE, v, &name);
            if !links.iter().any(|l| l.name == name && l.url == url) {
                missing.push(format!("the release of tag {v} does not link {name}"));
            }
        }
        if !missing.is_empty() {
            return Ok(Published::Missing(missing.join("; ")));
        }
        let keyring = crate::signing::release_keyring(&ctx.config.signing, ctx.env)?;
        let signer = lava_signing::verify_detached(&signed.json, &signed.asc, &keyring)
            .with_context(|| {
                format!(
                    "{} does not verify with the release key",
                    Manifest::signature_path(ctx, v).display()
                )
            })?;
        Ok(Published::Same(format!(
            "{} (SHA-256 {}) signed by {signer}, attached to the release of tag {v}",
            Manifest::file_name(v),
            short(&crate::manifest::sha256_hex(&signed.json)),
        )))
    }
}
