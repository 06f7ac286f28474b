//! The apt repository part of the rehearsal: a real reprepro site with the previous
//! release signed and published (`release -> archive/PREVIOUS`), the new version's
//! upload waiting in an incoming directory, and the `[repo]` configuration naming
//! them; afterwards, `apt-get update` in a throwaway root against the live tree served
//! over HTTP on 127.0.0.1, trusting only the release key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use anyhow::{Context as _, ensure};

use crate::aptrepo::{AptSite, SUITES};
use crate::http::HttpServer;
use crate::sandbox::PREVIOUS_VERSION;

/// A prepared site; dropping it removes it.
pub struct RepoRehearsal {
    site: AptSite,
    version: String,
    incoming: PathBuf,
    public_key: PathBuf,
    /// Holds the certificate file apt reads.
    _scratch: tempfile::TempDir,
}

/// The key files the sandbox writes (see `Sandbox::release_key`).
fn key_paths(sandbox_dir: &Path) -> (PathBuf, PathBuf) {
    (
        sandbox_dir.join("keys/release.key"),
        sandbox_dir.join("keys/release.pub"),
    )
}

/// Builds the site for a release of `version` with the sandbox's release key (in
/// `sandbox_dir/keys/`): `PREVIOUS_VERSION` imported, signed, kept as
/// `archive/PREVIOUS_VERSION` and live, and the upload of Debian version `upload` (as
/// CI built it: `VERSION-1`) in `incoming/UPLOAD`.
pub fn prepare(sandbox_dir: &Path, version: &str, upload: &str) -> anyhow::Result<RepoRehearsal> {
    let (secret, public) = key_paths(sandbox_dir);
    let site = AptSite::new()?;
    site.include(PREVIOUS_VERSION)?;
    let signer = crate::keys::signer_from_files(&secret, &public, SystemTime::now())
        .context("cannot use the sandbox's release key")?;
    // The previous release as the release manager left it: signed by hand.
    for suite in SUITES {
        let dir = site.base().join("dists").join(suite);
        let release = std::fs::read(dir.join("Release"))?;
        std::fs::write(dir.join("InRelease"), signer.sign_cleartext(&release)?)?;
        std::fs::write(
            dir.join("Release.gpg"),
            signer.sign_detached_armored(&release)?,
        )?;
    }
    let archive = site.root().join("archive");
    std::fs::create_dir_all(archive.join(PREVIOUS_VERSION))?;
    for part in ["dists", "pool"] {
        crate::sandbox::run(
            {
                let mut cmd = Command::new("cp");
                cmd.arg("-al")
                    .arg(site.base().join(part))
                    .arg(archive.join(PREVIOUS_VERSION).join(part));
                cmd
            },
            None,
        )?;
    }
    std::os::unix::fs::symlink(
        format!("archive/{PREVIOUS_VERSION}"),
        site.root().join("release"),
    )?;
    // CI's source package is signed with the release key, as `dget` expects.
    let incoming = site.upload_signed(upload, Some(&signer))?;
    // apt's signed-by takes a binary certificate.
    let scratch = tempfile::tempdir()?;
    let public_key = scratch.path().join("release.gpg");
    std::fs::write(&public_key, signer.export_public_binary()?)?;
    Ok(RepoRehearsal {
        site,
        version: version.to_owned(),
        incoming,
        public_key,
        _scratch: scratch,
    })
}

impl RepoRehearsal {
    /// The site root (`current-release/`, `archive/`, `release`).
    pub fn root(&self) -> &Path {
        self.site.root()
    }

    /// The directory holding the upload of the new version.
    pub fn incoming(&self) -> &Path {
        &self.incoming
    }

    /// The release certificate as a file apt's `signed-by` accepts.
    pub fn public_key(&self) -> &Path {
        &self.public_key
    }

    /// The `[repo]` section to append to `release.toml`.
    pub fn config_toml(&self) -> String {
        format!(
            "\n[repo]\nsite = {:?}\nincoming = {:?}\n",
            self.site.root().display().to_string(),
            self.incoming.display().to_string()
        )
    }

