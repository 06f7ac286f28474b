//! `release.toml`: what a release of this project looks like, with LAVA's as the default.
//!
//! Every section has built-in defaults describing LAVA today, so the file is optional and
//! only holds what differs. Unknown keys are an error naming the key (serde's
//! `deny_unknown_fields`), so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The effective configuration: built-in defaults overlaid with `release.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The project and its repository.
    pub project: Project,
    /// How the `debian/changelog` entry is written.
    pub changelog: Changelog,
    /// Credentials for pushes.
    pub git: Git,
    /// The lava-lab repository that receives the device types.
    pub lab: Lab,
    /// Signing keys.
    pub signing: Signing,
    /// The GitLab project whose CI builds the release.
    pub gitlab: Gitlab,
    /// The reprepro apt repository.
    pub repo: Repo,
    /// Container images promoted to Docker Hub.
    pub docker: Docker,
    /// The release announcement.
    pub announce: Announce,
    /// The local dev build and the Debian upload.
    pub debian: Debian,
}

/// `[project]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Project {
    /// The branch releases are cut from.
    pub branch: String,
    /// Files that hold the bare version (`YYYY.MM`) and are updated with the changelog.
    pub version_files: Vec<String>,
    /// Globs a release tag matches (`git describe --match`).
    pub tag_match: Vec<String>,
    /// Globs of tags that are never release tags (`git describe --exclude`).
    pub tag_exclude: Vec<String>,
    /// Message of the release commit; `{version}` is replaced.
    pub commit_message: String,
    /// Message of the release tag; `{version}` is replaced.
    pub tag_message: String,
    /// The project's remote (name or URL) that master and the tag are pushed to.
    pub remote: String,
    /// The release manager's fork (name or URL) whose CI tests master first; unset:
    /// no `fork-ci` stage.
    pub fork: Option<String>,
    /// Push the release commit to the branch and wait for its pipeline before pushing
    /// the tag (`push-branch`, `wait-branch-ci`), as LAVA's release script does.
    pub push_branch_first: bool,
    /// The URL anyone clones the project from, as the release manifest records it for
    /// `verify-release` (default: `{gitlab.url}/{gitlab.project}.git`).
    pub public_git: Option<String>,
}

impl Default for Project {
    fn default() -> Self {
        Self {
            branch: "master".into(),
            version_files: vec!["lava_common/VERSION".into()],
            tag_match: vec!["[0-9][0-9][0-9][0-9].[0-9][0-9]*".into()],
            tag_exclude: vec!["debian/*".into()],
            commit_message: "LAVA Software {version} release".into(),
            tag_message: "LAVA Software {version} release".into(),
            remote: "origin".into(),
            fork: None,
            push_branch_first: true,
            public_git: None,
        }
    }
}

/// Which of LAVA's three historical entry styles to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ChangelogStyle {
    /// `gbp dch --git-author --id-length=9 --release debian`, grouped by author
    /// (LAVA since 2020.05).
    #[default]
    Gbp,
    /// The release bullet, then `git log --no-merges --oneline` wrapped as
    /// `do-debian-release` wrapped it (LAVA 2019.04 to 2019.09).
    Oneline,
    /// The release bullet, then `git log --no-merges --oneline` unwrapped (LAVA 2019.01,
    /// 2019.10 to 2020.04).
    GitLog,
}

impl ChangelogStyle {
    /// The name in `release.toml` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ChangelogStyle::Gbp => "gbp",
            ChangelogStyle::Oneline => "oneline",
            ChangelogStyle::GitLog => "git-log",
        }
    }
}

/// `--multimaint-merge` as LAVA's latest entries show it: one block per author.
pub const DEFAULT_MULTIMAINT_MERGE: bool = true;

/// `--id-length` as LAVA's release script passes it.
pub const DEFAULT_ID_LENGTH: usize = 9;

/// `[changelog]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Changelog {
    /// The entry style.
    pub style: ChangelogStyle,
    /// Path filter of the `gbp` style (gbp dch's positional paths).
    pub paths: Vec<String>,
    /// The header's distribution.
    pub distribution: String,
    /// The header's urgency.
    pub urgency: String,
    /// `--id-length`: commit id digits before each `gbp` bullet. Unset: gbp.conf's
    /// `id-length`, else 9.
    pub id_length: Option<usize>,
    /// One `[ Author ]` block per author (`--multimaint-merge`). Unset: gbp.conf's
    /// `multimaint-merge`, else true, as LAVA's latest entries.
    pub multimaint_merge: Option<bool>,
    /// The first bullet the release manager adds; `{version}` is replaced. Empty: none.
    pub first_bullet: String,
    /// The `git-log` style lists commits newest first instead of oldest first.
    pub newest_first: bool,
    /// The `changelog` stage opens the entry in `$VISUAL`/`$EDITOR` before writing it,
    /// as `gbp dch --release` does.
    pub edit: bool,
    /// `--git-author`: the trailer is git's `user.name` and `user.email` rather than
    /// `DEBFULLNAME` and `DEBEMAIL`. Unset: gbp.conf's `git-author`, else false.
    pub git_author: Option<bool>,
    /// `--meta`: `Closes:`, `LP:` and `Thanks:` lines become notes on their bullet.
    /// Unset: gbp.conf's `meta`, else true.
    pub meta: Option<bool>,
    /// `--full`: each bullet carries its commit's whole body. Unset: gbp.conf's `full`,
    /// else false.
    pub full: Option<bool>,
}

/// The `[changelog]` options shared with `gbp dch`: the key here and gbp's name for it.
/// `release.toml` wins, then the gbp.conf files, then lava-release's default.
pub const GBP_DCH_OPTIONS: [(&str, &str); 5] = [
    ("changelog.id_length", "id-length"),
    ("changelog.multimaint_merge", "multimaint-merge"),
    ("changelog.git_author", "git-author"),
    ("changelog.meta", "meta"),
    ("changelog.full", "full"),
];

