//! What a person sees: the plan and journal as text (coloured only on a terminal and
//! never under `NO_COLOR`), a spinner while a stage works, and the confirmation prompt.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lava_io::transfer::{Gauge, Meter, Transfers};

use crate::journal::{Journal, Outcome};
use crate::plan::Plan;
use crate::run::{Report, Reporter};
use crate::step::{Status, Step, Verbosity};

/// Colours for the output, all plain when colour is off.
#[derive(Debug, Clone)]
pub struct Palette {
    done: Style,
    todo: Style,
    bad: Style,
    dim: Style,
    bold: Style,
}

impl Palette {
    /// Colour when `enabled`, plain text otherwise.
    pub fn new(enabled: bool) -> Self {
        let s = |style: Style| style.force_styling(enabled);
        Self {
            done: s(Style::new().green()),
            todo: s(Style::new().yellow()),
            bad: s(Style::new().red().bold()),
            dim: s(Style::new().dim()),
            bold: s(Style::new().bold()),
        }
    }

    /// Colour for stdout: never with `NO_COLOR`, always with `CLICOLOR_FORCE`, else on
    /// a terminal that is not `TERM=dumb`.
    pub fn for_stdout(env: &crate::env::Env) -> Self {
        let terminal = std::io::stdout().is_terminal()
            && console::Term::stdout().features().colors_supported();
        Self::new(!env.no_color && (env.clicolor_force || terminal))
    }

    fn status(&self, status: &Status) -> String {
        let style = match status {
            Status::Done { .. } => &self.done,
            Status::ToDo { .. } => &self.todo,
            Status::Blocked { .. } => &self.bad,
        };
        style.apply_to(format!("{:<7}", status.label())).to_string()
    }
}

/// The effective configuration as TOML (secrets redacted), each value a file set
/// preceded by a comment naming the file; the files read first.
pub fn render_config(config: &crate::config::Config, source: &crate::config::Source) -> String {
    let mut out = String::new();
    if source.files.is_empty() {
        out.push_str("# built-in defaults (no release.toml, no personal configuration)\n");
    }
    for file in &source.files {
        let _ = writeln!(out, "# read {}", file.display());
    }
    let mut section = String::new();
    for line in config.to_toml().lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim_matches(['[', ']']).to_owned();
        } else if let Some((key, _)) = line.split_once(" = ")
            && !key.starts_with([' ', '"', '#'])
            && let Some(file) = source.origins.get(&format!("{section}.{key}"))
        {
            let _ = writeln!(out, "# {section}.{key} from {}", file.display());
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The plan as a table: each stage, what it will do, its observed status and evidence.
pub fn render_plan(plan: &Plan, statuses: &[Status], workdir: &str, p: &Palette) -> String {
    let mut out = String::new();
    let r = &plan.release;
    let _ = writeln!(
        out,
        "{} {} (Debian {}) in {workdir}\n",
        p.bold.apply_to("Release plan for LAVA"),
        r.version,
        r.debian_version
    );
    let width = plan
        .stages
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    for (i, (stage, status)) in plan.stages.iter().zip(statuses).enumerate() {
        let mark = if stage.irreversible() { "!" } else { " " };
        let _ = writeln!(
            out,
            "{:>2}.{mark}{:<width$}  {}  {}",
            i + 1,
            stage.name(),
            p.status(status),
            stage.describe()
        );
        if let Some(note) = status.note() {
            let _ = writeln!(out, "    {:<width$}           {}", "", p.dim.apply_to(note));
        }
    }
    if !plan.absent.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold.apply_to("Not in this plan:"));
        // One line per setting: the stages it leaves out, then why (on a line of its own
        // when the stages fill the column).
        let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
        for absent in &plan.absent {
            match groups.iter_mut().find(|(_, why)| *why == absent.why) {
                Some((stages, _)) => stages.push(absent.stage),
                None => groups.push((vec![absent.stage], &absent.why)),
            }
        }
        for (stages, why) in groups {
            let names = stages.join(", ");
            if names.len() <= width {
                let _ = writeln!(out, "    {names:<width$}  {}", p.dim.apply_to(why));
            } else {
                let _ = writeln!(
                    out,
                    "    {names}\n    {:<width$}  {}",
                    "",
                    p.dim.apply_to(why)
                );
            }
        }
    }
    if plan.stages.iter().any(|s| s.irreversible()) {
        let _ = writeln!(
            out,
            "\n! cannot be undone: asks for confirmation unless --yes"
        );
    }
    out
}

