//! lava-gitlab against the GitLab stand-in on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lava_gitlab::{
    CiOutcome, CiSnapshot, CiTarget, Config, Error, GitLab, PlainLines, PollPolicy, Progress,
    PruneRequest, ReleaseAction, ReleaseNotes, ReleaseState, RetryPolicy, Token, WaitCi,
};
use tests::gitlab::{
    Access, DebianArtifacts, Fault, FaultKind, GitLabStandIn, JobSpec, MilestoneSpec, PipelineSpec,
};

const RW: &str = "glpat-RWsecret-7f3a9c1e55";
const RO: &str = "glpat-ROsecret-0b8d2e4f66";
const SHA: &str = "4e5b1c2d3a4f5e6d7c8b9a0f1e2d3c4b5a697887";

fn stand_in(b: tests::gitlab::Builder) -> GitLabStandIn {
    b.token("maintainer", RW, Access::ReadWrite)
        .token("reader", RO, Access::ReadOnly)
        .start()
        .unwrap()
}

fn client_for(gl: &GitLabStandIn, project: &str, token: &str) -> GitLab {
    let mut config = Config::new(gl.url(), project.parse().unwrap());
    config.retry = RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
    };
    config.request_timeout = Duration::from_secs(5);
    GitLab::new(config, Token::new(token)).unwrap()
}

fn client(gl: &GitLabStandIn, token: &str) -> GitLab {
    client_for(gl, "lava/lava", token)
}

fn wait(target: CiTarget) -> WaitCi {
    WaitCi {
        target,
        timeout: Duration::from_secs(20),
        poll: PollPolicy {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        log_lines: 3,
    }
}

fn tag() -> CiTarget {
    CiTarget::Tag("2024.05".into())
}

/// Records every snapshot and the plain lines.
struct Recorder {
    polls: u32,
    lines: PlainLines<Vec<u8>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            polls: 0,
            lines: PlainLines::new(Vec::new()),
        }
    }
    fn text(self) -> String {
        String::from_utf8(self.lines.into_inner()).unwrap()
    }
}

impl Progress for Recorder {
    fn update(&mut self, s: &CiSnapshot) {
        self.polls = s.polls;
        self.lines.update(s);
    }
}

fn assert_no_secret(text: &str) {
    assert!(
        !text.contains(RW) && !text.contains(RO),
        "a token leaked into: {text}"
    );
}

fn build_pipeline() -> PipelineSpec {
    PipelineSpec::tag("2024.05", SHA)
        .timeline(&[
            "created", "pending", "running", "running", "running", "success",
        ])
        .job(JobSpec::new("debian-bookworm-amd64", "build"))
        .job(JobSpec::new("unit-tests", "test"))
}

#[test]
fn wait_ci_succeeds_and_costs_two_requests_per_poll() {
    let gl = stand_in(GitLabStandIn::builder().pipeline(build_pipeline()));
    let api = client(&gl, RW);
    let mut progress = Recorder::new();
    let outcome = api.wait_ci(&wait(tag()), &mut progress).unwrap();
    assert!(outcome.is_success(), "{outcome}");
    assert!(
        outcome
            .to_string()
            .starts_with("pipeline 1001 for tag `2024.05` succeeded: http://127.0.0.1:")
    );
    let polls = progress.polls;
    let text = progress.text();
    // Each line: the job counts, then the pipeline's page to click.
    assert!(
        text.contains("pipeline 1001 running — ") && text.contains(" jobs succeeded, "),
        "{text}"
    );
    assert!(
        text.contains(
            "pipeline 1001 success — 2/2 jobs succeeded, 0 running, 0 pending, 0 failed — http://127.0.0.1:"
        ),
        "{text}"
    );
    // N polls: the pipeline (the first time, the list that found it) and its jobs.
    let requests = gl.requests().len() as u32;
    assert_eq!(requests, 2 * polls, "{:#?}", gl.requests());
    let reads = gl
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/pipelines/1001"))
        .count() as u32;
    assert_eq!(
        reads,
        polls - 1,
        "the pipeline itself is read at every later poll"
    );
    assert_eq!(api.requests_sent(), u64::from(requests));
    assert!(gl.writes().is_empty());
    assert_no_secret(&text);
}

#[test]
fn wait_ci_failure_lists_failed_jobs_with_their_log_tails() {
    let log = "section_start:1:script\r\u{1b}[0K$ dpkg-buildpackage\nbuilding\n\u{1b}[31mdh_auto_test: error: pytest returned exit code 1\u{1b}[0m\nERROR: Job failed: exit code 1\n";
    let spec = PipelineSpec::tag("2024.05", SHA)
        .timeline(&["pending", "running", "failed"])
        .job(
            JobSpec::new("debian-bookworm-amd64", "build")
                .ends("failed")
                .trace(log),
        )
        .job(
            JobSpec::new("docker-arm64", "build")
                .ends("failed")
                .trace("no space left\n"),
        )
        .job(
            JobSpec::new("flake8", "test")
                .ends("failed")
                .allow_failure(),
        )
        .job(JobSpec::new("unit-tests", "test"));
    let gl = stand_in(GitLabStandIn::builder().pipeline(spec));
    let api = client(&gl, RW);
    let mut progress = Recorder::new();
    let outcome = api.wait_ci(&wait(tag()), &mut progress).unwrap();
    let CiOutcome::Failed { jobs, pipeline, .. } = &outcome else {
        panic!("{outcome}")
    };
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["docker-arm64", "debian-bookworm-amd64"]);
    let url = gl.url().to_owned();
    let report = outcome.report().replace(&url, "URL");
    insta::assert_snapshot!(report, @r"
    pipeline 1001 for tag `2024.05` failed (URL/lava/lava/-/pipelines/1001); failed jobs: docker-arm64 (stage build, URL/lava/lava/-/jobs/1003), debian-bookworm-amd64 (stage build, URL/lava/lava/-/jobs/1002); fix them and push again, or retry the jobs
      docker-arm64 (stage build): URL/lava/lava/-/jobs/1003
        | no space left
      debian-bookworm-amd64 (stage build): URL/lava/lava/-/jobs/1002
        | building
        | dh_auto_test: error: pytest returned exit code 1
        | ERROR: Job failed: exit code 1
    ");
    assert_eq!(pipeline.status, "failed");
    // Two requests per poll + one log per failed job (not the allowed failure).
    let traces = gl
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/trace"))
        .count();
    assert_eq!(traces, 2);
    assert_eq!(gl.requests().len() as u32, 2 * progress.polls + 2);
    let err = outcome.into_result().unwrap_err();
    assert!(matches!(err, Error::Ci(_)));
    assert_no_secret(&format!("{err} {err:?}"));
}

