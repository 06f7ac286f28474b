//! The error kinds the binary maps to exit statuses.

/// A mistake in how lava-release was called or configured (a bad version, an unknown
/// stage, a missing setting): the binary exits with status 2 and changes nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
