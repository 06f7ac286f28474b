//! The published site: `current-release` (where reprepro imports and Release files
//! are signed), `archive/VERSION` (immutable snapshots) and the live `release`
//! symlink, switched atomically from one snapshot to the next.

use std::time::SystemTime;

use lava_signing::Keyring;

use crate::error::{Error, Result};
use crate::store::{Kind, Location, SshOptions, Store, quote};
use crate::tree::{SuiteStatus, Tree};

/// Names inside the site root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The reprepro base directory imported into and signed (LAVA: `current-release`).
    pub current: String,
    /// The live symlink the web server serves (LAVA: `release`).
    pub live: String,
    /// Where published trees are kept, one directory per version (LAVA: `archive`).
    pub archive: String,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            current: "current-release".into(),
            live: "release".into(),
            archive: "archive".into(),
        }
    }
}

/// What the live symlink points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    /// The symlink's target as written, e.g. `archive/2025.01`; `None` if it does not exist.
    pub target: Option<String>,
    /// The version, when the target is `ARCHIVE/VERSION`.
    pub version: Option<String>,
}

/// What [`Site::publish`] or [`Site::rollback`] did, or [`Site::publish_status`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The live symlink before.
    pub before: Live,
    /// The live symlink after.
    pub after: Live,
    /// Whether the symlink was changed by this call (false when it already pointed there).
    pub switched: bool,
    /// The verified suites of the tree now live.
    pub suites: Vec<SuiteStatus>,
}

/// A site root holding the trees and the live symlink.
#[derive(Clone, Debug)]
pub struct Site {
    store: Store,
    layout: Layout,
}

impl Site {
    /// The site at `root`; `ssh` says how to reach a remote one.
    pub fn new(root: Location, ssh: SshOptions, layout: Layout) -> Site {
        Site {
            store: Store::new(root, ssh),
            layout,
        }
    }

    /// The tree reprepro imports into and `repo-sign` signs.
    pub fn current(&self) -> Tree {
        Tree::from_store(self.store.at(&self.layout.current))
    }

    /// The kept tree of `version`.
    pub fn archived(&self, version: &str) -> Tree {
        Tree::from_store(self.store.at(&self.archive_rel(version)))
    }

    fn archive_rel(&self, version: &str) -> String {
        format!("{}/{version}", self.layout.archive)
    }

    /// Where the live symlink points.
    pub fn live(&self) -> Result<Live> {
        match self.store.kind(&self.layout.live)? {
            Kind::Missing => Ok(Live {
                target: None,
                version: None,
            }),
            Kind::Symlink(target) => {
                let version = target
                    .trim_end_matches('/')
                    .strip_prefix(&format!("{}/", self.layout.archive))
                    .filter(|v| !v.is_empty() && !v.contains('/'))
                    .map(str::to_owned);
                Ok(Live {
                    target: Some(target),
                    version,
                })
            }
            Kind::Dir | Kind::File => Err(Error::Publish {
                location: self.store.label(&self.layout.live),
                reason: format!(
                    "it is not a symlink; move the tree to {}/VERSION and make {} a symlink to it",
                    self.layout.archive, self.layout.live
                ),
            }),
        }
    }

    /// Checks, changing nothing, that the site can be published to: it is reachable
    /// (over SSH in `BatchMode`: a known host key and a login without a prompt) and its
    /// root, the tree reprepro writes and the archive are directories the login may
    /// write (the archive may be created later, under a writable root).
    pub fn check_writable(&self) -> Result<()> {
        const SCRIPT: &str = r#"for d; do
  if [ -d "$d" ]; then [ -w "$d" ] || { echo "$d is not writable by $(id -un)"; exit 0; }
  elif [ -e "$d" ]; then echo "$d is not a directory"; exit 0
  elif [ "$d" = "$1" ]; then echo "$d does not exist"; exit 0
  fi
done"#;
        let paths = [
            self.store.path(""),
            self.store.path(&self.layout.current),
            self.store.path(&self.layout.archive),
        ];
        let args: Vec<&str> = paths.iter().map(String::as_str).collect();
        let out = self
            .store
            .sh("check that the repository is writable", SCRIPT, &args, None)?;
        let problem = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if problem.is_empty() {
            return Ok(());
        }
        Err(Error::NotWritable {
            problem,
            host: self.store.host(),
        })
    }

    /// The versions kept under the archive directory.
    pub fn archived_versions(&self) -> Result<Vec<String>> {
        let mut versions = self.store.subdirs_with(&self.layout.archive, "dists")?;
        versions.retain(|v| !v.starts_with('.'));
        Ok(versions)
    }