#[test]
fn wait_ci_waits_for_a_pipeline_that_does_not_exist_yet() {
    let gl = stand_in(
        GitLabStandIn::builder().pipeline(
            PipelineSpec::branch("master", SHA)
                .timeline(&["running", "success"])
                .job(JobSpec::new("build", "build"))
                .appears_after(4),
        ),
    );
    let api = client(&gl, RW);
    let mut progress = Recorder::new();
    let target = CiTarget::Commit {
        sha: SHA.into(),
        ref_name: Some("master".into()),
    };
    let outcome = api.wait_ci(&wait(target), &mut progress).unwrap();
    assert!(outcome.is_success(), "{outcome}");
    let polls = progress.polls;
    let text = progress.text();
    assert!(
        text.contains("commit 4e5b1c2d3a4f on `master`: no pipeline yet"),
        "{text}"
    );
    assert!(polls >= 5);
    // Four polls find nothing (one list each); then the list that finds it and the
    // jobs, then the pipeline and the jobs.
    assert_eq!(gl.requests().len() as u32, 4 + 2 * (polls - 4));
}

#[test]
fn canceled_skipped_and_manual_pipelines_end_the_wait_with_a_sentence() {
    for (status, words) in [
        ("canceled", "was canceled"),
        ("skipped", "was skipped"),
        ("manual", "waits for a manual job"),
    ] {
        let gl = stand_in(
            GitLabStandIn::builder().pipeline(
                PipelineSpec::tag("2024.05", SHA)
                    .timeline(&["running", status])
                    .job(JobSpec::new("deploy", "deploy").ends(status)),
            ),
        );
        let outcome = client(&gl, RW).wait_ci(&wait(tag()), &mut ()).unwrap();
        let text = outcome.to_string();
        assert!(
            text.starts_with("pipeline 1001 for tag `2024.05` "),
            "{text}"
        );
        assert!(text.contains(words), "{status}: {text}");
        assert!(!outcome.is_success());
    }
}

#[test]
fn wait_ci_times_out_with_a_sentence() {
    let gl = stand_in(
        GitLabStandIn::builder().pipeline(
            PipelineSpec::tag("2024.05", SHA)
                .timeline(&["running"])
                .job(JobSpec::new("build", "build")),
        ),
    );
    let api = client(&gl, RW);
    let mut request = wait(tag());
    request.timeout = Duration::from_millis(150);
    let outcome = api.wait_ci(&request, &mut ()).unwrap();
    assert!(
        outcome.to_string().contains("was still running after 0s")
            && matches!(outcome, CiOutcome::TimedOut { .. }),
        "{outcome}"
    );
    // No pipeline at all.
    request.target = CiTarget::Tag("2099.01".into());
    let outcome = api.wait_ci(&request, &mut ()).unwrap();
    assert_eq!(
        outcome.to_string(),
        "no pipeline for tag `2099.01` appeared within 0s; check that it was pushed and that CI runs for it"
    );
}

#[test]
fn busy_server_429_with_retry_after_502_and_dropped_connections_are_survived() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .pipeline(build_pipeline())
            .fault(Fault::on(
                "/pipelines",
                FaultKind::TooManyRequests { retry_after: 1 },
            ))
            .fault(Fault::on("/jobs", FaultKind::Status(502)).times(2))
            .fault(Fault::on("/jobs", FaultKind::Drop))
            .fault(Fault::on(
                "/jobs",
                FaultKind::Slow(Duration::from_millis(200)),
            )),
    );
    let api = client(&gl, RW);
    let start = Instant::now();
    let outcome = api.wait_ci(&wait(tag()), &mut ()).unwrap();
    assert!(outcome.is_success(), "{outcome}");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let faults: Vec<String> = gl
        .requests()
        .iter()
        .filter(|r| r.auth.starts_with("fault"))
        .map(|r| r.auth.clone())
        .collect();
    assert_eq!(
        faults,
        ["fault: 429", "fault: 502", "fault: 502", "fault: dropped"]
    );
}

#[test]
fn a_server_that_stays_down_gives_up_with_a_sentence() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(MilestoneSpec::new("2024.05"))
            .fault(Fault::on("/milestones", FaultKind::Status(502)).times(100)),
    );
    let err = client(&gl, RW).milestone_check("2024.05").unwrap_err();
    let text = err.to_string().replace(gl.url(), "URL");
    assert_eq!(
        text,
        "GitLab kept answering 502 to look up milestone `2024.05` at URL/api/v4/projects/lava%2Flava/milestones?title=2024.05&per_page=100&page=1 after 5 attempts; the server is busy, try again later"
    );
    assert_eq!(gl.requests().len(), 5);
}

