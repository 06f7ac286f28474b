//! Passphrases and where they come from.

use std::fmt;
use std::path::PathBuf;

use sequoia_openpgp::Fingerprint;
use sequoia_openpgp::crypto::Password;

use crate::error::{Error, Result};

/// A passphrase, kept encrypted in memory by sequoia and never printed.
///
/// `Debug` shows `<redacted>`; there is deliberately no `Display`. sequoia's own
/// `Password` prints its content in debug builds, so it is not exposed.
#[derive(Clone)]
pub struct Passphrase(Password);

impl Passphrase {
    /// Wraps a passphrase given as text, e.g. the value of an environment variable.
    pub fn new(passphrase: impl Into<String>) -> Self {
        Passphrase(Password::from(passphrase.into()))
    }

    pub(crate) fn password(&self) -> &Password {
        &self.0
    }

    /// Calls `f` with the passphrase's bytes, decrypted only for the call.
    pub(crate) fn map<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        self.0.map(|p| f(p.as_ref()))
    }
}

impl From<String> for Passphrase {
    fn from(s: String) -> Self {
        Passphrase::new(s)
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase::new(s)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the passphrase for the signing key comes from.
///
/// The library never reads environment variables: the CLI reads the variable
/// named in the configuration and passes its value as [`PassphraseSource::Value`].
#[derive(Clone, Debug, Default)]
pub enum PassphraseSource {
    /// No passphrase: the key file is unprotected, or gpg-agent asks through its
    /// own pinentry (or has the passphrase cached, or the key is on a smartcard).
    #[default]
    None,
    /// The passphrase itself, e.g. read by the CLI from an environment variable.
    Value(Passphrase),
    /// A file whose first line is the passphrase (like `gpg --passphrase-file`).
    File(PathBuf),
    /// Ask on the controlling terminal, without echo, when the passphrase is needed.
    Prompt,
}

impl PassphraseSource {
    /// Whether a passphrase can be obtained at all.
    pub(crate) fn is_none(&self) -> bool {
        matches!(self, PassphraseSource::None)
    }

    /// Gets the passphrase for `fingerprint`; `Ok(None)` for [`PassphraseSource::None`].
    pub(crate) fn obtain(&self, fingerprint: &Fingerprint) -> Result<Option<Passphrase>> {
        match self {
            PassphraseSource::None => Ok(None),
            PassphraseSource::Value(p) => Ok(Some(p.clone())),
            PassphraseSource::File(path) => {
                let content = std::fs::read(path).map_err(|source| Error::ReadPassphraseFile {
                    fingerprint: fingerprint.clone(),
                    path: path.clone(),
                    source,
                })?;
                let line = first_line(&content);
                // `Password` encrypts its copy; the plaintext buffer is dropped here.
                Ok(Some(Passphrase(Password::from(line))))
            }
            PassphraseSource::Prompt => {
                let prompt = format!("Passphrase for OpenPGP key {fingerprint}: ");
                let typed = rpassword::prompt_password(prompt).map_err(|source| {
                    Error::PassphrasePrompt {
                        fingerprint: fingerprint.clone(),
                        source,
                    }
                })?;
                Ok(Some(Passphrase::new(typed)))
            }
        }
    }
}

/// The passphrase in a file: its first line, without the line ending, as gpg reads it.
fn first_line(content: &[u8]) -> &[u8] {
    let line = content.split(|&b| b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::new("hunter2");
        assert_eq!(format!("{p:?}"), "<redacted>");
        let source = PassphraseSource::Value(p);
        assert_eq!(format!("{source:?}"), "Value(<redacted>)");
        assert!(!format!("{source:#?}").contains("hunter2"));
    }

    #[test]
    fn passphrase_file_is_its_first_line() {
        assert_eq!(first_line(b"s3cret\n"), b"s3cret");
        assert_eq!(first_line(b"s3cret\r\nignored\n"), b"s3cret");
        assert_eq!(first_line(b"no newline"), b"no newline");
        assert_eq!(first_line(b""), b"");
    }

    #[test]
    fn map_sees_the_passphrase() {
        let p = Passphrase::new("hunter2");
        assert!(p.map(|b| b == b"hunter2"));
    }
}
