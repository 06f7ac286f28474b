//! `SOURCE_VERSION_source.changes` for a source-only upload, as `dpkg-genchanges -S`
//! writes it. The rendering is pure; [`write_source_changes`] reads the tree and files.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use crate::checksum::hex;
use crate::{Error, Result};

/// Whether the upload carries the original tarball(s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrigInclusion {
    /// As `dpkg-genchanges` decides: include when the upstream version differs
    /// from the previous changelog entry's (or there is none).
    #[default]
    Auto,
    /// Always include (`-sa`).
    Include,
    /// Never include (`-sd`).
    Exclude,
}

/// A file with the checksums a `.changes` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSums {
    /// The file name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex MD5.
    pub md5: String,
    /// Hex SHA1.
    pub sha1: String,
    /// Hex SHA256.
    pub sha256: String,
}

impl FileSums {
    /// The checksums of `bytes`, named `name`.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> FileSums {
        FileSums {
            name: name.to_owned(),
            size: bytes.len() as u64,
            md5: hex(&Md5::digest(bytes)),
            sha1: hex(&Sha1::digest(bytes)),
            sha256: hex(&Sha256::digest(bytes)),
        }
    }

    /// The checksums of the file at `path`, streamed.
    pub fn of_file(path: &Path) -> Result<FileSums> {
        let io = |source| Error::File {
            action: "read",
            path: path.to_owned(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(io)?;
        let (mut md5, mut sha1, mut sha256) = (Md5::new(), Sha1::new(), Sha256::new());
        let mut buf = vec![0; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            md5.update(&buf[..n]);
            sha1.update(&buf[..n]);
            sha256.update(&buf[..n]);
        }
        Ok(FileSums {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size,
            md5: hex(&md5.finalize()),
            sha1: hex(&sha1.finalize()),
            sha256: hex(&sha256.finalize()),
        })
    }
}

/// The top entry of `debian/changelog` (and the previous entry's version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// The source package name.
    pub source: String,
    /// The version.
    pub version: String,
    /// The distribution(s).
    pub distribution: String,
    /// The urgency.
    pub urgency: String,
    /// The maintainer of the trailer line (`Changed-By`).
    pub changed_by: String,
    /// The date of the trailer line.
    pub date: String,
    /// The header line followed by the entry's lines, as in the file.
    pub changes: Vec<String>,
    /// The version of the entry below, if any.
    pub previous_version: Option<String>,
}

/// Parses the top entry of a `debian/changelog`; `file` names it in errors.
pub fn parse_changelog(file: &str, text: &str) -> Result<ChangelogEntry> {
    let bad = |reason: &str| Error::Parse {
        file: file.to_owned(),
        reason: reason.to_owned(),
    };
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let header = lines.next().ok_or_else(|| bad("it is empty"))?;
    let (source, rest) = header
        .split_once(" (")
        .ok_or_else(|| bad("the first line is not `SOURCE (VERSION) DIST; urgency=U`"))?;
    let (version, rest) = rest
        .split_once(')')
        .ok_or_else(|| bad("the first line has no closing `)` after the version"))?;
    let (distribution, options) = rest.split_once(';').unwrap_or((rest, ""));
    let urgency = options
        .split(',')
        .filter_map(|o| o.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("urgency"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "medium".to_owned());
    let mut body = Vec::new();
    let mut trailer = None;
    for line in lines.by_ref() {
        if let Some(t) = line.strip_prefix(" -- ") {
            trailer = Some(t.to_owned());
            break;
        }
        body.push(line.to_owned());
    }
    let trailer =
        trailer.ok_or_else(|| bad("the first entry has no ` -- NAME <EMAIL>  DATE` line"))?;
    let (changed_by, date) = trailer
        .split_once("  ")
        .ok_or_else(|| bad("the trailer line lacks the two spaces before the date"))?;
    while body.last().is_some_and(|l| l.trim().is_empty()) {
        body.pop();
    }
    let previous_version = lines
        .find(|l| !l.is_empty() && !l.starts_with([' ', '\t']))
        .and_then(|l| {
            l.split_once(" (")?
                .1
                .split_once(')')
                .map(|(v, _)| v.to_owned())
        });
    let mut changes = vec![header.to_owned()];
    changes.extend(body);
    Ok(ChangelogEntry {
        source: source.trim().to_owned(),
        version: version.trim().to_owned(),
        distribution: distribution.trim().to_owned(),
        urgency,
        changed_by: changed_by.trim().to_owned(),
        date: date.trim().to_owned(),
        changes,
        previous_version,
    })
}

/// The bugs closed by an entry, as dpkg's `closes:` pattern finds them, sorted
/// numerically without duplicates.
pub fn closes(changes: &[String]) -> Vec<u64> {
    let text = changes.join("\n");
    let lower = text.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut bugs = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("closes:") {
        let mut i = from + pos + "closes:".len();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        // One bug reference: (?:bug)?\#?\s?\d+ ; then any number of `,\s*` and another.
        loop {
            let mut j = i;
            if lower[j..].starts_with("bug") {
                j += 3;
            }
            if b.get(j) == Some(&b'#') {
                j += 1;
            }
            if b.get(j).is_some_and(u8::is_ascii_whitespace)
                && b.get(j + 1).is_some_and(u8::is_ascii_digit)
            {
                j += 1;
            }
            let start = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == start {
                break;
            }
            if let Ok(n) = lower[start..j].parse() {
                bugs.push(n);
            }
            i = j;
            if b.get(i) != Some(&b',') {
                break;
            }
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
        }
        from = i.max(from + pos + 1);
    }
    bugs.sort_unstable();
    bugs.dedup();
    bugs
}

fn upstream(version: &str) -> &str {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u)
}

