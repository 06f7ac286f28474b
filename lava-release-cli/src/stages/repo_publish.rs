//! Stage `repo-publish` (when `repo.site` is set): the signed tree kept as
//! `archive/VERSION` and the live `release` symlink switched to it atomically, after
//! verifying it. What every LAVA user's apt sees changes here.

use std::time::SystemTime;

use crate::config::Config;
use crate::shared::repo::{RepoSite, suite_names};
use crate::signing;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `repo-publish` stage.
#[derive(Debug, Clone)]
pub struct RepoPublish {
    repo: RepoSite,
}

impl Step for RepoPublish {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        RepoSite::reprepro(config, "repo-publish")?;
        Ok(Self {
            repo: RepoSite::new(config, release),
        })
    }

    fn name(&self) -> &'static str {
        "repo-publish"
    }

    fn describe(&self) -> String {
        let layout = &self.repo.layout;
        format!(
            "keep {} as {}/{} and switch the {} symlink to it",
            self.repo.current_name(),
            layout.archive,
            self.repo.version,
            layout.live
        )
    }

    fn irreversible(&self) -> bool {
        true
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    /// The site is reachable and writable, unless this stage is done.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        self.repo.ready()
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let site = self.repo.site()?;
        let live = &self.repo.layout.live;
        let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
        Ok(
            match site.publish_status(&self.repo.version, &keyring, SystemTime::now())? {
                Some(switch) => Status::Done {
                    evidence: format!(
                        "{live} -> {} ({} verified)",
                        switch.after.target.unwrap_or_default(),
                        suite_names(&switch.suites)
                    ),
                },
                None => Status::ToDo {
                    detail: Some(format!(
                        "{live} -> {}",
                        site.live()?.target.as_deref().unwrap_or("(nothing)")
                    )),
                },
            },
        )
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let site = self.repo.site()?;
        let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
        let switch = site.publish(&self.repo.version, &keyring, SystemTime::now())?;
        Ok(format!(
            "{} -> {} (was {}; {} verified)",
            self.repo.layout.live,
            switch.after.target.unwrap_or_default(),
            switch.before.target.as_deref().unwrap_or("nothing"),
            suite_names(&switch.suites)
        ))
    }
}
