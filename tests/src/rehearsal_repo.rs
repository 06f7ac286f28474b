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
    /// Each upload CI built: the suite it is for (`None`: every suite) and its directory.
    uploads: Vec<(Option<String>, PathBuf)>,
    secret_key: PathBuf,
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
/// `archive/PREVIOUS_VERSION` and live, and the uploads CI built in `incoming/UPLOAD`:
/// each `(suite, version)` of `uploads` built for that suite (LAVA today:
/// `VERSION+12+bookworm` for bookworm), or with no suite the written process's one
/// upload (`VERSION-1`, `Distribution: unstable`) for every suite.
pub fn prepare(
    sandbox_dir: &Path,
    version: &str,
    uploads: &[(Option<&str>, String)],
) -> anyhow::Result<RepoRehearsal> {
    let (secret, public) = key_paths(sandbox_dir);
    let site = AptSite::new()?;
    site.include(PREVIOUS_VERSION)?;
    let signer = crate::keys::signer_from_files(&secret, &public, SystemTime::now())
        .context("cannot use the sandbox's release key")?;
    // The previous release as the release manager left it: signed by hand.
    sign_and_keep(site.root(), &signer, PREVIOUS_VERSION)?;
    // CI's source package is signed with the release key, as `dget` expects.
    let mut built = Vec::new();
    for (suite, upload) in uploads {
        let dir = site.upload_for(upload, suite.unwrap_or("unstable"), Some(&signer))?;
        built.push((suite.map(str::to_owned), dir));
    }
    // apt's signed-by takes a binary certificate.
    let scratch = tempfile::tempdir()?;
    let public_key = scratch.path().join("release.gpg");
    std::fs::write(&public_key, signer.export_public_binary()?)?;
    Ok(RepoRehearsal {
        site,
        version: version.to_owned(),
        uploads: built,
        secret_key: secret,
        public_key,
        _scratch: scratch,
    })
}

/// Signs every suite of the site's reprepro base with `signer` (`InRelease`,
/// `Release.gpg`), keeps the tree as `archive/VERSION` and switches the live `release`
/// symlink to it atomically: what the release manager did by hand, and what LAVA's
/// publishing pipeline does.
fn sign_and_keep(root: &Path, signer: &lava_signing::Signer, version: &str) -> anyhow::Result<()> {
    let base = root.join("current-release");
    for suite in SUITES {
        let dir = base.join("dists").join(suite);
        let release = std::fs::read(dir.join("Release"))?;
        std::fs::write(dir.join("InRelease"), signer.sign_cleartext(&release)?)?;
        std::fs::write(
            dir.join("Release.gpg"),
            signer.sign_detached_armored(&release)?,
        )?;
    }
    let kept = root.join("archive").join(version);
    if kept.exists() {
        std::fs::remove_dir_all(&kept)?;
    }
    std::fs::create_dir_all(&kept)?;
    for part in ["dists", "pool"] {
        let mut cmd = Command::new("cp");
        cmd.arg("-al").arg(base.join(part)).arg(kept.join(part));
        crate::sandbox::run(cmd, None)?;
    }
    let new_link = root.join("release.new");
    let _ = std::fs::remove_file(&new_link);
    std::os::unix::fs::symlink(format!("archive/{version}"), &new_link)?;
    std::fs::rename(&new_link, root.join("release"))?;
    Ok(())
}

impl RepoRehearsal {
    /// The site root (`current-release/`, `archive/`, `release`).
    pub fn root(&self) -> &Path {
        self.site.root()
    }

    /// The directories holding the uploads of the new version.
    pub fn uploads(&self) -> Vec<&Path> {
        self.uploads.iter().map(|(_, dir)| dir.as_path()).collect()
    }

    /// What `lava/lava-apt-repo`'s pipeline does for a tag, as the GitLab stand-in's
    /// downstream pipeline runs it: `reprepro include` of each upload into its suite (or
    /// every suite), every suite signed with the release key, the tree kept as
    /// `archive/TAG` and the live symlink switched to it.
    pub fn publisher(&self) -> crate::gitlab::Publish {
        let root = self.site.root().to_owned();
        let uploads = self.uploads.clone();
        let keys = (self.secret_key.clone(), self.public_key_armored());
        std::sync::Arc::new(move |tag: &str| {
            publish_uploads(&root, &uploads, &keys.0, &keys.1, tag).map_err(|e| format!("{e:#}"))
        })
    }

    /// Removes source `package` and its binaries from `suite` (`reprepro removesrc`)
    /// and publishes the site again as `tag`, signed with the release key: a suite that
    /// lost the release.
    pub fn remove_source(&self, suite: &str, package: &str, tag: &str) -> anyhow::Result<()> {
        let mut cmd = Command::new("reprepro");
        cmd.arg("-b")
            .arg(self.site.root().join("current-release"))
            .args(["removesrc", suite, package]);
        crate::sandbox::run(cmd, None)?;
        let signer = crate::keys::signer_from_files(
            &self.secret_key,
            &self.public_key_armored(),
            SystemTime::now(),
        )?;
        sign_and_keep(self.site.root(), &signer, tag)
    }

    /// Signs every suite again with `signer` and publishes the site as `tag`: a
    /// repository re-signed with another key.
    pub fn sign_again(&self, signer: &lava_signing::Signer, tag: &str) -> anyhow::Result<()> {
        sign_and_keep(self.site.root(), signer, tag)
    }

    fn public_key_armored(&self) -> PathBuf {
        self.secret_key.with_file_name("release.pub")
    }

    /// The release certificate as a file apt's `signed-by` accepts.
    pub fn public_key(&self) -> &Path {
        &self.public_key
    }

    /// The `[repo]` section to append to `release.toml` for the written process:
    /// reprepro on the site, the one upload imported into every suite.
    pub fn config_toml(&self) -> String {
        format!(
            "[repo]\nmode = \"reprepro\"\npackage_version = \"{{debian_version}}\"\nsite = {:?}\nincoming = {:?}\n",
            self.site.root().display().to_string(),
            self.uploads
                .first()
                .map(|(_, dir)| dir.display().to_string())
                .unwrap_or_default()
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

fn publish_uploads(
    root: &Path,
    uploads: &[(Option<String>, PathBuf)],
    secret: &Path,
    public: &Path,
    tag: &str,
) -> anyhow::Result<()> {
    let signer = crate::keys::signer_from_files(secret, public, SystemTime::now())?;
    for (suite, dir) in uploads {
        let changes = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "changes"))
            .with_context(|| format!("{} holds no .changes", dir.display()))?;
        let suites: Vec<&str> = match suite {
            Some(s) => vec![s.as_str()],
            None => SUITES.to_vec(),
        };
        for suite in suites {
            let mut cmd = Command::new("reprepro");
            cmd.arg("-b")
                .arg(root.join("current-release"))
                .args(["--ignore=wrongdistribution", "include", suite])
                .arg(&changes);
            crate::sandbox::run(cmd, None)?;
        }
    }
    sign_and_keep(root, &signer, tag)
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
