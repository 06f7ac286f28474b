use thiserror::Error;

/// Errors from parsing changelog text: only what `dpkg-parsechangelog` cannot read
/// either, and edits that changed what is not the editor's to change.
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
    /// An edited entry's header no longer carries the version it was written for.
    #[error(
        "the edited entry is for version {found}, not {expected}; the version is lava-release's to choose"
    )]
    EditedVersion {
        /// The version the entry was written for.
        expected: String,
        /// The version its header now says.
        found: String,
    },
    /// An edited entry lost its trailer line.
    #[error("the edited {version} entry has no trailer line (` -- Name <email>  date`)")]
    EditedTrailer {
        /// The entry's version.
        version: String,
    },
}

/// Result with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
