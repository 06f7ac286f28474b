//! The environment, read once at start-up: the only place lava-release reads
//! environment variables (`clippy.toml` bans `std::env::var` elsewhere).

/// The environment variables lava-release reads, read once, at start-up.
#[derive(Clone, Default)]
pub struct Env {
    /// `DEBFULLNAME`: the changelog trailer's name.
    pub debfullname: Option<String>,
    /// `DEBEMAIL` (or `EMAIL`): the trailer's e-mail, possibly as `Name <email>`.
    pub debemail: Option<String>,
    /// `NO_COLOR` set to anything non-empty.
    pub no_color: bool,
    /// `CLICOLOR_FORCE` is set and not `0`: colour even off a terminal (`NO_COLOR` wins).
    pub clicolor_force: bool,
    /// `SOURCE_DATE_EPOCH`: the trailer's date, for reproducible entries.
    pub source_date_epoch: Option<i64>,
    /// `LAVA_RELEASE_FAILPOINT`: where to simulate a crash (tests only).
    pub failpoint: Option<String>,
    /// Every variable, for those the configuration names (`signing.passphrase_env`,
    /// `gitlab.token_env`). Their values may be secrets: `Debug` shows names only.
    vars: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("debfullname", &self.debfullname)
            .field("debemail", &self.debemail)
            .field("no_color", &self.no_color)
            .field("clicolor_force", &self.clicolor_force)
            .field("source_date_epoch", &self.source_date_epoch)
            .field("failpoint", &self.failpoint)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// Reads the variables of this process.
    #[allow(clippy::disallowed_methods)] // The one place that reads the environment.
    pub fn from_process() -> Self {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            debfullname: get("DEBFULLNAME"),
            debemail: get("DEBEMAIL").or_else(|| get("EMAIL")),
            no_color: get("NO_COLOR").is_some(),
            clicolor_force: get("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            source_date_epoch: get("SOURCE_DATE_EPOCH").and_then(|v| v.parse().ok()),
            failpoint: get("LAVA_RELEASE_FAILPOINT"),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// The value of variable `name`, if set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// An environment with exactly these variables (tests).
    pub fn with_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Self::default()
        }
    }
}
