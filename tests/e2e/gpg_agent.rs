//! The release key in the release manager's own gpg-agent, through the binary: the
//! agent's pinentry is told the session gpg would describe, and a key on a smartcard
//! that is not inserted stops the plan before anything is done.

use std::path::Path;
use std::process::Command;

use tests::sandbox::{Sandbox, assert_success, text};

use crate::support::gnupg_home;

const V: &str = "2024.02";

fn gpg(home: &Path, args: &[&str], file: &Path) {
    let status = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--quiet"])
        .args(args)
        .arg(file)
        .status()
        .unwrap();
    assert!(status.success(), "gpg {args:?} {}", file.display());
}

/// Points the sandbox's `[signing]` at the gpg-agent of `home` instead of the key file.
fn use_agent(sb: &mut Sandbox, home: &Path) {
    sb.replace_key(
        "key_file",
        &format!("gnupg_home = {:?}", home.display().to_string()),
    )
    .unwrap();
}

#[test]
fn the_agents_own_pinentry_asks_on_the_users_terminal_and_the_tag_verifies() {
    let mut sb = Sandbox::lava().unwrap().with_gitlab(V).unwrap();
    let home = gnupg_home();
    let (pinentry, log) = tests::gnupg::recording_pinentry(home.path(), "correct horse").unwrap();
    std::fs::write(
        home.path().join("gpg-agent.conf"),
        format!("pinentry-program {}\n", pinentry.display()),
    )
    .unwrap();
    // A release key with a passphrase, kept only in the agent.
    let key = lava_signing::keygen::KeySpec::new(
        "LAVA Release",
        "release@lava.invalid",
        std::time::SystemTime::now() - std::time::Duration::from_secs(3600),
    )
    .passphrase("correct horse")
    .generate()
    .unwrap();
    let (secret, public) = sb.release_key();
    key.write_secret_key(&secret).unwrap();
    key.write_public_key(&public).unwrap();
    gpg(home.path(), &["--import"], &secret);
    std::fs::remove_file(&secret).unwrap();
    sb.replace_key(
        "release_key",
        &format!("release_key = \"{}\"", key.fingerprint().to_hex()),
    )
    .unwrap();
    use_agent(&mut sb, home.path());

    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "signed-tag"])
        .env("GPG_TTY", "/dev/pts/77")
        .env("TERM", "xterm-lava")
        .env("WAYLAND_DISPLAY", "wayland-lava")
        .env("GNUPGHOME", home.path())
        .output();
    tests::rehearsal::stop_agent(home.path());
    assert_success(&out);
    let log = std::fs::read_to_string(&log).unwrap();
    for line in [
        "OPTION ttyname=/dev/pts/77",
        "OPTION ttytype=xterm-lava",
        "ENV WAYLAND_DISPLAY=wayland-lava",
        "GETPIN",
    ] {
        assert!(log.lines().any(|l| l == line), "no `{line}` in\n{log}");
    }
    assert!(!text(&out.stdout).contains("correct horse"));
    assert!(!text(&out.stderr).contains("correct horse"));

    let verify = crate::support::verify_tag(&sb, V, &public);
    assert_success(&verify);
    assert!(
        text(&verify.stderr).contains("Good signature"),
        "{}",
        text(&verify.stderr)
    );
}

#[test]
fn a_release_key_on_a_card_that_is_not_inserted_stops_the_release_before_anything() {
    let mut sb = Sandbox::lava().unwrap().with_gitlab(V).unwrap();
    let home = gnupg_home();
    let (secret, _) = sb.release_key();
    gpg(home.path(), &["--import"], &secret);
    assert!(tests::gnupg::move_keys_to_card(home.path()).unwrap() > 0);
    use_agent(&mut sb, home.path());
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();

    let out = sb.lava_release(&["run", V, "--yes"]).output();
    tests::rehearsal::stop_agent(home.path());
    let stderr = text(&out.stderr);
    // As an expired key: opened before the first stage, refused in one sentence.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is on OpenPGP card {}, which is not inserted",
            tests::gnupg::CARD_SERIAL
        )),
        "{stderr}"
    );
    assert_eq!(sb.git(&["rev-parse", "HEAD"], None).unwrap(), head);
    assert!(sb.git(&["tag", "--list", V], None).unwrap().is_empty());
    assert!(!sb.repo().join(".git/lava-release").exists());
}
