//! `wait-ci`: find the pipeline of a commit or tag and wait for it to finish.

use std::io::Write;
use std::time::{Duration, Instant};

use gitlab::api::common::SortOrder;
use gitlab::api::projects::jobs::JobTrace;
use gitlab::api::projects::pipelines::{
    Pipeline as PipelineEndpoint, PipelineBridges, PipelineJobs, PipelineOrderBy, PipelineScope,
    Pipelines,
};

use crate::ci::{Bridge, CiOutcome, CiTarget, FailedJob, Job, JobCounts, Pipeline};
use crate::client::{Call, GitLab};
use crate::poll::PollPolicy;
use crate::{Error, Result};

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
                "{}: pipeline {} {} — {}/{} jobs succeeded, {} running, {} pending, {} failed — {}",
                snapshot.target,
                p.id,
                p.status,
                j.success,
                j.total,
                j.running,
                j.pending,
                j.failed,
                p.web_url
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

// Here rather than in `ci`, which stays a leaf that `error` may name.
impl CiOutcome {
    /// The pipeline on success, the outcome as [`Error::Ci`] otherwise.
    pub fn into_result(self) -> Result<Pipeline> {
        match self {
            CiOutcome::Success { pipeline, .. } => Ok(pipeline),
            other => Err(Error::Ci(Box::new(other))),
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
        if let CiTarget::Pipeline(id) = target {
            return self.pipeline(*id).map(Some);
        }
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
            CiTarget::Pipeline(_) => unreachable!("answered above"),
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

    /// The trigger jobs of a pipeline, each with the downstream pipeline it started
    /// (`GET /projects/:id/pipelines/:pipeline_id/bridges`).
    pub fn pipeline_bridges(&self, pipeline: u64) -> Result<Vec<Bridge>> {
        let endpoint = PipelineBridges::builder()
            .project(self.project().name_or_id())
            .pipeline(pipeline)
            .build()
            .expect("project and pipeline are set");
        let call = Call::read(
            format!("list the trigger jobs of pipeline {pipeline}"),
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
    /// The pipeline itself is the authority for its status (a job's embedded copy, a
    /// trigger job, a manual or allowed-to-fail job cannot mislead it): each poll reads it,
    /// then its jobs for the progress counts and, at the end, the failed ones. Two
    /// requests per poll (the first: the list that finds it and the jobs), and one per
    /// failed job for its log.
    pub fn wait_ci(&self, request: &WaitCi, progress: &mut dyn Progress) -> Result<CiOutcome> {
        let start = Instant::now();
        let mut polls = 0u32;
        let mut pipeline: Option<Pipeline> = None;
        loop {
            polls += 1;
            let found_now = pipeline.is_none();
            if found_now {
                pipeline = self.find_pipeline(&request.target)?;
            }
            let mut jobs = Vec::new();
            if let Some(p) = pipeline.as_mut() {
                if !found_now {
                    p.status = self.pipeline(p.id)?.status;
                }
                jobs = self.pipeline_jobs(p.id)?;
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
                    // The log is best-effort: an erased or forbidden log does not hide
                    // the failure or the other failed jobs.
                    let log_tail = match self.job_log_tail(job, request.log_lines) {
                        Ok(tail) => tail,
                        Err(e) => vec![format!("(log unavailable: {})", unavailable(&e))],
                    };
                    failed.push(FailedJob {
                        name: job.name.clone(),
                        stage: job.stage.clone(),
                        web_url: job.web_url.clone(),
                        log_tail,
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

/// Why a job's log could not be read, in a few words.
fn unavailable(e: &Error) -> String {
    match e {
        Error::NotFound { .. } => "erased or expired (404)".into(),
        Error::Forbidden { .. } => "not readable with this token (403)".into(),
        Error::Unauthorized { .. } | Error::TokenNeeded { .. } => {
            "a token is needed to read it (401)".into()
        }
        other => other.to_string(),
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
}
