//! What a verification finds wrong with a suite: a leaf, so that `error` can carry the
//! problems without importing the checks that find them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::algorithm::Algorithm;

/// One way a suite fails verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A listed file is absent.
    Missing {
        /// Path relative to the suite directory.
        path: String,
    },
    /// A listed file has another size.
    Size {
        /// Path relative to the suite directory.
        path: String,
        /// Listed size.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// A listed hash does not match.
    Hash {
        /// Path relative to the suite directory.
        path: String,
        /// Which hash.
        algorithm: Algorithm,
        /// Listed hash.
        expected: String,
        /// Hash computed.
        actual: String,
    },
    /// Neither `Suite` nor `Codename` names the suite's directory.
    Name {
        /// The directory under `dists/`.
        dir: String,
        /// `Suite`, if any.
        suite: Option<String>,
        /// `Codename`, if any.
        codename: Option<String>,
    },
    /// `Date` is later than now.
    DateInFuture {
        /// `Date`.
        date: OffsetDateTime,
        /// Now.
        now: OffsetDateTime,
    },
    /// `Valid-Until` has passed.
    Expired {
        /// `Valid-Until`.
        valid_until: OffsetDateTime,
        /// Now.
        now: OffsetDateTime,
    },
}

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { path } => write!(f, "{path} is listed but missing"),
            Problem::Size {
                path,
                expected,
                actual,
            } => write!(f, "{path}: size {expected} expected, {actual} found"),
            Problem::Hash {
                path,
                algorithm,
                expected,
                actual,
            } => write!(f, "{path}: {algorithm} {expected} expected, {actual} found"),
            Problem::Name {
                dir,
                suite,
                codename,
            } => write!(
                f,
                "Release says Suite {} and Codename {}, neither is the directory name {dir}",
                suite.as_deref().unwrap_or("(none)"),
                codename.as_deref().unwrap_or("(none)")
            ),
            Problem::DateInFuture { date, now } => write!(
                f,
                "Date {} is in the future (now {})",
                rfc3339(date),
                rfc3339(now)
            ),
            Problem::Expired { valid_until, now } => write!(
                f,
                "Valid-Until {} has passed (now {})",
                rfc3339(valid_until),
                rfc3339(now)
            ),
        }
    }
}
