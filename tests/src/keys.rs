//! Throwaway OpenPGP keys, generated in the test (never committed), and signers over
//! them read back from a key file the way lava-release reads the release key.

use std::path::Path;
use std::str::FromStr as _;
use std::time::SystemTime;

use anyhow::Context as _;
use lava_signing::keygen::{GeneratedKey, KeySpec};
use lava_signing::{KeySelector, Keyring, PassphraseSource, Signer};

/// A key for `name <email>` created at `created`: Ed25519 with a signing subkey, never
/// expiring.
pub fn generate(name: &str, email: &str, created: SystemTime) -> GeneratedKey {
    KeySpec::new(name, email, created)
        .generate()
        .expect("a key generates")
}

/// Writes `key`'s secret parts to `path` and opens it as lava-release does, selected
/// by its fingerprint, for signatures made at `at`; the `Err` is the signer's refusal.
pub fn open_signer(
    key: &GeneratedKey,
    path: &Path,
    passphrase: &PassphraseSource,
    at: SystemTime,
) -> lava_signing::Result<Signer> {
    key.write_secret_key(path)
        .expect("the secret key file writes");
    let selector: KeySelector = key
        .fingerprint()
        .to_hex()
        .parse()
        .expect("a fingerprint selects its key");
    Signer::from_key_file(path, &selector, passphrase, at)
}

/// [`open_signer`] without a passphrase, for a key the test expects to work.
pub fn signer(key: &GeneratedKey, path: &Path, at: SystemTime) -> Signer {
    open_signer(key, path, &PassphraseSource::None, at).expect("the test key signs")
}

/// A signer over the secret key file `secret` whose certificate is `public` (as the
/// sandbox keeps its release key), for signatures made at `at`.
pub fn signer_from_files(secret: &Path, public: &Path, at: SystemTime) -> anyhow::Result<Signer> {
    let keyring = Keyring::from_file(public)
        .with_context(|| format!("cannot read the certificate {}", public.display()))?;
    let fingerprint = keyring
        .fingerprints()
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", public.display()))?;
    let selector = KeySelector::from_str(&fingerprint.to_hex())?;
    Signer::from_key_file(secret, &selector, &PassphraseSource::None, at)
        .with_context(|| format!("cannot use the secret key {}", secret.display()))
}
