//! The release signer: a key from a file or from gpg-agent, and the signatures it makes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sequoia_openpgp::armor;
use sequoia_openpgp::cert::CertParser;
use sequoia_openpgp::crypto::{self, KeyPair};
use sequoia_openpgp::packet::signature::SignatureBuilder;
use sequoia_openpgp::parse::Parse;
use sequoia_openpgp::policy::StandardPolicy;
use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::serialize::stream::{Armorer, Message, Signer as StreamSigner};
use sequoia_openpgp::types::{HashAlgorithm, SignatureType};
use sequoia_openpgp::{Cert, Fingerprint};

use crate::agent::{self, AgentKey, AgentSigner};
use crate::csf;
use crate::error::{Error, Result, cause};
use crate::key::{KeySelector, signing_keys};
use crate::passphrase::PassphraseSource;
use crate::pinentry::PinentrySession;

/// Every signature uses SHA-512: sequoia's default, accepted by gpg, sqv and apt,
/// and fixed so the cleartext `Hash:` header is known before signing.
const HASH: HashAlgorithm = HashAlgorithm::SHA512;

/// Where the secret signing key lives.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A transferable secret key file (`gpg --export-secret-keys`, armored or
    /// binary), possibly holding several keys.
    File {
        /// The key file.
        path: PathBuf,
        /// How to unlock it if it is passphrase-protected.
        passphrase: PassphraseSource,
    },
    /// The user's gpg-agent, for a key kept in a GnuPG keyring or on a smartcard.
    GpgAgent {
        /// The GnuPG home; `None` lets gpg pick (`$GNUPGHOME` or `~/.gnupg`).
        homedir: Option<PathBuf>,
        /// With `None` the agent's own pinentry asks; otherwise the agent asks
        /// us (loopback pinentry) and we answer from this source.
        passphrase: PassphraseSource,
        /// Where the agent's pinentry appears (terminal, display, locale).
        session: PinentrySession,
    },
}

/// Signs with the release key.
///
/// The key is chosen when the signer is opened, at the signing time given
/// then: the named certificate must be valid under sequoia's `StandardPolicy`,
/// alive and not revoked, and it must have a signing-capable (sub)key that is
/// too. Every signature carries that time as its creation time.
pub struct Signer {
    /// The public certificate.
    cert: Cert,
    /// The fingerprint of the (sub)key that signs.
    signing_key: Fingerprint,
    time: SystemTime,
    backend: Backend,
}

// Other crates share one `Signer` across threads (e.g. signing several suites).
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Signer>();
};

enum Backend {
    File(KeyPair),
    Agent(AgentKey),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hand-written so the unlocked secret key can never be printed.
        f.debug_struct("Signer")
            .field("fingerprint", &self.cert.fingerprint())
            .field("signing_key", &self.signing_key)
            .field(
                "backend",
                &match self.backend {
                    Backend::File(_) => "file",
                    Backend::Agent(_) => "gpg-agent",
                },
            )
            .field("time", &self.time)
            .finish()
    }
}

impl Signer {
    /// Opens the key named by `key` from `source`, to sign at time `at`.
    pub fn open(source: &KeySource, key: &KeySelector, at: SystemTime) -> Result<Signer> {
        match source {
            KeySource::File { path, passphrase } => Self::from_key_file(path, key, passphrase, at),
            KeySource::GpgAgent {
                homedir,
                passphrase,
                session,
            } => Self::from_gpg_agent(
                homedir.as_deref(),
                key,
                passphrase.clone(),
                session.clone(),
                at,
            ),
        }
    }

