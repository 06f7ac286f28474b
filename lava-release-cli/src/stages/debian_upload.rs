//! Stage `debian-upload` (when `debian.upload` is set): the released source fetched
//! from the release repository and checked against the release key, its source-only
//! `.changes` made and signed with the Debian Developer's key, and the upload put where
//! the archive takes it (a directory, SFTP, or a dput profile).
//!
//! Its fetched and signed files are kept under `.git/lava-release/debian/VERSION/`, so
//! a re-run reuses the signed upload rather than signing it again, and sends only what
//! the target lacks. With `debian.flow = "gbp"`, what it uploads is the `.changes` that
//! `debian-build` built and `debian-sign` signed instead.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use lava_debian::{OrigInclusion, UploadTarget};

use crate::config::{Config, DebianFlow, OrigChoice};
use crate::error::UsageError;
use crate::shared::debian::{file_name, fill};
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `debian-upload` stage.
#[derive(Debug, Clone)]
pub struct DebianUpload {
    release: Release,
    source: String,
    description: String,
    flow: DebianFlow,
}

/// The failpoints inside lava-debian's part of the stage, in the order it reaches them:
/// half a download, then a signed `.dsc` beside an unsigned `.changes`.
fn library_failpoints(armed: Option<&str>) -> impl Fn(&str) + Sync + '_ {
    move |at| match at {
        lava_debian::DOWNLOAD_PARTIAL => {
            crate::step::failpoint("debian-upload:download-partial", armed)
        }
        lava_debian::DSC_SIGNED => crate::step::failpoint("debian-upload:dsc-signed", armed),
        _ => {}
    }
}

