//! Comparing what a Release file says with what is on disk: pure, no I/O.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::release::{Algorithm, ReleaseInfo};

/// The size and hashes of one file as found (computed), by [`Algorithm::index`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDigest {
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hexadecimal hashes; `None` for algorithms not computed.
    pub hashes: [Option<String>; 4],
}

/// One way a suite fails verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A listed file is absent.
    Missing {
        /// Path relative to the suite directory.
        path: String,
    },
    /// A listed file has another size.
    Size {
        /// Path relative to the suite directory.
        path: String,
        /// Listed size.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// A listed hash does not match.
    Hash {
        /// Path relative to the suite directory.
        path: String,
        /// Which hash.
        algorithm: Algorithm,
        /// Listed hash.
        expected: String,
        /// Hash computed.
        actual: String,
    },
    /// Neither `Suite` nor `Codename` names the suite's directory.
    Name {
        /// The directory under `dists/`.
        dir: String,
        /// `Suite`, if any.
        suite: Option<String>,
        /// `Codename`, if any.
        codename: Option<String>,
    },
    /// `Date` is later than now.
    DateInFuture {
        /// `Date`.
        date: OffsetDateTime,
        /// Now.
        now: OffsetDateTime,
    },
    /// `Valid-Until` has passed.
    Expired {
        /// `Valid-Until`.
        valid_until: OffsetDateTime,
        /// Now.
        now: OffsetDateTime,
    },
}

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { path } => write!(f, "{path} is listed but missing"),
            Problem::Size {
                path,
                expected,
                actual,
            } => write!(f, "{path}: size {expected} expected, {actual} found"),
            Problem::Hash {
                path,
                algorithm,
                expected,
                actual,
            } => write!(f, "{path}: {algorithm} {expected} expected, {actual} found"),
            Problem::Name {
                dir,
                suite,
                codename,
            } => write!(
                f,
                "Release says Suite {} and Codename {}, neither is the directory name {dir}",
                suite.as_deref().unwrap_or("(none)"),
                codename.as_deref().unwrap_or("(none)")
            ),
            Problem::DateInFuture { date, now } => write!(
                f,
                "Date {} is in the future (now {})",
                rfc3339(date),
                rfc3339(now)
            ),
            Problem::Expired { valid_until, now } => write!(
                f,
                "Valid-Until {} has passed (now {})",
                rfc3339(valid_until),
                rfc3339(now)
            ),
        }
    }
}

/// Checks a suite's Release metadata: the directory name, `Date`, `Valid-Until`.
pub fn check_metadata(dir: &str, release: &ReleaseInfo, now: OffsetDateTime) -> Vec<Problem> {
    let mut problems = Vec::new();
    if release.suite.as_deref() != Some(dir) && release.codename.as_deref() != Some(dir) {
        problems.push(Problem::Name {
            dir: dir.to_owned(),
            suite: release.suite.clone(),
            codename: release.codename.clone(),
        });
    }
    if let Some(date) = release.date
        && date > now
    {
        problems.push(Problem::DateInFuture { date, now });
    }
    if let Some(valid_until) = release.valid_until
        && valid_until <= now
    {
        problems.push(Problem::Expired { valid_until, now });
    }
    problems
}

/// Checks every listed file against what was found: `found(path)` is `None` for an
/// absent file. Only the algorithms present in a digest are compared, so a remote
/// check computing SHA256 and SHA512 alone compares those.
pub fn check_files<'a>(
    release: &ReleaseInfo,
    found: impl Fn(&str) -> Option<&'a FileDigest>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for listed in &release.files {
        let Some(digest) = found(&listed.path) else {
            problems.push(Problem::Missing {
                path: listed.path.clone(),
            });
            continue;
        };
        if digest.size != listed.size {
            problems.push(Problem::Size {
                path: listed.path.clone(),
                expected: listed.size,
                actual: digest.size,
            });
            continue;
        }
        for algorithm in Algorithm::ALL {
            if let (Some(expected), Some(actual)) = (
                listed.hash(algorithm),
                digest.hashes[algorithm.index()].as_deref(),
            ) && expected != actual
            {
                problems.push(Problem::Hash {
                    path: listed.path.clone(),
                    algorithm,
                    expected: expected.to_owned(),
                    actual: actual.to_owned(),
                });
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Listed;

    fn release() -> ReleaseInfo {
        ReleaseInfo {
            suite: Some("stable".into()),
            codename: Some("bookworm".into()),
            date: Some(OffsetDateTime::from_unix_timestamp(1_000).unwrap()),
            valid_until: Some(OffsetDateTime::from_unix_timestamp(2_000).unwrap()),
            files: vec![
                Listed {
                    path: "main/source/Sources".into(),
                    size: 3,
                    hashes: [Some("aa".into()), None, Some("bb".into()), None],
                },
                Listed {
                    path: "main/source/Sources.xz".into(),
                    size: 5,
                    hashes: Default::default(),
                },
            ],
            algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
        }
    }

    #[test]
    fn metadata() {
        let now = OffsetDateTime::from_unix_timestamp(1_500).unwrap();
        assert!(check_metadata("bookworm", &release(), now).is_empty());
        assert!(check_metadata("stable", &release(), now).is_empty());
        let late = OffsetDateTime::from_unix_timestamp(500).unwrap();
        let problems: Vec<String> = check_metadata("trixie", &release(), late)
            .iter()
            .map(ToString::to_string)
            .collect();
        insta::assert_debug_snapshot!(problems, @r#"
        [
            "Release says Suite stable and Codename bookworm, neither is the directory name trixie",
            "Date 1970-01-01T00:16:40Z is in the future (now 1970-01-01T00:08:20Z)",
        ]
        "#);
        let after = OffsetDateTime::from_unix_timestamp(2_000).unwrap();
        assert_eq!(
            check_metadata("bookworm", &release(), after)[0].to_string(),
            "Valid-Until 1970-01-01T00:33:20Z has passed (now 1970-01-01T00:33:20Z)"
        );
    }

    #[test]
    fn files() {
        let sources = FileDigest {
            size: 3,
            hashes: [Some("aa".into()), None, Some("cc".into()), None],
        };
        let problems: Vec<String> = check_files(&release(), |p| {
            (p == "main/source/Sources").then_some(&sources)
        })
        .iter()
        .map(ToString::to_string)
        .collect();
        insta::assert_debug_snapshot!(problems, @r#"
        [
            "main/source/Sources: SHA256 bb expected, cc found",
            "main/source/Sources.xz is listed but missing",
        ]
        "#);
    }
}
