//! The release commit and the credentials every git network operation uses.

use std::io::IsTerminal as _;

use lava_git::{Network, TagRef};

use crate::config::Config;
use crate::step::{Context, Status, short};

/// The release commit's message for `version`.
pub fn release_message(config: &Config, version: &str) -> String {
    config.project.commit_message.replace("{version}", version)
}

/// The release commit: HEAD, once the changelog stage made it.
pub fn release_commit(ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
    let message = release_message(ctx.config, &ctx.release.version.to_string());
    let head = ctx.repo.head_id()?;
    Ok((ctx.repo.commit_message(&head)?.trim_end() == message).then_some(head))
}

/// The release commit, or an error saying to run the changelog stage first.
pub fn need_release_commit(ctx: &Context<'_>) -> anyhow::Result<String> {
    release_commit(ctx)?.ok_or_else(|| {
        anyhow::anyhow!(
            "HEAD of {} is not the release commit `{}`; run the changelog stage first",
            ctx.repo.workdir().display(),
            release_message(ctx.config, &ctx.release.version.to_string())
        )
    })
}

/// The blocked status of a tag `name` that exists at another commit than the release
/// commit.
pub fn tag_elsewhere(name: &str, tag: &TagRef) -> Status {
    Status::Blocked {
        reason: format!(
            "tag `{name}` already exists at {}, not at the release commit; it is never moved",
            short(tag.commit())
        ),
    }
}

/// Whether `remote` has the release branch at (or past) the release commit and, with
/// `with_tag`, the local tag: the observation behind `fork-ci` and `push-tag`.
/// The remote is asked first, release commit or not: a wrong URL, credential or host
/// key shows in the plan, before the first stage.
pub fn check_pushed(ctx: &Context<'_>, remote: &str, with_tag: bool) -> anyhow::Result<Status> {
    let refs = ctx.repo.remote_refs(remote, &network(ctx))?;
    let Some(commit) = release_commit(ctx)? else {
        return Ok(Status::todo());
    };
    let branch = &ctx.config.project.branch;
    let tag = ctx.release.version.to_string();
    let find = |name: &str| {
        refs.iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.as_str())
    };
    let branch_ok = match find(&format!("refs/heads/{branch}")) {
        Some(id) => tip_contains(ctx, id, &commit)?,
        None => false,
    };
    if !with_tag {
        return Ok(if branch_ok {
            Status::Done {
                evidence: format!("{remote} {branch} contains {}", short(&commit)),
            }
        } else {
            Status::todo()
        });
    }
    let local = local_tag_id(ctx, &tag)?;
    Ok(match find(&format!("refs/tags/{tag}")) {
        Some(id) if id == local && branch_ok => Status::Done {
            evidence: format!(
                "{remote} has tag {tag} ({}) and {branch} at {}",
                short(id),
                short(&commit)
            ),
        },
        Some(id) if id != local => Status::Blocked {
            reason: different_tag(remote, &tag, id),
        },
        Some(_) => Status::ToDo {
            detail: Some(format!("the tag is there, {branch} is not")),
        },
        None => Status::todo(),
    })
}

/// Whether a remote branch tip `tip` contains `commit`. A tip this clone has never
/// fetched (somebody pushed since) does not: it is not a commit the release built on.
pub fn tip_contains(ctx: &Context<'_>, tip: &str, commit: &str) -> anyhow::Result<bool> {
    if tip == commit {
        return Ok(true);
    }
    if ctx.repo.resolve_commit(tip)?.is_none() {
        return Ok(false);
    }
    Ok(ctx.repo.is_ancestor(commit, tip)?)
}

/// The object the local tag `tag` names (the tag object, or the commit of a lightweight
/// tag); empty when there is none.
pub fn local_tag_id(ctx: &Context<'_>, tag: &str) -> anyhow::Result<String> {
    Ok(match ctx.repo.read_tag(tag)? {
        Some(TagRef::Annotated(t)) => t.id,
        Some(TagRef::Lightweight { commit }) => commit,
        None => String::new(),
    })
}

/// Why a push stops when `remote` already has another tag `tag` (at `id`).
pub fn different_tag(remote: &str, tag: &str, id: &str) -> String {
    format!(
        "{remote} already has a different tag `{tag}` ({}); it is never overwritten",
        short(id)
    )
}

/// What would stop a push, for a pushing stage's [`Step::ready`](crate::step::Step::ready):
/// a missing `git.ssh_key`, or the remote not answering its read-only `check` (its URL,
/// the credentials, the host key).
pub fn push_ready(ctx: &Context<'_>, check: anyhow::Result<Status>) -> Vec<String> {
    let mut problems =
        crate::config::missing_paths(&[("git.ssh_key", ctx.config.git.ssh_key.as_ref())]);
    if let Err(e) = check {
        problems.push(crate::error::one_line(&e));
    }
    problems
}

/// How git network operations reach remotes, from the configuration and the
/// environment; git and ssh may ask on the terminal when there is one.
pub fn network(ctx: &Context<'_>) -> Network {
    let git = &ctx.config.git;
    Network {
        transport: git.transport,
        interactive: std::io::stdin().is_terminal(),
        ssh_user: git.ssh_user.clone(),
        ssh_key: git.ssh_key.clone(),
        ssh_key_passphrase: git
            .ssh_key_passphrase_env
            .as_deref()
            .and_then(|v| ctx.env.var(v))
            .map(str::to_owned),
        token: git
            .token_env
            .as_deref()
            .and_then(|v| ctx.env.var(v))
            .map(str::to_owned),
    }
}
