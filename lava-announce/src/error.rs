use std::path::PathBuf;

use thiserror::Error;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from composing, writing, reading and sending the announcement.
///
/// No variant carries the SMTP password: messages name the server URL (without any
/// user information), the user name and the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An address is not an e-mail address.
    #[error("the {what} `{address}` is not an e-mail address")]
    Address {
        /// `sender` or `recipient`.
        what: &'static str,
        /// What was given.
        address: String,
        /// Why not.
        #[source]
        source: lettre::address::AddressError,
    },

    /// lettre could not build the message.
    #[error("cannot compose the announcement `{subject}`")]
    Compose {
        /// Its subject.
        subject: String,
        /// Why.
        #[source]
        source: lettre::error::Error,
    },

    /// Signing the message failed (a locked key, a wrong passphrase, the agent).
    #[error("cannot sign the announcement with the key {fingerprint}")]
    Sign {
        /// The signing certificate.
        fingerprint: String,
        /// Why.
        #[source]
        source: lava_signing::Error,
    },

    /// The server is not an `smtp://` or `smtps://` URL.
    #[error(
        "`{url}` is not an SMTP server; write smtp://HOST[:PORT] or smtps://HOST[:PORT] ({reason})"
    )]
    ServerUrl {
        /// What was given, user information removed.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A password would travel in clear text.
    #[error(
        "refusing to send the password for `{username}` to {server} without TLS; use STARTTLS or TLS"
    )]
    PlainAuth {
        /// The server.
        server: String,
        /// The user.
        username: String,
    },

    /// The CA certificate file cannot be read.
    #[error("cannot read the CA certificate file {path:?}")]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The CA certificate file holds no usable PEM certificate.
    #[error("the CA certificate file {path:?} holds no PEM certificate")]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// TLS cannot be set up (the system's TLS library refused the settings).
    #[error("cannot set up TLS for {server}")]
    Tls {
        /// The server.
        server: String,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// The server refused the user name and password.
    #[error(
        "the SMTP server {server} refused the login of `{username}`; check the user name and password"
    )]
    Auth {
        /// The server.
        server: String,
        /// The user.
        username: String,
        /// The server's answer.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// The TLS handshake with the server failed (an untrusted certificate, say).
    #[error(
        "no trusted TLS connection to the SMTP server {server}; check its certificate and the CA file"
    )]
    Handshake {
        /// The server.
        server: String,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// The server could not be reached or ended the session before a message.
    #[error("cannot open an SMTP session with {server} (connect, TLS, EHLO and AUTH)")]
    Connect {
        /// The server.
        server: String,
        /// Why.
        #[source]
        source: Option<lettre::transport::smtp::Error>,
    },

    /// The message's envelope cannot be made (no recipient).
    #[error("message {message_id} has no recipient")]
    Envelope {
        /// The message.
        message_id: String,
        /// Why.
        #[source]
        source: lettre::error::Error,
    },

    /// The server answered the message with an error.
    #[error("the SMTP server {server} refused message {message_id}")]
    Rejected {
        /// The server.
        server: String,
        /// The message.
        message_id: String,
        /// The server's answer.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// The server could not be reached, or the connection broke.
    #[error("cannot send message {message_id} through the SMTP server {server}")]
    Send {
        /// The server.
        server: String,
        /// The message.
        message_id: String,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },

    /// The directory of an `.eml` file cannot be created.
    #[error("cannot write the message to {path:?}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// An `.eml` file cannot be written in place (the error names it).
    #[error(transparent)]
    Replace(#[from] lava_io::Error),

    /// An `.eml` file cannot be read.
    #[error("cannot read the message {path:?}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// An `.eml` file has no `Message-ID` header.
    #[error("the message {path:?} has no Message-ID header")]
    NoMessageId {
        /// The file.
        path: PathBuf,
    },
}