/// The plan's "ready to release?": what `run` would refuse to start with, one line each.
pub fn render_readiness(problems: &[String], p: &Palette) -> String {
    let mut out = String::new();
    if problems.is_empty() {
        let _ = writeln!(
            out,
            "\n{} yes: nothing the stages can check now is wrong",
            p.bold.apply_to("Ready to release?")
        );
        return out;
    }
    let _ = writeln!(out, "\n{} no:", p.bold.apply_to("Ready to release?"));
    for problem in problems {
        let _ = writeln!(out, "    - {problem}");
    }
    out
}

/// `verify-release`: where the manifest was read, then one line per check, `ok` or
/// `FAIL`, the claim and its evidence.
pub fn render_verification(v: &crate::verify_release::Verification, p: &Palette) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "release {}: manifest {}", v.version, v.manifest_url);
    for check in &v.checks {
        let (style, label) = if check.pass {
            (&p.done, "ok  ")
        } else {
            (&p.bad, "FAIL")
        };
        let _ = writeln!(
            out,
            "{}  {}: {}",
            style.apply_to(label),
            check.claim,
            check.evidence
        );
    }
    let failed = v.failures().count();
    let _ = writeln!(
        out,
        "{} of {} check(s) passed",
        v.checks.len() - failed,
        v.checks.len()
    );
    out
}