impl Default for Changelog {
    fn default() -> Self {
        Self {
            style: ChangelogStyle::Gbp,
            paths: vec!["debian".into()],
            distribution: "unstable".into(),
            urgency: "medium".into(),
            id_length: None,
            multimaint_merge: None,
            first_bullet: "LAVA Software {version} release".into(),
            newest_first: false,
            edit: false,
            git_author: None,
            meta: None,
            full: None,
        }
    }
}

impl Changelog {
    /// Fills what `release.toml` leaves unset from git-buildpackage's configuration,
    /// then from the defaults, so that every gbp option has its effective value.
    pub fn resolve_gbp(
        &mut self,
        gbp: &crate::gbp_conf::GbpConf,
    ) -> Result<(), crate::error::UsageError> {
        if self.multimaint_merge.is_none() {
            self.multimaint_merge = gbp.bool("multimaint-merge")?;
        }
        if self.id_length.is_none() {
            self.id_length = gbp.number("id-length")?;
        }
        for (value, option, default) in [
            (&mut self.git_author, "git-author", false),
            (&mut self.meta, "meta", true),
            (&mut self.full, "full", false),
        ] {
            if value.is_none() {
                *value = gbp.bool(option)?;
            }
            value.get_or_insert(default);
        }
        self.multimaint_merge
            .get_or_insert(DEFAULT_MULTIMAINT_MERGE);
        self.id_length.get_or_insert(DEFAULT_ID_LENGTH);
        Ok(())
    }

    /// `--multimaint-merge`, effective.
    pub fn multimaint_merge(&self) -> bool {
        self.multimaint_merge.unwrap_or(DEFAULT_MULTIMAINT_MERGE)
    }

    /// `--id-length`, effective.
    pub fn id_length(&self) -> usize {
        self.id_length.unwrap_or(DEFAULT_ID_LENGTH)
    }
}

/// `[signing]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Signing {
    /// Fingerprint of the release key (signs tags and the apt repository).
    pub release_key: String,
    /// A secret key file holding the release key; unset means the gpg-agent.
    pub key_file: Option<PathBuf>,
    /// Name of the environment variable holding the key file's passphrase.
    pub passphrase_env: Option<String>,
    /// A file holding the key file's passphrase.
    pub passphrase_file: Option<PathBuf>,
    /// The release key's public certificate, for checks that must not unlock the key
    /// (default: read from the key file or the gpg-agent's keyring).
    pub public_key: Option<PathBuf>,
    /// A keyserver speaking the VKS API (`https://keys.openpgp.org`) from which
    /// `verify-release` fetches the release key by the manifest's fingerprint, when
    /// neither `--keyring` nor `signing.public_key` names it.
    pub keyserver: Option<String>,
    /// The GnuPG home whose gpg-agent holds the key, when there is no key file
    /// (default: GnuPG's own default).
    pub gnupg_home: Option<PathBuf>,
    /// Ask for the gpg-agent key's passphrase on this terminal (loopback pinentry)
    /// instead of the agent's own pinentry, which appears where the user is
    /// (`GPG_TTY`, the terminal, `DISPLAY`/`WAYLAND_DISPLAY`).
    pub pinentry_loopback: bool,
}

impl Default for Signing {
    fn default() -> Self {
        Self {
            release_key: "C87D63FD935535CFB0CAF5C2A791358F2E49B100".into(),
            key_file: None,
            passphrase_env: None,
            passphrase_file: None,
            public_key: None,
            keyserver: None,
            gnupg_home: None,
            pinentry_loopback: false,
        }
    }
}

/// `[git]`: how pushes, remote listings and clones reach remotes. With the default
/// transport, the system's `git`, the user's own ssh and credential set-up applies and
/// these only add to it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Git {
    /// `git` (the system's, with `~/.ssh/config`, `insteadOf` and credential helpers) or
    /// `libgit2` (in-process, for a machine without git).
    #[serde(with = "TransportName")]
    pub transport: lava_git::Transport,
    /// ssh user when the remote URL names none.
    pub ssh_user: Option<String>,
    /// A private key file tried after the ssh-agent.
    pub ssh_key: Option<PathBuf>,
    /// Name of the environment variable holding that key's passphrase.
    pub ssh_key_passphrase_env: Option<String>,
    /// Name of the environment variable holding a token for https remotes.
    pub token_env: Option<String>,
}

/// [`lava_git::Transport`] as the configuration spells it.
#[derive(Deserialize, Serialize)]
#[serde(remote = "lava_git::Transport", rename_all = "lowercase")]
enum TransportName {
    Git,
    Libgit2,
}

/// `[lab]`: the device types handed over to lava-lab for review.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lab {
    /// Whether the plan has a `lab-sync` stage.
    pub enabled: bool,
    /// The lava-lab repository.
    pub url: String,
    /// Its branch the change is based on.
    pub base: String,
    /// The ref pushed for review (`git review` pushes to `refs/for/BRANCH`).
    pub push_ref: String,
    /// The device types in the LAVA repository; unset: the first of
    /// [`DEVICE_TYPE_DIRS`] that exists in the tree.
    pub source: Option<String>,
    /// Where they go in lava-lab.
    pub dest: String,
    /// The local branch in the clone; `{version}` is replaced.
    pub branch: String,
    /// The commit message; `{version}` is replaced.
    pub message: String,
}

/// Where LAVA kept its device-type templates: since 2019.09, then before.
pub const DEVICE_TYPE_DIRS: [&str; 2] = [
    "etc/dispatcher-config/device-types",
    "lava_scheduler_app/tests/device-types",
];

