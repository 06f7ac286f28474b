//! The apt repository stages, through `lava-repo-sign`: `repo-import` (`reprepro
//! include` of the built upload into each suite), `repo-sign` (every index checked,
//! then `InRelease` and `Release.gpg` written with the release key) and `repo-publish`
//! (the signed tree kept as `archive/VERSION` and the live symlink switched to it).
//!
//! Every check reads the repository itself: the versions reprepro lists, the
//! signatures verified against the release key's certificate, the live symlink.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context as _;
use lava_repo_sign::{Changes, Layout, Location, Site, SshOptions, SuiteStatus, Tree};

use crate::Context;
use crate::config::Config;
use crate::plan::{Action, Release, Stage, Status};
use crate::signing;

/// What every repository stage needs to know.
#[derive(Debug, Clone)]
pub struct RepoStage {
    /// Which of the repository stages this is.
    pub kind: RepoKind,
    /// The site: a local directory or an `ssh://` URL.
    pub site: String,
    /// The directory of built `.changes` files, on the machine holding the site.
    pub incoming: Option<PathBuf>,
    /// The `ssh_config` for an `ssh://` site.
    pub ssh_config: Option<PathBuf>,
    /// The suites imported into.
    pub suites: Vec<String>,
    /// The source package uploaded.
    pub source: String,
    /// Names inside the site.
    pub layout: Layout,
    /// The bare version, which names the kept tree (`archive/VERSION`).
    pub version: String,
    /// The Debian version of the upload.
    pub debian_version: String,
}

/// The repository stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    /// `repo-import`
    Import,
    /// `repo-sign`
    Sign,
    /// `repo-publish`
    Publish,
}

/// The three repository stages, or none when `repo.site` is unset.
pub fn stages(config: &Config, release: &Release) -> Vec<Stage> {
    if config.repo.site.as_deref().is_none_or(str::is_empty) {
        return Vec::new();
    }
    [
        ("repo-import", RepoKind::Import, false),
        ("repo-sign", RepoKind::Sign, false),
        // Publishing changes what every LAVA user's apt sees.
        ("repo-publish", RepoKind::Publish, true),
    ]
    .into_iter()
    .map(|(name, kind, irreversible)| {
        let stage = RepoStage::new(config, release, kind);
        Stage {
            name,
            description: stage.describe(config),
            irreversible,
            check_only: false,
            action: Action::Repo(stage),
        }
    })
    .collect()
}

/// Why the import cannot be judged (no incoming directory, no matching upload).
type Blocked = String;

impl RepoStage {
    /// The stage `kind` for `release` under `config`.
    pub fn new(config: &Config, release: &Release, kind: RepoKind) -> Self {
        let repo = &config.repo;
        Self {
            kind,
            site: repo.site.clone().unwrap_or_default(),
            incoming: repo.incoming.clone(),
            ssh_config: repo.ssh_config.clone(),
            suites: repo.suites.clone(),
            source: repo.source.clone(),
            layout: Layout {
                current: repo.current.clone(),
                live: repo.live.clone(),
                archive: repo.archive.clone(),
            },
            version: release.version.to_string(),
            debian_version: release.debian_version.to_string(),
        }
    }

    /// One line saying what `apply` does.
    pub fn describe(&self, config: &Config) -> String {
        let current = format!(
            "{}/{}",
            self.site.trim_end_matches('/'),
            self.layout.current
        );
        match self.kind {
            RepoKind::Import => format!(
                "reprepro include {} {} from {} into {} of {current}",
                self.source,
                self.debian_version,
                self.incoming
                    .as_deref()
                    .map_or("(repo.incoming unset)".into(), |p| p.display().to_string()),
                self.suites.join(", ")
            ),
            RepoKind::Sign => format!(
                "verify every index of {current} and sign its Release files with the release key {}",
                config.signing.release_key
            ),
            RepoKind::Publish => format!(
                "keep {current} as {}/{} and switch the {} symlink to it",
                self.layout.archive, self.version, self.layout.live
            ),
        }
    }

    fn site(&self) -> anyhow::Result<Site> {
        let location = Location::parse(&self.site)
            .with_context(|| format!("repo.site `{}` in the configuration", self.site))?;
        let ssh = SshOptions {
            config: self.ssh_config.clone(),
            ..SshOptions::default()
        };
        Ok(Site::new(location, ssh, self.layout.clone()))
    }

