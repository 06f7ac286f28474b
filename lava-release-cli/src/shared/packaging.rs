//! The Debian packaging repository of the `gbp` flow (`debian.flow = "gbp"`): where it is,
//! its DEP-14 layout as git-buildpackage reads it from `gbp.conf`, the files the flow
//! keeps under `.git/lava-release/debian/VERSION/gbp/`, and whether its remote moved.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::UsageError;
use crate::gbp_conf::GbpConf;
use crate::step::{Context, short};

/// The branches, tag formats and options git-buildpackage uses, from its configuration
/// files as it reads them for `gbp buildpackage` (gbp's defaults where they say nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `debian-branch`.
    pub debian_branch: String,
    /// `upstream-branch`.
    pub upstream_branch: String,
    /// `upstream-tag`, a format such as `upstream/%(version)s`.
    pub upstream_tag: String,
    /// `debian-tag`, a format such as `debian/%(version)s`.
    pub debian_tag: String,
    /// `debian-tag-msg`: `%(pkg)s` and `%(version)s`.
    pub debian_tag_msg: String,
    /// `pristine-tar`.
    pub pristine_tar: bool,
}

impl Layout {
    /// The layout gbp reads in the worktree `dir` (its `debian/gbp.conf`, the user's
    /// `~/.gbp.conf`, ...).
    pub fn read(dir: &Path, git_dir: &Path, ctx: &Context<'_>) -> Result<Self, UsageError> {
        let gbp = GbpConf::read(&GbpConf::files(dir, git_dir, ctx.env), "buildpackage")?;
        let get = |key: &str, default: &str| gbp.get(key).map_or(default, |(v, _)| v).to_owned();
        Ok(Self {
            debian_branch: get("debian-branch", "master"),
            upstream_branch: get("upstream-branch", "upstream"),
            upstream_tag: get("upstream-tag", "upstream/%(version)s"),
            debian_tag: get("debian-tag", "debian/%(version)s"),
            debian_tag_msg: get("debian-tag-msg", "%(pkg)s Debian release %(version)s"),
            pristine_tar: gbp.bool("pristine-tar")?.unwrap_or(false),
        })
    }

    /// The upstream tag of `version`, as gbp names it.
    pub fn upstream_tag(&self, version: &str) -> String {
        lava_changelog::gbp_tag(&self.upstream_tag, version)
    }

    /// The Debian tag of `debian_version`, as gbp names it.
    pub fn debian_tag(&self, debian_version: &str) -> String {
        lava_changelog::gbp_tag(&self.debian_tag, debian_version)
    }

    /// The Debian tag's message, as `gbp tag` writes it.
    pub fn debian_tag_message(&self, source: &str, debian_version: &str) -> String {
        self.debian_tag_msg
            .replace("%(pkg)s", source)
            .replace("%(version)s", debian_version)
    }

    /// The branches `debian-push` sends: the Debian branch, the upstream branch and,
    /// with pristine-tar, its branch.
    pub fn branches(&self) -> Vec<&str> {
        let mut branches = vec![self.debian_branch.as_str(), self.upstream_branch.as_str()];
        if self.pristine_tar {
            branches.push("pristine-tar");
        }
        branches
    }
}

/// The packaging repository: its checkout and its remote.
#[derive(Debug, Clone)]
pub struct Packaging {
    /// The worktree: `debian.packaging_dir`, or `.git/lava-release/debian/packaging/`.
    pub dir: PathBuf,
    /// `debian.packaging_remote`.
    pub remote: String,
}

impl Packaging {
    /// The packaging repository the configuration names.
    pub fn in_context(ctx: &Context<'_>) -> anyhow::Result<Self> {
        let debian = &ctx.config.debian;
        let remote = debian.packaging_remote.clone().ok_or_else(|| {
            UsageError("debian.flow = \"gbp\" needs debian.packaging_remote, the packaging repository's remote".into())
        })?;
        let dir = debian
            .packaging_dir
            .clone()
            .unwrap_or_else(|| ctx.state_dir().join("debian").join("packaging"));
        Ok(Self { dir, remote })
    }

    /// The checkout, `None` before it is cloned.
    pub fn open(&self) -> anyhow::Result<Option<lava_git::Repository>> {
        if !self.dir.join(".git").exists() {
            return Ok(None);
        }
        Ok(Some(lava_git::Repository::open(&self.dir).with_context(
            || {
                format!(
                    "cannot open the packaging repository {}",
                    self.dir.display()
                )
            },
        )?))
    }

