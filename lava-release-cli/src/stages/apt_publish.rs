//! Stage `apt-publish` (when `repo.mode` is `pipeline`, LAVA today): the tag's pipeline
//! has a trigger job (`publish-packages/release`) that starts a pipeline in
//! `lava/lava-apt-repo`, which imports CI's packages and publishes the repository. This
//! stage follows that trigger job to its downstream pipeline, waits for it, then proves
//! the result at `repo.url`: every suite signed by the release key with every index
//! right, and listing the source and its binaries at the version CI builds for that
//! suite, with the bytes CI built when its artifacts were downloaded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use lava_gitlab::{Bridge, CiTarget, GitLab, Pipeline};

use crate::config::{Config, RepoMode};
use crate::packages::SuiteVersion;
use crate::shared::debian::release_package_versions;
use crate::shared::gitlab::{client, gitlab_client, wait};
use crate::shared::repo::RepoSite;
use crate::signing;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `apt-publish` stage.
#[derive(Debug, Clone)]
pub struct AptPublish {
    version: String,
    job: String,
    project: String,
    url: String,
    source: String,
    packages: Vec<SuiteVersion>,
}

/// Where the publishing pipeline is.
enum Downstream {
    /// Not there yet, or still running: why, in a clause.
    Pending(String),
    /// It cannot end well: one sentence.
    Blocked(String),
    /// This pipeline, of `repo.publish_project`.
    Started(Pipeline),
}

impl Step for AptPublish {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        match config.repo.mode {
            RepoMode::Pipeline => {}
            RepoMode::Reprepro => {
                return Err(Absent::new(
                    "apt-publish",
                    "repo.mode is reprepro: repo-import, repo-sign and repo-publish publish it",
                ));
            }
            RepoMode::None => return Err(Absent::new("apt-publish", "repo.mode is none")),
        }
        Ok(Self {
            version: release.version.to_string(),
            job: config.repo.publish_job.clone(),
            project: config.repo.publish_project.clone(),
            url: config.repo.url.clone(),
            source: config.repo.source.clone(),
            // `Config::validate` has checked the template before any plan is made.
            packages: release_package_versions(config, release).unwrap_or_default(),
        })
    }

    fn name(&self) -> &'static str {
        "apt-publish"
    }

    fn describe(&self) -> String {
        let versions: Vec<String> = self
            .packages
            .iter()
            .map(|p| format!("{} in {}", p.version, p.suite))
            .collect();
        format!(
            "wait for the pipeline that `{}` of tag {} starts in {}, then check that {} lists {} {}, signed by the release key",
            self.job,
            self.version,
            self.project,
            self.url,
            self.source,
            versions.join(", ")
        )
    }

    /// Nothing is published here that CI does not publish anyway; the check says
    /// whether what it published is this release.
    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        match self.downstream(&client(ctx)?)? {
            Downstream::Pending(what) => Ok(Status::ToDo { detail: Some(what) }),
            Downstream::Blocked(reason) => Ok(Status::Blocked { reason }),
            Downstream::Started(p) if p.status == "success" => Ok(match self.verify(ctx)? {
                Ok(evidence) => Status::Done {
                    evidence: format!("pipeline {} of {}; {evidence}", p.id, self.project),
                },
                Err(reason) => Status::Blocked { reason },
            }),
            Downstream::Started(p) => {
                let said = format!(
                    "the publishing pipeline {} in {} is {}: {}",
                    p.id, self.project, p.status, p.web_url
                );
                Ok(if finished(&p.status) {
                    Status::Blocked { reason: said }
                } else {
                    Status::ToDo { detail: Some(said) }
                })
            }
        }
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let gl = client(ctx)?;
        let timeout = Duration::from_secs(ctx.config.gitlab.ci_timeout_secs);
        let poll = Duration::from_millis(ctx.config.gitlab.poll_initial_ms);
        let start = Instant::now();
        // The trigger job starts the downstream pipeline once its own needs are done.
        let pipeline = loop {
            match self.downstream(&gl)? {
                Downstream::Started(p) => break p,
                Downstream::Blocked(reason) => anyhow::bail!("{reason}"),
                Downstream::Pending(what) if start.elapsed() >= timeout => anyhow::bail!(
                    "{what} after {}s; wait again or raise gitlab.ci_timeout_secs",
                    timeout.as_secs()
                ),
                Downstream::Pending(_) => std::thread::sleep(poll),
            }
        };
        let downstream = gitlab_client(ctx.config, ctx.env, &self.project)?;
        let done = wait(&downstream, ctx, CiTarget::Pipeline(pipeline.id))?;
        match self.verify(ctx)? {
            Ok(evidence) => Ok(format!(
                "pipeline {} of {} succeeded {}; {evidence}",
                done.id, self.project, done.web_url
            )),
            Err(reason) => anyhow::bail!("{reason}"),
        }
    }
}

/// A pipeline status that will not change by waiting.
fn finished(status: &str) -> bool {
    matches!(status, "success" | "failed" | "canceled" | "skipped")
}

