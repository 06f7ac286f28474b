//! Repositories built in code, and the `git` CLI to compare with.
//!
//! Every git command runs with a private HOME and no system or global configuration, and
//! the repositories are opened with `Repository::open_isolated`, so the developer's
//! settings (core.abbrev, identity) cannot make the two sides differ.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NAME: &str = "Rel Ease";
pub const EMAIL: &str = "release@example.org";
/// 2024-01-01T00:00:00Z.
pub const EPOCH: i64 = 1_704_067_200;

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    home: PathBuf,
}

impl Fixture {
    /// An empty repository on branch `main` with user.name/user.email in its config.
    pub fn new() -> Self {
        let fixture = Self::bare_init();
        fixture.git(&["config", "user.name", NAME]);
        fixture.git(&["config", "user.email", EMAIL]);
        fixture
    }

    /// An empty repository on branch `main` without any identity configured.
    pub fn without_identity() -> Self {
        Self::bare_init()
    }

    /// A shallow clone of `origin` (`git clone --depth`).
    pub fn shallow_clone(origin: &Fixture, depth: usize) -> Self {
        let fixture = Self::empty();
        let url = format!("file://{}", origin.path.display());
        fixture.git(&[
            "clone",
            "-q",
            "--no-single-branch",
            "--depth",
            &depth.to_string(),
            &url,
            ".",
        ]);
        fixture
    }

    fn bare_init() -> Self {
        let fixture = Self::empty();
        fixture.git(&["init", "-q", "-b", "main"]);
        fixture
    }

    fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        let path = dir.path().join("repo");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&path).expect("repo dir");
        Self {
            _dir: dir,
            path,
            home,
        }
    }

    /// A `git` command in this repository with an isolated environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.path)
            .args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.join("gitconfig"))
            .env("GIT_AUTHOR_NAME", NAME)
            .env("GIT_AUTHOR_EMAIL", EMAIL)
            .env("GIT_COMMITTER_NAME", NAME)
            .env("GIT_COMMITTER_EMAIL", EMAIL)
            .env("GIT_AUTHOR_DATE", format!("@{EPOCH} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{EPOCH} +0000"))
            .env("LC_ALL", "C")
            .env("TZ", "UTC");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_CONFIG_COUNT",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn output(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        tests::tools::output(&mut self.command(args), stdin)
            .expect("git is installed (the tests compare with it)")
    }

    /// Runs git, asserting success; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.output(args, None);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs git; `None` when it fails.
    pub fn git_maybe(&self, args: &[&str]) -> Option<String> {
        let out = self.output(args, None);
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).expect("utf-8 output"))
    }

    pub fn fast_import(&self, stream: &str) {
        let out = self.output(
            &["fast-import", "--quiet", "--force"],
            Some(stream.as_bytes()),
        );
        assert!(
            out.status.success(),
            "fast-import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, content).expect("write file");
    }

    /// Commits everything in the working tree at `EPOCH + seconds`.
    pub fn commit_all(&self, message: &str, seconds: i64) -> String {
        self.git(&["add", "-A"]);
        let date = format!("@{} +0000", EPOCH + seconds);
        let out = self
            .command(&["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git commit");
        assert!(
            out.status.success(),
            "commit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn open(&self) -> lava_git::Repository {
        lava_git::Repository::open_isolated(&self.path).expect("open the fixture")
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so that generated
/// histories are the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Files of a commit: path → (mode, content).
pub type Files = BTreeMap<String, (&'static str, String)>;

/// Builds a `git fast-import` stream commit by commit, with every tree given in full
/// (`deleteall` then every file), so merges can take any combination of their parents.
#[derive(Default)]
pub struct History {
    pub stream: String,
    /// Per mark: the files of that commit.
    pub trees: Vec<Files>,
    /// Per mark: the branch tip it was committed on.
    pub tips: BTreeMap<String, usize>,
}

impl History {
    /// Appends a commit on `branch` with `parents` (marks; the first is `from`) and
    /// returns its mark. Marks are 1-based indices into `trees`.
    pub fn commit(
        &mut self,
        branch: &str,
        parents: &[usize],
        files: Files,
        author: (&str, &str),
        seconds: i64,
        message: &str,
    ) -> usize {
        let mark = self.trees.len() + 1;
        let s = &mut self.stream;
        writeln!(s, "commit refs/heads/{branch}\nmark :{mark}").expect("string");
        writeln!(
            s,
            "author {} <{}> {} +0000",
            author.0,
            author.1,
            EPOCH + seconds
        )
        .expect("string");
        writeln!(s, "committer {NAME} <{EMAIL}> {} +0000", EPOCH + seconds).expect("string");
        writeln!(s, "data {}\n{message}", message.len()).expect("string");
        match parents.split_first() {
            Some((first, rest)) => {
                writeln!(s, "from :{first}").expect("string");
                for p in rest {
                    writeln!(s, "merge :{p}").expect("string");
                }
            }
            // A root commit on a branch that may already exist.
            None => writeln!(s, "from 0000000000000000000000000000000000000000").expect("string"),
        }
        writeln!(s, "deleteall").expect("string");
        for (path, (mode, content)) in &files {
            writeln!(
                s,
                "M {mode} inline {path}\ndata {}\n{content}",
                content.len()
            )
            .expect("string");
        }
        s.push('\n');
        self.trees.push(files);
        self.tips.insert(branch.to_owned(), mark);
        mark
    }

    /// An annotated tag on `mark`.
    pub fn tag(&mut self, name: &str, mark: usize, seconds: i64) {
        let message = format!("release {name}\n");
        write!(
            self.stream,
            "tag {name}\nfrom :{mark}\ntagger {NAME} <{EMAIL}> {} +0000\ndata {}\n{message}\n",
            EPOCH + seconds,
            message.len()
        )
        .expect("string");
    }

    /// A lightweight tag on `mark`.
    pub fn lightweight(&mut self, name: &str, mark: usize) {
        writeln!(self.stream, "reset refs/tags/{name}\nfrom :{mark}\n").expect("string");
    }

    /// Ends the stream with an export of the marks, read back as full ids.
    pub fn import(&mut self, fixture: &Fixture) -> Vec<String> {
        let marks = fixture.path.join(".git/marks");
        let stream = std::mem::take(&mut self.stream);
        let out = fixture.output(
            &[
                "fast-import",
                "--quiet",
                "--force",
                &format!("--export-marks={}", marks.display()),
            ],
            Some(stream.as_bytes()),
        );
        assert!(
            out.status.success(),
            "fast-import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&marks).expect("marks file");
        let mut ids = vec![String::new(); self.trees.len() + 1];
        for line in text.lines() {
            let (mark, id) = line.split_once(' ').expect("`:mark id` lines");
            let mark: usize = mark.trim_start_matches(':').parse().expect("numeric mark");
            if mark < ids.len() {
                ids[mark] = id.to_owned();
            }
        }
        ids
    }
}

/// Checks out `main` into the working tree after a fast-import.
pub fn checkout(fixture: &Fixture, rev: &str) {
    fixture.git(&["checkout", "-q", "-f", rev]);
}

pub fn repo_path(fixture: &Fixture) -> &Path {
    &fixture.path
}
