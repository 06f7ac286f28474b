//! Reads the git history a LAVA release is cut from, and records the release commit.
//!
//! Reading goes through `gix`: the last release tag (`git describe --abbrev=0`
//! semantics), the commits of a range with git's own path filtering and history
//! simplification, files at a commit, the working tree's cleanliness. Writing the
//! release commit goes through `git2`, where gix cannot yet update the index.
//!
//! It knows nothing of changelogs, Debian or versions: callers pass revisions, paths and
//! patterns, and get commits and ids back.
#![warn(missing_docs)]

mod error;

pub use error::{Error, Result};

use std::path::{Path, PathBuf};

/// One commit as `git log` would show it: the raw facts, no mailmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full hexadecimal object id.
    pub id: String,
    /// The abbreviation `git log --oneline` prints (`%h`, honouring `core.abbrev`).
    pub short_id: String,
    /// Author name as recorded.
    pub author_name: String,
    /// Author e-mail as recorded.
    pub author_email: String,
    /// The full message (subject, blank line, body), decoded to UTF-8.
    pub message: String,
}

/// A tag and the commit it points at (peeled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Short tag name, e.g. `2024.01`.
    pub name: String,
    /// Full hex id of the commit the tag peels to.
    pub commit: String,
}

/// Which tags count as release tags: `git describe --match`/`--exclude` globs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPattern {
    /// Globs a tag name must match (any of); empty means every tag.
    pub include: Vec<String>,
    /// Globs that exclude a tag name, e.g. `debian/*`.
    pub exclude: Vec<String>,
}

/// What [`Repository::log`] lists: `git log --no-merges [since..]until [-- paths]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Exclusive start (commit id or revision), `None` for the whole history.
    pub since: Option<String>,
    /// Inclusive end revision, usually `HEAD`.
    pub until: String,
    /// Path filter as git's pathspec (directory prefixes); empty means no filter.
    pub paths: Vec<String>,
    /// Leave out merge commits (`--no-merges`).
    pub no_merges: bool,
}

/// A git repository with a working tree.
pub struct Repository {
    repo: gix::Repository,
    workdir: PathBuf,
}

impl Repository {
    /// Opens the repository whose working tree is at `path` (or contains it).
    pub fn open(path: &Path) -> Result<Self> {
        let repo = gix::discover(path)
            .map_err(|source| Error::Open { path: path.to_owned(), source: Box::new(source) })?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| Error::Bare { path: path.to_owned() })?
            .to_owned();
        Ok(Self { repo, workdir })
    }

    /// The working tree's top directory.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The `.git` directory (where lava-release keeps its journal).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// Full id of the commit HEAD points at.
    pub fn head_id(&self) -> Result<String> {
        Err(Error::Pending)
    }

    /// The branch HEAD is on (short name, e.g. `master`), `None` when detached.
    pub fn head_branch(&self) -> Result<Option<String>> {
        Err(Error::Pending)
    }

    /// Paths that `git status --porcelain` would list (modified, staged, deleted,
    /// untracked and not ignored), relative to the working tree; empty when clean.
    pub fn dirty_paths(&self) -> Result<Vec<String>> {
        Err(Error::Pending)
    }

    /// The commit `rev` (a tag, branch or id) peels to, `None` when it does not exist.
    pub fn resolve_commit(&self, rev: &str) -> Result<Option<String>> {
        let _ = rev;
        Err(Error::Pending)
    }

    /// Whether a tag `refs/tags/{name}` exists.
    pub fn tag_exists(&self, name: &str) -> Result<bool> {
        let _ = name;
        Err(Error::Pending)
    }

    /// The release tag `git describe --abbrev=0 [--match ..] [--exclude ..] HEAD` names:
    /// the annotated tag closest to HEAD among those matching `pattern`.
    pub fn last_tag(&self, pattern: &TagPattern) -> Result<Option<Tag>> {
        let _ = pattern;
        Err(Error::Pending)
    }

    /// The commits `git log` lists for `query`, in git log's default order (newest first).
    pub fn log(&self, query: &LogQuery) -> Result<Vec<Commit>> {
        let _ = query;
        Err(Error::Pending)
    }

    /// The newest commit reachable from HEAD that changed `path` (`git log -1 -- path`).
    pub fn last_commit_touching(&self, path: &str) -> Result<Option<String>> {
        let _ = path;
        Err(Error::Pending)
    }

    /// The message of commit `id`.
    pub fn commit_message(&self, id: &str) -> Result<String> {
        let _ = id;
        Err(Error::Pending)
    }

    /// The contents of `path` in commit `id`, `None` when the path does not exist there.
    pub fn file_at(&self, id: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let _ = (id, path);
        Err(Error::Pending)
    }

    /// `git config user.name` and `user.email`, where set.
    pub fn user_identity(&self) -> Result<(Option<String>, Option<String>)> {
        Err(Error::Pending)
    }

    /// Stages `paths` (relative to the working tree, as they are on disk) and commits them
    /// on the current branch with `message`, as `git commit PATHS -m MESSAGE` would (the
    /// configured identity, hooks not run). Returns the new commit's full id.
    pub fn commit_paths(&self, paths: &[&str], message: &str) -> Result<String> {
        let _ = (paths, message);
        Err(Error::Pending)
    }
}
