//! tag2upload: the signed git tag that asks Debian's tag2upload service to build and
//! upload a source package (tag2upload(5), as `git debpush` makes it): its message, and
//! the checks `git debpush` makes before it tags, each named as its `--force=CHECK`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// The quilt modes tag2upload knows (`git debpush --quilt=`).
pub const QUILT_MODES: &[&str] = &[
    "linear",
    "auto",
    "smash",
    "nofix",
    "gbp",
    "dpm",
    "unapplied",
    "baredebian",
];

/// What the tag says: `SOURCE release VERSION for TARGET`, then the `[dgit ...]` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMessage {
    /// The source package.
    pub source: String,
    /// Its Debian version.
    pub version: String,
    /// The changelog's distribution (the suite).
    pub target: String,
    /// The distro, `debian`.
    pub distro: String,
    /// The quilt mode; `None` for a native package.
    pub quilt: Option<String>,
    /// The upstream tag and the commit it names; `None` for a native package.
    pub upstream: Option<(String, String)>,
}

impl TagMessage {
    /// The message as `git debpush` writes it.
    pub fn render(&self) -> String {
        let quilt = self
            .quilt
            .as_deref()
            .map_or_else(String::new, |q| format!(" --quilt={q}"));
        let upstream = self
            .upstream
            .as_ref()
            .map_or_else(String::new, |(tag, commit)| {
                format!(" upstream-tag={tag} upstream={commit}")
            });
        format!(
            "{source} release {version} for {target}\n\n[dgit distro={distro} split{quilt}]\n[dgit please-upload source={source} version={version}{upstream}]\n",
            source = self.source,
            version = self.version,
            target = self.target,
            distro = self.distro,
        )
    }
}

/// The quilt mode a previous tag2upload tag's message names (`--quilt=MODE`).
pub fn quilt_of(message: &str) -> Option<String> {
    message.lines().find_map(|line| {
        let line = line.trim();
        if !(line.starts_with("[dgit") && line.ends_with(']')) {
            return None;
        }
        let at = line.find("--quilt=")? + "--quilt=".len();
        let mode: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '+')
            .collect();
        (!mode.is_empty()).then_some(mode)
    })
}

/// One check `git debpush` would fail, named as its `--force=` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The check: `detached`, `unreleased`, `suite`, `upstream-nonancestor`,
    /// `upstream-nonidentical`, `patches-applicable`, and lava-release's own
    /// `upstream-release` (the upstream tag is not what the release tag archives).
    pub check: &'static str,
    /// What is wrong, naming the ref and the value.
    pub message: String,
}

/// What the checks look at.
#[derive(Debug, Clone)]
pub struct Checks<'a> {
    /// The packaging repository's git directory.
    pub git_dir: &'a Path,
    /// The branch tagged (`debian/main`).
    pub branch: &'a str,
    /// The branch HEAD is on, `None` when detached.
    pub head_branch: Option<&'a str>,
    /// The suite the configuration targets.
    pub suite: &'a str,
    /// What the tag will say.
    pub message: &'a TagMessage,
    /// The signed release tag whose archive the upstream tag must hold (`2026.07`).
    pub release_tag: Option<&'a str>,
}

/// Every check of `git debpush` that fails for `c`, in its order.
pub fn check(c: &Checks<'_>) -> Result<Vec<Refusal>> {
    let mut refusals = Vec::new();
    let mut refuse = |check, message: String| refusals.push(Refusal { check, message });
    if c.head_branch != Some(c.branch) {
        refuse(
            "detached",
            match c.head_branch {
                None => format!(
                    "HEAD of {} is detached, not on `{}`",
                    c.git_dir.display(),
                    c.branch
                ),
                Some(other) => format!(
                    "HEAD of {} is on `{other}`, not on `{}`",
                    c.git_dir.display(),
                    c.branch
                ),
            },
        );
    }
    let m = c.message;
    if m.target == "UNRELEASED" {
        refuse(
            "unreleased",
            format!("debian/changelog on `{}` is UNRELEASED", c.branch),
        );
    } else if m.target != c.suite {
        refuse(
            "suite",
            format!(
                "debian/changelog on `{}` targets `{}`, not `{}`",
                c.branch, m.target, c.suite
            ),
        );
    }
    let branch = format!("refs/heads/{}", c.branch);
    if let Some((tag, commit)) = &m.upstream {
        if !git_ok(c.git_dir, &["merge-base", "--is-ancestor", commit, &branch])? {
            refuse(
                "upstream-nonancestor",
                format!(
                    "upstream tag `{tag}` ({}) is not an ancestor of `{}`",
                    short(commit),
                    c.branch
                ),
            );
        }
        if matches!(m.quilt.as_deref(), Some("gbp" | "unapplied")) {
            let mut args = vec!["diff", "--quiet", "--exit-code"];
            let range = format!("{commit}..{branch}");
            args.extend([range.as_str(), "--", ".", ":!debian"]);
            if m.quilt.as_deref() == Some("gbp") {
                args.push(":!**.gitignore");
            }
            if !git_ok(c.git_dir, &args)? {
                let changed = git_out(
                    c.git_dir,
                    &[
                        "diff",
                        "--name-only",
                        &range,
                        "--",
                        ".",
                        ":!debian",
                        ":!**.gitignore",
                    ],
                )?;
                refuse(
                    "upstream-nonidentical",
                    format!(
                        "the upstream source in tag `{tag}` is not identical to `{}` outside debian/ (first: `{}`)",
                        c.branch,
                        changed.lines().next().unwrap_or_default()
                    ),
                );
            }
        }
        if let Some(release) = c.release_tag {
            if let Err(e) = crate::orig::check_archives(c.git_dir, release, tag) {
                refuse("upstream-release", e.to_string());
            }
        }
        let checks_patches = matches!(
            m.quilt.as_deref(),
            Some("gbp" | "unapplied" | "baredebian" | "dpm" | "nofix")
        );
        if checks_patches {
            if let Some(failed) = patches_failing(c.git_dir, commit, &branch)? {
                refuse("patches-applicable", failed);
            }
        }
    }
    Ok(refusals)
}

