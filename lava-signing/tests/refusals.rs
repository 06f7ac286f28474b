//! Keys the signer must refuse, each with one sentence naming the key.

// clippy's allow-unwrap-in-tests covers #[test] fns only, not the helpers these
// test binaries share; a panic in a helper fails the test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{created, release_key, scratch, signing_time};
use lava_signing::keygen::{GeneratedKey, KeySpec};
use lava_signing::{Error, KeySelector, Passphrase, PassphraseSource, Signer};

fn open(key: &GeneratedKey, passphrase: &PassphraseSource) -> Result<Signer, Error> {
    let dir = scratch();
    tests::keys::open_signer(
        key,
        &dir.path().join("secret.asc"),
        passphrase,
        signing_time(),
    )
}

#[test]
fn expired_key_is_refused() {
    let key = KeySpec::new("Old", "old@lava.invalid", created())
        .expires_after(Duration::from_secs(3_600))
        .generate()
        .unwrap();
    let err = open(&key, &PassphraseSource::None).unwrap_err();
    assert!(
        matches!(&err, Error::KeyExpired { fingerprint, .. } if *fingerprint == key.fingerprint())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "key {} expired at 2025-01-01T01:00:00Z; extend its expiry (`gpg --quick-set-expire`) and export it again",
            key.fingerprint()
        )
    );
}

#[test]
fn key_is_usable_before_it_expires() {
    let key = KeySpec::new("Young", "young@lava.invalid", created())
        .expires_after(Duration::from_secs(2 * 86_400))
        .generate()
        .unwrap();
    let signer = open(&key, &PassphraseSource::None).unwrap();
    assert_eq!(signer.fingerprint(), key.fingerprint());
}

#[test]
fn revoked_key_is_refused() {
    let key = KeySpec::new("Gone", "gone@lava.invalid", created())
        .revoked()
        .generate()
        .unwrap();
    let err = open(&key, &PassphraseSource::None).unwrap_err();
    assert!(matches!(&err, Error::KeyRevoked { fingerprint } if *fingerprint == key.fingerprint()));
    assert_eq!(
        err.to_string(),
        format!(
            "key {} is revoked; sign with the key that replaced it",
            key.fingerprint()
        )
    );
}

#[test]
fn encryption_only_key_is_refused() {
    let key = KeySpec::new("Mail", "mail@lava.invalid", created())
        .encryption_only()
        .generate()
        .unwrap();
    let err = open(&key, &PassphraseSource::None).unwrap_err();
    assert!(
        matches!(&err, Error::NoSigningKey { fingerprint, .. } if *fingerprint == key.fingerprint())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "key {} has no signing-capable subkey that is alive and not revoked at 2025-01-02T00:00:00Z; add a signing subkey (`gpg --quick-add-key FPR ed25519 sign`)",
            key.fingerprint()
        )
    );
}

#[test]
fn key_not_yet_created_is_refused() {
    let key = KeySpec::new(
        "Future",
        "future@lava.invalid",
        signing_time() + Duration::from_secs(60),
    )
    .generate()
    .unwrap();
    let err = open(&key, &PassphraseSource::None).unwrap_err();
    assert!(
        matches!(&err, Error::KeyInvalid { fingerprint, .. } if *fingerprint == key.fingerprint())
    );
    assert!(
        err.to_string()
            .starts_with(&format!("key {} is not valid", key.fingerprint()))
    );
}

#[test]
fn wrong_passphrase_is_refused_without_echoing_it() {
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    let err = open(
        &key,
        &PassphraseSource::Value(Passphrase::new("battery staple")),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::WrongPassphrase { fingerprint } if *fingerprint == key.fingerprint())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "wrong passphrase for key {}; check the configured passphrase source",
            key.fingerprint()
        )
    );
    assert!(!format!("{err:?}").contains("battery"));
}

#[test]
fn protected_key_without_passphrase_source_is_refused() {
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    let err = open(&key, &PassphraseSource::None).unwrap_err();
    assert!(
        matches!(&err, Error::PassphraseRequired { fingerprint } if *fingerprint == key.fingerprint())
    );
}

