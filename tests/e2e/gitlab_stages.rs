//! The GitLab stages end to end, against the stand-in: milestone, the fork's and the
//! tag's pipelines, artifacts, release notes, milestone closing, registry pruning.

use tests::gitlab::{DebianArtifacts, JobSpec, MilestoneSpec, PipelineSpec};
use tests::sandbox::{GITLAB_TOKEN, Sandbox, assert_stdout_contains, assert_success, text};

const V: &str = "2024.02";

fn sandbox(seed: impl FnOnce(tests::gitlab::Builder) -> tests::gitlab::Builder) -> Sandbox {
    Sandbox::lava().unwrap().with_gitlab_seeded(seed).unwrap()
}

fn tag_commit(sb: &Sandbox) -> String {
    sb.git(&["rev-parse", &format!("refs/tags/{V}^{{commit}}")], None)
        .unwrap()
        .trim()
        .to_owned()
}

/// A sandbox whose CI artifacts of job `debian-bookworm` go to its `incoming`
/// directory; `gitlab_keys` are added to `[gitlab]` besides.
fn taking_artifacts(gitlab_keys: &str) -> (Sandbox, std::path::PathBuf) {
    let mut sb = sandbox(|b| b.milestone(MilestoneSpec::new(V)));
    let incoming = sb.path().join("incoming");
    sb.add_gitlab_keys(&format!(
        "{gitlab_keys}\nartifact_jobs = [\"debian-bookworm\"]"
    ))
    .unwrap();
    sb.add_keys(
        "repo",
        &format!("incoming = {:?}", incoming.display().to_string()),
    )
    .unwrap();
    (sb, incoming)
}

/// The tag's pipeline, passing, its job `debian-bookworm` holding `artifacts`.
fn tag_pipeline_with(sb: &Sandbox, artifacts: &DebianArtifacts) {
    sb.gitlab().unwrap().add_pipeline(
        PipelineSpec::tag(V, &tag_commit(sb))
            .timeline(&["running", "success"])
            .job(
                JobSpec::new("debian-bookworm", "build")
                    .ends("success")
                    .artifacts(artifacts.zip()),
            ),
    );
}

#[test]
fn open_merge_requests_block_before_anything_is_written_unless_allowed() {
    let sb = sandbox(|b| b.milestone(MilestoneSpec::new(V).issues(2, 5).merge_requests(1, 3)));
    let changelog = std::fs::read(sb.repo().join("debian/changelog")).unwrap();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stage `milestone-check` is blocked"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-open"), "{stderr}");
    assert!(
        text(&out.stdout).contains("http://127.0.0.1:"),
        "the open items are listed with their URLs"
    );
    assert_eq!(
        std::fs::read(sb.repo().join("debian/changelog")).unwrap(),
        changelog
    );

    // Nor can the milestone be closed on its own while items are open.
    let out = sb
        .lava_release(&["run", V, "--yes", "--only", "close-milestone"])
        .output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "stage `close-milestone` is blocked: it needs the milestone checked clear, and stage `milestone-check` is blocked"
        ),
        "{stderr}"
    );
    let gitlab = sb.gitlab().unwrap();
    assert!(
        !gitlab
            .writes()
            .iter()
            .any(|w| w.path.contains("/milestones/")),
        "{:#?}",
        gitlab.writes()
    );

    let out = sb
        .lava_release(&["run", V, "--yes", "--allow-open", "--to", "changelog"])
        .output();
    assert_success(&out);
}

#[test]
fn a_failed_tag_pipeline_names_its_failed_jobs_and_nothing_is_published() {
    let sb = sandbox(|b| b.milestone(MilestoneSpec::new(V)));
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    let gitlab = sb.gitlab().unwrap();
    gitlab.add_pipeline(
        PipelineSpec::tag(V, &tag_commit(&sb))
            .timeline(&["pending", "running", "failed"])
            .job(JobSpec::new("debian-bookworm", "build").ends("success"))
            .job(JobSpec::new("unit-tests", "test").ends("failed").trace(
                "collected 312 items\nFAILED test_deploy.py::test_fastboot\n1 failed, 311 passed",
            )),
    );
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stage `wait-ci` failed"), "{stderr}");
    assert!(stderr.contains("unit-tests"), "{stderr}");
    assert!(
        stderr.contains("1 failed, 311 passed"),
        "the failed job's log tail: {stderr}"
    );
    assert!(gitlab.releases().is_empty(), "no release published");
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("active"));
}

