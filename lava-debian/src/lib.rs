//! Debian side of the release: fetching a released source package (`dget`) and
//! checking it against its `.dsc` and the release key; building the source-only
//! `.changes` as `dpkg-genchanges -S` would; signing `.dsc` and `.changes` as
//! `debsign` does; and putting the upload in a directory or an SFTP queue.
//!
//! It does not build packages (no dev build yet), run `dput`, choose keys or read
//! configuration: the caller passes URLs, keyrings, signers and targets.
#![warn(missing_docs)]

mod changes;
mod dget;
mod dsc;
mod error;
mod sign;
mod upload;

pub use changes::{
    ChangelogEntry, FileSums, OrigInclusion, SourceChangesInput, closes, parse_changelog,
    render_source_changes, write_source_changes,
};
pub use dget::{DgetReport, DgetRequest, Fetched, dget, sha256_file};
pub use dsc::{Dsc, DscFile, is_signed, parse_dsc};
pub use error::{Error, Result};
pub use sign::{SignedUpload, sign_upload, strip_cleartext, update_changes_checksums};
pub use upload::{UploadReport, UploadTarget, upload, upload_files};