    /// Where the live symlink points.
    pub fn live_target(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_link(self.root().join("release"))?
            .display()
            .to_string())
    }

    /// Checks the published repository the way users meet it: the live symlink points
    /// at `archive/VERSION`, and `apt-get update` over HTTP accepts every suite with
    /// only the release key trusted. `report` receives each check (name, passed,
    /// detail); the result is the conjunction and a summary.
    pub fn check(&self, mut report: impl FnMut(&str, bool, String)) -> (bool, String) {
        let mut all = true;
        let mut summary = Vec::new();
        let expected = format!("archive/{}", self.version);
        let (passed, detail) = match self.live_target() {
            Ok(t) => (t == expected, format!("release -> {t}")),
            Err(e) => (false, format!("cannot read the release symlink: {e}")),
        };
        all &= passed;
        summary.push(detail.clone());
        report("apt repository: live symlink", passed, detail);
        let server = match HttpServer::serve(self.root()) {
            Ok(s) => s,
            Err(e) => {
                let detail = format!("cannot serve {}: {e}", self.root().display());
                report("apt repository: apt-get update", false, detail.clone());
                return (false, detail);
            }
        };
        let url = server.url("release/");
        for suite in SUITES {
            let (passed, detail) = match apt_update(&url, suite, &self.public_key) {
                Ok(out) => judge(&out),
                Err(e) => (false, format!("{e:#}")),
            };
            all &= passed;
            summary.push(format!("{suite}: {detail}"));
            report(
                &format!("apt-get update {suite} (signed-by release key)"),
                passed,
                detail,
            );
        }
        drop(server);
        (all, summary.join("; "))
    }
}

/// Whether apt accepted: success and no warning or error.
pub fn judge(out: &Output) -> (bool, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success() && !text.contains("W:") && !text.contains("E:");
    let detail = if ok {
        text.lines()
            .rfind(|l| l.starts_with("Get:") || l.starts_with("Hit:"))
            .unwrap_or("updated")
            .trim()
            .to_owned()
    } else {
        text.lines()
            .filter(|l| l.starts_with("W:") || l.starts_with("E:"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    (ok, detail)
}

/// `apt-get update` in a throwaway root against `url` (the directory holding `dists/`)
/// for `suite`, trusting only `key`.
pub fn apt_update(url: &str, suite: &str, key: &Path) -> anyhow::Result<Output> {
    let found = Command::new("sh")
        .arg("-c")
        .arg("command -v apt-get")
        .output()
        .is_ok_and(|o| o.status.success());
    ensure!(
        found,
        "`apt-get` is needed to check the repository; install it with `apt-get install apt`"
    );
    let root = tempfile::tempdir()?;
    let r = root.path();
    for d in [
        "etc/apt/apt.conf.d",
        "etc/apt/preferences.d",
        "etc/apt/trusted.gpg.d",
        "etc/apt/sources.list.d",
        "var/lib/apt/lists/partial",
        "var/cache/apt/archives/partial",
        "var/lib/dpkg",
    ] {
        std::fs::create_dir_all(r.join(d))?;
    }
    std::fs::write(r.join("var/lib/dpkg/status"), "")?;
    std::fs::write(
        r.join("etc/apt/sources.list"),
        format!("deb [signed-by={}] {url} {suite} main\n", key.display()),
    )?;
    let out = Command::new("apt-get")
        .arg("-o")
        .arg(format!("Dir={}", r.display()))
        .arg("-o")
        .arg(format!(
            "Dir::State::status={}/var/lib/dpkg/status",
            r.display()
        ))
        .args([
            "-o",
            "Debug::NoLocking=1",
            "-o",
            "APT::Sandbox::User=root",
            "-o",
            "Acquire::Languages=none",
            "-o",
            "Acquire::http::Proxy=false",
            "-o",
            "APT::Architectures::=amd64",
            "-o",
            "APT::Architectures::=arm64",
            "update",
        ])
        .env_remove("http_proxy")
        .output()
        .context("cannot run apt-get")?;
    Ok(out)
}
