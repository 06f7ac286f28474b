//! What a release says: its `debian/changelog` entry and the commits since the previous
//! release. One source, read once per use, for the GitLab release notes and the
//! announcement, so that neither can say something the changelog does not.

use anyhow::Context as _;

use crate::entry::CHANGELOG;
use crate::step::Context;

/// The release's entry and commits, as HEAD has them.
#[derive(Debug, Clone)]
pub struct ReleaseContent {
    /// The top `debian/changelog` entry at HEAD, header to trailer, without the
    /// blank line after it.
    pub entry: String,
    /// The previous release's version (the second entry's, without the Debian
    /// revision), which is also its tag.
    pub previous: Option<String>,
    /// The commits since the previous release's tag, newest first, without merges.
    pub commits: Vec<lava_git::Commit>,
}

impl ReleaseContent {
    /// Reads the entry and the commits from HEAD.
    pub fn read(ctx: &Context<'_>) -> anyhow::Result<Self> {
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
            exclude: Vec::new(),
            until: head,
            paths: Vec::new(),
            no_merges: true,
        })?;
        Ok(Self {
            entry: entry.trim_end().to_owned(),
            previous,
            commits,
        })
    }

    /// The commits as `git log --oneline --no-merges` lists them: abbreviated id and
    /// subject, newest first, one per line.
    pub fn oneline(&self) -> String {
        self.commits
            .iter()
            .map(|c| format!("{} {}\n", c.short_id, subject(c)))
            .collect()
    }
}

/// A commit's subject as git prints it (`%s`: the first paragraph on one line).
pub fn subject(commit: &lava_git::Commit) -> String {
    lava_changelog::subject(&commit.message)
}
