//! The apt repository stages end to end: `repo-import`, `repo-sign` and `repo-publish`
//! through the `lava-release` binary against a real reprepro site, checked with
//! `apt-get update` over HTTP, crashes at the failpoints, and `repo verify` and
//! `repo rollback`.

use std::path::Path;
use std::process::{Command, Output};

use tests::rehearsal_repo::{self, RepoRehearsal};
use tests::sandbox::{PREVIOUS_VERSION, Sandbox, all_text};

use crate::support::run;

const V: &str = "2024.02";

fn setup() -> (Sandbox, RepoRehearsal) {
    let mut sb = Sandbox::lava().unwrap();
    let site = rehearsal_repo::prepare(sb.path(), V, &[(None, format!("{V}-1"))]).unwrap();
    sb.replace_section("repo", &site.config_toml()).unwrap();
    (sb.through_consistency(V).unwrap(), site)
}

/// The repository stages only, so the test does not depend on the others.
const REPO_STAGES: &[&str] = &["--from", "repo-import", "--to", "repo-publish"];

fn run_repo_stages(sb: &Sandbox, failpoint: Option<&str>) -> Output {
    let mut args = vec!["run", V, "--yes"];
    args.extend_from_slice(REPO_STAGES);
    run(sb, &args, failpoint)
}

