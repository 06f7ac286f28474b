//! What the Debian stages share: their templates' placeholders and file names.

use std::path::Path;

use crate::packages::{SuiteVersion, package_versions};
use crate::version::Release;

/// Fills `{version}`, `{debian_version}` and `{tag}` in a `[debian]` template.
pub fn fill(template: &str, release: &Release) -> String {
    let version = release.version.to_string();
    template
        .replace("{version}", &version)
        .replace("{debian_version}", &release.debian_version.to_string())
        .replace("{tag}", &version)
}

/// The last component of `path`, for messages.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The versions this release's packages have, one per suite (`repo.package_version`).
pub fn release_package_versions(
    config: &crate::config::Config,
    release: &Release,
) -> anyhow::Result<Vec<SuiteVersion>> {
    package_versions(
        &config.repo.package_version,
        &config.repo.suites,
        &release.version.to_string(),
        &release.debian_version.to_string(),
    )
    .map_err(anyhow::Error::msg)
}

/// Whether each suite has its own upload (`repo.package_version` names the suite).
pub fn per_suite(config: &crate::config::Config) -> bool {
    crate::packages::per_suite(&config.repo.package_version)
}
