//! Comparing what a Release file says with what is on disk: pure, no I/O.

use time::OffsetDateTime;

use crate::algorithm::Algorithm;
use crate::problem::Problem;
use crate::release::ReleaseInfo;

/// The size and hashes of one file as found (computed), by [`Algorithm::index`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDigest {
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hexadecimal hashes; `None` for algorithms not computed.
    pub hashes: [Option<String>; 4],
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
