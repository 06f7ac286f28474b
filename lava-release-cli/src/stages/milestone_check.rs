//! Stage `milestone-check`: the release's milestone has no open merge request or
//! issue (unless `--allow-open`). A check only, before anything is written.

use crate::config::Config;
use crate::shared::gitlab::{client, project_url};
use crate::step::{Absent, Context, Status, Step};
use crate::version::Release;

/// Inputs of the `milestone-check` stage.
#[derive(Debug, Clone)]
pub struct MilestoneCheck {
    version: String,
    project: String,
}

impl Step for MilestoneCheck {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
            project: project_url(config),
        })
    }

    fn name(&self) -> &'static str {
        "milestone-check"
    }

    fn describe(&self) -> String {
        format!(
            "check that milestone {} of {} has no open merge request or issue",
            self.version, self.project
        )
    }

    fn check_only(&self) -> bool {
        true
    }
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let v = &self.version;
        let report = client(ctx)?.milestone_check(v)?;
        Ok(match report.ensure_clear(ctx.config.gitlab.allow_open) {
            Ok(()) => Status::Done {
                evidence: format!(
                    "milestone {v}: {} open merge request(s), {} open issue(s) {}",
                    report.open_merge_requests.len(),
                    report.open_issues.len(),
                    report.milestone.web_url
                ),
            },
            // The sentence already says how to release anyway (`--allow-open`).
            Err(e) => Status::Blocked {
                reason: e.to_string(),
            },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let report = client(ctx)?.milestone_check(&self.version)?;
        report.ensure_clear(ctx.config.gitlab.allow_open)?;
        Ok(format!("milestone {} clear", self.version))
    }
}
