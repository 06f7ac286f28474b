//! Real git repositories for tests, built with the git CLI, and the reference tools
//! the changelog is compared with.
//!
//! A [`GitRepo`] lives in a temporary directory and starts as a LAVA-like Debian
//! source: `debian/changelog` with a released `lava (2024.01-1) unstable` entry,
//! `debian/control` and `debian/source/format`. Every commit gets pinned author and
//! committer dates that advance by a minute, so ids are stable from run to run.
//! Git never reads the user's or the system's configuration.
//!
//! The oracles run the real tools on a clone: [`gbp_dch`] is `gbp dch` as LAVA's
//! release script ran it, plus the release manager's first bullet typed in the
//! editor; [`oneline_pipeline`] is `git log --oneline` wrapped by `fmt`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{require, run};

/// 2024-02-01T00:00:00Z: the first pinned commit date.
const EPOCH: i64 = 1_706_745_600;

/// The source package name the fixtures use.
pub const SOURCE: &str = "lava";
/// The version of the released entry the fixture's changelog starts with.
pub const PREVIOUS_VERSION: &str = "2024.01-1";

/// Someone who writes commits (or signs the changelog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    /// Full name.
    pub name: &'static str,
    /// E-mail address.
    pub email: &'static str,
}

/// The release manager: the trailer's identity, DEBFULLNAME/DEBEMAIL and git's user.
pub const RM: Person = Person {
    name: "Rita Manager",
    email: "rita@lavasoftware.example",
};
/// An author with a plain ASCII name.
pub const ANN: Person = Person {
    name: "Ann Author",
    email: "ann@example.org",
};
/// Another ASCII author.
pub const BOB: Person = Person {
    name: "Bob Builder",
    email: "bob@example.org",
};
/// An author with a non-ASCII name.
pub const REMI: Person = Person {
    name: "Rémi Duraffort",
    email: "remi@example.org",
};
/// The same person as [`REMI`], spelled without the accent and with another address.
pub const REMI_ASCII: Person = Person {
    name: "Remi Duraffort",
    email: "remi.duraffort@example.com",
};

/// The previous, released changelog every fixture starts with.
pub fn initial_changelog() -> String {
    format!(
        "{SOURCE} ({PREVIOUS_VERSION}) unstable; urgency=medium\n\n  * LAVA Software 2024.01 release\n\n -- {} <{}>  Wed, 31 Jan 2024 10:00:00 +0000\n",
        RM.name, RM.email
    )
}

const CONTROL: &str = "Source: lava\nSection: net\nPriority: optional\nMaintainer: Rita Manager <rita@lavasoftware.example>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n\nPackage: lava\nArchitecture: all\nDescription: Linaro Automated Validation Architecture\n LAVA fixture for tests.\n";

/// Environment that keeps git (and gbp, debchange) away from the user's and the
/// system's configuration and pins the locale and time zone.
fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("EMAIL")
        .env_remove("DEBEMAIL")
        .env_remove("DEBFULLNAME")
        .env_remove("NAME")
        .stdin(Stdio::null());
}

/// A git repository in a temporary directory.
pub struct GitRepo {
    dir: tempfile::TempDir,
    /// Commits made so far; each one is a minute after the previous.
    ticks: i64,
}

impl GitRepo {
    /// A repository on branch `main` whose first commit adds the Debian packaging
    /// with the released 2024.01-1 entry.
    pub fn new() -> Self {
        require("git", "git");
        let dir = tempfile::Builder::new()
            .prefix("lava-release-repo")
            .tempdir()
            .expect("can create a temporary directory");
        std::fs::create_dir(dir.path().join("home")).expect("can create the fake HOME");
        let mut repo = Self { dir, ticks: 0 };
        repo.git(&["init", "--quiet", "--initial-branch=main", "work"]);
        repo.git(&["config", "user.name", RM.name]);
        repo.git(&["config", "user.email", RM.email]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["config", "tag.gpgsign", "false"]);
        repo.commit_files(
            RM,
            "Initial packaging\n",
            &[
                ("debian/changelog", &initial_changelog()),
                ("debian/control", CONTROL),
                ("debian/source/format", "3.0 (quilt)\n"),
                ("README.md", "LAVA\n"),
            ],
        );
        repo
    }

