//! The GitLab stages: `milestone-check` (nothing left open), `wait-ci` (the tag's
//! pipeline succeeded), `release-notes` (the GitLab release of the tag says what the
//! changelog says) and `close-milestone`.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use lava_gitlab::{CiTarget, GitLab, ReleaseNotes, ReleaseState, WaitCi};

use crate::Context;
use crate::config::Config;
use crate::plan::{Release, Stage, Status};
use crate::stages::changelog::CHANGELOG;

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
    let gl = &ctx.config.gitlab;
    let token = match (&gl.token, &gl.token_file, ctx.env.var(&gl.token_env)) {
        (Some(secret), _, _) => secret.expose().to_owned(),
        (None, _, Some(value)) => value.to_owned(),
        (None, Some(path), None) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the GitLab token file {}", path.display()))?
            .trim()
            .to_owned(),
        (None, None, None) => anyhow::bail!(
            "no GitLab token: set {} or gitlab.token_file in release.toml",
            gl.token_env
        ),
    };
    let project = gl.project.parse().map_err(|_| {
        anyhow::anyhow!(
            "gitlab.project `{}` is not a project path or id",
            gl.project
        )
    })?;
    Ok(GitLab::new(
        lava_gitlab::Config::new(&gl.url, project),
        lava_gitlab::Token::new(token),
    )?)
}

fn wait_request(ctx: &Context<'_>, version: &str) -> WaitCi {
    let gl = &ctx.config.gitlab;
    let mut request = WaitCi::new(CiTarget::Tag(version.to_owned()));
    request.timeout = Duration::from_secs(gl.ci_timeout_secs);
    request.poll.initial = Duration::from_millis(gl.poll_initial_ms);
    request.poll.max = Duration::from_millis(gl.poll_max_ms);
    request
}

/// The release notes: the changelog entry at HEAD, then the commits since the previous
/// release with links. One source (the commits) for the changelog and the notes.
pub fn release_notes(ctx: &Context<'_>, version: &str) -> anyhow::Result<ReleaseNotes> {
    let head = ctx.repo.head_id()?;
    let text = ctx
        .repo
        .file_at(&head, CHANGELOG)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .with_context(|| format!("{CHANGELOG} does not exist at HEAD"))?;
    let (entry, rest) = match text.find("\n -- ") {
        Some(i) => {
            let end = text[i + 1..]
                .find('\n')
                .map(|j| i + 2 + j)
                .unwrap_or(text.len());
            (&text[..end], &text[end..])
        }
        None => (text.as_str(), ""),
    };
    let previous = lava_changelog::parse_top(rest.trim_start())
        .ok()
        .map(|top| {
            top.version
                .split('-')
                .next()
                .unwrap_or(&top.version)
                .to_owned()
        });
    let since = match &previous {
        Some(v) => ctx.repo.resolve_commit(&format!("refs/tags/{v}"))?,
        None => None,
    };
    let commits = ctx.repo.log(&lava_git::LogQuery {
        since,
        until: head,
        paths: Vec::new(),
        no_merges: true,
    })?;
    let base = format!(
        "{}/{}",
        ctx.config.gitlab.url.trim_end_matches('/'),
        ctx.config.gitlab.project
    );
    let mut description = format!("```\n{}\n```\n\n", entry.trim_end());
    if let Some(previous) = &previous {
        description.push_str(&format!("Changes since {previous}:\n\n"));
    }
    for c in &commits {
        let subject = c.message.lines().next().unwrap_or_default();
        description.push_str(&format!(
            "* [{}]({base}/-/commit/{}) {subject}\n",
            c.short_id, c.id
        ));
    }
    Ok(ReleaseNotes {
        tag: version.to_owned(),
        name: ctx.config.gitlab.release_name.replace("{version}", version),
        description,
    })
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
                let bar = std::io::stderr().is_terminal().then(|| {
                    let bar = indicatif::ProgressBar::new_spinner();
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bar
                });
                let mut progress = WaitProgress {
                    bar,
                    last: String::new(),
                };
                let outcome = gl.wait_ci(&wait_request(ctx, v), &mut progress)?;
                if let Some(bar) = progress.bar {
                    bar.finish_and_clear();
                }
                if !outcome.is_success() {
                    eprintln!("{}", outcome.report());
                }
                let pipeline = outcome.into_result()?;
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
            GitlabKind::CloseMilestone => {
                let m = gl.close_milestone(v)?;
                Ok(format!("milestone {v} {} {}", m.state, m.web_url))
            }
        }
    }
}
