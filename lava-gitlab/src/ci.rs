//! What CI reports: which pipeline to wait for, pipelines and jobs as GitLab lists them,
//! and how a wait ended. Plain data that makes no request, so `error` can name
//! [`CiOutcome`] without importing the client.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// One pipeline by id (a downstream pipeline a trigger job started).
    Pipeline(u64),
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
            CiTarget::Pipeline(_) => write!(f, "a trigger job"),
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

/// A trigger job ("bridge") of a pipeline, as GitLab lists it: the job that starts a
/// pipeline in another project (or a child pipeline), and the pipeline it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    /// Job id.
    pub id: u64,
    /// Job name, e.g. `publish-packages/release`.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// The trigger job's status.
    pub status: String,
    /// Page of the job.
    pub web_url: String,
    /// The pipeline it started, once started.
    #[serde(default)]
    pub downstream_pipeline: Option<Pipeline>,
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
    pub(crate) fn of(jobs: &[Job]) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

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
