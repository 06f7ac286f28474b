//! Debian side of the release: the local dev build ([`dev_build`]); fetching a
//! released source package ([`dget`]) and checking it against its `.dsc` and the
//! release key; building the source-only `.changes` as `dpkg-genchanges -S` would;
//! signing `.dsc` and `.changes` as `debsign` does; and putting the upload in a
//! directory, an SFTP queue or the hands of `dput`. For the git-buildpackage flow: an
//! upstream tarball proven to be a tag ([`check_orig`]) and `gbp import-orig`.
//!
//! It does not choose keys or read configuration: the caller passes commands, URLs,
//! keyrings, signers and targets. Finding a `.dsc` in a repository's `Sources` index
//! is `lava_repo_sign::find_source`.
#![warn(missing_docs)]

mod changes;
mod checksum;
mod devbuild;
mod dget;
mod dsc;
mod error;
mod gbp;
mod orig;
mod sign;
pub mod tag2upload;
mod upload;

pub use changes::{
    ChangelogEntry, FileSums, OrigInclusion, SourceChangesInput, closes, parse_changelog,
    render_source_changes, write_source_changes,
};
pub use checksum::sha256_file;
pub use devbuild::{DevBuild, TAIL_LINES, dev_build, unpack};
pub use dget::{
    DOWNLOAD_PARTIAL, DgetReport, DgetRequest, ExpectedDsc, Fetched, dget, dget_with, download,
};
pub use dsc::{Dsc, DscFile, is_signed, parse_dsc, strip_cleartext};
pub use error::{Error, Result};
pub use gbp::{ImportOrig, import_orig};
pub use orig::{OrigMatch, check_archives, check_orig};
pub use sign::{DSC_SIGNED, SignedUpload, sign_upload, sign_upload_with, update_changes_checksums};
pub use upload::{
    UploadReport, UploadTarget, check_target, simulate, upload, upload_files, upload_preview,
};
