use std::path::PathBuf;

use thiserror::Error;

/// A boxed cause, for errors from crates whose error types we do not expose.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference does not parse.
    #[error("`{reference}` is not an image reference: {reason}")]
    Reference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A name template of the image set is unusable.
    #[error(
        "image template `{template}` {reason}; use the placeholders {{arch}}, {{image}} and {{version}}"
    )]
    Template {
        /// The template.
        template: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A digest is not `sha256:` followed by 64 lowercase hex digits.
    #[error("`{digest}` is not a sha256 digest")]
    Digest {
        /// The text given.
        digest: String,
    },

    /// The Docker client configuration cannot be read.
    #[error("cannot read Docker configuration {path:?}")]
    DockerConfigRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The Docker client configuration does not parse.
    #[error("Docker configuration {path:?} is not valid: {reason}")]
    DockerConfigParse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A credential helper failed.
    #[error("credential helper `docker-credential-{helper}` failed for {registry}: {reason}")]
    CredentialHelper {
        /// The helper's suffix, as in `credsStore`.
        helper: String,
        /// The registry asked for.
        registry: String,
        /// Its exit status or what it printed wrong (never the secret).
        reason: String,
    },

    /// The registry rejected the credentials.
    #[error(
        "{registry} rejected the password of user `{user}`; check the credentials for {registry} (docker login {registry})"
    )]
    BadCredentials {
        /// The registry host.
        registry: String,
        /// The user name.
        user: String,
    },

    /// The registry asked for credentials and none were given.
    #[error(
        "{registry} requires credentials for {what} and none are configured; run `docker login {registry}` or pass them in"
    )]
    NoCredentials {
        /// The registry host.
        registry: String,
        /// The operation.
        what: String,
    },

    /// The registry denied access although the credentials were accepted.
    #[error(
        "{registry} denied {what} to user `{user}`; check that this account may push to the repository"
    )]
    Denied {
        /// The registry host.
        registry: String,
        /// The operation.
        what: String,
        /// The user name.
        user: String,
    },

    /// The registry's authentication challenge cannot be understood.
    #[error(
        "{registry} sent an authentication challenge this client does not understand: `{challenge}`"
    )]
    Challenge {
        /// The registry host.
        registry: String,
        /// The `WWW-Authenticate` header value.
        challenge: String,
    },

    /// A request could not be made or its response not read, after the retries.
    #[error("{method} {url} failed after {attempts} attempt(s)")]
    Http {
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// The registry answered with an unexpected status.
    #[error("{method} {url} returned {status}: {body}")]
    Status {
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body (registry error JSON).
        body: String,
    },

    /// A manifest or blob the release needs is not in the registry.
    #[error("{what} not found at {url}; check that the CI pipeline pushed it")]
    NotFound {
        /// What was looked for.
        what: String,
        /// The URL.
        url: String,
    },

    /// A manifest cannot be used.
    #[error("manifest {reference} ({media_type}) cannot be used: {reason}")]
    Manifest {
        /// The manifest's reference.
        reference: String,
        /// Its media type.
        media_type: String,
        /// Why.
        reason: String,
    },

    /// Bytes read from a registry do not match their digest.
    #[error(
        "{what} from {url} has digest {actual} and {actual_size} bytes where {expected} of {expected_size} bytes was expected"
    )]
    DigestMismatch {
        /// What was read.
        what: String,
        /// Where from.
        url: String,
        /// The expected digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
        /// The expected size.
        expected_size: u64,
        /// The size of what arrived.
        actual_size: u64,
    },

    /// Reading a target back after the push found something else.
    #[error(
        "{target} should be {expected} after the push but reads back as {actual}; nothing later (such as `latest`) was moved"
    )]
    Verify {
        /// The target reference.
        target: String,
        /// What it should be.
        expected: String,
        /// What it is.
        actual: String,
    },

    /// The Docker Engine refused or failed an operation.
    #[error("Docker Engine at {socket} failed to {what}")]
    Engine {
        /// The engine's socket.
        socket: String,
        /// The operation.
        what: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// A layer could not be read as a tar archive.
    #[error("cannot read layer {url} as a tar archive: {reason}")]
    Layer {
        /// The layer's URL.
        url: String,
        /// What is wrong.
        reason: String,
    },

    /// The async runtime could not start.
    #[error("cannot start the I/O runtime")]
    Runtime(#[source] std::io::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
