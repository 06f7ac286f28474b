//! The image set of a release, expanded from name templates; no I/O.

use crate::error::{Error, Result};
use crate::reference::{ImageRef, Repository};

/// Which images a release promotes, as name templates with the placeholders `{arch}`,
/// `{image}` and `{version}`. [`Default`] is LAVA's set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagesConfig {
    /// Image names (`lava-dispatcher`, `lava-server`).
    pub images: Vec<String>,
    /// Architecture names as they appear in the templates (`amd64`, `aarch64`); the
    /// platform of each manifest list entry comes from the image's config, not from here.
    pub arches: Vec<String>,
    /// Where CI pushed each per-arch image, with its tag.
    pub source: String,
    /// The per-arch target repository (no tag).
    pub target: String,
    /// The multi-arch manifest list's repository (no tag).
    pub list: String,
    /// Also move `latest` on every target, after the version tags are verified.
    pub latest: bool,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self {
            images: vec!["lava-dispatcher".into(), "lava-server".into()],
            arches: vec!["amd64".into(), "aarch64".into()],
            source: "registry.gitlab.com/lava/lava/{arch}/{image}:{version}".into(),
            target: "lavasoftware/{arch}-{image}".into(),
            list: "lavasoftware/{image}".into(),
            latest: true,
        }
    }
}

/// One per-arch image: where it is and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchImage {
    /// The architecture name from the config.
    pub arch: String,
    /// The source, with its tag.
    pub source: ImageRef,
    /// The per-arch target repository.
    pub target: Repository,
}

/// One image: its per-arch images and the manifest list over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageGroup {
    /// The image name.
    pub name: String,
    /// The per-arch images, in the config's arch order (the list's entry order).
    pub arches: Vec<ArchImage>,
    /// The manifest list's repository.
    pub list: Repository,
}

/// A release's images, expanded for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// The version tag.
    pub version: String,
    /// Whether `latest` moves too.
    pub latest: bool,
    /// The images.
    pub groups: Vec<ImageGroup>,
}

impl ImageSet {
    /// The tags every target gets, in the order they are pushed: the version, then
    /// `latest`.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags = vec![self.version.as_str()];
        if self.latest && self.version != "latest" {
            tags.push("latest");
        }
        tags
    }
}

impl ImagesConfig {
    /// Expands the templates for `version`.
    pub fn expand(&self, version: &str) -> Result<ImageSet> {
        let version_ref = ImageRef::parse(&format!("x:{version}"))?;
        debug_assert!(version_ref.tag.is_some());
        for (template, want_tag) in [
            (&self.source, true),
            (&self.target, false),
            (&self.list, false),
        ] {
            check_template(template, want_tag)?;
        }
        let mut groups = Vec::new();
        for image in &self.images {
            let mut arches = Vec::new();
            for arch in &self.arches {
                let fill = |t: &str| {
                    t.replace("{arch}", arch)
                        .replace("{image}", image)
                        .replace("{version}", version)
                };
                let source = ImageRef::parse(&fill(&self.source))?;
                let target = ImageRef::parse(&fill(&self.target))?;
                if target.tag.is_some() || target.digest.is_some() {
                    return Err(template_error(
                        &self.target,
                        "has a tag; give the repository only",
                    ));
                }
                arches.push(ArchImage {
                    arch: arch.clone(),
                    source,
                    target: target.repository,
                });
            }
            let list = ImageRef::parse(
                &self
                    .list
                    .replace("{image}", image)
                    .replace("{version}", version),
            )?;
            if list.tag.is_some() || list.digest.is_some() {
                return Err(template_error(
                    &self.list,
                    "has a tag; give the repository only",
                ));
            }
            groups.push(ImageGroup {
                name: image.clone(),
                arches,
                list: list.repository,
            });
        }
        Ok(ImageSet {
            version: version.to_owned(),
            latest: self.latest,
            groups,
        })
    }
}

fn template_error(template: &str, reason: &str) -> Error {
    Error::Template {
        template: template.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_template(template: &str, source: bool) -> Result<()> {
    if !template.contains("{image}") {
        return Err(template_error(template, "does not name the image"));
    }
    if source && !template.contains("{arch}") {
        return Err(template_error(template, "does not name the arch"));
    }
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| template_error(template, "has an unclosed `{`"))?;
        let name = &rest[start + 1..start + end];
        if !matches!(name, "arch" | "image" | "version") {
            return Err(template_error(
                template,
                &format!("has the unknown placeholder {{{name}}}"),
            ));
        }
        rest = &rest[start + end + 1..];
    }
    Ok(())
}

/// The OCI (Go) name of an architecture as image names spell it: `aarch64` and `arm64`
/// are both `arm64`, `x86_64` is `amd64`, Debian's `armhf` is `arm`. An image's
/// config records the OCI name, so this is what an `{arch}` image must say it is.
pub fn oci_architecture(arch: &str) -> &str {
    match arch {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        "armhf" | "armel" | "armv7" | "armv7l" => "arm",
        "i386" | "i686" => "386",
        "ppc64el" => "ppc64le",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lava_defaults_expand_to_four_images_and_two_lists() {
        let set = ImagesConfig::default().expand("2024.05").unwrap();
        let mut lines = Vec::new();
        for group in &set.groups {
            for arch in &group.arches {
                lines.push(format!("{} -> {}", arch.source, arch.target));
            }
            lines.push(format!("list {}", group.list));
        }
        assert_eq!(
            lines.join("\n"),
            "registry.gitlab.com/lava/lava/amd64/lava-dispatcher:2024.05 -> docker.io/lavasoftware/amd64-lava-dispatcher\n\
             registry.gitlab.com/lava/lava/aarch64/lava-dispatcher:2024.05 -> docker.io/lavasoftware/aarch64-lava-dispatcher\n\
             list docker.io/lavasoftware/lava-dispatcher\n\
             registry.gitlab.com/lava/lava/amd64/lava-server:2024.05 -> docker.io/lavasoftware/amd64-lava-server\n\
             registry.gitlab.com/lava/lava/aarch64/lava-server:2024.05 -> docker.io/lavasoftware/aarch64-lava-server\n\
             list docker.io/lavasoftware/lava-server"
        );
        assert_eq!(set.tags(), ["2024.05", "latest"]);
    }

    #[test]
    fn bad_templates_say_what_to_use() {
        let config = ImagesConfig {
            target: "lavasoftware/{arch}-{name}".into(),
            ..ImagesConfig::default()
        };
        assert_eq!(
            config.expand("1").unwrap_err().to_string(),
            "image template `lavasoftware/{arch}-{name}` does not name the image; use the placeholders {arch}, {image} and {version}"
        );
        let config = ImagesConfig {
            list: "lavasoftware/{image}:{version}".into(),
            ..ImagesConfig::default()
        };
        assert_eq!(
            config.expand("1").unwrap_err().to_string(),
            "image template `lavasoftware/{image}:{version}` has a tag; give the repository only; use the placeholders {arch}, {image} and {version}"
        );
    }

    #[test]
    fn arch_names_map_to_oci_names() {
        let names: Vec<&str> = ["amd64", "aarch64", "arm64", "x86_64", "armhf", "riscv64"]
            .into_iter()
            .map(oci_architecture)
            .collect();
        assert_eq!(
            names,
            ["amd64", "arm64", "arm64", "amd64", "arm", "riscv64"]
        );
    }
}
