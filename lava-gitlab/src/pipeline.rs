//! `wait-ci`: find the pipeline of a commit or tag and wait for it to finish.

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use gitlab::api::common::SortOrder;
use gitlab::api::projects::jobs::JobTrace;
use gitlab::api::projects::pipelines::{
    Pipeline as PipelineEndpoint, PipelineJobs, PipelineOrderBy, PipelineScope, Pipelines,
};
use serde::{Deserialize, Serialize};

use crate::client::{Call, GitLab};
use crate::poll::PollPolicy;
use crate::{Error, Result};

/// Which pipeline to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiTarget {
    /// The newest pipeline of a commit, optionally on one ref (e.g. `master` for fork-ci).
    Commit {
        /// The full commit id.
        sha: String,
        /// Restrict to pipelines of this branch.
        ref_name: Option<String>,
    },
    /// The newest pipeline of a tag.
    Tag(String),
}

impl fmt::Display for CiTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CiTarget::Commit {
                sha,
                ref_name: None,
            } => write!(f, "commit {}", short(sha)),
            CiTarget::Commit {
                sha,
                ref_name: Some(r),
            } => write!(f, "commit {} on `{r}`", short(sha)),
            CiTarget::Tag(tag) => write!(f, "tag `{tag}`"),
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A pipeline as GitLab lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Pipeline id.
    pub id: u64,
    /// Commit id.
    pub sha: String,
    /// Branch or tag.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// `created`, `pending`, `running`, `success`, `failed`, `canceled`, `skipped`, `manual`, ...
    pub status: String,
    /// Page of the pipeline.
    pub web_url: String,
}

/// A job as GitLab lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Job id.
    pub id: u64,
    /// Job name, e.g. `debian-bookworm-amd64`.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// Job status.
    pub status: String,
    /// Page of the job.
    pub web_url: String,
    /// A failure of this job does not fail the pipeline.
    #[serde(default)]
    pub allow_failure: bool,
    /// The pipeline it belongs to, with that pipeline's current status.
    #[serde(default)]
    pub pipeline: Option<JobPipeline>,
}

/// The pipeline summary GitLab embeds in each job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPipeline {
    /// Pipeline id.
    pub id: u64,
    /// The pipeline's status now.
    pub status: String,
}

/// Jobs of a pipeline by state, for progress displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// All jobs.
    pub total: usize,
    /// Created, pending, waiting for a runner.
    pub pending: usize,
    /// Running.
    pub running: usize,
    /// Succeeded.
    pub success: usize,
    /// Failed (allowed failures included).
    pub failed: usize,
}

impl JobCounts {
    fn of(jobs: &[Job]) -> Self {
        let mut c = JobCounts {
            total: jobs.len(),
            ..JobCounts::default()
        };
        for j in jobs {
            match j.status.as_str() {
                "running" => c.running += 1,
                "success" => c.success += 1,
                "failed" => c.failed += 1,
                "created" | "pending" | "waiting_for_resource" | "preparing" | "scheduled" => {
                    c.pending += 1
                }
                _ => {}
            }
        }
        c
    }
}

/// What one poll saw, handed to [`Progress`].
#[derive(Debug, Clone)]
pub struct CiSnapshot {
    /// What is waited for.
    pub target: CiTarget,
    /// Polls so far, this one included.
    pub polls: u32,
    /// Time since the wait began.
    pub elapsed: Duration,
    /// The pipeline, once it exists.
    pub pipeline: Option<Pipeline>,
    /// Its jobs by state.
    pub jobs: JobCounts,
}

/// Receives each poll, so the CLI can draw a progress bar on a terminal or print lines.
pub trait Progress {
    /// Called after every poll.
    fn update(&mut self, snapshot: &CiSnapshot);
}

/// No progress output.
impl Progress for () {
    fn update(&mut self, _: &CiSnapshot) {}
}

/// Plain lines for logs and pipes: one line whenever the status or job counts change.
#[derive(Debug)]
pub struct PlainLines<W: Write> {
    out: W,
    last: Option<String>,
}

impl<W: Write> PlainLines<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { out, last: None }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The line [`PlainLines`] prints, without the elapsed time.
pub fn describe(snapshot: &CiSnapshot) -> String {
    match &snapshot.pipeline {
        None => format!("{}: no pipeline yet", snapshot.target),
        Some(p) => {
            let j = snapshot.jobs;
            format!(
                "{}: pipeline {} {} — {} running, {} pending, {} failed, {}/{} succeeded",
                snapshot.target, p.id, p.status, j.running, j.pending, j.failed, j.success, j.total
            )
        }
    }
}

