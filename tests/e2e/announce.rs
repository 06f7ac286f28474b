//! Stage `announce`: the release mail as the list's SMTP server receives it (over
//! STARTTLS, with a login, PGP/MIME-signed), sent once however the run is interrupted.

use std::path::PathBuf;
use std::process::Output;

use tests::sandbox::{
    RM_EMAIL, Sandbox, assert_stderr_contains, assert_stdout_contains, assert_success, text,
};

use crate::support::run;
use tests::smtp::{Fault, Security, SmtpSink};

const V: &str = "2024.02";
const LIST: &str = "lava-announce@lists.lavasoftware.org";
const USER: &str = "lava-release";
const PASSWORD: &str = "sink-password-5b9e";

/// A sandbox whose release went through the consistency stage, announcing to a
/// STARTTLS sink with a login.
fn released(sign: bool) -> (Sandbox, SmtpSink) {
    let mut sb = Sandbox::lava().unwrap();
    let sink = SmtpSink::start(Security::StartTls, USER, PASSWORD).unwrap();
    let section = sink
        .announce_section(&sb.path().join("smtp-password"), sign)
        .unwrap();
    sb.add_config(&section).unwrap();
    (sb.through_consistency(V).unwrap(), sink)
}

fn announce(sb: &Sandbox, failpoint: Option<&str>) -> Output {
    run(sb, &["run", V, "--yes", "--only", "announce"], failpoint)
}

fn state_dir(sb: &Sandbox) -> PathBuf {
    sb.repo().join(".git/lava-release")
}

/// The journal's latest evidence of `announce`.
fn evidence(sb: &Sandbox) -> String {
    let status = run(sb, &["status", V, "--json"], None);
    let journal: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    journal["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["stage"] == "announce")
        .and_then(|e| e["note"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn message_ids(sink: &SmtpSink) -> Vec<String> {
    sink.received()
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect()
}

#[test]
fn the_list_receives_the_signed_notes_once() {
    let (sb, sink) = released(true);
    let out = announce(&sb, None);
    assert_success(&out);

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, RM_EMAIL);
    assert_eq!(mail.rcpt_to, [LIST]);
    assert!(mail.tls, "sent before STARTTLS");
    assert_eq!(mail.user.as_deref(), Some(USER));
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("LAVA Software 2024.02 release")
    );
    assert_eq!(mail.header("To").as_deref(), Some(LIST));
    assert!(mail.header("Date").is_some());

    // The notes: the entry the changelog stage committed, and the commits since the
    // previous release exactly as `git log --oneline` lists them.
    let body = mail.body().unwrap();
    let changelog = sb.git(&["show", "HEAD:debian/changelog"], None).unwrap();
    let entry = tests::gitrepo::top_entry(&changelog);
    assert!(body.contains(entry.trim_end()), "{entry}\nnot in\n{body}");
    let oneline = sb
        .git(&["log", "--oneline", "--no-merges", "2024.01..HEAD"], None)
        .unwrap();
    assert!(oneline.lines().count() >= 6, "{oneline}");
    assert!(body.contains(&oneline), "{oneline}\nnot in\n{body}");
    assert!(body.contains("Changes since 2024.01:"), "{body}");

    // The Message-ID the list saw is the one the journal names.
    let id = mail.header("Message-ID").unwrap();
    assert!(
        id.starts_with("<lava-release.2024.02.") && id.ends_with("@lavasoftware.example>"),
        "{id}"
    );
    let evidence = evidence(&sb);
    assert!(
        evidence.starts_with(&format!("sent {id} to {LIST} via {} at ", sink.url())),
        "{evidence}"
    );

    // PGP/MIME, verified by GnuPG against the release key alone.
    let content_type = mail.header("Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/signed")
            && content_type.contains("micalg=\"pgp-sha512\""),
        "{content_type}"
    );
    let (_, public) = sb.release_key();
    let signer = mail.gpg_verify(&public).unwrap();
    let config = std::fs::read_to_string(sb.config()).unwrap();
    assert!(config.contains(&signer), "{signer} is not the release key");

    // The message kept on disk is the one sent.
    let eml = std::fs::read(state_dir(&sb).join("2024.02-announce.eml")).unwrap();
    assert_eq!(eml, mail.data);

    // A second run sees it sent and sends nothing.
    let again = announce(&sb, None);
    assert_success(&again);
    assert_stdout_contains(&again, "0 stage(s) applied, 1 already done");
    assert_eq!(sink.received().len(), 1, "sent twice");
    let plan = run(&sb, &["plan", V], None);
    assert_stdout_contains(&plan, &format!("sent {id}"));
}

#[test]
fn a_dry_run_writes_the_message_and_sends_nothing() {
    let (sb, sink) = released(false);
    let out = run(&sb, &["run", V, "--dry-run", "--only", "announce"], None);
    assert_success(&out);
    let path = state_dir(&sb).join("dry-run/2024.02/2024.02-announce.eml");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("message written to {} (not sent)", path.display())),
        "{stdout}"
    );
    let eml = std::fs::read_to_string(&path).unwrap();
    assert!(
        eml.contains("\r\nSubject: LAVA Software 2024.02 release\r\n"),
        "{eml}"
    );
    assert!(
        eml.contains("Content-Type: text/plain; charset=utf-8"),
        "{eml}"
    );
    assert!(sink.received().is_empty());
    assert!(!state_dir(&sb).join("2024.02-announce.json").exists());
    assert!(!state_dir(&sb).join("2024.02-announce.eml").exists());
}

