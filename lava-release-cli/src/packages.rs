//! The Debian versions CI builds for a release, one per suite: `repo.package_version`
//! filled with the release, the suite and its Debian release number. A leaf: the
//! configuration checks the template with it, the stages expand it.

/// The Debian version CI builds for one suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteVersion {
    /// The suite, e.g. `bookworm`.
    pub suite: String,
    /// The version of its packages, e.g. `2026.07+12+bookworm`.
    pub version: String,
}

/// Debian's release numbers by codename, as `distro-info --release --series` gives
/// them; `unstable` and `sid` are 9999, as `share/debian-dev-build.sh` numbers them.
const DEBIAN_RELEASES: &[(&str, &str)] = &[
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
    ("unstable", "9999"),
    ("sid", "9999"),
];

/// The Debian release number of `suite`, if it is a Debian codename.
pub fn debian_release(suite: &str) -> Option<&'static str> {
    DEBIAN_RELEASES
        .iter()
        .find(|(name, _)| *name == suite)
        .map(|(_, number)| *number)
}

/// Whether `template` builds one version per suite (it names `{suite}` or `{release}`)
/// rather than one upload for every suite.
pub fn per_suite(template: &str) -> bool {
    template.contains("{suite}") || template.contains("{release}")
}

/// The version CI builds for each of `suites` (`repo.suites`), from `template`
/// (`repo.package_version`); an error names the key and what is wrong (an unknown placeholder, a suite with no
/// Debian release number, a result that is not a Debian version).
pub fn package_versions(
    template: &str,
    suites: &[String],
    version: &str,
    debian_version: &str,
) -> Result<Vec<SuiteVersion>, String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("repo.package_version `{template}` has an unclosed `{{`"))?;
        let name = &after[..close];
        if !["version", "debian_version", "release", "suite"].contains(&name) {
            return Err(format!(
                "repo.package_version `{template}` names the unknown placeholder {{{name}}}; use {{version}}, {{debian_version}}, {{release}} or {{suite}}"
            ));
        }
        rest = &after[close + 1..];
    }
    suites
        .iter()
        .map(|suite| {
            let release = match debian_release(suite) {
                Some(n) => n,
                None if template.contains("{release}") => {
                    return Err(format!(
                        "repo.package_version uses {{release}} but suite `{suite}` in repo.suites is not a Debian codename"
                    ));
                }
                None => "",
            };
            let filled = template
                .replace("{debian_version}", debian_version)
                .replace("{version}", version)
                .replace("{release}", release)
                .replace("{suite}", suite);
            filled.parse::<debversion::Version>().map_err(|e| {
                format!("repo.package_version `{template}` gives `{filled}` for {suite}, which is not a Debian version: {e}")
            })?;
            Ok(SuiteVersion {
                suite: suite.clone(),
                version: filled,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Repo {
        template: &'static str,
        suites: Vec<String>,
    }

    fn repo(template: &'static str, suites: &[&str]) -> Repo {
        Repo {
            template,
            suites: suites.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn package_versions(
        r: &Repo,
        version: &str,
        debian_version: &str,
    ) -> Result<Vec<SuiteVersion>, String> {
        super::package_versions(r.template, &r.suites, version, debian_version)
    }

    #[test]
    fn lava_today_builds_one_version_per_suite() {
        let r = repo("{version}+{release}+{suite}", &["bookworm", "trixie"]);
        let got = package_versions(&r, "2026.07", "2026.07-1").unwrap();
        let got: Vec<_> = got
            .iter()
            .map(|s| (s.suite.as_str(), s.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("bookworm", "2026.07+12+bookworm"),
                ("trixie", "2026.07+13+trixie")
            ]
        );
        assert!(per_suite(r.template));
        let written = repo("{debian_version}", &["bookworm", "trixie"]);
        let got = package_versions(&written, "2024.02", "2024.02-1").unwrap();
        assert!(got.iter().all(|s| s.version == "2024.02-1"));
        assert!(!per_suite(written.template));
        let unstable = package_versions(
            &repo("{version}+{release}+{suite}", &["unstable"]),
            "2026.07",
            "2026.07-1",
        )
        .unwrap();
        assert_eq!(unstable[0].version, "2026.07+9999+unstable");
    }

    #[test]
    fn a_bad_template_is_named() {
        let cases = [
            repo("{version}+{distro}", &["bookworm"]),
            repo("{version}+{release}", &["jammy"]),
            repo("{version", &["bookworm"]),
            repo("{suite}_{version}", &["bookworm"]),
        ];
        let errors: Vec<String> = cases
            .iter()
            .map(|r| package_versions(r, "2026.07", "2026.07-1").unwrap_err())
            .collect();
        insta::assert_snapshot!(errors.join("\n"), @r"
            repo.package_version `{version}+{distro}` names the unknown placeholder {distro}; use {version}, {debian_version}, {release} or {suite}
            repo.package_version uses {release} but suite `jammy` in repo.suites is not a Debian codename
            repo.package_version `{version` has an unclosed `{`
            repo.package_version `{suite}_{version}` gives `bookworm_2026.07` for bookworm, which is not a Debian version: Invalid version string: bookworm_2026.07
            ");
    }
}
