//! The consistency stage in a whole release: when the parts of the release disagree
//! (the upload CI built, the commit its pipeline built, a version tag already on Docker
//! Hub), `lava-release run` stops at `consistency` with one sentence naming both sides,
//! and nothing has been published from the release.

use std::process::Output;

use tests::rehearsal::{DEFAULT_VERSION, ImageRegistry, Options, Rehearsal};
use tests::sandbox::PREVIOUS_VERSION;

const V: &str = DEFAULT_VERSION;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the whole release, which must stop at `consistency` with one line saying
/// `reason`; returns that line.
fn stopped_at_the_gate(r: &Rehearsal, reason: &str) -> String {
    let out: Output = r.run(&["run", V, "--yes"], None).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("lava-release: "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("stage `consistency` is blocked: ") && line.contains(reason),
        "{reason}\n{stderr}"
    );
    let journal = r.journal().unwrap();
    let last = journal["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["stage"].as_str(), last["outcome"].as_str()),
        (Some("consistency"), Some("blocked")),
        "{journal:#}"
    );
    line
}

/// Nothing was published from the release: the live apt tree, Docker Hub, the GitLab
/// release and the milestone are as they were, and no consistency record pins it.
fn nothing_published(r: &Rehearsal) {
    assert_eq!(
        r.apt().live_target().unwrap(),
        format!("archive/{PREVIOUS_VERSION}")
    );
    for list in ["lava-dispatcher", "lava-server"] {
        assert!(
            r.published_digest(&format!("lavasoftware/{list}:{V}"))
                .is_err()
        );
    }
    let gitlab = r.sandbox().gitlab().unwrap();
    assert!(
        gitlab.releases().iter().all(|(tag, _, _)| tag != V),
        "{:?}",
        gitlab.releases()
    );
    assert!(
        !gitlab
            .writes()
            .iter()
            .any(|w| w.method == "PUT" && w.path.contains("/milestones/")),
        "{:#?}",
        gitlab.writes()
    );
    let record = r
        .sandbox()
        .repo()
        .join(format!(".git/lava-release/{V}-consistency.json"));
    assert!(!record.exists(), "{}", record.display());
}

#[test]
fn an_upload_at_another_version_stops_the_release_before_the_repository() {
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            upload_version: Some(V),
            ..Options::default()
        },
    )
    .unwrap();
    let line = stopped_at_the_gate(
        &r,
        &format!("the Debian version differs: the release says {V}-1, but "),
    );
    assert!(
        line.contains(&format!("lava_{V}_multi.changes says {V}")),
        "{line}"
    );
    nothing_published(&r);
}

#[test]
fn a_pipeline_of_another_commit_stops_the_release() {
    const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            tag_pipeline_sha: Some(OTHER),
            ..Options::default()
        },
    )
    .unwrap();
    let line = stopped_at_the_gate(&r, "the release commit differs: tag ");
    let commit = r
        .sandbox()
        .git(&["rev-parse", &format!("{V}^{{commit}}")], None)
        .unwrap();
    assert!(
        line.contains(&format!("tag {V} says {}, but pipeline ", commit.trim()))
            && line.contains(&format!("says {OTHER}")),
        "{line}"
    );
    nothing_published(&r);
}

#[test]
fn a_version_tag_already_on_docker_hub_at_another_digest_is_never_replaced() {
    let r = Rehearsal::setup(&tests::bin::lava_release_bin(), V).unwrap();
    // Someone pushed the dispatcher image as the server's version tag.
    let squatter = r
        .push_image(
            ImageRegistry::Hub,
            "lavasoftware/amd64-lava-server",
            V,
            "lava-dispatcher",
            "amd64",
        )
        .unwrap();
    let built = r
        .image_layout()
        .image("lava-server", "amd64")
        .digest
        .clone();
    let line = stopped_at_the_gate(
        &r,
        &format!("/lavasoftware/amd64-lava-server:{V} differs: "),
    );
    assert!(
        line.contains(&format!(
            "CI's image says {built}, but the published tag says {squatter}"
        )),
        "{line}"
    );
    assert_eq!(
        r.published_digest(&format!("lavasoftware/amd64-lava-server:{V}"))
            .unwrap(),
        squatter
    );
    nothing_published(&r);
}

#[test]
fn artifacts_of_another_release_stop_the_release_at_ci_artifacts() {
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            upload_version: Some("2023.12-1"),
            ..Options::default()
        },
    )
    .unwrap();
    let out = r.run(&["run", V, "--yes"], None).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stage `ci-artifacts` failed: the artifacts of debian-bookworm hold lava_2023.12-1_multi.changes, none of them a .changes of lava {V}-1; the tag's pipeline built something else"
        )),
        "{stderr}"
    );
    nothing_published(&r);
}

#[test]
fn docker_publish_copies_the_digests_the_gate_pinned_and_a_moved_ci_tag_is_caught() {
    let r = Rehearsal::setup(&tests::bin::lava_release_bin(), V).unwrap();
    let out = r
        .run(&["run", V, "--yes", "--to", "consistency"], None)
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checked = r
        .image_layout()
        .image("lava-server", "amd64")
        .digest
        .clone();
    // A later pipeline moves CI's tag to another image.
    let moved = r
        .push_image(
            ImageRegistry::Ci,
            "lava/lava/amd64/lava-server",
            V,
            "lava-dispatcher",
            "amd64",
        )
        .unwrap();
    assert_ne!(moved, checked);
    let out = r
        .run(&["run", V, "--yes", "--only", "docker-publish"], None)
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        r.published_digest(&format!("lavasoftware/amd64-lava-server:{V}"))
            .unwrap(),
        checked
    );
    // The next run's gate sees CI and Docker Hub disagree, and says so.
    let line = stopped_at_the_gate(
        &r,
        &format!("/lavasoftware/amd64-lava-server:{V} differs: "),
    );
    assert!(
        line.contains(&format!(
            "CI's image says {moved}, but the published tag says {checked}"
        )),
        "{line}"
    );
}
