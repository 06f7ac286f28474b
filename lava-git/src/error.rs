use std::path::PathBuf;
use thiserror::Error;

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
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The repository has no working tree.
    #[error("{path:?} is a bare repository; lava-release needs a working tree")]
    Bare {
        /// The repository.
        path: PathBuf,
    },
    /// Placeholder while the crate is written.
    #[error("not yet written")]
    Pending,
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
