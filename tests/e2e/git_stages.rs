//! The git stages end to end: tags, pushes and the lava-lab hand-over against bare
//! repositories, with keys made in the test, and the ways they must refuse.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use tests::sandbox::{
    Sandbox, assert_stderr_contains, assert_stdout_contains, assert_success, text,
};

use crate::support::{planned_stage, stage_in_plan};

const V: &str = "2024.02";

fn sandbox() -> Sandbox {
    Sandbox::lava().unwrap().with_gitlab(V).unwrap()
}

pub(crate) fn ls_remote(remote: &Path) -> String {
    let out = Command::new("git")
        .arg("ls-remote")
        .arg(remote)
        .output()
        .unwrap();
    text(&out.stdout)
}

/// Replaces the sandbox's release key with a new one made from `spec`.
fn use_key(sb: &mut Sandbox, spec: lava_signing::keygen::KeySpec) -> String {
    let key = spec.generate().unwrap();
    let (secret, public) = sb.release_key();
    key.write_secret_key(&secret).unwrap();
    key.write_public_key(&public).unwrap();
    let fingerprint = key.fingerprint().to_hex();
    sb.replace_key("release_key", &format!("release_key = \"{fingerprint}\""))
        .unwrap();
    fingerprint
}

#[test]
fn a_different_tag_on_origin_blocks_before_anything_is_pushed() {
    let sb = sandbox();
    let origin = sb.origin().display().to_string();
    sb.git(
        &["push", "--quiet", &origin, &format!("HEAD~1:refs/tags/{V}")],
        None,
    )
    .unwrap();
    let remote_before = ls_remote(&sb.origin());
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        // The first push, the branch's, already sees it: nothing at all goes out.
        stderr.contains(
            "stage `push-branch` is blocked: origin already has a different tag `2024.02`"
        ),
        "{stderr}"
    );
    assert_eq!(ls_remote(&sb.origin()), remote_before, "origin unchanged");
    // The stages before it are done and stay done on a re-run.
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "signed-tag"])
        .output();
    assert_success(&out);
    assert_stdout_contains(&out, "0 stage(s) applied");
}

/// Somebody pushes an empty commit to origin's master; returns what origin then has.
fn push_meanwhile(sb: &Sandbox) -> String {
    let clone = sb.path().join("other");
    let status = Command::new("git")
        .arg("clone")
        .arg("--quiet")
        .arg(sb.origin())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let commit = Command::new("git")
        .current_dir(&clone)
        .args([
            "-c",
            "user.name=Other",
            "-c",
            "user.email=other@example.org",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            "meanwhile",
        ])
        .status()
        .unwrap();
    assert!(commit.success());
    assert!(
        Command::new("git")
            .current_dir(&clone)
            .args(["push", "--quiet", "origin", "master"])
            .status()
            .unwrap()
            .success()
    );
    ls_remote(&sb.origin())
}

#[test]
fn origin_moved_blocks_push_branch_naming_both_commits() {
    let sb = sandbox();
    let remote_before = push_meanwhile(&sb);
    let theirs = remote_before
        .lines()
        .find(|l| l.ends_with("refs/heads/master"))
        .unwrap()
        .to_owned();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let ours = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    assert!(
        stderr.contains(&format!(
            "stage `push-branch` is blocked: origin master is at {}, which the release commit {} does not build on",
            &theirs[..12],
            &ours[..12]
        )),
        "{stderr}"
    );
    assert_eq!(ls_remote(&sb.origin()), remote_before, "nothing pushed");
    let gitlab = sb.gitlab().unwrap();
    assert!(gitlab.writes().is_empty(), "{:#?}", gitlab.writes());
}

#[test]
fn a_failed_branch_pipeline_keeps_the_tag_home() {
    let sb = Sandbox::lava().unwrap().with_gitlab(V).unwrap();
    sb.gitlab().unwrap().pipelines_on_push(
        tests::gitlab::OnPush::new(&[&sb.origin()]).branch(
            tests::gitlab::PipelineSpec::branch("", "")
                .timeline(&["failed"])
                .job(tests::gitlab::JobSpec::new("test-dispatcher", "test").ends("failed")),
        ),
    );
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stage `wait-branch-ci` failed"), "{stderr}");
    assert!(stderr.contains("test-dispatcher"), "{stderr}");
    let remote = ls_remote(&sb.origin());
    assert!(!remote.contains(&format!("refs/tags/{V}")), "{remote}");
}

