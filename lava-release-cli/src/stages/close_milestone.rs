//! Stage `close-milestone`: the release's milestone closed, once the release is out.

use crate::config::Config;
use crate::shared::gitlab::{client, project_url, writer};
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `close-milestone` stage.
#[derive(Debug, Clone)]
pub struct CloseMilestone {
    version: String,
    project: String,
}

impl Step for CloseMilestone {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        Ok(Self {
            version: release.version.to_string(),
            project: project_url(config),
        })
    }

    fn name(&self) -> &'static str {
        "close-milestone"
    }

    fn describe(&self) -> String {
        format!("close milestone {} of {}", self.version, self.project)
    }

    fn irreversible(&self) -> bool {
        true
    }

    /// A milestone with open items is never closed, whatever stages were selected.
    fn needs(&self) -> Vec<Need> {
        vec![Need::MilestoneClear, Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::GitLab]
    }

    /// The token can write to the project (scope `api`, Developer or more), unless
    /// this stage is done already.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        crate::shared::gitlab::write_ready(ctx)
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let v = &self.version;
        let m = client(ctx)?.close_milestone_check(v)?;
        Ok(if m.is_closed() {
            Status::Done {
                evidence: format!("milestone {v} closed {}", m.web_url),
            }
        } else {
            Status::todo()
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let v = &self.version;
        let m = writer(ctx)?.close_milestone(v)?;
        Ok(format!("milestone {v} {} {}", m.state, m.web_url))
    }
}
