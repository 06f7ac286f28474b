//! `milestone-check` and `close-milestone`.

use serde::{Deserialize, Serialize};

use crate::client::{Call, GitLab};
use crate::endpoints::{CloseMilestone, ItemKind, Milestones, OpenByMilestone};
use crate::{Error, Result};

/// A project milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// Global id (used in URLs).
    pub id: u64,
    /// Id within the project.
    pub iid: u64,
    /// Title, the version for LAVA.
    pub title: String,
    /// `active` or `closed`.
    pub state: String,
    /// Page of the milestone.
    #[serde(default)]
    pub web_url: String,
}

impl Milestone {
    /// Whether it is closed.
    pub fn is_closed(&self) -> bool {
        self.state == "closed"
    }
}

/// An open issue or merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItem {
    /// Id within the project.
    pub iid: u64,
    /// Title.
    pub title: String,
    /// Page.
    pub web_url: String,
}

/// What `milestone-check` saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneReport {
    /// The milestone.
    pub milestone: Milestone,
    /// Its open merge requests.
    pub open_merge_requests: Vec<OpenItem>,
    /// Its open issues.
    pub open_issues: Vec<OpenItem>,
}

impl MilestoneReport {
    /// Whether nothing is open.
    pub fn is_clear(&self) -> bool {
        self.open_merge_requests.is_empty() && self.open_issues.is_empty()
    }

    /// `Ok` when clear or `allow_open`; otherwise [`Error::MilestoneOpen`] listing the
    /// first ten open items.
    pub fn ensure_clear(&self, allow_open: bool) -> Result<()> {
        if allow_open || self.is_clear() {
            return Ok(());
        }
        let all: Vec<String> = self
            .open_merge_requests
            .iter()
            .map(|m| format!("!{} {} <{}>", m.iid, m.title, m.web_url))
            .chain(
                self.open_issues
                    .iter()
                    .map(|i| format!("#{} {} <{}>", i.iid, i.title, i.web_url)),
            )
            .collect();
        let mut list = all.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
        if all.len() > 10 {
            list.push_str(&format!(" and {} more", all.len() - 10));
        }
        Err(Error::MilestoneOpen {
            title: self.milestone.title.clone(),
            mrs: self.open_merge_requests.len(),
            issues: self.open_issues.len(),
            list,
        })
    }
}

impl GitLab {
    /// The milestone titled `title`, if it exists (one request).
    pub fn find_milestone(&self, title: &str) -> Result<Option<Milestone>> {
        let endpoint = Milestones {
            project: self.project().name_or_id(),
            title,
        };
        let call = Call::read(
            format!("look up milestone `{title}`"),
            format!("milestone `{title}`"),
            "the version",
        );
        let found: Vec<Milestone> = self.all(&call, &endpoint)?;
        Ok(found.into_iter().find(|m| m.title == title))
    }

    fn milestone(&self, title: &str) -> Result<Milestone> {
        self.find_milestone(title)?
            .ok_or_else(|| Error::MilestoneNotFound {
                title: title.to_owned(),
                project: self.project().to_string(),
            })
    }

    /// `milestone-check`: the milestone and its open merge requests and issues, every page.
    /// Read-only; call [`MilestoneReport::ensure_clear`] to block on open items.
    pub fn milestone_check(&self, title: &str) -> Result<MilestoneReport> {
        let milestone = self.milestone(title)?;
        let list = |kind: ItemKind, what: &str| -> Result<Vec<OpenItem>> {
            let endpoint = OpenByMilestone {
                project: self.project().name_or_id(),
                kind,
                milestone: title,
            };
            let call = Call::read(
                format!("list the open {what} of milestone `{title}`"),
                format!("the {what} list of project `{}`", self.project()),
                format!("that {what} are enabled for the project and readable with this token"),
            );
            self.all(&call, &endpoint)
        };
        let open_merge_requests = list(ItemKind::MergeRequests, "merge requests")?;
        let open_issues = list(ItemKind::Issues, "issues")?;
        Ok(MilestoneReport {
            milestone,
            open_merge_requests,
            open_issues,
        })
    }

    /// `close-milestone` check: the milestone, whose `state` says whether it is done.
    pub fn close_milestone_check(&self, title: &str) -> Result<Milestone> {
        self.milestone(title)
    }

    /// `close-milestone` apply: closes it; an already closed milestone is left alone.
    pub fn close_milestone(&self, title: &str) -> Result<Milestone> {
        let milestone = self.milestone(title)?;
        if milestone.is_closed() {
            return Ok(milestone);
        }
        let endpoint = CloseMilestone {
            project: self.project().name_or_id(),
            milestone: milestone.id,
        };
        let call = Call::write(
            format!("close milestone `{title}`"),
            format!("milestone `{title}`"),
            "the version",
        );
        self.json(&call, &endpoint)
    }
}