/// Applies `debian/patches/series` of `branch` to the upstream tree of `upstream` in a
/// scratch directory, as `git debpush` does; the first patch `git apply` refuses.
fn patches_failing(git_dir: &Path, upstream: &str, branch: &str) -> Result<Option<String>> {
    let series = git_out(
        git_dir,
        &["show", &format!("{branch}:debian/patches/series")],
    )
    .ok();
    let Some(series) = series.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let scratch = tempfile::tempdir().map_err(|source| Error::File {
        action: "create a scratch directory for",
        path: PathBuf::from("debian/patches"),
        source,
    })?;
    extract(git_dir, upstream, &[], scratch.path())?;
    extract(git_dir, branch, &["debian"], scratch.path())?;
    for line in series.lines() {
        let patch = line.split('#').next().unwrap_or_default().trim();
        if patch.is_empty() {
            continue;
        }
        let out = Command::new("git")
            .args(["apply", &format!("debian/patches/{patch}")])
            .current_dir(scratch.path())
            .env_remove("GIT_DIR")
            .output()
            .map_err(|source| spawn(source, "git apply"))?;
        if !out.status.success() {
            return Ok(Some(format!(
                "`git apply` cannot apply debian/patches/{patch} of `{}` to the upstream source: {}",
                branch.trim_start_matches("refs/heads/"),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or_default()
            )));
        }
    }
    Ok(None)
}

/// `git archive REV [PATHS] | tar -x -C DIR`.
fn extract(git_dir: &Path, rev: &str, paths: &[&str], dir: &Path) -> Result<()> {
    let mut archive = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["archive", "--format=tar", rev])
        .args(paths)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| spawn(source, "git archive"))?;
    let stdout = archive.stdout.take().expect("piped");
    let mut tar = tar::Archive::new(stdout);
    let unpacked = tar.unpack(dir);
    let status = archive
        .wait()
        .map_err(|source| spawn(source, "git archive"))?;
    unpacked.map_err(|source| Error::File {
        action: "unpack `git archive` into",
        path: dir.to_owned(),
        source,
    })?;
    if !status.success() {
        return Err(Error::Tool {
            program: "git archive",
            what: rev.to_owned(),
            status: status.to_string(),
            stderr: String::new(),
        });
    }
    Ok(())
}

fn spawn(source: std::io::Error, program: &'static str) -> Error {
    Error::Spawn {
        program: "git",
        package: "git",
        target: program.to_owned(),
        source,
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `git ARGS` in `git_dir`: its stdout when it exits with one of `ok` (the first of them
/// `true`), an error otherwise.
fn git(git_dir: &Path, args: &[&str], ok: &[i32]) -> Result<(bool, String)> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .map_err(|source| spawn(source, "git"))?;
    match out.status.code() {
        Some(code) if ok.contains(&code) => Ok((
            Some(&code) == ok.first(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )),
        _ => Err(Error::Tool {
            program: "git",
            what: args.join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}

/// Whether `git ARGS` exits 0 (1: no); anything else is an error.
fn git_ok(git_dir: &Path, args: &[&str]) -> Result<bool> {
    Ok(git(git_dir, args, &[0, 1])?.0)
}

/// `git ARGS`'s stdout; an error when it fails.
fn git_out(git_dir: &Path, args: &[&str]) -> Result<String> {
    Ok(git(git_dir, args, &[0])?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_git_debpushs() {
        let m = TagMessage {
            source: "lava".into(),
            version: "1:2026.07~rc1-1".into(),
            target: "unstable".into(),
            distro: "debian".into(),
            quilt: Some("gbp".into()),
            upstream: Some(("upstream/2026.07_rc1".into(), "abc".into())),
        };
        assert_eq!(
            m.render(),
            "lava release 1:2026.07~rc1-1 for unstable\n\n[dgit distro=debian split --quilt=gbp]\n[dgit please-upload source=lava version=1:2026.07~rc1-1 upstream-tag=upstream/2026.07_rc1 upstream=abc]\n"
        );
        let native = TagMessage {
            quilt: None,
            upstream: None,
            version: "2026.07".into(),
            ..m
        };
        assert_eq!(
            native.render(),
            "lava release 2026.07 for unstable\n\n[dgit distro=debian split]\n[dgit please-upload source=lava version=2026.07]\n"
        );
        assert_eq!(quilt_of(&native.render()), None);
        assert_eq!(
            quilt_of("x\n\n[dgit distro=debian split --quilt=gbp]\n"),
            Some("gbp".into())
        );
    }
}