    /// The `.changes` of this release's source in `dir`: those at its Debian version
    /// or, as a native package would be, at its bare version.
    fn find_uploads(&self, tree: &Tree, dir: &str) -> anyhow::Result<Vec<Changes>> {
        Ok(tree
            .find_changes(dir)?
            .into_iter()
            .filter(|c| {
                c.source == self.source
                    && (c.version == self.debian_version || c.version == self.version)
            })
            .collect())
    }

    /// The upload `repo-import` would take, and the tree that reads it: the site's
    /// machine when `repo.site` is set, else this one. `None` without `repo.incoming`.
    pub(crate) fn uploads(&self) -> anyhow::Result<Option<(Tree, Vec<Changes>)>> {
        let Some(dir) = &self.incoming else {
            return Ok(None);
        };
        let dir = dir.display().to_string();
        let tree = if self.site.is_empty() {
            Tree::new(
                Location::parse(&dir).with_context(|| format!("repo.incoming `{dir}`"))?,
                SshOptions::default(),
            )
        } else {
            self.site()?.current()
        };
        let found = self.find_uploads(&tree, &dir)?;
        Ok(Some((tree, found)))
    }

    /// The upload of this release in the incoming directory.
    fn changes(&self, tree: &Tree) -> anyhow::Result<Result<Vec<Changes>, Blocked>> {
        let Some(dir) = &self.incoming else {
            return Ok(Err(
                "repo.incoming is not set; name the directory of the built .changes files".into(),
            ));
        };
        let dir = dir.display().to_string();
        let found = self.find_uploads(tree, &dir)?;
        if found.is_empty() {
            return Ok(Err(format!(
                "{dir} holds no .changes of {} {}; build the packages and copy them there",
                self.source, self.debian_version
            )));
        }
        Ok(Ok(found))
    }

    /// Read-only observation. The clock is read here, not taken from the run's start:
    /// reprepro dates the Release files it writes during the run.
    pub fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let site = self.site()?;
        let now = SystemTime::now();
        match self.kind {
            RepoKind::Import => self.check_import(&site.current()),
            RepoKind::Sign => {
                if let Status::ToDo { .. } = self.check_import(&site.current())? {
                    return Ok(Status::ToDo {
                        detail: Some("repo-import comes first".into()),
                    });
                }
                let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
                let statuses = site.current().status(&keyring, now)?;
                Ok(sign_status(&statuses))
            }
            RepoKind::Publish => {
                let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
                match site.publish_status(&self.version, &keyring, now)? {
                    Some(switch) => Ok(Status::Done {
                        evidence: format!(
                            "{} -> {} ({} verified)",
                            self.layout.live,
                            switch.after.target.unwrap_or_default(),
                            suite_names(&switch.suites)
                        ),
                    }),
                    None => Ok(Status::ToDo {
                        detail: Some(format!(
                            "{} -> {}",
                            self.layout.live,
                            site.live()?.target.as_deref().unwrap_or("(nothing)")
                        )),
                    }),
                }
            }
        }
    }

    fn check_import(&self, tree: &Tree) -> anyhow::Result<Status> {
        let changes = match self.changes(tree)? {
            Ok(c) => c,
            Err(reason) => return Ok(Status::Blocked { reason }),
        };
        let plan = tree.import_preview(&self.suites, &changes)?;
        let todo: Vec<String> = plan
            .iter()
            .filter(|i| i.include)
            .map(ToString::to_string)
            .collect();
        if todo.is_empty() {
            let present: Vec<String> = plan
                .iter()
                .map(|i| {
                    format!(
                        "{} {} in {}",
                        i.changes.source,
                        i.existing.as_deref().unwrap_or("?"),
                        i.suite
                    )
                })
                .collect();
            Ok(Status::Done {
                evidence: present.join(", "),
            })
        } else {
            Ok(Status::ToDo {
                detail: Some(todo.join("; ")),
            })
        }
    }

    /// Does the stage.
    pub fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let site = self.site()?;
        let tree = site.current();
        match self.kind {
            RepoKind::Import => {
                let changes = self.changes(&tree)?.map_err(anyhow::Error::msg)?;
                let done = tree.import(&self.suites, &changes)?;
                Ok(done
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "))
            }
            RepoKind::Sign => {
                let signer = ctx.release_signer()?;
                let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
                // Every suite's indices are hashed in one pass, then signed in turn.
                let suites = tree.suites()?.len();
                let mut signed = 0;
                let statuses = tree.sign(signer, &keyring, SystemTime::now(), |_| {
                    signed += 1;
                    if signed < suites {
                        ctx.failpoint("repo-sign:between-suites");
                    }
                    std::ops::ControlFlow::Continue(())
                })?;
                let notes: Vec<String> = statuses
                    .iter()
                    .map(|status| {
                        if status.signed_now {
                            format!("{} signed", status.suite)
                        } else {
                            format!("{} already valid", status.suite)
                        }
                    })
                    .collect();
                Ok(format!(
                    "{} by {:X}",
                    notes.join(", "),
                    signer.fingerprint()
                ))
            }
            RepoKind::Publish => {
                let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
                let switch = site.publish(&self.version, &keyring, SystemTime::now())?;
                Ok(format!(
                    "{} -> {} (was {}; {} verified)",
                    self.layout.live,
                    switch.after.target.unwrap_or_default(),
                    switch.before.target.as_deref().unwrap_or("nothing"),
                    suite_names(&switch.suites)
                ))
            }
        }
    }
}

