//! Verifies, signs and publishes LAVA's reprepro apt repository.
//!
//! - `repo-import`: [`Tree::import`] runs `reprepro include` for each suite, skipping
//!   suites that already hold the version or a newer one.
//! - `repo-sign`: [`Tree::sign`] checks every index each suite's `Release` lists (size
//!   and MD5Sum/SHA1/SHA256/SHA512, one read per file, files hashed on every core),
//!   the Suite/Codename, `Date` and `Valid-Until`, and only then writes `InRelease` and
//!   `Release.gpg` through a temporary file and a rename, keeping owner, group and mode,
//!   and verifies them. Valid signatures are left alone, so a re-run after a crash
//!   only signs what is missing.
//! - `repo-publish`: [`Site::publish`] snapshots the signed tree to
//!   `archive/VERSION` and switches the live `release` symlink to it atomically;
//!   [`Site::rollback`] switches back.
//! - [`find_source`]: the `.dsc` of a released source package, found through the
//!   suite's signed `InRelease` and its `Sources` index, for `dget`.
//! - `repo verify`: [`Tree::verify`] (a path or `ssh://` URL) and [`verify_url`]
//!   (HTTP), read-only.
//!
//! Repositories may be local or `ssh://user@host[:port]/path`, reached with the
//! system's OpenSSH client: the key never leaves this machine, only Release files
//! and signatures travel, and the server hashes its indices itself (SHA256, and
//! SHA512 where listed).
//!
//! This crate does not build packages, does not hold or unlock keys (the caller
//! passes a [`lava_signing::Signer`] and a [`lava_signing::Keyring`]), does not read
//! the clock (every check takes `now`) or environment variables, and never deletes a
//! published tree.
#![warn(missing_docs)]

mod algorithm;
mod check;
mod digest;
mod error;
mod http;
mod import;
mod md5x4;
mod problem;
mod publish;
mod release;
mod sources;
mod store;
mod tree;

pub use algorithm::Algorithm;
pub use check::{FileDigest, check_files, check_metadata};
pub use digest::{digest_files, digest_sources};
pub use error::{Error, Result};
pub use http::{status_url, verify_url};
pub use import::{Changes, DscFile, ImportItem, parse_changes};
pub use problem::Problem;
pub use publish::{Layout, Live, Site, Switch};
pub use release::{Listed, ReleaseInfo, parse_date};
pub use sources::{
    Published, PublishedBinary, Signed, SourceLocation, SourceQuery, find_source, published,
};
pub use store::{Location, SshOptions, SshUrl};
pub use tree::{SignatureState, SuiteStatus, Tree, signature_state};
