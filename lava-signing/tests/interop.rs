//! Our signatures against real gpgv and sqv, and real gpg's signatures against our verifier.

// clippy's allow-unwrap-in-tests covers #[test] fns only, not the helpers these
// test binaries share; a panic in a helper fails the test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{GnupgHome, release_key, require, run, scratch, signing_time};
use lava_signing::keygen::GeneratedKey;
use lava_signing::{Error, Keyring, Signer, verify_cleartext, verify_detached};

/// A Release-like text with the awkward cases: a dash line, a "From " line,
/// trailing whitespace and an empty line.
const RELEASE: &[u8] = b"Origin: LAVA\nLabel: LAVA  \n-----not armor\nFrom the lab\n\nSHA256:\n 0123 10 main/binary-amd64/Packages\n";

fn signer_for(key: &GeneratedKey, dir: &std::path::Path) -> Signer {
    tests::keys::signer(key, &dir.join("secret.asc"), signing_time())
}

/// The release key as our signer, and its certificate as the keyring gpgv and sqv
/// check with, in a scratch directory.
fn verifiers() -> (tempfile::TempDir, GeneratedKey, Signer, PathBuf) {
    require("gpgv", "gpgv");
    require("sqv", "sqv");
    let dir = scratch();
    let key = release_key();
    let signer = signer_for(&key, dir.path());
    let keyring = dir.path().join("keyring.gpg");
    std::fs::write(&keyring, signer.export_public_binary().unwrap()).unwrap();
    (dir, key, signer, keyring)
}

fn gpgv(keyring: &std::path::Path, home: &std::path::Path) -> Command {
    let mut c = Command::new("gpgv");
    c.arg("--homedir").arg(home).arg("--keyring").arg(keyring);
    c
}

