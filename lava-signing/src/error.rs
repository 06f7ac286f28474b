use std::path::PathBuf;

use sequoia_openpgp::Fingerprint;
use thiserror::Error;

/// The cause of an error raised by sequoia or another library, boxed because
/// sequoia reports `anyhow::Error`, which does not implement `std::error::Error`.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from loading a signing key, signing, verifying or generating keys.
///
/// No variant carries secret material: passphrases and secret key bytes never
/// reach an error message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured key id is neither a fingerprint nor a long key id.
    #[error(
        "`{input}` is not an OpenPGP fingerprint or long key id; give 40 hex digits \
         (or 16 for a long key id), spaces allowed"
    )]
    InvalidKeySelector {
        /// What was given.
        input: String,
    },

    /// A key file or keyring could not be read.
    #[error("could not read the {what} {path:?}; check the configured path")]
    ReadFile {
        /// `secret key file` or `keyring`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The key file or keyring is not OpenPGP data.
    #[error(
        "{what} is not an OpenPGP certificate or keyring; export it with `gpg --export` or `gpg --export-secret-keys`"
    )]
    ParseKeys {
        /// The file or data that failed to parse, e.g. `secret key file "/path"`.
        what: String,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// No certificate in the key file or GnuPG home has the requested key.
    #[error(
        "key {key} not found in {location}; check the configured key fingerprint or import the key"
    )]
    KeyNotFound {
        /// The requested fingerprint or key id.
        key: String,
        /// Where we looked, e.g. `secret key file "/path"`.
        location: String,
    },

    /// The certificate has no valid self-signature under the standard policy at the signing time.
    #[error(
        "key {fingerprint} is not valid under the standard policy at {time}; re-sign its user id with a modern hash or choose another key"
    )]
    KeyInvalid {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The time the key was checked at (RFC 3339).
        time: String,
        /// Why sequoia rejects it.
        #[source]
        source: Cause,
    },

    /// The certificate is expired at the signing time.
    #[error(
        "key {fingerprint} expired at {expired}; extend its expiry (`gpg --quick-set-expire`) and export it again"
    )]
    KeyExpired {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// When it expired (RFC 3339), or `an unknown time`.
        expired: String,
    },

    /// The certificate is revoked.
    #[error("key {fingerprint} is revoked; sign with the key that replaced it")]
    KeyRevoked {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
    },

    /// The certificate has no (sub)key that may sign at the signing time.
    #[error(
        "key {fingerprint} has no signing-capable subkey that is alive and not revoked at {time}; add a signing subkey (`gpg --quick-add-key FPR ed25519 sign`)"
    )]
    NoSigningKey {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The time the key was checked at (RFC 3339).
        time: String,
    },

    /// The key file holds the certificate but not the secret signing key.
    #[error(
        "{location} holds only the public part of key {fingerprint}; export it with `gpg --export-secret-keys`"
    )]
    SecretKeyMissing {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// Where we looked.
        location: String,
    },

    /// The secret key is passphrase-protected but no passphrase source is configured.
    #[error(
        "key {fingerprint} is passphrase-protected; configure a passphrase (environment variable, file or prompt)"
    )]
    PassphraseRequired {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
    },

    /// The passphrase does not unlock the secret key.
    #[error("wrong passphrase for key {fingerprint}; check the configured passphrase source")]
    WrongPassphrase {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
    },

    /// The passphrase file could not be read.
    #[error(
        "could not read the passphrase file {path:?} for key {fingerprint}; check the configured passphrase file"
    )]
    ReadPassphraseFile {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The passphrase file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Prompting on the terminal failed, e.g. because there is none.
    #[error(
        "could not read the passphrase for key {fingerprint} from the terminal; configure a passphrase environment variable or file instead"
    )]
    PassphrasePrompt {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A GnuPG program could not be started.
    #[error("could not run `{program}`; install the `gnupg` package")]
    SpawnTool {
        /// The program.
        program: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A GnuPG program failed.
    #[error("`{command}` failed with {status}: {stderr}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },

    /// Talking to gpg-agent failed at the I/O level.
    #[error(
        "could not talk to gpg-agent at {socket:?} for key {fingerprint}; check that the agent runs (`gpgconf --launch gpg-agent`)"
    )]
    AgentIo {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The agent's socket.
        socket: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// gpg-agent holds no secret key for any usable signing (sub)key.
    #[error(
        "gpg-agent for {location} has no secret key for {fingerprint}; import it with `gpg --import` or insert its smartcard"
    )]
    AgentNoSecretKey {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The GnuPG home.
        location: String,
    },

    /// The secret key is on a smartcard that is not inserted (or cannot be reached).
    #[error(
        "the secret part of key {fingerprint} is on OpenPGP card {serial}, which is not inserted: {why}"
    )]
    CardNotPresent {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The serial number of the card holding the key.
        serial: String,
        /// What the agent said, or which card is there instead.
        why: String,
    },

    /// gpg-agent refused a command.
    #[error("gpg-agent refused `{command}` for key {fingerprint}: {message} (code {code})")]
    AgentRefused {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// The Assuan command, without arguments.
        command: String,
        /// The libgpg-error code.
        code: u32,
        /// The agent's description.
        message: String,
    },

    /// gpg-agent answered something this client does not understand.
    #[error("gpg-agent sent an unexpected reply for key {fingerprint}: {detail}")]
    AgentProtocol {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// What was wrong.
        detail: String,
    },

    /// Creating the signature failed.
    #[error("signing with key {fingerprint} failed")]
    Sign {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// Serializing a certificate failed.
    #[error("could not serialize key {fingerprint}")]
    Serialize {
        /// The certificate's fingerprint.
        fingerprint: Fingerprint,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// A cleartext-signed message is not in the cleartext signature framework.
    #[error("malformed cleartext-signed message at line {line}: {reason}")]
    MalformedCleartext {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },

    /// The signature data is not an OpenPGP signature.
    #[error("the {what} is not a valid OpenPGP signature")]
    MalformedSignature {
        /// `detached signature` or `cleartext signature`.
        what: &'static str,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// No certificate in the keyring made the signature.
    #[error(
        "the {what} was made by {issuers}, which is not in the keyring; add the signer's certificate to the keyring"
    )]
    UnknownSigner {
        /// `detached signature` or `cleartext signature`.
        what: &'static str,
        /// The issuers named by the signatures, comma-separated.
        issuers: String,
    },

    /// The signature does not match the data.
    #[error(
        "BAD signature: the {what} by key {fingerprint} does not match the signed data; the data or the signature was altered"
    )]
    BadSignature {
        /// `detached signature` or `cleartext signature`.
        what: &'static str,
        /// The signer's certificate.
        fingerprint: Fingerprint,
    },

    /// The signer's key was not usable when it signed (expired, revoked, not signing-capable).
    #[error(
        "the {what} was made by key {fingerprint}, which was not valid for signing at the signature's time (expired, revoked or not signing-capable)"
    )]
    SignerKeyInvalid {
        /// `detached signature` or `cleartext signature`.
        what: &'static str,
        /// The signer's certificate.
        fingerprint: Fingerprint,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// Generating a key failed.
    #[error("could not generate an OpenPGP key for {userid}")]
    Generate {
        /// The user id of the key being generated.
        userid: String,
        /// What sequoia said.
        #[source]
        source: Cause,
    },

    /// Writing a key file failed.
    #[error("could not write {path:?}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns sequoia's `anyhow::Error` into a [`Cause`].
pub(crate) fn cause(error: impl Into<Cause>) -> Cause {
    error.into()
}
