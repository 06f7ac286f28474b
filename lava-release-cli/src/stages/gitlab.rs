//! The GitLab stages: `milestone-check` (nothing left open), `wait-ci` (the tag's
//! pipeline succeeded), `release-notes` (the GitLab release of the tag says what the
//! changelog says) and `close-milestone`.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use lava_gitlab::{CiTarget, GitLab, ReleaseNotes, ReleaseState, WaitCi};

use crate::Context;
use crate::config::Config;
use crate::notes::ReleaseContent;
use crate::plan::{Release, Stage, Status};

/// A GitLab stage's inputs.
#[derive(Debug, Clone)]
pub struct GitlabStage {
    /// The version: milestone title and tag.
    pub version: String,
    /// Which stage.
    pub kind: GitlabKind,
}

/// The GitLab stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitlabKind {
    /// `milestone-check`
    MilestoneCheck,
    /// `wait-ci`
    WaitCi,
    /// `release-notes`
    ReleaseNotes,
    /// `close-milestone`
    CloseMilestone,
    /// `fork-wait-ci`: the pipeline of the release commit on the fork's branch.
    ForkWaitCi,
    /// `ci-artifacts`: the Debian build jobs' artifacts of the tag's pipeline.
    Artifacts,
}

/// `fork-wait-ci`, when both the fork remote and its GitLab project are configured.
pub fn fork_wait(config: &Config, release: &Release) -> Option<Stage> {
    let fork = config
        .gitlab
        .fork_project
        .as_deref()
        .filter(|f| !f.is_empty())?;
    config.project.fork.as_deref().filter(|f| !f.is_empty())?;
    let url = config.gitlab.url.trim_end_matches('/');
    Some(Stage {
        name: "fork-wait-ci",
        description: format!(
            "wait for the pipeline of the release commit on {} of {url}/{fork} to succeed",
            config.project.branch
        ),
        irreversible: false,
        check_only: false,
        action: crate::plan::Action::Gitlab(GitlabStage {
            version: release.version.to_string(),
            kind: GitlabKind::ForkWaitCi,
        }),
    })
}

/// `ci-artifacts`, when Debian build jobs are configured.
pub fn artifacts(config: &Config, release: &Release) -> Option<Stage> {
    if config.gitlab.artifact_jobs.is_empty() {
        return None;
    }
    let dest = config
        .repo
        .incoming
        .as_ref()
        .map_or("(repo.incoming unset)".into(), |p| p.display().to_string());
    Some(Stage {
        name: "ci-artifacts",
        description: format!(
            "download and verify the artifacts of {} from the pipeline of tag {} into {dest}",
            config.gitlab.artifact_jobs.join(", "),
            release.version
        ),
        irreversible: false,
        check_only: false,
        action: crate::plan::Action::Gitlab(GitlabStage {
            version: release.version.to_string(),
            kind: GitlabKind::Artifacts,
        }),
    })
}

