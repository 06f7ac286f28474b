//! The stages of a release, one file each. A stage is one type implementing
//! [`crate::step::Step`]: it holds its inputs, describes itself in one line, checks the
//! world read-only, and applies itself through one library crate. Stages never name the
//! plan; [`crate::plan::plan`] is the only place that lists them all.

pub mod announce;
pub mod apt_publish;
pub mod changelog;
pub mod ci_artifacts;
pub mod close_milestone;
pub mod consistency;
pub mod debian_build;
pub mod debian_changelog;
pub mod debian_push;
pub mod debian_sign;
pub mod debian_tag;
pub mod debian_tag2upload;
pub mod debian_upload;
pub mod dev_build;
pub mod docker_publish;
pub mod fork_ci;
pub mod fork_wait_ci;
pub mod import_orig;
pub mod lab_sync;
pub mod local_tag;
pub mod manifest;
pub mod milestone_check;
pub mod preflight;
pub mod push_branch;
pub mod push_tag;
pub mod release_notes;
pub mod repo_import;
pub mod repo_publish;
pub mod repo_sign;
pub mod signed_tag;
pub mod upstream_tarball;
pub mod wait_branch_ci;
pub mod wait_ci;
