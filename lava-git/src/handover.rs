//! A directory of one repository handed over to another for review.

use std::path::{Path, PathBuf};

use crate::remote::{self, Network};
use crate::{Error, Result};

/// Where the clone keeps the review ref it read back.
const REVIEW_REF: &str = "refs/lava-release/review";

/// A directory of one repository handed over to another for review, as LAVA copies its
/// device types to lava-lab: a fresh clone, a branch, a copy, a commit, a push to a
/// review ref (what `git review` does for Gerrit).
#[derive(Debug, Clone)]
pub struct Handover<'a> {
    /// The target repository's URL.
    pub url: &'a str,
    /// Its branch the change is based on (`master`).
    pub base: &'a str,
    /// The directory whose files are copied (absolute).
    pub source_dir: &'a Path,
    /// Where they go in the target, relative to its top (`shared/device-types`).
    pub dest_dir: &'a str,
    /// The local branch made in the clone.
    pub branch: &'a str,
    /// The ref pushed to (`refs/for/master`).
    pub push_ref: &'a str,
    /// The commit message.
    pub message: &'a str,
    /// Author and committer of the commit.
    pub author: (&'a str, &'a str),
    /// Where to clone (created; must not exist).
    pub clone_dir: &'a Path,
    /// How to reach the target.
    pub network: &'a Network,
}

/// Whether the target already has the files: where, or what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverState {
    /// The review ref (or the base branch) already holds every file with this content.
    Present {
        /// The ref that holds them.
        reference: String,
        /// Its commit.
        commit: String,
    },
    /// These files (relative to the source directory) differ or are missing.
    Missing(Vec<String>),
}

fn source_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn clone(h: &Handover<'_>) -> Result<git2::Repository> {
    // The review ref too, when the server lets us read it back.
    remote::clone(
        h.url,
        h.base,
        h.clone_dir,
        Some((h.push_ref, REVIEW_REF)),
        h.network,
    )
}

fn missing_in(repo: &git2::Repository, commit: git2::Oid, h: &Handover<'_>) -> Result<Vec<String>> {
    let err = |source: git2::Error| Error::Clone {
        url: h.url.to_owned(),
        dest: h.clone_dir.to_owned(),
        source: source.into(),
    };
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(err)?;
    let files = source_files(h.source_dir).map_err(|source| Error::ReadDir {
        path: h.source_dir.to_owned(),
        source,
    })?;
    let mut missing = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(h.source_dir)
            .expect("files are under the source directory");
        let blob = git2::Oid::hash_file(git2::ObjectType::Blob, &file).map_err(err)?;
        let there = tree
            .get_path(&Path::new(h.dest_dir).join(rel))
            .ok()
            .map(|e| e.id());
        if there != Some(blob) {
            missing.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(missing)
}

fn state(repo: &git2::Repository, h: &Handover<'_>) -> Result<HandoverState> {
    let mut missing = Vec::new();
    for (reference, name) in [
        (REVIEW_REF.to_owned(), h.push_ref.to_owned()),
        (
            format!("refs/remotes/origin/{}", h.base),
            format!("refs/heads/{}", h.base),
        ),
    ] {
        let Ok(commit) = repo.refname_to_id(&reference) else {
            continue;
        };
        let m = missing_in(repo, commit, h)?;
        if m.is_empty() {
            return Ok(HandoverState::Present {
                reference: name,
                commit: commit.to_string(),
            });
        }
        if missing.is_empty() {
            missing = m;
        }
    }
    Ok(HandoverState::Missing(missing))
}

/// Read-only: clones the target and says whether it already has the files.
pub fn handover_state(h: &Handover<'_>) -> Result<HandoverState> {
    let repo = clone(h)?;
    let state = state(&repo, h);
    drop(repo);
    let _ = std::fs::remove_dir_all(h.clone_dir);
    state
}

/// Hands the files over (unless already there) and returns where they are now.
pub fn handover(h: &Handover<'_>) -> Result<HandoverState> {
    let repo = clone(h)?;
    if let HandoverState::Present { reference, commit } = state(&repo, h)? {
        return Ok(HandoverState::Present { reference, commit });
    }
    let err = |source: git2::Error| Error::Clone {
        url: h.url.to_owned(),
        dest: h.clone_dir.to_owned(),
        source: source.into(),
    };
    let head = repo.head().and_then(|r| r.peel_to_commit()).map_err(err)?;
    repo.branch(h.branch, &head, true).map_err(err)?;
    repo.set_head(&format!("refs/heads/{}", h.branch))
        .map_err(err)?;
    let dest = h.clone_dir.join(h.dest_dir);
    let files = source_files(h.source_dir).map_err(|source| Error::ReadDir {
        path: h.source_dir.to_owned(),
        source,
    })?;
    for file in files {
        let rel = file
            .strip_prefix(h.source_dir)
            .expect("files are under the source directory");
        let target = dest.join(rel);
        let copied = target
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| std::fs::copy(&file, &target));
        copied.map_err(|source| Error::Copy {
            from: file.clone(),
            to: target.clone(),
            source,
        })?;
    }
    // `git add --all`: every change and every new file.
    let mut index = repo.index().map_err(err)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(err)?;
    index.update_all(["*"], None).map_err(err)?;
    index.write().map_err(err)?;
    let tree_id = index.write_tree().map_err(err)?;
    let tree = repo.find_tree(tree_id).map_err(err)?;
    let who = git2::Signature::now(h.author.0, h.author.1).map_err(err)?;
    let commit = repo
        .commit(Some("HEAD"), &who, &who, h.message, &tree, &[&head])
        .map_err(err)?;
    let refspec = format!("refs/heads/{}:{}", h.branch, h.push_ref);
    remote::push(repo.path(), "origin", &[refspec.as_str()], h.network)?;
    Ok(HandoverState::Present {
        reference: h.push_ref.to_owned(),
        commit: commit.to_string(),
    })
}