impl Step for DebianUpload {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let debian = &config.debian;
        let upload = debian
            .upload
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Absent::new("debian-upload", "debian.upload is not set"))?;
        if debian.flow == DebianFlow::Tag2upload {
            return Err(Absent::new(
                "debian-upload",
                "debian.flow is \"tag2upload\": the tag is the upload",
            ));
        }
        let source = config.repo.source.clone();
        let description = if debian.flow == DebianFlow::Gbp {
            format!("upload the .changes debian-build built and debian-sign signed to {upload}")
        } else {
            format!(
                "fetch {source} {} from {}, check it against the release key, sign the source-only upload with {} and upload it to {upload}",
                fill(&debian.source_version, release),
                debian.dsc_url.as_deref().map_or_else(
                    || format!("{} {}", debian.repository, debian.suite),
                    |u| fill(u, release)
                ),
                debian.key.as_deref().unwrap_or("(debian.key unset)"),
            )
        };
        Ok(Self {
            release: release.clone(),
            source,
            description,
            flow: debian.flow,
        })
    }

    fn name(&self) -> &'static str {
        "debian-upload"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// An upload to Debian cannot be taken back.
    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        match self.flow {
            DebianFlow::Dget => vec![Credential::DebianKey],
            // debian-sign signed it.
            DebianFlow::Gbp | DebianFlow::Tag2upload => Vec::new(),
        }
    }

    /// The upload target takes an upload (a directory that exists, a dput profile dput
    /// knows, an SFTP login without a prompt), the freeze settings make sense, and no
    /// freeze stands in the way without `--yes`, unless the upload is done already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        let debian = &ctx.config.debian;
        let mut problems = crate::config::missing_paths(&[
            ("debian.dsc_keyring", debian.dsc_keyring.as_ref()),
            ("debian.ssh_config", debian.ssh_config.as_ref()),
            ("debian.dput_config", debian.dput_config.as_ref()),
        ]);
        match upload_target(ctx.config) {
            Ok(target) => {
                if let Err(e) = lava_debian::check_target(&target) {
                    problems.push(crate::error::one_line(&anyhow::Error::from(e)));
                }
            }
            Err(e) => problems.push(crate::error::one_line(&e)),
        }
        match crate::shared::debian::frozen(ctx) {
            Ok(Some(reason)) if !ctx.yes => problems.push(reason),
            Ok(_) => {}
            Err(e) => problems.push(crate::error::one_line(&e)),
        }
        problems
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let target = upload_target(ctx.config)?;
        let changes = match self.flow {
            DebianFlow::Dget => self.changes_in(ctx, &self.work_dir(ctx)),
            DebianFlow::Gbp | DebianFlow::Tag2upload => match gbp_signed_changes(ctx)? {
                Some(changes) => changes,
                None => {
                    return Ok(Status::ToDo {
                        detail: Some("after debian-sign".into()),
                    });
                }
            },
        };
        if changes.exists() {
            let preview = lava_debian::upload_preview(&changes, &target)?;
            if preview.uploaded.is_empty() {
                return Ok(Status::Done {
                    evidence: format!(
                        "{} and its {} file(s) are at {target}",
                        file_name(&changes),
                        preview.skipped.len().saturating_sub(1)
                    ),
                });
            }
            if let Some(reason) = crate::shared::debian::frozen(ctx)?.filter(|_| !ctx.yes) {
                return Ok(Status::Blocked { reason });
            }
            return Ok(Status::ToDo {
                detail: Some(format!(
                    "signed upload prepared in {}; {} file(s) to send",
                    changes.parent().unwrap_or(Path::new(".")).display(),
                    preview.uploaded.len()
                )),
            });
        }
        if let Some(reason) = crate::shared::debian::frozen(ctx)?.filter(|_| !ctx.yes) {
            return Ok(Status::Blocked { reason });
        }
        Ok(Status::todo())
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        if let Some(reason) = crate::shared::debian::frozen(ctx)? {
            anyhow::ensure!(ctx.yes, "{reason}");
            eprintln!("warning: {reason}");
        }
        let target = upload_target(ctx.config)?;
        let changes = match self.flow {
            DebianFlow::Dget => self.prepare(ctx, &self.work_dir(ctx))?,
            DebianFlow::Gbp | DebianFlow::Tag2upload => {
                gbp_signed_changes(ctx)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "there is no signed .changes of debian-build; run debian-sign first"
                    )
                })?
            }
        };
        ctx.failpoint("debian-upload:prepared");
        let report = lava_debian::upload(&changes, &target)
            .with_context(|| format!("cannot upload {} to {target}", changes.display()))?;
        Ok(format!(
            "uploaded {} to {target}: {} file(s) sent{}",
            file_name(&changes),
            report.uploaded.len(),
            if report.skipped.is_empty() {
                String::new()
            } else {
                format!(", {} already there", report.skipped.len())
            }
        ))
    }

    /// In a dry run: with `--simulate`, the upload prepared, signed and rehearsed
    /// (`dput -s`); without, what would be fetched and where it would go.
    fn rehearse(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        let target = upload_target(ctx.config)?;
        if !ctx.simulate {
            return Ok(Some(format!(
                "would upload {} {} to {target}; --simulate prepares and signs it and runs `dput -s`",
                self.source, self.release.debian_version
            )));
        }
        // An upload a real run prepared is simulated as it is; otherwise one is prepared
        // in the dry run's scratch directory, never where a real run would take it.
        let changes = match self.flow {
            DebianFlow::Gbp | DebianFlow::Tag2upload => match gbp_signed_changes(ctx)? {
                Some(changes) => changes,
                None => {
                    return Ok(Some(format!(
                        "would upload {} {} to {target} once debian-build and debian-sign have made it",
                        self.source, self.release.debian_version
                    )));
                }
            },
            DebianFlow::Dget => {
                let prepared = self.changes_in(ctx, &self.work_dir(ctx));
                if prepared.exists() {
                    prepared
                } else {
                    self.prepare(ctx, &ctx.scratch_dir()?.join("debian"))?
                }
            }
        };
        let simulated = lava_debian::simulate(&changes, &target)?;
        let last = simulated
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned();
        Ok(Some(format!(
            "simulated upload of {}: {last}",
            changes.display()
        )))
    }
}

impl DebianUpload {
    fn source_version(&self, config: &Config) -> String {
        fill(&config.debian.source_version, &self.release)
    }

    /// Where the upload is prepared: `.git/lava-release/debian/VERSION/`.
    fn work_dir(&self, ctx: &Context<'_>) -> PathBuf {
        ctx.state_dir()
            .join("debian")
            .join(self.release.version.to_string())
    }

