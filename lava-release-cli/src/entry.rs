//! Gathers what a changelog entry is made of (commits, maintainer, date) from the
//! repository and the environment, and hands it to `lava-changelog` to render.

use anyhow::Context as _;
use time::OffsetDateTime;

use crate::config::ChangelogStyle;
use crate::error::UsageError;
use crate::step::Context;

/// The changelog file, relative to the top of the working tree.
pub const CHANGELOG: &str = "debian/changelog";

/// What `lava-release changelog` and the `changelog` stage ask for.
#[derive(Debug, Clone)]
pub struct EntryRequest<'a> {
    /// The style.
    pub style: ChangelogStyle,
    /// Start of the range instead of the style's own choice: a tag or commit
    /// (exclusive), or a revision expression such as `^X TAG` (`do-debian-release -t`).
    pub since: Option<&'a str>,
    /// Path filter instead of the style's own (`changelog.paths` for gbp, none for
    /// the others).
    pub paths: Option<&'a [String]>,
    /// One `[ Author ]` block per author.
    pub multimaint_merge: bool,
    /// The `git-log` style lists commits newest first.
    pub newest_first: bool,
    /// The first bullet instead of `changelog.first_bullet` (`do-debian-release -m`).
    pub message: Option<&'a str>,
}

impl<'a> EntryRequest<'a> {
    /// The request the configuration makes: its style and options, no overrides.
    pub fn from_config(config: &crate::config::Changelog) -> Self {
        Self {
            style: config.style,
            since: None,
            paths: None,
            multimaint_merge: config.multimaint_merge(),
            newest_first: config.newest_first,
            message: None,
        }
    }
}

/// A rendered entry and what the existing changelog made the reader warn about.
#[derive(Debug, Clone)]
pub struct RenderedEntry {
    /// The entry, header to trailer.
    pub text: String,
    /// One line per hand edit dpkg would warn about in the existing top entry, naming
    /// the file and line.
    pub warnings: Vec<String>,
}

/// Reads the top entry of `debian/changelog` in the working tree, as dpkg reads it.
pub fn read_top(ctx: &Context<'_>) -> anyhow::Result<(lava_changelog::TopEntry, Vec<String>)> {
    let path = ctx.repo.workdir().join(CHANGELOG);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let top = lava_changelog::parse_top(&text)
        .with_context(|| format!("cannot parse {}", path.display()))?;
    let warnings = top
        .warnings
        .iter()
        .map(|w| format!("{CHANGELOG} line {}: {}", w.line, w.message))
        .collect();
    Ok((top, warnings))
}

/// Renders the new entry for `ctx.release` from HEAD's history.
pub fn render_entry(ctx: &Context<'_>, req: &EntryRequest<'_>) -> anyhow::Result<RenderedEntry> {
    let repo = ctx.repo;
    let (top, warnings) = read_top(ctx)?;
    let new_version = &ctx.release.debian_version;
    match top.version.parse::<debversion::Version>() {
        Ok(previous) if *new_version > previous => {}
        Ok(previous) => {
            return Err(UsageError(format!(
                "version {new_version} is not newer than {previous} at the top of {CHANGELOG}"
            ))
            .into());
        }
        Err(_) => {
            return Err(UsageError(format!(
                "{CHANGELOG} starts with version `{}`, which is not a Debian version",
                top.version
            ))
            .into());
        }
    }

    let (since, exclude) = match req.since {
        Some(expr) => since_expression(ctx, expr)?,
        None => (default_since(ctx, req.style, &top.version)?, Vec::new()),
    };
    let paths = match (req.paths, req.style) {
        (Some(paths), _) => paths.to_vec(),
        (None, ChangelogStyle::Gbp) => ctx.config.changelog.paths.clone(),
        (None, ChangelogStyle::Oneline | ChangelogStyle::GitLog) => Vec::new(),
    };
    let query = lava_git::LogQuery {
        since,
        exclude,
        until: "HEAD".into(),
        paths,
        no_merges: true,
    };
    Ok(RenderedEntry {
        text: render_from(ctx, repo, top.source, &query, req)?,
        warnings,
    })
}

