use thiserror::Error;

/// Errors from parsing changelog text.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The first entry's header line is not `source (version) distribution; urgency=...`.
    #[error("line {line} is not a changelog entry header: `{text}`")]
    BadHeader {
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