    /// The working tree.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A scratch directory next to the working tree, for clones and scripts.
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("scratch");
        std::fs::create_dir_all(&path).expect("can create the scratch directory");
        path
    }

    /// `git ARGS` in the working tree (or, for `init`, its parent); returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        let cwd = if args.first() == Some(&"init") {
            self.dir.path().to_owned()
        } else {
            self.path()
        };
        cmd.args(args).current_dir(cwd);
        isolate(&mut cmd, &self.home());
        String::from_utf8(run(&mut cmd).stdout).expect("git prints UTF-8 here")
    }

    /// The next pinned date, as git's `@seconds +0000`.
    fn tick(&mut self) -> String {
        self.ticks += 1;
        format!("@{} +0000", EPOCH + 60 * self.ticks)
    }

    /// Writes `files` (relative paths, whole contents), stages them and commits as
    /// `author` with `message` verbatim. Returns the commit id.
    pub fn commit_files(
        &mut self,
        author: Person,
        message: &str,
        files: &[(&str, &str)],
    ) -> String {
        for (path, contents) in files {
            let path = self.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a file has a parent"))
                .expect("can create the file's directory");
            std::fs::write(&path, contents)
                .unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
            self.git(&[
                "add",
                "--",
                path.to_str().expect("temporary paths are UTF-8"),
            ]);
        }
        let date = self.tick();
        let mut cmd = Command::new("git");
        cmd.args([
            "commit",
            "--quiet",
            "--allow-empty",
            "--cleanup=verbatim",
            "--file=-",
        ])
        .current_dir(self.path());
        isolate(&mut cmd, &self.home());
        cmd.env("GIT_AUTHOR_NAME", author.name)
            .env("GIT_AUTHOR_EMAIL", author.email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", RM.name)
            .env("GIT_COMMITTER_EMAIL", RM.email)
            .env("GIT_COMMITTER_DATE", &date)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("git commit starts");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin is piped");
            stdin
                .write_all(message.as_bytes())
                .expect("git reads the message");
        }
        let out = child.wait_with_output().expect("git commit runs");
        assert!(
            out.status.success(),
            "git commit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.head()
    }

    /// Commits a change to `path` (a new line appended) as `author`.
    pub fn commit(&mut self, author: Person, message: &str, path: &str) -> String {
        let full = self.path().join(path);
        let mut contents = std::fs::read_to_string(&full).unwrap_or_default();
        contents.push_str(&format!("change {}\n", self.ticks + 1));
        self.commit_files(author, message, &[(path, &contents)])
    }

    /// The id HEAD points at.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Creates branch `name` at HEAD and switches to it.
    pub fn branch(&self, name: &str) {
        self.git(&["checkout", "--quiet", "-b", name]);
    }

    /// Switches to branch `name`.
    pub fn checkout(&self, name: &str) {
        self.git(&["checkout", "--quiet", name]);
    }

    /// `git merge --no-ff BRANCH` on the current branch, committed by the release
    /// manager with a pinned date.
    pub fn merge_no_ff(&mut self, branch: &str) -> String {
        let date = self.tick();
        let mut cmd = Command::new("git");
        cmd.args(["merge", "--quiet", "--no-ff", "--no-edit", branch])
            .current_dir(self.path());
        isolate(&mut cmd, &self.home());
        cmd.env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        run(&mut cmd);
        self.head()
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// A copy of the repository (tags included) in `dest`, for tools that edit the
    /// working tree.
    pub fn clone_to(&self, dest: &Path) {
        let mut cmd = Command::new("git");
        cmd.arg("clone").arg("--quiet").arg(self.path()).arg(dest);
        isolate(&mut cmd, &self.home());
        run(&mut cmd);
        // The clone's user is this repository's (the release manager unless a test
        // says otherwise), as `gbp dch --git-author` reads it.
        let name = self.git(&["config", "user.name"]);
        let email = self.git(&["config", "user.email"]);
        for (key, value) in [
            ("user.name", name.trim()),
            ("user.email", email.trim()),
            ("commit.gpgsign", "false"),
        ] {
            let mut cmd = Command::new("git");
            cmd.args(["config", key, value]).current_dir(dest);
            isolate(&mut cmd, &self.home());
            run(&mut cmd);
        }
    }

    /// The commit `gbp dch` starts after when not given `--since`: the Debian tag
    /// of the top version if there is one, else the last commit touching the
    /// changelog (`guess_documented_commit`).
    pub fn gbp_since(&self) -> String {
        let tag = format!("refs/tags/debian/{PREVIOUS_VERSION}^{{commit}}");
        let mut cmd = Command::new("git");
        cmd.args(["rev-parse", "--quiet", "--verify", &tag])
            .current_dir(self.path());
        isolate(&mut cmd, &self.home());
        let out = cmd.output().expect("git rev-parse runs");
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        self.git(&["log", "-1", "--format=%H", "--", "debian/changelog"])
            .trim()
            .to_owned()
    }

    /// `git log --no-merges SINCE..HEAD [-- PATHS]` as lava-changelog commits, in
    /// git's order (newest first). Ids, authors and raw messages come from git itself.
    pub fn log(&self, since: &str, paths: &[&str]) -> Vec<lava_changelog::Commit> {
        let range = format!("{since}..HEAD");
        let mut args = vec![
            "log",
            "-z",
            "--no-merges",
            "--format=%H%x00%h%x00%an%x00%ae%x00%B",
            &range,
        ];
        if !paths.is_empty() {
            args.push("--");
            args.extend(paths);
        }
        let out = self.git(&args);
        // `-z` ends each record with NUL: five fields, NUL-separated, per commit.
        let fields: Vec<&str> = out.split('\0').collect();
        fields
            .chunks(5)
            .filter(|c| c.len() == 5)
            .map(|c| lava_changelog::Commit {
                id: c[0].to_owned(),
                short_id: c[1].to_owned(),
                author_name: c[2].to_owned(),
                author_email: c[3].to_owned(),
                message: c[4].to_owned(),
            })
            .collect()
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// What the release manager does besides running the tool.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--since` (gbp) or the range start (oneline); `None` lets the tool decide.
    pub since: Option<String>,
    /// `--multimaint-merge`.
    pub multimaint_merge: bool,
    /// The bullet typed first in the editor; `None` leaves gbp's text alone.
    pub first_bullet: Option<String>,
    /// The whole Debian version, when not `VERSION-1`.
    pub debian_version: Option<String>,
}

impl RunOptions {
    /// The Debian version of the entry for `version`.
    pub fn debian_version(&self, version: &str) -> String {
        self.debian_version
            .clone()
            .unwrap_or_else(|| format!("{version}-1"))
    }
}

/// The top entry of changelog `text`: up to and including its trailer line.
pub fn top_entry(text: &str) -> String {
    let mut entry = String::new();
    for line in text.split_inclusive('\n') {
        entry.push_str(line);
        if line.starts_with(" -- ") {
            break;
        }
    }
    entry
}

/// `entry` with the trailer's date replaced by `DATE`, for comparing entries made
/// at different times.
pub fn mask_date(entry: &str) -> String {
    entry
        .split_inclusive('\n')
        .map(|line| match (line.starts_with(" -- "), line.find(">  ")) {
            (true, Some(i)) => format!("{}DATE\n", &line[..i + 3]),
            _ => line.to_owned(),
        })
        .collect()
}

/// Runs the real `gbp dch --git-author --new-version=VERSION-1 --id-length=9
/// --ignore-branch --release [--multimaint-merge] [--since=X] debian` on a clone of
/// `repo` as the release manager, with an editor that does what LAVA's release manager
/// does there: types `  * FIRST_BULLET` and a blank line at the top of the new entry,
/// and deletes gbp's placeholder bullet `  * UNRELEASED` (with its blank line) when
/// gbp found nothing to list. Returns the new top entry.
pub fn gbp_dch(repo: &GitRepo, version: &str, opts: &RunOptions) -> String {
    require("gbp", "git-buildpackage");
    require("debchange", "devscripts");
    let scratch = tempfile::tempdir_in(repo.scratch()).expect("can create a scratch directory");
    let clone = scratch.path().join("clone");
    repo.clone_to(&clone);

    let editor = scratch.path().join("editor");
    // sensible-editor runs `$VISUAL debian/changelog`. Line 2 is the blank line
    // after the header; the bullet comes from the environment so awk does not
    // interpret escapes in it. Only the new entry (before its trailer) is edited.
    std::fs::write(
        &editor,
        "#!/bin/sh\nset -e\nawk 'NR == 2 { print; print \"  * \" ENVIRON[\"LAVA_RM_BULLET\"]; print \"\"; next }\n !done && $0 == \"  * UNRELEASED\" { skip = 1; next }\n skip && $0 == \"\" { skip = 0; next }\n /^ -- / { done = 1 }\n { skip = 0; print }' \"$1\" > \"$1.rm\"\nmv \"$1.rm\" \"$1\"\n",
    )
    .expect("can write the editor script");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755))
            .expect("can make the editor executable");
    }

    let mut cmd = Command::new("gbp");
    cmd.current_dir(&clone).arg("dch").args([
        "--git-author".to_owned(),
        format!("--new-version={}", opts.debian_version(version)),
        "--id-length=9".to_owned(),
        "--ignore-branch".to_owned(),
        "--release".to_owned(),
    ]);
    if opts.multimaint_merge {
        cmd.arg("--multimaint-merge");
    }
    if let Some(since) = &opts.since {
        cmd.arg(format!("--since={since}"));
    }
    match &opts.first_bullet {
        Some(bullet) => {
            cmd.arg("--spawn-editor=always")
                .env("LAVA_RM_BULLET", bullet);
        }
        None => {
            cmd.arg("--spawn-editor=never");
        }
    }
    cmd.arg("debian");
    isolate(&mut cmd, &repo.home());
    let editor: OsString = editor.into_os_string();
    cmd.env("VISUAL", &editor)
        .env("EDITOR", &editor)
        .env("DEBFULLNAME", RM.name)
        .env("DEBEMAIL", RM.email)
        .env("EMAIL", RM.email);
    run(&mut cmd);
    let text = std::fs::read_to_string(clone.join("debian/changelog"))
        .expect("gbp leaves a readable debian/changelog");
    top_entry(&text)
}

