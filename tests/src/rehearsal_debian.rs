//! The Debian part of the rehearsal: a dev build of the local tag with `dpkg-source`,
//! and the upload: the release repository served over HTTP on 127.0.0.1 (where
//! `debian-upload` finds the source through the signed `Sources` index), a throwaway
//! Debian Developer key, and an SFTP upload queue on a real `sshd`. Afterwards the
//! queue's upload is checked with devscripts' `dscverify` against the Developer's key.
//! Or, as the written process's "Debian uploads" have it (`debian.flow = "gbp"`), the
//! tag's tarball imported into a DEP-14 packaging remote with git-buildpackage, built,
//! signed, tagged and pushed, and the same upload queue: checked with `dscverify`, `git
//! verify-tag` and `pristine-tar checkout` on the pushed remote.

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

    /// The `[debian]` section of the gbp flow into the packaging remote `packaging`: the
    /// dev build, then `gbp buildpackage` with `dpkg-buildpackage -S` (sbuild needs a
    /// chroot), the upload through SFTP.
    pub fn gbp_config_toml(&self, packaging: &Path) -> String {
        format!(
            "{}flow = \"gbp\"\npackaging_remote = {:?}\npackage_builder = \"dpkg-buildpackage -S -us -uc -d\"\nupload = {:?}\nssh_config = {:?}\nkey = {:?}\nkey_file = {:?}\n",
            self.config_toml(false),
            packaging.display().to_string(),
            format!(
                "sftp://{}@127.0.0.1:{}{}",
                self.sshd.user(),
                self.sshd.port(),
                self.queue.display()
            ),
            self.sshd.ssh_config().display().to_string(),
            self.dd_fingerprint,
            self.dd_secret.display().to_string(),
        )
    }

    /// The `[debian]` section of the tag2upload flow into the packaging remote
    /// `packaging`: the dev build, then the signed tag in LAVA's DEP-14 (`gbp`) quilt mode.
    pub fn tag2upload_config_toml(&self, packaging: &Path) -> String {
        format!(
            "{}flow = \"tag2upload\"\npackaging_remote = {:?}\nquilt = \"gbp\"\nkey = {:?}\nkey_file = {:?}\n",
            self.config_toml(false),
            packaging.display().to_string(),
            self.dd_fingerprint,
            self.dd_secret.display().to_string(),
        )
    }

    /// Checks the tag2upload flow's result for `version`: the Debian tag on the
    /// packaging remote verified with `git verify-tag` and the Developer's key alone, and
    /// asking tag2upload for this upload.
    pub fn check_tag2upload(
        &self,
        version: &str,
        packaging: &Path,
        mut report: impl FnMut(&str, bool, String),
    ) {
        let tag = format!("debian/{version}-1");
        let (passed, detail) = match verify_tag(packaging, &tag, &self.dd_keyring) {
            Ok(out) => out,
            Err(e) => (false, format!("{e:#}")),
        };
        report(
            "tag2upload tag on the packaging remote (git verify-tag)",
            passed,
            format!("{tag}: {detail}"),
        );
        let message = Command::new("git")
            .current_dir(packaging)
            .args(["cat-file", "tag", &tag])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let wanted = format!(
            "[dgit please-upload source=lava version={version}-1 upstream-tag=upstream/{version} upstream="
        );
        let line = message
            .lines()
            .find(|l| l.starts_with("[dgit please-upload"))
            .unwrap_or("no [dgit please-upload] line")
            .to_owned();
        report(
            "tag2upload asks for this upload (git cat-file tag)",
            line.starts_with(&wanted) && message.contains("[dgit distro=debian split --quilt=gbp]"),
            line,
        );
    }

    /// Checks the gbp flow's result for `version`: the signed Debian tag on the
    /// packaging remote with `git verify-tag` and the Developer's key alone, the
    /// tarball `pristine-tar checkout` gives back on a clone of the remote byte for byte
    /// `orig`, and the upload in the queue with `dscverify`.
    pub fn check_gbp(
        &self,
        version: &str,
        packaging: &Path,
        orig: &Path,
        mut report: impl FnMut(&str, bool, String),
    ) {
        let tag = format!("debian/{version}-1");
        let (passed, detail) = match verify_tag(packaging, &tag, &self.dd_keyring) {
            Ok(out) => (out.0, out.1),
            Err(e) => (false, format!("{e:#}")),
        };
        report(
            "Debian tag on the packaging remote (git verify-tag)",
            passed,
            format!("{tag}: {detail}"),
        );
        let (passed, detail) = match pristine_tar_checkout(packaging, orig) {
            Ok(same) => (same, format!("{} as downloaded: {same}", file_name(orig))),
            Err(e) => (false, format!("{e:#}")),
        };
        report(
            "orig tarball from the packaging remote (pristine-tar checkout)",
            passed,
            detail,
        );
        let changes = self.queue.join(format!("lava_{version}-1_source.changes"));
        let (passed, detail) = match dscverify(&self.dd_keyring, &changes) {
            Ok(out) => (
                out.contains("All files validated successfully"),
                last_line(&out),
            ),
            Err(e) => (false, format!("{e:#}")),
        };
        report(
            "gbp-built Debian upload in the SFTP queue (dscverify)",
            passed,
            format!("{}: {detail}", changes.display()),
        );
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn last_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `git verify-tag TAG` in `repo` with a GnuPG home holding only `keyring`.
fn verify_tag(repo: &Path, tag: &str, keyring: &Path) -> anyhow::Result<(bool, String)> {
    let home = tempfile::Builder::new()
        .prefix("lr-gpg")
        .tempdir_in("/tmp")?;
    let imported = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(keyring)
        .status()
        .context("cannot run gpg; install gnupg")?;
    anyhow::ensure!(
        imported.success(),
        "gpg --import {} failed",
        keyring.display()
    );
    let out = Command::new("git")
        .current_dir(repo)
        .args(["verify-tag", tag])
        .env("GNUPGHOME", home.path())
        .output()?;
    crate::rehearsal::stop_agent(home.path());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let good = text
        .lines()
        .find(|l| l.contains("Good signature"))
        .map_or_else(|| last_line(&text), |l| l.trim().to_owned());
    Ok((out.status.success(), good))
}

/// Clones `remote`, checks out the orig tarball named as `orig` from its pristine-tar
/// branch, and compares it with `orig`.
fn pristine_tar_checkout(remote: &Path, orig: &Path) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let clone = dir.path().join("clone");
    let git = |args: &[&str], cwd: &Path| -> anyhow::Result<()> {
        let out = Command::new("git").current_dir(cwd).args(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    git(
        &[
            "clone",
            "--quiet",
            &remote.display().to_string(),
            &clone.display().to_string(),
        ],
        dir.path(),
    )?;
    git(
        &["branch", "--quiet", "pristine-tar", "origin/pristine-tar"],
        &clone,
    )?;
    let name = file_name(orig);
    let out = Command::new("pristine-tar")
        .current_dir(&clone)
        .args(["checkout", &name])
        .output()
        .context("cannot run pristine-tar; install pristine-tar")?;
    anyhow::ensure!(
        out.status.success(),
        "pristine-tar checkout {name}: {}",
        last_line(&String::from_utf8_lossy(&out.stderr))
    );
    Ok(std::fs::read(clone.join(&name))? == std::fs::read(orig)?)
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
