//! Reads the git history a LAVA release is cut from, and records the release commit.
//!
//! Reading goes through `gix`: the last release tag (`git describe --abbrev=0`
//! semantics), the commits of a range with git's own path filtering and history
//! simplification, files at a commit, the working tree's cleanliness. Writing the
//! release commit goes through `git2`, where gix cannot yet update the index.
//!
//! Tags are made here byte for byte as git makes them. Pushes, remote listings and clones
//! go through the system's `git` (the user's ssh and credential set-up applies) or, for
//! embedders without git, libgit2: see [`Transport`].
//!
//! It knows nothing of changelogs, Debian or versions: callers pass revisions, paths and
//! patterns, and get commits and ids back. It reads no environment variable of its own;
//! git's (`GIT_SSH_COMMAND`, `GIT_SSH`) only to add a key file to the ssh command the
//! user set up.
//!
//! [`Repository::log`] and [`Repository::last_tag`] reimplement git's revision walk and
//! describe search (see `walk` and `describe`) instead of using gix's walkers, because
//! the output must be exactly git's, history simplification included, and fast on
//! 100,000-commit histories.
#![warn(missing_docs)]

mod abbrev;
mod commits;
mod describe;
mod error;
mod handover;
mod odb;
mod remote;
mod status;
mod tag;
mod walk;
mod write;

pub use error::{Error, Result, Source};
pub use handover::{Handover, HandoverState, handover, handover_state};
pub use remote::{Network, Transport};
pub use tag::{NewTag, SignFn, TagObject, TagRef, read_remote_tag, split_signature};

use std::path::{Path, PathBuf};

use gix::hash::ObjectId;

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

/// What [`Repository::log`] lists: `git log --no-merges [^exclude...] [since..]until
/// [-- paths]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Exclusive start (commit id or revision), `None` for the whole history.
    pub since: Option<String>,
    /// More revisions whose history is left out, as `^REV` on git's command line
    /// (`do-debian-release -t "^X TAG"`).
    pub exclude: Vec<String>,
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

/// Bytes of decoded objects gix keeps for delta resolution outside the walks (which
/// have their own cache): rev-parse, tags, status.
const PACK_CACHE_BYTES: usize = 4 << 20;