#[test]
fn a_rejected_push_names_the_remote_and_what_was_not_pushed() {
    let mut sb = sandbox();
    // The written process: branch and tag pushed together by push-tag.
    sb.add_keys("project", "push_branch_first = false").unwrap();
    // Somebody pushed to origin's master meanwhile: our master is no longer a
    // fast-forward, and lava-release never forces.
    let remote_before = push_meanwhile(&sb);

    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stage `push-tag` failed"), "{stderr}");
    assert!(stderr.contains("origin"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let after = ls_remote(&sb.origin());
    assert!(
        after.contains(
            remote_before
                .lines()
                .find(|l| l.ends_with("refs/heads/master"))
                .unwrap()
        ),
        "master not moved: {after}"
    );
    // Branch and tag go together or not at all.
    assert!(!after.contains(&format!("refs/tags/{V}")), "{after}");
}

#[test]
fn git_verifies_the_signed_tag_and_a_rerun_does_nothing() {
    let sb = sandbox();
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    sb.ci_for_tag(V).unwrap();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    assert_success(&out);
    let (_, public) = sb.release_key();
    let verify = crate::support::verify_tag(&sb, V, &public);
    assert_success(&verify);
    assert_stderr_contains(&verify, "Good signature");

    let lab = Command::new("git")
        .arg("--git-dir")
        .arg(sb.lab())
        .args(["show", "refs/for/master:shared/device-types/rk3399.jinja2"])
        .output()
        .unwrap();
    assert_success(&lab);
    let review = Command::new("git")
        .arg("--git-dir")
        .arg(sb.lab())
        .args(["rev-parse", "refs/for/master"])
        .output()
        .unwrap();

    let again = sb.lava_release(&["run", V, "--yes"]).output();
    assert_success(&again);
    assert_stdout_contains(&again, "0 stage(s) applied");
    let review_again = Command::new("git")
        .arg("--git-dir")
        .arg(sb.lab())
        .args(["rev-parse", "refs/for/master"])
        .output()
        .unwrap();
    assert_eq!(
        review.stdout, review_again.stdout,
        "lab-sync pushed nothing new"
    );
}

fn keyspec() -> lava_signing::keygen::KeySpec {
    lava_signing::keygen::KeySpec::new(
        "LAVA Release (test)",
        "release@lavasoftware.example",
        SystemTime::now() - Duration::from_secs(7200),
    )
}

#[test]
fn an_expired_release_key_is_refused_naming_it_before_anything_is_done() {
    let mut sb = sandbox();
    let fpr = use_key(&mut sb, keyspec().expires_after(Duration::from_secs(60)));
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&fpr), "{stderr}");
    assert!(stderr.contains("expired"), "{stderr}");
    // The key is opened before the first stage: no release commit, no tag, no journal.
    assert_eq!(sb.git(&["rev-parse", "HEAD"], None).unwrap(), head);
    assert!(sb.git(&["tag", "--list", V], None).unwrap().is_empty());
    assert!(!sb.repo().join(".git/lava-release").exists());
    assert!(
        !ls_remote(&sb.origin()).contains("refs/tags/2024.02"),
        "nothing pushed"
    );
}

#[test]
fn a_wrong_passphrase_is_refused_and_never_printed() {
    let mut sb = sandbox();
    let fpr = use_key(&mut sb, keyspec().passphrase("correct horse"));
    let mut config = std::fs::read_to_string(sb.config()).unwrap();
    config = config.replace(
        "[signing]\n",
        "[signing]\npassphrase_env = \"LAVA_RELEASE_PASSPHRASE\"\n",
    );
    std::fs::write(sb.config(), config).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes"])
        .env("LAVA_RELEASE_PASSPHRASE", "battery staple")
        .output();
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&fpr) && stderr.to_lowercase().contains("passphrase"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("battery") && !stdout.contains("battery"),
        "passphrase printed"
    );
    // Refused before the first stage: nothing was journaled, the passphrase least of all.
    assert!(!sb.repo().join(".git/lava-release").exists());

    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .env("LAVA_RELEASE_PASSPHRASE", "correct horse")
        .output();
    assert_success(&out);
}

