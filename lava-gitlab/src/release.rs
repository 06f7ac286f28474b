//! `release-notes`: one GitLab release per tag, created or updated, never duplicated.

use gitlab::api::projects::releases::{CreateRelease, ProjectReleaseByTag};
use serde::{Deserialize, Serialize};

use crate::ReleaseLink;
use crate::client::{Call, GitLab};
use crate::endpoints::UpdateRelease;
use crate::{Error, Result};

/// A release as GitLab returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The tag.
    pub tag_name: String,
    /// Title.
    #[serde(default)]
    pub name: Option<String>,
    /// Notes (Markdown).
    #[serde(default)]
    pub description: Option<String>,
    /// Links; `self` is the release page.
    #[serde(default, rename = "_links")]
    pub links: Option<ReleaseLinks>,
    /// Its assets: the links to files (GitLab's source archives are left out).
    #[serde(default)]
    pub assets: ReleaseAssets,
}

/// `assets` of a release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseAssets {
    /// The links, newest first as GitLab lists them.
    #[serde(default)]
    pub links: Vec<ReleaseLink>,
}

/// `_links` of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseLinks {
    /// The release page.
    #[serde(rename = "self", default)]
    pub self_url: Option<String>,
}

impl Release {
    /// The release page, when GitLab gave one.
    pub fn web_url(&self) -> Option<&str> {
        self.links.as_ref().and_then(|l| l.self_url.as_deref())
    }
}

/// What the release should say. The notes are rendered by the caller (from the same
/// commits as the changelog); this crate only publishes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseNotes {
    /// The tag, e.g. `2024.05`.
    pub tag: String,
    /// Title, e.g. `LAVA 2024.05`.
    pub name: String,
    /// Markdown body.
    pub description: String,
}

/// What the `release-notes` check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseState {
    /// No release for the tag.
    Missing,
    /// A release exists with another title or text.
    Differs(Release),
    /// The release exists and says exactly this: done.
    UpToDate(Release),
}

/// What `release-notes` apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseAction {
    /// Created the release.
    Created,
    /// Updated the existing release's title and notes.
    Updated,
    /// It already said this; nothing was written.
    Unchanged,
}

impl GitLab {
    /// The release of `tag`, if any (one request).
    pub fn release(&self, tag: &str) -> Result<Option<Release>> {
        let endpoint = ProjectReleaseByTag::builder()
            .project(self.project().name_or_id())
            .tag(tag)
            .build()
            .expect("project and tag are set");
        let call = Call::read(
            format!("read the release of tag `{tag}`"),
            format!("release `{tag}`"),
            "the tag",
        );
        self.optional_json(&call, &endpoint)
    }

    /// `release-notes` check (read-only).
    pub fn release_notes_check(&self, notes: &ReleaseNotes) -> Result<ReleaseState> {
        Ok(match self.release(&notes.tag)? {
            None => ReleaseState::Missing,
            Some(r) if same(&r, notes) => ReleaseState::UpToDate(r),
            Some(r) => ReleaseState::Differs(r),
        })
    }

    /// `release-notes` apply: creates the release, or updates the one that exists.
    pub fn publish_release(&self, notes: &ReleaseNotes) -> Result<(Release, ReleaseAction)> {
        match self.release_notes_check(notes)? {
            ReleaseState::UpToDate(r) => Ok((r, ReleaseAction::Unchanged)),
            ReleaseState::Differs(_) => Ok((self.update_release(notes)?, ReleaseAction::Updated)),
            ReleaseState::Missing => match self.create_release(notes) {
                Ok(r) => Ok((r, ReleaseAction::Created)),
                // A retried POST whose first attempt did land, or a concurrent run: the
                // release exists now, so update it rather than fail or duplicate.
                Err(Error::Api { status: 409, .. }) => {
                    Ok((self.update_release(notes)?, ReleaseAction::Updated))
                }
                Err(e) => Err(e),
            },
        }
    }

    fn create_release(&self, notes: &ReleaseNotes) -> Result<Release> {
        let endpoint = CreateRelease::builder()
            .project(self.project().name_or_id())
            .tag_name(notes.tag.as_str())
            .name(notes.name.as_str())
            .description(notes.description.as_str())
            .build()
            .expect("project and tag are set");
        let call = Call::write(
            format!("create the release of tag `{}`", notes.tag),
            format!("tag `{}`", notes.tag),
            "that the tag was pushed",
        );
        self.json(&call, &endpoint)
    }

    fn update_release(&self, notes: &ReleaseNotes) -> Result<Release> {
        let endpoint = UpdateRelease {
            project: self.project().name_or_id(),
            tag: &notes.tag,
            name: &notes.name,
            description: &notes.description,
        };
        let call = Call::write(
            format!("update the release of tag `{}`", notes.tag),
            format!("release `{}`", notes.tag),
            "the tag",
        );
        self.json(&call, &endpoint)
    }
}

fn same(r: &Release, notes: &ReleaseNotes) -> bool {
    r.name.as_deref() == Some(notes.name.as_str())
        && r.description.as_deref().map(str::trim_end) == Some(notes.description.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_carries_its_asset_links_when_gitlab_gives_them() {
        let release: Release = serde_json::from_str(
            r#"{"tag_name":"v0.1","assets":{"count":5,"sources":[{"format":"zip","url":"u"}],"links":[{"id":1,"name":"n","url":"u","direct_asset_url":"u","link_type":"other"}]}}"#,
        )
        .unwrap();
        assert_eq!(release.assets.links.len(), 1);
        assert_eq!(release.assets.links[0].name, "n");
        let bare: Release = serde_json::from_str(r#"{"tag_name":"v0.1"}"#).unwrap();
        assert!(bare.assets.links.is_empty());
    }
}
