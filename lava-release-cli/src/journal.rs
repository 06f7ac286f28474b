//! The journal of a release: one JSON file per version inside the repository's `.git/`
//! (never tracked), recording each stage's outcome, time and evidence.
//!
//! The journal is a record, not the source of truth: whether a stage is done is always
//! observed by its `check`. Every update rewrites the file through a temporary file and a
//! rename, so a crash leaves the previous complete journal.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What happened to a stage in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// `apply` ran and the following check saw it done.
    Applied,
    /// The check found it done already; nothing was changed.
    AlreadyDone,
    /// A check-only stage passed.
    Passed,
    /// The check found it blocked.
    Blocked,
    /// `apply` (or the check after it) failed.
    Failed,
}

impl Outcome {
    /// Label for humans.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyDone => "already done",
            Outcome::Passed => "passed",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
        }
    }
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The stage's name.
    pub stage: String,
    /// What happened.
    pub outcome: Outcome,
    /// When, RFC 3339 in UTC.
    pub at: String,
    /// Evidence of a done stage, or why it was blocked or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Data {
    version: String,
    events: Vec<Event>,
}

/// The journal of one version.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    data: Data,
}

impl Journal {
    /// Where the journal of `version` lives in repository `git_dir`.
    pub fn path_for(git_dir: &Path, version: &str) -> PathBuf {
        git_dir.join("lava-release").join(format!("{version}.json"))
    }

    /// Opens the journal of `version`, empty if there is none yet.
    pub fn open(git_dir: &Path, version: &str) -> anyhow::Result<Self> {
        let path = Self::path_for(git_dir, version);
        let data = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("journal {} is corrupt", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data {
                version: version.to_owned(),
                events: Vec::new(),
            },
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read journal {}", path.display()));
            }
        };
        Ok(Self { path, data })
    }

    /// The file backing the journal.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every event, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.data.events
    }

    /// The latest event of each stage that has one, in the order they first appeared.
    pub fn latest(&self) -> Vec<&Event> {
        let mut order: Vec<&str> = Vec::new();
        for e in &self.data.events {
            if !order.contains(&e.stage.as_str()) {
                order.push(&e.stage);
            }
        }
        order
            .into_iter()
            .filter_map(|stage| self.data.events.iter().rev().find(|e| e.stage == stage))
            .collect()
    }

    /// Appends an event and saves the journal.
    pub fn record(
        &mut self,
        stage: &str,
        outcome: Outcome,
        at: OffsetDateTime,
        note: Option<String>,
    ) -> anyhow::Result<()> {
        let at = at.format(&Rfc3339).expect("a UTC date formats as RFC 3339");
        self.data.events.push(Event {
            stage: stage.to_owned(),
            outcome,
            at,
            note,
        });
        let json = serde_json::to_string_pretty(&self.data).expect("the journal is plain data");
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        lava_io::write_atomically(&self.path, format!("{json}\n").as_bytes())
            .with_context(|| format!("cannot save journal {}", self.path.display()))
    }

    /// The journal as JSON data, for `status --json` (`docs/status-json.md`).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(&self.data).expect("the journal is plain data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let t = time::macros::datetime!(2024-05-01 10:00 UTC);
        let mut j = Journal::open(dir.path(), "2024.05").unwrap();
        j.record("preflight", Outcome::Applied, t, Some("ok".into()))
            .unwrap();
        j.record("changelog", Outcome::Failed, t, Some("boom".into()))
            .unwrap();
        j.record("changelog", Outcome::Applied, t, Some("commit abc".into()))
            .unwrap();
        let j = Journal::open(dir.path(), "2024.05").unwrap();
        assert_eq!(j.events().len(), 3);
        let latest: Vec<_> = j
            .latest()
            .iter()
            .map(|e| (e.stage.as_str(), e.outcome))
            .collect();
        assert_eq!(
            latest,
            [
                ("preflight", Outcome::Applied),
                ("changelog", Outcome::Applied)
            ]
        );
        assert!(j.path().ends_with("lava-release/2024.05.json"));
    }
}
