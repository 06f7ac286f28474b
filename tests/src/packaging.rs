//! A Debian packaging repository in LAVA's DEP-14 layout (`debian/gbp.conf`:
//! `debian-branch = debian/main`, `upstream-branch = upstream`, `upstream-tag =
//! upstream/%(version)s`, `pristine-tar = True`), made from the sandbox's history as a
//! Debian Developer would have it after the previous release: `upstream` at the import of
//! `2024.01` (the release tag its parent, as `gbp import-orig --upstream-vcs-tag` makes
//! it), its tarball in pristine-tar, `debian/main` with `3.0 (quilt)` packaging tagged
//! `debian/2024.01-1`, then one packaging change since. Pushed to a bare remote.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::sandbox::{PREVIOUS_VERSION, Sandbox, run};

/// The Debian Developer of the fixtures.
pub const DD_NAME: &str = "Debbie Developer";
/// Their address.
pub const DD_EMAIL: &str = "dd@debian.example";

/// A fresh key of the Debian Developer, created an hour ago, its secret key written to
/// `DIR/dd.key` and its certificate to `DIR/dd.asc`; returns the key.
pub fn dd_key(dir: &Path) -> anyhow::Result<lava_signing::keygen::GeneratedKey> {
    let key = crate::keys::generate(
        DD_NAME,
        DD_EMAIL,
        std::time::SystemTime::now() - std::time::Duration::from_secs(3600),
    );
    key.write_secret_key(&dir.join("dd.key"))?;
    key.write_public_key(&dir.join("dd.asc"))?;
    Ok(key)
}

/// LAVA's `debian/gbp.conf` (as at tag 2026.07).
pub const GBP_CONF: &str = "[DEFAULT]\ndebian-branch = debian/main\npristine-tar = True\nupstream-branch = upstream\nupstream-tag = upstream/%(version)s\n";

/// A `debian/rules` that builds nothing: enough for a source-only build.
const RULES: &str = "#!/usr/bin/make -f\nclean:\n\t@true\nbuild build-arch build-indep:\n\t@true\nbinary binary-arch binary-indep:\n\t@true\n";

/// Commits LAVA's `debian/gbp.conf` in the sandbox's repository (LAVA's tree carries it),
/// then makes the packaging remote from the origin's history: `remotes/packaging.git`.
pub fn packaging_remote(sb: &Sandbox) -> anyhow::Result<PathBuf> {
    std::fs::write(sb.repo().join("debian/gbp.conf"), GBP_CONF)?;
    sb.git(&["add", "debian/gbp.conf"], None)?;
    sb.git(
        &["commit", "--quiet", "-m", "debian: gbp.conf for DEP-14"],
        None,
    )?;
    let remote = sb.path().join("remotes/packaging.git");
    let work = sb.path().join("packaging-work");
    let git = |args: &[&str]| -> anyhow::Result<String> {
        let mut cmd = Command::new("git");
        cmd.current_dir(&work)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", DD_NAME)
            .env("GIT_AUTHOR_EMAIL", DD_EMAIL)
            .env("GIT_COMMITTER_NAME", DD_NAME)
            .env("GIT_COMMITTER_EMAIL", DD_EMAIL)
            .env("GIT_AUTHOR_DATE", "@1706522400 +0000")
            .env("GIT_COMMITTER_DATE", "@1706522400 +0000");
        let out = run(cmd, None)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    std::fs::create_dir_all(&work)?;
    git(&["init", "--quiet", "--initial-branch=debian/main"])?;
    git(&[
        "fetch",
        "--quiet",
        &sb.origin().display().to_string(),
        &format!("refs/tags/{PREVIOUS_VERSION}:refs/tags/{PREVIOUS_VERSION}"),
    ])?;
    // The upstream import of the previous release, as gbp import-orig makes it.
    let import = git(&[
        "commit-tree",
        &format!("{PREVIOUS_VERSION}^{{tree}}"),
        "-p",
        &format!("{PREVIOUS_VERSION}^{{commit}}"),
        "-m",
        &format!("New upstream version {PREVIOUS_VERSION}"),
    ])?;
    git(&["branch", "upstream", &import])?;
    git(&[
        "tag",
        "-a",
        "-m",
        &format!("Upstream version {PREVIOUS_VERSION}"),
        &format!("upstream/{PREVIOUS_VERSION}"),
        &import,
    ])?;
    let tarball = sb
        .path()
        .join(format!("lava_{PREVIOUS_VERSION}.orig.tar.gz"));
    git(&[
        "archive",
        "--format=tar.gz",
        &format!("--prefix=lava-{PREVIOUS_VERSION}/"),
        "-o",
        &tarball.display().to_string(),
        &import,
    ])?;
    git(&["reset", "--quiet", "--hard", &import])?;
    let mut cmd = Command::new("pristine-tar");
    cmd.current_dir(&work)
        .arg("commit")
        .arg(&tarball)
        .arg(format!("upstream/{PREVIOUS_VERSION}"))
        .env("GIT_AUTHOR_NAME", DD_NAME)
        .env("GIT_AUTHOR_EMAIL", DD_EMAIL)
        .env("GIT_COMMITTER_NAME", DD_NAME)
        .env("GIT_COMMITTER_EMAIL", DD_EMAIL);
    run(cmd, None).context("pristine-tar commit (install pristine-tar)")?;

    // The Debian packaging on top.
    write(&work, "debian/source/format", "3.0 (quilt)\n")?;
    write(&work, "debian/gbp.conf", GBP_CONF)?;
    write(&work, "debian/rules", RULES)?;
    git(&["update-index", "--add", "--chmod=+x", "debian/rules"])?;
    git(&["add", "--all"])?;
    git(&["commit", "--quiet", "-m", "Debian packaging for LAVA"])?;
    git(&[
        "tag",
        "-a",
        "-m",
        &format!("lava Debian release {PREVIOUS_VERSION}-1"),
        &format!("debian/{PREVIOUS_VERSION}-1"),
    ])?;
    write(&work, "debian/watch", "version=4\n")?;
    git(&["add", "--all"])?;
    git(&[
        "commit",
        "--quiet",
        "-m",
        "debian/watch: follow the release tags",
    ])?;

    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--bare", "--mirror"])
        .arg(&work)
        .arg(&remote);
    run(cmd, None)?;
    std::fs::remove_dir_all(&work)?;
    Ok(remote)
}

fn write(dir: &Path, path: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().expect("a file has a directory"))?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}