    /// The checkout, or an error naming the stage that makes it.
    pub fn need(&self) -> anyhow::Result<lava_git::Repository> {
        self.open()?.ok_or_else(|| {
            anyhow::anyhow!(
                "the packaging repository {} is not there yet; run import-orig first",
                self.dir.display()
            )
        })
    }

    /// The layout: the checkout's gbp configuration, or before it is cloned the release
    /// repository's (LAVA's `debian/gbp.conf` is the same file).
    pub fn layout(&self, ctx: &Context<'_>) -> anyhow::Result<Layout> {
        Ok(match self.open()? {
            Some(repo) => Layout::read(repo.workdir(), repo.git_dir(), ctx)?,
            None => Layout::read(ctx.repo.workdir(), ctx.repo.git_dir(), ctx)?,
        })
    }

    /// The checkout, cloned from the remote on the Debian branch the first time (with
    /// the upstream and pristine-tar branches), then given the release tag `tag` from the
    /// release repository, so that `gbp import-orig --upstream-vcs-tag` finds it.
    pub fn prepare(
        &self,
        ctx: &Context<'_>,
        layout: &Layout,
        tag: &str,
    ) -> anyhow::Result<lava_git::Repository> {
        let net = crate::shared::git::network(ctx);
        let repo = match self.open()? {
            Some(repo) => repo,
            None => {
                if let Some(parent) = self.dir.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                let repo = lava_git::Repository::clone_branch(
                    &self.remote,
                    &layout.debian_branch,
                    &self.dir,
                    &net,
                )?;
                let refspecs: Vec<String> = layout.branches()[1..]
                    .iter()
                    .map(|b| format!("refs/heads/{b}:refs/heads/{b}"))
                    .collect();
                let refspecs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
                repo.fetch(&self.remote, &refspecs, &net)?;
                // gbp and the changelog commit as the Debian Developer, as Debian's
                // tools know them (DEBFULLNAME, DEBEMAIL), else as git does.
                let who = crate::entry::trailer(ctx)?;
                repo.set_identity(&who.name, &who.email)?;
                lava_git::Repository::open(&self.dir)?
            }
        };
        if repo.resolve_commit(&format!("refs/tags/{tag}"))?.is_none() {
            let release = ctx.repo.git_dir().display().to_string();
            repo.fetch(
                &release,
                &[&format!("refs/tags/{tag}:refs/tags/{tag}")],
                &net,
            )?;
        }
        Ok(repo)
    }

    /// The refs the remote advertises (`git ls-remote`), asked from the checkout or,
    /// before it is cloned, from the release repository.
    pub fn remote_refs(
        &self,
        ctx: &Context<'_>,
        repo: Option<&lava_git::Repository>,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let net = crate::shared::git::network(ctx);
        Ok(repo.unwrap_or(ctx.repo).remote_refs(&self.remote, &net)?)
    }

    /// Problems that would make a push to the remote fail or undo someone's work, each a
    /// sentence, from the remote's `refs`: a branch the remote lacks (the upstream branch
    /// must be there before the first import), or one the remote has at a commit the
    /// checkout does not contain (someone pushed since it was cloned).
    pub fn moved(
        &self,
        refs: &[(String, String)],
        repo: Option<&lava_git::Repository>,
        layout: &Layout,
    ) -> anyhow::Result<Vec<String>> {
        let mut problems = Vec::new();
        for branch in [&layout.debian_branch, &layout.upstream_branch] {
            if !refs
                .iter()
                .any(|(n, _)| *n == format!("refs/heads/{branch}"))
            {
                problems.push(format!(
                    "the packaging remote {} has no branch `{branch}`; the gbp flow imports into an existing packaging repository",
                    self.remote
                ));
            }
        }
        let Some(repo) = repo else {
            return Ok(problems);
        };
        for branch in layout.branches() {
            let Some((_, theirs)) = refs
                .iter()
                .find(|(n, _)| *n == format!("refs/heads/{branch}"))
            else {
                continue;
            };
            let ours = repo.resolve_commit(&format!("refs/heads/{branch}"))?;
            let contained = match &ours {
                Some(ours) => {
                    ours == theirs
                        || (repo.resolve_commit(theirs)?.is_some()
                            && repo.is_ancestor(theirs, ours)?)
                }
                None => false,
            };
            if !contained {
                problems.push(format!(
                    "the packaging remote {} moved: its `{branch}` is at {}, which {}'s `{branch}` ({}) does not contain; fetch and merge it, then run again",
                    self.remote,
                    short(theirs),
                    self.dir.display(),
                    ours.as_deref().map_or("absent", short),
                ));
            }
        }
        Ok(problems)
    }
}