impl<W: Write> Progress for PlainLines<W> {
    fn update(&mut self, snapshot: &CiSnapshot) {
        let line = describe(snapshot);
        if self.last.as_deref() != Some(line.as_str()) {
            let secs = snapshot.elapsed.as_secs();
            // Progress output is advisory; a closed pipe must not end the wait.
            let _ = writeln!(self.out, "[{:02}:{:02}] {line}", secs / 60, secs % 60);
            self.last = Some(line);
        }
    }
}

/// A failed job, with the end of its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    /// Job name.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// Page of the job.
    pub web_url: String,
    /// Last lines of its log, ANSI colours and GitLab section markers removed.
    pub log_tail: Vec<String>,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiOutcome {
    /// The pipeline succeeded.
    Success {
        /// What was waited for.
        target: CiTarget,
        /// The pipeline.
        pipeline: Pipeline,
    },
    /// The pipeline failed.
    Failed {
        /// What was waited for.
        target: CiTarget,
        /// The pipeline.
        pipeline: Pipeline,
        /// Jobs whose failure failed it.
        jobs: Vec<FailedJob>,
    },
    /// Canceled, skipped or blocked on a manual job.
    Stopped {
        /// What was waited for.
        target: CiTarget,
        /// The pipeline, its status `canceled`, `skipped` or `manual`.
        pipeline: Pipeline,
    },
    /// The timeout passed first.
    TimedOut {
        /// What was waited for.
        target: CiTarget,
        /// The timeout.
        waited: Duration,
        /// The pipeline as last seen, if it appeared at all.
        pipeline: Option<Pipeline>,
    },
}

impl CiOutcome {
    /// Whether the pipeline succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, CiOutcome::Success { .. })
    }

    /// The pipeline on success, the outcome as [`Error::Ci`] otherwise.
    pub fn into_result(self) -> Result<Pipeline> {
        match self {
            CiOutcome::Success { pipeline, .. } => Ok(pipeline),
            other => Err(Error::Ci(Box::new(other))),
        }
    }

    /// The sentence, and for a failure each failed job with the end of its log.
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        if let CiOutcome::Failed { jobs, .. } = self {
            for job in jobs {
                out.push_str(&format!(
                    "\n  {} (stage {}): {}",
                    job.name, job.stage, job.web_url
                ));
                for line in &job.log_tail {
                    out.push_str("\n    | ");
                    out.push_str(line);
                }
            }
        }
        out
    }
}

impl fmt::Display for CiOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CiOutcome::Success { target, pipeline } => write!(
                f,
                "pipeline {} for {target} succeeded: {}",
                pipeline.id, pipeline.web_url
            ),
            CiOutcome::Failed {
                target,
                pipeline,
                jobs,
            } => {
                let names: Vec<String> = jobs
                    .iter()
                    .map(|j| format!("{} (stage {}, {})", j.name, j.stage, j.web_url))
                    .collect();
                write!(
                    f,
                    "pipeline {} for {target} failed ({}); failed jobs: {}; fix them and push again, or retry the jobs",
                    pipeline.id,
                    pipeline.web_url,
                    if names.is_empty() {
                        "none reported".to_owned()
                    } else {
                        names.join(", ")
                    }
                )
            }
            CiOutcome::Stopped { target, pipeline } => match pipeline.status.as_str() {
                "canceled" => write!(
                    f,
                    "pipeline {} for {target} was canceled ({}); run it again before releasing",
                    pipeline.id, pipeline.web_url
                ),
                "skipped" => write!(
                    f,
                    "pipeline {} for {target} was skipped ({}); no job ran, so nothing was tested",
                    pipeline.id, pipeline.web_url
                ),
                "manual" => write!(
                    f,
                    "pipeline {} for {target} waits for a manual job ({}); start it in GitLab, then wait again",
                    pipeline.id, pipeline.web_url
                ),
                other => write!(
                    f,
                    "pipeline {} for {target} stopped with status `{other}` ({})",
                    pipeline.id, pipeline.web_url
                ),
            },
            CiOutcome::TimedOut {
                target,
                waited,
                pipeline: None,
            } => write!(
                f,
                "no pipeline for {target} appeared within {}s; check that it was pushed and that CI runs for it",
                waited.as_secs()
            ),
            CiOutcome::TimedOut {
                target,
                waited,
                pipeline: Some(p),
            } => write!(
                f,
                "pipeline {} for {target} was still {} after {}s ({}); wait again or raise the timeout",
                p.id,
                p.status,
                waited.as_secs(),
                p.web_url
            ),
        }
    }
}

