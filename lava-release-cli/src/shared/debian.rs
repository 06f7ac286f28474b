//! What the Debian stages share: their templates' placeholders and file names.

use std::path::Path;

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