/// Renders the entry of the Debian branch of a packaging repository (`repo`, whose
/// `debian/changelog` is `text`) for `ctx.release`'s Debian version, in the gbp style:
/// the branch's own commits since the Debian tag of its top entry (else the last commit
/// that touched the changelog), leaving out the upstream history `upstream` brings.
pub fn render_packaging_entry(
    ctx: &Context<'_>,
    repo: &lava_git::Repository,
    text: &str,
    upstream: &str,
) -> anyhow::Result<String> {
    let top = lava_changelog::parse_top(text)
        .with_context(|| format!("cannot parse {CHANGELOG} of {}", repo.workdir().display()))?;
    let tag = lava_changelog::debian_tag(&top.version);
    let since = match repo.resolve_commit(&format!("refs/tags/{tag}"))? {
        Some(commit) => Some(commit),
        None => repo.last_commit_touching(CHANGELOG)?,
    };
    let query = lava_git::LogQuery {
        since,
        exclude: vec![upstream.to_owned()],
        until: "HEAD".into(),
        paths: Vec::new(),
        no_merges: true,
    };
    let mut req = EntryRequest::from_config(&ctx.config.changelog);
    req.style = ChangelogStyle::Gbp;
    render_from(ctx, repo, top.source, &query, &req)
}

/// The entry for `ctx.release` of the commits `query` finds in `repo`.
fn render_from(
    ctx: &Context<'_>,
    repo: &lava_git::Repository,
    source: String,
    query: &lava_git::LogQuery,
    req: &EntryRequest<'_>,
) -> anyhow::Result<String> {
    let new_version = &ctx.release.debian_version;
    let commits = repo.log(query)?;
    let commits: Vec<lava_changelog::Commit> = commits
        .into_iter()
        .map(|c| lava_changelog::Commit {
            id: c.id,
            short_id: c.short_id,
            author_name: c.author_name,
            author_email: c.author_email,
            message: c.message,
        })
        .collect();

    let header = lava_changelog::Header {
        source,
        version: new_version.to_string(),
        distribution: ctx.config.changelog.distribution.clone(),
        urgency: ctx.config.changelog.urgency.clone(),
    };
    let trailer = trailer(ctx)?;
    let version = ctx.release.version.to_string();
    let first_bullet = match req.message {
        Some(message) => message.to_owned(),
        None => ctx
            .config
            .changelog
            .first_bullet
            .replace("{version}", &version),
    };
    let options = lava_changelog::Options {
        id_length: ctx.config.changelog.id_length(),
        multimaint_merge: req.multimaint_merge,
        first_bullet: (!first_bullet.is_empty()).then_some(first_bullet),
        newest_first: req.newest_first,
        meta: ctx.config.changelog.meta.unwrap_or(true),
        full: ctx.config.changelog.full.unwrap_or(false),
    };
    let style = match req.style {
        ChangelogStyle::Gbp => lava_changelog::Style::Gbp,
        ChangelogStyle::Oneline => lava_changelog::Style::Oneline,
        ChangelogStyle::GitLog => lava_changelog::Style::GitLog,
    };
    let entry = lava_changelog::Entry {
        header: &header,
        commits: &commits,
        trailer: &trailer,
    };
    Ok(lava_changelog::render(&entry, style, &options))
}

/// Where each style's range starts by itself.
fn default_since(
    ctx: &Context<'_>,
    style: ChangelogStyle,
    top_version: &str,
) -> anyhow::Result<Option<String>> {
    let repo = ctx.repo;
    Ok(match style {
        // gbp dch's guess_documented_commit: the Debian tag of the top version, else
        // the last commit that touched the changelog.
        ChangelogStyle::Gbp => {
            let tag = lava_changelog::debian_tag(top_version);
            match repo.resolve_commit(&format!("refs/tags/{tag}"))? {
                Some(commit) => Some(commit),
                None => repo.last_commit_touching(CHANGELOG)?,
            }
        }
        // do-debian-release's `git describe --abbrev=0`: the closest release tag.
        ChangelogStyle::Oneline | ChangelogStyle::GitLog => repo
            .last_tag(&lava_git::TagPattern {
                include: ctx.config.project.tag_match.clone(),
                exclude: ctx.config.project.tag_exclude.clone(),
            })?
            .map(|tag| tag.commit),
    })
}