#[test]
fn milestone_of_250_issues_is_read_in_3_pages_of_100_and_blocks() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(
                MilestoneSpec::new("2024.05")
                    .issues(250, 40)
                    .merge_requests(2, 30),
            )
            .milestone(MilestoneSpec::new("2024.06").issues(5, 0)),
    );
    let api = client(&gl, RW);
    let report = api.milestone_check("2024.05").unwrap();
    assert_eq!(report.open_issues.len(), 250);
    assert_eq!(report.open_merge_requests.len(), 2);
    assert!(
        report
            .open_issues
            .iter()
            .all(|i| i.title.ends_with("for 2024.05") && i.web_url.contains("/-/issues/"))
    );
    let issue_pages: Vec<String> = gl
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/issues"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        issue_pages,
        [
            "milestone=2024.05&state=opened&per_page=100&page=1",
            "milestone=2024.05&state=opened&per_page=100&page=2",
            "milestone=2024.05&state=opened&per_page=100&page=3",
        ]
    );
    let err = report
        .ensure_clear(false)
        .unwrap_err()
        .to_string()
        .replace(gl.url(), "URL");
    assert!(
        err.starts_with("milestone `2024.05` still has 2 open merge request(s) and 250 open issue(s): !2 Merge request 2 for 2024.05 <URL/lava/lava/-/merge_requests/2>, "),
        "{err}"
    );
    assert!(
        err.ends_with(" and 242 more; merge, close or move them, or pass --allow-open"),
        "{err}"
    );
    report.ensure_clear(true).unwrap();
    assert!(gl.writes().is_empty());
}

#[test]
fn close_milestone_closes_once_and_already_closed_is_done() {
    let gl = stand_in(
        GitLabStandIn::builder().milestone(MilestoneSpec::new("2024.05").merge_requests(0, 3)),
    );
    let api = client(&gl, RW);
    let report = api.milestone_check("2024.05").unwrap();
    report.ensure_clear(false).unwrap();
    assert!(!api.close_milestone_check("2024.05").unwrap().is_closed());
    let closed = api.close_milestone("2024.05").unwrap();
    assert!(closed.is_closed());
    assert_eq!(gl.milestone_state("2024.05").as_deref(), Some("closed"));
    // The re-run sees it closed and writes nothing.
    assert!(api.close_milestone("2024.05").unwrap().is_closed());
    let writes = gl.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].body, "state_event=close");
    let err = api.milestone_check("2099.01").unwrap_err();
    assert_eq!(
        err.to_string(),
        "milestone `2099.01` not found in project `lava/lava`; create it or check the version"
    );
}

#[test]
fn release_is_created_once_then_updated_never_duplicated() {
    let gl = stand_in(GitLabStandIn::builder());
    let api = client(&gl, RW);
    let mut notes = ReleaseNotes {
        tag: "2024.05".into(),
        name: "LAVA 2024.05".into(),
        description: "## Changes\n\n* dispatcher: fix the fastboot deploy\n".into(),
    };
    assert_eq!(
        api.release_notes_check(&notes).unwrap(),
        ReleaseState::Missing
    );
    let (release, action) = api.publish_release(&notes).unwrap();
    assert_eq!(action, ReleaseAction::Created);
    assert!(
        release
            .web_url()
            .unwrap()
            .ends_with("/lava/lava/-/releases/2024.05")
    );
    // Re-run with the same notes: done, nothing written.
    assert!(matches!(
        api.release_notes_check(&notes).unwrap(),
        ReleaseState::UpToDate(_)
    ));
    assert_eq!(
        api.publish_release(&notes).unwrap().1,
        ReleaseAction::Unchanged
    );
    // Re-run with new notes: updated in place.
    notes.description.push_str("* server: new API\n");
    assert!(matches!(
        api.release_notes_check(&notes).unwrap(),
        ReleaseState::Differs(_)
    ));
    assert_eq!(
        api.publish_release(&notes).unwrap().1,
        ReleaseAction::Updated
    );
    let writes: Vec<(String, String)> = gl
        .writes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        writes,
        [
            (
                "POST".into(),
                "/api/v4/projects/lava%2Flava/releases".into()
            ),
            (
                "PUT".into(),
                "/api/v4/projects/lava%2Flava/releases/2024.05".into()
            ),
        ]
    );
    let releases = gl.releases();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0].2, notes.description);
}

#[test]
fn a_dropped_create_is_retried_without_a_duplicate() {
    let gl = stand_in(
        GitLabStandIn::builder().fault(Fault::on("/releases", FaultKind::Drop).method("POST")),
    );
    let api = client(&gl, RW);
    let notes = ReleaseNotes {
        tag: "2024.05".into(),
        name: "LAVA 2024.05".into(),
        description: "notes".into(),
    };
    assert_eq!(
        api.publish_release(&notes).unwrap().1,
        ReleaseAction::Created
    );
    assert_eq!(gl.releases().len(), 1);
}