    /// Reads and unlocks the key named by `key` from a secret key file.
    ///
    /// The passphrase is asked for (or read) here, once, so a wrong one stops
    /// the release before anything is signed.
    pub fn from_key_file(
        path: &Path,
        key: &KeySelector,
        passphrase: &PassphraseSource,
        at: SystemTime,
    ) -> Result<Signer> {
        let location = format!("secret key file {path:?}");
        let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
            what: "secret key file",
            path: path.to_owned(),
            source,
        })?;
        let parse_error = |e| Error::ParseKeys {
            what: location.clone(),
            source: cause(e),
        };
        let cert = CertParser::from_bytes(&bytes)
            .map_err(parse_error)?
            .collect::<sequoia_openpgp::Result<Vec<Cert>>>()
            .map_err(parse_error)?
            .into_iter()
            .find(|c| key.matches(c))
            .ok_or_else(|| Error::KeyNotFound {
                key: key.to_string(),
                location: location.clone(),
            })?;
        let fingerprint = cert.fingerprint();
        let policy = StandardPolicy::new();
        let ka = signing_keys(&cert, &policy, at, key)?
            .into_iter()
            .find(|ka| ka.key().has_secret())
            .ok_or_else(|| Error::SecretKeyMissing {
                fingerprint: fingerprint.clone(),
                location,
            })?;
        let mut secret = ka
            .key()
            .clone()
            .role_into_unspecified()
            .parts_into_secret()
            .expect("only keys with secret material were kept");
        if !secret.has_unencrypted_secret() {
            let passphrase =
                passphrase
                    .obtain(&fingerprint)?
                    .ok_or_else(|| Error::PassphraseRequired {
                        fingerprint: fingerprint.clone(),
                    })?;
            secret = secret.decrypt_secret(passphrase.password()).map_err(|_| {
                Error::WrongPassphrase {
                    fingerprint: fingerprint.clone(),
                }
            })?;
        }
        let keypair = secret.into_keypair().map_err(|e| Error::Sign {
            fingerprint: fingerprint.clone(),
            source: cause(e),
        })?;
        let signing_key = keypair.public().fingerprint();
        Ok(Signer {
            cert: cert.strip_secret_key_material(),
            signing_key,
            time: at,
            backend: Backend::File(keypair),
        })
    }

    /// Uses the key named by `key` whose secret part gpg-agent holds.
    ///
    /// The public certificate is read with `gpg --export` from `homedir`, the
    /// agent is started if needed (`gpgconf --launch gpg-agent`), and it must
    /// hold the secret for a usable signing (sub)key. The passphrase, if any, is
    /// only needed when the first signature is made. A key on a smartcard needs its
    /// card inserted now.
    pub fn from_gpg_agent(
        homedir: Option<&Path>,
        key: &KeySelector,
        passphrase: PassphraseSource,
        session: PinentrySession,
        at: SystemTime,
    ) -> Result<Signer> {
        let opened = agent::open(homedir, key, passphrase, session, at)?;
        Ok(Signer {
            signing_key: opened.key.public().fingerprint(),
            cert: opened.cert,
            time: at,
            backend: Backend::Agent(opened.key),
        })
    }

    /// The primary fingerprint of the signing certificate (the release key).
    pub fn fingerprint(&self) -> Fingerprint {
        self.cert.fingerprint()
    }

    /// The fingerprint of the (sub)key that makes the signatures.
    pub fn signing_key_fingerprint(&self) -> &Fingerprint {
        &self.signing_key
    }

    /// The creation time every signature gets.
    pub fn signing_time(&self) -> SystemTime {
        self.time
    }

    /// The public certificate, ASCII-armored (`gpg --armor --export`).
    pub fn export_public_armored(&self) -> Result<String> {
        let bytes = self.cert.armored().to_vec().map_err(|e| Error::Serialize {
            fingerprint: self.fingerprint(),
            source: cause(e),
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The public certificate in binary form, as `gpgv --keyring` wants it.
    pub fn export_public_binary(&self) -> Result<Vec<u8>> {
        self.cert.to_vec().map_err(|e| Error::Serialize {
            fingerprint: self.fingerprint(),
            source: cause(e),
        })
    }

    /// Makes an armored detached signature over `data`, like `gpg -a --detach-sign`
    /// (e.g. `Release.gpg`, or the signature in a signed git tag).
    pub fn sign_detached_armored(&self, data: &[u8]) -> Result<String> {
        let signature = self.sign(data, SignatureType::Binary)?;
        Ok(String::from_utf8_lossy(&signature).into_owned())
    }

    /// Makes a cleartext-signed message of `text`, like `gpg --clearsign`
    /// (e.g. `InRelease`, `.dsc`, `.changes`).
    ///
    /// The text is kept byte for byte and dash-escaped. If it does not end with
    /// a newline one is added, as gpg does: that last line ending is part of the
    /// framework, not of the signed text.
    pub fn sign_cleartext(&self, text: &[u8]) -> Result<Vec<u8>> {
        let signature = self.sign(&csf::signed_data(text), SignatureType::Text)?;
        let hash_name = HASH.text_name().map_err(|e| Error::Sign {
            fingerprint: self.fingerprint(),
            source: cause(e),
        })?;
        Ok(csf::frame(text, hash_name, &signature))
    }

    /// An armored detached signature of `kind` over `data`.
    fn sign(&self, data: &[u8], kind: SignatureType) -> Result<Vec<u8>> {
        match &self.backend {
            Backend::File(keypair) => self.sign_with(keypair.clone(), data, kind),
            Backend::Agent(key) => self.sign_with(AgentSigner(key), data, kind),
        }
    }

    fn sign_with<S>(&self, signer: S, data: &[u8], kind: SignatureType) -> Result<Vec<u8>>
    where
        S: crypto::Signer + Send + Sync,
    {
        let mut sink = Vec::new();
        let result = (|| -> sequoia_openpgp::Result<()> {
            let message = Armorer::new(Message::new(&mut sink))
                .kind(armor::Kind::Signature)
                .build()?;
            let mut message =
                StreamSigner::with_template(message, signer, SignatureBuilder::new(kind))?
                    .detached()
                    .hash_algo(HASH)?
                    .creation_time(self.time)
                    .build()?;
            message.write_all(data)?;
            message.finalize()?;
            Ok(())
        })();
        match result {
            Ok(()) => Ok(sink),
            // An error from the agent backend comes back wrapped; unwrap it so a
            // wrong passphrase is reported as such.
            Err(e) => Err(match e.downcast::<Error>() {
                Ok(ours) => ours,
                Err(e) => Error::Sign {
                    fingerprint: self.fingerprint(),
                    source: cause(e),
                },
            }),
        }
    }
}
