//! Generating keys for tests and release rehearsals.
//!
//! Real release keys are made and kept by people, with GnuPG; this exists so
//! tests and `cargo xtask rehearse` can make throwaway keys with pinned dates,
//! including broken ones (expired, revoked, encryption-only) to check refusals.
//! It runs no process: to put a key into a GnuPG home, write it with
//! [`GeneratedKey::write_secret_key`] and run `gpg --homedir H --batch --import FILE`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use sequoia_openpgp::cert::{CertBuilder, CipherSuite};
use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::types::KeyFlags;
use sequoia_openpgp::{Cert, Fingerprint, Profile};

use crate::error::{Cause, Error, Result, cause};
use crate::passphrase::Passphrase;
use crate::verify::Keyring;

/// What key to generate. Built with [`KeySpec::new`] and the setters.
#[derive(Clone, Debug)]
pub struct KeySpec {
    name: String,
    email: String,
    created: SystemTime,
    expires_after: Option<Duration>,
    signing_subkey: bool,
    encryption_only: bool,
    revoked: bool,
    passphrase: Option<Passphrase>,
}

impl KeySpec {
    /// An Ed25519 v4 key (what GnuPG 2.2 and sqv read) for `Name <email>`, created
    /// at `created`, that never expires and signs with a subkey.
    pub fn new(name: impl Into<String>, email: impl Into<String>, created: SystemTime) -> Self {
        KeySpec {
            name: name.into(),
            email: email.into(),
            created,
            expires_after: None,
            signing_subkey: true,
            encryption_only: false,
            revoked: false,
            passphrase: None,
        }
    }

    /// Makes the key expire this long after its creation.
    pub fn expires_after(mut self, validity: Duration) -> Self {
        self.expires_after = Some(validity);
        self
    }

    /// With `false`, the primary key signs itself and there is no signing subkey.
    pub fn signing_subkey(mut self, yes: bool) -> Self {
        self.signing_subkey = yes;
        self
    }

    /// Gives the key only an encryption subkey, so nothing in it can sign.
    pub fn encryption_only(mut self) -> Self {
        self.encryption_only = true;
        self
    }

    /// Adds a revocation of the whole certificate.
    pub fn revoked(mut self) -> Self {
        self.revoked = true;
        self
    }

    /// Protects the secret keys with `passphrase`.
    pub fn passphrase(mut self, passphrase: impl Into<Passphrase>) -> Self {
        self.passphrase = Some(passphrase.into());
        self
    }

    /// The user id, `Name <email>`.
    pub fn userid(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }

    /// Generates the key.
    pub fn generate(&self) -> Result<GeneratedKey> {
        let userid = self.userid();
        let failed = |e| Error::Generate {
            userid: userid.clone(),
            source: cause(e),
        };
        let mut builder = CertBuilder::new()
            // v4 keys: GnuPG 2.2 (Debian 12) and sqv 1.x do not read v6 ones.
            .set_profile(Profile::RFC4880)
            .map_err(failed)?
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(self.created)
            .add_userid(userid.as_str())
            .set_validity_period(self.expires_after)
            .set_password(self.passphrase.as_ref().map(|p| p.password().clone()));
        builder = if self.encryption_only {
            builder
                .set_primary_key_flags(KeyFlags::empty().set_certification())
                .add_transport_encryption_subkey()
        } else if self.signing_subkey {
            builder
                .set_primary_key_flags(KeyFlags::empty().set_certification())
                .add_signing_subkey()
        } else {
            builder.set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        };
        let (mut cert, revocation) = builder.generate().map_err(failed)?;
        if self.revoked {
            cert = cert.insert_packets(revocation).map_err(failed)?.0;
        }
        Ok(GeneratedKey { cert })
    }
}

/// A generated key with its secret parts.
pub struct GeneratedKey {
    cert: Cert,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret keys stay out of Debug output.
        f.debug_struct("GeneratedKey")
            .field("fingerprint", &self.cert.fingerprint())
            .finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// The primary key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.cert.fingerprint()
    }

    /// The fingerprints of the subkeys, in generation order.
    pub fn subkey_fingerprints(&self) -> Vec<Fingerprint> {
        self.cert
            .keys()
            .subkeys()
            .map(|k| k.key().fingerprint())
            .collect()
    }

    /// The certificate, secret parts included.
    pub fn cert(&self) -> &Cert {
        &self.cert
    }

    /// A keyring holding only this key's public certificate.
    pub fn keyring(&self) -> Keyring {
        Keyring::from_certs([self.cert.clone().strip_secret_key_material()])
    }

    /// The transferable secret key, ASCII-armored (`gpg --armor --export-secret-keys`).
    pub fn secret_key_armored(&self) -> Result<Vec<u8>> {
        self.cert
            .as_tsk()
            .armored()
            .to_vec()
            .map_err(|e| self.serialize_error(e))
    }

    /// The public certificate, ASCII-armored.
    pub fn public_key_armored(&self) -> Result<Vec<u8>> {
        self.cert
            .armored()
            .to_vec()
            .map_err(|e| self.serialize_error(e))
    }

    /// The public certificate in binary form (a keyring for `gpgv` and `sqv`).
    pub fn public_key_binary(&self) -> Result<Vec<u8>> {
        self.cert.to_vec().map_err(|e| self.serialize_error(e))
    }

    /// Writes the armored transferable secret key to `path`.
    pub fn write_secret_key(&self, path: &Path) -> Result<()> {
        write(path, &self.secret_key_armored()?)
    }

    /// Writes the binary public certificate to `path`, usable as a `gpgv` keyring.
    pub fn write_public_key(&self, path: &Path) -> Result<()> {
        write(path, &self.public_key_binary()?)
    }

    fn serialize_error(&self, e: impl Into<Cause>) -> Error {
        Error::Serialize {
            fingerprint: self.fingerprint(),
            source: cause(e),
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::WriteFile {
        path: path.to_owned(),
        source,
    })
}