/// The `oneline` style by the real tools: LAVA's `do-debian-release` pipeline,
/// `git log --no-merges --oneline $SINCE..HEAD | awk '{printf("ZZZZ%s\n", $0)}' |
/// fmt -s -w 71 -u | awk '/^ZZZZ/ {...} {...}'`, under the message bullet and inside the
/// entry's header and trailer. `since` is expanded unquoted, as the script expanded
/// `-t`, so `^X TAG` works.
pub fn oneline_pipeline(
    repo: &GitRepo,
    version: &str,
    since: &str,
    message: Option<&str>,
) -> String {
    require("fmt", "coreutils");
    let script = r#"set -e
if [ -n "$MESSAGE" ]; then printf '  * %s\n' "$MESSAGE"; fi
git log --no-merges --oneline $SINCE..HEAD | \
    awk '{printf("ZZZZ%s\n", $0)}' | \
    fmt -s -w 71 -u | \
    awk '/^ZZZZ/ { gsub("^ZZZZ","    "); print $0; next};
                 { printf("              %s\n",$0);}'
"#;
    flat_entry(repo, version, script, since, message)
}

/// The `git-log` style by the real tools: `git log --no-merges --oneline --reverse
/// $SINCE..HEAD` (without `--reverse` when `newest_first`), each line indented by 4.
pub fn git_log_pipeline(
    repo: &GitRepo,
    version: &str,
    since: &str,
    message: Option<&str>,
    newest_first: bool,
) -> String {
    let reverse = if newest_first { "" } else { "--reverse" };
    let script = format!(
        "set -e\nif [ -n \"$MESSAGE\" ]; then printf '  * %s\\n' \"$MESSAGE\"; fi\ngit log --no-merges --oneline {reverse} $SINCE..HEAD | sed 's/^/    /'\n"
    );
    flat_entry(repo, version, &script, since, message)
}

