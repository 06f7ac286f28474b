//! LAVA today's apt repository: the tag pipeline's trigger job starts a pipeline in
//! `lava/lava-apt-repo` that publishes it, and `apt-publish` follows that job to its
//! pipeline, waits, and proves the repository over HTTP. When the trigger job is
//! missing, the publishing pipeline fails or the repository lacks the release, the run
//! stops there in one sentence naming the pipeline or the suite, before the GitLab
//! release, the milestone and the mail; and CI packages built for the wrong suite stop
//! it at the consistency gate.

use tests::rehearsal::{DEFAULT_VERSION, Downstream, ImageVersion, Options, Rehearsal};
use tests::sandbox::PREVIOUS_VERSION;

const V: &str = DEFAULT_VERSION;

fn rehearsal(options: Options) -> Rehearsal {
    Rehearsal::setup_with(&tests::bin::lava_release_bin(), V, options).unwrap()
}

/// Runs the whole release, which must stop at `stage` in one line holding `says`;
/// returns that line. The GitLab release, the milestone and the mail, which come after,
/// are untouched.
fn stopped_at(r: &Rehearsal, stage: &str, says: &[&str]) -> String {
    let (line, stderr) = crate::support::failed_release(r);
    assert!(line.contains(&format!("stage `{stage}` ")), "{stderr}");
    for part in says {
        assert!(
            line.contains(part),
            "`{part}` missing from: {line}\n{stderr}"
        );
    }
    let gitlab = r.sandbox().gitlab().unwrap();
    assert!(gitlab.releases().iter().all(|(tag, _, _)| tag != V));
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("active"));
    line
}

#[test]
fn a_tag_pipeline_without_the_publishing_trigger_job_blocks_apt_publish() {
    let r = rehearsal(Options {
        downstream: Downstream::Missing,
        ..Options::default()
    });
    stopped_at(
        &r,
        "apt-publish",
        &[
            "is blocked: pipeline ",
            &format!("of tag {V} (http://127.0.0.1:"),
            "has no trigger job `publish-packages/release` (it has none)",
        ],
    );
}

#[test]
fn a_failed_publishing_pipeline_stops_the_release_naming_it() {
    let r = rehearsal(Options {
        downstream: Downstream::Fails,
        ..Options::default()
    });
    let line = stopped_at(
        &r,
        "apt-publish",
        &["failed: pipeline ", "for a trigger job failed ("],
    );
    assert!(line.contains("/lava/lava-apt-repo/-/pipelines/"), "{line}");
    // The plan says so too, from GitLab's state alone.
    let plan = r.run(&["plan", V, "--json"], None).unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let stage = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "apt-publish")
        .unwrap();
    assert_eq!(stage["status"], "blocked", "{stage:#}");
    assert!(
        stage["reason"]
            .as_str()
            .unwrap()
            .contains("in lava/lava-apt-repo is failed: http://127.0.0.1:"),
        "{stage:#}"
    );
}

#[test]
fn a_repository_without_the_new_version_blocks_apt_publish_naming_the_suite() {
    let r = rehearsal(Options {
        downstream: Downstream::PublishesNothing,
        ..Options::default()
    });
    stopped_at(
        &r,
        "apt-publish",
        &[
            "/release/dists/bookworm/InRelease does not list lava ",
            &format!("{V}+12+bookworm in bookworm (it lists {PREVIOUS_VERSION})"),
        ],
    );
}

#[test]
fn ci_packages_built_for_the_wrong_suite_stop_the_release_at_the_gate() {
    let r = rehearsal(Options {
        bookworm_job_suite: Some("trixie"),
        ..Options::default()
    });
    stopped_at(
        &r,
        "consistency",
        &[
            &format!(
                "holds no .changes of lava {V}+12+bookworm for bookworm (it holds lava {V}+13+trixie for trixie"
            ),
            "the CI jobs built for the wrong suite",
        ],
    );
}

#[test]
fn a_package_at_another_version_for_its_suite_stops_the_release_at_the_gate() {
    let r = rehearsal(Options {
        upload_version: Some("2024.02+11+bookworm"),
        ..Options::default()
    });
    stopped_at(
        &r,
        "consistency",
        &[
            "the Debian version of ",
            &format!("differs: repo.package_version for bookworm says {V}+12+bookworm, but "),
            "says 2024.02+11+bookworm",
        ],
    );
}

#[test]
fn an_image_whose_version_file_says_another_version_stops_the_release_at_the_gate() {
    let r = rehearsal(Options {
        image_version: ImageVersion::File("2023.12"),
        ..Options::default()
    });
    stopped_at(
        &r,
        "consistency",
        &[
            &format!(
                "the version differs: the release says {V}, but /usr/lib/python3/dist-packages/lava_common/VERSION in "
            ),
            "says 2023.12",
        ],
    );
}

#[test]
fn an_image_with_no_version_label_nor_file_is_no_proof() {
    let r = rehearsal(Options {
        image_version: ImageVersion::Nothing,
        ..Options::default()
    });
    stopped_at(
        &r,
        "consistency",
        &[
            "has no org.opencontainers.image.version label and none of its 2 layers holds /usr/lib/python3/dist-packages/lava_common/VERSION: nothing proves it holds ",
        ],
    );
}

#[test]
fn a_docker_hub_password_that_is_refused_stops_the_run_before_the_tag() {
    let r = rehearsal(Options::default());
    r.set_hub_password("not-the-password").unwrap();
    let out = r.run(&["run", V, "--yes"], None).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("lava-release: 127.0.0.1:")
            && stderr.contains("rejected the password of user `lavasoftware`"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    // Nothing was done: no tag, here or on origin.
    let tags = r.sandbox().git(&["tag", "--list", V], None).unwrap();
    assert!(tags.trim().is_empty(), "{tags}");
    let remote = r
        .sandbox()
        .git(&["ls-remote", "--tags", "origin"], None)
        .unwrap();
    assert!(!remote.contains(V), "{remote}");
    // `plan` says so as "ready to release?".
    let plan = r.run(&["plan", V], None).unwrap();
    let stdout = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        stdout.contains("Ready to release? no:\n    - 127.0.0.1:")
            && stdout.contains("rejected the password of user `lavasoftware`"),
        "{stdout}"
    );
    let plan = r.run(&["plan", V, "--json"], None).unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        plan["not_ready"].as_array().map(Vec::len),
        Some(1),
        "{plan:#}"
    );
    // With the right password, nothing is wrong.
    r.set_hub_password("rehearsal-hub-password").unwrap();
    let plan = r.run(&["plan", V], None).unwrap();
    let stdout = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(stdout.contains("Ready to release? yes"), "{stdout}");
}
