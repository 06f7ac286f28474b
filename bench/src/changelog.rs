//! The changelog benchmark: `git log --no-merges -- debian` over a release's range of a
//! 100,000-commit history, against `lava-release changelog` (and the library calls it
//! makes, in process) and `gbp dch`, the tool LAVA used to write that entry.
//!
//! The fixture is shaped like LAVA's history: merge requests of four commits merged with
//! `--no-ff`, 200 authors, every tenth commit touching `debian/`, a release merge tagged
//! (annotated) every 5,000 commits and preceded by its `debian/changelog` entry. It is
//! streamed into `git fast-import`, then repacked (`repack -adf`, git's default window
//! and depth) the way a clone's pack is, and written once to
//! `$CARGO_TARGET_DIR/bench-fixtures/changelog-100k`.
//!
//! Commit-graph: `git gc` writes one by default since git 2.24 (gc.writeCommitGraph), but
//! a fresh clone has none until gc runs. The fixture keeps one and the benchmark times
//! both states by moving `objects/info/commit-graph` aside; both tools read it when
//! present.

use super::median;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// Commits in the fixture; a tag every `RELEASE_EVERY`.
const COMMITS: usize = 100_000;
const RELEASE_EVERY: usize = 5_000;
const AUTHORS: usize = 200;
/// Merge requests are four commits and a merge.
const MR: usize = 5;
/// 2001-01-01T00:00:00Z, and ten minutes between commits.
const T0: i64 = 978_307_200;
const STEP: i64 = 600;
/// Bump when the fixture's shape changes, so cached copies are regenerated.
const FIXTURE_VERSION: &str = "1";

const TARGET_VS_GIT: f64 = 1.5;
const TARGET_VS_GBP: f64 = 500.0;
const TARGET_RSS_KIB: u64 = 64 * 1024;

struct Options {
    iterations: usize,
    skip_gbp: bool,
    regenerate: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        iterations: 15,
        skip_gbp: false,
        regenerate: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iterations" => {
                let n = args.next().context("--iterations needs a number")?;
                options.iterations = n
                    .parse()
                    .with_context(|| format!("--iterations {n}: not a number"))?;
                ensure!(options.iterations > 0, "--iterations must be at least 1");
            }
            "--skip-gbp" => options.skip_gbp = true,
            "--regenerate" => options.regenerate = true,
            other => bail!(
                "unknown option `{other}`; usage: cargo xtask bench changelog [--iterations N] [--skip-gbp] [--regenerate]"
            ),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let fixture = ::tests::bin::target_dir()
        .join("bench-fixtures")
        .join("changelog-100k");
    // Written last by `generate`: a fixture without it (or of another shape) is redone.
    let version = std::fs::read_to_string(fixture.join(".git/bench-fixture-version")).ok();
    if options.regenerate || version.as_deref() != Some(FIXTURE_VERSION) {
        generate(&fixture)?;
    }
    restore_commit_graph(&fixture)?;

    // The release build of the CLI; while it does not build, the in-process row stands in.
    let cli = match crate::run(crate::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "lava-release-cli",
    ])) {
        Ok(()) => Some(
            ::tests::bin::target_dir()
                .join("release")
                .join("lava-release"),
        ),
        Err(e) => {
            eprintln!(
                "warning: lava-release does not build ({e:#}); timing the in-process calls only"
            );
            None
        }
    };

    let tags = git_lines(
        &fixture,
        &[
            "for-each-ref",
            "--sort=-creatordate",
            "--format=%(refname:short)",
            "refs/tags",
        ],
    )?;
    let [last, previous, ..] = tags.as_slice() else {
        bail!("the fixture should have release tags")
    };
    let root = git_lines(&fixture, &["rev-list", "--max-parents=0", "HEAD"])?;
    let root = root
        .first()
        .context("the fixture has a root commit")?
        .clone();
    let next = next_version(last)?;
    let range_commits = git_lines(
        &fixture,
        &["rev-list", "--count", &format!("{previous}..{last}")],
    )?;

    println!(
        "changelog benchmark: {COMMITS} commits, range {previous}..{last} ({} commits), next release {next}, {} iteration(s), median",
        range_commits.first().map_or("?", String::as_str),
        options.iterations
    );
    let mut failures = Vec::new();
    let mut gbp_ms = None;
    if !options.skip_gbp {
        gbp_ms = Some(time_gbp(&fixture, previous)?);
    }
    for graph in [true, false] {
        set_commit_graph(&fixture, graph)?;
        let label = if graph {
            "with commit-graph"
        } else {
            "without commit-graph"
        };
        println!("\n{label}:");
        let release = Scenario {
            fixture: &fixture,
            since: previous,
            version: &next,
            cli: cli.as_deref(),
        };
        let rows = release.measure(options.iterations)?;
        print_table(&rows, gbp_ms);
        failures.extend(check_targets(
            &rows,
            gbp_ms,
            &format!("release range, {label}"),
        ));

        let whole = Scenario {
            fixture: &fixture,
            since: &root,
            version: &next,
            cli: cli.as_deref(),
        };
        println!("  whole history ({root:.10}..HEAD):");
        let rows = whole.measure(options.iterations.min(5))?;
        print_table(&rows, None);
        for row in &rows {
            if let Some(rss) = row.rss_kib
                && row.is_ours
                && rss > TARGET_RSS_KIB
            {
                failures.push(format!(
                    "whole history, {label}: {} peaks at {} MiB",
                    row.name,
                    rss / 1024
                ));
            }
        }
    }
    restore_commit_graph(&fixture)?;
    if let Some(bin) = cli.as_deref() {
        for (label, since) in [
            ("release range", previous.as_str()),
            ("whole history", &root),
        ] {
            oneline_side_by_side(&fixture, since, &next, bin, options.iterations, label)?;
        }
    }
    if let Some(ms) = gbp_ms {
        println!("\ngbp dch --since={previous}: {ms:.0} ms (one run)");
    }
    if failures.is_empty() {
        println!(
            "\nall targets met: ≤ {TARGET_VS_GIT}x git log, ≥ {TARGET_VS_GBP}x faster than gbp dch, peak RSS < 64 MiB"
        );
        Ok(())
    } else {
        bail!("targets missed:\n  {}", failures.join("\n  "))
    }
}

