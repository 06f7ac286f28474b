//! Artifact zips shaped like a Debian build job's: a `.changes` and the files it lists,
//! with correct (or deliberately wrong) sizes and checksums.

use std::io::Write;

use md5::Md5;
use sha2::{Digest, Sha256};

/// Builds the artifacts zip of a Debian build job.
#[derive(Debug, Clone)]
pub struct DebianArtifacts {
    source: String,
    version: String,
    dir: String,
    files: Vec<(String, Vec<u8>)>,
    extra: Vec<(String, Vec<u8>)>,
    corrupt: Option<String>,
    omit: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DebianArtifacts {
    /// For source package `source` at `version`, files under `dir/` in the zip.
    pub fn new(source: &str, version: &str, dir: &str) -> Self {
        Self {
            source: source.into(),
            version: version.into(),
            dir: dir.trim_end_matches('/').into(),
            files: Vec::new(),
            extra: Vec::new(),
            corrupt: None,
            omit: None,
        }
    }

    /// A file listed in the `.changes`.
    pub fn file(mut self, name: &str, content: &[u8]) -> Self {
        self.files.push((name.into(), content.to_vec()));
        self
    }

    /// A file in the zip that the `.changes` does not list (a build log, say).
    pub fn unlisted(mut self, name: &str, content: &[u8]) -> Self {
        self.extra.push((name.into(), content.to_vec()));
        self
    }

    /// Flips a byte of `name` in the zip after its checksums went into the `.changes`.
    pub fn corrupt(mut self, name: &str) -> Self {
        self.corrupt = Some(name.into());
        self
    }

    /// Lists `name` in the `.changes` but leaves it out of the zip.
    pub fn omit(mut self, name: &str) -> Self {
        self.omit = Some(name.into());
        self
    }

    /// The `.changes` file name.
    pub fn changes_name(&self) -> String {
        format!("{}_{}_amd64.changes", self.source, self.version)
    }

    /// The `.changes` text.
    pub fn changes(&self) -> String {
        let mut sha = String::new();
        let mut md5 = String::new();
        for (name, content) in &self.files {
            sha.push_str(&format!(
                " {} {} {name}\n",
                hex(&Sha256::digest(content)),
                content.len()
            ));
            md5.push_str(&format!(
                " {} {} misc optional {name}\n",
                hex(&Md5::digest(content)),
                content.len()
            ));
        }
        format!(
            "Format: 1.8\nDate: Mon, 06 May 2024 10:00:00 +0000\nSource: {src}\nBinary: {src}\nArchitecture: all\nVersion: {ver}\nDistribution: bookworm\nUrgency: medium\nMaintainer: LAVA Team <lava-team@example.org>\nChanged-By: LAVA Team <lava-team@example.org>\nDescription:\n {src} - LAVA\nChanges:\n {src} ({ver}) bookworm; urgency=medium\n .\n   * New release.\nChecksums-Sha256:\n{sha}Files:\n{md5}",
            src = self.source,
            ver = self.version,
        )
    }

    /// The zip bytes.
    pub fn zip(&self) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            let mut put = |name: &str, content: &[u8]| {
                let path = if self.dir.is_empty() {
                    name.to_owned()
                } else {
                    format!("{}/{name}", self.dir)
                };
                zip.start_file(path, opts).expect("in-memory zip");
                zip.write_all(content).expect("in-memory zip");
            };
            put(&self.changes_name(), self.changes().as_bytes());
            for (name, content) in self.files.iter().chain(&self.extra) {
                if self.omit.as_deref() == Some(name.as_str()) {
                    continue;
                }
                let mut content = content.clone();
                if self.corrupt.as_deref() == Some(name.as_str()) {
                    if let Some(b) = content.first_mut() {
                        *b ^= 0xff;
                    }
                }
                put(name, &content);
            }
            zip.finish().expect("in-memory zip");
        }
        out.into_inner()
    }
}