#[test]
fn killed_after_preparing_sends_the_prepared_message_once() {
    let (sb, sink) = released(false);
    let out = announce(&sb, Some("announce:prepared"));
    assert_eq!(out.status.code(), Some(86), "{}", text(&out.stderr));
    assert!(sink.received().is_empty());
    let eml = tests::smtp::Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: std::fs::read(state_dir(&sb).join("2024.02-announce.eml")).unwrap(),
        tls: false,
        user: None,
    };
    let prepared = eml.header("Message-ID").unwrap();

    let plan = run(&sb, &["plan", V], None);
    assert_stdout_contains(&plan, &format!("message {prepared} in "));
    let out = announce(&sb, None);
    assert_success(&out);
    assert_eq!(message_ids(&sink), std::slice::from_ref(&prepared));
    assert_eq!(sink.received()[0].data, eml.data, "not the prepared bytes");
    let evidence = evidence(&sb);
    assert!(
        evidence.contains(&prepared) && evidence.contains("sent again"),
        "{evidence}"
    );
}

#[test]
fn an_unconfirmed_send_is_repeated_with_the_same_message_id() {
    let (sb, sink) = released(false);
    // The server keeps the message but the connection drops before its reply, then
    // a temporary failure: lava-release cannot know, so it sends the same message.
    sink.fail_next(Fault::DropAfterData);
    sink.fail_next(Fault::TempFail);
    let out = announce(&sb, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let out = announce(&sb, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_stderr_contains(&out, "refused message <lava-release.2024.02.");
    let out = announce(&sb, None);
    assert_success(&out);

    let ids = message_ids(&sink);
    assert_eq!(ids.len(), 2, "the dropped and the confirmed copy: {ids:?}");
    assert_eq!(ids[0], ids[1], "one Message-ID, so the list keeps one copy");
    assert!(evidence(&sb).contains(&ids[0]));
}

#[test]
fn a_wrong_password_is_one_sentence_without_the_password() {
    let (sb, sink) = released(false);
    let wrong = "not-the-sink-password-77";
    std::fs::write(sb.path().join("smtp-password"), format!("{wrong}\n")).unwrap();
    // Found before the first stage: the login is tried (nothing sent) as the run starts.
    let out = announce(&sb, None);
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        last.starts_with("lava-release: the SMTP server ")
            && last.contains(&format!("{} refused the login of `{USER}`", sink.url())),
        "{last}"
    );
    assert!(sink.received().is_empty());
    assert_eq!(sink.failed_logins(), [USER]);
    assert!(
        !state_dir(&sb).join("2024.02-announce.eml").exists(),
        "nothing was prepared"
    );
}