struct Row {
    name: String,
    median: Duration,
    rss_kib: Option<u64>,
    is_git: bool,
    is_ours: bool,
    /// Lines of output (for the CLI: of the rendered entry), to check the tools agree.
    lines: usize,
}

struct Scenario<'a> {
    fixture: &'a Path,
    since: &'a str,
    version: &'a str,
    cli: Option<&'a Path>,
}

impl Scenario<'_> {
    fn git_log(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(self.fixture).args([
            "log",
            "--no-merges",
            "--format=%h %an %s",
            &format!("{}..HEAD", self.since),
            "--",
            "debian",
        ]);
        cmd
    }

    fn cli(&self, bin: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.arg("-C")
            .arg(self.fixture)
            .args([
                "changelog",
                "--version",
                self.version,
                "--since",
                self.since,
                "--style",
                "gbp",
            ])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("DEBFULLNAME", "Bench Mark")
            .env("DEBEMAIL", "bench@example.org");
        cmd
    }

    fn measure(&self, iterations: usize) -> anyhow::Result<Vec<Row>> {
        let mut git = Vec::new();
        let mut ours = Vec::new();
        let mut inproc = Vec::new();
        let (mut git_lines, mut our_lines, mut inproc_commits) = (0, 0, 0);
        // One untimed round first, so every tool starts with a warm page cache.
        for i in 0..=iterations {
            let (t, lines) = time_command(&mut self.git_log())?;
            git_lines = lines;
            if i > 0 {
                git.push(t);
            }
            if let Some(bin) = self.cli {
                let (t, lines) = time_command(&mut self.cli(bin))?;
                our_lines = lines;
                if i > 0 {
                    ours.push(t);
                }
            }
            let start = Instant::now();
            inproc_commits = in_process(self.fixture, self.since, self.version)?;
            if i > 0 {
                inproc.push(start.elapsed());
            }
        }
        ensure!(
            inproc_commits == git_lines,
            "lava_git::log listed {inproc_commits} commits where git log lists {git_lines}"
        );
        let mut rows = vec![Row {
            name: "git log --no-merges --format='%h %an %s' A..B -- debian".into(),
            median: median(&mut git),
            rss_kib: peak_rss(&mut self.git_log())?,
            is_git: true,
            is_ours: false,
            lines: git_lines,
        }];
        if let Some(bin) = self.cli {
            rows.push(Row {
                name: "lava-release changelog --style gbp --since A".into(),
                median: median(&mut ours),
                rss_kib: peak_rss(&mut self.cli(bin))?,
                is_git: false,
                is_ours: true,
                lines: our_lines,
            });
        }
        rows.push(Row {
            name: if cfg!(debug_assertions) {
                "in process (bench's dev build): open + log + render".into()
            } else {
                "in process: Repository::open + log + render".into()
            },
            median: median(&mut inproc),
            rss_kib: None,
            is_git: false,
            is_ours: false,
            lines: inproc_commits,
        });
        Ok(rows)
    }
}