#[test]
fn bad_token_read_only_token_and_unknown_project_fail_with_sentences_and_no_writes() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(MilestoneSpec::new("2024.05"))
            .release("2024.04", "LAVA 2024.04", "old"),
    );
    let notes = ReleaseNotes {
        tag: "2024.05".into(),
        name: "LAVA 2024.05".into(),
        description: "notes".into(),
    };
    let url = gl.url().to_owned();
    let mut texts = Vec::new();

    let bad = client(&gl, "glpat-not-a-real-token");
    let err = bad.publish_release(&notes).unwrap_err();
    let text = err.to_string().replace(&url, "URL");
    assert_eq!(
        text,
        "GitLab rejected the token when asked to read the release of tag `2024.05` at URL/api/v4/projects/lava%2Flava/releases/2024.05 (401 Unauthorized); it is unknown, expired or revoked: create a token with the `read_api` scope and pass it in GITLAB_TOKEN or the token file"
    );
    assert!(!format!("{err:?}").contains("glpat-not-a-real-token"));
    assert!(bad.close_milestone("2024.05").is_err());
    assert!(
        gl.writes().is_empty(),
        "a write followed a failed check: {:#?}",
        gl.writes()
    );

    let reader = client(&gl, RO);
    let err = reader.close_milestone("2024.05").unwrap_err();
    let text = err.to_string().replace(&url, "URL");
    assert_eq!(
        text,
        "GitLab refused to close milestone `2024.05` on project `lava/lava` at URL/api/v4/projects/lava%2Flava/milestones/1001 (403 Forbidden); the token needs the `api` scope and a role on the project that allows it"
    );
    texts.push(format!("{err} {err:?}"));
    assert_eq!(gl.milestone_state("2024.05").as_deref(), Some("active"));
    // The refused write is the only one; nothing changed.
    assert_eq!(gl.writes().len(), 1);
    assert_eq!(gl.writes()[0].status, 403);

    gl.clear_log();
    let elsewhere = client_for(&gl, "lava/nope", RW);
    let err = elsewhere.publish_release(&notes).unwrap_err();
    let text = err.to_string().replace(&url, "URL");
    assert_eq!(
        text,
        "could not read the release of tag `2024.05`: project `lava/nope` not found at URL/api/v4/projects/lava%2Fnope/releases/2024.05 (GitLab said \"404 Project Not Found\"); check the project path or id in the config, and that the token's user is a member"
    );
    texts.push(format!("{err} {err:?}"));
    let err = elsewhere
        .registry_prune(&PruneRequest {
            dry_run: false,
            ..PruneRequest::new("*")
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("project `lava/nope` not found"),
        "{err}"
    );
    assert!(gl.writes().is_empty());
    for t in texts {
        assert_no_secret(&t);
    }
}

#[test]
fn artifacts_are_streamed_extracted_and_verified_against_the_changes() {
    let artifacts = DebianArtifacts::new("lava", "2024.05-1", "_build")
        .file("lava_2024.05-1.dsc", b"Format: 3.0 (quilt)\n")
        .file("lava_2024.05-1.debian.tar.xz", &[7u8; 5000])
        .file("lava-common_2024.05-1_all.deb", &vec![42u8; 300_000])
        .unlisted("build.log", b"log\n");
    let broken = artifacts.clone().corrupt("lava-common_2024.05-1_all.deb");
    let short = artifacts.clone().omit("lava_2024.05-1.dsc");
    let gl = stand_in(
        GitLabStandIn::builder()
            .pipeline(
                PipelineSpec::tag("2024.05", SHA)
                    .timeline(&["success"])
                    .job(JobSpec::new("debian-bookworm", "build").artifacts(artifacts.zip()))
                    .job(JobSpec::new("debian-broken", "build").artifacts(broken.zip()))
                    .job(JobSpec::new("debian-short", "build").artifacts(short.zip()))
                    .job(JobSpec::new("debian-failed", "build").ends("failed")),
            )
            .fault(Fault::on("/artifacts", FaultKind::Status(503))),
    );
    let api = client(&gl, RW);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("bookworm");
    let report = api
        .fetch_artifacts(&tag(), "debian-bookworm", &dest)
        .unwrap();
    assert_eq!(report.job.name, "debian-bookworm");
    assert_eq!(report.changes.len(), 1);
    let got = &report.changes[0];
    assert_eq!(got.changes, dest.join("lava_2024.05-1_amd64.changes"));
    assert_eq!(got.files.len(), 3);
    assert_eq!(
        std::fs::read(dest.join("lava-common_2024.05-1_all.deb"))
            .unwrap()
            .len(),
        300_000
    );
    let mut names: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "lava-common_2024.05-1_all.deb",
            "lava_2024.05-1.debian.tar.xz",
            "lava_2024.05-1.dsc",
            "lava_2024.05-1_amd64.changes"
        ]
    );

    let dest2 = dir.path().join("broken");
    let err = api
        .fetch_artifacts(&tag(), "debian-broken", &dest2)
        .unwrap_err();
    let text = err.to_string().replace(dir.path().to_str().unwrap(), "TMP");
    assert!(
        text.starts_with("TMP/broken/lava-common_2024.05-1_all.deb has SHA-256 "),
        "{text}"
    );
    assert!(
        text.ends_with("the artifacts are damaged or tampered with"),
        "{text}"
    );
    assert!(!dest2.join("lava-common_2024.05-1_all.deb").exists());

    let err = api
        .fetch_artifacts(&tag(), "debian-short", &dir.path().join("short"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("lists `lava_2024.05-1.dsc`, which the artifacts archive"),
        "{err}"
    );

    let err = api
        .fetch_artifacts(&tag(), "debian-failed", &dir.path().join("f"))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("job `debian-failed` (")
            && err
                .to_string()
                .ends_with("is failed, not success; its artifacts are not used"),
        "{err}"
    );

    let err = api
        .fetch_artifacts(&tag(), "debian-trixie", &dir.path().join("t"))
        .unwrap_err();
    let text = err.to_string().replace(gl.url(), "URL");
    assert_eq!(
        text,
        "no job named `debian-trixie` in pipeline URL/lava/lava/-/pipelines/1001; jobs there: debian-bookworm, debian-broken, debian-failed, debian-short"
    );
    assert!(gl.writes().is_empty());
}

