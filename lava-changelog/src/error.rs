use thiserror::Error;

/// Errors from parsing changelog text.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text has no entry at all (empty or only blank lines).
    #[error(
        "the changelog is empty: expected an entry header such as `lava (2024.01-1) unstable; urgency=medium`"
    )]
    Empty,
    /// The first entry's header line is not `source (version) distribution; urgency=...`.
    #[error(
        "line {line} is not a changelog entry header (`source (version) distribution; urgency=...`): `{text}`"
    )]
    BadHeader {
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// A `key=value` after the header's `;` is malformed.
    #[error("line {line}: bad key-value after `;`: `{option}`")]
    BadHeaderOption {
        /// 1-based line number of the header.
        line: usize,
        /// The offending option.
        option: String,
    },
    /// A line starting with ` --` is not ` -- Name <email>  date`.
    #[error("line {line} is not a changelog trailer (` -- Name <email>  date`): `{text}`")]
    BadTrailer {
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// The top entry ends (next header or end of file) without a trailer line.
    #[error(
        "the entry at line {line} has no trailer (` -- Name <email>  date`) before {}",
        match next {
            Some(next) => format!("the next entry at line {next}"),
            None => "the end of the file".to_owned(),
        }
    )]
    MissingTrailer {
        /// 1-based line number of the entry's header.
        line: usize,
        /// 1-based line number of the next entry's header, `None` at end of file.
        next: Option<usize>,
    },
}

/// Result with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
