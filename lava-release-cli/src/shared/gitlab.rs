//! The GitLab client as the configuration describes it, and the pipeline wait that
//! `wait-ci` and `fork-wait-ci` share.

use std::time::Duration;

use lava_gitlab::{CiTarget, GitLab, WaitCi};

use crate::config::Config;
use crate::env::Env;
use crate::error::UsageError;
use crate::step::{Context, Status, Verbosity};

/// The client of the project for reading: with the token the configuration names, or
/// none (lava/lava is public: pipelines, jobs, artifacts and milestones need no token).
pub fn client(ctx: &Context<'_>) -> anyhow::Result<GitLab> {
    Ok(
        gitlab_client(ctx.config, ctx.env, &ctx.config.gitlab.project)?
            .with_meter(ctx.meter.clone()),
    )
}

/// The client of the project for writing (release notes, the milestone): a token is
/// required, and its absence is a usage error naming where to put it.
pub fn writer(ctx: &Context<'_>) -> anyhow::Result<GitLab> {
    gitlab_writer(ctx.config, ctx.env, &ctx.config.gitlab.project)
}

/// A reading client for `project` on the configured instance (see [`client`]).
pub fn gitlab_client(config: &Config, env: &Env, project: &str) -> anyhow::Result<GitLab> {
    let token =
        token(config, env)?.map_or_else(lava_gitlab::Token::anonymous, lava_gitlab::Token::new);
    build(config, project, token)
}

/// A client for `project` with no token at all, as anyone reads a public project
/// (`verify-release`).
pub fn anonymous_client(config: &Config, project: &str) -> anyhow::Result<GitLab> {
    build(config, project, lava_gitlab::Token::anonymous())
}

/// A writing client for `project` (see [`writer`]).
pub fn gitlab_writer(config: &Config, env: &Env, project: &str) -> anyhow::Result<GitLab> {
    let Some(token) = token(config, env)? else {
        return Err(UsageError(format!(
            "no GitLab token, which writing to GitLab needs: set {} or gitlab.token_file in release.toml",
            config.gitlab.token_env
        ))
        .into());
    };
    build(config, project, lava_gitlab::Token::new(token))
}

/// Why the token cannot write the release notes and close the milestone, if it cannot:
/// its scopes and role read from GitLab before anything is written.
pub fn write_ready(ctx: &Context<'_>) -> Vec<String> {
    let outcome = writer(ctx).and_then(|gl| Ok(gl.access()?));
    match outcome {
        Ok(access) => access
            .cannot_write()
            .map(|why| {
                format!(
                    "the GitLab token ({}) cannot write to {}: {why}",
                    token_source(ctx.config, ctx.env),
                    project_url(ctx.config)
                )
            })
            .into_iter()
            .collect(),
        Err(e) => vec![crate::error::one_line(&e)],
    }
}

/// Where the token comes from, for messages (never the token).
fn token_source(config: &Config, env: &Env) -> String {
    let gl = &config.gitlab;
    match (&gl.token, env.var(&gl.token_env), &gl.token_file) {
        (Some(_), _, _) => "gitlab.token".to_owned(),
        (None, Some(_), _) => gl.token_env.clone(),
        (None, None, Some(path)) => format!("gitlab.token_file {}", path.display()),
        (None, None, None) => gl.token_env.clone(),
    }
}

/// The token from `gitlab.token`, the variable `gitlab.token_env` names, or
/// `gitlab.token_file`; `None` when none is configured.
fn token(config: &Config, env: &Env) -> anyhow::Result<Option<String>> {
    let gl = &config.gitlab;
    Ok(match (&gl.token, &gl.token_file, env.var(&gl.token_env)) {
        (Some(secret), _, _) => Some(secret.expose().to_owned()),
        (None, _, Some(value)) => Some(value.to_owned()),
        // A token file that cannot be read is a mistake in the configuration.
        (None, Some(path), None) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    UsageError(format!(
                        "gitlab.token_file {} cannot be read: {e}",
                        path.display()
                    ))
                })?
                .trim()
                .to_owned(),
        ),
        (None, None, None) => None,
    })
}

fn build(config: &Config, project: &str, token: lava_gitlab::Token) -> anyhow::Result<GitLab> {
    let project = project
        .parse()
        .map_err(|_| anyhow::anyhow!("GitLab project `{project}` is not a project path or id"))?;
    Ok(GitLab::new(
        lava_gitlab::Config::new(&config.gitlab.url, project),
        token,
    )?)
}

/// The project's web address, `URL/GROUP/NAME`.
pub fn project_url(config: &Config) -> String {
    format!(
        "{}/{}",
        config.gitlab.url.trim_end_matches('/'),
        config.gitlab.project
    )
}

fn wait_request(ctx: &Context<'_>, target: CiTarget) -> WaitCi {
    let gl = &ctx.config.gitlab;
    let mut request = WaitCi::new(target);
    request.timeout = Duration::from_secs(gl.ci_timeout_secs);
    request.poll.initial = Duration::from_millis(gl.poll_initial_ms);
    request.poll.max = Duration::from_millis(gl.poll_max_ms);
    request
}

/// Waits for `target`'s pipeline, drawing progress; a failed pipeline's report (failed
/// jobs and their log tails) goes to stderr before the error.
pub fn wait(
    gl: &GitLab,
    ctx: &Context<'_>,
    target: CiTarget,
) -> anyhow::Result<lava_gitlab::Pipeline> {
    let quiet = ctx.verbosity == Verbosity::Quiet;
    // On a terminal, a spinner with the run's (which are drawn only there, and not
    // when quiet); otherwise plain lines.
    let bar = ctx.spinners.as_ref().map(|spinners| {
        let bar = spinners.add(indicatif::ProgressBar::new_spinner());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut progress = WaitProgress {
        bar,
        quiet,
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

/// The status of `target`'s pipeline as a stage reports it: done once it succeeded.
pub fn pipeline_status(gl: &GitLab, target: &CiTarget, what: &str) -> anyhow::Result<Status> {
    Ok(match gl.find_pipeline(target)? {
        Some(p) if p.status == "success" => Status::Done {
            evidence: format!("{what} {} succeeded {}", p.id, p.web_url),
        },
        Some(p) => Status::ToDo {
            detail: Some(format!("{what} {} is {}", p.id, p.status)),
        },
        None => Status::todo(),
    })
}

/// Draws the wait: a spinner line on a terminal, plain lines otherwise, nothing when
/// quiet.
struct WaitProgress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    last: String,
}

impl lava_gitlab::Progress for WaitProgress {
    fn update(&mut self, snapshot: &lava_gitlab::CiSnapshot) {
        let line = lava_gitlab::describe(snapshot);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None if line != self.last && !self.quiet => {
                eprintln!("wait-ci: {line}");
                self.last = line;
            }
            None => {}
        }
    }
}
