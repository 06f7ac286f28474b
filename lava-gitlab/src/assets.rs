//! Release assets: files in the project's generic package registry, and the links a
//! release shows to them (created once, updated when their URL moved, never duplicated).

use gitlab::api::Endpoint;
use gitlab::api::projects::packages::generic::{GetPackageFile, UploadPackageFile};
use gitlab::api::projects::releases::links::{
    CreateReleaseLink, LinkType, ListReleaseLinks, UpdateReleaseLink,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::client::{Call, GitLab};
use crate::{Error, Result};

/// A link of a release, as GitLab's release links API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseLink {
    /// The link's id in the release.
    pub id: u64,
    /// The name shown on the release page, unique in the release.
    pub name: String,
    /// Where it points, unique in the release.
    pub url: String,
    /// The permanent URL, `{project}/-/releases/{tag}/downloads{direct_asset_path}`,
    /// which redirects to `url`; GitLab gives `url` itself for a link without a path.
    #[serde(default)]
    pub direct_asset_url: Option<String>,
    /// `other`, `runbook`, `image` or `package`.
    #[serde(default)]
    pub link_type: Option<String>,
}

/// What [`GitLab::link_release_asset`] has to do, decided from the links there are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinkPlan {
    /// A link of that name already points there: done.
    Keep(ReleaseLink),
    /// A link of that name points elsewhere: move it.
    Update(u64),
    /// No link of that name.
    Create,
}