/// LAVA's `do-debian-release` pipeline, the reference of the `oneline` style.
const DO_DEBIAN_RELEASE: &str = r#"git log --no-merges --oneline "$SINCE..HEAD" |
    awk '{printf("ZZZZ%s\n", $0)}' | fmt -s -w 71 -u |
    awk '/^ZZZZ/ { gsub("^ZZZZ","    "); print $0; next};
                 { printf("              %s\n",$0);}'"#;

/// `lava-release changelog --style oneline` beside the shell pipeline it reproduces, on
/// the same range: medians, the ratio, and a check that the lines are the same.
fn oneline_side_by_side(
    fixture: &Path,
    since: &str,
    version: &str,
    bin: &Path,
    iterations: usize,
    label: &str,
) -> anyhow::Result<()> {
    let pipeline = || {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(DO_DEBIAN_RELEASE)
            .current_dir(fixture)
            .env("SINCE", since)
            .env("LC_ALL", "C.UTF-8");
        cmd
    };
    let ours = || {
        let mut cmd = Command::new(bin);
        cmd.arg("-C")
            .arg(fixture)
            .args(["changelog", "--version", version, "--since", since])
            .args(["--style", "oneline"])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("DEBFULLNAME", "Bench Mark")
            .env("DEBEMAIL", "bench@example.org");
        cmd
    };
    let theirs_out = crate::output(&mut pipeline())?;
    let ours_out = crate::output(&mut ours())?;
    // The entry is header, blank, release bullet, the pipeline's lines, blank, trailer.
    let entry: Vec<&str> = ours_out.lines().collect();
    let body = entry
        .get(3..entry.len().saturating_sub(2))
        .unwrap_or_default();
    ensure!(
        body.iter().copied().eq(theirs_out.lines()),
        "{label}: the oneline entry's lines differ from the do-debian-release pipeline's"
    );
    let (mut t_pipe, mut t_ours) = (Vec::new(), Vec::new());
    for i in 0..=iterations.min(10) {
        let (a, _) = time_command(&mut pipeline())?;
        let (b, _) = time_command(&mut ours())?;
        if i > 0 {
            t_pipe.push(a);
            t_ours.push(b);
        }
    }
    let (pipe, ours) = (ms(median(&mut t_pipe)), ms(median(&mut t_ours)));
    println!(
        "\noneline style, {label} ({since:.10}..HEAD, {} lines): git log | awk | fmt | awk {pipe:.1} ms, lava-release --style oneline {ours:.1} ms: {:.2}x",
        body.len(),
        ours / pipe
    );
    Ok(())
}