#[test]
fn registry_prune_is_a_dry_run_by_default_and_follows_pagination() {
    let many: Vec<String> = (1..=130).map(|i| format!("2024.05.dev{i:04}")).collect();
    let mut server_tags: Vec<&str> = many.iter().map(String::as_str).collect();
    server_tags.extend(["2024.05", "latest"]);
    let gl = stand_in(
        GitLabStandIn::builder()
            .registry_repository("lava-server", &server_tags)
            .registry_repository("lava-dispatcher", &["2024.05", "2024.05.dev0001", "latest"])
            .registry_repository("ci-images", &["2024.05.dev0001"]),
    );
    let api = client(&gl, RW);
    let mut request = PruneRequest::new("*.dev*");
    request.repository_pattern = Some("lava-*".into());
    let dry = api.registry_prune(&request).unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.matched.len(), 131);
    assert!(dry.deleted.is_empty());
    assert!(gl.writes().is_empty());
    let tag_pages = gl
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/tags"))
        .count();
    assert_eq!(tag_pages, 3, "130+2 tags in 2 pages, 3 tags in 1");

    request.dry_run = false;
    let done = api.registry_prune(&request).unwrap();
    assert_eq!(done.deleted.len(), 131);
    assert_eq!(gl.writes().len(), 131);
    assert!(gl.writes().iter().all(|w| w.method == "DELETE"));
    assert_eq!(gl.registry_tags("lava-server"), ["2024.05", "latest"]);
    assert_eq!(gl.registry_tags("lava-dispatcher"), ["2024.05", "latest"]);
    assert_eq!(gl.registry_tags("ci-images"), ["2024.05.dev0001"]);
    assert!(api.registry_prune_check(&request).unwrap().is_empty());

    let err = api.registry_prune(&PruneRequest::new("[2024")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("`[2024` is not a valid tag pattern"),
        "{err}"
    );
}

#[test]
fn the_gitlab_crate_endpoints_run_through_the_retrying_client() {
    use lava_gitlab::gitlab::api::{self, Query, projects::pipelines::Pipelines};
    let gl = stand_in(
        GitLabStandIn::builder()
            .pipeline(build_pipeline())
            .fault(Fault::on("/pipelines", FaultKind::Status(502))),
    );
    let api_client = client(&gl, RW);
    let endpoint = Pipelines::builder().project("lava/lava").build().unwrap();
    let pipelines: Vec<serde_json::Value> = api::paged(endpoint, api::Pagination::All)
        .query(&api_client)
        .unwrap();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0]["ref"], "2024.05");
    assert_eq!(gl.requests().len(), 2);
}

#[test]
fn the_stand_in_accepts_bearer_tokens_and_answers_unknown_ones_with_401() {
    let gl = stand_in(GitLabStandIn::builder());
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("{}/api/v4/projects/lava%2Flava", gl.url());
    let ok = http.get(&url).bearer_auth(RO).send().unwrap();
    assert_eq!(ok.status(), 200);
    let project: serde_json::Value = ok.json().unwrap();
    assert_eq!(project["path_with_namespace"], "lava/lava");
    let no = http.get(&url).bearer_auth("nope").send().unwrap();
    assert_eq!(no.status(), 401);
    assert_eq!(no.text().unwrap(), r#"{"message":"401 Unauthorized"}"#);
    let log = format!("{:?}", gl.requests());
    assert!(log.contains("reader") && log.contains("unknown token"));
    assert_no_secret(&log);
}

#[test]
fn the_token_never_appears_in_output_errors_debug_or_the_request_log() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .pipeline(
                PipelineSpec::tag("2024.05", SHA)
                    .timeline(&["running", "failed"])
                    .job(JobSpec::new("build", "build").ends("failed")),
            )
            .milestone(MilestoneSpec::new("2024.05").issues(1, 0))
            .fault(Fault::on("/jobs", FaultKind::Status(502))),
    );
    let mut seen = Vec::new();
    for token in [RW, RO] {
        let api = client(&gl, token);
        seen.push(format!("{api:?}"));
        let mut progress = Recorder::new();
        let outcome = api.wait_ci(&wait(tag()), &mut progress).unwrap();
        seen.push(outcome.report());
        seen.push(format!("{outcome:?}"));
        seen.push(progress.text());
        let err = api
            .milestone_check("2024.05")
            .unwrap()
            .ensure_clear(false)
            .unwrap_err();
        seen.push(format!("{err} {err:?}"));
        let err = api.close_milestone("2099").unwrap_err();
        seen.push(format!("{err} {err:?}"));
        let err = api
            .publish_release(&ReleaseNotes {
                tag: "2024.05".into(),
                name: "n".into(),
                description: "d".into(),
            })
            .map(|_| ())
            .err();
        seen.push(format!("{err:?}"));
    }
    seen.push(format!("{:?}", gl.requests()));
    seen.push(format!("{:?}", Token::new(RW)));
    for text in &seen {
        assert_no_secret(text);
    }
}

