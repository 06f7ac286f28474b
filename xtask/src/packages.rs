//! The Debian packages each task needs, installed when missing: what building the
//! workspace needs beyond the Rust toolchain, the tools the tests and the rehearsal run,
//! and the peer tools each benchmark compares with.

use std::process::Command;

use anyhow::{Context as _, bail};

/// What building the workspace needs beyond the Rust toolchain: git2's ssh and https
/// transports, native-tls and lava-repo-sign's hashing link the system's OpenSSL; git2's
/// libgit2 and libssh2, zlib and rustls' aws-lc are C, compiled by their build scripts.
pub const BUILD: &[&str] = &["pkg-config", "libssl-dev", "gcc", "libc6-dev"];

/// What `cargo xtask ci` needs: the oracles and verifiers of the tests.
pub const TESTS: &[&str] = &[
    // Changelog oracles and readers; the gbp flow's import and build, and the real
    // `git debpush` the tag2upload tag is compared with.
    "git",
    "git-buildpackage",
    "pristine-tar",
    "git-debpush",
    "devscripts",
    "dpkg-dev",
    // OpenPGP verifiers.
    "gnupg",
    "gpg-agent",
    "gpgv",
    "sqv",
    // A smartcard daemon with no card: a key moved to a card that is not inserted.
    "scdaemon",
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
    // The Debian upload: its checkers and dput.
    "lintian",
    "dput",
    // The shells whose completions are loaded, and the man page formatter.
    "bash",
    "zsh",
    "fish",
    "groff-base",
];

/// What `cargo xtask rehearse` needs.
pub const REHEARSAL: &[&str] = &[
    "git",
    // The gbp flow: import-orig, pristine-tar, buildpackage.
    "git-buildpackage",
    "pristine-tar",
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

/// The peer tools benchmark `name` runs beside ours, given its arguments; every
/// benchmark measures peak memory with GNU time (`/usr/bin/time`).
pub fn bench(name: &str, args: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let mut packages = vec!["time"];
    packages.extend_from_slice(match name {
        // `git log`, and `gbp dch`, which runs devscripts' debchange once per commit.
        "changelog" => &["git", "git-buildpackage", "devscripts"],
        // `sha256sum`, `apt-ftparchive release` and `gpg --clearsign`/`--detach-sign`.
        "repo-sign" => &["apt-utils", "gnupg", "gpg-agent", "xz-utils"],
        // `dget -d` (dscverify checks the signature with gpgv, curl downloads) from
        // `python3 -m http.server`.
        "dget" => &["devscripts", "dpkg-dev", "gpgv", "curl", "python3"],
        // `skopeo copy --all` between docker-registry servers with htpasswd users.
        "docker" => &["skopeo", "docker-registry", "apache2-utils", "openssl"],
        // `skopeo copy` to a directory and `tar`, from a docker-registry server.
        "image-version" => &["skopeo", "docker-registry", "tar"],
        // `git archive`, `tar` and `diff -r`.
        "orig" => &["git", "tar", "diffutils"],
        // A rehearsed release; `curl`, `gpgv`, `git verify-tag` (gpg), `apt-get update`
        // and `skopeo inspect`.
        "verify-release" => return Ok([&["time", "curl", "apt"], REHEARSAL].concat()),
        other => {
            bail!(
                "unknown benchmark `{other}`; benchmarks: changelog, repo-sign, docker, dget, image-version, orig, verify-release"
            )
        }
    });
    // The docker CLI's pull, tag, push and `docker manifest`, unless skipped.
    if name == "docker" && !args.iter().any(|a| a == "--skip-docker") {
        packages.push("docker.io");
    }
    Ok(packages)
}

/// Installs whichever of `lists`' packages are missing, as root: `apt-get update` once,
/// then one `apt-get install`. Not as root, says the one command to run instead.
pub fn ensure(lists: &[&[&str]]) -> anyhow::Result<()> {
    let missing = missing(lists);
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

/// The packages of `lists` dpkg does not have installed, each once.
fn missing<'a>(lists: &[&[&'a str]]) -> Vec<&'a str> {
    let mut missing: Vec<&str> = lists
        .iter()
        .flat_map(|list| list.iter().copied())
        .filter(|p| !installed(p))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_benchmark_names_its_peer_tools() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(bench("repo-sign", &[]).unwrap().contains(&"apt-utils"));
        assert!(
            bench("changelog", &[])
                .unwrap()
                .contains(&"git-buildpackage")
        );
        assert!(bench("dget", &[]).unwrap().contains(&"devscripts"));
        assert!(bench("docker", &[]).unwrap().contains(&"docker.io"));
        assert!(
            !bench("docker", &args(&["--skip-docker"]))
                .unwrap()
                .contains(&"docker.io")
        );
        let err = bench("nope", &[]).unwrap_err().to_string();
        assert!(err.starts_with("unknown benchmark `nope`"), "{err}");
    }

    #[test]
    fn only_what_dpkg_lacks_is_missing() {
        let absent = "lava-release-no-such-package";
        assert_eq!(missing(&[&["dpkg", absent], &[absent]]), [absent]);
    }
}