/// What `lava-release changelog` does with the repository, minus process start-up and
/// reading the configuration: returns how many commits the entry lists.
fn in_process(fixture: &Path, since: &str, version: &str) -> anyhow::Result<usize> {
    let repo = lava_git::Repository::open(fixture)?;
    let since = repo
        .resolve_commit(since)?
        .with_context(|| format!("{since} does not resolve"))?;
    let commits = repo.log(&lava_git::LogQuery {
        since: Some(since),
        exclude: Vec::new(),
        until: "HEAD".into(),
        paths: vec!["debian".into()],
        no_merges: true,
    })?;
    let commits: Vec<lava_changelog::Commit> = commits
        .into_iter()
        .map(|c| lava_changelog::Commit {
            id: c.id,
            short_id: c.short_id,
            author_name: c.author_name,
            author_email: c.author_email,
            message: c.message,
        })
        .collect();
    let header = lava_changelog::Header {
        source: "lava".into(),
        version: format!("{version}-1"),
        distribution: "unstable".into(),
        urgency: "medium".into(),
    };
    let trailer = lava_changelog::Trailer {
        name: "Bench Mark".into(),
        email: "bench@example.org".into(),
        date: time::OffsetDateTime::UNIX_EPOCH,
    };
    let entry = lava_changelog::Entry {
        header: &header,
        commits: &commits,
        trailer: &trailer,
    };
    let text = lava_changelog::render(
        &entry,
        lava_changelog::Style::Gbp,
        &lava_changelog::Options::default(),
    );
    std::hint::black_box(text);
    Ok(commits.len())
}

fn time_command(cmd: &mut Command) -> anyhow::Result<(Duration, usize)> {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let elapsed = start.elapsed();
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((elapsed, out.stdout.iter().filter(|&&b| b == b'\n').count()))
}

/// Peak resident set of one run, from `/usr/bin/time -f %M` (Debian package `time`).
fn peak_rss(cmd: &mut Command) -> anyhow::Result<Option<u64>> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return Ok(None);
    }
    let report = tempfile_path("rss");
    let mut wrapped = Command::new(time);
    wrapped
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    let out = wrapped
        .stdin(Stdio::null())
        .output()
        .context("cannot run /usr/bin/time")?;
    ensure!(
        out.status.success(),
        "{wrapped:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).context("/usr/bin/time wrote no report")?;
    std::fs::remove_file(&report).ok();
    Ok(text
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok()))
}

fn tempfile_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lava-release-bench-{what}-{}", std::process::id()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_table(rows: &[Row], gbp_ms: Option<f64>) {
    let git = rows.iter().find(|r| r.is_git).map(|r| ms(r.median));
    println!(
        "  {:<58} {:>10} {:>10} {:>12} {:>10} {:>6}",
        "tool", "median ms", "vs git log", "vs gbp dch", "peak RSS", "lines"
    );
    for row in rows {
        let t = ms(row.median);
        let vs_git = git.map_or("-".into(), |g| format!("{:.2}x", t / g));
        let vs_gbp = gbp_ms.map_or("-".into(), |g| format!("{:.0}x faster", g / t));
        let rss = row
            .rss_kib
            .map_or("-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        println!(
            "  {:<58} {:>10.1} {:>10} {:>12} {:>10} {:>6}",
            row.name, t, vs_git, vs_gbp, rss, row.lines
        );
    }
}

fn check_targets(rows: &[Row], gbp_ms: Option<f64>, label: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let Some(git) = rows.iter().find(|r| r.is_git) else {
        return failures;
    };
    for row in rows.iter().filter(|r| r.is_ours) {
        let t = ms(row.median);
        if t > ms(git.median) * TARGET_VS_GIT {
            failures.push(format!(
                "{label}: {} takes {t:.1} ms, over {TARGET_VS_GIT}x git log's {:.1} ms",
                row.name,
                ms(git.median)
            ));
        }
        if let Some(gbp) = gbp_ms
            && gbp / t < TARGET_VS_GBP
        {
            failures.push(format!(
                "{label}: {} is only {:.0}x faster than gbp dch",
                row.name,
                gbp / t
            ));
        }
        if row.rss_kib.is_some_and(|k| k > TARGET_RSS_KIB) {
            failures.push(format!("{label}: {} peaks above 64 MiB", row.name));
        }
    }
    failures
}

