//! What the Debian stages share: their templates' placeholders and file names, and the
//! freezes that hold an upload back.

use std::path::Path;

use crate::config::Freeze;
use crate::error::UsageError;
use crate::packages::{SuiteVersion, package_versions};
use crate::step::Context;
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

/// Why uploading now needs `--yes`: the target distribution (`changelog.distribution`)
/// is in one of `debian.freeze`'s windows today.
pub fn frozen(ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
    let distribution = &ctx.config.changelog.distribution;
    let today = ctx.now.date();
    for freeze in &ctx.config.debian.freeze {
        if freeze.distribution == *distribution && in_freeze(freeze, today)? {
            let name = if freeze.name.is_empty() {
                "a freeze"
            } else {
                freeze.name.as_str()
            };
            return Ok(Some(format!(
                "{distribution} is frozen ({name}, from {} {}); pass --yes to upload anyway",
                freeze.from,
                freeze
                    .until
                    .as_deref()
                    .map_or("until further notice".to_owned(), |u| format!("until {u}"))
            )));
        }
    }
    Ok(None)
}

/// Whether `today` is within `freeze` (both ends inclusive).
pub fn in_freeze(freeze: &Freeze, today: time::Date) -> anyhow::Result<bool> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let parse = |text: &str| {
        time::Date::parse(text, &format)
            .map_err(|_| UsageError(format!("debian.freeze date `{text}` is not YYYY-MM-DD")))
    };
    let from = parse(&freeze.from)?;
    let until = freeze.until.as_deref().map(parse).transpose()?;
    Ok(from <= today && until.is_none_or(|u| today <= u))
}
