//! `registry-prune`: delete container-registry tags matching a glob, dry-run by default.

use gitlab::api::Endpoint;
use gitlab::api::projects::registry::{DeleteRepositoryTag, Repositories, RepositoryTags};
use serde::{Deserialize, Serialize};

use crate::client::{Call, GitLab};
use crate::{Error, Result};

/// A container-registry repository of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRepository {
    /// Id.
    pub id: u64,
    /// Name under the project (empty for the project's root image).
    #[serde(default)]
    pub name: String,
    /// `namespace/project/name`.
    pub path: String,
    /// Pull location.
    #[serde(default)]
    pub location: String,
}

/// A tag of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryTag {
    /// The tag.
    pub name: String,
    /// `path:tag`.
    #[serde(default)]
    pub path: String,
    /// Pull location.
    #[serde(default)]
    pub location: String,
}

/// Which tags to delete. LAVA's daily images: tag pattern `*.*.dev*` style globs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneRequest {
    /// Glob on the tag name (`*`, `?`, `[...]`).
    pub tag_pattern: String,
    /// Glob on the repository name; `None` means every repository.
    pub repository_pattern: Option<String>,
    /// Only report; the default.
    pub dry_run: bool,
}

impl PruneRequest {
    /// A dry run over every repository.
    pub fn new(tag_pattern: impl Into<String>) -> Self {
        Self {
            tag_pattern: tag_pattern.into(),
            repository_pattern: None,
            dry_run: true,
        }
    }
}

/// A tag that matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneCandidate {
    /// Repository id.
    pub repository_id: u64,
    /// Repository path.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// Pull location of the tag.
    pub location: String,
}

/// What `registry-prune` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Tags matching the pattern (deleted unless dry run).
    pub matched: Vec<PruneCandidate>,
    /// Tags deleted.
    pub deleted: Vec<PruneCandidate>,
}

fn pattern(p: &str) -> Result<glob::Pattern> {
    glob::Pattern::new(p).map_err(|source| Error::Pattern {
        pattern: p.to_owned(),
        source,
    })
}

impl GitLab {
    /// Every registry repository of the project.
    pub fn registry_repositories(&self) -> Result<Vec<RegistryRepository>> {
        let endpoint = Repositories::builder()
            .project(self.project().name_or_id())
            .build()
            .expect("project is set");
        let call = Call::read(
            "list the container-registry repositories",
            "the container registry",
            "that the project has its container registry enabled",
        );
        self.all(&call, &endpoint)
    }

    /// Every tag of one repository.
    pub fn registry_tags(&self, repository: &RegistryRepository) -> Result<Vec<RegistryTag>> {
        let endpoint = RepositoryTags::builder()
            .project(self.project().name_or_id())
            .repository_id(repository.id)
            .build()
            .expect("project and repository are set");
        let call = Call::read(
            format!("list the tags of registry repository `{}`", repository.path),
            format!("registry repository `{}`", repository.path),
            "that the repository was not deleted",
        );
        self.all(&call, &endpoint)
    }

    /// `registry-prune` check: the tags that match now (none left means done).
    pub fn registry_prune_check(&self, request: &PruneRequest) -> Result<Vec<PruneCandidate>> {
        let tags = pattern(&request.tag_pattern)?;
        let repos = request
            .repository_pattern
            .as_deref()
            .map(pattern)
            .transpose()?;
        let mut out = Vec::new();
        for repo in self.registry_repositories()? {
            if repos.as_ref().is_some_and(|p| !p.matches(&repo.name)) {
                continue;
            }
            for tag in self.registry_tags(&repo)? {
                if tags.matches(&tag.name) {
                    out.push(PruneCandidate {
                        repository_id: repo.id,
                        repository: repo.path.clone(),
                        tag: tag.name,
                        location: tag.location,
                    });
                }
            }
        }
        Ok(out)
    }

    /// `registry-prune` apply: deletes the matching tags unless `dry_run`.
    pub fn registry_prune(&self, request: &PruneRequest) -> Result<PruneReport> {
        let matched = self.registry_prune_check(request)?;
        let mut deleted = Vec::new();
        if !request.dry_run {
            for c in &matched {
                let endpoint = DeleteRepositoryTag::builder()
                    .project(self.project().name_or_id())
                    .repository_id(c.repository_id)
                    .tag_name(c.tag.as_str())
                    .build()
                    .expect("project, repository and tag are set");
                let call = Call::write(
                    format!(
                        "delete tag `{}` of registry repository `{}`",
                        c.tag, c.repository
                    ),
                    format!("tag `{}` of `{}`", c.tag, c.repository),
                    "whether it was deleted already",
                );
                let url = self.url_for(&endpoint)?;
                match self.send(&call, endpoint.method(), &url, None) {
                    Ok(_) => deleted.push(c.clone()),
                    // Deleted meanwhile (a re-run, or a concurrent clean-up): the goal holds.
                    Err(Error::NotFound { ref missing, .. })
                        if !missing.starts_with("project ") =>
                    {
                        deleted.push(c.clone())
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(PruneReport {
            dry_run: request.dry_run,
            matched,
            deleted,
        })
    }
}
