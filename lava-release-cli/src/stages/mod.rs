//! The stages of a release, one module each. A stage holds its inputs, describes itself in
//! one line, checks the world read-only, and applies itself through one library crate.

pub mod announce;
pub mod changelog;
pub mod debian;
pub mod docker;
pub mod gate;
pub mod git;
pub mod gitlab;
pub mod preflight;
pub mod repo;

/// A commit or object id shortened for evidence and messages.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