#[test]
fn a_failed_pipeline_whose_logs_cannot_be_read_still_names_every_failed_job() {
    let spec = PipelineSpec::tag("2024.05", SHA)
        .timeline(&["running", "failed"])
        .job(JobSpec::new("debian/12", "build").ends("failed"))
        .job(JobSpec::new("debian/13", "build").ends("failed"));
    let gl = stand_in(
        GitLabStandIn::builder()
            .pipeline(spec)
            .fault(Fault::on("/trace", FaultKind::Status(404)))
            .fault(Fault::on("/trace", FaultKind::Status(403))),
    );
    let api = client(&gl, RW);
    let outcome = api.wait_ci(&wait(tag()), &mut Recorder::new()).unwrap();
    let report = outcome.report().replace(gl.url(), "URL");
    insta::assert_snapshot!(report, @r"
        pipeline 1001 for tag `2024.05` failed (URL/lava/lava/-/pipelines/1001); failed jobs: debian/13 (stage build, URL/lava/lava/-/jobs/1003), debian/12 (stage build, URL/lava/lava/-/jobs/1002); fix them and push again, or retry the jobs
          debian/13 (stage build): URL/lava/lava/-/jobs/1003
            | (log unavailable: erased or expired (404))
          debian/12 (stage build): URL/lava/lava/-/jobs/1002
            | (log unavailable: not readable with this token (403))
        ");
}

#[test]
fn a_list_shorter_than_its_x_total_is_read_again_then_refused() {
    let milestone = || MilestoneSpec::new("2024.05").issues(3, 0);
    // One short answer: read again, and the three open issues are all seen.
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(milestone())
            .fault(Fault::on("/issues", FaultKind::ShortPage)),
    );
    let report = client(&gl, RW).milestone_check("2024.05").unwrap();
    assert_eq!(report.open_issues.len(), 3);
    // Short twice: an error naming the call and both counts, never "2 open issues".
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(milestone())
            .fault(Fault::on("/issues", FaultKind::ShortPage).times(2)),
    );
    let err = client(&gl, RW).milestone_check("2024.05").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "GitLab listed 2 of the 3 items it announced (x-total) when asked to list the open issues of milestone `2024.05` at http://127.0.0.1:"
        ),
        "{err}"
    );
}

#[test]
fn a_missing_issue_list_is_named_as_the_list_not_the_milestone() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .milestone(MilestoneSpec::new("2024.05"))
            .fault(Fault::on("/merge_requests", FaultKind::Status(404))),
    );
    let err = client(&gl, RW).milestone_check("2024.05").unwrap_err();
    let text = err.to_string().replace(gl.url(), "URL");
    assert!(
        text.starts_with("could not list the open merge requests of milestone `2024.05`: the merge requests list of project `lava/lava` not found at URL/api/v4/projects/lava%2Flava/merge_requests"),
        "{text}"
    );
    assert!(!text.contains("milestone `2024.05` not found"), "{text}");
}

const TARBALL: &[u8] = b"\x1f\x8b\x08\x00lava-2024.05 tarball bytes";

fn writes_of(gl: &GitLabStandIn) -> Vec<(String, String, u16)> {
    gl.writes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect()
}

#[test]
fn generic_package_files_are_uploaded_with_a_token_and_read_without_one() {
    let gl = stand_in(GitLabStandIn::builder());
    let (anonymous, reader, writer) = (client(&gl, ""), client(&gl, RO), client(&gl, RW));
    let file = "lava-2024.05.tar.gz";
    let path = "/api/v4/projects/lava%2Flava/packages/generic/lava/2024.05/lava-2024.05.tar.gz";
    assert_eq!(
        writer.generic_package_url("lava", "2024.05", file),
        format!("{}{path}", gl.url())
    );
    assert_eq!(
        anonymous
            .generic_package_file("lava", "2024.05", file)
            .unwrap(),
        None
    );

    let err = anonymous
        .upload_generic_package("lava", "2024.05", file, TARBALL)
        .unwrap_err();
    assert_eq!(
        err.to_string().replace(gl.url(), "URL"),
        format!(
            "GitLab needs a token to upload `{file}` to generic package `lava` 2024.05 at URL{path} (401 Unauthorized): pass one with the `api` scope in GITLAB_TOKEN or the token file"
        )
    );
    let err = reader
        .upload_generic_package("lava", "2024.05", file, TARBALL)
        .unwrap_err();
    assert_eq!(
        err.to_string().replace(gl.url(), "URL"),
        format!(
            "GitLab refused to upload `{file}` to generic package `lava` 2024.05 on project `lava/lava` at URL{path} (403 Forbidden); the token needs the `api` scope and a role on the project that allows it"
        )
    );
    assert_eq!(gl.package_file("lava", "2024.05", file), None);

    writer
        .upload_generic_package("lava", "2024.05", file, TARBALL)
        .unwrap();
    assert_eq!(
        gl.package_file("lava", "2024.05", file).as_deref(),
        Some(TARBALL)
    );
    assert_eq!(
        anonymous
            .generic_package_file("lava", "2024.05", file)
            .unwrap()
            .as_deref(),
        Some(TARBALL)
    );
    assert_eq!(
        writes_of(&gl),
        [
            ("PUT".into(), path.into(), 401),
            ("PUT".into(), path.into(), 403),
            ("PUT".into(), path.into(), 201),
        ]
    );
    let put = gl.writes().pop().unwrap();
    assert_eq!(put.auth, "maintainer");
    // The log keeps bodies as (lossy) text.
    assert!(
        put.body.ends_with("lava-2024.05 tarball bytes"),
        "{}",
        put.body
    );

    // The newest upload is what readers get; so is a tampered file.
    writer
        .upload_generic_package("lava", "2024.05", file, b"second")
        .unwrap();
    assert_eq!(
        reader
            .generic_package_file("lava", "2024.05", file)
            .unwrap()
            .as_deref(),
        Some(&b"second"[..])
    );
    gl.set_package_file("lava", "2024.05", file, b"tampered");
    assert_eq!(
        anonymous
            .generic_package_file("lava", "2024.05", file)
            .unwrap()
            .as_deref(),
        Some(&b"tampered"[..])
    );

    // A private project read without a token is an error, not "no such file".
    let private = stand_in(GitLabStandIn::builder().private());
    let err = client(&private, "")
        .generic_package_file("lava", "2024.05", file)
        .unwrap_err();
    assert!(
        err.to_string().contains("project `lava/lava` not found"),
        "{err}"
    );
}