/// Runs `script` (which prints the bullets) in `repo` and wraps its output in the
/// entry's header and trailer.
fn flat_entry(
    repo: &GitRepo,
    version: &str,
    script: &str,
    since: &str,
    message: Option<&str>,
) -> String {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).current_dir(repo.path());
    isolate(&mut cmd, &repo.home());
    cmd.env("SINCE", since)
        .env("MESSAGE", message.unwrap_or(""));
    let bullets = String::from_utf8(run(&mut cmd).stdout).expect("the pipeline prints UTF-8");
    format!(
        "{SOURCE} ({version}-1) unstable; urgency=medium\n\n{bullets}\n -- {} <{}>  DATE\n",
        RM.name, RM.email
    )
}

/// The `lava-release` binary: `LAVA_RELEASE_BIN` if set, else the workspace's
/// `target/debug/lava-release` (or under `CARGO_TARGET_DIR`), built by cargo once.
pub fn lava_release_bin() -> PathBuf {
    crate::bin::lava_release_bin()
}

/// Runs `lava-release -C REPO changelog --version VERSION --style STYLE [--since X]
/// [--debian-version V] --[no-]multimaint-merge` as the release manager and returns
/// what it prints.
pub fn lava_release_changelog(
    repo: &GitRepo,
    version: &str,
    style: &str,
    opts: &RunOptions,
) -> String {
    lava_release_changelog_with(repo, version, style, opts, &[])
}