#[test]
fn an_unknown_release_key_is_refused_naming_it() {
    let mut sb = sandbox();
    sb.replace_key(
        "release_key",
        "release_key = \"C87D63FD935535CFB0CAF5C2A791358F2E49B100\"",
    )
    .unwrap();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("C87D63FD935535CFB0CAF5C2A791358F2E49B100"),
        "{stderr}"
    );
}

/// A git configuration of the sandbox's own (`GIT_CONFIG_GLOBAL`) holding `extra`: the
/// release manager's `~/.gitconfig`.
fn user_gitconfig(sb: &Sandbox, extra: &str) -> std::path::PathBuf {
    let path = sb.path().join("user.gitconfig");
    std::fs::write(
        &path,
        format!("[user]\n\tname = Release Manager\n\temail = rm@example.org\n{extra}"),
    )
    .unwrap();
    path
}

/// The release manager's `ssh_config` for the real sshd: a host alias, the known host
/// key in `known_hosts`, and `identity` (or no key, to be given some other way).
fn ssh_alias_config(
    sb: &Sandbox,
    sshd: &tests::sshd::Sshd,
    known_hosts: &Path,
    identity: Option<&Path>,
) -> std::path::PathBuf {
    let path = sb.path().join("ssh_config");
    let identity = identity.map_or(String::new(), |key| {
        format!("  IdentityFile {}\n", key.display())
    });
    std::fs::write(
        &path,
        format!(
            "Host lava-origin\n  HostName 127.0.0.1\n  Port {}\n  User {}\n{identity}  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  \
             BatchMode yes\n  LogLevel ERROR\n",
            sshd.port(),
            sshd.user(),
            known_hosts.display()
        ),
    )
    .unwrap();
    path
}

fn set_remote(sb: &mut Sandbox, url: &str) {
    sb.add_keys("project", &format!("remote = \"{url}\""))
        .unwrap();
}

#[test]
fn pushes_use_the_users_ssh_config_host_alias_and_a_configured_key_file() {
    let mut sb = sandbox();
    let sshd = tests::sshd::Sshd::start().unwrap();
    let known_hosts = sb.path().join("known_hosts");
    std::fs::copy(sshd.known_hosts(), &known_hosts).unwrap();
    // The user's core.sshCommand reads their ssh_config; the remote is a host alias
    // only that file knows, with no user in the URL (ssh's `User` decides).
    let alias = format!("lava-origin:{}", sb.origin().display());
    set_remote(&mut sb, &alias);
    let with_identity = ssh_alias_config(&sb, &sshd, &known_hosts, Some(&sshd.identity()));
    let gitconfig = user_gitconfig(
        &sb,
        &format!(
            "[core]\n\tsshCommand = ssh -F {}\n",
            with_identity.display()
        ),
    );
    let run = |sb: &Sandbox, args: &[&str]| {
        sb.lava_release(args)
            .env("GIT_CONFIG_GLOBAL", &gitconfig)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("GIT_SSH_COMMAND")
            .output()
    };
    assert_success(&run(&sb, &["run", V, "--yes", "--to", "push-branch"]));
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    let remote = ls_remote(&sb.origin());
    assert!(
        remote.contains(&format!("{}\trefs/heads/master", head.trim())),
        "{remote}"
    );

    // The same alias with no key in it: `git.ssh_key` is added to the user's command.
    ssh_alias_config(&sb, &sshd, &known_hosts, None);
    let out = run(&sb, &["plan", V]);
    assert_stdout_contains(&out, "Permission denied (publickey)");
    sb.add_config(&format!(
        "[git]\nssh_key = {:?}\n",
        sshd.identity().display().to_string()
    ))
    .unwrap();
    assert_success(&run(&sb, &["run", V, "--yes", "--to", "push-tag"]));
    assert!(ls_remote(&sb.origin()).contains(&format!("refs/tags/{V}")));

    // An unknown host key is refused with ssh's own words, naming the remote.
    std::fs::write(&known_hosts, "").unwrap();
    let out = run(&sb, &["plan", V]);
    assert_stdout_contains(
        &out,
        &format!(
            "cannot list the refs of lava-origin:{}: Host key verification failed.",
            sb.origin().display()
        ),
    );
}

