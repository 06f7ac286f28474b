//! OpenPGP signatures for the LAVA release: detached and cleartext signing with the
//! release key, and verification.
#![warn(missing_docs)]