/// Whether a `.dsc` file name is an original tarball or its signature.
fn is_orig(name: &str) -> bool {
    name.contains(".orig.tar.") || name.contains(".orig-")
}

/// What a source-only `.changes` is made from.
#[derive(Clone, Debug)]
pub struct SourceChangesInput {
    /// `debian/control`.
    pub control: String,
    /// The top `debian/changelog` entry.
    pub changelog: ChangelogEntry,
    /// The `.dsc` itself, then the files it lists, in `.dsc` order.
    pub dsc: FileSums,
    /// The files the `.dsc` lists.
    pub files: Vec<FileSums>,
    /// The `Date` field (RFC 2822), injected so output is reproducible.
    pub date: String,
    /// Whether to include the orig tarball(s).
    pub orig: OrigInclusion,
}

/// Renders the `.changes` text for a source-only upload.
pub fn render_source_changes(input: &SourceChangesInput) -> Result<String> {
    let bad = |reason: String| Error::Parse {
        file: "debian/control".into(),
        reason,
    };
    let doc = deb822_lossless::Deb822::from_str(&input.control).map_err(|e| bad(e.to_string()))?;
    let source = doc
        .paragraphs()
        .next()
        .ok_or_else(|| bad("it has no source paragraph".into()))?;
    let maintainer = source
        .get("Maintainer")
        .ok_or_else(|| bad("the `Maintainer` field is missing".into()))?;
    let section = source.get("Section").unwrap_or_else(|| "-".into());
    let priority = source.get("Priority").unwrap_or_else(|| "-".into());
    let entry = &input.changelog;
    let include_orig = match input.orig {
        OrigInclusion::Include => true,
        OrigInclusion::Exclude => false,
        OrigInclusion::Auto => entry
            .previous_version
            .as_deref()
            .is_none_or(|prev| upstream(prev) != upstream(&entry.version)),
    };
    let files: Vec<&FileSums> = std::iter::once(&input.dsc)
        .chain(
            input
                .files
                .iter()
                .filter(|f| include_orig || !is_orig(&f.name)),
        )
        .collect();
    let mut out = String::new();
    let mut field = |k: &str, v: &str| {
        out.push_str(k);
        out.push(':');
        // Multi-line fields start on the next line.
        if !v.is_empty() && !v.starts_with('\n') {
            out.push(' ');
        }
        out.push_str(v);
        out.push('\n');
    };
    field("Format", "1.8");
    field("Date", &input.date);
    field("Source", &entry.source);
    field("Architecture", "source");
    field("Version", &entry.version);
    field("Distribution", &entry.distribution);
    field("Urgency", &entry.urgency);
    field("Maintainer", maintainer.trim());
    field("Changed-By", &entry.changed_by);
    let bugs = closes(&entry.changes);
    if !bugs.is_empty() {
        let list: Vec<String> = bugs.iter().map(u64::to_string).collect();
        field("Closes", &list.join(" "));
    }
    let changes: String = entry
        .changes
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                "\n .".to_owned()
            } else {
                format!("\n {l}")
            }
        })
        .collect();
    field("Changes", &changes);
    let list = |f: &dyn Fn(&FileSums) -> String| -> String {
        files.iter().map(|s| format!("\n {}", f(s))).collect()
    };
    field(
        "Checksums-Sha1",
        &list(&|s| format!("{} {} {}", s.sha1, s.size, s.name)),
    );
    field(
        "Checksums-Sha256",
        &list(&|s| format!("{} {} {}", s.sha256, s.size, s.name)),
    );
    field(
        "Files",
        &list(&|s| format!("{} {} {section} {priority} {}", s.md5, s.size, s.name)),
    );
    Ok(out)
}

