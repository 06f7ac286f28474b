//! Fixtures and stand-ins shared by the end-to-end tests and `cargo xtask rehearse`.
//!
//! Everything here runs real tools (git, dpkg, gbp) in temporary directories; nothing
//! here is shipped in `lava-release` itself.

// Test fixtures and developer tasks read their environment freely; the ban is for the
// shipped crates, where only lava-release-cli's `Env` may.
#![allow(clippy::disallowed_methods)]

pub mod aptrepo;
pub mod bin;
pub mod githttp;
pub mod gitlab;
pub mod gitrepo;
pub mod gnupg;
pub mod http;
pub mod keys;
pub mod loopback;
pub mod meter;
pub mod packaging;
pub mod registry;
pub mod rehearsal;
pub mod rehearsal_debian;
pub mod rehearsal_repo;
pub mod sandbox;
pub mod smtp;
pub mod sshd;
pub mod tools;
