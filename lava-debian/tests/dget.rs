//! `dget` against a real HTTP server on 127.0.0.1 serving sources made with `dpkg-source`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use lava_debian::{DgetRequest, Error, Fetched, dget};
use lava_signing::keygen::GeneratedKey;
use tests::http::HttpServer;

use common::*;

const DSC: &str = "lava_1.0-1.dsc";
const ORIG: &str = "lava_1.0.orig.tar.gz";
const DEBIAN: &str = "lava_1.0-1.debian.tar.xz";

/// A published directory holding a signed `lava_1.0-1` source package.
struct Published {
    dir: tempfile::TempDir,
    key: GeneratedKey,
}

impl Published {
    fn new() -> Published {
        let dir = tempfile::tempdir().unwrap();
        let key = key("Debian Dev");
        quilt_source(dir.path(), "1.0", "1", 200_000);
        sign_in_place(&dir.path().join(DSC), &signer(&key, dir.path()));
        Published { dir, key }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn request(&self, server: &HttpServer, dest: &Path) -> DgetRequest {
        DgetRequest {
            dsc_url: server.url(DSC),
            dest: dest.to_owned(),
            keyring: Some(self.key.keyring()),
            allow_unsigned: false,
            jobs: 4,
            expected_dsc: None,
            meter: Default::default(),
        }
    }

    /// Serves the directory and runs a dget that must fail into a new directory;
    /// returns the server, that directory and the error.
    fn refused(&self) -> (HttpServer, tempfile::TempDir, Error) {
        let server = HttpServer::serve(self.path()).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let err = dget(&self.request(&server, dest.path())).unwrap_err();
        (server, dest, err)
    }

    /// Rewrites the `.dsc` with `edit` applied to its text and signs it with `key`.
    fn resign_with(&self, key: &GeneratedKey, edit: impl Fn(String) -> String) {
        let path = self.path().join(DSC);
        let text = lava_debian::strip_cleartext(&std::fs::read(&path).unwrap());
        let text = edit(String::from_utf8(text).unwrap());
        std::fs::write(
            &path,
            signer(key, self.path())
                .sign_cleartext(text.as_bytes())
                .unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn fetches_verifies_and_unpacks() {
    let published = Published::new();
    let server = HttpServer::serve(published.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let report = dget(&published.request(&server, dest.path())).unwrap();
    assert_eq!(report.signer, Some(published.key.fingerprint()));
    assert_eq!(
        report.files,
        vec![
            (ORIG.to_owned(), Fetched::Downloaded),
            (DEBIAN.to_owned(), Fetched::Downloaded)
        ]
    );
    for name in [DSC, ORIG, DEBIAN] {
        assert_eq!(
            std::fs::read(dest.path().join(name)).unwrap(),
            std::fs::read(published.path().join(name)).unwrap(),
            "{name}"
        );
    }
    run(Command::new("dpkg-source").current_dir(dest.path()).args([
        "--no-check",
        "-x",
        DSC,
        "out",
    ]));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("out/README")).unwrap(),
        "LAVA 1.0\n"
    );
    assert!(dest.path().join("out/debian/changelog").is_file());
}

#[test]
fn fetches_from_a_reprepro_pool() {
    let site = tests::aptrepo::AptSite::new().unwrap();
    site.include("2.0").unwrap();
    let key = key("Release Key");
    let pool = site.base().join("pool/main/l/lava");
    let scratch = tempfile::tempdir().unwrap();
    // reprepro hard-links pool files into place; sign a copy, not the incoming file.
    let dsc = pool.join("lava_2.0.dsc");
    let text = std::fs::read(&dsc).unwrap();
    std::fs::remove_file(&dsc).unwrap();
    std::fs::write(
        &dsc,
        signer(&key, scratch.path()).sign_cleartext(&text).unwrap(),
    )
    .unwrap();
    let server = HttpServer::serve(&site.base()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let report = dget(&DgetRequest {
        dsc_url: server.url("pool/main/l/lava/lava_2.0.dsc"),
        dest: dest.path().to_owned(),
        keyring: Some(key.keyring()),
        allow_unsigned: false,
        jobs: 2,
        expected_dsc: None,
        meter: Default::default(),
    })
    .unwrap();
    assert_eq!(
        report.files,
        vec![("lava_2.0.tar.xz".to_owned(), Fetched::Downloaded)]
    );
    run(Command::new("dpkg-source").current_dir(dest.path()).args([
        "--no-check",
        "-x",
        "lava_2.0.dsc",
        "out",
    ]));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("out/README")).unwrap(),
        "LAVA 2.0\n"
    );
}

#[test]
fn tampered_file_refused() {
    let published = Published::new();
    let path = published.path().join(DEBIAN);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let (_server, dest, err) = published.refused();
    assert!(
        matches!(err, Error::ChecksumMismatch { ref file, .. } if file == DEBIAN),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("`{DEBIAN}` has SHA256 "))
            && message.contains("but the .dsc says"),
        "{message}"
    );
    // A download that fails its check never takes its name, nor stays to be resumed.
    assert!(!dest.path().join(DEBIAN).exists());
    assert!(!dest.path().join(format!("{DEBIAN}.part")).exists());
}

#[test]
fn wrong_size_refused() {
    let published = Published::new();
    let path = published.path().join(ORIG);
    let mut bytes = std::fs::read(&path).unwrap();
    let listed = bytes.len();
    bytes.extend_from_slice(b"extra");
    std::fs::write(&path, bytes).unwrap();
    let (_server, _dest, err) = published.refused();
    assert_eq!(
        err.to_string(),
        format!(
            "`{ORIG}` has {} bytes but the .dsc says {listed}; the download or the mirror is corrupt",
            listed + 5
        )
    );
}

#[test]
fn missing_file_refused() {
    let published = Published::new();
    std::fs::remove_file(published.path().join(DEBIAN)).unwrap();
    let (server, _dest, err) = published.refused();
    assert_eq!(
        err.to_string(),
        format!(
            "fetching `{DEBIAN}` from {} returned HTTP 404; check that the file is published",
            server.url(DEBIAN)
        )
    );
}

#[test]
fn bad_signature_refused() {
    let published = Published::new();
    let stranger = key("Stranger");
    published.resign_with(&stranger, |t| t);
    let (_server, dest, err) = published.refused();
    assert_eq!(
        err.to_string(),
        format!("the signature of `{DSC}` does not verify against the expected keyring")
    );
    assert!(std::error::Error::source(&err).is_some());
    assert!(
        !dest.path().join(ORIG).exists(),
        "nothing is fetched after a bad signature"
    );
}

#[test]
fn altered_signed_text_refused() {
    let published = Published::new();
    let path = published.path().join(DSC);
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    std::fs::write(&path, text.replace("Version: 1.0-1", "Version: 1.0-2")).unwrap();
    let (_server, _dest, err) = published.refused();
    assert!(
        matches!(err, Error::BadSignature { ref dsc, .. } if dsc == DSC),
        "{err:?}"
    );
}

#[test]
fn unsigned_refused_unless_allowed() {
    let published = Published::new();
    let path = published.path().join(DSC);
    let text = lava_debian::strip_cleartext(&std::fs::read(&path).unwrap());
    std::fs::write(&path, text).unwrap();
    let server = HttpServer::serve(published.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let mut request = published.request(&server, dest.path());
    let err = dget(&request).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{DSC}` is not signed; fetch a signed .dsc or allow unsigned sources explicitly")
    );
    request.allow_unsigned = true;
    let report = dget(&request).unwrap();
    assert_eq!(report.signer, None);
    assert_eq!(report.files.len(), 2);
}

#[test]
fn partial_file_resumed_and_present_file_skipped() {
    let published = Published::new();
    let server = HttpServer::serve(published.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let orig = std::fs::read(published.path().join(ORIG)).unwrap();
    // Half the orig tarball is there, as after an interrupted download.
    std::fs::write(dest.path().join(ORIG), &orig[..orig.len() / 2]).unwrap();
    std::fs::copy(published.path().join(DEBIAN), dest.path().join(DEBIAN)).unwrap();
    let recorder = tests::meter::Recorder::default();
    let report = dget(&DgetRequest {
        meter: recorder.meter(),
        ..published.request(&server, dest.path())
    })
    .unwrap();
    assert_eq!(
        report.files,
        vec![
            (ORIG.to_owned(), Fetched::Resumed),
            (DEBIAN.to_owned(), Fetched::AlreadyPresent)
        ]
    );
    assert_eq!(std::fs::read(dest.path().join(ORIG)).unwrap(), orig);
    // The resumed file's bar starts where the part ended and reaches its size; the
    // file already there has none.
    let size = orig.len() as u64;
    assert_eq!(
        recorder.transfers(),
        [tests::meter::Recorded {
            name: ORIG.to_owned(),
            total: Some(size),
            done: size,
            ended: true,
        }]
    );
    // A second run finds everything in place.
    let again = dget(&published.request(&server, dest.path())).unwrap();
    assert!(
        again
            .files
            .iter()
            .all(|(_, f)| *f == Fetched::AlreadyPresent),
        "{again:?}"
    );
}

#[test]
fn interrupted_download_resumed_from_its_part_file() {
    let published = Published::new();
    let server = HttpServer::serve(published.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let orig = std::fs::read(published.path().join(ORIG)).unwrap();
    // An interrupted run leaves its partial download beside the name, never at it.
    let part = dest.path().join(format!("{ORIG}.part"));
    std::fs::write(&part, &orig[..orig.len() / 3]).unwrap();
    let report = dget(&published.request(&server, dest.path())).unwrap();
    assert_eq!(report.files[0], (ORIG.to_owned(), Fetched::Resumed));
    assert_eq!(std::fs::read(dest.path().join(ORIG)).unwrap(), orig);
    assert!(!part.exists());
}

#[test]
fn corrupt_present_file_downloaded_again() {
    let published = Published::new();
    let server = HttpServer::serve(published.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let size = std::fs::metadata(published.path().join(DEBIAN))
        .unwrap()
        .len() as usize;
    std::fs::write(dest.path().join(DEBIAN), vec![0u8; size]).unwrap();
    let report = dget(&published.request(&server, dest.path())).unwrap();
    assert_eq!(report.files[1], (DEBIAN.to_owned(), Fetched::Downloaded));
}
