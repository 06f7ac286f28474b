//! `git commit PATHS -m MESSAGE` through libgit2: gix cannot yet update the index.

use std::path::Path;

use crate::{Error, Result};

/// Author and committer of the release commit.
pub(crate) struct Identity<'a> {
    pub(crate) name: &'a str,
    pub(crate) email: &'a str,
    /// Seconds since the epoch and UTC offset in minutes; `None` for now, local time.
    pub(crate) when: Option<(i64, i32)>,
}

/// Commits the working-tree contents of `paths` as `git commit --only PATHS` does:
/// the paths are staged in the real index, and the commit's tree is HEAD's tree with
/// just those paths replaced, so unrelated staged changes stay staged and uncommitted.
pub(crate) fn commit_paths(
    git_dir: &Path,
    workdir: &Path,
    paths: &[&str],
    message: &str,
    who: &Identity<'_>,
) -> Result<String> {
    let commit_error = |source: git2::Error| Error::Commit {
        repo: workdir.to_owned(),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(commit_error)?;
    let mut index = repo.index().map_err(commit_error)?;
    for &path in paths {
        let rel = Path::new(path);
        let stage_error = |source: git2::Error| Error::Stage {
            path: path.to_owned(),
            repo: workdir.to_owned(),
            source: source.into(),
        };
        match std::fs::symlink_metadata(workdir.join(rel)) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::StageDirectory {
                    path: path.to_owned(),
                    repo: workdir.to_owned(),
                });
            }
            Ok(_) => index.add_path(rel).map_err(stage_error)?,
            Err(_) if index.get_path(rel, 0).is_some() => {
                index.remove_path(rel).map_err(stage_error)?
            }
            Err(_) => {
                return Err(Error::PathNotFound {
                    path: path.to_owned(),
                    repo: workdir.to_owned(),
                });
            }
        }
    }
    index.write().map_err(commit_error)?;

    let head = match repo.head() {
        Ok(head) => Some(head.peel_to_commit().map_err(commit_error)?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
        Err(e) => return Err(commit_error(e)),
    };
    let mut only = git2::Index::new().map_err(commit_error)?;
    if let Some(head) = &head {
        only.read_tree(&head.tree().map_err(commit_error)?)
            .map_err(commit_error)?;
    }
    for &path in paths {
        let rel = Path::new(path);
        match index.get_path(rel, 0) {
            Some(entry) => only.add(&entry).map_err(commit_error)?,
            None => {
                if only.get_path(rel, 0).is_some() {
                    only.remove(rel, 0).map_err(commit_error)?;
                }
            }
        }
    }
    let tree_id = only.write_tree_to(&repo).map_err(commit_error)?;
    if head.as_ref().is_some_and(|head| head.tree_id() == tree_id) {
        return Err(Error::NothingToCommit {
            paths: paths.join(", "),
            repo: workdir.to_owned(),
        });
    }
    let tree = repo.find_tree(tree_id).map_err(commit_error)?;
    let signature = match who.when {
        Some((seconds, offset)) => {
            git2::Signature::new(who.name, who.email, &git2::Time::new(seconds, offset))
        }
        None => git2::Signature::now(who.name, who.email),
    }
    .map_err(|source| Error::Identity {
        repo: workdir.to_owned(),
        source: source.into(),
    })?;
    // `git commit -m` cleans the message up in "whitespace" mode (no comment stripping).
    let message = git2::message_prettify(message, None).map_err(commit_error)?;
    let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
    // Updating "HEAD" moves the branch it points at under its lock, and libgit2 refuses
    // if the branch no longer points at the parent we read.
    let id = repo
        .commit(
            Some("HEAD"),
            &signature,
            &signature,
            &message,
            &tree,
            &parents,
        )
        .map_err(commit_error)?;
    Ok(id.to_string())
}
