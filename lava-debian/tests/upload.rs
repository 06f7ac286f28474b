//! Uploads to a directory and over SFTP to a real `sshd` on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use lava_debian::{OrigInclusion, UploadTarget, sign_upload, upload};

use common::*;

/// A signed `lava_1.0-1` source upload in `dir`; returns the `.changes`.
fn signed_upload(dir: &Path) -> PathBuf {
    let changes = source_changes(dir, 50_000, OrigInclusion::Include);
    sign_upload(&changes, &signer(&key("Debian Dev"), dir)).unwrap();
    changes
}

const ALL: [&str; 4] = [
    "lava_1.0-1.dsc",
    "lava_1.0.orig.tar.gz",
    "lava_1.0-1.debian.tar.xz",
    "lava_1.0-1_source.changes",
];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn directory_upload_skips_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let changes = signed_upload(dir.path());
    let queue = dir.path().join("queue");
    let target = UploadTarget::Directory(queue.clone());
    let first = upload(&changes, &target).unwrap();
    assert_eq!(first.uploaded, names(&ALL));
    for name in ALL {
        assert_eq!(
            std::fs::read(queue.join(name)).unwrap(),
            std::fs::read(dir.path().join(name)).unwrap()
        );
    }
    // A stale copy with other content is replaced; the rest is skipped.
    std::fs::write(queue.join(ALL[2]), b"stale").unwrap();
    let second = upload(&changes, &target).unwrap();
    assert_eq!(second.uploaded, names(&ALL[2..3]));
    assert_eq!(second.skipped, names(&[ALL[0], ALL[1], ALL[3]]));
}

#[test]
fn sftp_upload_to_real_sshd_skips_what_is_there() {
    let sshd = tests::sshd::Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let changes = signed_upload(dir.path());
    let remote = tempfile::tempdir().unwrap();
    let queue = remote.path().join("UploadQueue");
    let target = UploadTarget::Sftp {
        host: format!("{}@127.0.0.1", sshd.user()),
        port: Some(sshd.port()),
        dir: queue.to_string_lossy().into_owned(),
        ssh_config: Some(sshd.ssh_config()),
    };
    let first = upload(&changes, &target).unwrap();
    assert_eq!(first.uploaded, names(&ALL));
    assert!(first.skipped.is_empty());
    for name in ALL {
        assert_eq!(
            std::fs::read(queue.join(name)).unwrap(),
            std::fs::read(dir.path().join(name)).unwrap(),
            "{name}"
        );
    }
    let modified = std::fs::metadata(queue.join(ALL[1]))
        .unwrap()
        .modified()
        .unwrap();
    // Same size, other content: must be sent again despite the size match.
    let len = std::fs::metadata(queue.join(ALL[0])).unwrap().len() as usize;
    std::fs::write(queue.join(ALL[0]), vec![b'x'; len]).unwrap();
    let second = upload(&changes, &target).unwrap();
    assert_eq!(second.uploaded, names(&ALL[0..1]));
    assert_eq!(second.skipped, names(&ALL[1..]));
    assert_eq!(
        std::fs::metadata(queue.join(ALL[1]))
            .unwrap()
            .modified()
            .unwrap(),
        modified,
        "the orig tarball was not sent again"
    );
    assert_eq!(
        std::fs::read(queue.join(ALL[0])).unwrap(),
        std::fs::read(dir.path().join(ALL[0])).unwrap()
    );
}

#[test]
fn sftp_failure_names_the_target() {
    let sshd = tests::sshd::Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let changes = signed_upload(dir.path());
    let target = UploadTarget::Sftp {
        host: "nobody-here@127.0.0.1".into(),
        port: Some(sshd.port()),
        dir: "/nonexistent/queue".into(),
        ssh_config: Some(sshd.ssh_config()),
    };
    let err = upload(&changes, &target).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "`sftp` to sftp://nobody-here@127.0.0.1:{}/nonexistent/queue failed with exit status: ",
            sshd.port()
        )),
        "{message}"
    );
}
