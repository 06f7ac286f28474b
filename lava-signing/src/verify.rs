//! Verifying detached and cleartext signatures against a keyring.

use std::path::Path;
use std::time::SystemTime;

use sequoia_openpgp::cert::CertParser;
use sequoia_openpgp::parse::Parse;
use sequoia_openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
};
use sequoia_openpgp::policy::StandardPolicy;
use sequoia_openpgp::{Cert, Fingerprint, KeyHandle};

use crate::csf;
use crate::error::{Cause, Error, Result, cause};

/// Certificates to verify signatures against, like `gpgv --keyring` or `sqv --keyring`.
#[derive(Clone)]
pub struct Keyring {
    certs: Vec<Cert>,
    time: Option<SystemTime>,
}

impl Keyring {
    /// Reads certificates from OpenPGP data, armored or binary, one or several.
    pub fn from_bytes(bytes: &[u8]) -> Result<Keyring> {
        Self::parse(bytes, "keyring data".to_owned())
    }

    /// Reads certificates from a keyring file, armored or binary, one or several.
    pub fn from_file(path: &Path) -> Result<Keyring> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
            what: "keyring",
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&bytes, format!("keyring {path:?}"))
    }

    /// A keyring holding `certs`; secret key material in them is ignored.
    pub fn from_certs(certs: impl IntoIterator<Item = Cert>) -> Keyring {
        Keyring {
            certs: certs.into_iter().collect(),
            time: None,
        }
    }

    fn parse(bytes: &[u8], what: String) -> Result<Keyring> {
        let parse_error = |source: Cause| Error::ParseKeys {
            what: what.clone(),
            source,
        };
        let parser = CertParser::from_bytes(bytes).map_err(|e| parse_error(cause(e)))?;
        let certs = parser
            .collect::<sequoia_openpgp::Result<Vec<Cert>>>()
            .map_err(|e| parse_error(cause(e)))?;
        if certs.is_empty() {
            return Err(parse_error("it holds no certificate".into()));
        }
        Ok(Keyring { certs, time: None })
    }

    /// Verifies as of `time` instead of the current time: signatures made after it are
    /// refused, and key validity is judged under the policy as it applies at `time`.
    pub fn at(mut self, time: SystemTime) -> Keyring {
        self.time = Some(time);
        self
    }

    /// The primary fingerprints of the certificates, in file order.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.certs.iter().map(Cert::fingerprint).collect()
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("certs", &self.fingerprints())
            .field("time", &self.time)
            .finish()
    }
}

/// The text of a verified cleartext-signed message and who signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedText {
    /// The primary fingerprint of the certificate whose key made the signature.
    pub signer: Fingerprint,
    /// The dash-unescaped text with its line endings as in the message, including
    /// the last line's, but without trailing spaces and tabs on its lines: the
    /// signature does not cover those, so (like `gpg --output`) they are dropped.
    ///
    /// The last line ending is not covered either (RFC 9580 assigns it to the
    /// framework) but carries no content.
    pub text: Vec<u8>,
}

/// Verifies a detached signature (armored or binary) over `data`, as
/// `gpgv --keyring K SIG DATA` does, and returns the signer's primary fingerprint.
///
/// Key validity is judged under sequoia's `StandardPolicy`. One good signature
/// by a certificate in `keyring` suffices.
pub fn verify_detached(data: &[u8], signature: &[u8], keyring: &Keyring) -> Result<Fingerprint> {
    verify(data, signature, keyring, "detached signature")
}

/// Verifies a cleartext-signed message (as made by `gpg --clearsign`, e.g. an
/// InRelease file) and returns the signer and the signed text.
pub fn verify_cleartext(message: &[u8], keyring: &Keyring) -> Result<VerifiedText> {
    let parts = csf::split(message)?;
    let signer = verify(
        &csf::signed_data(&parts.text),
        &parts.signature,
        keyring,
        "cleartext signature",
    )?;
    Ok(VerifiedText {
        signer,
        text: csf::without_trailing_whitespace(&parts.text),
    })
}

