//! The upstream tarball of a release tag, proven to be the tag: every path, every file's
//! bytes, its executable bit and every symlink's target equal what `git archive TAG`
//! writes, whatever prefix directory the tarball puts them under (GitLab's is
//! `PROJECT-REF-SHA/`). Both sides go through `.gitattributes` the same way, as GitLab
//! makes its archives with `git archive`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// What a tarball holds at one path, for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    /// A file: its SHA-256 and whether it is executable.
    File { sha256: [u8; 32], executable: bool },
    /// A symbolic link and its target.
    Link(String),
}

impl Member {
    fn describe(&self) -> String {
        match self {
            Member::File { sha256, executable } => format!(
                "{}file sha256:{}",
                if *executable { "executable " } else { "" },
                hex(&sha256[..6])
            ),
            Member::Link(target) => format!("symlink to `{target}`"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`check_orig`] proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrigMatch {
    /// The files and links the tarball and the tag both hold.
    pub members: usize,
    /// The directory the tarball puts them under, e.g. `lava-2026.07-3f2a…/`; empty when
    /// it has none.
    pub prefix: String,
}

/// Proves that the gzip tarball `orig` holds exactly what `git archive REFERENCE` writes
/// in the repository at `git_dir`: the same paths (directories aside), the same bytes,
/// executable bits and link targets. A difference is [`Error::OrigDiffers`], naming the
/// first differing path in sorted order and both sides.
pub fn check_orig(orig: &Path, git_dir: &Path, reference: &str) -> Result<OrigMatch> {
    let expected = git_archive(git_dir, reference)?;
    let file = std::fs::File::open(orig).map_err(|source| Error::File {
        action: "open",
        path: orig.to_owned(),
        source,
    })?;
    let (prefix, actual) =
        read_tar(flate2::read::GzDecoder::new(file), true).map_err(|e| Error::Parse {
            file: orig.display().to_string(),
            reason: format!("it is not a gzip tarball: {e}"),
        })?;
    compare(&expected, &actual, orig, reference)?;
    Ok(OrigMatch {
        members: expected.len(),
        prefix,
    })
}

/// Proves that `git archive OTHER` holds what `git archive REFERENCE` does, both in the
/// repository at `git_dir` (an upstream import against the release tag it imports);
/// returns how many files and links they hold.
pub fn check_archives(git_dir: &Path, reference: &str, other: &str) -> Result<usize> {
    let expected = git_archive(git_dir, reference)?;
    let actual = git_archive(git_dir, other)?;
    compare(&expected, &actual, Path::new(other), reference)?;
    Ok(expected.len())
}

/// The first difference between `expected` (of `reference`) and `actual` (of `orig`).
fn compare(
    expected: &BTreeMap<String, Member>,
    actual: &BTreeMap<String, Member>,
    orig: &Path,
    reference: &str,
) -> Result<()> {
    let differs = |path: &str, why: String| Error::OrigDiffers {
        orig: orig.to_owned(),
        reference: reference.to_owned(),
        path: path.to_owned(),
        why,
    };
    let mut theirs = actual.iter().peekable();
    let mut ours = expected.iter().peekable();
    loop {
        match (ours.peek(), theirs.peek()) {
            (None, None) => break,
            (Some((path, _)), None) => {
                return Err(differs(path, "is missing from the tarball".into()));
            }
            (None, Some((path, _))) => {
                return Err(differs(
                    path,
                    format!("is in the tarball but not in {reference}"),
                ));
            }
            (Some((a, _)), Some((b, _))) if a < b => {
                return Err(differs(a, "is missing from the tarball".into()));
            }
            (Some((a, _)), Some((b, _))) if a > b => {
                return Err(differs(
                    b,
                    format!("is in the tarball but not in {reference}"),
                ));
            }
            (Some((path, want)), Some((_, got))) => {
                if want != got {
                    return Err(differs(
                        path,
                        format!(
                            "is a {} in the tarball but a {} in {reference}",
                            got.describe(),
                            want.describe()
                        ),
                    ));
                }
                ours.next();
                theirs.next();
            }
        }
    }
    Ok(())
}

/// `git archive --format=tar REFERENCE`, read as it streams.
fn git_archive(git_dir: &Path, reference: &str) -> Result<BTreeMap<String, Member>> {
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["archive", "--format=tar", reference, "--"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            program: "git",
            package: "git",
            target: reference.to_owned(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("piped");
    // tar stops at the end-of-archive blocks; git still writes the record's padding.
    let read = read_tar(&mut stdout, false)
        .and_then(|members| std::io::copy(&mut stdout, &mut std::io::sink()).map(|_| members));
    let out = child.wait_with_output().map_err(|source| Error::File {
        action: "read `git archive` of",
        path: PathBuf::from(reference),
        source,
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            program: "git archive",
            what: format!("{reference} in {}", git_dir.display()),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    read.map(|(_, members)| members)
        .map_err(|source| Error::File {
            action: "read `git archive` of",
            path: PathBuf::from(reference),
            source,
        })
}

/// Every file and link of a tar stream by path; with `strip`, under the one directory
/// all of them share, which is returned.
fn read_tar(reader: impl Read, strip: bool) -> std::io::Result<(String, BTreeMap<String, Member>)> {
    let mut archive = tar::Archive::new(reader);
    let mut members = BTreeMap::new();
    let mut prefix: Option<String> = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_symlink() || kind.is_dir()) {
            // pax global headers (git's commit id comment) and the like.
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_owned();
        let path = if strip {
            let (top, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
            match &prefix {
                None => prefix = Some(format!("{top}/")),
                Some(p) if p.trim_end_matches('/') == top => {}
                Some(p) => {
                    return Err(std::io::Error::other(format!(
                        "`{path}` is outside the tarball's directory `{p}`"
                    )));
                }
            }
            rest.to_owned()
        } else {
            path
        };
        if kind.is_dir() || path.is_empty() {
            continue;
        }
        let member = if kind.is_symlink() {
            let target = entry
                .link_name()?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            Member::Link(target)
        } else {
            let executable = entry.header().mode()? & 0o111 != 0;
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher)?;
            Member::File {
                sha256: hasher.finalize().into(),
                executable,
            }
        };
        members.insert(path, member);
    }
    Ok((prefix.unwrap_or_default(), members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::tests::gitrepo::{GitRepo, RM};

    /// GitLab's archive of `reference`: `git archive` as a gzip tarball under
    /// `lava-REF-SHA/`.
    fn gitlab_archive(repo: &GitRepo, reference: &str) -> PathBuf {
        let sha = repo.git(&["rev-parse", &format!("{reference}^{{commit}}")]);
        let out = repo.scratch().join(format!("{reference}.tar.gz"));
        repo.git(&[
            "archive",
            "--format=tar.gz",
            &format!("--prefix=lava-{reference}-{}/", sha.trim()),
            "-o",
            out.to_str().unwrap(),
            reference,
        ]);
        out
    }

    fn error(orig: &Path, repo: &GitRepo, reference: &str) -> String {
        check_orig(orig, &repo.path().join(".git"), reference)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_tags_own_archive_matches_and_any_difference_is_named() {
        let mut repo = GitRepo::new();
        repo.commit_files(
            RM,
            "tools\n",
            &[
                (".gitattributes", ".gitlab-ci.yml export-ignore\n"),
                (".gitlab-ci.yml", "jobs\n"),
                ("share/run.sh", "#!/bin/sh\n"),
            ],
        );
        repo.git(&["update-index", "--chmod=+x", "share/run.sh"]);
        repo.git(&["commit", "--quiet", "-m", "executable"]);
        repo.tag("2026.07");
        let good = gitlab_archive(&repo, "2026.07");
        let matched = check_orig(&good, &repo.path().join(".git"), "2026.07").unwrap();
        // .gitattributes, README.md, debian/{changelog,control,source/format},
        // share/run.sh; .gitlab-ci.yml is export-ignore'd on both sides.
        assert_eq!(matched.members, 6);
        assert!(matched.prefix.starts_with("lava-2026.07-"), "{matched:?}");

        repo.commit_files(RM, "readme\n", &[("README.md", "LAVA!\n")]);
        repo.tag("changed");
        let changed = gitlab_archive(&repo, "changed");
        let message = error(&changed, &repo, "2026.07");
        assert!(
            message.contains("is not the tarball of 2026.07: `README.md` is a file sha256:"),
            "{message}"
        );

        repo.commit_files(RM, "extra\n", &[("extra.txt", "x\n")]);
        repo.tag("extra");
        let extra = gitlab_archive(&repo, "extra");
        assert!(
            error(&extra, &repo, "changed")
                .ends_with("`extra.txt` is in the tarball but not in changed"),
        );
        assert!(
            error(&changed, &repo, "extra").ends_with("`extra.txt` is missing from the tarball")
        );

        repo.git(&["update-index", "--chmod=-x", "share/run.sh"]);
        repo.git(&["commit", "--quiet", "-m", "not executable"]);
        repo.tag("plain");
        let plain = gitlab_archive(&repo, "plain");
        let message = error(&plain, &repo, "extra");
        assert!(
            message.contains("`share/run.sh` is a file sha256:")
                && message.contains("but a executable file"),
            "{message}"
        );

        let not_gzip = repo.scratch().join("not.tar.gz");
        std::fs::write(&not_gzip, "<html>502</html>").unwrap();
        assert!(error(&not_gzip, &repo, "2026.07").contains("it is not a gzip tarball"));
    }
}