fn suite_names(statuses: &[SuiteStatus]) -> String {
    statuses
        .iter()
        .map(|s| s.suite.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sign stage's status from every suite's: wrong indices block (signing would be
/// refused), missing or invalid signatures are to do.
fn sign_status(statuses: &[SuiteStatus]) -> Status {
    if let Some(bad) = statuses.iter().find(|s| !s.problems.is_empty()) {
        let problems: Vec<String> = bad.problems.iter().map(ToString::to_string).collect();
        return Status::Blocked {
            reason: format!(
                "suite {} does not match its Release file: {}",
                bad.suite,
                problems.join("; ")
            ),
        };
    }
    let todo: Vec<String> = statuses
        .iter()
        .filter(|s| !s.is_done())
        .map(|s| format!("{} ({})", s.suite, s.signatures))
        .collect();
    if !todo.is_empty() {
        return Status::ToDo {
            detail: Some(format!("to sign: {}", todo.join(", "))),
        };
    }
    let signer = statuses
        .iter()
        .find_map(|s| match &s.signatures {
            lava_repo_sign::SignatureState::Valid { signer } => Some(format!("{signer:X}")),
            _ => None,
        })
        .unwrap_or_default();
    Status::Done {
        evidence: format!("{} verified and signed by {signer}", suite_names(statuses)),
    }
}

#[cfg(test)]
mod tests {
    use lava_repo_sign::{Problem, SignatureState};

    use super::*;

    fn release() -> Release {
        let version: crate::version::ReleaseVersion = "2024.05".parse().unwrap();
        Release {
            version,
            debian_version: crate::version::debian_version(version, None).unwrap(),
        }
    }

    #[test]
    fn no_site_no_stages() {
        assert!(stages(&Config::default(), &release()).is_empty());
    }

    #[test]
    fn three_stages_with_lava_defaults() {
        let config = Config::from_toml(
            "[repo]\nsite = \"ssh://repo@apt.example/srv/apt\"\nincoming = \"/srv/incoming\"\n",
        )
        .unwrap();
        let lines: Vec<String> = stages(&config, &release())
            .iter()
            .map(|s| format!("{} [{}] {}", s.name, s.irreversible, s.description))
            .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        repo-import [false] reprepro include lava 2024.05-1 from /srv/incoming into bookworm, trixie of ssh://repo@apt.example/srv/apt/current-release
        repo-sign [false] verify every index of ssh://repo@apt.example/srv/apt/current-release and sign its Release files with the release key C87D63FD935535CFB0CAF5C2A791358F2E49B100
        repo-publish [true] keep ssh://repo@apt.example/srv/apt/current-release as archive/2024.05 and switch the release symlink to it
        ");
    }

    fn suite(name: &str, problems: Vec<Problem>, signatures: SignatureState) -> SuiteStatus {
        SuiteStatus {
            suite: name.into(),
            files: 2,
            bytes: 10,
            algorithms: Vec::new(),
            problems,
            signatures,
            signed_now: false,
        }
    }

    #[test]
    fn sign_status_blocks_on_wrong_indices_and_lists_unsigned_suites() {
        let wrong = suite(
            "trixie",
            vec![Problem::Size {
                path: "main/source/Sources.xz".into(),
                expected: 10,
                actual: 9,
            }],
            SignatureState::Unsigned,
        );
        let unsigned = suite("bookworm", Vec::new(), SignatureState::Unsigned);
        insta::assert_snapshot!(
            sign_status(&[unsigned.clone(), wrong]).note().unwrap(),
            @"suite trixie does not match its Release file: main/source/Sources.xz: size 10 expected, 9 found"
        );
        assert_eq!(
            sign_status(&[unsigned]),
            Status::ToDo {
                detail: Some("to sign: bookworm (no Release.gpg, no InRelease)".into())
            }
        );
    }
}
