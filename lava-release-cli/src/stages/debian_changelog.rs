//! Stage `debian-changelog` (`debian.flow = "gbp"`): the Debian branch's entry `SOURCE
//! (VERSION-1) DISTRIBUTION` in the packaging repository, in the gbp style from the
//! branch's own commits since its previous Debian tag (the upstream history the import
//! merged left out), committed as `gbp dch --commit` does.

use anyhow::Context as _;

use crate::config::Config;
use crate::entry::CHANGELOG;
use crate::shared::packaging::Packaging;
use crate::step::{Absent, Context, Need, Status, Step, short};
use crate::version::Release;

/// Inputs of the `debian-changelog` stage.
#[derive(Debug, Clone)]
pub struct DebianChangelog {
    version: String,
    debian_version: String,
    distribution: String,
}

impl Step for DebianChangelog {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if !config.debian.flow.imports() {
            return Err(Absent::new("debian-changelog", "debian.flow is \"dget\""));
        }
        Ok(Self {
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
            distribution: config.changelog.distribution.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "debian-changelog"
    }

    fn describe(&self) -> String {
        format!(
            "write the Debian branch's {CHANGELOG} entry {} {} from its own commits and commit it",
            self.debian_version, self.distribution
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let packaging = Packaging::in_context(ctx)?;
        let Some(repo) = packaging.open()? else {
            return Ok(Status::ToDo {
                detail: Some("after import-orig".into()),
            });
        };
        let head = repo.head_id()?;
        let committed = repo
            .file_at(&head, CHANGELOG)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let top = lava_changelog::parse_top(&committed).with_context(|| {
            format!(
                "cannot parse {CHANGELOG} at HEAD of {}",
                packaging.dir.display()
            )
        })?;
        if top.version == self.debian_version {
            return Ok(Status::Done {
                evidence: format!(
                    "{CHANGELOG} at {} of {} starts with {} ({})",
                    short(&head),
                    packaging.dir.display(),
                    self.debian_version,
                    top.distribution
                ),
            });
        }
        Ok(Status::todo())
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.need()?;
        let layout = packaging.layout(ctx)?;
        let upstream_tag = layout.upstream_tag(&self.version);
        let upstream = repo
            .resolve_commit(&format!("refs/tags/{upstream_tag}"))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no tag `{upstream_tag}`; run import-orig first",
                    packaging.dir.display()
                )
            })?;
        let path = packaging.dir.join(CHANGELOG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let top = lava_changelog::parse_top(&text)
            .with_context(|| format!("cannot parse {}", path.display()))?;
        let newer = match (
            top.version.parse::<debversion::Version>(),
            self.debian_version.parse::<debversion::Version>(),
        ) {
            (Ok(old), Ok(new)) => new > old,
            _ => false,
        };
        anyhow::ensure!(
            newer,
            "{} starts with {}, which {} is not newer than",
            path.display(),
            top.version,
            self.debian_version
        );
        let entry = crate::entry::render_packaging_entry(ctx, &repo, &text, &upstream)?;
        lava_io::write_atomically(&path, lava_changelog::prepend(&entry, &text).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        let commit = repo.commit_paths(
            &[CHANGELOG],
            &format!("Update changelog for {} release", self.debian_version),
        )?;
        Ok(format!(
            "{CHANGELOG} of {} starts with {} ({})",
            packaging.dir.display(),
            self.debian_version,
            short(&commit)
        ))
    }
}