/// The `.changes` files in `dir` for source `source` at `version`.
fn uploads_in(dir: &std::path::Path, source: &str, version: &str) -> Vec<std::path::PathBuf> {
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

/// The GitLab stages of `release`, in the order they run, split around `push-tag`:
/// (before it, after it).
pub fn stages(config: &Config, release: &Release) -> (Vec<Stage>, Vec<Stage>) {
    let version = release.version.to_string();
    let project = format!(
        "{}/{}",
        config.gitlab.url.trim_end_matches('/'),
        config.gitlab.project
    );
    let stage = |name, kind, irreversible, check_only, description: String| Stage {
        name,
        description,
        irreversible,
        check_only,
        action: crate::plan::Action::Gitlab(GitlabStage {
            version: version.clone(),
            kind,
        }),
    };
    let before = vec![stage(
        "milestone-check",
        GitlabKind::MilestoneCheck,
        false,
        true,
        format!("check that milestone {version} of {project} has no open merge request or issue"),
    )];
    let after = vec![
        stage(
            "wait-ci",
            GitlabKind::WaitCi,
            false,
            false,
            format!("wait for the pipeline of tag {version} on {project} to succeed"),
        ),
        stage(
            "release-notes",
            GitlabKind::ReleaseNotes,
            true,
            false,
            format!(
                "create or update the GitLab release of tag {version} with the changelog entry and commits"
            ),
        ),
        stage(
            "close-milestone",
            GitlabKind::CloseMilestone,
            true,
            false,
            format!("close milestone {version} of {project}"),
        ),
    ];
    (before, after)
}

/// The GitLab client, with the token from the configuration or the environment.
fn client(ctx: &Context<'_>) -> anyhow::Result<GitLab> {
    client_for(ctx, &ctx.config.gitlab.project)
}

fn client_for(ctx: &Context<'_>, project: &str) -> anyhow::Result<GitLab> {
    gitlab_client(ctx.config, ctx.env, project)
}

/// A client for `project` on the configured instance, with the token from
/// `gitlab.token`, the variable `gitlab.token_env` names, or `gitlab.token_file`.
pub fn gitlab_client(config: &Config, env: &crate::Env, project: &str) -> anyhow::Result<GitLab> {
    let gl = &config.gitlab;
    let token = match (&gl.token, &gl.token_file, env.var(&gl.token_env)) {
        (Some(secret), _, _) => secret.expose().to_owned(),
        (None, _, Some(value)) => value.to_owned(),
        (None, Some(path), None) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the GitLab token file {}", path.display()))?
            .trim()
            .to_owned(),
        (None, None, None) => {
            return Err(crate::UsageError(format!(
                "no GitLab token: set {} or gitlab.token_file in release.toml",
                gl.token_env
            ))
            .into());
        }
    };
    let project = project
        .parse()
        .map_err(|_| anyhow::anyhow!("GitLab project `{project}` is not a project path or id"))?;
    Ok(GitLab::new(
        lava_gitlab::Config::new(&gl.url, project),
        lava_gitlab::Token::new(token),
    )?)
}

fn wait_request(ctx: &Context<'_>, target: CiTarget) -> WaitCi {
    let gl = &ctx.config.gitlab;
    let mut request = WaitCi::new(target);
    request.timeout = Duration::from_secs(gl.ci_timeout_secs);
    request.poll.initial = Duration::from_millis(gl.poll_initial_ms);
    request.poll.max = Duration::from_millis(gl.poll_max_ms);
    request
}

/// The release notes: the changelog entry at HEAD, then the commits since the previous
/// release with links, from [`ReleaseContent`], the source the announcement also uses.
pub fn release_notes(ctx: &Context<'_>, version: &str) -> anyhow::Result<ReleaseNotes> {
    let content = ReleaseContent::read(ctx)?;
    let base = format!(
        "{}/{}",
        ctx.config.gitlab.url.trim_end_matches('/'),
        ctx.config.gitlab.project
    );
    let mut description = format!("```\n{}\n```\n\n", content.entry);
    if let Some(previous) = &content.previous {
        description.push_str(&format!("Changes since {previous}:\n\n"));
    }
    for c in &content.commits {
        description.push_str(&format!(
            "* [{}]({base}/-/commit/{}) {}\n",
            c.short_id,
            c.id,
            crate::notes::subject(c)
        ));
    }
    Ok(ReleaseNotes {
        tag: version.to_owned(),
        name: ctx.config.gitlab.release_name.replace("{version}", version),
        description,
    })
}

/// Waits for `target`'s pipeline, drawing progress; a failed pipeline's report (failed
/// jobs and their log tails) goes to stderr before the error.
fn wait(gl: &GitLab, ctx: &Context<'_>, target: CiTarget) -> anyhow::Result<lava_gitlab::Pipeline> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut progress = WaitProgress {
        bar,
        last: String::new(),
    };
    let outcome = gl.wait_ci(&wait_request(ctx, target), &mut progress)?;
    if let Some(bar) = progress.bar {
        bar.finish_and_clear();
    }
    if !outcome.is_success() {
        eprintln!("{}", outcome.report());
    }
    Ok(outcome.into_result()?)
}

/// Draws the wait: a spinner line on a terminal, plain lines otherwise.
struct WaitProgress {
    bar: Option<indicatif::ProgressBar>,
    last: String,
}

impl lava_gitlab::Progress for WaitProgress {
    fn update(&mut self, snapshot: &lava_gitlab::CiSnapshot) {
        let line = lava_gitlab::describe(snapshot);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None if line != self.last => {
                eprintln!("wait-ci: {line}");
                self.last = line;
            }
            None => {}
        }
    }
}

