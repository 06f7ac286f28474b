//! debsign-style signing, checked by devscripts' `dscverify`.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use lava_debian::{OrigInclusion, sign_upload, write_source_changes};

use common::*;

#[test]
fn dscverify_accepts_signed_dsc_and_changes() {
    require("dscverify", "devscripts");
    let dir = tempfile::tempdir().unwrap();
    let tree = quilt_source(dir.path(), "1.0", "1", 10_000);
    let key = key("Debian Dev");
    let keyring = dir.path().join("dd.gpg");
    std::fs::write(&keyring, key.public_key_binary().unwrap()).unwrap();
    let signer = signer(&key, dir.path());
    // The .dsc was signed once already (as by a first run): debsign replaces it.
    sign_in_place(
        &dir.path().join("lava_1.0-1.dsc"),
        &key_signer_other(dir.path()),
    );
    let (changes, _) = write_source_changes(
        dir.path(),
        &tree,
        "lava_1.0-1.dsc",
        "Thu, 02 Jan 2025 12:00:00 +0000",
        OrigInclusion::Include,
    )
    .unwrap();
    let signed = sign_upload(&changes, &signer).unwrap();
    assert_eq!(signed.dsc, dir.path().join("lava_1.0-1.dsc"));
    for file in [&signed.dsc, &signed.changes] {
        let out = run(Command::new("dscverify")
            .current_dir(dir.path())
            .args(["--no-conf", "--no-default-keyrings", "--keyring"])
            .arg(&keyring)
            .arg(file));
        assert!(out.contains("All files validated successfully"), "{out}");
    }
    // The signed .changes still lists every file with the right sums.
    let text = String::from_utf8(std::fs::read(&signed.changes).unwrap()).unwrap();
    assert!(
        text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\n"),
        "{text}"
    );
    assert!(text.contains("lava_1.0.orig.tar.gz"));
}

#[test]
fn dscverify_refuses_a_stranger_keyring() {
    require("dscverify", "devscripts");
    let dir = tempfile::tempdir().unwrap();
    let changes = source_changes(dir.path(), 1_000, OrigInclusion::Exclude);
    let signed = sign_upload(&changes, &signer(&key("Debian Dev"), dir.path())).unwrap();
    let keyring = dir.path().join("stranger.gpg");
    std::fs::write(&keyring, key("Stranger").public_key_binary().unwrap()).unwrap();
    let out = Command::new("dscverify")
        .args(["--no-conf", "--no-default-keyrings", "--keyring"])
        .arg(&keyring)
        .arg(&signed.changes)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn key_signer_other(dir: &std::path::Path) -> lava_signing::Signer {
    signer(&key("Previous"), dir)
}

#[test]
fn lintian_raises_no_error_on_the_upload() {
    require("lintian", "lintian");
    let dir = tempfile::tempdir().unwrap();
    let changes = source_changes(dir.path(), 1_000, OrigInclusion::Include);
    sign_upload(&changes, &signer(&key("Debian Dev"), dir.path())).unwrap();
    let out = Command::new("lintian")
        .arg("--no-cfg")
        .arg(&changes)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !said.lines().any(|l| l.starts_with("E: ")),
        "lintian errors:\n{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