/// The journal: the latest outcome of each stage, then the full history.
pub fn render_journal(journal: &Journal, p: &Palette) -> String {
    let mut out = String::new();
    if journal.events().is_empty() {
        let _ = writeln!(
            out,
            "no stage has run yet (journal {})",
            journal.path().display()
        );
        return out;
    }
    let width = journal
        .latest()
        .iter()
        .map(|e| e.stage.len())
        .max()
        .unwrap_or(0);
    for e in journal.latest() {
        let style = match e.outcome {
            Outcome::Applied | Outcome::AlreadyDone | Outcome::Passed => &p.done,
            Outcome::Blocked | Outcome::Failed => &p.bad,
        };
        let _ = writeln!(
            out,
            "{:<width$}  {}  {}  {}",
            e.stage,
            style.apply_to(format!("{:<12}", e.outcome.label())),
            p.dim.apply_to(&e.at),
            e.note.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(
        out,
        "\n{} events in {}",
        journal.events().len(),
        journal.path().display()
    );
    out
}

/// The version of every `--json` output's documented schema (`docs/*-json.md`,
/// `docs/run-events.md`, `docs/repo-verify.md`): all are at 1.
pub const JSON_SCHEMA: u32 = 1;

/// `fields` (a JSON object) with `"schema"`, as every `--json` output carries it.
pub fn versioned(fields: serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::json!({ "schema": JSON_SCHEMA });
    if let (Some(out), serde_json::Value::Object(fields)) = (out.as_object_mut(), fields) {
        out.extend(fields);
    }
    out
}

/// One `run --json` event on its own line of stdout: `{"schema": 1, "event": KIND,
/// ...fields}` (`docs/run-events.md`).
pub fn print_event(event: &str, fields: serde_json::Value) {
    let mut line = versioned(serde_json::json!({ "event": event }));
    if let (Some(line), serde_json::Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    println!("{line}");
}

/// Reports a run as newline-delimited JSON on stdout, one event per line; a stage that
/// cannot be undone is never confirmed (`--yes` runs it).
#[derive(Debug, Default)]
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn started(&mut self, stage: &dyn Step) {
        print_event(
            "started",
            serde_json::json!({
                "stage": stage.name(),
                "description": stage.describe(),
                "irreversible": stage.irreversible(),
            }),
        );
    }

    fn finished(&mut self, stage: &dyn Step, report: Report<'_>) {
        let name = stage.name();
        let (event, fields) = match report {
            Report::AlreadyDone(e) => ("done", serde_json::json!({ "stage": name, "evidence": e })),
            Report::Passed(e) => (
                "passed",
                serde_json::json!({ "stage": name, "evidence": e }),
            ),
            Report::Applied(e) => (
                "applied",
                serde_json::json!({ "stage": name, "evidence": e }),
            ),
            Report::WouldApply(detail) => (
                "would-apply",
                serde_json::json!({ "stage": name, "description": stage.describe(), "detail": detail }),
            ),
            Report::Blocked(why) => (
                "blocked",
                serde_json::json!({ "stage": name, "reason": why }),
            ),
            Report::Failed(why) => ("failed", serde_json::json!({ "stage": name, "error": why })),
        };
        print_event(event, fields);
    }

    fn confirm(&mut self, _: &dyn Step) -> bool {
        false
    }
}

/// Draws a run on the terminal: a spinner per stage on stderr (only when stderr is a
/// terminal), and one line per finished stage on stdout. Quiet, it draws nothing;
/// verbose, it also says each stage as it starts and how long it took.
pub struct TerminalReporter {
    palette: Palette,
    /// The spinners and byte bars drawn together on stderr.
    bars: MultiProgress,
    spinner: Option<ProgressBar>,
    spin: bool,
    dry_run: bool,
    verbosity: Verbosity,
    started_at: Instant,
}

impl TerminalReporter {
    /// A reporter for this process's terminal.
    pub fn new(palette: Palette, dry_run: bool, verbosity: Verbosity) -> Self {
        Self {
            palette,
            bars: MultiProgress::new(),
            spinner: None,
            spin: std::io::stderr().is_terminal() && verbosity != Verbosity::Quiet,
            dry_run,
            verbosity,
            started_at: Instant::now(),
        }
    }
}

impl TerminalReporter {
    /// Where the stages report their transfers: byte bars with rate and ETA under the
    /// stage's spinner, a total on top, when the spinner is drawn; nothing otherwise.
    pub fn meter(&self) -> Meter {
        if self.spin {
            byte_bars(self.bars.clone())
        } else {
            Meter::default()
        }
    }
}

impl TerminalReporter {
    /// Where stages draw their own spinners: with the run's, when it draws any.
    pub fn spinners(&self) -> Option<MultiProgress> {
        self.spin.then(|| self.bars.clone())
    }
}

/// Byte bars on stderr for a command without stages (`repo verify`): on a terminal,
/// unless quiet.
pub fn terminal_meter(verbosity: Verbosity) -> Meter {
    if std::io::stderr().is_terminal() && verbosity != Verbosity::Quiet {
        byte_bars(MultiProgress::new())
    } else {
        Meter::default()
    }
}

fn byte_bars(bars: MultiProgress) -> Meter {
    Meter::new(ByteBars {
        bars,
        total: Arc::default(),
    })
}

/// The byte bars of a [`TerminalReporter`]: one line per transfer, and above them a
/// total of those in flight, gone with the last.
struct ByteBars {
    bars: MultiProgress,
    total: Arc<Mutex<Option<(ProgressBar, usize)>>>,
}

/// One transfer's bar, and the total it adds to.
struct ByteBar {
    bar: ProgressBar,
    total: Arc<Mutex<Option<(ProgressBar, usize)>>>,
}

fn byte_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "  {msg:40!} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    )
    .expect("the template is valid")
}

impl Transfers for ByteBars {
    fn start(&self, name: &str, total: Option<u64>) -> Box<dyn Gauge> {
        let mut sum = self.total.lock().unwrap_or_else(|p| p.into_inner());
        let (all, active) = sum.get_or_insert_with(|| {
            let bar = self.bars.add(ProgressBar::new(0));
            bar.set_style(byte_style());
            bar.set_message("total");
            (bar, 0)
        });
        *active += 1;
        all.inc_length(total.unwrap_or(0));
        let bar = self.bars.add(ProgressBar::new(total.unwrap_or(0)));
        bar.set_style(byte_style());
        bar.set_message(name.to_owned());
        Box::new(ByteBar {
            bar,
            total: Arc::clone(&self.total),
        })
    }
}

impl Gauge for ByteBar {
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
        if let Some((all, _)) = &*self.total.lock().unwrap_or_else(|p| p.into_inner()) {
            all.inc(bytes);
        }
    }
}

impl Drop for ByteBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        let mut sum = self.total.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((all, active)) = sum.as_mut() {
            *active -= 1;
            if *active == 0 {
                all.finish_and_clear();
                *sum = None;
            }
        }
    }
}