#[test]
fn passphrase_from_value_and_file_unlock_the_key() {
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    let signer = open(
        &key,
        &PassphraseSource::Value(Passphrase::new("correct horse")),
    )
    .unwrap();
    let signature = signer.sign_detached_armored(b"x").unwrap();
    assert_eq!(
        lava_signing::verify_detached(b"x", signature.as_bytes(), &key.keyring()).unwrap(),
        key.fingerprint()
    );

    let dir = scratch();
    let file = dir.path().join("passphrase");
    std::fs::write(&file, "correct horse\n").unwrap();
    open(&key, &PassphraseSource::File(file)).unwrap();

    let missing = dir.path().join("missing");
    let err = open(&key, &PassphraseSource::File(missing.clone())).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "could not read the passphrase file {missing:?} for key {}; check the configured passphrase file",
            key.fingerprint()
        )
    );
}

#[test]
fn unknown_fingerprint_is_refused() {
    let key = release_key();
    let dir = scratch();
    let path = dir.path().join("secret.asc");
    key.write_secret_key(&path).unwrap();
    let selector: KeySelector = "C87D63FD935535CFB0CAF5C2A791358F2E49B100".parse().unwrap();
    let err = Signer::from_key_file(&path, &selector, &PassphraseSource::None, signing_time())
        .unwrap_err();
    assert!(matches!(err, Error::KeyNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "key C87D63FD935535CFB0CAF5C2A791358F2E49B100 not found in secret key file {path:?}; check the configured key fingerprint or import the key"
        )
    );
}

#[test]
fn public_only_file_is_refused() {
    let key = release_key();
    let dir = scratch();
    let path = dir.path().join("public.gpg");
    key.write_public_key(&path).unwrap();
    let selector: KeySelector = key.fingerprint().to_hex().parse().unwrap();
    let err = Signer::from_key_file(&path, &selector, &PassphraseSource::None, signing_time())
        .unwrap_err();
    assert!(
        matches!(&err, Error::SecretKeyMissing { fingerprint, .. } if *fingerprint == key.fingerprint())
    );
}

#[test]
fn long_key_id_and_subkey_fingerprint_select_the_key() {
    let key = release_key();
    let subkey = key.subkey_fingerprints()[0].clone();
    let dir = scratch();
    let path = dir.path().join("secret.asc");
    key.write_secret_key(&path).unwrap();
    let hex = key.fingerprint().to_hex();
    for selector in [hex[24..].to_lowercase(), subkey.to_spaced_hex()] {
        let selector: KeySelector = selector.parse().unwrap();
        let signer =
            Signer::from_key_file(&path, &selector, &PassphraseSource::None, signing_time())
                .unwrap();
        assert_eq!(signer.fingerprint(), key.fingerprint());
        assert_eq!(signer.signing_key_fingerprint(), &subkey);
    }
}

#[test]
fn secrets_never_appear_in_debug_or_display() {
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    let passphrase = Passphrase::new("correct horse");
    let source = PassphraseSource::Value(passphrase.clone());
    let signer = open(&key, &source).unwrap();
    let armored = String::from_utf8(key.secret_key_armored().unwrap()).unwrap();
    // A line of the armored secret key body, to look for in the outputs.
    let secret_line = armored.lines().nth(5).unwrap().to_owned();

    let printed = [
        format!("{passphrase:?}"),
        format!("{source:?}"),
        format!("{source:#?}"),
        format!("{signer:?}"),
        format!("{signer:#?}"),
        format!("{key:?}"),
        format!(
            "{:?}",
            open(
                &key,
                &PassphraseSource::Value(Passphrase::new("correct horsE"))
            )
            .unwrap_err()
        ),
        open(
            &key,
            &PassphraseSource::Value(Passphrase::new("correct horsE")),
        )
        .unwrap_err()
        .to_string(),
    ];
    for p in &printed {
        assert!(!p.contains("correct horse"), "{p}");
        assert!(!p.contains("correct horsE"), "{p}");
        assert!(!p.contains(&secret_line), "{p}");
    }
    assert_eq!(printed[0], "<redacted>");
    assert!(printed[3].contains(&key.fingerprint().to_hex()));
    // The exported public certificate has no secret key material.
    let public = signer.export_public_armored().unwrap();
    assert!(public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!public.contains(&secret_line));
}
