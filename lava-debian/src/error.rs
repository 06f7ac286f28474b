use std::path::PathBuf;

use thiserror::Error;

/// Errors of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An HTTP request could not be made or its body not read.
    #[error("could not fetch `{file}` from {url}; check the URL and that the server is reachable")]
    Http {
        /// The file being fetched.
        file: String,
        /// The URL.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with an unexpected status.
    #[error(
        "fetching `{file}` from {url} returned HTTP {status}; check that the file is published"
    )]
    HttpStatus {
        /// The file being fetched.
        file: String,
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },

    /// A URL could not be parsed or joined.
    #[error("`{url}` is not a usable URL for `{file}`")]
    BadUrl {
        /// The file the URL is for.
        file: String,
        /// The URL text.
        url: String,
    },

    /// A local file could not be read or written.
    #[error("could not {action} {path:?}")]
    File {
        /// What was being done (`read`, `write`, `create`...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file could not be replaced atomically (the error names it).
    #[error(transparent)]
    Replace(#[from] lava_io::Error),

    /// A `.dsc` or `.changes` could not be understood.
    #[error("`{file}` is not a valid Debian control file: {reason}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file listed in a `.dsc` has a name that could escape the download directory.
    #[error("`{dsc}` lists the unsafe file name `{name}`; refusing to write it")]
    UnsafeName {
        /// The `.dsc`.
        dsc: String,
        /// The listed name.
        name: String,
    },

    /// The `.dsc` carries no OpenPGP signature.
    #[error("`{dsc}` is not signed; fetch a signed .dsc or allow unsigned sources explicitly")]
    Unsigned {
        /// The `.dsc`.
        dsc: String,
    },

    /// The `.dsc` is signed but no keyring was given to check it.
    #[error("`{dsc}` is signed but no keyring was given to verify it; configure the expected key")]
    NoKeyring {
        /// The `.dsc`.
        dsc: String,
    },

    /// The signature does not verify against the expected keyring.
    #[error("the signature of `{dsc}` does not verify against the expected keyring")]
    BadSignature {
        /// The `.dsc`.
        dsc: String,
        /// Why verification failed.
        #[source]
        source: lava_signing::Error,
    },

    /// A downloaded file has the wrong size.
    #[error(
        "`{file}` has {actual} bytes but the .dsc says {expected}; the download or the mirror is corrupt"
    )]
    SizeMismatch {
        /// The file.
        file: String,
        /// The size the `.dsc` lists.
        expected: u64,
        /// The size found.
        actual: u64,
    },

    /// A downloaded file has the wrong checksum.
    #[error(
        "`{file}` has SHA256 {actual} but the .dsc says {expected}; the file was altered or corrupted"
    )]
    ChecksumMismatch {
        /// The file.
        file: String,
        /// The checksum the `.dsc` lists.
        expected: String,
        /// The checksum found.
        actual: String,
    },

    /// A fetched `.dsc` is not the one the repository's signed index lists.
    #[error(
        "`{file}` does not match what {index} lists ({reason}); the repository is inconsistent"
    )]
    IndexMismatch {
        /// The file.
        file: String,
        /// The index.
        index: String,
        /// What differs.
        reason: String,
    },

    /// Signing failed.
    #[error("could not sign `{file}`")]
    Sign {
        /// The file being signed.
        file: String,
        /// The signer's error.
        #[source]
        source: lava_signing::Error,
    },

    /// A program could not be started or fed.
    #[error("could not run `{program}` for {target}; install {package}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
        /// The upload target.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The upload target is not there: a directory that does not exist, a dput profile
    /// dput does not know.
    #[error("{target} {reason}")]
    NoTarget {
        /// The upload target.
        target: String,
        /// What is missing, and the way out.
        reason: String,
    },

    /// An `sftp` batch failed.
    #[error(
        "`sftp` to {target} failed with {status}: {stderr}; check the host, key and remote directory"
    )]
    Sftp {
        /// The upload target.
        target: String,
        /// The exit status.
        status: String,
        /// The last line sftp printed on stderr.
        stderr: String,
    },

    /// A Debian tool (`dpkg-source`, `dput`) failed.
    #[error("`{program}` failed on {what} with {status}: {stderr}")]
    Tool {
        /// The program.
        program: &'static str,
        /// The file it worked on.
        what: String,
        /// The exit status.
        status: String,
        /// The last lines it printed on stderr.
        stderr: String,
    },

    /// A build command (the dev build, `gbp buildpackage`) failed.
    #[error("the build `{command}` failed with {status}; the last lines of {log:?}:\n{tail}")]
    Build {
        /// The command, as configured.
        command: String,
        /// Its exit status.
        status: String,
        /// The full log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },

    /// An upstream tarball does not hold what the tag does.
    #[error("{orig:?} is not the tarball of {reference}: `{path}` {why}")]
    OrigDiffers {
        /// The tarball.
        orig: PathBuf,
        /// The tag (or commit) it was compared with.
        reference: String,
        /// The first path, in sorted order, where they differ.
        path: String,
        /// How.
        why: String,
    },

    /// A worker thread panicked.
    #[error("a download thread for `{dsc}` panicked")]
    Panicked {
        /// The `.dsc`.
        dsc: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
