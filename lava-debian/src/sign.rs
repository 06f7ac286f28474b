//! Cleartext signatures on Debian control files, as `debsign` makes them.

use std::path::{Path, PathBuf};

use lava_signing::Signer;

use crate::changes::FileSums;
use crate::dsc::strip_cleartext;
use crate::{Error, Result};

/// Replaces the lines naming `file.name` in the `Checksums-Md5` (of a `.buildinfo`),
/// `Checksums-Sha1`, `Checksums-Sha256` and `Files` fields of an unsigned `.changes` or
/// `.buildinfo` with `file`'s size and sums, keeping the section and priority of `Files`.
pub fn update_changes_checksums(changes: &str, file: &FileSums) -> String {
    let mut out = String::with_capacity(changes.len());
    let mut current = String::new();
    for line in changes.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if !body.starts_with([' ', '\t']) {
            current = body
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            out.push_str(line);
            continue;
        }
        let parts: Vec<&str> = body.split_whitespace().collect();
        let names_file = parts.last() == Some(&file.name.as_str());
        let replaced = match (current.as_str(), parts.as_slice()) {
            ("checksums-md5", [_, _, _]) if names_file => {
                Some(format!(" {} {} {}", file.md5, file.size, file.name))
            }
            ("checksums-sha1", [_, _, _]) if names_file => {
                Some(format!(" {} {} {}", file.sha1, file.size, file.name))
            }
            ("checksums-sha256", [_, _, _]) if names_file => {
                Some(format!(" {} {} {}", file.sha256, file.size, file.name))
            }
            ("files", [_, _, section, priority, _]) if names_file => Some(format!(
                " {} {} {section} {priority} {}",
                file.md5, file.size, file.name
            )),
            _ => None,
        };
        match replaced {
            Some(new) => {
                out.push_str(&new);
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The files a `debsign`-style signing wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedUpload {
    /// The re-signed `.dsc`.
    pub dsc: PathBuf,
    /// The signed `.changes`.
    pub changes: PathBuf,
}

/// Signs a source upload as `debsign` does: the `.dsc` listed in the `.changes`
/// first, then each `.buildinfo` it lists (given the signed `.dsc`'s sums), then the
/// `.changes` with their new sizes and checksums. Existing signatures are replaced.
pub fn sign_upload(changes_path: &Path, signer: &Signer) -> Result<SignedUpload> {
    sign_upload_with(changes_path, signer, &|_| {})
}

/// The checkpoint [`sign_upload_with`] passes between writing the signed `.dsc` and
/// signing the `.changes`.
pub const DSC_SIGNED: &str = "dsc-signed";

/// [`sign_upload`], calling `checkpoint` with [`DSC_SIGNED`] once the signed `.dsc` is
/// written and before the `.changes` is signed (tests of interrupted runs stop there).
pub fn sign_upload_with(
    changes_path: &Path,
    signer: &Signer,
    checkpoint: &dyn Fn(&str),
) -> Result<SignedUpload> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| Error::File {
            action: "read",
            path: path.to_owned(),
            source,
        })
    };
    let write = |path: &Path, bytes: &[u8]| lava_io::write_atomically(path, bytes);
    let name_of = |path: &Path| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let changes_name = name_of(changes_path);
    let changes =
        String::from_utf8(strip_cleartext(&read(changes_path)?)).map_err(|_| Error::Parse {
            file: changes_name.clone(),
            reason: "it is not UTF-8".into(),
        })?;
    let dsc_name = changes
        .lines()
        .skip_while(|l| !l.starts_with("Files:"))
        .skip(1)
        .take_while(|l| l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_whitespace().last())
        .find(|n| n.ends_with(".dsc"))
        .ok_or_else(|| Error::Parse {
            file: changes_name.clone(),
            reason: "its `Files` field lists no .dsc".into(),
        })?
        .to_owned();
    let dir = changes_path.parent().unwrap_or(Path::new("."));
    let dsc_path = dir.join(&dsc_name);
    let dsc_text = strip_cleartext(&read(&dsc_path)?);
    let signed_dsc = signer
        .sign_cleartext(&dsc_text)
        .map_err(|source| Error::Sign {
            file: dsc_name.clone(),
            source,
        })?;
    write(&dsc_path, &signed_dsc)?;
    checkpoint(DSC_SIGNED);
    let dsc_sums = FileSums::of_bytes(&dsc_name, &signed_dsc);
    let mut changes = update_changes_checksums(&changes, &dsc_sums);
    // As debsign: a `.buildinfo` the upload carries lists the `.dsc`'s sums; it gets the
    // signed `.dsc`'s, is signed, and the `.changes` gets its new sums in turn.
    let buildinfos: Vec<String> = changes
        .lines()
        .skip_while(|l| !l.starts_with("Files:"))
        .skip(1)
        .take_while(|l| l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| n.ends_with(".buildinfo"))
        .map(str::to_owned)
        .collect();
    for name in buildinfos {
        let path = dir.join(&name);
        let text = String::from_utf8(strip_cleartext(&read(&path)?)).map_err(|_| Error::Parse {
            file: name.clone(),
            reason: "it is not UTF-8".into(),
        })?;
        let text = update_changes_checksums(&text, &dsc_sums);
        let signed = signer
            .sign_cleartext(text.as_bytes())
            .map_err(|source| Error::Sign {
                file: name.clone(),
                source,
            })?;
        write(&path, &signed)?;
        changes = update_changes_checksums(&changes, &FileSums::of_bytes(&name, &signed));
    }
    let signed_changes = signer
        .sign_cleartext(changes.as_bytes())
        .map_err(|source| Error::Sign {
            file: changes_name.clone(),
            source,
        })?;
    write(changes_path, &signed_changes)?;
    Ok(SignedUpload {
        dsc: dsc_path,
        changes: changes_path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_only_the_named_file() {
        let changes = "Source: a\nChecksums-Sha1:\n 1 5 a.dsc\n 2 6 a.tar.xz\nChecksums-Sha256:\n 3 5 a.dsc\nFiles:\n 4 5 net optional a.dsc\n 5 6 net optional a.tar.xz\n";
        let sums = FileSums {
            name: "a.dsc".into(),
            size: 9,
            md5: "m".into(),
            sha1: "s1".into(),
            sha256: "s2".into(),
        };
        assert_eq!(
            update_changes_checksums(changes, &sums),
            "Source: a\nChecksums-Sha1:\n s1 9 a.dsc\n 2 6 a.tar.xz\nChecksums-Sha256:\n s2 9 a.dsc\nFiles:\n m 9 net optional a.dsc\n 5 6 net optional a.tar.xz\n"
        );
    }
}
