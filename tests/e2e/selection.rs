//! No selection of stages reaches a publishing stage around the consistency gate, and a
//! stage never runs on what an earlier stage has not established: `run` enforces every
//! stage's needs whatever `--only`, `--from` or `--to` say.

use std::process::Output;

use serde_json::Value;
use tests::rehearsal::{DEFAULT_VERSION, Rehearsal};
use tests::sandbox::PREVIOUS_VERSION;

const V: &str = DEFAULT_VERSION;

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
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("lava-release: "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.starts_with(&format!(
            "lava-release: stage `{stage}` is blocked: it needs "
        )) && line.contains(&format!("stage `{provider}` is ")),
        "{args:?}: {line}\n{}",
        show(&out)
    );
    line
}

/// Nothing was published from the release: the live apt tree, Docker Hub, the GitLab
/// release and milestone, the Debian queue and the mail are as they were, and no
/// consistency record pins it.
fn nothing_published(r: &Rehearsal) {
    assert_eq!(
        r.apt().live_target().unwrap(),
        format!("archive/{PREVIOUS_VERSION}")
    );
    for image in ["lava-dispatcher", "lava-server", "amd64-lava-server"] {
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
fn no_selection_reaches_a_publishing_stage_around_the_consistency_gate() {
    let r = Rehearsal::setup(&tests::bin::lava_release_bin(), V).unwrap();
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
