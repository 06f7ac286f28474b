//! The same flow against a real OpenSSH `sshd` on 127.0.0.1: the server hashes its
//! indices, only Release files and signatures travel, ownership is kept.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;

use common::*;
use lava_repo_sign::{Algorithm, Error, Layout, Location, Site, SshOptions};
use tests::aptrepo::SUITES;
use tests::http::HttpServer;
use tests::sshd::Sshd;

/// PIDs of the processes whose command line mentions `text` (an ssh master names
/// its control socket there).
fn processes_mentioning(text: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(text)
        {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn remote_import_sign_publish_keeps_ownership_and_apt_accepts() {
    let f = Fixture::new(&["2024.01"]);
    let sshd = Sshd::start().unwrap();
    let location = Location::parse(&sshd.url(f.site.root())).unwrap();
    assert!(matches!(location, Location::Ssh(_)));
    let control = tempfile::tempdir().unwrap();
    let site = Site::new(
        location,
        SshOptions {
            config: Some(sshd.ssh_config()),
            control_dir: Some(control.path().to_owned()),
            ..SshOptions::default()
        },
        Layout::default(),
    );
    let suites: Vec<String> = SUITES.iter().map(|s| s.to_string()).collect();

    // The CI runner's user owns the repository.
    run(Command::new("chown")
        .args(["-R", "4242:4343"])
        .arg(f.site.base()));

    let tree = site.current();
    assert_eq!(tree.suites().unwrap(), suites);
    // One connection, shared by the site and its trees: a single master process.
    let control_text = control.path().to_string_lossy().into_owned();
    assert_eq!(processes_mentioning(&control_text).len(), 1);
    let incoming = f.site.upload("2025.01").unwrap();
    let changes = tree.find_changes(incoming.to_str().unwrap()).unwrap();
    let plan = tree.import(&suites, &changes).unwrap();
    assert!(plan.iter().all(|i| i.include));
    assert_eq!(
        tree.source_version("trixie", "lava").unwrap().as_deref(),
        Some("2025.01")
    );
    // reprepro ran as root and rewrote Release; give it back to the runner.
    run(Command::new("chown")
        .args(["-R", "4242:4343"])
        .arg(f.site.base()));
    for suite in SUITES {
        std::fs::set_permissions(
            f.suite_dir(suite).join("Release"),
            std::fs::Permissions::from_mode(0o664),
        )
        .unwrap();
    }

    // Tampering is seen by the server's sha256sum, before anything is signed.
    let sources = f.suite_dir("bookworm").join("main/source/Sources");
    let original = std::fs::read(&sources).unwrap();
    let mut changed = original.clone();
    changed[5] ^= 1;
    std::fs::write(&sources, &changed).unwrap();
    let err = f.sign_all(&tree).unwrap_err();
    assert!(matches!(err, Error::Tampered { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("main/source/Sources: SHA256"), "{message}");
    assert!(message.contains("ssh://"), "{message}");
    assert_eq!(signatures(&f.suite_dir("bookworm")), (None, None));
    std::fs::write(&sources, &original).unwrap();

    let signed = f.sign_all(&tree).unwrap();
    assert!(signed.iter().all(|s| s.signed_now));
    assert_eq!(
        signed[0].algorithms,
        vec![Algorithm::Sha256],
        "reprepro lists no SHA512"
    );
    for suite in SUITES {
        let dir = f.suite_dir(suite);
        for name in ["Release.gpg", "InRelease"] {
            let m = std::fs::metadata(dir.join(name)).unwrap();
            assert_eq!(
                (m.uid(), m.gid(), m.mode() & 0o7777),
                (4242, 4343, 0o664),
                "{suite}/{name}"
            );
        }
        assert_gpgv_and_sqv_accept(&dir, &f);
    }
    // The local view agrees, with all hashes.
    f.local_site()
        .current()
        .verify(&f.keyring, f.now())
        .unwrap();
    // A re-run signs nothing.
    let again = f.sign_all(&tree).unwrap();
    assert!(again.iter().all(|s| !s.signed_now && s.is_done()));

    let published = site.publish("2025.01", &f.keyring, f.now()).unwrap();
    assert!(published.switched);
    assert_eq!(site.live().unwrap().version.as_deref(), Some("2025.01"));
    let server = HttpServer::serve(f.site.root()).unwrap();
    for suite in SUITES {
        assert_apt_ok(&apt_update(
            &server.url("release/"),
            suite,
            &f.public_binary(),
        ));
    }
    assert_eq!(processes_mentioning(&control_text).len(), 1);
    // The last user of the connection stops its master and removes its directory.
    drop(tree);
    assert_eq!(processes_mentioning(&control_text).len(), 1);
    drop(site);
    // `ssh -O exit` returns once the master is told; give it a moment to go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !processes_mentioning(&control_text).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_mentioning(&control_text), Vec::<u32>::new());
    assert_eq!(std::fs::read_dir(control.path()).unwrap().count(), 0);
    drop(sshd);
}
