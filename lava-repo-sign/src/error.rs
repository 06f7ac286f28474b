use std::path::PathBuf;

use thiserror::Error;

use crate::problem::Problem;

/// Errors of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A local file or directory could not be read.
    #[error("cannot read {path:?}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local file, symlink or directory could not be written.
    #[error("cannot write {path:?}; check the permissions of its directory")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be replaced atomically, or not given the owner, group and
    /// mode of the file it replaces (the error names it).
    #[error(transparent)]
    Replace(#[from] lava_io::Error),
    /// A Release file is not a valid deb822 paragraph of the expected shape.
    #[error("{location} is not a valid Release file: {reason}")]
    ParseRelease {
        /// Where the Release file is.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The repository has no suite to sign or verify.
    #[error("{location} has no suite (no dists/*/Release); run repo-import first")]
    NoSuites {
        /// The repository.
        location: String,
    },
    /// A suite's Release file is missing.
    #[error("{location} has no Release file; run `reprepro export` for this suite")]
    MissingRelease {
        /// Where the Release file should be.
        location: String,
    },
    /// What a suite's Release file describes does not match what is on disk, or its
    /// metadata is wrong; nothing was signed.
    #[error("{}", problems_message(.suite, .location, .problems))]
    Tampered {
        /// The suite.
        suite: String,
        /// The suite directory.
        location: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A read-only verification found indices that do not match their `Release`.
    #[error("suite {suite} at {location} does not match its Release: {}", list(.problems))]
    Inconsistent {
        /// The suite.
        suite: String,
        /// The suite directory or URL.
        location: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A suite's signatures are missing, stale or do not verify.
    #[error("{location}: {reason}")]
    BadSignature {
        /// The signature file.
        location: String,
        /// What is wrong.
        reason: String,
        /// The verifier's error, if it was one.
        #[source]
        source: Option<Box<lava_signing::Error>>,
    },
    /// Signing a Release file failed.
    #[error("cannot sign {location} with the release key")]
    Sign {
        /// The Release file.
        location: String,
        /// Why.
        #[source]
        source: Box<lava_signing::Error>,
    },
    /// A repository location is neither a path nor an `ssh://user@host[:port]/path` URL.
    #[error(
        "`{url}` is not a repository location: {reason}; use a path or ssh://user@host[:port]/path"
    )]
    BadLocation {
        /// The location as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A program could not be started.
    #[error("cannot run `{program}`; install it (Debian package {package})")]
    Spawn {
        /// The program.
        program: String,
        /// The Debian package providing it.
        package: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A command run through SSH failed.
    #[error("`{command}` on {host} failed ({status}): {stderr}")]
    Remote {
        /// `user@host:port`.
        host: String,
        /// What was run (a short description, not the whole script).
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// The SSH output could not be understood.
    #[error("unexpected output from `{command}` on {host}: {reason}")]
    RemoteOutput {
        /// `user@host:port`.
        host: String,
        /// What was run.
        command: String,
        /// What is wrong.
        reason: String,
    },
    /// `reprepro` failed.
    #[error("`reprepro {args}` in {base} failed ({status}): {stderr}")]
    Reprepro {
        /// The repository base directory.
        base: String,
        /// Its arguments.
        args: String,
        /// Exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// A `.changes` file could not be used.
    #[error("{path:?} is not a usable .changes file: {reason}")]
    Changes {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The `.dsc` an upload lists could not be read.
    #[error("{path:?} is not a usable .dsc file: {reason}")]
    Dsc {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No `.changes` file was found for a suite.
    #[error("no .changes file for suite {suite} in {dir:?}; build the packages first")]
    NoChanges {
        /// The suite.
        suite: String,
        /// The directory searched.
        dir: PathBuf,
    },
    /// The site cannot be written: a directory missing, or not the login's to write.
    #[error("{problem} on {host}; the repository cannot be published there")]
    NotWritable {
        /// The directory and what is wrong with it.
        problem: String,
        /// `user@host:port`, or "this machine".
        host: String,
    },
    /// Publishing or rolling back was refused.
    #[error("{location}: {reason}")]
    Publish {
        /// The tree or symlink concerned.
        location: String,
        /// Why, and what to do.
        reason: String,
    },
    /// An HTTP request failed.
    #[error("cannot fetch {url}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A `Sources` index could not be used to find a source package.
    #[error("cannot find the source package through {url}: {reason}")]
    SourceIndex {
        /// The index, or the Release that should list it.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An HTTP server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn problems_message(suite: &str, location: &str, problems: &[Problem]) -> String {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!(
        "refusing to sign suite {suite} at {location}, nothing was signed: {}; re-export the suite with reprepro and find out what changed the files",
        list.join("; ")
    )
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