    /// The signed `.changes` of the upload, once prepared in `work`.
    fn changes_in(&self, ctx: &Context<'_>, work: &Path) -> PathBuf {
        let version = self.source_version(ctx.config);
        let version = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
        work.join("upload")
            .join(format!("{}_{version}_source.changes", self.source))
    }

    /// The signed upload in `work`: reused when a previous run made it, else fetched,
    /// checked, built and signed in a scratch directory that is then renamed into
    /// place, so a crash never leaves a half-signed upload behind.
    fn prepare(&self, ctx: &Context<'_>, work: &Path) -> anyhow::Result<PathBuf> {
        let changes = self.changes_in(ctx, work);
        if changes.exists() {
            return Ok(changes);
        }
        let debian = &ctx.config.debian;
        // Unlock the key first: a wrong passphrase fails before any download.
        let signer = ctx.debian_signer()?;
        let fetched = work.join("fetched");
        let keyring = match &debian.dsc_keyring {
            Some(path) => lava_signing::Keyring::from_file(path)
                .with_context(|| format!("cannot read debian.dsc_keyring {}", path.display()))?,
            None => crate::signing::release_keyring(&ctx.config.signing, ctx.env)?,
        };
        let (dsc_url, expected_dsc) = match &debian.dsc_url {
            Some(url) => (fill(url, &self.release), None),
            None => {
                let version = self.source_version(ctx.config);
                let found = lava_repo_sign::find_source(
                    &lava_repo_sign::SourceQuery {
                        base: &debian.repository,
                        suite: &debian.suite,
                        component: &debian.component,
                        package: &self.source,
                        version: &version,
                    },
                    &keyring,
                    SystemTime::now(),
                )?;
                let expected = lava_debian::ExpectedDsc {
                    size: found.dsc_size,
                    sha256: found.dsc_sha256,
                    index: found.index_url,
                };
                (found.dsc_url, Some(expected))
            }
        };
        let armed = ctx.env.failpoint.as_deref();
        let checkpoint = library_failpoints(armed);
        let report = lava_debian::dget_with(
            &lava_debian::DgetRequest {
                dsc_url: dsc_url.clone(),
                dest: fetched.clone(),
                keyring: Some(keyring),
                allow_unsigned: debian.allow_unsigned,
                jobs: debian.jobs,
                expected_dsc,
                meter: ctx.meter.clone(),
            },
            &checkpoint,
        )?;
        let scratch = work.join("upload.partial");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("cannot remove {}", scratch.display()))?;
        }
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        let dsc_name = file_name(&report.dsc_path);
        for name in
            std::iter::once(dsc_name.clone()).chain(report.dsc.files.iter().map(|f| f.name.clone()))
        {
            std::fs::copy(fetched.join(&name), scratch.join(&name))
                .with_context(|| format!("cannot copy {name} into {}", scratch.display()))?;
        }
        let tree = tempfile::tempdir().context("cannot create a temporary directory")?;
        let unpacked = tree.path().join("source");
        lava_debian::unpack(&scratch.join(&dsc_name), &unpacked)?;
        let date = ctx
            .now
            .format(&time::format_description::well_known::Rfc2822)
            .context("cannot format the upload date")?;
        let orig = match debian.orig {
            OrigChoice::Auto => OrigInclusion::Auto,
            OrigChoice::Include => OrigInclusion::Include,
            OrigChoice::Exclude => OrigInclusion::Exclude,
        };
        let (written, _) =
            lava_debian::write_source_changes(&scratch, &unpacked, &dsc_name, &date, orig)?;
        lava_debian::sign_upload_with(&written, signer, &checkpoint)?;
        let upload_dir = changes.parent().unwrap_or(Path::new("."));
        anyhow::ensure!(
            scratch.join(file_name(&changes)).exists(),
            "the fetched source is {} rather than {} {}; check debian.source_version",
            file_name(&written),
            self.source,
            self.source_version(ctx.config)
        );
        if upload_dir.exists() {
            std::fs::remove_dir_all(upload_dir)
                .with_context(|| format!("cannot remove {}", upload_dir.display()))?;
        }
        std::fs::rename(&scratch, upload_dir).with_context(|| {
            format!(
                "cannot rename {} to {}",
                scratch.display(),
                upload_dir.display()
            )
        })?;
        Ok(changes)
    }
}