#[test]
fn a_tag_pipeline_that_never_starts_stops_the_release_in_one_sentence() {
    let mut sb = sandbox(|b| b.milestone(MilestoneSpec::new(V)));
    sb.add_gitlab_keys("ci_timeout_secs = 2").unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    let gitlab = sb.gitlab().unwrap();
    let writes = gitlab.writes().len();
    let out = sb.lava_release(&["run", V, "--yes"]).output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = crate::support::error_line(&out);
    assert!(
        line.starts_with("lava-release: stage `wait-ci` ")
            && line.contains("no pipeline for tag `2024.02` appeared within 2s"),
        "{stderr}"
    );
    assert_eq!(gitlab.writes().len(), writes, "{:#?}", gitlab.writes());
    assert!(gitlab.releases().is_empty(), "no release published");
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("active"));
}

#[test]
fn artifacts_whose_hashes_disagree_with_their_changes_are_never_put_in_place() {
    let (sb, incoming) = taking_artifacts("");
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    let deb = format!("lava_{V}-1_all.deb");
    let artifacts = DebianArtifacts::new("lava", &format!("{V}-1"), "build")
        .file(&format!("lava_{V}-1.dsc"), b"dsc")
        .file(&deb, b"deb bytes")
        .corrupt(&deb);
    tag_pipeline_with(&sb, &artifacts);
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "ci-artifacts"])
        .output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = crate::support::error_line(&out);
    assert!(
        line.starts_with("lava-release: stage `ci-artifacts` failed: ")
            && line.contains(&deb)
            && line.contains(&artifacts.changes_name())
            && line.contains("the artifacts are damaged or tampered with"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(&incoming)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn downloads_draw_byte_bars_on_a_terminal_and_nothing_off_one() {
    let (sb, incoming) = taking_artifacts("");
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    // Bytes that do not compress, so the archive is as big as the package.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let deb: Vec<u8> = (0..4 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let artifacts = DebianArtifacts::new("lava", &format!("{V}-1"), "build")
        .file(&format!("lava_{V}-1.dsc"), b"dsc")
        .file(&format!("lava_{V}-1_all.deb"), &deb);
    tag_pipeline_with(&sb, &artifacts);

    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "ci-artifacts"])
        .on_terminal();
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(incoming.join(artifacts.changes_name()).is_file());
    // The pipeline wait's spinner, with the run's: job counts and the page to click.
    for drawn in [
        "1/1 jobs succeeded",
        "debian-bookworm artifacts",
        "total",
        "B/s",
        "ETA",
    ] {
        assert!(
            screen.contains(drawn),
            "no `{drawn}` on the terminal:\n{screen}"
        );
    }

    // Off a terminal (and quiet on one), no bar: the stage's line alone.
    std::fs::remove_dir_all(&incoming).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes", "--only", "ci-artifacts"])
        .output();
    assert_success(&out);
    assert!(!text(&out.stderr).contains("B/s"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&incoming).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes", "--only", "ci-artifacts", "-q"])
        .on_terminal();
    assert!(out.status.success());
    assert!(!text(&out.stdout).contains("B/s"), "{}", text(&out.stdout));
}

#[test]
fn the_fork_pipeline_is_waited_for_and_artifacts_feed_the_incoming_directory() {
    let (sb, incoming) = taking_artifacts("fork_project = \"lava/lava\"");

    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "fork-ci"])
        .output();
    assert_success(&out);
    let head = sb
        .git(&["rev-parse", "HEAD"], None)
        .unwrap()
        .trim()
        .to_owned();
    let gitlab = sb.gitlab().unwrap();
    gitlab.add_pipeline(PipelineSpec::branch("master", &head).timeline(&["running", "success"]));
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    assert_stdout_contains(&out, "fork pipeline");

    let artifacts = DebianArtifacts::new("lava", &format!("{V}-1"), "build")
        .file(&format!("lava_{V}-1.dsc"), b"dsc")
        .file(&format!("lava_{V}-1_all.deb"), b"deb bytes");
    tag_pipeline_with(&sb, &artifacts);
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "ci-artifacts"])
        .output();
    assert_success(&out);
    assert!(incoming.join(artifacts.changes_name()).is_file());
    assert_eq!(
        std::fs::read(incoming.join(format!("lava_{V}-1_all.deb"))).unwrap(),
        b"deb bytes"
    );
    let plan = sb.lava_release(&["plan", V, "--json"]).output();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let status = |name: &str| {
        plan["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("fork-wait-ci"), "done");
    assert_eq!(status("ci-artifacts"), "done");
}

#[test]
fn the_release_is_created_once_and_the_token_never_shows() {
    let sb = sandbox(|b| b.milestone(MilestoneSpec::new(V)));
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "push-tag"])
        .output();
    assert_success(&out);
    sb.ci_for_tag(V).unwrap();
    let first = sb.lava_release(&["run", V, "--yes"]).output();
    assert_success(&first);
    let second = sb.lava_release(&["run", V, "--yes"]).output();
    assert_success(&second);
    let gitlab = sb.gitlab().unwrap();
    assert_eq!(gitlab.releases().len(), 1);
    let writes = gitlab.writes();
    let release_writes = writes
        .iter()
        .filter(|r| r.path.contains("/releases") && !r.path.contains("/assets/links"))
        .count();
    assert_eq!(release_writes, 1, "created once, never rewritten");
    // The manifest and its signature: each linked from the release once.
    let links = writes
        .iter()
        .filter(|r| r.path.ends_with("/assets/links"))
        .count();
    assert_eq!(links, 2, "{writes:?}");
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("closed"));
    let journal =
        std::fs::read_to_string(sb.repo().join(format!(".git/lava-release/{V}.json"))).unwrap();
    for output in [
        text(&first.stdout),
        text(&first.stderr),
        text(&second.stdout),
        journal,
    ] {
        assert!(!output.contains(GITLAB_TOKEN), "token leaked: {output}");
    }
}