/// `direct_asset_path` as GitLab takes it: from the root of the release's downloads.
fn rooted(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// Decides, without a request, what linking `name` to `url` (and `path`, rooted) on the
/// release of `tag` takes. GitLab keeps URLs unique in a release, so a URL already
/// linked under another name is refused here, before a write GitLab would refuse.
fn plan_link(
    links: &[ReleaseLink],
    tag: &str,
    name: &str,
    url: &str,
    path: Option<&str>,
) -> Result<LinkPlan> {
    if let Some(other) = links.iter().find(|l| l.url == url && l.name != name) {
        return Err(Error::LinkUrlTaken {
            tag: tag.to_owned(),
            url: url.to_owned(),
            name: name.to_owned(),
            taken_by: other.name.clone(),
        });
    }
    Ok(match links.iter().find(|l| l.name == name) {
        Some(link) if link.url == url && path.is_none_or(|p| has_path(link, p)) => {
            LinkPlan::Keep(link.clone())
        }
        Some(link) => LinkPlan::Update(link.id),
        None => LinkPlan::Create,
    })
}

/// GitLab does not return a link's `direct_asset_path`, only the URL made of it.
fn has_path(link: &ReleaseLink, path: &str) -> bool {
    link.direct_asset_url
        .as_deref()
        .is_some_and(|u| u.ends_with(&format!("/downloads{path}")))
}

impl GitLab {
    fn package_endpoint<'a>(
        &'a self,
        package: &'a str,
        version: &'a str,
        file: &'a str,
    ) -> GetPackageFile<'a> {
        GetPackageFile::builder()
            .project(self.project().name_or_id())
            .package_name(package)
            .package_version(version)
            .file_name(file)
            .build()
            .expect("project, package, version and file are set")
    }

    /// The API URL of a file in the project's generic package registry,
    /// `{base}/api/v4/projects/{id}/packages/generic/{package}/{version}/{file}`, each
    /// part percent-encoded as GitLab documents it. Anyone reads it for a public
    /// project, so it serves as a release link's URL.
    pub fn generic_package_url(&self, package: &str, version: &str, file: &str) -> String {
        let endpoint = self.package_endpoint(package, version, file);
        format!("{}{}", self.api_base(), endpoint.endpoint())
    }

    /// The newest upload of `file` in generic package `package` at `version`, or `None`
    /// when there is none. Works without a token on a public project.
    pub fn generic_package_file(
        &self,
        package: &str,
        version: &str,
        file: &str,
    ) -> Result<Option<Vec<u8>>> {
        let endpoint = self.package_endpoint(package, version, file);
        let url = self.url_for(&endpoint)?;
        let call = Call::read(
            format!("download `{file}` of generic package `{package}` {version}"),
            format!("generic package file `{package}/{version}/{file}`"),
            "the package name, version and file name",
        );
        match self.fetch(&call, &url) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(Error::NotFound { missing, .. }) if !missing.starts_with("project ") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads `bytes` as `file` of generic package `package` at `version` (`PUT`, a
    /// token with the `api` scope and the Developer role). GitLab keeps every upload of
    /// a name and serves the newest, so uploading again replaces what readers get.
    pub fn upload_generic_package(
        &self,
        package: &str,
        version: &str,
        file: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let endpoint = UploadPackageFile::builder()
            .project(self.project().name_or_id())
            .package_name(package)
            .package_version(version)
            .file_name(file)
            .contents(bytes)
            .build()
            .expect("project, package, version, file and contents are set");
        let url = self.url_for(&endpoint)?;
        let call = Call::write(
            format!("upload `{file}` to generic package `{package}` {version}"),
            format!("the package registry of project `{}`", self.project()),
            "that the project's package registry is enabled",
        );
        let body = endpoint.body().ok().flatten();
        self.send(&call, endpoint.method(), &url, body)?;
        Ok(())
    }

    /// Every link of the release of `tag` (all pages). Works without a token on a
    /// public project.
    pub fn release_links(&self, tag: &str) -> Result<Vec<ReleaseLink>> {
        let endpoint = ListReleaseLinks::builder()
            .project(self.project().name_or_id())
            .tag_name(tag)
            .build()
            .expect("project and tag are set");
        let call = Call::read(
            format!("list the links of release `{tag}`"),
            format!("release `{tag}`"),
            "that the release exists",
        );
        self.all(&call, &endpoint)
    }

    /// Links `name` to `url` on the release of `tag`, with a permanent
    /// `direct_asset_path` (rooted at `/` if it is not) when given, and returns the
    /// link. Idempotent: a link of that name to that URL (and path) is returned without
    /// writing, one of that name pointing elsewhere is updated, and only otherwise is one
    /// created (`link_type` `other`). A URL another link already has is an error, as
    /// GitLab keeps URLs unique in a release.
    pub fn link_release_asset(
        &self,
        tag: &str,
        name: &str,
        url: &str,
        direct_asset_path: Option<&str>,
    ) -> Result<ReleaseLink> {
        let path = direct_asset_path.map(rooted);
        let links = self.release_links(tag)?;
        match plan_link(&links, tag, name, url, path.as_deref())? {
            LinkPlan::Keep(link) => Ok(link),
            LinkPlan::Update(id) => self.update_link(tag, id, url, path.as_deref()),
            LinkPlan::Create => match self.create_link(tag, name, url, path.as_deref()) {
                Ok(link) => Ok(link),
                // A retried POST whose first attempt did land, or a concurrent run: GitLab
                // refuses the name as taken; what is there now may be this very link.
                Err(e @ Error::Api { status: 400, .. }) => {
                    let links = self.release_links(tag)?;
                    match plan_link(&links, tag, name, url, path.as_deref())? {
                        LinkPlan::Keep(link) => Ok(link),
                        LinkPlan::Update(id) => self.update_link(tag, id, url, path.as_deref()),
                        LinkPlan::Create => Err(e),
                    }
                }
                Err(e) => Err(e),
            },
        }
    }

    fn create_link(
        &self,
        tag: &str,
        name: &str,
        url: &str,
        path: Option<&str>,
    ) -> Result<ReleaseLink> {
        let mut builder = CreateReleaseLink::builder();
        builder
            .project(self.project().name_or_id())
            .tag_name(tag)
            .name(name)
            .url(url)
            .link_type(LinkType::Other);
        if let Some(path) = path {
            builder.direct_asset_path(path);
        }
        let endpoint = builder.build().expect("project, tag, name and URL are set");
        let call = Call::write(
            format!("link `{name}` on release `{tag}`"),
            format!("release `{tag}`"),
            "that the release exists (the release-notes stage creates it)",
        );
        self.json(&call, &endpoint)
    }

    fn update_link(
        &self,
        tag: &str,
        id: u64,
        url: &str,
        path: Option<&str>,
    ) -> Result<ReleaseLink> {
        let mut builder = UpdateReleaseLink::builder();
        builder
            .project(self.project().name_or_id())
            .tag_name(tag)
            .link_id(id)
            .url(url);
        if let Some(path) = path {
            builder.direct_asset_path(path);
        }
        let endpoint = builder.build().expect("project, tag and link are set");
        let call = Call::write(
            format!("update link {id} of release `{tag}`"),
            format!("link {id} of release `{tag}`"),
            "the release's links",
        );
        self.json(&call, &endpoint)
    }

    /// The bytes at `url` (a release link's URL or its direct asset URL), read with this
    /// client's retries and following redirects; the token goes only to this GitLab's
    /// host, never to another a link or a redirect leads to. A 404 is an error naming
    /// `url`.
    pub fn download_url(&self, url: &str) -> Result<Vec<u8>> {
        let parsed = Url::parse(url).map_err(|source| Error::Url {
            url: url.to_owned(),
            source,
        })?;
        let call = Call::read(
            "download a release asset",
            "the asset",
            "the release link's URL",
        );
        Ok(self.fetch(&call, &parsed)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Project, Token};

    fn client(base: &str, project: Project) -> GitLab {
        GitLab::new(Config::new(base, project), Token::anonymous()).unwrap()
    }

    fn link(id: u64, name: &str, url: &str, direct: Option<&str>) -> ReleaseLink {
        ReleaseLink {
            id,
            name: name.into(),
            url: url.into(),
            direct_asset_url: direct.map(str::to_owned),
            link_type: Some("other".into()),
        }
    }

    #[test]
    fn generic_package_urls_follow_the_documented_shape() {
        let by_path = client("https://gitlab.com", Project::Path("lava/lava".into()));
        assert_eq!(
            by_path.generic_package_url("lava", "2024.05", "lava-2024.05.tar.gz"),
            "https://gitlab.com/api/v4/projects/lava%2Flava/packages/generic/lava/2024.05/lava-2024.05.tar.gz"
        );
        let by_id = client("https://example.org/gitlab/", Project::Id(42));
        assert_eq!(
            by_id.generic_package_url("lava server", "2024.05+1", "a b.deb"),
            "https://example.org/gitlab/api/v4/projects/42/packages/generic/lava%20server/2024.05+1/a%20b.deb"
        );
        // The URL requests go to is the one shown.
        let endpoint = by_path.package_endpoint("lava", "2024.05", "x.tar.gz");
        assert_eq!(
            by_path.url_for(&endpoint).unwrap().as_str(),
            by_path.generic_package_url("lava", "2024.05", "x.tar.gz")
        );
    }

    #[test]
    fn the_token_goes_only_to_this_gitlab() {
        let gl = client("https://gitlab.com", Project::Id(2));
        for own in [
            "https://gitlab.com/lava/lava/-/releases/2024.05/downloads/x",
            "https://GITLAB.com:443/api/v4/projects/2",
        ] {
            assert!(gl.is_own(&Url::parse(own).unwrap()), "{own}");
        }
        for other in [
            "http://gitlab.com/api/v4/projects/2",
            "https://gitlab.com:8443/api/v4/projects/2",
            "https://storage.googleapis.com/gitlab-gprd-package-repo/x",
            "https://gitlab.com.evil.example/x",
        ] {
            assert!(!gl.is_own(&Url::parse(other).unwrap()), "{other}");
        }
    }

    #[test]
    fn direct_asset_paths_are_rooted() {
        assert_eq!(rooted("lava.tar.gz"), "/lava.tar.gz");
        assert_eq!(rooted("/bin/lava"), "/bin/lava");
    }

    #[test]
    fn a_link_is_kept_moved_or_created_never_duplicated() {
        let links = [
            link(
                2,
                "lava-2024.05.tar.gz",
                "https://x/api/v4/projects/2/packages/generic/lava/2024.05/lava-2024.05.tar.gz",
                Some("https://x/lava/lava/-/releases/2024.05/downloads/lava-2024.05.tar.gz"),
            ),
            link(1, "notes", "https://x/notes", Some("https://x/notes")),
        ];
        let url = &links[0].url;
        let plan = |name: &str, url: &str, path: Option<&str>| {
            plan_link(&links, "2024.05", name, url, path)
        };
        assert_eq!(
            plan("lava-2024.05.tar.gz", url, Some("/lava-2024.05.tar.gz")).unwrap(),
            LinkPlan::Keep(links[0].clone())
        );
        assert_eq!(
            plan("lava-2024.05.tar.gz", url, None).unwrap(),
            LinkPlan::Keep(links[0].clone())
        );
        assert_eq!(
            plan("lava-2024.05.tar.gz", url, Some("/other.tar.gz")).unwrap(),
            LinkPlan::Update(2)
        );
        assert_eq!(
            plan("lava-2024.05.tar.gz", "https://x/moved", None).unwrap(),
            LinkPlan::Update(2)
        );
        assert_eq!(
            plan("new", "https://x/new", None).unwrap(),
            LinkPlan::Create
        );
        let err = plan("renamed.tar.gz", url, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "release `2024.05` already links {url} as `lava-2024.05.tar.gz`, so it cannot also be `renamed.tar.gz`; rename or delete that link on the release page"
            )
        );
        // Moving `notes` onto a URL another link has is refused too.
        assert!(matches!(
            plan("notes", url, None),
            Err(Error::LinkUrlTaken { .. })
        ));
    }

    #[test]
    fn release_links_decode_as_gitlab_returns_them() {
        let links: Vec<ReleaseLink> = serde_json::from_str(
            r#"[{"id":2,"name":"awesome-v0.2.msi","url":"http://192.168.10.15:3000/msi","external":true,"link_type":"other"},
                {"id":1,"name":"awesome-v0.2.dmg","url":"http://192.168.10.15:3000","direct_asset_url":"https://gitlab.example.com/root/awesome-app/-/releases/v0.1/downloads/awesome-v0.2.dmg","link_type":"other"}]"#,
        )
        .unwrap();
        assert_eq!(links[0].direct_asset_url, None);
        assert_eq!(
            links[1].direct_asset_url.as_deref(),
            Some(
                "https://gitlab.example.com/root/awesome-app/-/releases/v0.1/downloads/awesome-v0.2.dmg"
            )
        );
    }
}