/// A `wait-ci` request. LAVA: timeout 3 h, polls from 10 s to 60 s, 30 log lines.
#[derive(Debug, Clone)]
pub struct WaitCi {
    /// What to wait for.
    pub target: CiTarget,
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll intervals.
    pub poll: PollPolicy,
    /// Log lines kept per failed job.
    pub log_lines: usize,
}

impl WaitCi {
    /// LAVA's defaults for `target`.
    pub fn new(target: CiTarget) -> Self {
        Self {
            target,
            timeout: Duration::from_secs(3 * 3600),
            poll: PollPolicy {
                initial: Duration::from_secs(10),
                max: Duration::from_secs(60),
            },
            log_lines: 30,
        }
    }
}

fn terminal(status: &str) -> bool {
    matches!(
        status,
        "success" | "failed" | "canceled" | "skipped" | "manual"
    )
}

impl GitLab {
    /// The newest pipeline of the target, if any: one request. This is the read-only
    /// check of `wait-ci` (done when its status is `success`, evidence its web URL).
    pub fn find_pipeline(&self, target: &CiTarget) -> Result<Option<Pipeline>> {
        let mut b = Pipelines::builder();
        b.project(self.project().name_or_id())
            .order_by(PipelineOrderBy::Id)
            .sort(SortOrder::Descending);
        match target {
            CiTarget::Commit { sha, ref_name } => {
                b.sha(sha.as_str());
                if let Some(r) = ref_name {
                    b.ref_(r.as_str());
                }
            }
            CiTarget::Tag(tag) => {
                b.ref_(tag.as_str()).scope(PipelineScope::Tags);
            }
        }
        let endpoint = b.build().expect("project is set");
        let call = Call::read(
            format!("list the pipelines of {target}"),
            format!("{target}"),
            "that the tag or commit was pushed",
        );
        let mut found: Vec<Pipeline> = self.pages(&call, &endpoint, Some(1))?;
        Ok(found.pop())
    }

    /// Every job of a pipeline (latest attempts only).
    pub fn pipeline_jobs(&self, pipeline: u64) -> Result<Vec<Job>> {
        let endpoint = PipelineJobs::builder()
            .project(self.project().name_or_id())
            .pipeline(pipeline)
            .build()
            .expect("project and pipeline are set");
        let call = Call::read(
            format!("list the jobs of pipeline {pipeline}"),
            format!("pipeline {pipeline}"),
            "that the pipeline was not deleted",
        );
        self.all(&call, &endpoint)
    }

    fn pipeline(&self, id: u64) -> Result<Pipeline> {
        let endpoint = PipelineEndpoint::builder()
            .project(self.project().name_or_id())
            .pipeline(id)
            .build()
            .expect("project and pipeline are set");
        let call = Call::read(
            format!("read pipeline {id}"),
            format!("pipeline {id}"),
            "that the pipeline was not deleted",
        );
        self.json(&call, &endpoint)
    }

    /// The last `lines` lines of a job's log.
    pub fn job_log_tail(&self, job: &Job, lines: usize) -> Result<Vec<String>> {
        let endpoint = JobTrace::builder()
            .project(self.project().name_or_id())
            .job(job.id)
            .build()
            .expect("project and job are set");
        let call = Call::read(
            format!("read the log of job `{}`", job.name),
            format!("the log of job `{}`", job.name),
            "that the job's log was not erased",
        );
        let url = self.url_for(&endpoint)?;
        let answer = self.send(&call, http::Method::GET, &url, None)?;
        Ok(tail(&String::from_utf8_lossy(&answer.body), lines))
    }

