use std::path::PathBuf;
use thiserror::Error;

/// The cause behind an [`Error`], as the underlying git library reported it.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from reading or writing a repository.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// No repository at or above the path.
    #[error("{path:?} is not inside a git repository")]
    Open {
        /// Where we looked.
        path: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// The repository has no working tree.
    #[error("{path:?} is a bare repository; lava-release needs a working tree")]
    Bare {
        /// The repository.
        path: PathBuf,
    },
    /// HEAD could not be read.
    #[error("cannot read HEAD of {repo:?}")]
    Head {
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// HEAD is on a branch without commits.
    #[error("HEAD of {repo:?} has no commits yet; commit something first")]
    UnbornHead {
        /// The repository.
        repo: PathBuf,
    },
    /// A revision does not name a commit.
    #[error(
        "revision `{rev}` is not a commit in {repo:?}; fetch it (and tags) or check the spelling"
    )]
    RevNotFound {
        /// The revision as given.
        rev: String,
        /// The repository.
        repo: PathBuf,
    },
    /// A path filter uses a feature of git pathspecs this crate does not implement.
    #[error("pathspec `{pathspec}` is not supported: {reason}; pass plain paths such as `debian`")]
    Pathspec {
        /// The pathspec as given.
        pathspec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An object could not be read.
    #[error("cannot read object {id} in {repo:?}; `git fsck` there may tell why")]
    ReadObject {
        /// Full hex id.
        id: String,
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// An object the history refers to is not in the object database.
    #[error(
        "object {id} is missing from {repo:?}; the clone may be shallow or partial: fetch the full history"
    )]
    MissingObject {
        /// Full hex id.
        id: String,
        /// The repository.
        repo: PathBuf,
    },
    /// An object is not of the kind its reference promises.
    #[error("object {id} in {repo:?} is a {actual} where a {expected} was expected")]
    WrongKind {
        /// Full hex id.
        id: String,
        /// The kind we needed.
        expected: String,
        /// The kind it is.
        actual: String,
        /// The repository.
        repo: PathBuf,
    },
    /// A commit object does not parse.
    #[error("commit {id} in {repo:?} is malformed; `git fsck` there may tell why")]
    BadCommit {
        /// Full hex id.
        id: String,
        /// The repository.
        repo: PathBuf,
    },
    /// A tag object does not parse.
    #[error("tag object {id} in {repo:?} is malformed; `git fsck` there may tell why")]
    BadTag {
        /// Full hex id.
        id: String,
        /// The repository.
        repo: PathBuf,
    },
    /// The commit-graph file is unreadable.
    #[error(
        "cannot read the commit-graph of {repo:?}; remove .git/objects/info/commit-graph* or rewrite it with `git commit-graph write`"
    )]
    CommitGraph {
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// `.git/shallow` is unreadable.
    #[error("cannot read the list of shallow commits (.git/shallow) of {repo:?}")]
    Shallow {
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// The tags could not be listed.
    #[error("cannot list the tags of {repo:?}")]
    Tags {
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// A pack, pack index or loose-object directory could not be read.
    #[error("cannot read {path:?} in {repo:?}; `git fsck` there may tell why")]
    Pack {
        /// The file or directory.
        path: PathBuf,
        /// The repository.
        repo: PathBuf,
        /// The I/O error.
        #[source]
        source: Source,
    },
    /// `git status` could not be computed.
    #[error("cannot compute the status of {repo:?}")]
    Status {
        /// The repository.
        repo: PathBuf,
        /// What gix said.
        #[source]
        source: Source,
    },
    /// A path asked for as a file is a directory (or submodule) in that commit.
    #[error("`{path}` is a directory or submodule in commit {commit} of {repo:?}, not a file")]
    NotAFile {
        /// The path as given.
        path: String,
        /// Full hex id of the commit.
        commit: String,
        /// The repository.
        repo: PathBuf,
    },
    /// `user.name` or `user.email` is not configured.
    #[error("`{key}` is not set for {repo:?}; set it with `git config --global {key} ...`")]
    MissingIdentity {
        /// `user.name` or `user.email`.
        key: &'static str,
        /// The repository.
        repo: PathBuf,
    },
    /// The repository's configuration cannot be written.
    #[error("cannot set `{key}` in {repo:?}")]
    SetConfig {
        /// The key.
        key: &'static str,
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// The configured identity is not usable in a commit.
    #[error("the configured user.name/user.email of {repo:?} cannot sign a commit")]
    Identity {
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// A path could not be staged.
    #[error("cannot stage `{path}` in {repo:?}")]
    Stage {
        /// The path as given.
        path: String,
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// A path to commit is a directory.
    #[error("`{path}` is a directory in {repo:?}; list the files to commit instead")]
    StageDirectory {
        /// The path as given.
        path: String,
        /// The repository.
        repo: PathBuf,
    },
    /// A path to commit exists neither on disk nor in the index.
    #[error("`{path}` is neither in the working tree nor in the index of {repo:?}; check the path")]
    PathNotFound {
        /// The path as given.
        path: String,
        /// The repository.
        repo: PathBuf,
    },
    /// The paths to commit are unchanged.
    #[error("nothing to commit in {repo:?}: {paths} already match HEAD")]
    NothingToCommit {
        /// The paths, comma-separated.
        paths: String,
        /// The repository.
        repo: PathBuf,
    },
    /// The commit could not be written or the branch not moved.
    #[error("cannot commit in {repo:?}")]
    Commit {
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// A tag could not be read or written.
    #[error("cannot write tag `{name}` in {repo:?}")]
    Tag {
        /// The tag.
        name: String,
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// The tag exists already; tags are never moved.
    #[error("tag `{name}` already exists in {repo:?} at {commit}; it is never overwritten")]
    TagExists {
        /// The tag.
        name: String,
        /// The commit it points at.
        commit: String,
        /// The repository.
        repo: PathBuf,
    },
    /// The signer refused.
    #[error("cannot sign tag `{name}`")]
    SignTag {
        /// The tag.
        name: String,
        /// What the signer said.
        #[source]
        source: Source,
    },
    /// A forced push was asked for.
    #[error("refusing to force-push `{refspec}`: lava-release never rewrites a remote")]
    ForcePush {
        /// The refspec.
        refspec: String,
    },
    /// A push failed as a whole.
    #[error("cannot push to {remote}")]
    Push {
        /// The remote's name or URL.
        remote: String,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// The remote refused some refs.
    #[error("{remote} rejected {rejected}; updated: {updated}")]
    PushRejected {
        /// The remote's name or URL.
        remote: String,
        /// The refs refused, with the remote's reasons.
        rejected: String,
        /// The refs that were updated anyway.
        updated: String,
    },
    /// The remote could not be listed.
    #[error("cannot list the refs of {remote}")]
    Remote {
        /// The remote's name or URL.
        remote: String,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// A fetch failed (a ref that would not fast-forward included).
    #[error("cannot fetch {refspecs} from {remote}")]
    Fetch {
        /// The remote's name, URL or path.
        remote: String,
        /// The refspecs, comma-separated.
        refspecs: String,
        /// What git said.
        #[source]
        source: Source,
    },
    /// A clone failed.
    #[error("cannot clone {url} into {dest:?}")]
    Clone {
        /// The URL.
        url: String,
        /// Where.
        dest: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// Ancestry of two commits could not be computed.
    #[error("cannot tell whether {ancestor} is an ancestor of {descendant} in {repo:?}")]
    Ancestry {
        /// The supposed ancestor.
        ancestor: String,
        /// The supposed descendant.
        descendant: String,
        /// The repository.
        repo: PathBuf,
        /// What libgit2 said.
        #[source]
        source: Source,
    },
    /// A directory could not be listed.
    #[error("cannot list {path:?}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be copied.
    #[error("cannot copy {from:?} to {to:?}")]
    Copy {
        /// The source.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