impl Repository {
    /// Opens the repository whose working tree is at `path` (or contains it), with git's
    /// configuration (system, global, repository) as git would read it.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, gix::open::Options::default())
    }

    /// Opens like [`Repository::open`], but reads only the repository's own
    /// configuration: no system or global files and no `GIT_*` variables. Tests and
    /// rehearsals use it so that the developer's identity and settings stay out.
    pub fn open_isolated(path: &Path) -> Result<Self> {
        Self::open_with(path, gix::open::Options::isolated())
    }

    fn open_with(path: &Path, options: gix::open::Options) -> Result<Self> {
        let mut repo = gix::discover_opts(path, Default::default(), options).map_err(|source| {
            Error::Open {
                path: path.to_owned(),
                source: source.into(),
            }
        })?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| Error::Bare {
                path: path.to_owned(),
            })?
            .to_owned();
        // gix's default delta cache may hold 96 MiB; a short-lived CLI needs far less.
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
                PACK_CACHE_BYTES,
            ))
        });
        repo.object_cache_size(0);
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
        self.head_commit()?
            .map(|id| id.to_string())
            .ok_or_else(|| Error::UnbornHead {
                repo: self.workdir.clone(),
            })
    }

    /// HEAD's commit, `None` on an unborn branch.
    fn head_commit(&self) -> Result<Option<ObjectId>> {
        let head_error = |source: gix::Error| Error::Head {
            repo: self.workdir.clone(),
            source: source.into(),
        };
        let mut head = self.repo.head().map_err(head_error)?;
        if head.is_unborn() {
            return Ok(None);
        }
        let id = head.peel_to_commit().map_err(head_error)?.id;
        Ok(Some(id))
    }

    /// The branch HEAD is on (short name, e.g. `master`), `None` when detached.
    pub fn head_branch(&self) -> Result<Option<String>> {
        let name = self.repo.head_name().map_err(|source| Error::Head {
            repo: self.workdir.clone(),
            source: source.into(),
        })?;
        Ok(name.map(|name| name.shorten().to_string()))
    }

    /// Paths that `git status --porcelain` would list (modified, staged, deleted,
    /// untracked and not ignored), relative to the working tree; empty when clean.
    /// Untracked directories appear as `dir/`, and a rename lists both its paths.
    pub fn dirty_paths(&self) -> Result<Vec<String>> {
        status::dirty_paths(&self.repo)
    }

    /// The commit `rev` (a tag, branch or id) peels to, `None` when it does not exist.
    pub fn resolve_commit(&self, rev: &str) -> Result<Option<String>> {
        Ok(self.peel(rev).map(|id| id.to_string()))
    }

    /// `rev` peeled to a commit, as `git rev-parse --verify -q REV^{commit}`.
    fn peel(&self, rev: &str) -> Option<ObjectId> {
        let spec = format!("{rev}^{{commit}}");
        self.repo
            .rev_parse_single(spec.as_str())
            .ok()
            .map(|id| id.detach())
    }

    fn peel_or_err(&self, rev: &str) -> Result<ObjectId> {
        self.peel(rev).ok_or_else(|| Error::RevNotFound {
            rev: rev.to_owned(),
            repo: self.workdir.clone(),
        })
    }

    /// Whether a tag `refs/tags/{name}` exists.
    pub fn tag_exists(&self, name: &str) -> Result<bool> {
        let full = format!("refs/tags/{name}");
        // A name git would refuse cannot exist as a tag.
        if gix::validate::reference::name(full.as_str().into()).is_err() {
            return Ok(false);
        }
        let found = self
            .repo
            .try_find_reference(full.as_str())
            .map_err(|source| Error::Tags {
                repo: self.workdir.clone(),
                source: source.into(),
            })?;
        Ok(found.is_some())
    }

    /// The names of the tags starting with `prefix` (`debian/`), sorted.
    pub fn tag_names(&self, prefix: &str) -> Result<Vec<String>> {
        let err = |source: Source| Error::Tags {
            repo: self.workdir.clone(),
            source,
        };
        let refs = self.repo.references().map_err(|e| err(e.into()))?;
        let mut names = Vec::new();
        for r in refs.prefixed("refs/tags/").map_err(|e| err(e.into()))? {
            let r = r.map_err(|e| err(Source::from(e)))?;
            let name = r.name().as_bstr().to_string();
            let name = name.trim_start_matches("refs/tags/");
            if name.starts_with(prefix) {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The release tag `git describe --abbrev=0 [--match ..] [--exclude ..] HEAD` names:
    /// the annotated tag closest to HEAD among those matching `pattern`. `None` when no
    /// annotated tag can describe HEAD, or HEAD has no commits.
    pub fn last_tag(&self, pattern: &TagPattern) -> Result<Option<Tag>> {
        match self.head_commit()? {
            Some(head) => describe::describe(&self.repo, head, pattern),
            None => Ok(None),
        }
    }

    /// The commits `git log` lists for `query`, in git log's default order (newest first).
    pub fn log(&self, query: &LogQuery) -> Result<Vec<Commit>> {
        let until = self.peel_or_err(&query.until)?;
        let since = query
            .since
            .iter()
            .chain(&query.exclude)
            .map(|rev| self.peel_or_err(rev))
            .collect::<Result<Vec<_>>>()?;
        let specs = query
            .paths
            .iter()
            .map(|p| walk::Pathspec::parse(p))
            .collect::<Result<Vec<_>>>()?;
        let (ids, mut odb) = {
            let mut walk = walk::Walk::new(&self.repo, specs, query.no_merges)?;
            let shown = walk.run(until, &since, None)?;
            // The walk's tables go before the commits are read, to keep the peak low.
            let ids: Vec<ObjectId> = shown
                .into_iter()
                .map(|n| walk.commits.nodes[n as usize].id)
                .collect();
            (ids, walk.into_odb())
        };
        let short_ids = abbrev::shorten_all(&odb, &ids)?;
        let mut buf = Vec::new();
        ids.into_iter()
            .zip(short_ids)
            .map(|(id, short_id)| {
                let data = odb.read(&id, gix::objs::Kind::Commit, &mut buf)?;
                let text = commits::commit_text(data);
                Ok(Commit {
                    id: id.to_string(),
                    short_id,
                    author_name: text.author_name,
                    author_email: text.author_email,
                    message: text.message,
                })
            })
            .collect()
    }

    /// The newest commit reachable from HEAD that changed `path` (`git log -1 -- path`),
    /// `None` when there is none or HEAD has no commits.
    pub fn last_commit_touching(&self, path: &str) -> Result<Option<String>> {
        let Some(head) = self.head_commit()? else {
            return Ok(None);
        };
        let mut walk = walk::Walk::new(&self.repo, vec![walk::Pathspec::parse(path)?], false)?;
        let shown = walk.run(head, &[], Some(1))?;
        Ok(shown
            .first()
            .map(|&n| walk.commits.nodes[n as usize].id.to_string()))
    }

    /// The message of commit `id` (any revision naming a commit).
    pub fn commit_message(&self, id: &str) -> Result<String> {
        let id = self.peel_or_err(id)?;
        let mut buf = Vec::new();
        let data = odb::Odb::new(&self.repo)?.read(&id, gix::objs::Kind::Commit, &mut buf)?;
        Ok(commits::commit_text(data).message)
    }

    /// The contents of `path` in commit `id`, `None` when the path does not exist there.
    pub fn file_at(&self, id: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let commit = self.peel_or_err(id)?;
        let mut odb = odb::Odb::new(&self.repo)?;
        let mut buf = Vec::new();
        let data = odb.read(&commit, gix::objs::Kind::Commit, &mut buf)?;
        let header =
            commits::parse_commit_header(data, commit.kind()).ok_or_else(|| Error::BadCommit {
                id: commit.to_string(),
                repo: self.workdir.clone(),
            })?;
        let mut entry = commits::Entry {
            mode: commits::MODE_TREE,
            id: header.tree,
        };
        for name in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if entry.mode != commits::MODE_TREE {
                return Ok(None);
            }
            let tree = odb.read(&entry.id, gix::objs::Kind::Tree, &mut buf)?;
            match commits::tree_entry(tree, name.as_bytes(), commit.kind()) {
                Some(found) => entry = found,
                None => return Ok(None),
            }
        }
        if entry.mode == commits::MODE_TREE || entry.mode == 0o160000 {
            return Err(Error::NotAFile {
                path: path.to_owned(),
                commit: commit.to_string(),
                repo: self.workdir.clone(),
            });
        }
        Ok(Some(
            odb.read(&entry.id, gix::objs::Kind::Blob, &mut buf)?
                .to_vec(),
        ))
    }

    /// `git config user.name` and `user.email`, where set (repository, then global and
    /// system configuration, as git reads them).
    pub fn user_identity(&self) -> Result<(Option<String>, Option<String>)> {
        let config = self.repo.config_snapshot();
        let get = |key: &str| config.string(key).map(|v| v.to_string());
        Ok((get("user.name"), get("user.email")))
    }

    /// Sets `user.name` and `user.email` in this repository's own configuration (a
    /// clone lava-release keeps, committing as the person it works for). A `Repository`
    /// opened before still reads the old identity: open it again.
    pub fn set_identity(&self, name: &str, email: &str) -> Result<()> {
        let err = |key, source: git2::Error| Error::SetConfig {
            key,
            repo: self.workdir.clone(),
            source: source.into(),
        };
        let repo = git2::Repository::open(self.repo.git_dir()).map_err(|e| err("user.name", e))?;
        let config = repo.config().map_err(|e| err("user.name", e))?;
        let mut local = config
            .open_level(git2::ConfigLevel::Local)
            .map_err(|e| err("user.name", e))?;
        local
            .set_str("user.name", name)
            .map_err(|e| err("user.name", e))?;
        local
            .set_str("user.email", email)
            .map_err(|e| err("user.email", e))?;
        Ok(())
    }

    /// Stages `paths` (relative to the working tree, as they are on disk) and commits them
    /// on the current branch with `message`, as `git commit PATHS -m MESSAGE` would (the
    /// configured identity, hooks not run). Returns the new commit's full id.
    pub fn commit_paths(&self, paths: &[&str], message: &str) -> Result<String> {
        self.commit_paths_when(paths, message, None)
    }

    /// Like [`Repository::commit_paths`], with author and committer date fixed at
    /// `seconds` since the epoch and `offset_minutes` east of UTC, for reproducible
    /// commits in tests and rehearsals.
    pub fn commit_paths_at(
        &self,
        paths: &[&str],
        message: &str,
        seconds: i64,
        offset_minutes: i32,
    ) -> Result<String> {
        self.commit_paths_when(paths, message, Some((seconds, offset_minutes)))
    }

    fn commit_paths_when(
        &self,
        paths: &[&str],
        message: &str,
        when: Option<(i64, i32)>,
    ) -> Result<String> {
        let (name, email) = self.user_identity()?;
        let missing = |key| Error::MissingIdentity {
            key,
            repo: self.workdir.clone(),
        };
        let name = name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| missing("user.name"))?;
        let email = email
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| missing("user.email"))?;
        let who = write::Identity {
            name: &name,
            email: &email,
            when,
        };
        write::commit_paths(self.repo.git_dir(), &self.workdir, paths, message, &who)
    }

    /// The tag `name` (`refs/tags/NAME`), `None` when there is none.
    pub fn read_tag(&self, name: &str) -> Result<Option<TagRef>> {
        tag::read_tag(self.repo.git_dir(), &self.workdir, name)
    }

    /// Creates an annotated tag (signed when `sign` is given) exactly as git writes one.
    /// The ref is created only if absent, or swapped for the one tag object
    /// `tag.replaces` names; an existing tag is never overwritten otherwise.
    pub fn create_tag(&self, tag: &NewTag<'_>, sign: Option<SignFn<'_>>) -> Result<String> {
        tag::create_tag(self.repo.git_dir(), &self.workdir, tag, sign)
    }

    /// Pushes `refspecs` to `remote` (a remote's name or a URL), never forcing.
    pub fn push(&self, remote: &str, refspecs: &[&str], net: &Network) -> Result<()> {
        remote::push(self.repo.git_dir(), remote, refspecs, net)
    }

    /// Fetches `refspecs` (`SRC:DST`, fast-forward only) from `remote` (a remote's name,
    /// a URL or another repository's path).
    pub fn fetch(&self, remote: &str, refspecs: &[&str], net: &Network) -> Result<()> {
        remote::fetch(self.repo.git_dir(), remote, refspecs, None, net)
    }

    /// Clones branch `branch` of `url` into `dest` (which must not exist), checked out,
    /// and opens it.
    pub fn clone_branch(url: &str, branch: &str, dest: &Path, net: &Network) -> Result<Self> {
        remote::clone(url, branch, dest, None, net)?;
        Self::open(dest)
    }

    /// The refs `remote` advertises (`git ls-remote`).
    pub fn remote_refs(&self, remote: &str, net: &Network) -> Result<Vec<(String, String)>> {
        remote::remote_refs(self.repo.git_dir(), remote, net)
    }

    /// Whether commit `ancestor` is reachable from `descendant` (both must be local).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let err = |source: git2::Error| Error::Ancestry {
            ancestor: ancestor.to_owned(),
            descendant: descendant.to_owned(),
            repo: self.workdir.clone(),
            source: source.into(),
        };
        let repo = git2::Repository::open(self.repo.git_dir()).map_err(err)?;
        let (a, d) = (
            git2::Oid::from_str(ancestor).map_err(err)?,
            git2::Oid::from_str(descendant).map_err(err)?,
        );
        if repo.find_commit(d).is_err() {
            return Ok(false);
        }
        repo.graph_descendant_of(d, a).map_err(err)
    }
}