#[test]
fn a_lost_upload_answer_is_retried_and_the_newest_file_is_the_same() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .fault(Fault::on("/packages/generic/", FaultKind::Lost).method("PUT")),
    );
    let api = client(&gl, RW);
    api.upload_generic_package("lava", "2024.05", "lava.tar.gz", TARBALL)
        .unwrap();
    let statuses: Vec<u16> = gl.writes().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 201]);
    assert_eq!(
        gl.package_file("lava", "2024.05", "lava.tar.gz").as_deref(),
        Some(TARBALL)
    );
}

#[test]
fn release_links_are_created_once_moved_when_their_url_changes_never_duplicated() {
    let gl = stand_in(GitLabStandIn::builder().release("2024.05", "LAVA 2024.05", "notes"));
    let api = client(&gl, RW);
    let name = "lava-2024.05.tar.gz";
    let url = api.generic_package_url("lava", "2024.05", name);
    assert!(api.release_links("2024.05").unwrap().is_empty());

    let link = api
        .link_release_asset("2024.05", name, &url, Some(name))
        .unwrap();
    assert_eq!(
        (link.name.as_str(), link.url.as_str()),
        (name, url.as_str())
    );
    assert_eq!(link.link_type.as_deref(), Some("other"));
    assert_eq!(
        link.direct_asset_url.as_deref(),
        Some(format!("{}/lava/lava/-/releases/2024.05/downloads/{name}", gl.url()).as_str())
    );
    // Again: done, nothing written.
    assert_eq!(
        api.link_release_asset("2024.05", name, &url, Some(&format!("/{name}")))
            .unwrap(),
        link
    );
    // The package moved: the link follows, keeping its id.
    let moved = api.generic_package_url("lava", "2024.05.1", name);
    let updated = api
        .link_release_asset("2024.05", name, &moved, Some(name))
        .unwrap();
    assert_eq!(
        (updated.id, updated.url.as_str()),
        (link.id, moved.as_str())
    );
    assert_eq!(
        gl.release_links("2024.05"),
        [(name.to_owned(), moved.clone())]
    );

    let links_path = "/api/v4/projects/lava%2Flava/releases/2024.05/assets/links";
    assert_eq!(
        writes_of(&gl),
        [
            ("POST".into(), links_path.into(), 201),
            ("PUT".into(), format!("{links_path}/{}", link.id), 200),
        ]
    );
    let post = &gl.writes()[0];
    assert!(
        post.body.contains("link_type=other") && post.body.contains("direct_asset_path=%2F"),
        "{}",
        post.body
    );

    // Anyone reads the links, and the release carries them.
    let anonymous = client(&gl, "");
    let release = anonymous.release("2024.05").unwrap().unwrap();
    assert_eq!(release.assets.links, [updated]);
    assert_eq!(
        anonymous.release_links("2024.05").unwrap(),
        release.assets.links
    );

    // A URL linked under another name is refused before any write.
    gl.clear_log();
    let err = api
        .link_release_asset("2024.05", "renamed.tar.gz", &moved, None)
        .unwrap_err();
    assert_eq!(
        err.to_string().replace(gl.url(), "URL"),
        format!(
            "release `2024.05` already links {} as `{name}`, so it cannot also be `renamed.tar.gz`; rename or delete that link on the release page",
            moved.replace(gl.url(), "URL")
        )
    );
    assert!(gl.writes().is_empty());

    // No release, no link: the error says which release.
    let err = api
        .link_release_asset("2099.01", name, &url, None)
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "could not list the links of release `2099.01`: release `2099.01` not found at "
        ),
        "{err}"
    );
    assert!(gl.writes().is_empty());
}

#[test]
fn a_link_whose_answer_was_lost_is_not_created_twice() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .release("2024.05", "LAVA 2024.05", "notes")
            .fault(Fault::on("/assets/links", FaultKind::Lost).method("POST")),
    );
    let api = client(&gl, RW);
    let link = api
        .link_release_asset(
            "2024.05",
            "lava.tar.gz",
            "https://example.org/lava.tar.gz",
            None,
        )
        .unwrap();
    assert_eq!(link.url, "https://example.org/lava.tar.gz");
    // The first POST landed; the retried one was refused as a taken name, and the
    // link there was taken as done.
    let statuses: Vec<u16> = gl.writes().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 400]);
    assert_eq!(gl.release_links("2024.05").len(), 1);
}

