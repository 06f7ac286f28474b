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
    /// Start of the range (exclusive) instead of the style's own choice.
    pub since: Option<&'a str>,
    /// Path filter instead of the style's own (`changelog.paths` for gbp, none for
    /// oneline).
    pub paths: Option<&'a [String]>,
    /// One `[ Author ]` block per author.
    pub multimaint_merge: bool,
}

/// Renders the new entry for `ctx.release` from HEAD's history.
pub fn render_entry(ctx: &Context<'_>, req: &EntryRequest<'_>) -> anyhow::Result<String> {
    let repo = ctx.repo;
    let workdir = repo.workdir();
    let path = workdir.join(CHANGELOG);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let top = lava_changelog::parse_top(&text)
        .with_context(|| format!("cannot parse {}", path.display()))?;

    let since = match req.since {
        Some(rev) => Some(repo.resolve_commit(rev)?.ok_or_else(|| {
            UsageError(format!(
                "`{rev}` (--since) is not a tag or commit in {}; fetch tags or pass another --since",
                workdir.display()
            ))
        })?),
        None => match req.style {
            // gbp dch's guess_documented_commit: the Debian tag of the top version, else
            // the last commit that touched the changelog.
            ChangelogStyle::Gbp => {
                let tag = lava_changelog::debian_tag(&top.version);
                match repo.resolve_commit(&format!("refs/tags/{tag}"))? {
                    Some(commit) => Some(commit),
                    None => repo.last_commit_touching(CHANGELOG)?,
                }
            }
            ChangelogStyle::Oneline => repo
                .last_tag(&lava_git::TagPattern {
                    include: ctx.config.project.tag_match.clone(),
                    exclude: ctx.config.project.tag_exclude.clone(),
                })?
                .map(|tag| tag.commit),
        },
    };
    let paths = match (req.paths, req.style) {
        (Some(paths), _) => paths.to_vec(),
        (None, ChangelogStyle::Gbp) => ctx.config.changelog.paths.clone(),
        (None, ChangelogStyle::Oneline) => Vec::new(),
    };
    let commits = repo.log(&lava_git::LogQuery {
        since,
        until: "HEAD".into(),
        paths,
        no_merges: true,
    })?;
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
        source: top.source,
        version: ctx.release.debian_version.to_string(),
        distribution: ctx.config.changelog.distribution.clone(),
        urgency: ctx.config.changelog.urgency.clone(),
    };
    let trailer = trailer(ctx)?;
    let version = ctx.release.version.to_string();
    let first_bullet = ctx
        .config
        .changelog
        .first_bullet
        .replace("{version}", &version);
    let gbp = lava_changelog::GbpOptions {
        id_length: ctx.config.changelog.id_length,
        multimaint_merge: req.multimaint_merge,
        first_bullet: (!first_bullet.is_empty()).then_some(first_bullet),
    };
    let style = match req.style {
        ChangelogStyle::Gbp => lava_changelog::Style::Gbp,
        ChangelogStyle::Oneline => lava_changelog::Style::Oneline,
    };
    let entry = lava_changelog::Entry {
        header: &header,
        commits: &commits,
        trailer: &trailer,
    };
    Ok(lava_changelog::render(&entry, style, &gbp))
}

/// The trailer's identity (DEBFULLNAME/DEBEMAIL, else git's user) and date
/// (SOURCE_DATE_EPOCH, else now).
pub fn trailer(ctx: &Context<'_>) -> anyhow::Result<lava_changelog::Trailer> {
    let (mut name, mut email) = (ctx.env.debfullname.clone(), None);
    if let Some(debemail) = &ctx.env.debemail {
        // DEBEMAIL may be `Name <email>`, as debchange accepts it.
        match debemail.rsplit_once('<') {
            Some((n, rest)) if rest.ends_with('>') => {
                email = Some(rest.trim_end_matches('>').to_owned());
                if name.is_none() && !n.trim().is_empty() {
                    name = Some(n.trim().to_owned());
                }
            }
            _ => email = Some(debemail.clone()),
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