impl AptPublish {
    /// The downstream pipeline of the tag pipeline's trigger job, as far as it exists.
    fn downstream(&self, gl: &GitLab) -> anyhow::Result<Downstream> {
        let tag = CiTarget::Tag(self.version.clone());
        let Some(pipeline) = gl.find_pipeline(&tag)? else {
            return Ok(Downstream::Pending(format!(
                "tag {} has no pipeline yet",
                self.version
            )));
        };
        let bridges = gl.pipeline_bridges(pipeline.id)?;
        let Some(bridge) = bridges.iter().find(|b| b.name == self.job) else {
            let others: Vec<&str> = bridges.iter().map(|b| b.name.as_str()).collect();
            return Ok(Downstream::Blocked(format!(
                "pipeline {} of tag {} ({}) has no trigger job `{}` (it has {}); set repo.publish_job, or repo.mode = \"reprepro\" to publish by hand",
                pipeline.id,
                self.version,
                pipeline.web_url,
                self.job,
                if others.is_empty() {
                    "none".to_owned()
                } else {
                    others.join(", ")
                }
            )));
        };
        Ok(self.follow(bridge))
    }

    fn follow(&self, bridge: &Bridge) -> Downstream {
        match &bridge.downstream_pipeline {
            Some(p)
                if p.web_url.is_empty() || p.web_url.contains(&format!("/{}/", self.project)) =>
            {
                Downstream::Started(p.clone())
            }
            Some(p) => Downstream::Blocked(format!(
                "trigger job `{}` ({}) started {}, which is not a pipeline of repo.publish_project {}",
                bridge.name, bridge.web_url, p.web_url, self.project
            )),
            None if finished(&bridge.status) || bridge.status == "manual" => {
                Downstream::Blocked(format!(
                    "trigger job `{}` ({}) is {} and started no pipeline in {}",
                    bridge.name, bridge.web_url, bridge.status, self.project
                ))
            }
            None => Downstream::Pending(format!(
                "trigger job `{}` is {} and has not started the publishing pipeline yet",
                bridge.name, bridge.status
            )),
        }
    }

    /// The repository at `repo.url` as users meet it: `Ok(evidence)` when every suite
    /// verifies and lists this release, `Err(reason)` naming the suite otherwise.
    fn verify(&self, ctx: &Context<'_>) -> anyhow::Result<Result<String, String>> {
        let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
        let now = SystemTime::now();
        let suites: Vec<String> = self.packages.iter().map(|p| p.suite.clone()).collect();
        if let Err(e) = lava_repo_sign::verify_url(&self.url, &suites, &keyring, now, &ctx.meter) {
            return Ok(Err(e.to_string()));
        }
        let built = built_debs(ctx)?;
        let mut evidence = Vec::new();
        for want in &self.packages {
            let query = lava_repo_sign::SourceQuery {
                base: &self.url,
                suite: &want.suite,
                component: "main",
                package: &self.source,
                version: &want.version,
            };
            let published = match lava_repo_sign::published(&query, &keyring, now) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e.to_string())),
            };
            if !published.source_versions.contains(&want.version) {
                return Ok(Err(format!(
                    "{} does not list {} {} in {} (it lists {})",
                    published.release_url,
                    self.source,
                    want.version,
                    want.suite,
                    list_or_none(&published.source_versions)
                )));
            }
            let binaries: Vec<_> = published
                .binaries
                .iter()
                .filter(|b| b.version == want.version)
                .collect();
            if binaries.is_empty() {
                return Ok(Err(format!(
                    "{} lists no binary package of {} {} in {}",
                    published.release_url, self.source, want.version, want.suite
                )));
            }
            // What CI built for this suite, file by file, is what apt gets.
            let mut compared = 0;
            if let Some(debs) = built.get(&want.suite) {
                for (file, sha256) in debs {
                    let Some(listed) = binaries.iter().find(|b| b.file == *file) else {
                        return Ok(Err(format!(
                            "{} does not list {file}, which CI built for {}",
                            published.release_url, want.suite
                        )));
                    };
                    if listed.sha256 != *sha256 {
                        return Ok(Err(format!(
                            "{file} in {} differs from what CI built: the repository says SHA256 {}, CI's .changes says {sha256}",
                            want.suite, listed.sha256
                        )));
                    }
                    compared += 1;
                }
            }
            evidence.push(format!(
                "{} {} in {} ({} binaries{})",
                self.source,
                want.version,
                want.suite,
                binaries.len(),
                if compared > 0 {
                    format!(", {compared} = CI's")
                } else {
                    String::new()
                }
            ));
        }
        Ok(Ok(format!("{}: {}", self.url, evidence.join(", "))))
    }
}

/// The `.deb` files CI built for each suite, with their SHA256, from the `.changes` in
/// the CI artifacts' directory (none when they were not downloaded).
fn built_debs(ctx: &Context<'_>) -> anyhow::Result<BTreeMap<String, Vec<(String, String)>>> {
    let repo = RepoSite::in_context(ctx);
    let mut built: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    if !repo
        .incoming
        .as_deref()
        .is_some_and(std::path::Path::is_dir)
    {
        return Ok(built);
    }
    let Some((_, uploads)) = repo.uploads()? else {
        return Ok(built);
    };
    for changes in &uploads {
        let suites = repo.suites_of(changes);
        let text = std::fs::read(&changes.path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", changes.path))?;
        let text = lava_debian::strip_cleartext(&text);
        let parsed = lava_debian::parse_dsc(&changes.path, &String::from_utf8_lossy(&text))?;
        let debs: Vec<(String, String)> = parsed
            .files
            .into_iter()
            .filter(|f| f.name.ends_with(".deb"))
            .map(|f| (f.name, f.sha256))
            .collect();
        for suite in suites {
            built
                .entry(suite.suite.clone())
                .or_default()
                .extend(debs.iter().cloned());
        }
    }
    Ok(built)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