#[test]
fn detached_signature_verifies_with_gpgv_and_sqv() {
    let (dir, key, signer, keyring) = verifiers();

    let signature = signer.sign_detached_armored(RELEASE).unwrap();
    assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----\n"));
    assert!(
        signature
            .trim_end()
            .ends_with("-----END PGP SIGNATURE-----")
    );
    let data = dir.path().join("Release");
    let sig = dir.path().join("Release.gpg");
    std::fs::write(&data, RELEASE).unwrap();
    std::fs::write(&sig, &signature).unwrap();

    let out = run(gpgv(&keyring, dir.path()).arg(&sig).arg(&data));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Good signature"), "{stderr}");

    let out = run(Command::new("sqv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(&sig)
        .arg(&data));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        key.fingerprint().to_hex()
    );

    // The same signature fails against other data, in gpgv and in sqv.
    std::fs::write(&data, b"Origin: evil\n").unwrap();
    assert!(
        !gpgv(&keyring, dir.path())
            .arg(&sig)
            .arg(&data)
            .output()
            .unwrap()
            .status
            .success()
    );
    let sqv = Command::new("sqv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(&sig)
        .arg(&data)
        .output();
    assert!(!sqv.unwrap().status.success());
}

#[test]
fn cleartext_signature_verifies_with_gpgv_and_sqv() {
    let (dir, key, signer, keyring) = verifiers();

    let inrelease = signer.sign_cleartext(RELEASE).unwrap();
    let text = String::from_utf8(inrelease.clone()).unwrap();
    assert!(
        text.starts_with(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: LAVA\nLabel: LAVA  \n- -----not armor\n- From the lab\n\nSHA256:\n 0123 10 main/binary-amd64/Packages\n-----BEGIN PGP SIGNATURE-----\n"
        ),
        "{text}"
    );
    let path = dir.path().join("InRelease");
    std::fs::write(&path, &inrelease).unwrap();

    // gpgv takes the InRelease file itself and hands back the signed text.
    let out = run(gpgv(&keyring, dir.path())
        .arg("--output")
        .arg("-")
        .arg(&path));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Good signature"));
    // gpg drops the trailing whitespace the signature does not cover; so do we.
    let signed_text = String::from_utf8_lossy(RELEASE).replace("LAVA  \n", "LAVA\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), signed_text);

    // sqv only checks detached signatures, so split the file as apt does
    // (apt-pkg's SplitClearSignedFile): the dash-unescaped lines without
    // trailing whitespace, joined by newlines, and the signature block.
    let (body, signature) = text.split_once("-----BEGIN PGP SIGNATURE-----\n").unwrap();
    let body = body.split_once("\n\n").unwrap().1;
    let content = body
        .strip_suffix('\n')
        .unwrap()
        .split('\n')
        .map(|l| {
            l.strip_prefix("- ")
                .unwrap_or(l)
                .trim_end_matches([' ', '\t', '\r'])
        })
        .collect::<Vec<_>>()
        .join("\n");
    let content_path = dir.path().join("content");
    let sig_path = dir.path().join("content.sig");
    std::fs::write(&content_path, content).unwrap();
    std::fs::write(
        &sig_path,
        format!("-----BEGIN PGP SIGNATURE-----\n{signature}"),
    )
    .unwrap();
    let out = run(Command::new("sqv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(&sig_path)
        .arg(&content_path));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        key.fingerprint().to_hex()
    );

    // And our own verifier gives back the same text as gpgv.
    let verified = verify_cleartext(&inrelease, &key.keyring()).unwrap();
    assert_eq!(verified.signer, key.fingerprint());
    assert_eq!(String::from_utf8_lossy(&verified.text), signed_text);
}

#[test]
fn cleartext_of_text_without_final_newline_matches_gpg() {
    let dir = scratch();
    let key = release_key();
    let signer = signer_for(&key, dir.path());
    let signed = signer.sign_cleartext(b"a\nb").unwrap();
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(
        text.contains("\n\na\nb\n-----BEGIN PGP SIGNATURE-----\n"),
        "{text}"
    );
    assert_eq!(
        verify_cleartext(&signed, &key.keyring()).unwrap().text,
        b"a\nb\n"
    );
}

#[test]
fn gpg_signatures_verify_with_us() {
    let home = GnupgHome::new();
    let key = release_key();
    home.import(&key);
    let data = home.file("Release");
    std::fs::write(&data, RELEASE).unwrap();
    let fpr = key.fingerprint().to_hex();

    let sig_path = home.file("Release.gpg");
    run(home
        .gpg()
        .args(["--armor", "--local-user", &fpr, "--detach-sign", "--output"])
        .arg(&sig_path)
        .arg(&data));
    let signature = std::fs::read(&sig_path).unwrap();
    let keyring = Keyring::from_bytes(&key.public_key_armored().unwrap()).unwrap();
    assert_eq!(
        verify_detached(RELEASE, &signature, &keyring).unwrap(),
        key.fingerprint()
    );

    let inrelease_path = home.file("InRelease");
    run(home
        .gpg()
        .args(["--local-user", &fpr, "--clearsign", "--output"])
        .arg(&inrelease_path)
        .arg(&data));
    let inrelease = std::fs::read(&inrelease_path).unwrap();
    let verified = verify_cleartext(&inrelease, &keyring).unwrap();
    assert_eq!(verified.signer, key.fingerprint());
    let signed_text = String::from_utf8_lossy(RELEASE).replace("LAVA  \n", "LAVA\n");
    assert_eq!(String::from_utf8_lossy(&verified.text), signed_text);
}

#[test]
fn keyring_with_several_certs_finds_the_signer() {
    let dir = scratch();
    let key = release_key();
    let other = release_key();
    let signer = signer_for(&key, dir.path());
    let mut bytes = other.public_key_binary().unwrap();
    bytes.extend(key.public_key_binary().unwrap());
    let keyring = Keyring::from_bytes(&bytes).unwrap();
    assert_eq!(
        keyring.fingerprints(),
        [other.fingerprint(), key.fingerprint()]
    );
    let signature = signer.sign_detached_armored(b"data").unwrap();
    assert_eq!(
        verify_detached(b"data", signature.as_bytes(), &keyring).unwrap(),
        key.fingerprint()
    );
}

#[test]
fn verification_names_what_failed() {
    let dir = scratch();
    let key = release_key();
    let stranger = release_key();
    let signer = signer_for(&key, dir.path());

    let signature = signer.sign_detached_armored(b"data").unwrap();
    let err = verify_detached(b"DATA", signature.as_bytes(), &key.keyring()).unwrap_err();
    assert!(
        matches!(&err, Error::BadSignature { fingerprint, .. } if *fingerprint == key.fingerprint())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "BAD signature: the detached signature by key {} does not match the signed data; the data or the signature was altered",
            key.fingerprint()
        )
    );

    let err = verify_detached(b"data", signature.as_bytes(), &stranger.keyring()).unwrap_err();
    assert!(matches!(err, Error::UnknownSigner { .. }), "{err:?}");
    let subkey = key.subkey_fingerprints()[0].clone();
    assert_eq!(
        err.to_string(),
        format!(
            "the detached signature was made by {subkey}, which is not in the keyring; add the signer's certificate to the keyring"
        )
    );

    let mut inrelease = signer.sign_cleartext(b"Origin: LAVA\n").unwrap();
    let at = inrelease.windows(4).position(|w| w == b"LAVA").unwrap();
    inrelease[at] = b'X';
    let err = verify_cleartext(&inrelease, &key.keyring()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("BAD signature: the cleartext signature by key"),
        "{err}"
    );

    let err = verify_detached(b"data", b"not a signature", &key.keyring()).unwrap_err();
    assert!(matches!(err, Error::MalformedSignature { .. }), "{err:?}");
}
