//! The Debian part of the rehearsal: a dev build of the local tag with `dpkg-source`,
//! and the upload: the release repository served over HTTP on 127.0.0.1 (where
//! `debian-upload` finds the source through the signed `Sources` index), a throwaway
//! Debian Developer key, and an SFTP upload queue on a real `sshd`. Afterwards the
//! queue's upload is checked with devscripts' `dscverify` against the Developer's key.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::http::HttpServer;
use crate::sshd::Sshd;

/// The suite `debian-upload` looks the source up in.
const SUITE: &str = "bookworm";

/// The running stand-ins; dropping it stops them.
pub struct DebianRehearsal {
    server: HttpServer,
    sshd: Sshd,
    queue: PathBuf,
    dd_keyring: PathBuf,
    dd_secret: PathBuf,
    dd_fingerprint: String,
    /// Holds the key files.
    _keys: tempfile::TempDir,
}

/// Serves the apt site at `site_root` and starts the upload queue's `sshd`.
pub fn prepare(site_root: &Path) -> anyhow::Result<DebianRehearsal> {
    let server = HttpServer::serve(site_root)?;
    let sshd = Sshd::start()?;
    let queue = tempfile::Builder::new()
        .prefix("lava-upload-queue-")
        .tempdir()?
        .keep();
    let keys = tempfile::tempdir()?;
    let created = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let key = lava_signing::keygen::KeySpec::new(
        "Debbie Developer (rehearsal)",
        "dd@debian.example",
        created,
    )
    .generate()?;
    let dd_secret = keys.path().join("dd.key");
    let dd_keyring = keys.path().join("dd.gpg");
    key.write_secret_key(&dd_secret)?;
    std::fs::write(&dd_keyring, key.public_key_binary()?)?;
    Ok(DebianRehearsal {
        server,
        sshd,
        queue,
        dd_keyring,
        dd_secret,
        dd_fingerprint: key.fingerprint().to_hex(),
        _keys: keys,
    })
}

impl DebianRehearsal {
    /// The upload queue's directory.
    pub fn queue(&self) -> &Path {
        &self.queue
    }

    /// The URL of the published apt repository (`release/`), as served here.
    pub fn repository_url(&self) -> String {
        self.server.url("release")
    }

    /// The `[debian]` section: a dev build with `dpkg-source` (a 3.0 (quilt) source
    /// from `git archive` of the tag), and with `upload` the upload through SFTP.
    pub fn config_toml(&self, upload: bool) -> String {
        const BUILDER: &str = "git archive --format=tar --prefix=lava-{version}/ {tag} | xz -T1 > ../lava_{version}.orig.tar.xz && d=$(basename \"$PWD\") && cd .. && dpkg-source --format='3.0 (quilt)' -b \"$d\"";
        let builder = BUILDER;
        if !upload {
            return format!("\n[debian]\ndev_build = true\nbuilder = {builder:?}\n");
        }
        format!(
            "\n[debian]\ndev_build = true\nbuilder = {builder:?}\nupload = {upload:?}\nssh_config = {ssh:?}\nrepository = {repo:?}\nsuite = {SUITE:?}\nkey = {fpr:?}\nkey_file = {key:?}\n",
            upload = format!(
                "sftp://{}@127.0.0.1:{}{}",
                self.sshd.user(),
                self.sshd.port(),
                self.queue.display()
            ),
            ssh = self.sshd.ssh_config().display().to_string(),
            repo = self.server.url("release"),
            fpr = self.dd_fingerprint,
            key = self.dd_secret.display().to_string(),
        )
    }

    /// Checks the upload of Debian version `version` in the queue with `dscverify`
    /// and the Developer's key only.
    pub fn check(&self, version: &str, mut report: impl FnMut(&str, bool, String)) {
        let changes = self.queue.join(format!("lava_{version}_source.changes"));
        let (passed, detail) = match dscverify(&self.dd_keyring, &changes) {
            Ok(out) => (
                out.contains("All files validated successfully"),
                out.lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            ),
            Err(e) => (false, format!("{e:#}")),
        };
        report(
            "Debian upload in the SFTP queue (dscverify)",
            passed,
            format!("{}: {detail}", changes.display()),
        );
    }
}

impl Drop for DebianRehearsal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.queue);
    }
}

fn dscverify(keyring: &Path, file: &Path) -> anyhow::Result<String> {
    let out = Command::new("dscverify")
        .args(["--no-conf", "--no-default-keyrings", "--keyring"])
        .arg(keyring)
        .arg(file)
        .output()
        .context("cannot run dscverify; install devscripts")?;
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
