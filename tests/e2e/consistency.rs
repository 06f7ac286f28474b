//! The consistency stage in a whole release: when the parts of the release disagree
//! (the upload CI built, the commit its pipeline built, a version tag already on Docker
//! Hub), `lava-release run` stops at `consistency` with one sentence naming both sides,
//! and nothing has been published from the release. Nor does any selection of stages
//! (`--only`, `--from`) reach a publishing stage around it.

use std::process::Output;

use serde_json::Value;
use tests::rehearsal::{DEFAULT_VERSION, ImageRegistry, Options, Publishing, Rehearsal};
use tests::sandbox::PREVIOUS_VERSION;

const V: &str = DEFAULT_VERSION;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A rehearsal of the written process: the apt repository published by reprepro, after
/// the gate, so that the gate's stop can be seen to hold it back too. (LAVA today's CI
/// publishes the repository from the tag's pipeline whatever lava-release decides.)
fn written() -> Rehearsal {
    Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            publishing: Publishing::Reprepro,
            ..Options::default()
        },
    )
    .unwrap()
}

/// Runs the whole release, which must stop at `consistency` with one line saying
/// `reason`; returns that line.
fn stopped_at_the_gate(r: &Rehearsal, reason: &str) -> String {
    let (line, stderr) = crate::support::failed_release(r);
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
/// release and milestone, the Debian upload and the mail are as they were, and no
/// consistency record pins it.
fn nothing_published(r: &Rehearsal) {
    assert_eq!(
        r.apt().live_target().unwrap(),
        format!("archive/{PREVIOUS_VERSION}")
    );
    for image in ["lava-dispatcher", "lava-server", "amd64-lava-dispatcher"] {
        assert!(
            r.published_digest(&format!("lavasoftware/{image}:{V}"))
                .is_err(),
            "{image}:{V} was published"
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
    let state = r.sandbox().repo().join(".git/lava-release");
    for file in [
        format!("{V}-consistency.json"),
        format!("{V}-announce.eml"),
        format!("debian/{V}"),
    ] {
        assert!(!state.join(&file).exists(), "{file} exists");
    }
}

#[test]
fn an_upload_at_another_version_stops_the_release_before_the_repository() {
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            upload_version: Some(V),
            publishing: Publishing::Reprepro,
            ..Options::default()
        },
    )
    .unwrap();
    let line = stopped_at_the_gate(&r, "the Debian version of ");
    assert!(
        line.contains(&format!("differs: repo.package_version says {V}-1, but "))
            && line.contains(&format!("lava_{V}_multi.changes says {V}")),
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
            publishing: Publishing::Reprepro,
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
    let r = written();
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
            publishing: Publishing::Reprepro,
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
    let r = written();
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

// No selection of stages reaches a publishing stage around the consistency stage, and a
// stage never runs on what an earlier stage has not established: `run` enforces every
// stage's needs whatever `--only`, `--from` or `--to` say.

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The plan's stages as `plan --json` lists them.
fn stages(r: &Rehearsal) -> Vec<Value> {
    let out = r.run(&["plan", V, "--json"], None).unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["stages"].as_array().unwrap().clone()
}

/// Runs `args`, which must be refused at `stage` for want of `provider`; returns the
/// final line.
fn refused(r: &Rehearsal, args: &[&str], stage: &str, provider: &str) -> String {
    let out = r.run(args, None).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}\n{}", show(&out));
    let line = crate::support::error_line(&out);
    assert!(
        line.starts_with(&format!(
            "lava-release: stage `{stage}` is blocked: it needs "
        )) && line.contains(&format!("stage `{provider}` is ")),
        "{args:?}: {line}\n{}",
        show(&out)
    );
    line
}

#[test]
fn no_selection_reaches_a_publishing_stage_around_the_consistency_gate() {
    let r = written();
    let plan = stages(&r);
    let names: Vec<&str> = plan.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let gate = names.iter().position(|n| *n == "consistency").unwrap();
    let publishing: Vec<&str> = plan[gate + 1..]
        .iter()
        .filter(|s| {
            s["needs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "consistency")
        })
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // Every stage after the gate that publishes something says it needs the gate.
    for stage in &plan[gate + 1..] {
        if stage["irreversible"] == true {
            assert!(
                publishing.contains(&stage["name"].as_str().unwrap()),
                "{stage:#}"
            );
        }
    }
    assert!(publishing.len() >= 8, "{publishing:?}");

    // On a fresh journal, with nothing done, no publishing stage can be run alone or
    // first.
    for stage in &publishing {
        refused(
            &r,
            &["run", V, "--yes", "--only", stage],
            stage,
            "consistency",
        );
    }
    nothing_published(&r);

    // Everything up to the gate is done (the tag pushed, its pipeline passed, CI's
    // artifacts fetched), only the gate has not run: still no selection gets around it,
    // and CI's images are not copied unpinned.
    let out = r
        .run(&["run", V, "--yes", "--to", names[gate - 1]], None)
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    for stage in &publishing {
        for selection in ["--only", "--from"] {
            let line = refused(
                &r,
                &["run", V, "--yes", selection, stage],
                stage,
                "consistency",
            );
            assert!(
                line.contains("the consistency record for this version"),
                "{line}"
            );
        }
    }
    nothing_published(&r);
    let journal = r.journal().unwrap();
    let last = journal["events"].as_array().unwrap().last().unwrap();
    assert_eq!(last["outcome"], "blocked", "{journal:#}");

    // Once the gate has passed, the same selection publishes.
    let out = r
        .run(&["run", V, "--yes", "--only", "consistency"], None)
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = r
        .run(&["run", V, "--yes", "--only", "release-notes"], None)
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        r.sandbox()
            .gitlab()
            .unwrap()
            .releases()
            .iter()
            .any(|(tag, _, _)| tag == V)
    );
}

#[test]
fn a_stage_never_runs_on_what_an_earlier_stage_has_not_established() {
    let r = Rehearsal::setup(&tests::bin::lava_release_bin(), V).unwrap();
    // The tag is made locally but not signed: pushing it alone is refused, so an
    // unsigned tag never reaches origin.
    let out = r
        .run(&["run", V, "--yes", "--to", "local-tag"], None)
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    refused(
        &r,
        &["run", V, "--yes", "--only", "push-tag"],
        "push-tag",
        "signed-tag",
    );
    let remote = r
        .sandbox()
        .git(&["ls-remote", "--tags", "origin"], None)
        .unwrap();
    assert!(!remote.contains(&format!("refs/tags/{V}")), "{remote}");
    // CI's artifacts are never taken from a pipeline that has not succeeded, and the
    // pipeline is not waited for before the tag is pushed.
    refused(
        &r,
        &["run", V, "--yes", "--only", "wait-ci"],
        "wait-ci",
        "push-tag",
    );
    refused(
        &r,
        &["run", V, "--yes", "--only", "ci-artifacts"],
        "ci-artifacts",
        "wait-ci",
    );
}
