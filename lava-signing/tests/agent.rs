//! The gpg-agent backend, against a real agent in a GnuPG home made by the test.

// clippy's allow-unwrap-in-tests covers #[test] fns only, not the helpers these
// test binaries share; a panic in a helper fails the test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{GnupgHome, created, release_key, require, run, signing_time};
use lava_signing::keygen::KeySpec;
use lava_signing::{
    Error, KeySelector, KeySource, Passphrase, PassphraseSource, PinentrySession, Signer,
    verify_cleartext, verify_detached,
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
        session: PinentrySession::default(),
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
            PinentrySession::default(),
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
        PinentrySession::default(),
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
        PinentrySession::default(),
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
        PinentrySession::default(),
        signing_time(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::KeyExpired { fingerprint, .. } if *fingerprint == expired.fingerprint()),
        "{err:?}"
    );
}

#[test]
fn the_agents_own_pinentry_is_told_the_session_gpg_would_describe() {
    let home = GnupgHome::new();
    let (pinentry, log) = tests::gnupg::recording_pinentry(home.path(), "correct horse").unwrap();
    std::fs::write(
        home.file("gpg-agent.conf"),
        format!("pinentry-program {}\n", pinentry.display()),
    )
    .unwrap();
    let key = KeySpec::new("Locked", "locked@lava.invalid", created())
        .passphrase("correct horse")
        .generate()
        .unwrap();
    home.import(&key);
    let vars = [
        ("GPG_TTY", "/dev/pts/77"),
        ("TERM", "xterm-lava"),
        ("WAYLAND_DISPLAY", "wayland-lava"),
        ("LC_ALL", "C.UTF-8"),
    ];
    let session = PinentrySession::from_vars(
        |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
        None,
    );
    // No passphrase of ours: the agent runs its pinentry, where the session says.
    let signer = Signer::from_gpg_agent(
        Some(home.path()),
        &selector(&key.fingerprint()),
        PassphraseSource::None,
        session,
        signing_time(),
    )
    .unwrap();
    let signature = signer.sign_detached_armored(b"x").unwrap();
    assert_eq!(
        verify_detached(b"x", signature.as_bytes(), &key.keyring()).unwrap(),
        key.fingerprint()
    );
    let log = std::fs::read_to_string(log).unwrap();
    for line in [
        "OPTION ttyname=/dev/pts/77",
        "OPTION ttytype=xterm-lava",
        "OPTION lc-ctype=C.UTF-8",
        "ENV WAYLAND_DISPLAY=wayland-lava",
        "GETPIN",
    ] {
        assert!(log.lines().any(|l| l == line), "no `{line}` in\n{log}");
    }
}

#[test]
fn a_key_on_a_card_that_is_not_inserted_is_named_when_the_signer_opens() {
    let home = GnupgHome::new();
    let key = release_key();
    home.import(&key);
    assert!(tests::gnupg::move_keys_to_card(home.path()).unwrap() > 0);
    let err = Signer::from_gpg_agent(
        Some(home.path()),
        &selector(&key.fingerprint()),
        PassphraseSource::None,
        PinentrySession::default(),
        signing_time(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::CardNotPresent { fingerprint, serial, .. }
            if *fingerprint == key.fingerprint() && serial == tests::gnupg::CARD_SERIAL),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "the secret part of key {} is on OpenPGP card {}, which is not inserted: ",
            key.fingerprint(),
            tests::gnupg::CARD_SERIAL
        )),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}
