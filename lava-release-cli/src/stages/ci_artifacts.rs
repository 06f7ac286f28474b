//! Stage `ci-artifacts` (when `gitlab.artifact_jobs` is set): the Debian build jobs'
//! artifacts of the tag's pipeline downloaded into `repo.incoming` (in pipeline mode, by
//! default, `.git/lava-release/VERSION-ci-artifacts/`), each checked against its
//! `.changes`: what the consistency gate checks and `apt-publish` compares with the
//! published repository.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lava_gitlab::CiTarget;

use crate::config::Config;
use crate::shared::gitlab::client;
use crate::shared::repo::RepoSite;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `ci-artifacts` stage.
#[derive(Debug, Clone)]
pub struct CiArtifacts {
    version: String,
    jobs: Vec<String>,
    incoming: Option<PathBuf>,
}

impl Step for CiArtifacts {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if config.gitlab.artifact_jobs.is_empty() {
            return Err(Absent::new("ci-artifacts", "gitlab.artifact_jobs is empty"));
        }
        Ok(Self {
            version: release.version.to_string(),
            jobs: config.gitlab.artifact_jobs.clone(),
            incoming: config.repo.incoming.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "ci-artifacts"
    }

    fn describe(&self) -> String {
        let dest = self.incoming.as_ref().map_or_else(
            || format!(".git/lava-release/{}-ci-artifacts", self.version),
            |p| p.display().to_string(),
        );
        format!(
            "download and verify the artifacts of {} from the pipeline of tag {} into {dest}",
            self.jobs.join(", "),
            self.version
        )
    }

    /// A failed or running pipeline's artifacts are never taken.
    fn needs(&self) -> Vec<Need> {
        vec![Need::PipelineSucceeded]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let repo = RepoSite::in_context(ctx);
        let Some(dir) = &repo.incoming else {
            return Ok(Status::Blocked {
                reason: "repo.incoming is not set; name the directory the CI artifacts go to"
                    .into(),
            });
        };
        let found = uploads_in(dir, &repo);
        // Done only once every job's artifacts are in: never on a partial set.
        let missing: Vec<&str> = self
            .jobs
            .iter()
            .filter(|job| !marker(ctx, &self.version, job).exists())
            .map(String::as_str)
            .collect();
        Ok(if found.is_empty() {
            Status::todo()
        } else if !missing.is_empty() {
            Status::ToDo {
                detail: Some(format!(
                    "{} in {}; the artifacts of {} are still to fetch",
                    names(&found),
                    dir.display(),
                    missing.join(", ")
                )),
            }
        } else {
            Status::Done {
                evidence: format!("{} in {}", names(&found), dir.display()),
            }
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let repo = RepoSite::in_context(ctx);
        let dir = repo
            .incoming
            .as_ref()
            .context("repo.incoming is not set; name the directory the CI artifacts go to")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let gl = client(ctx)?;
        let mut fetched = Vec::new();
        let mut names_seen = Vec::new();
        for job in &self.jobs {
            let report = gl.fetch_artifacts(&CiTarget::Tag(self.version.clone()), job, dir)?;
            // A crash here leaves some jobs' uploads in place, each whole, and the
            // stage not done: the re-run fetches the rest.
            ctx.failpoint("ci-artifacts:job-extracted");
            let done = marker(ctx, &self.version, job);
            if let Some(parent) = done.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let listed: Vec<String> = report
                .changes
                .iter()
                .map(|c| c.changes.display().to_string())
                .collect();
            lava_io::write_atomically(&done, format!("{}\n", listed.join("\n")).as_bytes())
                .with_context(|| format!("cannot write {}", done.display()))?;
            fetched.push(format!(
                "{job}: {} .changes ({} bytes)",
                report.changes.len(),
                report.archive_bytes
            ));
            names_seen.extend(report.changes.iter().filter_map(|c| {
                c.changes
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            }));
        }
        anyhow::ensure!(
            !uploads_in(dir, &repo).is_empty(),
            "the artifacts of {} hold {}, none of them a .changes of {}; the tag's pipeline built something else",
            self.jobs.join(", "),
            if names_seen.is_empty() {
                "no .changes".to_owned()
            } else {
                names_seen.join(", ")
            },
            repo.expected()
        );
        Ok(fetched.join("; "))
    }
}

/// Where the run records that `job`'s artifacts are all in place:
/// `.git/lava-release/VERSION-ci-jobs/JOB` (`/` in a job's name becomes `_`).
fn marker(ctx: &Context<'_>, version: &str, job: &str) -> PathBuf {
    ctx.state_dir()
        .join(format!("{version}-ci-jobs"))
        .join(job.replace(['/', ' '], "_"))
}

/// The `.changes` files in `dir` of this release's packages, as the consistency gate
/// reads them.
fn uploads_in(dir: &Path, repo: &RepoSite) -> Vec<lava_repo_sign::Changes> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let local = RepoSite {
        site: String::new(),
        incoming: Some(dir.to_owned()),
        ..repo.clone()
    };
    local
        .uploads()
        .ok()
        .flatten()
        .map(|(_, found)| found)
        .unwrap_or_default()
}

fn names(found: &[lava_repo_sign::Changes]) -> String {
    found
        .iter()
        .map(|c| crate::shared::debian::file_name(Path::new(&c.path)))
        .collect::<Vec<_>>()
        .join(", ")
}
