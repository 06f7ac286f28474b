//! Reading Debian control files: whether one is cleartext-signed, its text without the
//! signature, and the parts of a `.dsc` that fetching and checking it needs.

use std::str::FromStr as _;

use crate::{Error, Result};

/// One file listed in a `.dsc`'s `Checksums-Sha256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DscFile {
    /// The file name, relative to the `.dsc`.
    pub name: String,
    /// The size in bytes.
    pub size: u64,
    /// The lowercase hex SHA256.
    pub sha256: String,
}

/// A parsed source control file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dsc {
    /// `Source`.
    pub source: String,
    /// `Version`.
    pub version: String,
    /// The files of `Checksums-Sha256`.
    pub files: Vec<DscFile>,
}

/// Whether `text` is an OpenPGP cleartext-signed message.
pub fn is_signed(text: &[u8]) -> bool {
    text.trim_ascii_start()
        .starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")
}

/// The text of a cleartext-signed message, without checking the signature:
/// the part between the armor headers and the signature block, dash-unescaped.
/// Text that is not cleartext-signed is returned as is.
pub fn strip_cleartext(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    if !is_signed(message) {
        return message.to_vec();
    }
    let mut out = String::new();
    let mut in_headers = true;
    for line in text.split_inclusive('\n').skip(1) {
        if in_headers {
            // Armor headers (`Hash: ...`) end at the first empty line.
            if line.trim_end().is_empty() {
                in_headers = false;
            }
            continue;
        }
        if line.starts_with("-----BEGIN PGP SIGNATURE-----") {
            break;
        }
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
    }
    out.into_bytes()
}

/// Parses the (unsigned) text of a `.dsc`; `name` names it in errors.
pub fn parse_dsc(name: &str, text: &str) -> Result<Dsc> {
    let bad = |reason: String| Error::Parse {
        file: name.to_owned(),
        reason,
    };
    let doc = deb822_lossless::Deb822::from_str(text).map_err(|e| bad(e.to_string()))?;
    let para = doc
        .paragraphs()
        .next()
        .ok_or_else(|| bad("it has no paragraph".into()))?;
    let field = |key: &str| {
        para.get(key)
            .ok_or_else(|| bad(format!("the `{key}` field is missing")))
    };
    let source = field("Source")?.trim().to_owned();
    let version = field("Version")?.trim().to_owned();
    let sums = field("Checksums-Sha256")?;
    let mut files = Vec::new();
    for line in sums.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [sha256, size, file] = parts[..] else {
            return Err(bad(format!(
                "`Checksums-Sha256` line `{line}` is not `SHA256 SIZE NAME`"
            )));
        };
        let size = size
            .parse()
            .map_err(|_| bad(format!("`{size}` is not a size in `Checksums-Sha256`")))?;
        files.push(DscFile {
            name: file.to_owned(),
            size,
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    if files.is_empty() {
        return Err(bad("`Checksums-Sha256` lists no file".into()));
    }
    Ok(Dsc {
        source,
        version,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_armor() {
        let signed = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSource: a\n- -x\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(strip_cleartext(signed), b"Source: a\n-x\n");
        assert_eq!(strip_cleartext(b"Source: a\n"), b"Source: a\n");
    }

    #[test]
    fn parses_checksums() {
        let dsc = parse_dsc(
            "x.dsc",
            "Format: 3.0 (quilt)\nSource: lava\nVersion: 1.0-1\nChecksums-Sha256:\n aa 12 lava_1.0.orig.tar.xz\n BB 3 lava_1.0-1.debian.tar.xz\nFiles:\n cc 12 lava_1.0.orig.tar.xz\n",
        )
        .expect("valid");
        assert_eq!(dsc.source, "lava");
        assert_eq!(dsc.version, "1.0-1");
        assert_eq!(
            dsc.files,
            vec![
                DscFile {
                    name: "lava_1.0.orig.tar.xz".into(),
                    size: 12,
                    sha256: "aa".into()
                },
                DscFile {
                    name: "lava_1.0-1.debian.tar.xz".into(),
                    size: 3,
                    sha256: "bb".into()
                },
            ]
        );
    }

    #[test]
    fn missing_checksums_named() {
        let err = parse_dsc("x.dsc", "Source: lava\nVersion: 1\n").expect_err("no sums");
        assert_eq!(
            err.to_string(),
            "`x.dsc` is not a valid Debian control file: the `Checksums-Sha256` field is missing"
        );
    }
}
