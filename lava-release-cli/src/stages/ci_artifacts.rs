//! Stage `ci-artifacts` (when `gitlab.artifact_jobs` is set): the Debian build jobs'
//! artifacts of the tag's pipeline downloaded into `repo.incoming`, each checked
//! against its `.changes`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lava_gitlab::CiTarget;

use crate::config::Config;
use crate::shared::gitlab::client;
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
        let dest = self
            .incoming
            .as_ref()
            .map_or("(repo.incoming unset)".into(), |p| p.display().to_string());
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
        let Some(dir) = &self.incoming else {
            return Ok(Status::Blocked {
                reason: "repo.incoming is not set; name the directory the CI artifacts go to"
                    .into(),
            });
        };
        let version = ctx.release.debian_version.to_string();
        let found = uploads_in(dir, &ctx.config.repo.source, &version);
        Ok(if found.is_empty() {
            Status::todo()
        } else {
            Status::Done {
                evidence: format!(
                    "{} .changes for {version} in {}",
                    found.len(),
                    dir.display()
                ),
            }
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let dir = self
            .incoming
            .as_ref()
            .context("repo.incoming is not set; name the directory the CI artifacts go to")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let gl = client(ctx)?;
        let mut fetched = Vec::new();
        let mut names = Vec::new();
        for job in &self.jobs {
            let report = gl.fetch_artifacts(&CiTarget::Tag(self.version.clone()), job, dir)?;
            fetched.push(format!(
                "{job}: {} .changes ({} bytes)",
                report.changes.len(),
                report.archive_bytes
            ));
            names.extend(report.changes.iter().filter_map(|c| {
                c.changes
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            }));
        }
        let version = ctx.release.debian_version.to_string();
        let source = &ctx.config.repo.source;
        anyhow::ensure!(
            !uploads_in(dir, source, &version).is_empty(),
            "the artifacts of {} hold {}, none of them a .changes of {source} {version}; the tag's pipeline built something else",
            self.jobs.join(", "),
            if names.is_empty() {
                "no .changes".to_owned()
            } else {
                names.join(", ")
            }
        );
        Ok(fetched.join("; "))
    }
}

/// The `.changes` files in `dir` for source `source` at `version`.
fn uploads_in(dir: &Path, source: &str, version: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "changes"))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|text| {
                text.lines().any(|l| l == format!("Source: {source}"))
                    && text.lines().any(|l| {
                        // A native package's version is the bare release version.
                        l == format!("Version: {version}")
                            || l == format!(
                                "Version: {}",
                                version.split('-').next().unwrap_or(version)
                            )
                    })
            })
        })
        .collect();
    found.sort();
    found
}
