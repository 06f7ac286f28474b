//! Fixtures: a tiny non-native source package made with `dpkg-source`, and a test key.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use lava_debian::{OrigInclusion, write_source_changes};
use lava_signing::Signer;
use lava_signing::keygen::GeneratedKey;

pub use tests::tools::require;

/// Runs `cmd` at a pinned `SOURCE_DATE_EPOCH`, panicking with its output when it
/// fails; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = tests::tools::run(cmd.env("SOURCE_DATE_EPOCH", "1735689600"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn created() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub fn signing_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600)
}

pub fn key(name: &str) -> GeneratedKey {
    tests::keys::generate(name, "dd@example.invalid", created())
}

pub fn signer(key: &GeneratedKey, dir: &Path) -> Signer {
    let path = dir.join(format!("{}.key", key.fingerprint()));
    tests::keys::signer(key, &path, signing_time())
}

/// Builds `lava_UPSTREAM-REVISION` (format 3.0 (quilt)) in `dir` with `dpkg-source -b`
/// and returns the path of the unpacked tree. `extra` bytes of filler go into the
/// orig tarball so it has some size.
pub fn quilt_source(dir: &Path, upstream: &str, revision: &str, extra: usize) -> PathBuf {
    require("dpkg-source", "dpkg-dev");
    let tree = dir.join(format!("lava-{upstream}"));
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("README"), format!("LAVA {upstream}\n")).unwrap();
    // Incompressible-ish filler: a simple LCG keeps it deterministic.
    let mut x: u32 = 12345;
    let filler: Vec<u8> = (0..extra)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    std::fs::write(tree.join("data.bin"), filler).unwrap();
    tests::aptrepo::tar_reproducibly(
        dir,
        &format!("lava_{upstream}.orig.tar.gz"),
        &format!("lava-{upstream}"),
    )
    .unwrap();
    std::fs::create_dir_all(tree.join("debian/source")).unwrap();
    std::fs::write(tree.join("debian/source/format"), "3.0 (quilt)\n").unwrap();
    std::fs::write(
        tree.join("debian/control"),
        "Source: lava\nSection: net\nPriority: optional\nMaintainer: LAVA Test <lava@example.invalid>\nStandards-Version: 4.6.2\nBuild-Depends: debhelper-compat (= 13)\nRules-Requires-Root: no\n\nPackage: lava\nArchitecture: all\nDepends: ${misc:Depends}\nDescription: LAVA test package\n Test package for lava-debian.\n\nPackage: lava-helper\nArchitecture: any\nDepends: ${misc:Depends}, ${shlibs:Depends}\nDescription: LAVA test helper\n Test helper for lava-debian.\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("debian/changelog"),
        format!(
            "lava ({upstream}-{revision}) unstable; urgency=medium\n\n  * Release {upstream}. (Closes: #1000001)\n  * Fix things. Closes: #1000002\n\n -- Debian Dev <dd@example.invalid>  Wed, 01 Jan 2025 00:00:00 +0000\n"
        ),
    )
    .unwrap();
    std::fs::write(
        tree.join("debian/rules"),
        "#!/usr/bin/make -f\n%:\n\tdh $@\n",
    )
    .unwrap();
    std::fs::write(tree.join("debian/copyright"), "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2025 LAVA\nLicense: GPL-2+\n").unwrap();
    run(Command::new("dpkg-source")
        .current_dir(dir)
        .args(["-b", &format!("lava-{upstream}")]));
    tree
}

/// [`quilt_source`] `lava_1.0-1` in `dir` and its unsigned source `.changes`, as
/// `dpkg-genchanges -S` with `orig`; returns the `.changes`.
pub fn source_changes(dir: &Path, extra: usize, orig: OrigInclusion) -> PathBuf {
    let tree = quilt_source(dir, "1.0", "1", extra);
    let (changes, _) = write_source_changes(
        dir,
        &tree,
        "lava_1.0-1.dsc",
        "Thu, 02 Jan 2025 12:00:00 +0000",
        orig,
    )
    .unwrap();
    changes
}

/// Replaces the unsigned `.dsc` at `path` by a cleartext-signed one.
pub fn sign_in_place(path: &Path, signer: &Signer) {
    let text = std::fs::read(path).unwrap();
    std::fs::write(path, signer.sign_cleartext(&text).unwrap()).unwrap();
}