impl Lab {
    /// The device-type directory (relative to `workdir`) lab-sync copies: `source` when
    /// set, else the first of [`DEVICE_TYPE_DIRS`] present; an error naming what was
    /// looked for when there is none.
    pub fn device_types(&self, workdir: &Path) -> Result<String, String> {
        match &self.source {
            Some(source) if workdir.join(source).is_dir() => Ok(source.clone()),
            Some(source) => Err(format!(
                "lab.source `{source}` is not a directory in {}",
                workdir.display()
            )),
            None => DEVICE_TYPE_DIRS
                .iter()
                .find(|dir| workdir.join(dir).is_dir())
                .map(|dir| dir.to_string())
                .ok_or_else(|| {
                    format!(
                        "no device types in {}: neither {} nor {} exists; set lab.source",
                        workdir.display(),
                        DEVICE_TYPE_DIRS[0],
                        DEVICE_TYPE_DIRS[1]
                    )
                }),
        }
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self {
            enabled: true,
            url: "ssh://review.linaro.org:29418/lava/lava-lab".into(),
            base: "master".into(),
            push_ref: "refs/for/master".into(),
            source: None,
            dest: "shared/device-types".into(),
            branch: "lava-{version}-device-types".into(),
            message: "Update device types from LAVA Software {version}".into(),
        }
    }
}

/// `[gitlab]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gitlab {
    /// The GitLab instance.
    pub url: String,
    /// The project path (or numeric id).
    pub project: String,
    /// Name of the environment variable holding the API token.
    pub token_env: String,
    /// A file holding the API token.
    pub token_file: Option<PathBuf>,
    /// The token itself; prefer `token_env` or `token_file`. Never printed.
    pub token: Option<Secret>,
    /// Release even when the milestone has open merge requests or issues.
    pub allow_open: bool,
    /// Give up waiting for a pipeline after this many seconds.
    pub ci_timeout_secs: u64,
    /// First poll interval while waiting for a pipeline, in milliseconds.
    pub poll_initial_ms: u64,
    /// Longest poll interval, in milliseconds.
    pub poll_max_ms: u64,
    /// The GitLab release's title; `{version}` is replaced.
    pub release_name: String,
    /// The release manager's fork as a GitLab project (path or id): its pipeline of
    /// the `fork-ci` push is waited for. Unset: no `fork-wait-ci` stage.
    pub fork_project: Option<String>,
    /// CI jobs whose artifacts are the Debian packages (LAVA: `debian/12`, `debian/13`),
    /// downloaded by `ci-artifacts` into `repo.incoming` (in pipeline mode, by default,
    /// `.git/lava-release/VERSION-ci-artifacts/`), checked by the consistency gate and
    /// compared with what is published. Empty: no `ci-artifacts` stage.
    pub artifact_jobs: Vec<String>,
}

impl Default for Gitlab {
    fn default() -> Self {
        Self {
            url: "https://gitlab.com".into(),
            project: "lava/lava".into(),
            token_env: "GITLAB_TOKEN".into(),
            token_file: None,
            token: None,
            allow_open: false,
            ci_timeout_secs: 3 * 3600,
            poll_initial_ms: 10_000,
            poll_max_ms: 60_000,
            release_name: "LAVA {version}".into(),
            fork_project: None,
            artifact_jobs: vec!["debian/12".into(), "debian/13".into()],
        }
    }
}

/// How the apt repository gets the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoMode {
    /// LAVA today: the tag's pipeline triggers `repo.publish_project` through the bridge
    /// job `repo.publish_job`, which publishes; `apt-publish` waits for that pipeline
    /// and checks the repository at `repo.url`.
    #[default]
    Pipeline,
    /// The written process: `repo-import`, `repo-sign` and `repo-publish` on
    /// `repo.site` with reprepro.
    Reprepro,
    /// No apt repository stage (a project without one, or one published apart).
    None,
}

impl RepoMode {
    /// The name in `release.toml`.
    pub fn name(self) -> &'static str {
        match self {
            RepoMode::Pipeline => "pipeline",
            RepoMode::Reprepro => "reprepro",
            RepoMode::None => "none",
        }
    }
}

/// `[repo]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Repo {
    /// How the repository is published: `pipeline` or `reprepro`.
    pub mode: RepoMode,
    /// The suites the release is published in.
    pub suites: Vec<String>,
    /// The Debian version CI builds for each suite, from `{version}`,
    /// `{debian_version}`, `{release}` (the suite's Debian release number, 9999 for
    /// unstable, as `share/debian-dev-build.sh` numbers it) and `{suite}`. LAVA today:
    /// `{version}+{release}+{suite}`; the written process: `{debian_version}`, one upload
    /// for every suite.
    pub package_version: String,
    /// The published repository (the directory holding `dists/`) that `apt-publish`
    /// checks in pipeline mode.
    pub url: String,
    /// Pipeline mode: the tag pipeline's trigger job that publishes the repository.
    pub publish_job: String,
    /// Pipeline mode: the project whose pipeline that job starts.
    pub publish_project: String,
    /// Reprepro mode: the publishing site, a local directory or
    /// `ssh://[user@]host[:port]/path` holding the reprepro base, the kept trees and
    /// the live symlink.
    pub site: Option<String>,
    /// The directory of built `.changes` files and their files, on the machine holding
    /// the site (a path on the server for an `ssh://` site).
    pub incoming: Option<PathBuf>,
    /// An `ssh_config` used instead of the user's (`ssh -F`) for an `ssh://` site.
    pub ssh_config: Option<PathBuf>,
    /// The source package the release uploads.
    pub source: String,
    /// The reprepro base directory inside the site, imported into and signed.
    pub current: String,
    /// The live symlink inside the site, which the web server serves.
    pub live: String,
    /// Where published trees are kept inside the site, one directory per version.
    pub archive: String,
}

impl Default for Repo {
    fn default() -> Self {
        Self {
            mode: RepoMode::Pipeline,
            suites: vec!["bookworm".into(), "trixie".into()],
            package_version: "{version}+{release}+{suite}".into(),
            url: "https://apt.lavasoftware.org/release".into(),
            publish_job: "publish-packages/release".into(),
            publish_project: "lava/lava-apt-repo".into(),
            site: None,
            incoming: None,
            ssh_config: None,
            source: "lava".into(),
            current: "current-release".into(),
            live: "release".into(),
            archive: "archive".into(),
        }
    }
}

