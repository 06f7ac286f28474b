//! OpenPGP signatures for the LAVA release, made with the release key.
//!
//! A [`Signer`] holds the release key, from a secret key file or from the
//! user's gpg-agent (for keys in a GnuPG keyring or on a smartcard), and makes
//! armored detached signatures (`gpg -a --detach-sign`: `Release.gpg`, signed
//! git tags) and cleartext-signed messages (`gpg --clearsign`: `InRelease`,
//! `.dsc`, `.changes`). [`verify_detached`] and [`verify_cleartext`] check such
//! signatures against a [`Keyring`]. [`keygen`] makes throwaway keys for tests
//! and rehearsals.
//!
//! Keys and signatures are judged under sequoia's `StandardPolicy` at a time the
//! caller passes in. The crypto is sequoia's pure-Rust backend.
//!
//! This crate does not decide *what* to sign (repository metadata, tags and
//! Debian uploads belong to their crates), does not read environment variables
//! (the CLI passes a passphrase's value in), never prints secret material, and
//! runs no process except `gpg` and `gpgconf` for the gpg-agent backend.
#![warn(missing_docs)]

mod agent;
mod csf;
mod error;
mod key;
pub mod keygen;
mod passphrase;
mod pinentry;
mod signer;
mod verify;

pub use error::{Cause, Error, Result};
pub use key::KeySelector;
pub use passphrase::{Passphrase, PassphraseSource};
pub use pinentry::PinentrySession;
pub use sequoia_openpgp::Fingerprint;
pub use signer::{KeySource, Signer};
pub use verify::{Keyring, VerifiedText, verify_cleartext, verify_detached};
