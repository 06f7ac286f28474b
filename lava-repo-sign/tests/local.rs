//! The local flow against a real reprepro repository served over HTTP on 127.0.0.1:
//! import, sign (apt, gpgv and sqv accept), tampering refused before signing, crash
//! safety, publish and rollback.

#![allow(clippy::unwrap_used)]

mod common;

use std::ops::ControlFlow;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use common::*;
use lava_io::transfer::Meter;
use lava_repo_sign::{Error, Problem, Tree, verify_url};
use tests::aptrepo::SUITES;
use tests::http::HttpServer;

fn suites() -> Vec<String> {
    SUITES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn signed_repository_passes_apt_gpgv_and_sqv_and_unsigned_or_tampered_fails() {
    let f = Fixture::new(&["2025.01"]);
    let server = HttpServer::serve(f.site.root()).unwrap();
    let url = server.url("current-release/");
    for suite in SUITES {
        assert_apt_fails(
            &apt_update(&url, suite, &f.public_binary()),
            "is not signed",
        );
    }

    let tree = f.local_site().current();
    let signed = f.sign_all(&tree).unwrap();
    assert_eq!(signed.len(), 2);
    assert!(
        signed.iter().all(|s| s.signed_now && s.is_done()),
        "{signed:?}"
    );
    assert_eq!(
        signed[0].algorithms.len(),
        3,
        "reprepro lists MD5Sum, SHA1 and SHA256"
    );
    for suite in SUITES {
        assert_apt_ok(&apt_update(&url, suite, &f.public_binary()));
        assert_gpgv_and_sqv_accept(&f.suite_dir(suite), &f);
    }
    // Over HTTP, each suite's indexes are one transfer, read to the byte.
    let recorder = tests::meter::Recorder::default();
    let verified = verify_url(&url, &suites(), &f.keyring, f.now(), &recorder.meter()).unwrap();
    let transfers = recorder.transfers();
    assert_eq!(transfers.len(), SUITES.len(), "{transfers:?}");
    for (t, status) in transfers.iter().zip(&verified) {
        assert_eq!(t.name, format!("dists/{}", status.suite));
        assert_eq!(
            (t.total, t.done, t.ended),
            (Some(status.bytes), status.bytes, true)
        );
    }

    // A re-run leaves valid signatures alone.
    let before = signatures(&f.suite_dir("bookworm"));
    let again = f.sign_all(&tree).unwrap();
    assert!(again.iter().all(|s| !s.signed_now && s.is_done()));
    assert_eq!(signatures(&f.suite_dir("bookworm")), before);

    // Tampering after signing: apt and verify both refuse.
    let sources = f.suite_dir("trixie").join("main/source/Sources");
    let mut bytes = std::fs::read(&sources).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&sources, &bytes).unwrap();
    let err = tree.verify(&f.keyring, f.now()).unwrap_err();
    assert!(
        err.to_string().contains("main/source/Sources: MD5Sum"),
        "{err}"
    );
    assert!(verify_url(&url, &suites(), &f.keyring, f.now(), &Meter::default()).is_err());
    // apt fetches the compressed Sources only when asked for deb-src; tamper Packages.
    let packages = f.suite_dir("trixie").join("main/binary-amd64/Packages.xz");
    let mut bytes = std::fs::read(&packages).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&packages, &bytes).unwrap();
    let apt = apt_update(&url, "trixie", &f.public_binary());
    assert_apt_fails(&apt, "Hash Sum mismatch");
}

/// Applies `tamper` to bookworm of an unsigned and of a signed repository: signing
/// refuses with `expect` in the message and no signature file is written or changed.
fn refused(tamper: impl Fn(&std::path::Path), expect: &[&str]) {
    let f = Fixture::new(&["2025.01"]);
    let tree = f.local_site().current();
    tamper(&f.suite_dir("bookworm"));
    let err = f.sign_all(&tree).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Tampered { .. }), "{message}");
    for needle in expect {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    for suite in SUITES {
        assert_eq!(
            signatures(&f.suite_dir(suite)),
            (None, None),
            "{suite} got signed"
        );
    }

    // Signed before the tampering: the signatures stay byte for byte.
    let f = Fixture::new(&["2025.01"]);
    let tree = f.local_site().current();
    f.sign_all(&tree).unwrap();
    let before = signatures(&f.suite_dir("bookworm"));
    tamper(&f.suite_dir("bookworm"));
    let err = tree
        .sign_suite("bookworm", &f.signer, &f.keyring, f.now())
        .unwrap_err();
    assert!(matches!(err, Error::Tampered { .. }), "{err}");
    assert_eq!(signatures(&f.suite_dir("bookworm")), before);
}

