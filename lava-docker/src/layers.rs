//! One file of an image, read from its layers as the registry serves them: newest layer
//! first, each streamed through gzip and tar (the `flate2` and `tar` crates) without
//! unpacking anything, stopping at the first layer that has the file or deletes it (an
//! OCI whiteout). LAVA's images carry no version label but write the version to
//! `lava_common/VERSION`; this is how the consistency gate reads it.

use std::io::Read;

use crate::reference::Digest;

/// What the layers say about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// The file's bytes, when a layer has it (and no newer layer deletes it).
    pub content: Option<Vec<u8>>,
    /// The layer that answered (has the file or deletes it), if any.
    pub layer: Option<Digest>,
    /// Layers opened.
    pub layers_read: usize,
    /// Compressed bytes downloaded, over all layers read.
    pub bytes_downloaded: u64,
}

/// What one layer says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InLayer {
    /// It has the file: its bytes.
    Has(Vec<u8>),
    /// It deletes the file (`.wh.NAME`, or an opaque directory above it).
    Deletes,
    /// It says nothing about the file.
    Silent,
}

/// Whether a layer's media type is gzip-compressed (`None`: not a tar layer at all).
pub(crate) fn gzipped(media_type: &str) -> Option<bool> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(true),
        "application/vnd.oci.image.layer.v1.tar" => Some(false),
        _ => None,
    }
}

/// `path` relative to the root, as tar entries name it (no `./` or `/`).
pub(crate) fn normalise(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .to_owned()
}

/// Reads one layer (`reader`, compressed if `gzip`) until it answers for `path`.
pub(crate) fn scan(reader: impl Read, gzip: bool, path: &str) -> std::io::Result<InLayer> {
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let want = normalise(path);
    let (dir, name) = match want.rsplit_once('/') {
        Some((d, n)) => (d.to_owned(), n.to_owned()),
        None => (String::new(), want.clone()),
    };
    let whiteout = if dir.is_empty() {
        format!(".wh.{name}")
    } else {
        format!("{dir}/.wh.{name}")
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let entry_path = entry.path()?;
        let entry_path = normalise(&entry_path.to_string_lossy());
        if entry_path == want && entry.header().entry_type().is_file() {
            let mut content = Vec::new();
            entry.read_to_end(&mut content)?;
            return Ok(InLayer::Has(content));
        }
        if entry_path == whiteout {
            return Ok(InLayer::Deletes);
        }
        // An opaque directory hides everything older below it.
        if let Some(opaque) = entry_path.strip_suffix("/.wh..wh..opq") {
            if want.starts_with(&format!("{opaque}/")) {
                return Ok(InLayer::Deletes);
            }
        }
    }
    Ok(InLayer::Silent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(files: &[(&str, &[u8])], gzip: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *content).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        if !gzip {
            return tar;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    const VERSION: &str = "/usr/lib/python3/dist-packages/lava_common/VERSION";

    #[test]
    fn finds_the_file_deletions_and_silence() {
        let has = layer(
            &[
                ("usr/bin/lava-run", b"#!/bin/sh\n"),
                (
                    "./usr/lib/python3/dist-packages/lava_common/VERSION",
                    b"2026.07\n",
                ),
            ],
            true,
        );
        assert_eq!(
            scan(&has[..], true, VERSION).unwrap(),
            InLayer::Has(b"2026.07\n".to_vec())
        );
        let deletes = layer(
            &[("usr/lib/python3/dist-packages/lava_common/.wh.VERSION", b"")],
            false,
        );
        assert_eq!(
            scan(&deletes[..], false, VERSION).unwrap(),
            InLayer::Deletes
        );
        let opaque = layer(&[("usr/lib/python3/.wh..wh..opq", b"")], true);
        assert_eq!(scan(&opaque[..], true, VERSION).unwrap(), InLayer::Deletes);
        let silent = layer(&[("etc/hostname", b"lava\n")], true);
        assert_eq!(scan(&silent[..], true, VERSION).unwrap(), InLayer::Silent);
        assert!(scan(&b"not gzip"[..], true, VERSION).is_err());
    }
}