/// How per-arch images travel to the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DockerTransport {
    /// Registry to registry through the HTTP API; no daemon, digests preserved.
    #[default]
    Registry,
    /// Pull, tag and push through the local Docker Engine, which keeps the images.
    Engine,
}

/// `[docker]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Docker {
    /// Whether the release promotes images at all (`docker-publish`).
    pub enabled: bool,
    /// Image names.
    pub images: Vec<String>,
    /// Architectures.
    pub arches: Vec<String>,
    /// Where CI pushed each image; `{arch}`, `{image}`, `{version}` are replaced.
    pub source: String,
    /// Per-arch target repository.
    pub target: String,
    /// Multi-arch manifest list repository.
    pub list: String,
    /// Also move `latest`, after the version tags verify.
    pub latest: bool,
    /// `registry` (default) or `engine`.
    pub transport: DockerTransport,
    /// The Docker Engine's socket, for the `engine` transport.
    pub socket: PathBuf,
    /// The Docker client configuration with the credentials (`auths`, credential
    /// helpers); default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Registries spoken to over plain HTTP (loopback ones always are).
    pub plain_http: Vec<String>,
    /// Blobs copied at once.
    pub concurrency: usize,
    /// The file in each image that holds the version, read from its layers by the
    /// consistency gate when the image has no `org.opencontainers.image.version` label
    /// (LAVA's Dockerfiles write it; they set no label).
    pub version_file: String,
}

impl Default for Docker {
    fn default() -> Self {
        Self {
            enabled: true,
            images: vec!["lava-dispatcher".into(), "lava-server".into()],
            arches: vec!["amd64".into(), "aarch64".into()],
            source: "registry.gitlab.com/lava/lava/{arch}/{image}:{version}".into(),
            target: "lavasoftware/{arch}-{image}".into(),
            list: "lavasoftware/{image}".into(),
            latest: true,
            transport: DockerTransport::Registry,
            socket: PathBuf::from("/var/run/docker.sock"),
            docker_config: None,
            plain_http: Vec::new(),
            concurrency: 4,
            version_file: "/usr/lib/python3/dist-packages/lava_common/VERSION".into(),
        }
    }
}

impl Docker {
    /// The image templates, for lava-docker to expand.
    pub fn images_config(&self) -> lava_docker::ImagesConfig {
        lava_docker::ImagesConfig {
            images: self.images.clone(),
            arches: self.arches.clone(),
            source: self.source.clone(),
            target: self.target.clone(),
            list: self.list.clone(),
            latest: self.latest,
        }
    }
}

/// `[debian]`: the local dev build and the source-only upload to Debian.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Debian {
    /// Whether the plan has a `dev-build` stage (after `local-tag`).
    pub dev_build: bool,
    /// The dev build command, run with `sh -c` at the top of the worktree on the
    /// release commit; `{version}`, `{debian_version}` and `{tag}` are replaced (also
    /// in the environment as `LAVA_RELEASE_VERSION`, `LAVA_RELEASE_DEBIAN_VERSION`,
    /// `LAVA_RELEASE_TAG`), `{suite}` by `dev_build_suite` and `{output}` by the stage's
    /// scratch directory, `.git/lava-release/VERSION-dev-build/`. The default is LAVA's
    /// developer build script, as the written process says.
    pub builder: String,
    /// The suite the dev build targets (`{suite}`).
    pub dev_build_suite: String,
    /// How the Debian package is made: `dget` (the released source fetched from the
    /// release repository and signed) or `gbp` (the written process's "Debian uploads":
    /// the tag's tarball imported with `gbp import-orig` into the packaging repository,
    /// built, signed, tagged and pushed by the Debian Developer).
    pub flow: DebianFlow,
    /// The packaging repository's remote (`gbp` flow): where `debian-push` pushes the
    /// Debian and upstream branches, pristine-tar and the two tags, and where the
    /// packaging repository is cloned from when `packaging_dir` is unset.
    pub packaging_remote: Option<String>,
    /// The Debian Developer's own checkout of the packaging repository (`gbp` flow);
    /// unset: a clone kept in `.git/lava-release/debian/packaging/`.
    pub packaging_dir: Option<PathBuf>,
    /// The upstream tarball's URL (`gbp` flow); `{version}` and `{tag}` are replaced.
    /// Unset: GitLab's archive of the tag, `GET /projects/:id/repository/archive.tar.gz?sha=TAG`.
    pub archive_url: Option<String>,
    /// `gbp buildpackage --git-builder=…` of `debian-build` (`gbp` flow).
    pub package_builder: String,
    /// Whether sbuild runs lintian; `false` passes `--no-run-lintian` to an sbuild builder.
    pub lintian: bool,
    /// The quilt mode of a tag2upload tag (`gbp` for LAVA's DEP-14 layout); unset: the
    /// mode of the newest earlier tag2upload tag on the Debian branch, as `git debpush`.
    pub quilt: Option<String>,
    /// The `git debpush` checks `debian-tag2upload` skips (`run --force=CHECK` adds one).
    pub force: Vec<String>,
    /// Where the signed upload goes: `dput:PROFILE`, `sftp://[user@]host[:port]/dir`
    /// or a directory. Unset: no `debian-upload` stage.
    pub upload: Option<String>,
    /// The released repository the source is fetched from (the URL of the directory
    /// holding `dists/`).
    pub repository: String,
    /// The suite whose `Sources` index is searched.
    pub suite: String,
    /// The component whose `Sources` index is searched.
    pub component: String,
    /// The source package's version in that repository; `{version}` and
    /// `{debian_version}` are replaced.
    pub source_version: String,
    /// The `.dsc` URL, instead of looking it up in the repository; `{version}`,
    /// `{debian_version}` are replaced.
    pub dsc_url: Option<String>,
    /// Accept a `.dsc` that is unsigned or not signed by the expected key.
    pub allow_unsigned: bool,
    /// The certificate the `.dsc` must be signed with (default: the release key's).
    pub dsc_keyring: Option<PathBuf>,
    /// Whether the upload carries the orig tarball: `auto` (as `dpkg-genchanges`
    /// decides), `include` (`-sa`) or `exclude` (`-sd`).
    pub orig: OrigChoice,
    /// Fingerprint of the Debian Developer's key that signs the upload.
    pub key: Option<String>,
    /// A secret key file holding it; unset means the gpg-agent (smartcards included).
    pub key_file: Option<PathBuf>,
    /// Name of the environment variable holding the key file's passphrase.
    pub passphrase_env: Option<String>,
    /// A file holding the key file's passphrase.
    pub passphrase_file: Option<PathBuf>,
    /// The GnuPG home whose gpg-agent holds the key.
    pub gnupg_home: Option<PathBuf>,
    /// An `ssh_config` for an `sftp://` upload (`sftp -F`).
    pub ssh_config: Option<PathBuf>,
    /// A `dput.cf` for a `dput:` upload (`dput -c`).
    pub dput_config: Option<PathBuf>,
    /// Freezes of the target distribution: uploading during one needs `--yes`.
    pub freeze: Vec<Freeze>,
    /// Parallel downloads of the source package's files.
    pub jobs: usize,
}