fn listed_size(dir: &std::path::Path, path: &str) -> u64 {
    let release = std::fs::read_to_string(dir.join("Release")).unwrap();
    release
        .lines()
        .find(|l| l.ends_with(&format!(" {path}")))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn truncated_packages_xz_is_refused() {
    refused(
        |dir| {
            let p = dir.join("main/binary-amd64/Packages.xz");
            let len = std::fs::metadata(&p).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            file.set_len(len / 2).unwrap();
        },
        &[
            "main/binary-amd64/Packages.xz: size",
            "expected",
            "found",
            "nothing was signed",
        ],
    );
}

#[test]
fn changed_byte_in_sources_is_refused() {
    refused(
        |dir| {
            let p = dir.join("main/source/Sources");
            let mut b = std::fs::read(&p).unwrap();
            b[10] ^= 1;
            std::fs::write(&p, b).unwrap();
        },
        &[
            "main/source/Sources: MD5Sum",
            "main/source/Sources: SHA256",
            "expected",
        ],
    );
}

#[test]
fn missing_index_is_refused() {
    refused(
        |dir| std::fs::remove_file(dir.join("main/source/Sources.gz")).unwrap(),
        &["main/source/Sources.gz is listed but missing"],
    );
}

#[test]
fn wrong_size_is_refused_naming_both_sizes() {
    let expected = std::cell::Cell::new(0);
    refused(
        |dir| {
            let p = dir.join("main/binary-arm64/Packages");
            expected.set(listed_size(dir, "main/binary-arm64/Packages"));
            let mut b = std::fs::read(&p).unwrap();
            b.extend_from_slice(b"\n");
            std::fs::write(&p, b).unwrap();
        },
        &["main/binary-arm64/Packages: size"],
    );
    let f = Fixture::new(&["2025.01"]);
    let dir = f.suite_dir("bookworm");
    let size = listed_size(&dir, "main/binary-arm64/Packages");
    std::fs::write(dir.join("main/binary-arm64/Packages"), vec![b'x'; 3]).unwrap();
    let err = f
        .local_site()
        .current()
        .sign_suite("bookworm", &f.signer, &f.keyring, f.now())
        .unwrap_err();
    let Error::Tampered { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &vec![Problem::Size {
            path: "main/binary-arm64/Packages".into(),
            expected: size,
            actual: 3
        }]
    );
    assert!(
        err.to_string()
            .contains(&format!("size {size} expected, 3 found")),
        "{err}"
    );
}

#[test]
fn release_dated_in_the_future_is_refused() {
    let f = Fixture::new(&["2025.01"]);
    let yesterday = f.now() - std::time::Duration::from_secs(86_400);
    let err = f
        .local_site()
        .current()
        .sign_suite("bookworm", &f.signer, &f.keyring, yesterday)
        .unwrap_err();
    assert!(err.to_string().contains("is in the future"), "{err}");
    assert_eq!(signatures(&f.suite_dir("bookworm")), (None, None));
}

#[test]
fn stale_inrelease_is_replaced_and_never_left() {
    let f = Fixture::new(&["2025.01"]);
    let tree = f.local_site().current();
    f.sign_all(&tree).unwrap();
    // A new upload re-exports Release: the old signatures are stale.
    f.site.include("2025.02").unwrap();
    let status = tree.suite_status("bookworm", &f.keyring, f.now()).unwrap();
    assert!(!status.signatures.is_valid(), "{status}");
    let signed = tree
        .sign_suite("bookworm", &f.signer, &f.keyring, f.now())
        .unwrap();
    assert!(signed.signed_now);
    let inrelease = std::fs::read_to_string(f.suite_dir("bookworm").join("InRelease")).unwrap();
    let release = std::fs::read_to_string(f.suite_dir("bookworm").join("Release")).unwrap();
    assert!(inrelease.contains(&release));
}

#[test]
fn owner_group_and_mode_of_replaced_files_are_kept() {
    let f = Fixture::new(&["2025.01"]);
    let tree = f.local_site().current();
    let dir = f.suite_dir("bookworm");
    // New signature files take Release's owner and mode.
    std::os::unix::fs::chown(dir.join("Release"), Some(4242), Some(4343)).unwrap();
    std::fs::set_permissions(dir.join("Release"), std::fs::Permissions::from_mode(0o664)).unwrap();
    tree.sign_suite("bookworm", &f.signer, &f.keyring, f.now())
        .unwrap();
    for name in ["Release.gpg", "InRelease"] {
        let m = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o7777),
            (4242, 4343, 0o664),
            "{name}"
        );
    }
    // A replaced file keeps its own; an InRelease that does not verify is removed
    // before signing and the new one takes Release's.
    std::os::unix::fs::chown(dir.join("Release.gpg"), Some(5000), Some(5001)).unwrap();
    std::fs::set_permissions(
        dir.join("Release.gpg"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::write(dir.join("InRelease"), "garbage\n").unwrap();
    std::os::unix::fs::chown(dir.join("InRelease"), Some(6000), Some(6001)).unwrap();
    let signed = tree
        .sign_suite("bookworm", &f.signer, &f.keyring, f.now())
        .unwrap();
    assert!(signed.signed_now);
    let m = std::fs::metadata(dir.join("Release.gpg")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (5000, 5001, 0o640));
    let m = std::fs::metadata(dir.join("InRelease")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (4242, 4343, 0o664));
    assert_gpgv_and_sqv_accept(&dir, &f);
}

#[test]
fn import_skips_suites_at_this_version_or_newer() {
    let f = Fixture::new(&["2025.01"]);
    let tree: Tree = f.local_site().current();
    let incoming = f.site.upload("2025.02").unwrap();
    let changes = tree.find_changes(incoming.to_str().unwrap()).unwrap();
    assert_eq!(changes.len(), 1);
    let plan = tree.import_preview(&suites(), &changes).unwrap();
    assert!(
        plan.iter()
            .all(|i| i.include && i.existing.as_deref() == Some("2025.01"))
    );
    tree.import(&suites(), &changes).unwrap();
    for suite in SUITES {
        assert_eq!(
            tree.source_version(suite, "lava").unwrap().as_deref(),
            Some("2025.02")
        );
    }
    let again = tree.import_preview(&suites(), &changes).unwrap();
    assert!(again.iter().all(|i| !i.include), "{again:?}");
    insta::assert_snapshot!(again[0].to_string(), @"bookworm: skip lava_2025.02_multi.changes, lava 2025.02 is already there");
    let older = f.site.upload("2024.12").unwrap();
    let older = tree.find_changes(older.to_str().unwrap()).unwrap();
    let plan = tree.import(&suites(), &older).unwrap();
    assert!(plan.iter().all(|i| !i.include));
    assert_eq!(
        tree.source_version("trixie", "lava").unwrap().as_deref(),
        Some("2025.02")
    );
}

#[test]
fn crash_between_suites_or_before_publish_then_rerun_publish_and_rollback() {
    let f = Fixture::new(&["2024.01"]);
    let site = f.local_site();
    let server = HttpServer::serve(f.site.root()).unwrap();
    let live_url = server.url("release/");
    // The previous release, published.
    f.sign_all(&site.current()).unwrap();
    let first = site.publish("2024.01", &f.keyring, f.now()).unwrap();
    assert!(first.switched);
    assert_eq!(first.after.target.as_deref(), Some("archive/2024.01"));

    // The new release: import, then a crash after the first suite is signed.
    let incoming = f.site.upload("2025.01").unwrap();
    let tree = site.current();
    let changes = tree.find_changes(incoming.to_str().unwrap()).unwrap();
    tree.import(&suites(), &changes).unwrap();
    let partial = tree
        .sign(&f.signer, &f.keyring, f.now(), |_| ControlFlow::Break(()))
        .unwrap();
    assert_eq!(partial.len(), 1);
    let bookworm_signed = signatures(&f.suite_dir("bookworm"));
    // Publishing now is refused, and the live tree is untouched and verifiable.
    let err = site.publish("2025.01", &f.keyring, f.now()).unwrap_err();
    assert!(err.to_string().contains("trixie"), "{err}");
    assert_eq!(site.live().unwrap().version.as_deref(), Some("2024.01"));
    site.archived("2024.01")
        .verify(&f.keyring, f.now())
        .unwrap();
    for suite in SUITES {
        assert_apt_ok(&apt_update(&live_url, suite, &f.public_binary()));
    }
    assert!(
        site.publish_status("2025.01", &f.keyring, f.now())
            .unwrap()
            .is_none()
    );

    // The re-run signs trixie only; then a crash before publishing, and another re-run.
    let rerun = f.sign_all(&tree).unwrap();
    assert_eq!(
        rerun
            .iter()
            .map(|s| (s.suite.as_str(), s.signed_now))
            .collect::<Vec<_>>(),
        vec![("bookworm", false), ("trixie", true)]
    );
    assert_eq!(signatures(&f.suite_dir("bookworm")), bookworm_signed);
    let rerun = f.sign_all(&tree).unwrap();
    assert!(rerun.iter().all(|s| !s.signed_now));

    let published = site.publish("2025.01", &f.keyring, f.now()).unwrap();
    assert_eq!(published.before.version.as_deref(), Some("2024.01"));
    assert_eq!(published.after.version.as_deref(), Some("2025.01"));
    assert!(
        std::fs::symlink_metadata(f.site.root().join("release"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        f.site
            .root()
            .join("archive/2024.01/dists/bookworm/InRelease")
            .exists()
    );
    for suite in SUITES {
        assert_apt_ok(&apt_update(&live_url, suite, &f.public_binary()));
    }
    verify_url(&live_url, &suites(), &f.keyring, f.now(), &Meter::default()).unwrap();
    let status = site
        .publish_status("2025.01", &f.keyring, f.now())
        .unwrap()
        .unwrap();
    assert_eq!(status.suites.len(), 2);
    // Publishing again is a no-op.
    assert!(
        !site
            .publish("2025.01", &f.keyring, f.now())
            .unwrap()
            .switched
    );

    // Later imports into current-release do not reach the published snapshot.
    f.site.include("2025.02").unwrap();
    site.archived("2025.01")
        .verify(&f.keyring, f.now())
        .unwrap();

    let back = site.rollback(None, &f.keyring, f.now()).unwrap();
    assert_eq!(back.after.version.as_deref(), Some("2024.01"));
    assert_apt_ok(&apt_update(&live_url, "bookworm", &f.public_binary()));
    let forward = site.rollback(Some("2025.01"), &f.keyring, f.now()).unwrap();
    assert_eq!(forward.after.version.as_deref(), Some("2025.01"));
}
