//! Stage `repo-import` (when `repo.site` is set): `reprepro include` of the built upload
//! into each suite, skipping suites that already hold the version or a newer one.

use crate::config::Config;
use crate::shared::repo::RepoSite;
use crate::step::{Absent, Context, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `repo-import` stage.
#[derive(Debug, Clone)]
pub struct RepoImport {
    repo: RepoSite,
}

impl Step for RepoImport {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        RepoSite::reprepro(config, "repo-import")?;
        Ok(Self {
            repo: RepoSite::new(config, release),
        })
    }

    fn name(&self) -> &'static str {
        "repo-import"
    }

    fn describe(&self) -> String {
        let r = &self.repo;
        format!(
            "reprepro include {} {} from {} into {} of {}",
            r.source,
            r.debian_version,
            r.incoming
                .as_deref()
                .map_or("(repo.incoming unset)".into(), |p| p.display().to_string()),
            r.suites.join(", "),
            r.current_name()
        )
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

    fn check(&self, _: &Context<'_>) -> anyhow::Result<Status> {
        self.repo.check_import(&self.repo.site()?.current())
    }

    fn apply(&self, _: &Context<'_>) -> anyhow::Result<String> {
        let tree = self.repo.site()?.current();
        let changes = self.repo.changes(&tree)?.map_err(anyhow::Error::msg)?;
        let done = tree.import(&self.repo.suites, &changes)?;
        Ok(done
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "))
    }
}
