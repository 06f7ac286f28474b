//! The Debian packages the tests and the rehearsal use, installed when missing.

use std::process::Command;

use anyhow::{Context as _, bail};

/// What `cargo xtask ci` needs: the oracles and verifiers of the tests.
pub const TEST_PACKAGES: &[&str] = &[
    // Building: git2's ssh and https transports link the system's OpenSSL.
    "pkg-config",
    "libssl-dev",
    // Changelog oracles and readers.
    "git",
    "git-buildpackage",
    "devscripts",
    "dpkg-dev",
    // OpenPGP verifiers.
    "gnupg",
    "gpg-agent",
    "gpgv",
    "sqv",
    // The apt repository: reprepro, apt-ftparchive, and a real sshd.
    "reprepro",
    "apt-utils",
    "xz-utils",
    "openssh-client",
    "openssh-server",
    // Container registries: real docker-registry servers, htpasswd for their users,
    // skopeo to inspect them, openssl for the token-auth server's key and the SMTP
    // sink's certificate.
    "docker-registry",
    "apache2-utils",
    "skopeo",
    "openssl",
    // The Debian upload: its checkers, dput, and dget's downloader (bench).
    "lintian",
    "dput",
    "curl",
    // Benchmarks measure peak memory with GNU time.
    "time",
];

/// What `cargo xtask rehearse` needs.
pub const REHEARSAL_PACKAGES: &[&str] = &[
    "pkg-config",
    "libssl-dev",
    "git",
    "dpkg-dev",
    "devscripts",
    "gnupg",
    "gpg-agent",
    "gpgv",
    "reprepro",
    "xz-utils",
    // The Debian upload goes to an SFTP queue on a real sshd.
    "openssh-client",
    "openssh-server",
    "docker-registry",
    "apache2-utils",
    "skopeo",
    "openssl",
];

/// Installs whichever of `packages` are missing (as root), or says the one command to run.
pub fn ensure(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        bail!("missing Debian packages; run: sudo apt-get install -y {list}");
    }
    eprintln!("xtask: installing {list}");
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed with {status}", args.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).ends_with(" installed")
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
