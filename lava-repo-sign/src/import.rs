//! `repo-import`: `reprepro include` of built `.changes` files into each suite,
//! skipping suites that already hold the version or a newer one.

use crate::error::{Error, Result};
use crate::tree::Tree;

/// A `.changes` file on the machine holding the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    /// Its path on that machine.
    pub path: String,
    /// `Source`.
    pub source: String,
    /// `Version`.
    pub version: String,
    /// `Distribution` (space-separated suites).
    pub distribution: String,
    /// The source package's `.dsc` the upload lists (from `Files`), if it carries one.
    pub dsc: Option<String>,
}

/// A source package's `.dsc` next to the `.changes` that lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DscFile {
    /// Its path on the machine holding the repository.
    pub path: String,
    /// Its `Version`, or `None` when the file is not there.
    pub version: Option<String>,
}

/// What importing does, or did, for one `.changes` file in one suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportItem {
    /// The suite.
    pub suite: String,
    /// The upload.
    pub changes: Changes,
    /// The version of the source already in the suite, if any.
    pub existing: Option<String>,
    /// Whether it is (to be) included; false when the suite has this version or newer.
    pub include: bool,
}

impl std::fmt::Display for ImportItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self
            .changes
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&self.changes.path);
        match (&self.existing, self.include) {
            (_, true) => write!(f, "{}: include {name}", self.suite),
            (Some(v), false) => write!(
                f,
                "{}: skip {name}, {} {v} is already there",
                self.suite, self.changes.source
            ),
            (None, false) => write!(f, "{}: skip {name}", self.suite),
        }
    }
}

/// The deb822 text of a possibly clearsigned control file.
fn unsigned_text(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----") else {
        return text;
    };
    let body = rest.split_once("\n\n").map_or(rest, |(_, b)| b);
    body.split("\n-----BEGIN PGP SIGNATURE-----")
        .next()
        .unwrap_or(body)
}

/// The one paragraph of a (possibly clearsigned) control file, and how to say what
/// is wrong with it.
struct Control<'a> {
    path: &'a str,
    paragraph: deb822_lossless::Paragraph,
    error: fn(&str, String) -> Error,
}

impl<'a> Control<'a> {
    fn parse(path: &'a str, bytes: &[u8], error: fn(&str, String) -> Error) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| error(path, "it is not UTF-8".into()))?;
        let paragraph = unsigned_text(text)
            .trim_start()
            .parse()
            .map_err(|e: deb822_lossless::ParseError| error(path, e.to_string()))?;
        Ok(Self {
            path,
            paragraph,
            error,
        })
    }

    fn bad(&self, reason: String) -> Error {
        (self.error)(self.path, reason)
    }

    /// A field that must be there and not empty.
    fn field(&self, name: &str) -> Result<String> {
        self.paragraph
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| self.bad(format!("it has no {name} field")))
    }
}

/// Parses the fields of a `.changes` file this module needs.
pub fn parse_changes(path: &str, bytes: &[u8]) -> Result<Changes> {
    let control = Control::parse(path, bytes, |path, reason| Error::Changes {
        path: path.into(),
        reason,
    })?;
    let version = control.field("Version")?;
    version
        .parse::<debversion::Version>()
        .map_err(|_| control.bad(format!("Version `{version}` is not a Debian version")))?;
    Ok(Changes {
        path: path.to_owned(),
        source: control
            .field("Source")?
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        version,
        distribution: control.field("Distribution")?,
        dsc: control.paragraph.get("Files").and_then(|files| {
            files
                .lines()
                .filter_map(|line| line.split_whitespace().last())
                .find(|name| name.ends_with(".dsc"))
                .map(str::to_owned)
        }),
    })
}

/// The `Version` of a `.dsc` (possibly clearsigned); `path` names it in errors.
fn dsc_version(path: &str, bytes: &[u8]) -> Result<String> {
    Control::parse(path, bytes, |path, reason| Error::Dsc {
        path: path.into(),
        reason,
    })?
    .field("Version")
}

impl Tree {
    /// The `.changes` files in `dir` (a path on the machine holding the repository).
    pub fn find_changes(&self, dir: &str) -> Result<Vec<Changes>> {
        let out = self.store().sh(
            &format!("ls {dir}"),
            "cd -- \"$1\" && for f in *.changes; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; exit 0",
            &[dir],
            None,
        )?;
        let mut found = Vec::new();
        for name in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
        {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            let bytes = self
                .store()
                .read_absolute(&path)?
                .ok_or_else(|| Error::Changes {
                    path: path.clone().into(),
                    reason: "it disappeared while being read".into(),
                })?;
            found.push(parse_changes(&path, &bytes)?);
        }
        Ok(found)
    }

    /// The `.dsc` that `changes` lists, read from the same directory, with its version.
    pub fn dsc_of(&self, changes: &Changes) -> Result<Option<DscFile>> {
        let Some(name) = &changes.dsc else {
            return Ok(None);
        };
        let dir = changes.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let path = format!("{dir}/{name}");
        let version = match self.store().read_absolute(&path)? {
            Some(bytes) => Some(dsc_version(&path, &bytes)?),
            None => None,
        };
        Ok(Some(DscFile { path, version }))
    }