/// [`lava_release_changelog`] with more arguments.
pub fn lava_release_changelog_with(
    repo: &GitRepo,
    version: &str,
    style: &str,
    opts: &RunOptions,
    extra: &[&str],
) -> String {
    let mut cmd = Command::new(lava_release_bin());
    cmd.arg("-C")
        .arg(repo.path())
        .args(["changelog", "--version", version, "--style", style]);
    if let Some(since) = &opts.since {
        cmd.args(["--since", since]);
    }
    if let Some(debian_version) = &opts.debian_version {
        cmd.args(["--debian-version", debian_version]);
    }
    cmd.arg(match opts.multimaint_merge {
        true => "--multimaint-merge",
        false => "--no-multimaint-merge",
    });
    cmd.args(extra);
    isolate(&mut cmd, &repo.home());
    cmd.env("DEBFULLNAME", RM.name).env("DEBEMAIL", RM.email);
    String::from_utf8(run(&mut cmd).stdout).expect("lava-release prints UTF-8")
}

/// Fixture histories for the changelog tests. Each starts from [`GitRepo::new`].
pub mod scenario {
    use super::{ANN, BOB, GitRepo, PREVIOUS_VERSION, REMI, REMI_ASCII, RM};

    /// Many authors (one non-ASCII, one person under two spellings) alternating,
    /// a `--no-ff` merge of a side branch, a two-line first paragraph, a subject
    /// longer than 80 characters, every meta tag gbp knows, and commits outside
    /// `debian/`. No Debian tag: gbp starts after the initial packaging commit,
    /// the last one touching debian/changelog.
    pub fn mixed() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(
            ANN,
            "Add a udev rule for the dispatcher\n",
            "debian/lava-dispatcher.udev",
        );
        repo.commit(
            BOB,
            "lava-server: fix the scheduler loop\n",
            "lava_server/scheduler.py",
        );
        repo.commit(
            REMI,
            "Update the packaging for\nthe new dispatcher layout\n\nThe dispatcher moved to lava_dispatcher/; follow it.\n",
            "debian/control",
        );
        repo.commit(
            REMI_ASCII,
            "Make the lava-server postinst idempotent when the database already exists and was created by hand\n",
            "debian/lava-server.postinst",
        );
        repo.commit(
            ANN,
            "Tidy the lintian overrides\n",
            "debian/lava-server.lintian-overrides",
        );
        repo.commit(
            BOB,
            "Drop the obsolete doc-base file\n",
            "debian/lava-server-doc.doc-base",
        );
        repo.commit(ANN, "Depend on python3-jinja2\n", "debian/control");