/// `flow` of `[debian]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DebianFlow {
    /// `debian-upload` fetches the released source with dget and signs it.
    #[default]
    Dget,
    /// The git-buildpackage stages, from `upstream-tarball` to `debian-push`.
    Gbp,
    /// The gbp flow's `upstream-tarball`, `import-orig` and `debian-changelog`, then one
    /// signed tag for Debian's tag2upload service (`debian-tag2upload`).
    Tag2upload,
}

impl DebianFlow {
    /// Whether the flow imports the tag's tarball into the packaging repository.
    pub fn imports(self) -> bool {
        matches!(self, DebianFlow::Gbp | DebianFlow::Tag2upload)
    }

    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            DebianFlow::Dget => "dget",
            DebianFlow::Gbp => "gbp",
            DebianFlow::Tag2upload => "tag2upload",
        }
    }
}

/// `orig` of `[debian]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrigChoice {
    /// As `dpkg-genchanges` decides: when the upstream version is new.
    #[default]
    Auto,
    /// Always (`-sa`).
    Include,
    /// Never (`-sd`).
    Exclude,
}

/// One `[[debian.freeze]]`: a distribution frozen between two dates (inclusive).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    /// The frozen distribution as `Distribution:` names it, e.g. `unstable`.
    pub distribution: String,
    /// First frozen day, `YYYY-MM-DD`.
    pub from: String,
    /// Last frozen day, `YYYY-MM-DD`; unset: until further notice.
    pub until: Option<String>,
    /// What the freeze is, e.g. `trixie hard freeze`.
    #[serde(default)]
    pub name: String,
}

impl Debian {
    /// The Debian Developer's key as a [`Signing`] section, if `key` is set.
    pub fn signing(&self) -> Option<Signing> {
        Some(Signing {
            release_key: self.key.clone()?,
            key_file: self.key_file.clone(),
            passphrase_env: self.passphrase_env.clone(),
            passphrase_file: self.passphrase_file.clone(),
            public_key: None,
            keyserver: None,
            gnupg_home: self.gnupg_home.clone(),
            // The Debian Developer's agent asks through its own pinentry.
            pinentry_loopback: false,
        })
    }
}

impl Default for Debian {
    fn default() -> Self {
        Self {
            dev_build: false,
            builder: "./share/debian-dev-build.sh -o {output} -s {suite}".into(),
            dev_build_suite: "unstable".into(),
            flow: DebianFlow::Dget,
            packaging_remote: None,
            packaging_dir: None,
            archive_url: None,
            package_builder: "sbuild -s".into(),
            lintian: true,
            quilt: None,
            force: Vec::new(),
            upload: None,
            repository: "https://apt.lavasoftware.org/release".into(),
            suite: "bookworm".into(),
            component: "main".into(),
            source_version: "{debian_version}".into(),
            dsc_url: None,
            allow_unsigned: false,
            dsc_keyring: None,
            orig: OrigChoice::Auto,
            key: None,
            key_file: None,
            passphrase_env: None,
            passphrase_file: None,
            gnupg_home: None,
            ssh_config: None,
            dput_config: None,
            freeze: Vec::new(),
            jobs: 4,
        }
    }
}

/// How the announcement's SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// A plain connection upgraded with STARTTLS, which the server must offer.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No TLS: only for a relay on this host; no password is ever sent over it.
    None,
}

/// `[announce]`: the release mail to the announcement list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Announce {
    /// Whether the release is announced at all (the `announce` stage also needs `smtp`).
    pub enabled: bool,
    /// The list the announcement goes to.
    pub to: String,
    /// The sender, `Name <address>` (default: DEBFULLNAME and DEBEMAIL, else git's
    /// user, as the changelog trailer).
    pub from: Option<String>,
    /// The subject; `{version}` is replaced.
    pub subject: String,
    /// The body; `{version}`, `{debian_version}`, `{previous}`, `{release_url}`,
    /// `{notes}` (the changelog entry) and `{commits}` (`git log --oneline` since the
    /// previous release) are replaced.
    pub body: String,
    /// The SMTP server, `smtp://HOST[:PORT]` (port 587, STARTTLS) or
    /// `smtps://HOST[:PORT]` (port 465, TLS). Unset: no `announce` stage.
    pub smtp: Option<String>,
    /// `starttls`, `tls` or `none`; default from the URL's scheme.
    pub tls: Option<SmtpTls>,
    /// The SMTP user; the password comes from `password_env`, `password_file` or
    /// `smtp_password`.
    pub username: Option<String>,
    /// Name of the environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// A file holding the SMTP password.
    pub password_file: Option<PathBuf>,
    /// The SMTP password itself; prefer `password_env` or `password_file`. Never printed.
    pub smtp_password: Option<Secret>,
    /// A PEM certificate trusted besides the system's (a private CA, a test server).
    pub ca_file: Option<PathBuf>,
    /// Sign the mail as PGP/MIME with the release key.
    pub sign: bool,
    /// Give up on a silent SMTP server after this many seconds.
    pub timeout_secs: u64,
}