    fn reprepro(&self, args: &[&str]) -> Result<std::process::Output> {
        let base = self.store().path("");
        let mut all = vec![base.as_str()];
        all.extend_from_slice(args);
        self.store()
            .sh(
                &format!("reprepro {}", args.join(" ")),
                "base=$1; shift; command -v reprepro >/dev/null || { echo 'reprepro is not installed (Debian package reprepro)' >&2; exit 127; }; exec reprepro -b \"$base\" \"$@\"",
                &all,
                None,
            )
            .map_err(|e| match e {
                Error::Remote { status, stderr, .. } => Error::Reprepro {
                    base: self.store().label(""),
                    args: args.join(" "),
                    status,
                    stderr,
                },
                other => other,
            })
    }

    /// The newest version of source package `source` in `suite`, from reprepro.
    pub fn source_version(&self, suite: &str, source: &str) -> Result<Option<String>> {
        let out = self.reprepro(&[
            "-T",
            "dsc",
            "--list-format",
            "${version}\\n",
            "list",
            suite,
            source,
        ])?;
        let mut best: Option<(debversion::Version, String)> = None;
        for line in String::from_utf8_lossy(&out.stdout).lines().map(str::trim) {
            if let Ok(v) = line.parse::<debversion::Version>()
                && best.as_ref().is_none_or(|(b, _)| v > *b)
            {
                best = Some((v, line.to_owned()));
            }
        }
        Ok(best.map(|(_, s)| s))
    }

    /// Read-only: what importing `changes` into `suites` would do. A `.changes` goes
    /// to the suites its `Distribution` names; one naming none of `suites` (e.g.
    /// `unstable`) goes to all of them.
    pub fn import_preview(
        &self,
        suites: &[String],
        changes: &[Changes],
    ) -> Result<Vec<ImportItem>> {
        let mut preview = Vec::new();
        for suite in suites {
            let mut existing_by_source = std::collections::BTreeMap::new();
            for c in changes {
                let named: Vec<&str> = c.distribution.split_whitespace().collect();
                let targeted = named.contains(&suite.as_str())
                    || !named.iter().any(|d| suites.iter().any(|s| s == d));
                if !targeted {
                    continue;
                }
                let existing = match existing_by_source.get(&c.source) {
                    Some(e) => Clone::clone(e),
                    None => {
                        let e = self.source_version(suite, &c.source)?;
                        existing_by_source.insert(c.source.clone(), e.clone());
                        e
                    }
                };
                let include = match &existing {
                    None => true,
                    Some(e) => match (
                        e.parse::<debversion::Version>(),
                        c.version.parse::<debversion::Version>(),
                    ) {
                        (Ok(e), Ok(v)) => v > e,
                        _ => true,
                    },
                };
                preview.push(ImportItem {
                    suite: suite.clone(),
                    changes: c.clone(),
                    existing,
                    include,
                });
            }
            if !preview.iter().any(|i| &i.suite == suite) {
                return Err(Error::NoChanges {
                    suite: suite.clone(),
                    dir: changes
                        .first()
                        .map(|c| c.path.rsplit_once('/').map_or("", |p| p.0).into())
                        .unwrap_or_default(),
                });
            }
        }
        Ok(preview)
    }

    /// Runs `reprepro include` for every item of [`Tree::import_preview`] that is not
    /// skipped, and returns them all.
    pub fn import(&self, suites: &[String], changes: &[Changes]) -> Result<Vec<ImportItem>> {
        let items = self.import_preview(suites, changes)?;
        for item in items.iter().filter(|i| i.include) {
            // The upload's Distribution (often `unstable`) need not name the suite.
            self.reprepro(&[
                "--ignore=wrongdistribution",
                "include",
                &item.suite,
                &item.changes.path,
            ])?;
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signed_and_unsigned_changes() {
        let plain =
            "Format: 1.8\nSource: lava (2025.01-1)\nVersion: 2025.01-1\nDistribution: bookworm\n";
        let c = parse_changes("/x/lava.changes", plain.as_bytes()).unwrap();
        assert_eq!(
            (c.source.as_str(), c.version.as_str()),
            ("lava", "2025.01-1")
        );
        let signed = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{plain}\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n"
        );
        assert_eq!(
            parse_changes("/x/lava.changes", signed.as_bytes()).unwrap(),
            c
        );
        assert_eq!(c.dsc, None);
        let with_files = format!(
            "{plain}Files:\n 0123 700 net optional lava_2025.01-1.dsc\n 4567 900 net optional lava_2025.01.orig.tar.xz\n"
        );
        let c = parse_changes("/x/lava.changes", with_files.as_bytes()).unwrap();
        assert_eq!(c.dsc.as_deref(), Some("lava_2025.01-1.dsc"));
        let err = parse_changes("/x/lava.changes", b"Source: lava\n").unwrap_err();
        insta::assert_snapshot!(err, @r#""/x/lava.changes" is not a usable .changes file: it has no Version field"#);
    }
}
