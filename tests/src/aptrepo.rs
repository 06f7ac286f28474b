//! A real reprepro repository built in a temporary directory: tiny `lava` packages
//! (a source made with `dpkg-source`: native for a bare version, `3.0 (quilt)` with
//! an orig tarball for one with a Debian revision; an `all` binary and an
//! `amd64`/`arm64` helper made with `dpkg-deb`) and a hand-written `.changes` for each version,
//! imported by the real `reprepro` into two suites, bookworm and trixie, for amd64
//! and arm64, with `.gz` and `.xz` indices.
//!
//! The directory is laid out as a publishing site: `current-release/` is the
//! reprepro base, `incoming/VERSION/` holds each upload.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::tools::{require_tool, try_run};

/// The suites, as LAVA has them.
pub const SUITES: [&str; 2] = ["bookworm", "trixie"];
/// The binary architectures.
pub const ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

/// Fails, naming the Debian package, when a tool the repository needs is missing.
pub fn require_tools() -> anyhow::Result<()> {
    for (program, package) in [
        ("reprepro", "reprepro"),
        ("dpkg-deb", "dpkg"),
        ("dpkg-source", "dpkg-dev"),
        ("xz", "xz-utils"),
        ("sha256sum", "coreutils"),
    ] {
        require_tool(program, package)?;
    }
    Ok(())
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = try_run(cmd.env("SOURCE_DATE_EPOCH", "1735689600"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Archives directory `tree` of `dir` as `dir/archive` (compressed as its suffix
/// says), the same bytes every time: names sorted, one date, root's ownership.
pub fn tar_reproducibly(dir: &Path, archive: &str, tree: &str) -> anyhow::Result<()> {
    run(Command::new("tar").current_dir(dir).args([
        "--sort=name",
        "--mtime=@1735689600",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-caf",
        archive,
        tree,
    ]))?;
    Ok(())
}

/// A site with a reprepro base; removed on drop.
pub struct AptSite {
    dir: tempfile::TempDir,
}

impl AptSite {
    /// An empty site: `current-release/conf/distributions` for both suites.
    pub fn new() -> anyhow::Result<AptSite> {
        require_tools()?;
        let dir = tempfile::Builder::new().prefix("lava-apt-").tempdir()?;
        let conf = dir.path().join("current-release/conf");
        std::fs::create_dir_all(&conf)?;
        let mut distributions = String::new();
        for suite in SUITES {
            distributions.push_str(&format!(
                "Origin: LAVA\nLabel: LAVA\nCodename: {suite}\nSuite: {suite}\nArchitectures: {} source\nComponents: main\nDescription: LAVA Software test repository\nDebIndices: Packages Release . .gz .xz\nDscIndices: Sources Release . .gz .xz\n\n",
                ARCHITECTURES.join(" ")
            ));
        }
        std::fs::write(conf.join("distributions"), distributions)?;
        Ok(AptSite { dir })
    }

    /// The site root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The reprepro base, `current-release`.
    pub fn base(&self) -> PathBuf {
        self.dir.path().join("current-release")
    }

    /// Builds the `lava` packages of `version` into `incoming/VERSION/` and returns
    /// that directory, which holds `lava_VERSION_multi.changes` with
    /// `Distribution: unstable`. A bare version (`2024.05`) makes a native source; one
    /// with a Debian revision (`2024.05-1`), as a LAVA release is, a `3.0 (quilt)`
    /// source with its `lava_2024.05.orig.tar.xz`.
    pub fn upload(&self, version: &str) -> anyhow::Result<PathBuf> {
        self.upload_signed(version, None)
    }

    /// Like [`AptSite::upload`], with the `.dsc` signed by `dsc_signer` (as a
    /// release's source package is, for `dget` to check) when one is given.
    pub fn upload_signed(
        &self,
        version: &str,
        dsc_signer: Option<&lava_signing::Signer>,
    ) -> anyhow::Result<PathBuf> {
        self.upload_for(version, "unstable", dsc_signer)
    }

    /// Like [`AptSite::upload_signed`], built for `distribution` (its changelog entry
    /// and `.changes` name it), as LAVA's CI builds one upload per suite.
    pub fn upload_for(
        &self,
        version: &str,
        distribution: &str,
        dsc_signer: Option<&lava_signing::Signer>,
    ) -> anyhow::Result<PathBuf> {
        let out = self.dir.path().join("incoming").join(version);
        std::fs::create_dir_all(&out)?;
        let work = tempfile::tempdir()?;
        let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
        let native = upstream == version;
        let src = work.path().join(format!("lava-{upstream}"));
        std::fs::create_dir_all(&src)?;
        std::fs::write(src.join("README"), format!("LAVA {upstream}\n"))?;
        let mut files = Vec::new();
        if !native {
            let orig = format!("lava_{upstream}.orig.tar.xz");
            tar_reproducibly(work.path(), &orig, &format!("lava-{upstream}"))?;
            files.push(work.path().join(orig));
        }
        std::fs::create_dir_all(src.join("debian/source"))?;
        let format = if native {
            "3.0 (native)"
        } else {
            "3.0 (quilt)"
        };
        std::fs::write(src.join("debian/source/format"), format!("{format}\n"))?;
        std::fs::write(
            src.join("debian/control"),
            "Source: lava\nSection: net\nPriority: optional\nMaintainer: LAVA Test <lava@example.invalid>\nStandards-Version: 4.6.2\n\nPackage: lava\nArchitecture: all\nDescription: LAVA test package\n Test.\n\nPackage: lava-helper\nArchitecture: any\nDescription: LAVA test helper\n Test.\n",
        )?;
        std::fs::write(
            src.join("debian/changelog"),
            format!(
                "lava ({version}) {distribution}; urgency=medium\n\n  * Release {version}.\n\n -- LAVA Test <lava@example.invalid>  Wed, 01 Jan 2025 00:00:00 +0000\n"
            ),
        )?;
        std::fs::write(
            src.join("debian/rules"),
            "#!/usr/bin/make -f\n%:\n\tdh $@\n",
        )?;
        run(Command::new("dpkg-source")
            .current_dir(work.path())
            .args(["-b", &format!("lava-{upstream}")]))?;
        let dsc = work.path().join(format!("lava_{version}.dsc"));
        if let Some(signer) = dsc_signer {
            let signed = signer.sign_cleartext(&std::fs::read(&dsc)?)?;
            std::fs::write(&dsc, signed)?;
        }
        let tarball = if native { "tar.xz" } else { "debian.tar.xz" };
        files.splice(0..0, [dsc]);
        files.push(work.path().join(format!("lava_{version}.{tarball}")));
        for (package, arch) in [
            ("lava", "all"),
            ("lava-helper", "amd64"),
            ("lava-helper", "arm64"),
        ] {
            let root = work.path().join(format!("{package}-{arch}"));
            std::fs::create_dir_all(root.join("DEBIAN"))?;
            std::fs::create_dir_all(root.join(format!("usr/share/doc/{package}")))?;
            std::fs::write(
                root.join(format!("usr/share/doc/{package}/README")),
                format!("{package} {version} for {arch}\n"),
            )?;
            std::fs::write(
                root.join("DEBIAN/control"),
                format!(
                    "Package: {package}\nSource: lava\nVersion: {version}\nArchitecture: {arch}\nMaintainer: LAVA Test <lava@example.invalid>\nSection: net\nPriority: optional\nDescription: LAVA test package\n Test.\n"
                ),
            )?;
            let deb = work.path().join(format!("{package}_{version}_{arch}.deb"));
            run(Command::new("dpkg-deb")
                .args(["--root-owner-group", "-Zgzip", "--build"])
                .arg(&root)
                .arg(&deb))?;
            files.push(deb);
        }
        let sum = |program: &str, file: &Path| -> anyhow::Result<String> {
            let out = run(Command::new(program).arg(file))?;
            Ok(out.split_whitespace().next().unwrap_or_default().to_owned())
        };
        let (mut md5, mut sha1, mut sha256) = (String::new(), String::new(), String::new());
        for file in &files {
            let name = file
                .file_name()
                .context("file name")?
                .to_string_lossy()
                .into_owned();
            let size = std::fs::metadata(file)?.len();
            md5.push_str(&format!(
                " {} {size} net optional {name}\n",
                sum("md5sum", file)?
            ));
            sha1.push_str(&format!(" {} {size} {name}\n", sum("sha1sum", file)?));
            sha256.push_str(&format!(" {} {size} {name}\n", sum("sha256sum", file)?));
            std::fs::copy(file, out.join(&name))?;
        }
        let changes = format!(
            "Format: 1.8\nDate: Wed, 01 Jan 2025 00:00:00 +0000\nSource: lava\nBinary: lava lava-helper\nArchitecture: source all amd64 arm64\nVersion: {version}\nDistribution: {distribution}\nUrgency: medium\nMaintainer: LAVA Test <lava@example.invalid>\nChanged-By: LAVA Test <lava@example.invalid>\nDescription:\n lava - LAVA test package\n lava-helper - LAVA test helper\nChanges:\n lava ({version}) {distribution}; urgency=medium\n .\n   * Release {version}.\nChecksums-Sha1:\n{sha1}Checksums-Sha256:\n{sha256}Files:\n{md5}"
        );
        std::fs::write(out.join(format!("lava_{version}_multi.changes")), changes)?;
        Ok(out)
    }

    /// Includes the upload of `version` (see [`AptSite::upload`]) into every suite with
    /// `reprepro include`, as the release manager did by hand.
    pub fn include(&self, version: &str) -> anyhow::Result<()> {
        let dir = self.upload(version)?;
        let changes = dir.join(format!("lava_{version}_multi.changes"));
        for suite in SUITES {
            run(Command::new("reprepro")
                .arg("-b")
                .arg(self.base())
                .args(["--ignore=wrongdistribution", "include", suite])
                .arg(&changes))?;
        }
        Ok(())
    }
}