    /// Read-only: whether `version` is live, with the verified suites as evidence.
    /// `Ok(None)` when it is not live yet.
    pub fn publish_status(
        &self,
        version: &str,
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<Option<Switch>> {
        let live = self.live()?;
        if live.version.as_deref() != Some(version) {
            return Ok(None);
        }
        let suites = self.archived(version).verify(keyring, now)?;
        Ok(Some(Switch {
            before: live.clone(),
            after: live,
            switched: false,
            suites,
        }))
    }

    /// Publishes `current-release` as `version`: refuses unless every suite is signed
    /// and verifies; snapshots it (hard links, so nothing is copied) to
    /// `archive/VERSION`, verifies the snapshot, and switches the live symlink to it
    /// with a new symlink renamed over the old one. The previous tree stays where it
    /// was (`archive/OLDVERSION`), so [`Site::rollback`] can return to it; nothing is
    /// deleted.
    pub fn publish(&self, version: &str, keyring: &Keyring, now: SystemTime) -> Result<Switch> {
        check_version(version, &self.store)?;
        let before = self.live()?;
        if before.version.as_deref() == Some(version) {
            let suites = self.archived(version).verify(keyring, now)?;
            return Ok(Switch {
                after: before.clone(),
                before,
                switched: false,
                suites,
            });
        }
        self.current().verify(keyring, now)?;
        let rel = self.archive_rel(version);
        match self.store.kind(&rel)? {
            Kind::Missing => self.snapshot(version)?,
            Kind::Dir => {}
            _ => {
                return Err(Error::Publish {
                    location: self.store.label(&rel),
                    reason: "it exists and is not a directory; remove it".into(),
                });
            }
        }
        let suites = self
            .archived(version)
            .verify(keyring, now)
            .map_err(|e| Error::Publish {
                location: self.store.label(&rel),
                reason: format!("the kept tree does not verify ({e}); remove it and publish again"),
            })?;
        self.switch(&rel)?;
        Ok(Switch {
            before,
            after: self.live()?,
            switched: true,
            suites,
        })
    }

    /// Switches the live symlink back to `archive/TO` (by default the newest kept
    /// version older than the live one, in Debian version order), after verifying it.
    pub fn rollback(&self, to: Option<&str>, keyring: &Keyring, now: SystemTime) -> Result<Switch> {
        let before = self.live()?;
        let to = match to {
            Some(v) => v.to_owned(),
            None => {
                let live_version = before.version.clone().ok_or_else(|| Error::Publish {
                    location: self.store.label(&self.layout.live),
                    reason: format!(
                        "it does not point into {}/, so there is no previous version to guess; name the version to roll back to",
                        self.layout.archive
                    ),
                })?;
                let live_parsed = parse_version(&live_version, &self.store)?;
                let mut older: Vec<(debversion::Version, String)> = Vec::new();
                for v in self.archived_versions()? {
                    if let Ok(parsed) = v.parse::<debversion::Version>()
                        && parsed < live_parsed
                    {
                        older.push((parsed, v));
                    }
                }
                older.sort();
                older.pop().map(|(_, v)| v).ok_or_else(|| Error::Publish {
                    location: self.store.label(&self.layout.archive),
                    reason: format!("no kept version is older than the live {live_version}"),
                })?
            }
        };
        check_version(&to, &self.store)?;
        let rel = self.archive_rel(&to);
        if self.store.kind(&rel)? != Kind::Dir {
            return Err(Error::Publish {
                location: self.store.label(&rel),
                reason: "there is no such kept tree".into(),
            });
        }
        let suites = self.archived(&to).verify(keyring, now)?;
        let switched = before.version.as_deref() != Some(to.as_str());
        if switched {
            self.switch(&rel)?;
        }
        Ok(Switch {
            before,
            after: self.live()?,
            switched,
            suites,
        })
    }

    /// Hard-links `current-release/{dists,pool}` into a temporary directory and
    /// renames it to `archive/VERSION`, so the snapshot appears whole or not at all.
    /// reprepro and `repo-sign` replace files by renaming, never in place, so later
    /// changes to `current-release` do not reach the snapshot.
    fn snapshot(&self, version: &str) -> Result<()> {
        let root = self.store.path("");
        let script = "set -e; cd -- \"$1\"; mkdir -p -- \"$3\"
tmp=\"$3/.$4.tmp\"; rm -rf -- \"$tmp\"; mkdir -- \"$tmp\"
cp -al -- \"$2/dists\" \"$tmp/dists\"
if [ -d \"$2/pool\" ]; then cp -al -- \"$2/pool\" \"$tmp/pool\"; fi
mv -T -- \"$tmp\" \"$3/$4\"";
        self.store.sh(
            &format!(
                "snapshot {} to {}",
                self.layout.current,
                self.archive_rel(version)
            ),
            script,
            &[&root, &self.layout.current, &self.layout.archive, version],
            None,
        )?;
        Ok(())
    }

    fn switch(&self, target_rel: &str) -> Result<()> {
        let root = self.store.path("");
        let script = "set -e; cd -- \"$1\"; tmp=\".$2.new\"; rm -f -- \"$tmp\"
ln -s -- \"$3\" \"$tmp\"; mv -fT -- \"$tmp\" \"$2\"";
        self.store.sh(
            &format!("ln -s {} {}", quote(target_rel), quote(&self.layout.live)),
            script,
            &[&root, &self.layout.live, target_rel],
            None,
        )?;
        Ok(())
    }
}

fn parse_version(version: &str, store: &Store) -> Result<debversion::Version> {
    version.parse().map_err(|_| Error::Publish {
        location: store.label(""),
        reason: format!("`{version}` is not a Debian version"),
    })
}

/// Versions name directories: refuse anything that could leave the archive.
fn check_version(version: &str, store: &Store) -> Result<()> {
    let ok = !version.is_empty()
        && !version.starts_with('.')
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+-~:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Publish {
            location: store.label(""),
            reason: format!("`{version}` is not usable as a version directory name"),
        })
    }
}