        repo.branch("feature");
        repo.commit(
            BOB,
            "Install the new templates\n",
            "debian/lava-server.install",
        );
        repo.commit(
            REMI,
            "Ship the worker service\n",
            "debian/lava-worker.service",
        );
        repo.commit(
            BOB,
            "Template tweaks outside packaging\n",
            "lava_server/templates/base.html",
        );
        repo.checkout("main");
        repo.commit(RM, "Bump Standards-Version to 4.6.2\n", "debian/control");
        repo.merge_no_ff("feature");

        repo.commit(
            ANN,
            "Fix the lava-server postinst\n\nIt failed on a fresh install.\n\nCloses: #123456\nLP: #456789\nThanks: Someone Helpful\n",
            "debian/lava-server.postinst",
        );
        repo.commit(
            BOB,
            "Internal cleanup\n\nNothing users would notice.\n\nGbp-Dch: Ignore\n",
            "debian/rules",
        );
        repo.commit(
            REMI,
            "Rework the init scripts\n\nThe old scripts were racy.\n\n  - start after the network\n  - stop before it\n\nGbp-Dch: Full\n",
            "debian/lava-server.init",
        );
        repo.commit(
            BOB,
            "Tweak the watch file\n\nA body gbp leaves out.\n\nGbp-Dch: Short\n",
            "debian/watch",
        );
        repo.commit(
            REMI,
            "Document the worker in README.Debian\n\ncloses: #999, #1000\nFixes a long standing confusion.\nGbp-Dch: Full\n",
            "debian/README.Debian",
        );
        repo.commit(ANN, "Update the README\n", "README.md");
        repo.commit(RM, "Refresh debian/copyright\n", "debian/copyright");
        repo
    }

    /// The previous release is tagged `debian/2024.01-1` (on the initial commit);
    /// after it, a commit fixes a typo in debian/changelog, then others follow. gbp
    /// starts at the tag, so the changelog commit is in the range.
    pub fn tagged() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.tag(&format!("debian/{PREVIOUS_VERSION}"));
        repo.commit(ANN, "Add the worker package\n", "debian/control");
        let text = std::fs::read_to_string(repo.path().join("debian/changelog"))
            .expect("the fixture has a changelog");
        repo.commit_files(
            BOB,
            "Fix a typo in the 2024.01 changelog entry\n",
            &[(
                "debian/changelog",
                &text.replace("LAVA Software", "LAVA software"),
            )],
        );
        repo.commit(REMI, "Recommend ser2net\n", "debian/control");
        repo.commit(ANN, "Not packaging\n", "lava_common/version.py");
        repo
    }

    /// No Debian tag; debian/ changes before and after a commit that touches
    /// debian/changelog. gbp starts after that commit.
    pub fn untagged() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(ANN, "Before the changelog commit\n", "debian/control");
        let text = std::fs::read_to_string(repo.path().join("debian/changelog"))
            .expect("the fixture has a changelog");
        repo.commit_files(
            RM,
            "Fix a typo in the 2024.01 changelog entry\n",
            &[(
                "debian/changelog",
                &text.replace("LAVA Software", "LAVA software"),
            )],
        );
        repo.commit(BOB, "After the changelog commit\n", "debian/rules");
        repo.commit(REMI, "Also after it\n", "debian/control");
        repo
    }

    /// The corners of gbp's message formatting and debchange's block detection: bug
    /// notes too long for the line, repeated and differently-cased keys, several
    /// `Thanks:`, first-line full stops, leading blank lines and CRLF in messages, a
    /// `Gbp-Dch: Full` body line that looks like an author block, and one that names
    /// an upload target.
    pub fn message_corners() -> GitRepo {
        let mut repo = GitRepo::new();
        let long = "Make sure that the subject of this commit is long enough to push the note";
        repo.commit(ANN, &format!("{long}\n\nCloses: #1234567\n"), "debian/a");
        repo.commit(
            BOB,
            "Several bugs\n\nCloses: #1\ncloses: #2, #3\nCloses: bug #4\nLP: 5 and bug 6\nThanks: First\nthanks:  Second Person \n",
            "debian/b",
        );
        repo.commit(
            REMI,
            "Ends with a full stop.\n\nBody Line\nGbp-Dch: Full\n",
            "debian/c",
        );
        repo.commit(
            ANN,
            "Continues below\n\nlower-case body line\nGit-Dch: Full\n",
            "debian/d",
        );
        repo.commit(
            BOB,
            "\n  \nAfter blank lines   \nand a second line\n\nbody\n",
            "debian/e",
        );
        repo.commit(
            REMI,
            "CRLF message\r\n\r\nFirst body line\r\nGbp-Dch: Full\r\n",
            "debian/f",
        );
        repo.commit(
            ANN,
            "Looks like a block\n\n[ Bob Builder ]\nGbp-Dch: Full\n",
            "debian/g",
        );
        repo.commit(BOB, "Bob after the look-alike block\n", "debian/h");
        repo.commit(ANN, "Back to Ann\n", "debian/i");
        repo.commit(
            REMI,
            "Names a target\n\n  * Upload to experimental.\nGbp-Dch: Full\n",
            "debian/j",
        );
        repo
    }

    /// Commits, but none under `debian/`: gbp's range is empty.
    pub fn nothing_under_debian() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(ANN, "lava-server: fix a typo\n", "lava_server/views.py");
        repo.commit(
            BOB,
            "lava-dispatcher: new device type\n",
            "lava_dispatcher/devices.py",
        );
        repo
    }

    /// No commit at all after the previous release.
    pub fn no_commits() -> GitRepo {
        GitRepo::new()
    }

    /// Only ignored commits: gbp still opens the section with its dummy bullet.
    pub fn only_ignored() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(ANN, "Cleanup\n\nGbp-Dch: Ignore\n", "debian/rules");
        repo
    }

    /// Every commit by one author who is not the release manager.
    pub fn single_author() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(REMI, "First change\n", "debian/control");
        repo.commit(REMI, "Second change\n", "debian/rules");
        repo
    }

    /// Every commit by the release manager: no `[ Author ]` block at all.
    pub fn release_manager_only() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(RM, "First change\n", "debian/control");
        repo.commit(RM, "Second change\n", "debian/rules");
        repo
    }

    /// The release manager first, then others, then the release manager again.
    pub fn release_manager_first() -> GitRepo {
        let mut repo = GitRepo::new();
        repo.commit(RM, "Start the cycle\n", "debian/control");
        repo.commit(ANN, "A contribution\n", "debian/rules");
        repo.commit(REMI, "Another one\n", "debian/rules");
        repo.commit(RM, "Wrap up\n", "debian/control");
        repo.commit(ANN, "A late one\n", "debian/rules");
        repo
    }
}
