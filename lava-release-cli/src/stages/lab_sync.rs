//! Stage `lab-sync`: the device types handed to lava-lab for review. The lab
//! repository is cloned to a scratch directory, the release's device-type templates
//! copied in and committed, and the commit pushed to a review ref.

use anyhow::Context as _;
use lava_git::{Handover, HandoverState};

use crate::config::{Config, DEVICE_TYPE_DIRS};
use crate::shared::git::{need_release_commit, network};
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `lab-sync` stage.
#[derive(Debug, Clone)]
pub struct LabSync {
    version: String,
    description: String,
}

/// The strings a handover borrows: branch, message, author name and e-mail.
struct Strings {
    branch: String,
    message: String,
    name: String,
    email: String,
}

impl Step for LabSync {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        let lab = &config.lab;
        if !lab.enabled {
            return Err(Absent::new("lab-sync", "lab.enabled is false"));
        }
        let source = match &lab.source {
            Some(source) => source.clone(),
            None => format!(
                "the device types ({}, or {} in trees before 2019.09)",
                DEVICE_TYPE_DIRS[0], DEVICE_TYPE_DIRS[1]
            ),
        };
        Ok(Self {
            version: release.version.to_string(),
            description: format!(
                "copy {source} to {}:{} and push it to {} for review",
                lab.url, lab.dest, lab.push_ref
            ),
        })
    }

    fn name(&self) -> &'static str {
        "lab-sync"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    /// The tree has device types and the lab repository can be cloned (its URL, the
    /// network, the host key), unless the handover is done.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        match self.check(ctx) {
            Ok(Status::Done { .. } | Status::ToDo { .. }) => Vec::new(),
            Ok(Status::Blocked { reason }) => vec![format!("lab-sync: {reason}")],
            Err(e) => vec![crate::error::one_line(&e)],
        }
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        if let Err(reason) = ctx.config.lab.device_types(ctx.repo.workdir()) {
            return Ok(Status::Blocked { reason });
        }
        Ok(match self.run(ctx, lava_git::handover_state)? {
            HandoverState::Present { reference, commit } => Status::Done {
                evidence: format!("{reference} at {} has the device types", short(&commit)),
            },
            HandoverState::Missing(files) => Status::ToDo {
                detail: Some(format!("{} file(s) to hand over", files.len())),
            },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        need_release_commit(ctx)?;
        match self.run(ctx, lava_git::handover)? {
            HandoverState::Present { reference, commit } => {
                Ok(format!("{reference} at {}", short(&commit)))
            }
            HandoverState::Missing(files) => {
                anyhow::bail!("{} device type file(s) were not handed over", files.len())
            }
        }
    }
}

impl LabSync {
    /// Runs `op` (observe or hand over) on a handover into a scratch clone.
    fn run(
        &self,
        ctx: &Context<'_>,
        op: fn(&Handover<'_>) -> lava_git::Result<HandoverState>,
    ) -> anyhow::Result<HandoverState> {
        let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
        let lab = &ctx.config.lab;
        let source = lab
            .device_types(ctx.repo.workdir())
            .map_err(crate::error::UsageError)?;
        let source = ctx.repo.workdir().join(source);
        let network = network(ctx);
        let strings = self.strings(ctx)?;
        let clone = scratch.path().join("lava-lab");
        let handover = Handover {
            url: &lab.url,
            base: &lab.base,
            source_dir: &source,
            dest_dir: &lab.dest,
            branch: &strings.branch,
            push_ref: &lab.push_ref,
            message: &strings.message,
            author: (&strings.name, &strings.email),
            clone_dir: &clone,
            network: &network,
        };
        Ok(op(&handover)?)
    }

    fn strings(&self, ctx: &Context<'_>) -> anyhow::Result<Strings> {
        let (name, email) = ctx.repo.user_identity()?;
        let lab = &ctx.config.lab;
        Ok(Strings {
            branch: lab.branch.replace("{version}", &self.version),
            message: lab.message.replace("{version}", &self.version),
            name: name
                .context("git's user.name is not set; lab-sync commits as the release manager")?,
            email: email
                .context("git's user.email is not set; lab-sync commits as the release manager")?,
        })
    }
}