/// Builds `SOURCE_VERSION_source.changes` in `dir` (beside the `.dsc` named
/// `dsc_name`) from the unpacked `tree`, and returns its path and text.
pub fn write_source_changes(
    dir: &Path,
    tree: &Path,
    dsc_name: &str,
    date: &str,
    orig: OrigInclusion,
) -> Result<(PathBuf, String)> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|source| Error::File {
            action: "read",
            path,
            source,
        })
    };
    let control = read(tree.join("debian/control"))?;
    let changelog = parse_changelog("debian/changelog", &read(tree.join("debian/changelog"))?)?;
    let dsc_path = dir.join(dsc_name);
    let dsc_text =
        crate::dsc::strip_cleartext(&std::fs::read(&dsc_path).map_err(|source| Error::File {
            action: "read",
            path: dsc_path.clone(),
            source,
        })?);
    let dsc = crate::parse_dsc(dsc_name, &String::from_utf8_lossy(&dsc_text))?;
    let files = dsc
        .files
        .iter()
        .map(|f| FileSums::of_file(&dir.join(&f.name)))
        .collect::<Result<Vec<_>>>()?;
    let input = SourceChangesInput {
        control,
        changelog,
        dsc: FileSums::of_file(&dsc_path)?,
        files,
        date: date.to_owned(),
        orig,
    };
    let text = render_source_changes(&input)?;
    let version = input
        .changelog
        .version
        .split_once(':')
        .map_or(input.changelog.version.as_str(), |(_, v)| v);
    let path = dir.join(format!(
        "{}_{version}_source.changes",
        input.changelog.source
    ));
    lava_io::write_atomically(&path, text.as_bytes())?;
    Ok((path, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_like_dpkg() {
        let lines = vec![
            "  * A. (Closes: #12, #3)".to_owned(),
            "  * B. closes: bug#7,8 and closes:#3".to_owned(),
            "  * C. Closes: 1000".to_owned(),
        ];
        assert_eq!(closes(&lines), vec![3, 7, 8, 12, 1000]);
    }

    #[test]
    fn changelog_top_entry() {
        let entry = parse_changelog(
            "debian/changelog",
            "lava (1:2.0-2) unstable; urgency=high\n\n  * Two.\n\n -- A B <a@b>  Wed, 01 Jan 2025 00:00:00 +0000\n\nlava (2.0-1) unstable; urgency=low\n\n  * One.\n\n -- A B <a@b>  Tue, 31 Dec 2024 00:00:00 +0000\n",
        )
        .expect("valid");
        assert_eq!(entry.version, "1:2.0-2");
        assert_eq!(entry.urgency, "high");
        assert_eq!(entry.changed_by, "A B <a@b>");
        assert_eq!(entry.previous_version.as_deref(), Some("2.0-1"));
        assert_eq!(
            entry.changes,
            vec!["lava (1:2.0-2) unstable; urgency=high", "", "  * Two."]
        );
        assert_eq!(upstream(&entry.version), "2.0");
    }
}