#[test]
fn the_libgit2_transport_pushes_over_ssh_with_a_key_file_and_checks_the_host_key() {
    let mut sb = sandbox();
    let sshd = tests::sshd::Sshd::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::copy(sshd.known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    let url = sshd.url(&sb.origin());
    set_remote(&mut sb, &url);
    sb.add_config(&format!(
        "[git]\ntransport = \"libgit2\"\nssh_key = {:?}\n",
        sshd.identity().display().to_string()
    ))
    .unwrap();

    // libgit2 reads known_hosts under $HOME, and no git is involved.
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .env("HOME", home.path())
        .env("PATH", "/nonexistent")
        .env_remove("SSH_AUTH_SOCK")
        .output();
    assert_success(&out);
    let remote = ls_remote(&sb.origin());
    assert!(remote.contains("refs/tags/2024.02"), "{remote}");

    std::fs::write(home.path().join(".ssh/known_hosts"), "").unwrap();
    let out = sb
        .lava_release(&["plan", V])
        .env("HOME", home.path())
        .env_remove("SSH_AUTH_SOCK")
        .output();
    assert_stdout_contains(&out, "cannot list the refs of ssh://");
}

#[test]
fn https_pushes_ask_the_users_credential_helper_first_then_the_token() {
    const TOKEN: &str = "glpat-lava-release-test";
    let mut sb = sandbox();
    let server =
        tests::githttp::GitHttp::start(sb.origin().parent().unwrap(), "oauth2", TOKEN).unwrap();
    let url = server.url("lava.git");
    set_remote(&mut sb, &url);
    sb.add_config("[git]\ntoken_env = \"LR_GIT_TOKEN\"\n")
        .unwrap();
    let plain = user_gitconfig(&sb, "");

    // No helper and a wrong token: one sentence naming the URL, never the token.
    let out = sb
        .lava_release(&["plan", V])
        .env("GIT_CONFIG_GLOBAL", &plain)
        .env("LR_GIT_TOKEN", "glpat-wrong-token")
        .output();
    assert_stdout_contains(
        &out,
        &format!("cannot list the refs of {url}: Authentication failed"),
    );
    assert!(
        !text(&out.stdout).contains("glpat-wrong"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !text(&out.stderr).contains("glpat-wrong"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.refused() > 0);

    // The user's helper knows the host: it answers before the (wrong) token is asked.
    let store = sb.path().join("git-credentials");
    let stored = url
        .replace("http://", &format!("http://oauth2:{TOKEN}@"))
        .replace("/lava.git", "\n");
    std::fs::write(&store, stored).unwrap();
    let with_helper = user_gitconfig(
        &sb,
        &format!(
            "[credential]\n\thelper = store --file {}\n",
            store.display()
        ),
    );
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .env("GIT_CONFIG_GLOBAL", &with_helper)
        .env("LR_GIT_TOKEN", "glpat-wrong-token")
        .output();
    assert_success(&out);
    assert!(ls_remote(&sb.origin()).contains(&format!("refs/tags/{V}")));

    // No helper, the right token: the remote is read and the push is done.
    let pushed = stage_in_plan(
        sb.lava_release(&["plan", V, "--json"])
            .env("GIT_CONFIG_GLOBAL", &plain)
            .env("LR_GIT_TOKEN", TOKEN),
        "push-tag",
    );
    assert_eq!(pushed["status"], "done", "{pushed}");
}

#[test]
fn lab_sync_is_blocked_when_the_tree_has_no_device_types() {
    let sb = sandbox();
    sb.git(
        &["rm", "-r", "-q", "etc/dispatcher-config/device-types"],
        None,
    )
    .unwrap();
    sb.git(&["commit", "-q", "-m", "Drop the device types"], None)
        .unwrap();
    let lab = planned_stage(&sb, V, "lab-sync");
    assert_eq!(lab["status"], "blocked", "{lab}");
    assert_eq!(
        lab["reason"],
        format!(
            "no device types in {}: neither etc/dispatcher-config/device-types nor lava_scheduler_app/tests/device-types exists; set lab.source",
            sb.repo().display()
        )
    );
}
