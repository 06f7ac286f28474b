use std::path::PathBuf;

use thiserror::Error;

/// Errors of this crate. Each names the file it was replacing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// No temporary file could be made beside the target.
    #[error(
        "cannot create a temporary file beside {path:?}; check the permissions of its directory"
    )]
    CreateTemp {
        /// The file to be replaced.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The new content could not be written to the temporary file or flushed to disk.
    #[error("cannot write the new content of {path:?} to {temp:?}")]
    Write {
        /// The file to be replaced.
        path: PathBuf,
        /// The temporary file.
        temp: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The owner, group and mode to keep could not be read.
    #[error("cannot read the owner and mode of {path:?}")]
    Metadata {
        /// The file whose metadata was read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The replacement of a file could not be given the owner of the file it replaces.
    #[error(
        "cannot give {path:?} the owner {uid}:{gid} of the file it replaces; run as that user or as root"
    )]
    KeepOwner {
        /// The file to be replaced.
        path: PathBuf,
        /// The owner to keep.
        uid: u32,
        /// The group to keep.
        gid: u32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The replacement of a file could not be given the mode of the file it replaces.
    #[error("cannot give {path:?} the mode {mode:o} of the file it replaces")]
    KeepMode {
        /// The file to be replaced.
        path: PathBuf,
        /// The mode to keep.
        mode: u32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The temporary file could not be renamed over the target.
    #[error("cannot rename {temp:?} over {path:?}")]
    Rename {
        /// The file to be replaced.
        path: PathBuf,
        /// The temporary file.
        temp: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory could not be flushed to disk after the rename, so the new name may
    /// not survive a crash.
    #[error("cannot flush the directory {dir:?} after replacing {path:?}")]
    SyncDir {
        /// The directory.
        dir: PathBuf,
        /// The file replaced in it.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A partial file could not be removed.
    #[error("cannot remove the partial file {temp:?} of {path:?}")]
    Discard {
        /// The file that was to be replaced.
        path: PathBuf,
        /// The partial file.
        temp: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
