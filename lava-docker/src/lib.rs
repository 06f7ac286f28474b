//! Promotes LAVA's per-arch container images to Docker Hub with multi-arch manifest lists.
//!
//! What `share/release/docker-push.sh` and the publish step of `share/release.py` did,
//! without a local manifest cache or pulls to the local disk: [`ImagesConfig`] names the
//! images (LAVA's set by default), [`Promoter::check`] observes every target tag and says
//! which would move (read-only, for `lava-release plan`), and [`Promoter::apply`] copies
//! blobs registry to registry (skipping what the target has, mounting within a registry,
//! streaming the rest with its digest checked, several at once), pushes the exact
//! manifest bytes by digest and then by tag, builds each manifest list from the per-arch
//! manifests with the platform read from each image's config, reads every target back,
//! and moves `latest` last. Docker v2 schema 2 and OCI media types both work, and
//! digests are preserved. [`Transport::Engine`] routes the per-arch images through a
//! Docker Engine instead.
//!
//! Authentication is Docker Hub's: the `WWW-Authenticate` challenge, a bearer token per
//! scope from the token endpoint, or plain basic auth, with credentials from
//! `~/.docker/config.json` (`auths`, credential helpers) or passed in.
//!
//! It does not build images, read environment variables (the caller passes credentials
//! and paths in), print anything, or delete tags; it never moves a tag it has not just
//! verified the version tags for.
#![warn(missing_docs)]

mod auth;
mod client;
mod config;
mod engine;
mod error;
mod layers;
pub mod manifest;
mod promote;
mod reference;

pub use auth::{CredentialStore, Credentials};
pub use config::{ArchImage, ImageGroup, ImageSet, ImagesConfig, oci_architecture};
pub use error::{BoxError, Error, Result};
pub use lava_io::retry::RetryPolicy;
pub use layers::LayerFile;
pub use promote::{
    Options, Promoter, Promotion, Published, Report, SourceImage, TagState, TargetKind, TargetTag,
    Transport, Verified,
};
pub use reference::{DOCKER_HUB, Digest, ImageRef, Repository};