/// `--since EXPR`: one revision (the range's exclusive start), or, as
/// `do-debian-release -t "^X TAG"` passed it to `git log $OLDTAG..HEAD`, exclusions
/// `^REV` followed by that revision.
fn since_expression(
    ctx: &Context<'_>,
    expr: &str,
) -> anyhow::Result<(Option<String>, Vec<String>)> {
    let words: Vec<&str> = expr.split_whitespace().collect();
    let Some((last, excluded)) = words.split_last() else {
        return Err(UsageError("--since is empty; give a tag, a commit or `^X TAG`".into()).into());
    };
    let resolve = |rev: &str| -> anyhow::Result<String> {
        ctx.repo.resolve_commit(rev)?.ok_or_else(|| {
            UsageError(format!(
                "`{rev}` (--since) is not a tag or commit in {}; fetch tags or pass another --since",
                ctx.repo.workdir().display()
            ))
            .into()
        })
    };
    let mut exclude = Vec::with_capacity(excluded.len());
    for word in excluded {
        let Some(rev) = word.strip_prefix('^') else {
            return Err(UsageError(format!(
                "--since `{expr}`: `{word}` would add history; every revision but the last must be `^REV`"
            ))
            .into());
        };
        exclude.push(resolve(rev)?);
    }
    if last.starts_with('^') {
        return Err(UsageError(format!(
            "--since `{expr}`: the last revision is where the range starts, without `^`"
        ))
        .into());
    }
    Ok((Some(resolve(last)?), exclude))
}

/// The trailer's identity (DEBFULLNAME/DEBEMAIL, else git's user; with
/// `changelog.git_author`, git's user first, as `gbp dch --git-author`) and date
/// (SOURCE_DATE_EPOCH, else now).
pub fn trailer(ctx: &Context<'_>) -> anyhow::Result<lava_changelog::Trailer> {
    let (mut name, mut email) = (ctx.env.debfullname.clone(), None);
    if ctx.config.changelog.git_author == Some(true) {
        let (git_name, git_email) = ctx.repo.user_identity()?;
        name = git_name.or(name);
        email = git_email;
    }
    if let Some(debemail) = &ctx.env.debemail {
        // DEBEMAIL may be `Name <email>`, as debchange accepts it.
        match debemail.rsplit_once('<') {
            Some((n, rest)) if rest.ends_with('>') => {
                email = email.or_else(|| Some(rest.trim_end_matches('>').to_owned()));
                if name.is_none() && !n.trim().is_empty() {
                    name = Some(n.trim().to_owned());
                }
            }
            _ => email = email.or_else(|| Some(debemail.clone())),
        }
    }
    if name.is_none() || email.is_none() {
        let (git_name, git_email) = ctx.repo.user_identity()?;
        name = name.or(git_name);
        email = email.or(git_email);
    }
    let (Some(name), Some(email)) = (name, email) else {
        return Err(UsageError(
            "no maintainer for the changelog trailer: set DEBFULLNAME and DEBEMAIL, or git's user.name and user.email".into(),
        )
        .into());
    };
    let date = match ctx.env.source_date_epoch {
        Some(epoch) => OffsetDateTime::from_unix_timestamp(epoch)
            .map_err(|_| UsageError(format!("SOURCE_DATE_EPOCH={epoch} is out of range")))?,
        None => ctx.now,
    };
    Ok(lava_changelog::Trailer { name, email, date })
}

/// Opens `entry` in the release manager's editor (`$VISUAL`, else `$EDITOR`, else
/// `sensible-editor`, run through the shell as git runs it) and returns the edited
/// entry, checked: the header still names the release's Debian version and a trailer
/// is there. An editor that fails, or a buffer left unchanged, is an error: nothing is
/// to be written.
pub fn edit(ctx: &Context<'_>, entry: &str) -> anyhow::Result<String> {
    let version = ctx.release.debian_version.to_string();
    let editor = ctx
        .env
        .var("VISUAL")
        .or_else(|| ctx.env.var("EDITOR"))
        .unwrap_or("sensible-editor");
    let dir = tempfile::Builder::new()
        .prefix("lava-release-changelog")
        .tempdir()
        .context("cannot create a directory for the entry to edit")?;
    // The name tells the editor what it edits (syntax highlighting of debchangelog).
    let file = dir.path().join("changelog");
    std::fs::write(&file, entry).with_context(|| format!("cannot write {}", file.display()))?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(&file)
        .status()
        .with_context(|| format!("cannot start the editor `{editor}`"))?;
    if !status.success() {
        return Err(UsageError(format!(
            "the editor `{editor}` failed ({status}); {CHANGELOG} is unchanged"
        ))
        .into());
    }
    let mut edited = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the edited entry {}", file.display()))?;
    if edited == entry {
        return Err(UsageError(format!(
            "the {version} entry was left unchanged in the editor; {CHANGELOG} is unchanged"
        ))
        .into());
    }
    // One entry, ending with its trailer's newline and no blank lines after it.
    edited.truncate(edited.trim_end().len());
    edited.push('\n');
    lava_changelog::check_edited(&edited, &version)
        .map_err(|e| UsageError(format!("{e}; {CHANGELOG} is unchanged")))?;
    Ok(edited)
}