impl Default for Announce {
    fn default() -> Self {
        Self {
            enabled: true,
            to: "lava-announce@lists.lavasoftware.org".into(),
            from: None,
            subject: "LAVA Software {version} release".into(),
            body: DEFAULT_ANNOUNCE_BODY.into(),
            smtp: None,
            tls: None,
            username: None,
            password_env: None,
            password_file: None,
            smtp_password: None,
            ca_file: None,
            sign: false,
            timeout_secs: 60,
        }
    }
}

/// The announcement LAVA sends, with the placeholders of [`Announce::body`].
const DEFAULT_ANNOUNCE_BODY: &str = "Hello,

LAVA Software {version} is released.

The Debian packages ({debian_version}) are in the LAVA apt repository,
https://apt.lavasoftware.org/release, and the Docker images on Docker Hub,
lavasoftware/lava-dispatcher:{version} and lavasoftware/lava-server:{version}.
The release on GitLab: {release_url}

{notes}

Changes since {previous}:

{commits}
Thanks to everyone who contributed.

-- 
The LAVA team
";

/// A secret value: its `Debug` and its serialised form are `<redacted>`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// The placeholders of `announce.subject` and `announce.body`.
pub const ANNOUNCE_PLACEHOLDERS: &[&str] = &[
    "version",
    "debian_version",
    "previous",
    "release_url",
    "notes",
    "commits",
];

/// The first `{name}` in `template` that is not one of `known`: a word in braces, so
/// that braces in prose (`{ }`, JSON) and a shell's `${NAME}` are left alone.
fn unknown_placeholder<'t>(template: &'t str, known: &[&str]) -> Option<&'t str> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let name = &after[..close];
        let shell = rest[..open].ends_with('$');
        let word = !shell
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if word && !known.contains(&name) {
            return Some(name);
        }
        rest = &after[close + 1..];
    }
    None
}

/// Each configured path of `paths` (its key, its value) that does not exist, in one
/// sentence: what a stage reads must be there before the first stage runs.
pub fn missing_paths(paths: &[(&str, Option<&PathBuf>)]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|&(key, path)| {
            let path = path?;
            (!path.exists()).then(|| format!("{key} {} does not exist", path.display()))
        })
        .collect()
}

/// A TOML error in `path` as one sentence: toml's message spans several lines with a
/// source excerpt; its first line names the key.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let first = e
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .to_owned();
    let at = e
        .span()
        .map(|span| {
            let line = text[..span.start].matches('\n').count() + 1;
            format!(" (line {line})")
        })
        .unwrap_or_default();
    anyhow::anyhow!("configuration file {}{at}: {first}", path.display())
}

/// The project's configuration file at the top of the repository.
pub const CONFIG_FILE: &str = "release.toml";

/// Where the configuration came from, for `lava-release config` and messages: the
/// files read over the defaults, lowest precedence first, and which file set each key.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The personal file, then the project's, those that exist.
    pub files: Vec<PathBuf>,
    /// `section.key` to the file that set it (or, for gbp's options, the gbp.conf).
    pub origins: BTreeMap<String, PathBuf>,
}

impl Source {
    /// "configuration file F", "configuration files F and G", or "the built-in
    /// configuration", for a message about the configuration as a whole.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        match names.as_slice() {
            [] => "the built-in configuration".into(),
            [one] => format!("configuration file {one}"),
            [first @ .., last] => format!("configuration files {} and {last}", first.join(", ")),
        }
    }
}

/// The person's own configuration, under the project's in precedence:
/// `$XDG_CONFIG_HOME/lava-release/config.toml`, else `~/.config/lava-release/config.toml`.
pub fn personal_file(env: &crate::env::Env) -> Option<PathBuf> {
    let base = match (env.var("XDG_CONFIG_HOME"), env.var("HOME")) {
        (Some(xdg), _) => PathBuf::from(xdg),
        (None, Some(home)) => Path::new(home).join(".config"),
        (None, None) => return None,
    };
    Some(base.join("lava-release").join("config.toml"))
}