fn verify(
    data: &[u8],
    signature: &[u8],
    keyring: &Keyring,
    what: &'static str,
) -> Result<Fingerprint> {
    let policy = StandardPolicy::new();
    let malformed = |e: sequoia_openpgp::Error| Error::MalformedSignature {
        what,
        source: cause(e),
    };
    let helper = Helper {
        certs: &keyring.certs,
        good: None,
        failures: Vec::new(),
    };
    let mut verifier = DetachedVerifierBuilder::from_bytes(signature)
        .and_then(|b| b.with_policy(&policy, keyring.time, helper))
        .map_err(|e| Error::MalformedSignature {
            what,
            source: cause(e),
        })?;
    let outcome = verifier.verify_bytes(data);
    let helper = verifier.into_helper();
    if let Some(fingerprint) = helper.good {
        return Ok(fingerprint);
    }
    // Report the most telling failure: a signature by a known key that does not
    // match beats one by a key that was unusable, which beats an unknown signer.
    let mut failures = helper.failures;
    failures.sort_by_key(Failure::rank);
    match failures.into_iter().next() {
        Some(Failure::Bad(fingerprint)) => Err(Error::BadSignature { what, fingerprint }),
        Some(Failure::KeyInvalid(fingerprint, source)) => Err(Error::SignerKeyInvalid {
            what,
            fingerprint,
            source,
        }),
        Some(Failure::Unknown(issuers)) => Err(Error::UnknownSigner {
            what,
            issuers: if issuers.is_empty() {
                "an unnamed key".to_owned()
            } else {
                issuers
                    .iter()
                    .map(|h| format!("{h:X}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
        Some(Failure::Malformed(source)) => Err(Error::MalformedSignature { what, source }),
        None => Err(match outcome {
            Err(e) => Error::MalformedSignature {
                what,
                source: cause(e),
            },
            Ok(()) => malformed(sequoia_openpgp::Error::InvalidOperation(
                "it holds no signature".into(),
            )),
        }),
    }
}

enum Failure {
    Bad(Fingerprint),
    KeyInvalid(Fingerprint, Cause),
    Unknown(Vec<KeyHandle>),
    Malformed(Cause),
}

impl Failure {
    fn rank(&self) -> u8 {
        match self {
            Failure::Bad(_) => 0,
            Failure::KeyInvalid(..) => 1,
            Failure::Unknown(_) => 2,
            Failure::Malformed(_) => 3,
        }
    }
}

struct Helper<'a> {
    certs: &'a [Cert],
    good: Option<Fingerprint>,
    failures: Vec<Failure>,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> sequoia_openpgp::Result<Vec<Cert>> {
        // sequoia matches issuers itself; handing it every cert also lets it
        // tell "unknown signer" apart from "known signer, unusable key".
        Ok(self.certs.to_vec())
    }

    fn check(&mut self, structure: MessageStructure<'_>) -> sequoia_openpgp::Result<()> {
        for layer in structure {
            let MessageLayer::SignatureGroup { results } = layer else {
                continue;
            };
            for result in results {
                match result {
                    Ok(good) => {
                        if self.good.is_none() {
                            self.good = Some(good.ka.cert().fingerprint());
                        }
                    }
                    Err(VerificationError::MissingKey { sig }) => {
                        // A signature names its issuer by fingerprint and by key id;
                        // the key id adds nothing when the fingerprint is there.
                        let issuers = sig.get_issuers();
                        let mut named: Vec<KeyHandle> = issuers
                            .iter()
                            .filter(|h| matches!(h, KeyHandle::Fingerprint(_)))
                            .cloned()
                            .collect();
                        for h in issuers {
                            if !named.iter().any(|n| n.aliases(&h)) {
                                named.push(h);
                            }
                        }
                        self.failures.push(Failure::Unknown(named));
                    }
                    Err(VerificationError::UnboundKey { cert, error, .. }) => self
                        .failures
                        .push(Failure::KeyInvalid(cert.fingerprint(), cause(error))),
                    Err(VerificationError::BadKey { ka, error, .. }) => self
                        .failures
                        .push(Failure::KeyInvalid(ka.cert().fingerprint(), cause(error))),
                    Err(VerificationError::BadSignature { ka, .. }) => {
                        self.failures.push(Failure::Bad(ka.cert().fingerprint()));
                    }
                    Err(VerificationError::MalformedSignature { error, .. }) => {
                        self.failures.push(Failure::Malformed(cause(error)));
                    }
                    Err(other) => {
                        self.failures
                            .push(Failure::Malformed(other.to_string().into()));
                    }
                }
            }
        }
        if self.good.is_some() {
            Ok(())
        } else {
            Err(sequoia_openpgp::Error::BadSignature("no valid signature".into()).into())
        }
    }
}