#[test]
fn download_url_follows_direct_asset_urls_and_sends_the_token_only_to_gitlab() {
    let gl = stand_in(
        GitLabStandIn::builder()
            .release("2024.05", "LAVA 2024.05", "notes")
            .fault(Fault::on("/packages/generic/", FaultKind::Status(502)).method("GET")),
    );
    // Another host (same tokens configured, so a leaked one would be recognised).
    let elsewhere = stand_in(GitLabStandIn::builder().project("mirror/lava", 7));
    elsewhere.set_package_file("lava", "2024.05", "lava.tar.gz", b"mirrored");
    let mirror = client_for(&elsewhere, "mirror/lava", "").generic_package_url(
        "lava",
        "2024.05",
        "lava.tar.gz",
    );

    let api = client(&gl, RW);
    api.upload_generic_package("lava", "2024.05", "lava.tar.gz", TARBALL)
        .unwrap();
    let own = api.generic_package_url("lava", "2024.05", "lava.tar.gz");
    let here = api
        .link_release_asset("2024.05", "lava.tar.gz", &own, Some("/lava.tar.gz"))
        .unwrap();
    let there = api
        .link_release_asset("2024.05", "mirror", &mirror, Some("/mirror/lava.tar.gz"))
        .unwrap();

    gl.clear_log();
    let direct = here.direct_asset_url.unwrap();
    assert_eq!(api.download_url(&direct).unwrap(), TARBALL);
    let seen: Vec<(String, u16, String)> = gl
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status, r.auth.clone()))
        .collect();
    let package_path = "/api/v4/projects/lava%2Flava/packages/generic/lava/2024.05/lava.tar.gz";
    assert_eq!(
        seen,
        [
            (
                "/lava/lava/-/releases/2024.05/downloads/lava.tar.gz".into(),
                302,
                "maintainer".into()
            ),
            // A 502 on the way is retried.
            (package_path.into(), 502, "fault: 502".into()),
            (package_path.into(), 200, "maintainer".into()),
        ]
    );
    // Anyone downloads from a public project.
    assert_eq!(client(&gl, "").download_url(&direct).unwrap(), TARBALL);

    // A link to another host: GitLab's redirect is followed there without the token.
    let direct = there.direct_asset_url.unwrap();
    assert_eq!(api.download_url(&direct).unwrap(), b"mirrored");
    let auth: Vec<String> = elsewhere
        .requests()
        .iter()
        .map(|r| r.auth.clone())
        .collect();
    assert_eq!(auth, ["no token"]);
    assert_eq!(gl.requests().last().unwrap().auth, "maintainer");

    // Missing: an error naming the URL asked for, on GitLab or elsewhere.
    let gone = format!(
        "{}/lava/lava/-/releases/2024.05/downloads/gone.tar.gz",
        gl.url()
    );
    let err = api.download_url(&gone).unwrap_err();
    assert_eq!(
        err.to_string().replace(gl.url(), "URL"),
        "could not download a release asset: the asset not found at URL/lava/lava/-/releases/2024.05/downloads/gone.tar.gz (GitLab said \"404  Not Found\"); check the release link's URL"
    );
    elsewhere.set_package_file("lava", "2024.05", "other.tar.gz", b"x");
    let missing = mirror.replace("lava.tar.gz", "missing.tar.gz");
    let err = api.download_url(&missing).unwrap_err();
    let host = elsewhere.url().trim_start_matches("http://");
    assert_eq!(
        err.to_string().replace(host, "HOST"),
        "could not download a release asset from http://HOST/api/v4/projects/mirror%2Flava/packages/generic/lava/2024.05/missing.tar.gz: HOST answered 404 (404 Package Not Found); check the URL"
    );
    let err = api.download_url("not a url").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`not a url` is not a valid URL to download from"
    );
    assert_no_secret(&format!("{:?} {:?}", gl.requests(), elsewhere.requests()));
}

#[test]
fn the_stand_in_refuses_taken_link_names_and_urls_and_redirects_direct_asset_urls() {
    let gl = stand_in(GitLabStandIn::builder().release("2024.05", "LAVA 2024.05", "notes"));
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let links = format!(
        "{}/api/v4/projects/lava%2Flava/releases/2024.05/assets/links",
        gl.url()
    );
    let post = |form: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = http
            .post(&links)
            .header("PRIVATE-TOKEN", RW)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        (answer.status().as_u16(), answer.text().unwrap())
    };
    let (status, body) = post(&[
        ("name", "a"),
        ("url", "https://example.org/a"),
        ("filepath", "/bin/a"),
    ]);
    assert_eq!(status, 201, "{body}");
    let link: serde_json::Value = serde_json::from_str(&body).unwrap();
    let direct = format!("{}/lava/lava/-/releases/2024.05/downloads/bin/a", gl.url());
    assert_eq!(link["direct_asset_url"], direct.as_str());
    assert_eq!(
        post(&[("name", "a"), ("url", "https://example.org/b")]),
        (
            400,
            r#"{"message":{"name":["has already been taken"]}}"#.into()
        )
    );
    assert_eq!(
        post(&[("name", "b"), ("url", "https://example.org/a")]),
        (
            400,
            r#"{"message":{"url":["has already been taken"]}}"#.into()
        )
    );
    // Without a path, the direct asset URL is the link's own.
    let (status, body) = post(&[("name", "b"), ("url", "https://example.org/b")]);
    assert_eq!(status, 201);
    let link: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(link["direct_asset_url"], "https://example.org/b");

    let release: serde_json::Value = http
        .get(format!(
            "{}/api/v4/projects/lava%2Flava/releases/2024.05",
            gl.url()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(release["assets"]["count"], 2);
    assert_eq!(release["assets"]["links"][0]["name"], "b");

    let redirect = http.get(&direct).send().unwrap();
    assert_eq!(redirect.status(), 302);
    assert_eq!(
        redirect.headers()["location"].to_str().unwrap(),
        "https://example.org/a"
    );
}