    /// Waits for the pipeline of `request.target` to finish.
    ///
    /// Costs one request per poll (the pipeline's jobs, which carry the pipeline's status),
    /// one more when the pipeline is first found, and one per failed job for its log.
    pub fn wait_ci(&self, request: &WaitCi, progress: &mut dyn Progress) -> Result<CiOutcome> {
        let start = Instant::now();
        let mut polls = 0u32;
        let mut pipeline: Option<Pipeline> = None;
        loop {
            polls += 1;
            if pipeline.is_none() {
                pipeline = self.find_pipeline(&request.target)?;
            }
            let mut jobs = Vec::new();
            if let Some(p) = pipeline.as_mut() {
                jobs = self.pipeline_jobs(p.id)?;
                match jobs.iter().find_map(|j| j.pipeline.as_ref()) {
                    Some(jp) => p.status = jp.status.clone(),
                    // A pipeline without jobs carries its own status only.
                    None if !terminal(&p.status) => p.status = self.pipeline(p.id)?.status,
                    None => {}
                }
            }
            let elapsed = start.elapsed();
            progress.update(&CiSnapshot {
                target: request.target.clone(),
                polls,
                elapsed,
                pipeline: pipeline.clone(),
                jobs: JobCounts::of(&jobs),
            });
            if let Some(p) = &pipeline {
                if terminal(&p.status) {
                    return self.outcome(request, p.clone(), &jobs);
                }
            }
            if elapsed >= request.timeout {
                return Ok(CiOutcome::TimedOut {
                    target: request.target.clone(),
                    waited: request.timeout,
                    pipeline,
                });
            }
            let pause = request
                .poll
                .interval(polls, fastrand::f64())
                .min(request.timeout - elapsed);
            std::thread::sleep(pause);
        }
    }

    fn outcome(&self, request: &WaitCi, pipeline: Pipeline, jobs: &[Job]) -> Result<CiOutcome> {
        let target = request.target.clone();
        Ok(match pipeline.status.as_str() {
            "success" => CiOutcome::Success { target, pipeline },
            "failed" => {
                let mut failed = Vec::new();
                for job in jobs
                    .iter()
                    .filter(|j| j.status == "failed" && !j.allow_failure)
                {
                    failed.push(FailedJob {
                        name: job.name.clone(),
                        stage: job.stage.clone(),
                        web_url: job.web_url.clone(),
                        log_tail: self.job_log_tail(job, request.log_lines)?,
                    });
                }
                CiOutcome::Failed {
                    target,
                    pipeline,
                    jobs: failed,
                }
            }
            _ => CiOutcome::Stopped { target, pipeline },
        })
    }
}

/// The last `n` non-empty lines of a job log, without ANSI escapes and GitLab's
/// `section_start:…`/`section_end:…` markers.
pub(crate) fn tail(log: &str, n: usize) -> Vec<String> {
    let cleaned: Vec<String> = log
        .lines()
        .map(|l| {
            let l = l.rsplit('\r').next().unwrap_or(l);
            strip_ansi(l)
        })
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("section_start:") && !l.starts_with("section_end:"))
        .collect();
    let skip = cleaned.len().saturating_sub(n);
    cleaned.into_iter().skip(skip).collect()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_strips_colours_and_sections() {
        let log = "section_start:1:build\r\u{1b}[0K\u{1b}[32;1mStep 1\u{1b}[0;m\nok\n\n\u{1b}[31;1mERROR: Job failed: exit code 1\u{1b}[0;m\nsection_end:2:build\r\u{1b}[0K\n";
        assert_eq!(tail(log, 2), vec!["ok", "ERROR: Job failed: exit code 1"]);
        assert_eq!(tail(log, 10).len(), 3);
    }

    #[test]
    fn outcome_sentences() {
        let p = Pipeline {
            id: 7,
            sha: "a".repeat(40),
            ref_name: "2024.05".into(),
            status: "canceled".into(),
            web_url: "http://gl/p/7".into(),
        };
        let target = CiTarget::Tag("2024.05".into());
        let o = CiOutcome::Stopped {
            target: target.clone(),
            pipeline: p.clone(),
        };
        assert_eq!(
            o.to_string(),
            "pipeline 7 for tag `2024.05` was canceled (http://gl/p/7); run it again before releasing"
        );
        let o = CiOutcome::TimedOut {
            target,
            waited: Duration::from_secs(60),
            pipeline: None,
        };
        assert_eq!(
            o.to_string(),
            "no pipeline for tag `2024.05` appeared within 60s; check that it was pushed and that CI runs for it"
        );
    }
}
