//! Runs a [`Plan`]: for each selected stage, check that what it needs from earlier
//! stages holds, check the stage, apply it when it is not done, check it again, and
//! journal the outcome. The runner knows stages only through the [`Step`] trait.
//!
//! Because every apply is preceded by a check, a re-run after a failure or a crash
//! continues where the last run stopped and never does a stage twice. Because every
//! need is enforced whatever the selection, `--only` and `--from` cannot reach a stage
//! around the stage it relies on (a publishing stage around `consistency`).

use std::collections::HashSet;

use crate::error::UsageError;
use crate::journal::{Journal, Outcome};
use crate::plan::Plan;
use crate::step::{Context, Credential, Need, Status, Step};

/// Which stages to run, and how.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// First stage to run.
    pub from: Option<String>,
    /// Last stage to run.
    pub to: Option<String>,
    /// Run only this stage.
    pub only: Option<String>,
    /// Check every stage and say what each apply would do; change nothing.
    pub dry_run: bool,
    /// Do not ask before stages that cannot be undone.
    pub yes: bool,
}

/// What happened to one stage, as a reporter is told.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// The check found it done.
    AlreadyDone(&'a str),
    /// A check-only stage passed.
    Passed(&'a str),
    /// Applied now, with this evidence.
    Applied(&'a str),
    /// Dry run: not done, would be applied (with what is in place already).
    WouldApply(Option<&'a str>),
    /// Blocked, with why.
    Blocked(&'a str),
    /// Failed, with the error.
    Failed(&'a str),
}

/// Receives a run's progress: the terminal front end draws it, tests record it.
pub trait Reporter {
    /// A stage starts (its check, then maybe its apply).
    fn started(&mut self, stage: &dyn Step);
    /// A stage ended.
    fn finished(&mut self, stage: &dyn Step, report: Report<'_>);
    /// Asks whether to run an irreversible stage; `false` stops the run.
    fn confirm(&mut self, stage: &dyn Step) -> bool;
}

/// Counts of what a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Stages applied in this run.
    pub applied: usize,
    /// Stages found done already.
    pub already_done: usize,
    /// Check-only stages that passed.
    pub passed: usize,
    /// Stages a dry run would apply.
    pub would_apply: usize,
}

/// A stage that could not run; the run stops there.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The check says the stage cannot be done now, or what it needs does not hold.
    #[error("stage `{stage}` is blocked: {reason}")]
    Blocked {
        /// The stage.
        stage: &'static str,
        /// Why.
        reason: String,
    },
    /// Applying failed.
    #[error("stage `{stage}` failed")]
    Failed {
        /// The stage.
        stage: &'static str,
        /// What went wrong.
        #[source]
        source: anyhow::Error,
    },
    /// Applied, but the check afterwards does not see it done.
    #[error("stage `{stage}` ran but is still not done: {status}")]
    NotDone {
        /// The stage.
        stage: &'static str,
        /// What the check said.
        status: String,
    },
    /// An irreversible stage was not confirmed.
    #[error("stage `{stage}` cannot be undone and was not confirmed; pass --yes to run it")]
    NotConfirmed {
        /// The stage.
        stage: &'static str,
    },
}

/// The stages `opts` selects, in plan order.
pub fn select<'p>(plan: &'p Plan, opts: &RunOptions) -> Result<&'p [Box<dyn Step>], UsageError> {
    if let Some(only) = &opts.only {
        if opts.from.is_some() || opts.to.is_some() {
            return Err(UsageError(
                "--only cannot be combined with --from or --to".into(),
            ));
        }
        let i = plan.position(only)?;
        return Ok(&plan.stages[i..=i]);
    }
    let from = opts
        .from
        .as_deref()
        .map(|s| plan.position(s))
        .transpose()?
        .unwrap_or(0);
    let to = match opts.to.as_deref() {
        Some(s) => plan.position(s)?,
        None => plan.stages.len().saturating_sub(1),
    };
    if from > to {
        return Err(UsageError(format!(
            "--from {} comes after --to {} in the plan",
            plan.stages[from].name(),
            plan.stages[to].name()
        )));
    }
    Ok(&plan.stages[from..=to])
}

/// Opens the secrets the selected `stages` declare: the release key and the Debian
/// Developer's key (each unlocked once, kept in `ctx`) and the GitLab token. A wrong
/// passphrase or a missing token then stops the run before anything is done, rather
/// than after the first pushes.
pub fn open_secrets(stages: &[Box<dyn Step>], ctx: &Context<'_>) -> anyhow::Result<()> {
    let wanted: HashSet<Credential> = stages.iter().flat_map(|s| s.credentials()).collect();
    // A configured token file is read up front, writes or not: one that cannot be read
    // is a mistake in the configuration, found before anything is done.
    if ctx.config.gitlab.token_file.is_some() {
        crate::shared::gitlab::client(ctx)?;
    }
    for credential in [
        Credential::ReleaseKey,
        Credential::DebianKey,
        Credential::GitLab,
    ] {
        if !wanted.contains(&credential) {
            continue;
        }
        match credential {
            Credential::ReleaseKey => {
                ctx.release_signer()?;
            }
            Credential::DebianKey => {
                ctx.debian_signer()?;
            }
            Credential::GitLab => {
                crate::shared::gitlab::writer(ctx)?;
            }
        }
    }
    Ok(())
}

/// Everything the selected stages say would stop them, each once, in plan order.
pub fn readiness(stages: &[Box<dyn Step>], ctx: &Context<'_>) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    for stage in stages {
        for problem in stage.ready(ctx) {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    problems
}

/// What earlier stages of this run established, for the needs of later ones.
#[derive(Default)]
struct Established {
    /// Stages that ended done (passed, applied or already done).
    done: HashSet<&'static str>,
    /// Stages a dry run would apply: their needs count as met for the rest of it.
    would_apply: HashSet<&'static str>,
}

/// Why `stage` cannot run yet: the first of its needs that does not hold, observed
/// through the providing stage's [`Step::provides`] unless this run established it.
fn unmet_need(
    plan: &Plan,
    stage: &dyn Step,
    ctx: &Context<'_>,
    established: &mut Established,
) -> anyhow::Result<Option<String>> {
    for need in stage.needs() {
        let provider_name = need.provider();
        if established.done.contains(provider_name)
            || established.would_apply.contains(provider_name)
        {
            continue;
        }
        let Some(provider) = plan.get(provider_name) else {
            return Ok(Some(unprovided(need)));
        };
        match provider.provides(ctx)? {
            Status::Done { .. } => {
                established.done.insert(provider_name);
            }
            status => {
                let why = status
                    .note()
                    .map_or_else(String::new, |note| format!(" ({note})"));
                return Ok(Some(format!(
                    "it needs {}, and stage `{provider_name}` is {}{why}; run it first",
                    need.what(),
                    status.label()
                )));
            }
        }
    }
    Ok(None)
}

fn unprovided(need: Need) -> String {
    format!(
        "it needs {}, which stage `{}` provides, but the configuration leaves that stage out",
        need.what(),
        need.provider()
    )
}

/// Runs the selected stages of `plan`. `journal` is `None` for a dry run.
pub fn run(
    plan: &Plan,
    ctx: &Context<'_>,
    mut journal: Option<&mut Journal>,
    opts: &RunOptions,
    reporter: &mut dyn Reporter,
) -> anyhow::Result<Summary> {
    let stages = select(plan, opts)?;
    let mut summary = Summary::default();
    let mut established = Established::default();
    for stage in stages {
        let stage = stage.as_ref();
        let name = stage.name();
        reporter.started(stage);
        let mut record = |outcome, note: Option<String>| -> anyhow::Result<()> {
            match journal.as_deref_mut() {
                Some(j) => j.record(name, outcome, time::OffsetDateTime::now_utc(), note),
                None => Ok(()),
            }
        };
        let observed = unmet_need(plan, stage, ctx, &mut established).and_then(|unmet| {
            Ok(match unmet {
                Some(reason) => Status::Blocked { reason },
                None => stage.check(ctx)?,
            })
        });
        let status = match observed {
            Ok(status) => status,
            Err(e) => {
                let msg = format!("{e:#}");
                reporter.finished(stage, Report::Failed(&msg));
                record(Outcome::Failed, Some(msg))?;
                return Err(StageError::Failed {
                    stage: name,
                    source: e,
                }
                .into());
            }
        };
        match status {
            Status::Done { evidence } if stage.check_only() => {
                reporter.finished(stage, Report::Passed(&evidence));
                record(Outcome::Passed, Some(evidence))?;
                established.done.insert(name);
                summary.passed += 1;
            }
            Status::Done { evidence } => {
                reporter.finished(stage, Report::AlreadyDone(&evidence));
                record(Outcome::AlreadyDone, Some(evidence))?;
                established.done.insert(name);
                summary.already_done += 1;
            }
            Status::Blocked { reason } => {
                reporter.finished(stage, Report::Blocked(&reason));
                record(Outcome::Blocked, Some(reason.clone()))?;
                return Err(StageError::Blocked {
                    stage: name,
                    reason,
                }
                .into());
            }
            Status::ToDo { detail } if opts.dry_run => {
                let shown = match stage.rehearse(ctx) {
                    Ok(shown) => shown,
                    Err(e) => {
                        let msg = format!("{e:#}");
                        reporter.finished(stage, Report::Failed(&msg));
                        return Err(StageError::Failed {
                            stage: name,
                            source: e,
                        }
                        .into());
                    }
                };
                reporter.finished(stage, Report::WouldApply(shown.or(detail).as_deref()));
                established.would_apply.insert(name);
                summary.would_apply += 1;
            }
            Status::ToDo { .. } => {
                if stage.irreversible() && !opts.yes && !reporter.confirm(stage) {
                    return Err(StageError::NotConfirmed { stage: name }.into());
                }
                ctx.failpoint(&format!("before:{name}"));
                match apply(stage, ctx) {
                    Ok(evidence) => {
                        reporter.finished(stage, Report::Applied(&evidence));
                        record(Outcome::Applied, Some(evidence))?;
                        established.done.insert(name);
                        summary.applied += 1;
                        ctx.failpoint(&format!("after:{name}"));
                    }
                    Err(e) => {
                        let msg = format!("{e:#}");
                        reporter.finished(stage, Report::Failed(&msg));
                        record(Outcome::Failed, Some(msg))?;
                        return Err(match e.downcast::<StageError>() {
                            Ok(stage_error) => stage_error.into(),
                            Err(e) => StageError::Failed {
                                stage: name,
                                source: e,
                            }
                            .into(),
                        });
                    }
                }
            }
        }
    }
    Ok(summary)
}

/// Applies `stage` and checks that it is done now.
fn apply(stage: &dyn Step, ctx: &Context<'_>) -> anyhow::Result<String> {
    let evidence = stage.apply(ctx)?;
    ctx.failpoint(&format!("applied:{}", stage.name()));
    match stage.check(ctx)? {
        Status::Done { .. } => Ok(evidence),
        other => Err(StageError::NotDone {
            stage: stage.name(),
            status: other.note().unwrap_or(other.label()).to_owned(),
        }
        .into()),
    }
}
