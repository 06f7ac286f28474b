//! The gpg-agent backend, against a real agent in a GnuPG home made by the test.

// clippy's allow-unwrap-in-tests covers #[test] fns only, not the helpers these
// test binaries share; a panic in a helper fails the test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{GnupgHome, created, release_key, require, run, signing_time};
use lava_signing::keygen::KeySpec;
use lava_signing::{
    Error, KeySelector, KeySource, Passphrase, PassphraseSource, Signer, verify_cleartext,
    verify_detached,
};

fn selector(fingerprint: &lava_signing::Fingerprint) -> KeySelector {
    fingerprint.to_hex().parse().unwrap()
}

#[test]
fn agent_signs_with_a_key_that_lives_only_in_the_gnupg_home() {
    require("gpgv", "gpgv");
    let home = GnupgHome::new();
    let key = release_key();
    home.import(&key);
    // Only the GnuPG home has the secret; the test's copy is not used from here on.
    let source = KeySource::GpgAgent {
        homedir: Some(home.path().to_owned()),
        passphrase: PassphraseSource::None,
    };
    let signer = Signer::open(&source, &selector(&key.fingerprint()), signing_time()).unwrap();
    assert_eq!(signer.fingerprint(), key.fingerprint());
    assert_eq!(
        signer.signing_key_fingerprint(),
        &key.subkey_fingerprints()[0]
    );
    assert!(home.agent_pid().is_some(), "the agent should be running");

    let data = b"Origin: LAVA\nSuite: bookworm\n";
    let signature = signer.sign_detached_armored(data).unwrap();
    let inrelease = signer.sign_cleartext(data).unwrap();
    assert_eq!(
        verify_detached(data, signature.as_bytes(), &key.keyring()).unwrap(),
        key.fingerprint()
    );
    assert_eq!(
        verify_cleartext(&inrelease, &key.keyring()).unwrap().text,
        data
    );

    let keyring = home.file("keyring.gpg");
    std::fs::write(&keyring, signer.export_public_binary().unwrap()).unwrap();
    let data_path = home.file("Release");
    let sig_path = home.file("Release.gpg");
    let inrelease_path = home.file("InRelease");
    std::fs::write(&data_path, data).unwrap();
    std::fs::write(&sig_path, &signature).unwrap();
    std::fs::write(&inrelease_path, &inrelease).unwrap();
    for args in [vec![&sig_path, &data_path], vec![&inrelease_path]] {
        let out = run(Command::new("gpgv")
            .arg("--homedir")
            .arg(home.path())
            .arg("--keyring")
            .arg(&keyring)
            .args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Good signature"), "{stderr}");
    }
}

#[test]
fn agent_takes_the_passphrase_by_loopback_and_refuses_a_wrong_one() {
    let home = GnupgHome::new();
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    home.import(&key);
    let open = |passphrase: &str| {
        Signer::from_gpg_agent(
            Some(home.path()),
            &selector(&key.fingerprint()),
            PassphraseSource::Value(Passphrase::new(passphrase)),
            signing_time(),
        )
        .unwrap()
    };

    // The wrong one first: once the right one is given, the agent caches it.
    let err = open("battery staple")
        .sign_detached_armored(b"x")
        .unwrap_err();
    assert!(
        matches!(&err, Error::WrongPassphrase { fingerprint } if *fingerprint == key.fingerprint()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "wrong passphrase for key {}; check the configured passphrase source",
            key.fingerprint()
        )
    );

    let signature = open("correct horse").sign_detached_armored(b"x").unwrap();
    assert_eq!(
        verify_detached(b"x", signature.as_bytes(), &key.keyring()).unwrap(),
        key.fingerprint()
    );
}

#[test]
fn agent_refuses_unknown_and_public_only_keys() {
    let home = GnupgHome::new();
    let unknown: KeySelector = "C87D63FD935535CFB0CAF5C2A791358F2E49B100".parse().unwrap();
    let err = Signer::from_gpg_agent(
        Some(home.path()),
        &unknown,
        PassphraseSource::None,
        signing_time(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::KeyNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "key C87D63FD935535CFB0CAF5C2A791358F2E49B100 not found in GnuPG home {:?}; check the configured key fingerprint or import the key",
            home.path()
        )
    );

    // A certificate gpg knows but whose secret the agent does not hold.
    let key = release_key();
    let public = home.file("public.gpg");
    key.write_public_key(&public).unwrap();
    run(home.gpg().arg("--import").arg(&public));
    let err = Signer::from_gpg_agent(
        Some(home.path()),
        &selector(&key.fingerprint()),
        PassphraseSource::None,
        signing_time(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::AgentNoSecretKey { fingerprint, .. } if *fingerprint == key.fingerprint()),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("gpg-agent for GnuPG home"),
        "{err}"
    );

    // Validity is checked for agent keys too.
    let expired = KeySpec::new("Old", "old@lava.invalid", created())
        .expires_after(std::time::Duration::from_secs(60))
        .generate()
        .unwrap();
    home.import(&expired);
    let err = Signer::from_gpg_agent(
        Some(home.path()),
        &selector(&expired.fingerprint()),
        PassphraseSource::None,
        signing_time(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::KeyExpired { fingerprint, .. } if *fingerprint == expired.fingerprint()),
        "{err:?}"
    );
}