/// Runs `gbp dch` once in a throwaway clone and returns its wall time in ms.
fn time_gbp(fixture: &Path, since: &str) -> anyhow::Result<f64> {
    super::require_tools(&[("gbp", "git-buildpackage"), ("debchange", "devscripts")])?;
    let clone = fixture.with_file_name(format!("gbp-run-{}", std::process::id()));
    if clone.exists() {
        std::fs::remove_dir_all(&clone)
            .with_context(|| format!("cannot remove {}", clone.display()))?;
    }
    git(
        Path::new("."),
        &[
            "clone",
            "-q",
            "--shared",
            &fixture.display().to_string(),
            &clone.display().to_string(),
        ],
    )?;
    git(&clone, &["config", "user.name", "Bench Mark"])?;
    git(&clone, &["config", "user.email", "bench@example.org"])?;
    eprintln!(
        "running gbp dch --since={since} once (it runs debchange once per commit; this takes a while)..."
    );
    let mut cmd = Command::new("gbp");
    cmd.current_dir(&clone)
        .args([
            "dch",
            "--ignore-branch",
            &format!("--since={since}"),
            "--git-author",
            "--id-length=9",
        ])
        .args(["--release", "--spawn-editor=never", "debian"])
        .env("EDITOR", "true")
        .env("VISUAL", "true")
        .env("DEBFULLNAME", "Bench Mark")
        .env("DEBEMAIL", "bench@example.org");
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context("cannot start gbp dch")?;
    let elapsed = start.elapsed();
    ensure!(
        out.status.success(),
        "gbp dch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = git_lines(&clone, &["diff", "-U0", "--", "debian/changelog"])?;
    let bullets = diff.iter().filter(|l| l.starts_with("+  * ")).count();
    ensure!(
        bullets > 0,
        "gbp dch wrote no entries; its output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&clone).ok();
    Ok(ms(elapsed))
}

fn commit_graph_path(fixture: &Path) -> PathBuf {
    fixture.join(".git/objects/info/commit-graph")
}

fn set_commit_graph(fixture: &Path, present: bool) -> anyhow::Result<()> {
    let (on, off) = (
        commit_graph_path(fixture),
        commit_graph_path(fixture).with_extension("benchmark-off"),
    );
    let (from, to) = if present { (&off, &on) } else { (&on, &off) };
    if from.exists() {
        std::fs::rename(from, to)
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// Puts a commit-graph an interrupted run moved aside back in place.
fn restore_commit_graph(fixture: &Path) -> anyhow::Result<()> {
    set_commit_graph(fixture, true)
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    crate::run(Command::new("git").arg("-C").arg(dir).args(args))
}

fn git_lines(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    ensure!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The release after tag `YYYY.MM`: the next month.
fn next_version(tag: &str) -> anyhow::Result<String> {
    let (year, month) = tag
        .split_once('.')
        .with_context(|| format!("tag {tag} is not YYYY.MM"))?;
    let (year, month): (u32, u32) = (year.parse()?, month.parse()?);
    Ok(if month == 12 {
        format!("{}.01", year + 1)
    } else {
        format!("{year}.{:02}", month + 1)
    })
}

// The fixture.

fn generate(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!(
        "generating {COMMITS} commits in {} (once)...",
        dir.display()
    );
    let start = Instant::now();
    git(dir, &["init", "-q", "-b", "master"])?;
    git(dir, &["config", "user.name", "Bench Mark"])?;
    git(dir, &["config", "user.email", "bench@example.org"])?;

    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot start git fast-import")?;
    let stdin = child.stdin.take().context("fast-import's stdin")?;
    let mut out = BufWriter::with_capacity(1 << 20, stdin);
    write_history(&mut out)?;
    out.flush()?;
    drop(out);
    let status = child.wait()?;
    ensure!(status.success(), "git fast-import failed with {status}");
    eprintln!(
        "  imported in {:.1} s; repacking like a clone...",
        start.elapsed().as_secs_f64()
    );

    // A clone's pack is made by pack-objects with the default window and depth.
    git(
        dir,
        &[
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--window=10",
            "--depth=50",
        ],
    )?;
    git(
        dir,
        &["-c", "gc.writeCommitGraph=true", "gc", "-q", "--prune=now"],
    )?;
    git(dir, &["commit-graph", "write", "--reachable"])?;
    git(dir, &["checkout", "-q", "-f", "master"])?;
    std::fs::write(dir.join(".git/bench-fixture-version"), FIXTURE_VERSION)?;
    eprintln!("  fixture ready in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// Source directories of the generated tree, ten files each.
const SRC_DIRS: &[&str] = &[
    "lava_common",
    "lava_dispatcher/actions/boot",
    "lava_dispatcher/actions/deploy",
    "lava_dispatcher/actions/test",
    "lava_dispatcher/connections",
    "lava_dispatcher/power",
    "lava_dispatcher/utils",
    "lava_dispatcher_host",
    "lava_results_app",
    "lava_rest_app",
    "lava_scheduler_app/api",
    "lava_scheduler_app/models",
    "lava_scheduler_app/views",
    "lava_server/api",
    "lava_server/templates",
    "linaro_django_xmlrpc",
    "share/device-types",
    "doc/v2",
    "tests/lava_dispatcher",
    "tests/lava_scheduler_app",
];

const TOP_FILES: &[&str] = &[
    ".gitignore",
    ".gitlab-ci.yml",
    "LICENSE",
    "MANIFEST.in",
    "README.md",
    "requirements.txt",
    "setup.py",
    "version.py",
];

fn src_path(n: usize) -> String {
    format!(
        "{}/module_{}.py",
        SRC_DIRS[n % SRC_DIRS.len()],
        n / SRC_DIRS.len()
    )
}

fn author(mr: usize) -> (String, String) {
    let n = (mr * 7919) % AUTHORS;
    (
        format!("Developer {n:03}"),
        format!("developer{n:03}@example.org"),
    )
}

fn version_at(i: usize) -> String {
    let (year, month, _) = civil(T0 + i as i64 * STEP);
    format!("{year}.{month:02}")
}

fn changelog(version: &str, seconds: i64) -> String {
    format!(
        "lava ({version}-1) unstable; urgency=medium\n\n  * LAVA Software {version} release\n\n -- Bench Mark <bench@example.org>  {}\n",
        rfc2822(seconds)
    )
}

fn blob(
    out: &mut impl std::io::Write,
    mode: &str,
    path: &str,
    content: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "M {mode} inline {path}\ndata {}\n{content}",
        content.len()
    )
}

fn src_content(path: &str, revision: usize) -> String {
    format!(
        "\"\"\"{path}: part of the lava-release benchmark fixture.\"\"\"\n\nREVISION = {revision}\n\n\ndef describe():\n    return f\"{path} at {{REVISION}}\"\n"
    )
}

fn debian_content(path: &str, revision: usize) -> String {
    match path {
        "debian/rules" => {
            format!("#!/usr/bin/make -f\n# revision {revision}\n%:\n\tdh $@ --with python3\n")
        }
        _ => format!(
            "Source: lava\nSection: net\nPriority: optional\nMaintainer: Bench Mark <bench@example.org>\n# revision {revision}\n"
        ),
    }
}

/// Writes the fast-import stream: commit `i` is on a merge-request branch unless
/// `i % MR == MR - 1`, which merges that branch into master.
fn write_history(out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let src_files = SRC_DIRS.len() * 10;
    // Root commit: the whole tree.
    let t = T0;
    writeln!(out, "commit refs/heads/master\nmark :1")?;
    writeln!(
        out,
        "author Bench Mark <bench@example.org> {t} +0000\ncommitter Bench Mark <bench@example.org> {t} +0000"
    )?;
    let message = "Initial import\n";
    writeln!(out, "data {}\n{message}", message.len())?;
    for n in 0..src_files {
        let path = src_path(n);
        blob(out, "100644", &path, &src_content(&path, 0))?;
    }
    for path in TOP_FILES {
        blob(out, "100644", path, &format!("{path}\n"))?;
    }
    blob(out, "100644", "debian/changelog", &changelog("2000.12", t))?;
    blob(
        out,
        "100755",
        "debian/rules",
        &debian_content("debian/rules", 0),
    )?;
    blob(
        out,
        "100644",
        "debian/control",
        &debian_content("debian/control", 0),
    )?;
    blob(out, "100644", "debian/source/format", "3.0 (quilt)\n")?;
    writeln!(out)?;

    let mut master = 1usize;
    let mut branch_tip = 0usize;
    let mut mr_open = false;
    // What the open merge request changed: (mode, path, content), for its merge commit.
    let mut changed: Vec<(&str, String, String)> = Vec::new();
    for i in 1..COMMITS {
        let mark = i + 1;
        let t = T0 + i as i64 * STEP;
        let mr = i / MR;
        let (name, email) = author(mr);
        if i % MR == MR - 1 {
            writeln!(out, "commit refs/heads/master\nmark :{mark}")?;
            writeln!(
                out,
                "author {name} <{email}> {t} +0000\ncommitter GitLab <gitlab@example.org> {t} +0000"
            )?;
            let message = format!(
                "Merge branch 'mr-{mr}' into 'master'\n\nChange set {mr}\n\nSee merge request lava/lava!{mr}\n"
            );
            writeln!(out, "data {}\n{message}", message.len())?;
            writeln!(out, "from :{master}\nmerge :{branch_tip}")?;
            for (mode, path, content) in changed.drain(..) {
                blob(out, mode, &path, &content)?;
            }
            writeln!(out)?;
            master = mark;
            mr_open = false;
            if (i + 1) % RELEASE_EVERY == 0 {
                let version = version_at(i);
                let message = format!("LAVA Software {version} release\n");
                writeln!(out, "tag {version}\nfrom :{mark}")?;
                writeln!(
                    out,
                    "tagger Bench Mark <bench@example.org> {t} +0000\ndata {}\n{message}",
                    message.len()
                )?;
            }
            continue;
        }
        writeln!(out, "commit refs/heads/mr\nmark :{mark}")?;
        writeln!(
            out,
            "author {name} <{email}> {t} +0000\ncommitter {name} <{email}> {t} +0000"
        )?;
        let (mode, path, content, subject) = if (i + 2) % RELEASE_EVERY == 0 {
            let version = version_at(i + 1);
            (
                "100644",
                "debian/changelog".to_owned(),
                changelog(&version, t),
                format!("Prepare the {version} release"),
            )
        } else if i % 10 == 0 {
            let path = if (i / 10) % 2 == 0 {
                "debian/rules"
            } else {
                "debian/control"
            };
            let mode = if path == "debian/rules" {
                "100755"
            } else {
                "100644"
            };
            (
                mode,
                path.to_owned(),
                debian_content(path, i),
                format!("debian: update {} for change {i}", &path[7..]),
            )
        } else {
            let path = src_path((i * 37) % src_files);
            let content = src_content(&path, i);
            let subject = format!(
                "{}: fix handling of case {i}",
                &path[..path.rfind('/').unwrap_or(0)]
            );
            ("100644", path, content, subject)
        };
        let message = format!(
            "{subject}\n\nThe previous behaviour broke when the device reported case {i};\nthis keeps the old path for existing jobs.\n\nSigned-off-by: {name} <{email}>\n"
        );
        writeln!(out, "data {}\n{message}", message.len())?;
        // A merge request starts from master's tip.
        if !mr_open {
            writeln!(out, "from :{master}")?;
            mr_open = true;
        }
        blob(out, mode, &path, &content)?;
        writeln!(out)?;
        changed.retain(|(_, p, _)| *p != path);
        changed.push((mode, path, content));
        branch_tip = mark;
    }
    writeln!(out, "done")?;
    Ok(())
}

/// Year, month, day of a Unix time (Howard Hinnant's `civil_from_days`).
fn civil(seconds: i64) -> (i64, u32, u32) {
    let z = seconds.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `date -R` in UTC, as debchange writes trailers.
fn rfc2822(seconds: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil(seconds);
    let weekday = DAYS[seconds.div_euclid(86_400).rem_euclid(7) as usize];
    let secs = seconds.rem_euclid(86_400);
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_as_date_dash_r() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(T0), "Mon, 01 Jan 2001 00:00:00 +0000");
        assert_eq!(rfc2822(1_709_647_389), "Tue, 05 Mar 2024 14:03:09 +0000");
    }

    #[test]
    fn release_versions_follow_the_calendar() {
        assert_eq!(version_at(0), "2001.01");
        assert_eq!(next_version("2002.12").unwrap(), "2003.01");
        assert_eq!(next_version("2002.08").unwrap(), "2002.09");
    }
}
