//! Stage `changelog`: the new `debian/changelog` entry and the version files, committed
//! as `LAVA Software VERSION release`.
//!
//! The stage is resumable because its progress is visible in the repository: the entry
//! is written to the working tree first, then committed. A re-run after a crash finds
//! either the commit (done), or the written but uncommitted entry (commits it without
//! rendering again, so no second entry), or nothing.

use anyhow::Context as _;

use crate::config::{ChangelogStyle, Config};
use crate::entry::{self, CHANGELOG, EntryRequest};
use crate::step::{Absent, Context, Status, Step, short};
use crate::version::Release;

/// Inputs of the `changelog` stage.
#[derive(Debug, Clone)]
pub struct Changelog {
    /// The bare version written to the version files.
    pub version: String,
    /// The Debian version of the new entry.
    pub debian_version: String,
    /// The release commit's message.
    pub message: String,
    /// Files that hold the bare version.
    pub version_files: Vec<String>,
    /// The entry style.
    pub style: ChangelogStyle,
    /// Open the entry in the editor before writing it.
    pub edit: bool,
}

/// How far the stage got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// HEAD is the release commit, carrying the entry.
    Committed {
        /// The release commit.
        commit: String,
    },
    /// The working tree carries the entry, not yet committed.
    Written,
    /// Nothing done yet.
    NotStarted,
}

impl Step for Changelog {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self::new(config, release))
    }

    fn name(&self) -> &'static str {
        "changelog"
    }

    fn describe(&self) -> String {
        let style = self.style.name();
        let edit = if self.edit {
            ", edited in $EDITOR,"
        } else {
            ""
        };
        let files = if self.version_files.is_empty() {
            String::new()
        } else {
            format!(
                ", set {} to {}",
                self.version_files.join(", "),
                self.version
            )
        };
        format!(
            "write the {CHANGELOG} entry for {} ({style} style){edit}{files} and commit them as `{}`",
            self.debian_version, self.message
        )
    }

    /// Read-only: done when HEAD is the release commit.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        Ok(match self.progress(ctx)? {
            Progress::Committed { commit } => Status::Done {
                evidence: format!("commit {} `{}`", short(&commit), self.message),
            },
            Progress::Written => Status::ToDo {
                detail: Some(format!(
                    "the {} entry is in {CHANGELOG} but not committed",
                    self.debian_version
                )),
            },
            Progress::NotStarted => Status::todo(),
        })
    }

    /// Writes the entry and version files (unless already written), then commits them.
    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let workdir = ctx.repo.workdir();
        let mut warnings = Vec::new();
        match self.progress(ctx)? {
            Progress::Committed { commit } => return Ok(commit),
            Progress::Written => {}
            Progress::NotStarted => {
                let path = workdir.join(CHANGELOG);
                let old = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let rendered =
                    entry::render_entry(ctx, &EntryRequest::from_config(&ctx.config.changelog))?;
                warnings = rendered.warnings;
                let new_entry = match self.edit {
                    true => entry::edit(ctx, &rendered.text)?,
                    false => rendered.text,
                };
                // Version files first: until the changelog carries the entry, a re-run
                // starts over and rewrites them with the same content.
                for file in &self.version_files {
                    let path = workdir.join(file);
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("cannot create {}", dir.display()))?;
                    }
                    lava_io::write_atomically(&path, self.version_file_text().as_bytes())?;
                }
                ctx.failpoint("changelog:version-files-written");
                lava_io::write_atomically(
                    &path,
                    lava_changelog::prepend(&new_entry, &old).as_bytes(),
                )?;
                ctx.failpoint("changelog:entry-written");
            }
        }
        let paths: Vec<&str> = self.paths().collect();
        let commit = ctx
            .repo
            .commit_paths(&paths, &self.message)
            .with_context(|| format!("cannot commit {}", paths.join(", ")))?;
        let mut evidence = format!("commit {} `{}`", short(&commit), self.message);
        // What dpkg would warn about in the previous entry, bounded to the first few.
        if let Some(first) = warnings.first() {
            evidence.push_str(&format!("; warning: {first}"));
            if warnings.len() > 1 {
                evidence.push_str(&format!(" (and {} more)", warnings.len() - 1));
            }
        }
        Ok(evidence)
    }
}

impl Changelog {
    /// The stage's inputs for `release` under `config`.
    pub fn new(config: &Config, release: &Release) -> Self {
        let version = release.version.to_string();
        Self {
            message: config.project.commit_message.replace("{version}", &version),
            debian_version: release.debian_version.to_string(),
            version_files: config.project.version_files.clone(),
            style: config.changelog.style,
            edit: config.changelog.edit,
            version,
        }
    }

    /// Every path the stage writes.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(CHANGELOG).chain(self.version_files.iter().map(String::as_str))
    }

    /// Observes how far the stage got.
    pub fn progress(&self, ctx: &Context<'_>) -> anyhow::Result<Progress> {
        let repo = ctx.repo;
        let head = repo.head_id()?;
        if repo.commit_message(&head)?.trim_end() == self.message {
            let top = match repo.file_at(&head, CHANGELOG)? {
                Some(bytes) => lava_changelog::parse_top(&String::from_utf8_lossy(&bytes)).ok(),
                None => None,
            };
            if top.is_some_and(|top| top.version == self.debian_version) {
                return Ok(Progress::Committed { commit: head });
            }
        }
        let path = repo.workdir().join(CHANGELOG);
        if let Ok(text) = std::fs::read_to_string(&path) {
            if lava_changelog::parse_top(&text).is_ok_and(|top| top.version == self.debian_version)
            {
                return Ok(Progress::Written);
            }
        }
        Ok(Progress::NotStarted)
    }

    /// Whether `path`, dirty in the working tree, holds exactly what this stage writes
    /// there: then a clean-tree check may let it pass as the stage's unfinished work.
    pub fn owns_dirty_path(&self, ctx: &Context<'_>, path: &str) -> bool {
        let on_disk = std::fs::read_to_string(ctx.repo.workdir().join(path));
        if path == CHANGELOG {
            return on_disk.is_ok_and(|text| {
                lava_changelog::parse_top(&text).is_ok_and(|t| t.version == self.debian_version)
            });
        }
        self.version_files.iter().any(|f| f == path)
            && on_disk.is_ok_and(|text| text == self.version_file_text())
    }

    fn version_file_text(&self) -> String {
        format!("{}\n", self.version)
    }
}