/// Lays `layer` over `merged`: tables key by key, any other value whole; records in
/// `origins` which keys `file` set, under `prefix`.
fn overlay(
    merged: &mut toml::Table,
    layer: toml::Table,
    prefix: &str,
    file: &Path,
    origins: &mut BTreeMap<String, PathBuf>,
) {
    for (key, value) in layer {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (merged.get_mut(&key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => {
                overlay(below, above, &path, file, origins);
            }
            (_, toml::Value::Table(above)) => {
                let mut table = toml::Table::new();
                overlay(&mut table, above, &path, file, origins);
                merged.insert(key, toml::Value::Table(table));
            }
            (_, value) => {
                origins.insert(path, file.to_owned());
                merged.insert(key, value);
            }
        }
    }
}

impl Config {
    /// Reads `path` (which must exist) over the defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        Self::from_toml(&text).map_err(|e| toml_error(path, &text, &e))
    }

    /// Parses a configuration file's text over the defaults.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Finds the mistakes that would stop a release halfway, before it starts: a value
    /// a stage needs that is missing, or one that cannot be what it names. The message
    /// names the key.
    pub fn validate(&self) -> Result<(), String> {
        let signing = &self.signing;
        if let Err(e) = signing.release_key.parse::<lava_signing::KeySelector>() {
            return Err(format!("signing.release_key: {e}"));
        }
        let site = self.repo.site.as_deref().filter(|s| !s.is_empty());
        match (self.repo.mode, site) {
            (RepoMode::Reprepro, None) => {
                return Err(
                    "repo.mode is reprepro but repo.site is not set; name the reprepro site".into(),
                );
            }
            (RepoMode::Reprepro, Some(site)) => {
                lava_repo_sign::Location::parse(site).map_err(|e| format!("repo.site: {e}"))?;
                if self.repo.incoming.is_none() {
                    return Err(
                        "repo.site is set but repo.incoming is not; name the directory of the built .changes files"
                            .into(),
                    );
                }
            }
            (mode @ (RepoMode::Pipeline | RepoMode::None), Some(_)) => {
                return Err(format!(
                    "repo.site is set but repo.mode is {}; set repo.mode = \"reprepro\" to publish with reprepro",
                    mode.name()
                ));
            }
            (RepoMode::None, None) => {}
            (RepoMode::Pipeline, None) => {
                if self.repo.publish_job.trim().is_empty() {
                    return Err("repo.publish_job is empty; name the tag pipeline's trigger job that publishes the repository".into());
                }
                if !(self.repo.url.starts_with("https://") || self.repo.url.starts_with("http://"))
                {
                    return Err(format!(
                        "repo.url `{}` is not an http:// or https:// URL",
                        self.repo.url
                    ));
                }
            }
        }
        const VERSION: &[&str] = &["version"];
        const DEBIAN: &[&str] = &["version", "debian_version", "tag"];
        const BUILDER: &[&str] = &["version", "debian_version", "tag", "suite", "output"];
        let debian = &self.debian;
        let templates = [
            (
                "project.commit_message",
                Some(&self.project.commit_message),
                VERSION,
            ),
            (
                "project.tag_message",
                Some(&self.project.tag_message),
                VERSION,
            ),
            (
                "changelog.first_bullet",
                Some(&self.changelog.first_bullet),
                VERSION,
            ),
            (
                "gitlab.release_name",
                Some(&self.gitlab.release_name),
                VERSION,
            ),
            ("lab.branch", Some(&self.lab.branch), VERSION),
            ("lab.message", Some(&self.lab.message), VERSION),
            ("debian.builder", Some(&debian.builder), BUILDER),
            (
                "debian.source_version",
                Some(&debian.source_version),
                DEBIAN,
            ),
            ("debian.dsc_url", debian.dsc_url.as_ref(), DEBIAN),
            ("debian.archive_url", debian.archive_url.as_ref(), DEBIAN),
            (
                "announce.subject",
                Some(&self.announce.subject),
                ANNOUNCE_PLACEHOLDERS,
            ),
            (
                "announce.body",
                Some(&self.announce.body),
                ANNOUNCE_PLACEHOLDERS,
            ),
        ];
        for (key, template, known) in templates {
            if let Some(name) = template.and_then(|t| unknown_placeholder(t, known)) {
                return Err(format!(
                    "{key} names the unknown placeholder {{{name}}}; use {}",
                    known
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if debian.flow.imports() {
            let flow = debian.flow.name();
            if debian.packaging_remote.is_none() {
                return Err(format!(
                    "debian.flow = \"{flow}\" needs debian.packaging_remote, the packaging repository's remote"
                ));
            }
            if debian.key.is_none() {
                return Err(format!(
                    "debian.flow = \"{flow}\" needs debian.key, the Debian Developer's key that signs the Debian tag"
                ));
            }
        }
        if let Some(quilt) = &debian.quilt {
            if !lava_debian::tag2upload::QUILT_MODES.contains(&quilt.as_str()) {
                return Err(format!(
                    "debian.quilt `{quilt}` is not a quilt mode tag2upload knows ({})",
                    lava_debian::tag2upload::QUILT_MODES.join(", ")
                ));
            }
        }
        if self.docker.enabled {
            self.docker
                .images_config()
                .expand("2024.01")
                .map_err(|e| format!("[docker]: {e}"))?;
        }
        for (key, value) in [
            ("gitlab.ci_timeout_secs", self.gitlab.ci_timeout_secs),
            ("gitlab.poll_initial_ms", self.gitlab.poll_initial_ms),
            ("announce.timeout_secs", self.announce.timeout_secs),
        ] {
            if value == 0 {
                return Err(format!("{key} is 0; give a number above zero"));
            }
        }
        if self.gitlab.poll_max_ms < self.gitlab.poll_initial_ms {
            return Err(format!(
                "gitlab.poll_max_ms ({}) is below gitlab.poll_initial_ms ({}); the longest wait between polls cannot be shorter than the first",
                self.gitlab.poll_max_ms, self.gitlab.poll_initial_ms
            ));
        }
        crate::packages::package_versions(
            &self.repo.package_version,
            &self.repo.suites,
            "2024.01",
            "2024.01-1",
        )?;
        if self.project.branch.trim().is_empty() {
            return Err("project.branch is empty; name the release branch".into());
        }
        Ok(())
    }

    /// Finds and reads the configuration: the personal file `personal` if it exists,
    /// under the project's: `explicit` if given (it must exist), else `release.toml` at
    /// the top of the repository if present. Each file must be a valid configuration on
    /// its own; a key the project's file sets wins.
    pub fn discover(
        explicit: Option<&Path>,
        workdir: &Path,
        personal: Option<&Path>,
    ) -> anyhow::Result<(Self, Source)> {
        let mut files = Vec::new();
        if let Some(personal) = personal.filter(|p| p.is_file()) {
            files.push(personal.to_owned());
        }
        match explicit {
            Some(path) => files.push(path.to_owned()),
            None => {
                let candidate = workdir.join(CONFIG_FILE);
                if candidate.is_file() {
                    files.push(candidate);
                }
            }
        }
        let mut merged = toml::Table::new();
        let mut origins = BTreeMap::new();
        for file in &files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read configuration file {}", file.display()))?;
            Self::from_toml(&text).map_err(|e| toml_error(file, &text, &e))?;
            let table: toml::Table = toml::from_str(&text)
                .with_context(|| format!("configuration file {} is not TOML", file.display()))?;
            overlay(&mut merged, table, "", file, &mut origins);
        }
        let source = Source { files, origins };
        let config = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| {
                anyhow::anyhow!("{}: {}", source.describe(), e.message())
            })?;
        Ok((config, source))
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the configuration is plain data that TOML can represent")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_describe_lava() {
        let c = Config::default();
        assert_eq!(c.gitlab.project, "lava/lava");
        assert_eq!(
            c.signing.release_key,
            "C87D63FD935535CFB0CAF5C2A791358F2E49B100"
        );
        assert_eq!(c.docker.images, ["lava-dispatcher", "lava-server"]);
        assert_eq!(c.docker.arches, ["amd64", "aarch64"]);
        assert_eq!(c.repo.suites, ["bookworm", "trixie"]);
        assert_eq!(c.announce.to, "lava-announce@lists.lavasoftware.org");
    }

    #[test]
    fn file_overrides_only_what_it_names() {
        let c = Config::from_toml("[changelog]\nstyle = \"oneline\"\n").unwrap();
        assert_eq!(c.changelog.style, ChangelogStyle::Oneline);
        assert_eq!(c.changelog.urgency, "medium");
        let c = Config::from_toml("[changelog]\nstyle = \"git-log\"\n").unwrap();
        assert_eq!(c.changelog.style, ChangelogStyle::GitLog);
    }

    #[test]
    fn device_types_are_where_the_tree_has_them() {
        let dir = tempfile::tempdir().unwrap();
        let lab = Lab::default();
        assert_eq!(
            lab.device_types(dir.path()).unwrap_err(),
            format!(
                "no device types in {}: neither etc/dispatcher-config/device-types nor lava_scheduler_app/tests/device-types exists; set lab.source",
                dir.path().display()
            )
        );
        std::fs::create_dir_all(dir.path().join(DEVICE_TYPE_DIRS[1])).unwrap();
        assert_eq!(lab.device_types(dir.path()).unwrap(), DEVICE_TYPE_DIRS[1]);
        std::fs::create_dir_all(dir.path().join(DEVICE_TYPE_DIRS[0])).unwrap();
        assert_eq!(lab.device_types(dir.path()).unwrap(), DEVICE_TYPE_DIRS[0]);
        let explicit = Lab {
            source: Some("share/device-types".into()),
            ..Lab::default()
        };
        assert_eq!(
            explicit.device_types(dir.path()).unwrap_err(),
            format!(
                "lab.source `share/device-types` is not a directory in {}",
                dir.path().display()
            )
        );
    }

    #[test]
    fn gbp_options_come_from_release_toml_then_gbp_conf_then_lava() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gbp.conf");
        std::fs::write(&file, "[dch]\nmultimaint-merge = False\nid-length = 7\n").unwrap();
        let gbp = crate::gbp_conf::GbpConf::read(std::slice::from_ref(&file), "dch").unwrap();

        let mut c = Config::from_toml("[changelog]\nid_length = 12\n").unwrap();
        c.changelog.resolve_gbp(&gbp).unwrap();
        assert_eq!(
            (c.changelog.multimaint_merge(), c.changelog.id_length()),
            (false, 12)
        );

        let mut c = Config::default();
        c.changelog
            .resolve_gbp(&crate::gbp_conf::GbpConf::default())
            .unwrap();
        assert_eq!(c.changelog.multimaint_merge, Some(true));
        assert_eq!(c.changelog.id_length, Some(9));
        assert!(c.to_toml().contains("multimaint_merge = true"));
    }

    #[test]
    fn announce_templates_name_only_known_placeholders() {
        let known = ANNOUNCE_PLACEHOLDERS;
        assert_eq!(
            unknown_placeholder("LAVA {version} {notes} { }", known),
            None
        );
        assert_eq!(
            unknown_placeholder("{\"json\": 1} {codename} {version}", known),
            Some("codename")
        );
        let c = Config::from_toml("[announce]\nbody = \"{commit}\"\n").unwrap();
        assert!(
            c.validate().unwrap_err().starts_with(
                "announce.body names the unknown placeholder {commit}; use {version}, "
            )
        );
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn the_debian_flows_name_what_they_lack() {
        let validate = |toml: &str| Config::from_toml(toml).unwrap().validate();
        assert_eq!(
            validate("[debian]\nflow = \"gbp\"\n").unwrap_err(),
            "debian.flow = \"gbp\" needs debian.packaging_remote, the packaging repository's remote"
        );
        assert_eq!(
            validate("[debian]\nflow = \"tag2upload\"\npackaging_remote = \"r\"\n").unwrap_err(),
            "debian.flow = \"tag2upload\" needs debian.key, the Debian Developer's key that signs the Debian tag"
        );
        assert_eq!(
            validate("[debian]\nquilt = \"quilty\"\n").unwrap_err(),
            "debian.quilt `quilty` is not a quilt mode tag2upload knows (linear, auto, smash, nofix, gbp, dpm, unapplied, baredebian)"
        );
        assert_eq!(
            validate(
                "[debian]\nflow = \"tag2upload\"\npackaging_remote = \"r\"\nkey = \"F\"\nquilt = \"gbp\"\n"
            ),
            Ok(())
        );
        assert!(Config::from_toml("[debian]\nflow = \"dput\"\n").is_err());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("[gitlab]\nprojet = \"x\"\n").unwrap_err();
        assert!(
            err.message().contains("unknown field `projet`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config::from_toml("[gitlab]\ntoken = \"glpat-very-secret\"\n").unwrap();
        assert!(!c.to_toml().contains("very-secret"));
        assert!(!format!("{c:?}").contains("very-secret"));
        assert_eq!(
            c.gitlab.token.as_ref().unwrap().expose(),
            "glpat-very-secret"
        );
    }
}