/// `debian.packaging_remote` for a stage's description, or that it is unset.
pub fn remote_name(config: &crate::config::Config) -> String {
    config
        .debian
        .packaging_remote
        .clone()
        .unwrap_or_else(|| "(debian.packaging_remote unset)".into())
}

/// What would stop a stage that pushes to the packaging remote, from its `check`: the
/// reason it is blocked (the remote moved, a tag elsewhere), or why it cannot look.
pub fn push_ready(ctx: &Context<'_>, check: anyhow::Result<crate::step::Status>) -> Vec<String> {
    match check {
        Ok(crate::step::Status::Blocked { reason }) => vec![reason],
        other => crate::shared::git::push_ready(ctx, other),
    }
}

/// Where the `gbp` flow keeps a release's files: `.git/lava-release/debian/VERSION/gbp/`.
pub fn work_dir(ctx: &Context<'_>) -> PathBuf {
    ctx.state_dir()
        .join("debian")
        .join(ctx.release.version.to_string())
        .join("gbp")
}

/// The upstream tarball, named as Debian expects: `SOURCE_VERSION.orig.tar.gz`.
pub fn orig_path(ctx: &Context<'_>) -> PathBuf {
    work_dir(ctx).join(format!(
        "{}_{}.orig.tar.gz",
        ctx.config.repo.source, ctx.release.version
    ))
}

/// Where `debian-build` exports and builds (`--git-export-dir`).
pub fn build_dir(ctx: &Context<'_>) -> PathBuf {
    work_dir(ctx).join("build")
}

/// The `.changes` of this release's Debian version in the build directory (there may be
/// one per architecture, `_source` or `_amd64`); `None` before the build.
pub fn built_changes(ctx: &Context<'_>) -> anyhow::Result<Option<PathBuf>> {
    let dir = build_dir(ctx);
    let version = ctx.release.debian_version.to_string();
    let version = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
    let prefix = format!("{}_{version}_", ctx.config.repo.source);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".changes"))
        })
        .collect();
    found.sort();
    // A sourceful `_ARCH.changes` of sbuild -s lists the source too; prefer it.
    Ok(found
        .iter()
        .find(|p| !p.to_string_lossy().ends_with("_source.changes"))
        .or(found.first())
        .cloned())
}

/// Problems with a built `.changes`: not this release's version, or not sourceful.
pub fn check_changes(ctx: &Context<'_>, changes: &Path) -> anyhow::Result<Option<String>> {
    let bytes =
        std::fs::read(changes).with_context(|| format!("cannot read {}", changes.display()))?;
    let parsed = lava_repo_sign::parse_changes(&changes.display().to_string(), &bytes)?;
    let want = ctx.release.debian_version.to_string();
    if parsed.version != want {
        return Ok(Some(format!(
            "{} is version {}, not {want}",
            changes.display(),
            parsed.version
        )));
    }
    if parsed.dsc.is_none() {
        return Ok(Some(format!(
            "{} lists no .dsc: the build was not sourceful; give the builder -s (sbuild) or -S (dpkg-buildpackage)",
            changes.display()
        )));
    }
    Ok(None)
}

/// The Debian Developer's certificate (`debian.key`, from its key file or gpg-agent).
pub fn dd_keyring(ctx: &Context<'_>) -> anyhow::Result<lava_signing::Keyring> {
    let signing = ctx.config.debian.signing().ok_or_else(|| {
        UsageError("debian.key is not set; name the Debian Developer's key".into())
    })?;
    crate::signing::release_keyring(&signing, ctx.env).with_context(|| {
        format!(
            "cannot find the Debian Developer's key {}",
            signing.release_key
        )
    })
}

/// Verifies the cleartext signature of `file` (a `.changes` or `.dsc`) against the
/// Debian Developer's key; returns the signing key's fingerprint.
pub fn verify_dd_signature(ctx: &Context<'_>, file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let keyring = dd_keyring(ctx)?;
    let verified = lava_signing::verify_cleartext(&bytes, &keyring).with_context(|| {
        format!(
            "{} is not validly signed by the Debian Developer's key",
            file.display()
        )
    })?;
    Ok(verified.signer.to_string())
}