/// The `gbp` flow's built `.changes`, once `debian-sign` has signed it.
fn gbp_signed_changes(ctx: &Context<'_>) -> anyhow::Result<Option<PathBuf>> {
    let Some(changes) = crate::shared::packaging::built_changes(ctx)? else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(&changes).with_context(|| format!("cannot read {}", changes.display()))?;
    Ok(lava_debian::is_signed(&bytes).then_some(changes))
}

/// Where `debian.upload` says the upload goes.
fn upload_target(config: &Config) -> anyhow::Result<UploadTarget> {
    let debian = &config.debian;
    let spec = debian.upload.as_deref().unwrap_or_default();
    if let Some(profile) = spec.strip_prefix("dput:") {
        return Ok(UploadTarget::Dput {
            profile: profile.to_owned(),
            config: debian.dput_config.clone(),
        });
    }
    if let Some(rest) = spec.strip_prefix("sftp://") {
        let (authority, dir) = rest.split_once('/').ok_or_else(|| {
            UsageError(format!(
                "debian.upload `{spec}` has no directory; use sftp://[user@]host[:port]/dir"
            ))
        })?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                Some(port.parse::<u16>().map_err(|_| {
                    UsageError(format!("debian.upload `{spec}` has a bad port `{port}`"))
                })?),
            ),
            None => (authority.to_owned(), None),
        };
        return Ok(UploadTarget::Sftp {
            host,
            port,
            dir: format!("/{dir}"),
            ssh_config: debian.ssh_config.clone(),
        });
    }
    anyhow::ensure!(
        Path::new(spec).is_absolute(),
        UsageError(format!(
            "debian.upload `{spec}` is neither dput:PROFILE, sftp://[user@]host[:port]/dir nor an absolute directory"
        ))
    );
    Ok(UploadTarget::Directory(PathBuf::from(spec)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Freeze;
    use crate::shared::debian::in_freeze;

    fn config(toml: &str) -> Config {
        Config::from_toml(toml).unwrap()
    }

    #[test]
    fn upload_targets() {
        let target = |spec: &str| {
            upload_target(&config(&format!("[debian]\nupload = {spec:?}\n")))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            target("dput:ftp-master").unwrap(),
            UploadTarget::Dput {
                profile: "ftp-master".into(),
                config: None
            }
        );
        assert_eq!(
            target("sftp://dd@ssh.upload.debian.org:2222/srv/upload.debian.org/UploadQueue")
                .unwrap(),
            UploadTarget::Sftp {
                host: "dd@ssh.upload.debian.org".into(),
                port: Some(2222),
                dir: "/srv/upload.debian.org/UploadQueue".into(),
                ssh_config: None
            }
        );
        assert_eq!(
            target("/srv/queue").unwrap(),
            UploadTarget::Directory("/srv/queue".into())
        );
        assert_eq!(
            target("queue").unwrap_err(),
            "debian.upload `queue` is neither dput:PROFILE, sftp://[user@]host[:port]/dir nor an absolute directory"
        );
        assert_eq!(
            target("sftp://host:ssh/q").unwrap_err(),
            "debian.upload `sftp://host:ssh/q` has a bad port `ssh`"
        );
    }

    #[test]
    fn freeze_windows_are_inclusive() {
        let freeze = Freeze {
            distribution: "unstable".into(),
            from: "2025-03-15".into(),
            until: Some("2025-08-09".into()),
            name: "trixie freeze".into(),
        };
        let day = |d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
        };
        assert!(!in_freeze(&freeze, day("2025-03-14")).unwrap());
        assert!(in_freeze(&freeze, day("2025-03-15")).unwrap());
        assert!(in_freeze(&freeze, day("2025-08-09")).unwrap());
        assert!(!in_freeze(&freeze, day("2025-08-10")).unwrap());
        let open = Freeze {
            until: None,
            ..freeze
        };
        assert!(in_freeze(&open, day("2030-01-01")).unwrap());
        let bad = Freeze {
            from: "15/03/2025".into(),
            ..open
        };
        assert_eq!(
            in_freeze(&bad, day("2030-01-01")).unwrap_err().to_string(),
            "debian.freeze date `15/03/2025` is not YYYY-MM-DD"
        );
    }
}