impl Reporter for TerminalReporter {
    fn started(&mut self, stage: &dyn Step) {
        self.started_at = Instant::now();
        if self.verbosity == Verbosity::Verbose && !self.spin {
            eprintln!("{}: {}", stage.name(), stage.describe());
        }
        if self.spin {
            let bar = self
                .bars
                .add(ProgressBar::new_spinner().with_message(format!(
                    "{}: {}",
                    stage.name(),
                    stage.describe()
                )));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            self.spinner = Some(bar);
        }
    }

    fn finished(&mut self, stage: &dyn Step, report: Report<'_>) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
        let p = &self.palette;
        let line = match report {
            Report::AlreadyDone(e) => format!("{}  {}", p.done.apply_to("done   "), e),
            Report::Passed(e) => format!("{}  {}", p.done.apply_to("passed "), e),
            Report::Applied(e) => format!("{}  {}", p.done.apply_to("applied"), e),
            Report::WouldApply(detail) => {
                let what = if self.dry_run { "would  " } else { "to do  " };
                match detail {
                    Some(d) => format!("{}  {} ({d})", p.todo.apply_to(what), stage.describe()),
                    None => format!("{}  {}", p.todo.apply_to(what), stage.describe()),
                }
            }
            Report::Blocked(why) => format!("{}  {why}", p.bad.apply_to("blocked")),
            Report::Failed(why) => format!("{}  {why}", p.bad.apply_to("failed ")),
        };
        match self.verbosity {
            // The binary's final line says a failure or a block once more.
            Verbosity::Quiet => {}
            Verbosity::Normal => println!("{:<10} {line}", stage.name()),
            Verbosity::Verbose => println!(
                "{:<10} {line} ({:.1} s)",
                stage.name(),
                self.started_at.elapsed().as_secs_f64()
            ),
        }
    }

    fn confirm(&mut self, stage: &dyn Step) -> bool {
        if let Some(bar) = &self.spinner {
            bar.suspend(|| {});
        }
        if !std::io::stdin().is_terminal() {
            return false;
        }
        let prompt = format!(
            "Stage `{}` cannot be undone: {}. Continue? [y/N] ",
            stage.name(),
            stage.describe()
        );
        let term = console::Term::stderr();
        let answer = self
            .spinner
            .as_ref()
            .map(|bar| bar.suspend(|| ask(&term, &prompt)))
            .unwrap_or_else(|| ask(&term, &prompt));
        matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

fn ask(term: &console::Term, prompt: &str) -> String {
    let _ = term.write_str(prompt);
    term.read_line().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::plan::plan;
    use crate::version::Release;

    #[test]
    fn plan_table() {
        let release = Release::new("2024.05".parse().unwrap(), None).unwrap();
        let plan = plan(&Config::default(), &release);
        let statuses = [
            Status::Done {
                evidence: "2024.05-1 > 2024.01-1 in debian/changelog".into(),
            },
            Status::ToDo { detail: None },
        ];
        insta::assert_snapshot!(render_plan(&plan, &statuses, "/src/lava", &Palette::new(false)), @r#"
            Release plan for LAVA 2024.05 (Debian 2024.05-1) in /src/lava

             1. preflight        done     check that 2024.05 (Debian 2024.05-1) is newer than the last release, the working tree is clean and HEAD is on master
                                          2024.05-1 > 2024.01-1 in debian/changelog
             2. milestone-check  to do    check that milestone 2024.05 of https://gitlab.com/lava/lava has no open merge request or issue

            Not in this plan:
                dev-build        debian.dev_build is false
                fork-ci, fork-wait-ci
                                 project.fork is not set
                upstream-tarball, import-orig, debian-changelog, debian-build, debian-sign, debian-tag, debian-push, debian-tag2upload
                                 debian.flow is "dget"
                repo-import, repo-sign, repo-publish
                                 repo.mode is pipeline: CI publishes the repository
                debian-upload    debian.upload is not set
                announce         announce.smtp is not set

            ! cannot be undone: asks for confirmation unless --yes
            "#);
    }

    #[test]
    fn colour_only_when_enabled() {
        let status = Status::Blocked { reason: "x".into() };
        assert!(!Palette::new(false).status(&status).contains('\u{1b}'));
        assert!(Palette::new(true).status(&status).contains('\u{1b}'));
    }
}