impl GitlabStage {
    /// Read-only observation.
    pub fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let gl = client(ctx)?;
        let v = &self.version;
        Ok(match self.kind {
            GitlabKind::MilestoneCheck => {
                let report = gl.milestone_check(v)?;
                match report.ensure_clear(ctx.config.gitlab.allow_open) {
                    Ok(()) => Status::Done {
                        evidence: format!(
                            "milestone {v}: {} open merge request(s), {} open issue(s) {}",
                            report.open_merge_requests.len(),
                            report.open_issues.len(),
                            report.milestone.web_url
                        ),
                    },
                    Err(e) => Status::Blocked {
                        reason: format!("{e}; pass --allow-open to release anyway"),
                    },
                }
            }
            GitlabKind::WaitCi => match gl.find_pipeline(&CiTarget::Tag(v.clone()))? {
                Some(p) if p.status == "success" => Status::Done {
                    evidence: format!("pipeline {} succeeded {}", p.id, p.web_url),
                },
                Some(p) => Status::ToDo {
                    detail: Some(format!("pipeline {} is {}", p.id, p.status)),
                },
                None => Status::todo(),
            },
            GitlabKind::ReleaseNotes => {
                if ctx.repo.read_tag(v)?.is_none() {
                    return Ok(Status::todo());
                }
                match gl.release_notes_check(&release_notes(ctx, v)?)? {
                    ReleaseState::UpToDate(r) => Status::Done {
                        evidence: format!(
                            "release {} {}",
                            r.name.as_deref().unwrap_or(&r.tag_name),
                            r.web_url().unwrap_or_default()
                        ),
                    },
                    ReleaseState::Differs(_) => Status::ToDo {
                        detail: Some("the release exists with other notes".into()),
                    },
                    ReleaseState::Missing => Status::todo(),
                }
            }
            GitlabKind::ForkWaitCi => {
                let Some(target) = fork_target(ctx)? else {
                    return Ok(Status::todo());
                };
                let fork = client_for(
                    ctx,
                    ctx.config
                        .gitlab
                        .fork_project
                        .as_deref()
                        .unwrap_or_default(),
                )?;
                match fork.find_pipeline(&target)? {
                    Some(p) if p.status == "success" => Status::Done {
                        evidence: format!("fork pipeline {} succeeded {}", p.id, p.web_url),
                    },
                    Some(p) => Status::ToDo {
                        detail: Some(format!("fork pipeline {} is {}", p.id, p.status)),
                    },
                    None => Status::todo(),
                }
            }
            GitlabKind::Artifacts => {
                let Some(dir) = &ctx.config.repo.incoming else {
                    return Ok(Status::Blocked {
                        reason:
                            "repo.incoming is not set; name the directory the CI artifacts go to"
                                .into(),
                    });
                };
                let version = ctx.release.debian_version.to_string();
                let found = uploads_in(dir, &ctx.config.repo.source, &version);
                if found.is_empty() {
                    Status::todo()
                } else {
                    Status::Done {
                        evidence: format!(
                            "{} .changes for {version} in {}",
                            found.len(),
                            dir.display()
                        ),
                    }
                }
            }
            GitlabKind::CloseMilestone => {
                let m = gl.close_milestone_check(v)?;
                if m.is_closed() {
                    Status::Done {
                        evidence: format!("milestone {v} closed {}", m.web_url),
                    }
                } else {
                    Status::todo()
                }
            }
        })
    }

    /// Does the stage.
    pub fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let gl = client(ctx)?;
        let v = &self.version;
        match self.kind {
            GitlabKind::MilestoneCheck => {
                let report = gl.milestone_check(v)?;
                report.ensure_clear(ctx.config.gitlab.allow_open)?;
                Ok(format!("milestone {v} clear"))
            }
            GitlabKind::WaitCi => {
                let pipeline = wait(&gl, ctx, CiTarget::Tag(v.clone()))?;
                Ok(format!(
                    "pipeline {} succeeded {}",
                    pipeline.id, pipeline.web_url
                ))
            }
            GitlabKind::ReleaseNotes => {
                let (release, action) = gl.publish_release(&release_notes(ctx, v)?)?;
                ctx.failpoint("release-notes:published");
                Ok(format!(
                    "release {} {:?} {}",
                    release.name.as_deref().unwrap_or(&release.tag_name),
                    action,
                    release.web_url().unwrap_or_default()
                ))
            }
            GitlabKind::ForkWaitCi => {
                let target = fork_target(ctx)?.context("HEAD is not the release commit yet")?;
                let fork = client_for(
                    ctx,
                    ctx.config
                        .gitlab
                        .fork_project
                        .as_deref()
                        .unwrap_or_default(),
                )?;
                let pipeline = wait(&fork, ctx, target)?;
                Ok(format!(
                    "fork pipeline {} succeeded {}",
                    pipeline.id, pipeline.web_url
                ))
            }
            GitlabKind::Artifacts => {
                let dir = ctx.config.repo.incoming.as_ref().context(
                    "repo.incoming is not set; name the directory the CI artifacts go to",
                )?;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let mut fetched = Vec::new();
                let mut names = Vec::new();
                for job in &ctx.config.gitlab.artifact_jobs {
                    let report = gl.fetch_artifacts(&CiTarget::Tag(v.clone()), job, dir)?;
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
                    ctx.config.gitlab.artifact_jobs.join(", "),
                    if names.is_empty() {
                        "no .changes".to_owned()
                    } else {
                        names.join(", ")
                    }
                );
                Ok(fetched.join("; "))
            }
            GitlabKind::CloseMilestone => {
                let m = gl.close_milestone(v)?;
                Ok(format!("milestone {v} {} {}", m.state, m.web_url))
            }
        }
    }
}

/// The fork's pipeline to wait for: the release commit on the release branch.
fn fork_target(ctx: &Context<'_>) -> anyhow::Result<Option<CiTarget>> {
    let head = ctx.repo.head_id()?;
    let message = ctx
        .config
        .project
        .commit_message
        .replace("{version}", &ctx.release.version.to_string());
    if ctx.repo.commit_message(&head)?.trim_end() != message {
        return Ok(None);
    }
    Ok(Some(CiTarget::Commit {
        sha: head,
        ref_name: Some(ctx.config.project.branch.clone()),
    }))
}
