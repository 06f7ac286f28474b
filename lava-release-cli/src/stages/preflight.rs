//! Stage `preflight`: the release can start. The version is newer than the last one in
//! `debian/changelog` and than the last release tag, the working tree is clean and HEAD
//! is on the release branch.
//!
//! It is a check only: `apply` does nothing, and a failed check blocks the run. Once the
//! `changelog` stage has committed, the comparison is made against the release commit's
//! parent, so a re-run of a finished release still passes.

use std::cmp::Ordering;

use crate::config::{CONFIG_FILE, Config};
use crate::entry::CHANGELOG;
use crate::stages::changelog::{Changelog, Progress};
use crate::step::{Absent, Context, Status, Step, short};
use crate::version::Release;

/// Inputs of the `preflight` stage.
#[derive(Debug, Clone)]
pub struct Preflight {
    version: String,
    debian_version: debversion::Version,
    branch: String,
    tags: lava_git::TagPattern,
    changelog: Changelog,
}

impl Step for Preflight {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
            debian_version: release.debian_version.clone(),
            branch: config.project.branch.clone(),
            tags: lava_git::TagPattern {
                include: config.project.tag_match.clone(),
                exclude: config.project.tag_exclude.clone(),
            },
            changelog: Changelog::new(config, release),
        })
    }

    fn name(&self) -> &'static str {
        "preflight"
    }

    fn check_only(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!(
            "check that {} (Debian {}) is newer than the last release, the working tree is clean and HEAD is on {}",
            self.version, self.debian_version, self.branch
        )
    }

    /// Done with the facts checked as evidence, or blocked with the first failure.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        Ok(match self.evaluate(ctx)? {
            Ok(evidence) => Status::Done { evidence },
            Err(reason) => Status::Blocked { reason },
        })
    }

    /// Nothing to do: a blocked preflight cannot be applied.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        match self.evaluate(ctx)? {
            Ok(evidence) => Ok(evidence),
            Err(reason) => anyhow::bail!(reason),
        }
    }
}

impl Preflight {
    fn evaluate(&self, ctx: &Context<'_>) -> anyhow::Result<Result<String, String>> {
        let repo = ctx.repo;
        let workdir = repo.workdir().display();

        match repo.head_branch()? {
            Some(b) if b == self.branch => {}
            Some(b) => {
                return Ok(Err(format!(
                    "HEAD of {workdir} is on branch `{b}`, not on the release branch `{}`",
                    self.branch
                )));
            }
            None => {
                return Ok(Err(format!(
                    "HEAD of {workdir} is detached; check out the release branch `{}`",
                    self.branch
                )));
            }
        }

        // An untracked `release.toml` is the configuration this run reads, kept out of
        // the project's history: not a change to the release.
        let head = repo.head_id()?;
        let untracked_config = repo.file_at(&head, CONFIG_FILE)?.is_none();
        let dirty: Vec<String> = repo
            .dirty_paths()?
            .into_iter()
            .filter(|p| !self.changelog.owns_dirty_path(ctx, p))
            .filter(|p| !(untracked_config && p == CONFIG_FILE))
            .collect();
        if !dirty.is_empty() {
            return Ok(Err(format!(
                "the working tree of {workdir} is not clean ({}); commit or stash first",
                summarize(&dirty)
            )));
        }

        // The state before this release: HEAD, or HEAD's parent once the release commit
        // has been made.
        let base = match self.changelog.progress(ctx)? {
            Progress::Committed { .. } => match repo.resolve_commit(&format!("{head}^"))? {
                Some(parent) => parent,
                None => return Ok(Err(format!("the release commit {head} has no parent"))),
            },
            _ => head.clone(),
        };
        let committed = base != head;

        let Some(text) = repo.file_at(&base, CHANGELOG)? else {
            return Ok(Err(format!(
                "{CHANGELOG} does not exist in commit {}",
                short(&base)
            )));
        };
        let top = match lava_changelog::parse_top(&String::from_utf8_lossy(&text)) {
            Ok(top) => top,
            Err(e) => {
                return Ok(Err(format!(
                    "{CHANGELOG} in commit {} cannot be read: {e}",
                    short(&base)
                )));
            }
        };
        let previous: debversion::Version = match top.version.parse() {
            Ok(v) => v,
            Err(_) => {
                return Ok(Err(format!(
                    "{CHANGELOG} in commit {} starts with version `{}`, which is not a Debian version",
                    short(&base),
                    top.version
                )));
            }
        };
        if self.debian_version.cmp(&previous) != Ordering::Greater {
            return Ok(Err(format!(
                "version {} is not newer than {} at the top of {CHANGELOG}",
                self.debian_version, previous
            )));
        }

        let mut evidence = format!("{} > {previous} in {CHANGELOG}", self.debian_version);
        if let Some(tag) = repo.last_tag(&self.tags)? {
            // Once this release is tagged, `describe` finds its own tag: compare with the
            // state before it instead.
            let own = tag.name == self.version;
            if !own {
                let Ok(tagged) = tag.name.parse::<debversion::Version>() else {
                    return Ok(Err(format!(
                        "the last release tag `{}` is not a version; set project.tag_match in release.toml",
                        tag.name
                    )));
                };
                let ours: debversion::Version = self
                    .version
                    .parse()
                    .expect("a LAVA version is a Debian version");
                if ours.cmp(&tagged) != Ordering::Greater {
                    return Ok(Err(format!(
                        "version {} is not newer than the last release tag `{}`",
                        self.version, tag.name
                    )));
                }
                evidence.push_str(&format!(", > tag {}", tag.name));
            }
        }
        // Before the release commit, a tag of this version can only be another commit's:
        // it would block the tag stages once the commit is made.
        if !committed
            && let Some(tagged) = repo.resolve_commit(&format!("refs/tags/{}", self.version))?
        {
            return Ok(Err(format!(
                "tag `{}` already exists at commit {}, before this release's commit; a release tag is never moved, so delete the local tag if it is wrong or release another version",
                self.version,
                short(&tagged)
            )));
        }
        evidence.push_str(&format!(", clean tree on {}", self.branch));
        Ok(Ok(evidence))
    }
}

fn summarize(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}
