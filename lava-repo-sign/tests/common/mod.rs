//! Shared helpers: a signed-for-test key, the reprepro site, apt in a throwaway root,
//! and gpgv/sqv checks.

#![allow(dead_code, clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use lava_repo_sign::{Layout, Location, Site, SshOptions, SuiteStatus, Tree};
use lava_signing::keygen::GeneratedKey;
use lava_signing::{Keyring, Signer};
use tests::aptrepo::AptSite;
use tests::tools::all_text;

pub use tests::tools::{require, run};

pub struct Fixture {
    pub site: AptSite,
    pub key: GeneratedKey,
    pub keyring: Keyring,
    pub signer: Signer,
    pub scratch: tempfile::TempDir,
}

impl Fixture {
    /// A site with `versions` included by hand into `current-release`, and a key.
    pub fn new(versions: &[&str]) -> Fixture {
        let site = AptSite::new().unwrap();
        for v in versions {
            site.include(v).unwrap();
        }
        // Signatures are made "now" since reprepro dated the Release files now.
        let now = SystemTime::now();
        let key = tests::keys::generate(
            "LAVA Release",
            "release@lava.invalid",
            now - Duration::from_secs(86_400),
        );
        let scratch = tempfile::tempdir().unwrap();
        key.write_public_key(&scratch.path().join("release.asc"))
            .unwrap();
        std::fs::write(
            scratch.path().join("release.gpg"),
            key.public_key_binary().unwrap(),
        )
        .unwrap();
        let signer = tests::keys::signer(&key, &scratch.path().join("release.key"), now);
        Fixture {
            keyring: key.keyring(),
            site,
            key,
            signer,
            scratch,
        }
    }

    /// The clock: reprepro dates Release files with the real time, so checks use it.
    pub fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Signs every suite of `tree` with the release key, all in one run.
    pub fn sign_all(&self, tree: &Tree) -> lava_repo_sign::Result<Vec<SuiteStatus>> {
        tree.sign(&self.signer, &self.keyring, self.now(), |_| {
            ControlFlow::Continue(())
        })
    }

    /// The fixture's site on the local file system.
    pub fn local_site(&self) -> Site {
        Site::new(
            Location::Local(self.site.root().to_owned()),
            SshOptions::default(),
            Layout::default(),
        )
    }

    pub fn suite_dir(&self, suite: &str) -> PathBuf {
        self.site.base().join("dists").join(suite)
    }

    /// The binary public key, for apt's `signed-by` and gpgv.
    pub fn public_binary(&self) -> PathBuf {
        self.scratch.path().join("release.gpg")
    }

    pub fn public_armored(&self) -> PathBuf {
        self.scratch.path().join("release.asc")
    }
}

/// `apt-get update` in a throwaway root against `url` (the directory holding
/// `dists/`) for `suite`, trusting only `key`.
pub fn apt_update(url: &str, suite: &str, key: &Path) -> Output {
    tests::rehearsal_repo::apt_update(url, suite, key).unwrap()
}

/// Asserts that apt accepted the repository: success and no warning or error.
pub fn assert_apt_ok(out: &Output) {
    let text = all_text(out);
    assert!(
        out.status.success() && !text.contains("W:") && !text.contains("E:"),
        "apt-get update should succeed cleanly:\n{text}"
    );
}

pub fn assert_apt_fails(out: &Output, needle: &str) {
    let text = all_text(out);
    assert!(
        !out.status.success() || text.contains("E:") || text.contains("W:"),
        "apt-get update should refuse:\n{text}"
    );
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

/// gpgv and sqv both accept Release.gpg over Release and the InRelease signature.
pub fn assert_gpgv_and_sqv_accept(dir: &Path, fixture: &Fixture) {
    require("gpgv", "gpgv");
    require("sqv", "sqv");
    let key = fixture.public_binary();
    run(Command::new("gpgv")
        .arg("--keyring")
        .arg(&key)
        .arg(dir.join("Release.gpg"))
        .arg(dir.join("Release")));
    run(Command::new("gpgv")
        .arg("--keyring")
        .arg(&key)
        .arg(dir.join("InRelease")));
    run(Command::new("sqv")
        .arg("--keyring")
        .arg(&key)
        .arg(dir.join("Release.gpg"))
        .arg(dir.join("Release")));
    // sqv takes detached signatures only: split InRelease the way apt does for sqv
    // (dash-unescaped text without the final line ending, and the signature block).
    let inrelease = std::fs::read_to_string(dir.join("InRelease")).unwrap();
    let body = inrelease.split_once("\n\n").unwrap().1;
    let (text, sig) = body.split_once("\n-----BEGIN PGP SIGNATURE-----").unwrap();
    let text: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("data"), text.join("\n")).unwrap();
    std::fs::write(
        scratch.path().join("sig.asc"),
        format!("-----BEGIN PGP SIGNATURE-----{sig}"),
    )
    .unwrap();
    assert_eq!(
        text.join("\n") + "\n",
        std::fs::read_to_string(dir.join("Release")).unwrap()
    );
    run(Command::new("sqv")
        .arg("--keyring")
        .arg(&key)
        .arg(scratch.path().join("sig.asc"))
        .arg(scratch.path().join("data")));
}

/// The bytes of a suite's signature files (None when absent).
pub fn signatures(dir: &Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    (
        std::fs::read(dir.join("Release.gpg")).ok(),
        std::fs::read(dir.join("InRelease")).ok(),
    )
}