/// Asserts that apt, trusting only the release key, accepts the live tree, and that
/// the live symlink points at `archive/VERSION`.
fn assert_live(sb: &Sandbox, site: &RepoRehearsal, version: &str) {
    assert_eq!(site.live_target().unwrap(), format!("archive/{version}"));
    let live = site.root().join("release");
    let out = run(sb, &["repo", "verify", live.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", all_text(&out));
    let server = tests::http::HttpServer::serve(site.root()).unwrap();
    for suite in tests::aptrepo::SUITES {
        let out =
            rehearsal_repo::apt_update(&server.url("release/"), suite, site.public_key()).unwrap();
        let (ok, detail) = rehearsal_repo::judge(&out);
        assert!(
            ok,
            "apt-get update {suite} against {version}: {detail}\n{}",
            all_text(&out)
        );
    }
}

fn suite_signatures(root: &Path, suite: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = root.join("current-release/dists").join(suite);
    (
        std::fs::read(dir.join("InRelease")).unwrap(),
        std::fs::read(dir.join("Release.gpg")).unwrap(),
    )
}

#[test]
fn full_run_publishes_a_tree_apt_accepts_then_verify_and_rollback() {
    let (sb, site) = setup();
    let plan = run(&sb, &["plan", V], None);
    let plan_text = all_text(&plan);
    assert!(plan.status.success(), "{plan_text}");
    for stage in ["repo-import", "repo-sign", "!repo-publish"] {
        assert!(plan_text.contains(stage), "{stage} in:\n{plan_text}");
    }

    // The GitLab stages around them need a GitLab; the rehearsal brings one.
    let out = run_repo_stages(&sb, None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("3 stage(s) applied"), "{all}");
    let (passed, detail) = site.check(|_, _, _| {});
    assert!(passed, "{detail}");
    assert_live(&sb, &site, V);
    // The previous tree is kept, whole and verifiable.
    let previous = site.root().join("archive").join(PREVIOUS_VERSION);
    let out = run(&sb, &["repo", "verify", previous.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", all_text(&out));

    // A re-run finds everything done.
    let out = run_repo_stages(&sb, None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("0 stage(s) applied, 3 already done"), "{all}");

    // Anyone can verify the published tree over HTTP too.
    let server = tests::http::HttpServer::serve(site.root()).unwrap();
    let out = run(&sb, &["repo", "verify", &server.url("release/")], None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("bookworm:") && all.contains("trixie:"),
        "{all}"
    );
    drop(server);

    // A tampered copy is refused, naming the file and both sizes.
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(site.root().join("archive").join(V).join("dists"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let packages = copy.path().join("dists/trixie/main/binary-arm64/Packages");
    let mut bytes = std::fs::read(&packages).unwrap();
    bytes.extend_from_slice(b"Package: evil\n");
    std::fs::write(&packages, &bytes).unwrap();
    let out = run(
        &sb,
        &["repo", "verify", copy.path().to_str().unwrap()],
        None,
    );
    let all = all_text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("main/binary-arm64/Packages"), "{all}");
    assert!(all.contains(&bytes.len().to_string()), "{all}");

    // Rollback returns to the previous release, and forward again.
    let out = run(&sb, &["repo", "rollback"], None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!(
            "release -> archive/{PREVIOUS_VERSION} (was archive/{V})"
        )),
        "{all}"
    );
    assert_live(&sb, &site, PREVIOUS_VERSION);
    let out = run(&sb, &["repo", "rollback", V], None);
    assert!(out.status.success(), "{}", all_text(&out));
    assert_live(&sb, &site, V);
    let out = run(&sb, &["repo", "rollback", "2023.12"], None);
    let all = all_text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("archive/2023.12"), "{all}");
    assert_eq!(site.live_target().unwrap(), format!("archive/{V}"));
}

#[test]
fn crashes_between_suites_and_before_publish_leave_the_live_tree_whole() {
    let (sb, site) = setup();

    // Killed after the first suite is signed.
    let out = run_repo_stages(&sb, Some("repo-sign:between-suites"));
    assert_eq!(
        out.status.code(),
        Some(lava_release_cli_failpoint_exit()),
        "{}",
        all_text(&out)
    );
    assert_live(&sb, &site, PREVIOUS_VERSION);
    let bookworm = suite_signatures(site.root(), "bookworm");
    let current = site.root().join("current-release");
    let out = run(&sb, &["repo", "verify", current.to_str().unwrap()], None);
    let all = all_text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("dists/trixie"),
        "trixie is not signed yet: {all}"
    );

    // Killed between sign and publish: bookworm is left alone.
    let out = run_repo_stages(&sb, Some("before:repo-publish"));
    let all = all_text(&out);
    assert_eq!(
        out.status.code(),
        Some(lava_release_cli_failpoint_exit()),
        "{all}"
    );
    assert!(
        all.contains("bookworm already valid, trixie signed"),
        "{all}"
    );
    assert_eq!(suite_signatures(site.root(), "bookworm"), bookworm);
    let signed = (
        suite_signatures(site.root(), "bookworm"),
        suite_signatures(site.root(), "trixie"),
    );
    assert_live(&sb, &site, PREVIOUS_VERSION);
    let out = run(&sb, &["repo", "verify", current.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", all_text(&out));

    // The re-run publishes without signing anything again.
    let out = run_repo_stages(&sb, None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("1 stage(s) applied, 2 already done"), "{all}");
    assert_eq!(
        (
            suite_signatures(site.root(), "bookworm"),
            suite_signatures(site.root(), "trixie"),
        ),
        signed
    );
    assert_live(&sb, &site, V);
}

/// `lava_release_cli::FAILPOINT_EXIT`, which the tests crate does not link.
fn lava_release_cli_failpoint_exit() -> i32 {
    86
}

#[test]
fn remote_site_over_ssh_imports_signs_publishes_and_rolls_back() {
    let (sb, site) = setup();
    let sshd = tests::sshd::Sshd::start().unwrap();
    // The same site, reached through the system's OpenSSH on 127.0.0.1.
    let config = std::fs::read_to_string(sb.config()).unwrap();
    let config = config.replace(
        &format!("site = {:?}", site.root().display().to_string()),
        &format!(
            "site = {:?}\nssh_config = {:?}",
            sshd.url(site.root()),
            sshd.ssh_config().display().to_string()
        ),
    );
    assert!(config.contains("ssh://"), "{config}");
    std::fs::write(sb.config(), config).unwrap();

    let out = run_repo_stages(&sb, None);
    let all = all_text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("3 stage(s) applied"), "{all}");
    assert_live(&sb, &site, V);
    let live = sshd.url(&site.root().join("release"));
    let out = run(&sb, &["repo", "verify", &live], None);
    assert!(out.status.success(), "{}", all_text(&out));

    let out = run(&sb, &["repo", "rollback"], None);
    assert!(out.status.success(), "{}", all_text(&out));
    assert_live(&sb, &site, PREVIOUS_VERSION);
}

#[test]
fn a_tampered_index_stops_repo_sign_naming_it_and_nothing_is_signed_or_published() {
    let (sb, site) = setup();
    let out = run(&sb, &["run", V, "--yes", "--only", "repo-import"], None);
    assert!(out.status.success(), "{}", all_text(&out));
    let packages = site
        .root()
        .join("current-release/dists/bookworm/main/binary-amd64/Packages");
    let mut bytes = std::fs::read(&packages).unwrap();
    bytes.extend_from_slice(b"\nPackage: intruder\nVersion: 1.0\n");
    std::fs::write(&packages, bytes).unwrap();
    let signatures = |suite: &str| {
        let dir = site.root().join("current-release/dists").join(suite);
        (
            std::fs::read(dir.join("InRelease")).ok(),
            std::fs::read(dir.join("Release.gpg")).ok(),
        )
    };
    let before: Vec<_> = tests::aptrepo::SUITES
        .iter()
        .map(|s| signatures(s))
        .collect();

    let out = run_repo_stages(&sb, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let line = crate::support::error_line(&out);
    assert!(
        line.starts_with("lava-release: stage `repo-sign` ")
            && line.contains("bookworm")
            && line.contains("main/binary-amd64/Packages"),
        "{stderr}"
    );
    let after: Vec<_> = tests::aptrepo::SUITES
        .iter()
        .map(|s| signatures(s))
        .collect();
    assert_eq!(after, before, "a signature was written");
    assert_eq!(
        site.live_target().unwrap(),
        format!("archive/{PREVIOUS_VERSION}")
    );

    // `repo verify --json` reports every suite, each with all its problems, in the
    // fields docs/repo-verify.md documents; the one line on stderr counts them.
    let current = site.root().join("current-release");
    let out = run(
        &sb,
        &["repo", "verify", current.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], 1);
    let documented: Vec<String> = crate::support::documented_rows("repo-verify.md")
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(documented.len(), 7, "{documented:?}");
    let suites = report["suites"].as_array().unwrap();
    assert_eq!(suites.len(), tests::aptrepo::SUITES.len(), "{report}");
    for suite in suites {
        let mut fields: Vec<&String> = suite.as_object().unwrap().keys().collect();
        fields.sort();
        let mut want: Vec<&String> = documented.iter().collect();
        want.sort();
        assert_eq!(fields, want, "{suite}");
    }
    let bookworm = suites.iter().find(|s| s["suite"] == "bookworm").unwrap();
    assert_eq!(bookworm["right"], false);
    assert!(
        bookworm["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("main/binary-amd64/Packages")),
        "{bookworm}"
    );
    let line = crate::support::error_line(&out);
    assert!(
        line.contains("suite(s) at") && line.contains("bookworm"),
        "{line}"
    );
}