#[test]
fn registry_prune_is_a_dry_run_unless_applied() {
    let sb = sandbox(|b| {
        b.milestone(MilestoneSpec::new(V)).registry_repository(
            "lava/amd64/lava-server",
            &["2024.01", "2024.02.0001.daily", "2024.02.0002.daily"],
        )
    });
    let out = sb.lava_release(&["registry-prune", "*.daily"]).output();
    assert_success(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2 tag(s) matched, 0 deleted (dry run"),
        "{stdout}"
    );
    let gitlab = sb.gitlab().unwrap();
    assert_eq!(gitlab.registry_tags("lava/amd64/lava-server").len(), 3);
    let out = sb
        .lava_release(&["registry-prune", "*.daily", "--apply"])
        .output();
    assert_success(&out);
    assert_eq!(gitlab.registry_tags("lava/amd64/lava-server"), ["2024.01"]);
}

/// The sandbox's `[gitlab]` table without the token.
fn without_token(sb: &mut Sandbox) {
    let url = sb.gitlab().unwrap().url().to_owned();
    sb.replace_section(
        "gitlab",
        &format!(
            "[gitlab]\nurl = {url:?}\nproject = \"lava/lava\"\npoll_initial_ms = 100\npoll_max_ms = 300\nci_timeout_secs = 60"
        ),
    )
    .unwrap();
}

#[test]
fn a_public_project_is_read_without_a_token_and_written_only_with_one() {
    let mut sb = sandbox(|b| b.milestone(MilestoneSpec::new(V).issues(0, 5)));
    without_token(&mut sb);

    // Reading: the milestone is checked as anyone may check it.
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "milestone-check"])
        .env_remove("GITLAB_TOKEN")
        .output();
    assert_success(&out);
    let gitlab = sb.gitlab().unwrap();
    let reads = gitlab.requests();
    assert!(
        !reads.is_empty() && reads.iter().all(|r| r.auth == "no token"),
        "{reads:#?}"
    );

    // Writing: a run that would close the milestone stops before its first stage.
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes"])
        .env_remove("GITLAB_TOKEN")
        .output();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).trim(),
        "lava-release: no GitLab token, which writing to GitLab needs: set GITLAB_TOKEN or gitlab.token_file in release.toml"
    );
    assert_eq!(sb.git(&["rev-parse", "HEAD"], None).unwrap(), head);
    assert!(gitlab.writes().is_empty(), "{:#?}", gitlab.writes());
}

#[test]
fn a_private_project_without_a_token_is_named_with_the_way_out() {
    let mut sb = sandbox(|b| b.private().milestone(MilestoneSpec::new(V)));
    without_token(&mut sb);
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "milestone-check"])
        .env_remove("GITLAB_TOKEN")
        .output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("project `lava/lava`")
            && stderr.contains(
                "a private project is read with a token (GITLAB_TOKEN or the token file)"
            ),
        "{stderr}"
    );
}
