//! GitLab API v4 for the release: wait for CI pipelines, check and close the version's
//! milestone, create or update the release notes and the links to their assets (files
//! in the generic package registry), fetch and verify Debian build artifacts, and prune
//! container-registry tags.
//!
//! Every operation comes as a read-only check ("is it done already?", with evidence such
//! as a pipeline or release URL) and an apply, for `lava-release`'s stages. Requests go
//! through the `gitlab` crate's endpoints and this crate's [`GitLab`] client, which
//! retries 429 (honouring `Retry-After`), 5xx and dropped connections with bounded
//! backoff and jitter, follows pagination to the end, and turns 401/403/404 into
//! sentences naming the call and what is missing.
//!
//! It does not read the environment or files for the token (the caller passes a
//! [`Token`]), render release notes (the caller passes the text), draw progress (it calls
//! a [`Progress`]), or sign or import packages (`lava-repo-sign`, `lava-debian` do).
#![warn(missing_docs)]

mod access;
mod archive;
mod artifacts;
mod assets;
mod ci;
mod client;
mod endpoints;
mod error;
mod milestone;
mod pipeline;
mod poll;
mod registry;
mod release;

pub use access::{Access, DEVELOPER};
pub use artifacts::{ArtifactsReport, ChangesArtifacts, extract_changes};
pub use assets::ReleaseLink;
pub use ci::{Bridge, CiOutcome, CiTarget, FailedJob, Job, JobCounts, JobPipeline, Pipeline};
pub use client::{Config, GitLab, Project, Token};
pub use error::{Error, Result};
pub use lava_io::retry::RetryPolicy;
pub use milestone::{Milestone, MilestoneReport, OpenItem};
pub use pipeline::{CiSnapshot, PlainLines, Progress, WaitCi, describe};
pub use poll::PollPolicy;
pub use registry::{PruneCandidate, PruneReport, PruneRequest, RegistryRepository, RegistryTag};
pub use release::{
    Release, ReleaseAction, ReleaseAssets, ReleaseLinks, ReleaseNotes, ReleaseState,
};

/// The `gitlab` crate, for callers that query other endpoints through [`GitLab`].
pub use gitlab;
