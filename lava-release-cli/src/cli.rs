//! The command line: the clap definition of `lava-release` (also the source of its
//! completions and man page) and each subcommand's printing over the embedding API
//! ([`crate::ops`]). Errors are returned, never printed: the binary turns them into one
//! line and an exit status.
#![allow(missing_docs)] // clap's doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ChangelogStyle;
use crate::env::Env;
use crate::error::UsageError;
use crate::ops::{
    self, ChangelogRequest, ReleaseRequest, RunRequest, Settings, Workspace, one_line,
};
use crate::run::{RunOptions, StageError};
use crate::step::Verbosity;
use crate::ui::{self, Palette, TerminalReporter};
use crate::version::ReleaseVersion;

/// Cut a LAVA software release: a plan of stages that is printed, run, journaled and resumed.
#[derive(Debug, Parser)]
#[command(name = "lava-release", version, about)]
pub struct Cli {
    /// Run as if started in this directory (the LAVA repository).
    #[arg(
        short = 'C',
        long = "repo",
        value_name = "DIR",
        global = true,
        default_value = "."
    )]
    pub repo: PathBuf,
    /// Configuration file (default: release.toml at the top of the repository, if any).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Print only errors and warnings: no progress, no stage lines, no builder output.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: each stage as it starts and how long it took, and an error's causes
    /// one per line.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// The release version, YYYY.MM (or YYYY.MM.N for a point release).
    #[arg(value_name = "VERSION")]
    version: ReleaseVersion,
    /// The Debian version (default: VERSION-1).
    #[arg(long, value_name = "DEBIAN_VERSION")]
    debian_version: Option<String>,
    /// Release even if the milestone has open merge requests or issues.
    #[arg(long)]
    allow_open: bool,
    /// Skip one `git debpush` check of `debian-tag2upload` (e.g. `suite`); repeatable.
    #[arg(long, value_name = "CHECK")]
    force: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every stage, what it will do and its observed status.
    Plan {
        #[command(flatten)]
        version: VersionArgs,
        /// Print JSON for other tooling.
        #[arg(long)]
        json: bool,
    },
    /// Run the stages; done stages are skipped, so a re-run resumes.
    Run {
        #[command(flatten)]
        version: VersionArgs,
        /// Start at this stage.
        #[arg(long, value_name = "STAGE", conflicts_with = "only")]
        from: Option<String>,
        /// Stop after this stage.
        #[arg(long, value_name = "STAGE", conflicts_with = "only")]
        to: Option<String>,
        /// Run only this stage.
        #[arg(long, value_name = "STAGE")]
        only: Option<String>,
        /// Check every stage and print what each would do; change nothing published
        /// (the announcement is written to a file instead of sent).
        #[arg(long)]
        dry_run: bool,
        /// A dry run in which the Debian upload is prepared, signed and rehearsed
        /// with `dput -s` (or listed, for a directory or SFTP target).
        #[arg(long)]
        simulate: bool,
        /// Do not ask before stages that cannot be undone.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print one JSON event per line (docs/run-events.md) instead of the table;
        /// stages that cannot be undone then need --yes.
        #[arg(long)]
        json: bool,
    },
    /// Print the journal of a release.
    Status {
        /// The release version.
        #[arg(value_name = "VERSION")]
        version: ReleaseVersion,
        /// Print JSON for other tooling.
        #[arg(long)]
        json: bool,
    },
    /// Check, with no token and no checkout, that what is published under VERSION is
    /// what its signed release manifest says (docs/manifest.md): the tag, the
    /// pipeline, each apt suite, each image tag. Exit status 0 only if every check
    /// passes.
    VerifyRelease {
        /// The release version.
        #[arg(value_name = "VERSION")]
        version: ReleaseVersion,
        /// The release key's certificate (default: signing.public_key, else the key
        /// signing.keyserver serves for signing.release_key).
        #[arg(long, value_name = "FILE")]
        keyring: Option<PathBuf>,
        /// Print JSON for other tooling.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration, secrets redacted, with the file of each value.
    Config {
        /// Print JSON for other tooling (docs/config-json.md).
        #[arg(long)]
        json: bool,
    },
    /// List (or with --apply, delete) the GitLab project's container-registry tags
    /// matching a pattern, e.g. daily images.
    RegistryPrune {
        /// Glob on tag names, e.g. `*-daily*`.
        #[arg(value_name = "PATTERN")]
        pattern: String,
        /// Only repositories whose name matches this glob.
        #[arg(long, value_name = "GLOB")]
        repository: Option<String>,
        /// Delete the matching tags; without it, only list them.
        #[arg(long)]
        apply: bool,
    },
    /// Check or roll back the apt repository.
    Repo {
        #[command(subcommand)]
        command: RepoCommand,
    },
    /// Print (or write) the debian/changelog entry for a version.
    Changelog {
        /// The release version (`YYYY.MM`, `YYYY.MM.N` or `YYYY.MM.postN`).
        #[arg(long, value_name = "VERSION")]
        version: ReleaseVersion,
        /// The Debian version (default: VERSION-1); it must be newer than the top entry.
        #[arg(long, value_name = "DEBIAN_VERSION")]
        debian_version: Option<String>,
        /// Start after this tag or commit instead of the style's own start; `"^X TAG"`
        /// also leaves out what X reaches.
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// Entry style (default: from the configuration).
        #[arg(long, value_enum)]
        style: Option<ChangelogStyle>,
        /// Only commits touching these paths (repeatable).
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
        /// One [ Author ] block per author (gbp dch --multimaint-merge).
        #[arg(long, overrides_with = "no_multimaint_merge")]
        multimaint_merge: bool,
        /// A new [ Author ] block each time the author changes.
        #[arg(long, overrides_with = "multimaint_merge")]
        no_multimaint_merge: bool,
        /// The git-log style lists commits newest first (git log without --reverse).
        #[arg(long)]
        newest_first: bool,
        /// The first bullet (default: changelog.first_bullet).
        #[arg(short = 'm', long, value_name = "MESSAGE")]
        message: Option<String>,
        /// Open the entry in $VISUAL or $EDITOR, then write it (implies --write).
        #[arg(long)]
        edit: bool,
        /// Put the entry on top of debian/changelog instead of printing it.
        #[arg(long)]
        write: bool,
        /// Print JSON for other tooling (docs/changelog-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Print the shell completion script, e.g. `lava-release completions bash >
    /// ~/.local/share/bash-completion/completions/lava-release`.
    Completions {
        /// The shell.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (`lava-release.1`, `lava-release-run.1`, ...) into DIR, as
    /// `cargo xtask dist` does.
    Man {
        /// The directory, created if missing.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Verify every suite of a repository, read-only: each index's size and hashes,
    /// and InRelease and Release.gpg against the release key.
    Verify {
        /// The directory holding `dists/`: a path, an `ssh://` URL, or an `http(s)://`
        /// URL (then the suites are `repo.suites`).
        #[arg(value_name = "PATH|URL")]
        location: String,
        /// Trust this certificate file instead of the release key's.
        #[arg(long, value_name = "FILE")]
        keyring: Option<PathBuf>,
        /// Print every suite with all its problems as JSON (docs/repo-verify.md).
        #[arg(long)]
        json: bool,
    },
    /// Switch the live symlink back to a kept tree (default: the newest version older
    /// than the live one), after verifying it.
    Rollback {
        /// The version to switch to.
        #[arg(value_name = "VERSION")]
        version: Option<String>,
    },
}

impl VersionArgs {
    fn request(&self) -> ReleaseRequest {
        ReleaseRequest {
            version: self.version,
            debian_version: self.debian_version.clone(),
            allow_open: self.allow_open,
            force: self.force.clone(),
        }
    }
}

/// A run's error as the final line says it: a usage error as it is (exit status 2),
/// a stage's failure with the way to resume.
fn stopped(e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<UsageError>().is_some() {
        return e;
    }
    let resume = match e.downcast_ref::<StageError>() {
        Some(StageError::Failed { .. } | StageError::NotDone { .. }) => {
            "; fix the cause and run again to resume"
        }
        _ => "",
    };
    anyhow::Error::new(Stopped {
        line: format!("{}{resume}", one_line(&e)),
        cause: e,
    })
}

/// A run's final error: its one line, with the way to resume; the causes stay behind
/// it for `--verbose`.
#[derive(Debug)]
struct Stopped {
    line: String,
    cause: anyhow::Error,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Stopped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.cause.as_ref())
    }
}

impl Cli {
    /// How much the command says, from `--quiet` and `--verbose`.
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// Runs the command `cli` names.
pub fn execute(cli: Cli, env: Env) -> anyhow::Result<()> {
    let verbosity = cli.verbosity();
    let palette = Palette::for_stdout(&env);
    let workspace = |env| Workspace::open(&cli.repo, cli.config.as_deref(), env);
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            if shell == clap_complete::Shell::Bash {
                // clap_complete's bash script never completes past a subcommand of a
                // hyphenated name (clap-rs/clap#6421): it is made for `lava_release`,
                // then registered for `lava-release`.
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut command, "lava_release", &mut script);
                let script =
                    String::from_utf8_lossy(&script).replace(" lava_release\n", " lava-release\n");
                print!("{script}");
            } else {
                clap_complete::generate(
                    shell,
                    &mut command,
                    "lava-release",
                    &mut std::io::stdout(),
                );
            }
        }
        Command::Man { dir } => {
            let command = <Cli as clap::CommandFactory>::command();
            std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(command, &dir))
                .map_err(|e| {
                    anyhow::anyhow!("cannot write the man pages into {}: {e}", dir.display())
                })?;
        }
        Command::Repo { command } => {
            let settings = Settings::discover(&cli.repo, cli.config.as_deref(), &env)?;
            repo_command(&settings, &env, command, verbosity)?;
        }
        Command::VerifyRelease {
            version,
            keyring,
            json,
        } => {
            let settings = Settings::discover(&cli.repo, cli.config.as_deref(), &env)?;
            let verification = crate::verify_release::verify_release(
                &settings,
                &env,
                &version.to_string(),
                keyring.as_deref(),
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&ui::versioned(
                        serde_json::to_value(&verification).expect("plain data")
                    ))
                    .expect("plain data")
                );
            } else {
                print!("{}", ui::render_verification(&verification, &palette));
            }
            let failed: Vec<_> = verification.failures().collect();
            if let Some(first) = failed.first() {
                anyhow::bail!(
                    "{} of {} check(s) of release {version} failed; the first: {}: {}",
                    failed.len(),
                    verification.checks.len(),
                    first.claim,
                    first.evidence
                );
            }
        }
        Command::Config { json } => {
            let settings = Settings::discover(&cli.repo, cli.config.as_deref(), &env)?;
            if json {
                let source = &settings.source;
                println!(
                    "{}",
                    ui::versioned(serde_json::json!({
                        "files": source.files,
                        "config": settings.config,
                        "origins": source.origins,
                    }))
                );
            } else {
                print!("{}", ui::render_config(&settings.config, &settings.source));
            }
        }
        Command::RegistryPrune {
            pattern,
            repository,
            apply,
        } => {
            let mut request = lava_gitlab::PruneRequest::new(pattern);
            request.repository_pattern = repository;
            request.dry_run = !apply;
            let report = workspace(env)?.registry_prune(&request)?;
            for tag in &report.matched {
                let done = if report.deleted.contains(tag) {
                    "deleted"
                } else {
                    "would delete"
                };
                println!("{done}  {}", tag.location);
            }
            let hint = if apply {
                ""
            } else {
                " (dry run; pass --apply to delete)"
            };
            println!(
                "{} tag(s) matched, {} deleted{hint}",
                report.matched.len(),
                report.deleted.len()
            );
        }
        Command::Status { version, json } => {
            let journal = workspace(env)?.journal(&version)?;
            if json {
                let json = ui::versioned(journal.to_value());
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).expect("plain data")
                );
            } else {
                print!("{}", ui::render_journal(&journal, &palette));
            }
        }
        Command::Plan { version, json } => {
            let workspace = workspace(env)?;
            let prepared = workspace.prepare(&version.request())?;
            if json {
                let out = workspace.plan_json(&prepared);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).expect("plain data")
                );
            } else {
                let statuses = workspace.observe(&prepared);
                let workdir = workspace.repo.workdir().display().to_string();
                print!(
                    "{}",
                    ui::render_plan(&prepared.plan, &statuses, &workdir, &palette)
                );
                print!(
                    "{}",
                    ui::render_readiness(&workspace.readiness(&prepared), &palette)
                );
            }
        }
        Command::Run {
            version,
            from,
            to,
            only,
            dry_run,
            simulate,
            yes,
            json,
        } => {
            let workspace = workspace(env)?;
            let prepared = workspace.prepare(&version.request())?;
            let request = RunRequest {
                options: RunOptions {
                    from,
                    to,
                    only,
                    dry_run,
                    yes,
                },
                simulate,
                verbosity,
                meter: lava_io::transfer::Meter::default(),
                spinners: None,
            };
            let dry_run = dry_run || simulate;
            if json {
                return match workspace.run(&prepared, &request, &mut ui::JsonReporter) {
                    Ok(summary) => {
                        ui::print_event(
                            "summary",
                            serde_json::json!({
                                "dry_run": dry_run,
                                "applied": summary.applied,
                                "already_done": summary.already_done,
                                "passed": summary.passed,
                                "would_apply": summary.would_apply,
                            }),
                        );
                        Ok(())
                    }
                    Err(e) => {
                        let e = stopped(e);
                        ui::print_event("stopped", serde_json::json!({ "error": one_line(&e) }));
                        Err(e)
                    }
                };
            }
            let mut reporter = TerminalReporter::new(palette, dry_run, verbosity);
            let request = RunRequest {
                meter: reporter.meter(),
                spinners: reporter.spinners(),
                ..request
            };
            match workspace.run(&prepared, &request, &mut reporter) {
                Ok(_) if verbosity == Verbosity::Quiet => {}
                Ok(summary) if dry_run => println!(
                    "dry run: {} stage(s) to do, {} already done, {} check(s) passed; nothing changed",
                    summary.would_apply, summary.already_done, summary.passed
                ),
                Ok(summary) => println!(
                    "{} stage(s) applied, {} already done, {} check(s) passed",
                    summary.applied, summary.already_done, summary.passed
                ),
                // The reporter already showed the stage's failure; the binary says it once
                // more as the final line.
                Err(e) => return Err(stopped(e)),
            }
        }
        Command::Changelog {
            version,
            debian_version,
            since,
            style,
            paths,
            multimaint_merge,
            no_multimaint_merge,
            newest_first,
            message,
            edit,
            write,
            json,
        } => {
            let workspace = workspace(env)?;
            let request = ChangelogRequest {
                release: ReleaseRequest {
                    debian_version,
                    ..ReleaseRequest::new(version)
                },
                since,
                style,
                paths,
                multimaint_merge: match (multimaint_merge, no_multimaint_merge) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                newest_first: newest_first.then_some(true),
                message,
                edit,
            };
            let entry = workspace.changelog(&request)?;
            if !json {
                for warning in &entry.warnings {
                    eprintln!("warning: {warning}");
                }
            }
            let written = if write || edit {
                let path = workspace.write_changelog(&entry.text)?;
                if !json {
                    eprintln!(
                        "wrote the {} entry to {}",
                        entry.release.debian_version,
                        path.display()
                    );
                }
                Some(path)
            } else {
                None
            };
            if json {
                println!(
                    "{}",
                    ui::versioned(serde_json::json!({
                        "version": entry.release.version.to_string(),
                        "debian_version": entry.release.debian_version.to_string(),
                        "entry": entry.text,
                        "warnings": entry.warnings,
                        "written": written,
                    }))
                );
            } else if written.is_none() {
                print!("{}", entry.text);
            }
        }
    }
    Ok(())
}

fn repo_command(
    settings: &Settings,
    env: &Env,
    command: RepoCommand,
    verbosity: Verbosity,
) -> anyhow::Result<()> {
    match command {
        RepoCommand::Verify {
            location,
            keyring,
            json: false,
        } => {
            let meter = ui::terminal_meter(verbosity);
            let statuses =
                ops::repo_verify(settings, env, &location, keyring.as_deref(), false, &meter)?;
            for status in statuses {
                println!("{status}");
            }
        }
        RepoCommand::Verify {
            location,
            keyring,
            json: true,
        } => {
            let meter = lava_io::transfer::Meter::default();
            let statuses =
                ops::repo_verify(settings, env, &location, keyring.as_deref(), true, &meter)?;
            let suites: Vec<serde_json::Value> = statuses
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "suite": s.suite,
                        "right": s.is_done(),
                        "files": s.files,
                        "bytes": s.bytes,
                        "hashes": s.algorithms.iter().map(|a| a.field()).collect::<Vec<_>>(),
                        "problems": s.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "signatures": s.signatures.to_string(),
                    })
                })
                .collect();
            println!(
                "{}",
                ui::versioned(serde_json::json!({ "location": location, "suites": suites }))
            );
            let wrong: Vec<&str> = statuses
                .iter()
                .filter(|s| !s.is_done())
                .map(|s| s.suite.as_str())
                .collect();
            if !wrong.is_empty() {
                anyhow::bail!(
                    "{} of {} suite(s) at {location} are not right ({}); the JSON lists every problem",
                    wrong.len(),
                    statuses.len(),
                    wrong.join(", ")
                );
            }
        }
        RepoCommand::Rollback { version } => {
            let switch = ops::repo_rollback(settings, env, version.as_deref())?;
            let live = &settings.config.repo.live;
            let target = |t: &Option<String>| t.clone().unwrap_or_else(|| "nothing".into());
            if switch.switched {
                println!(
                    "{live} -> {} (was {})",
                    target(&switch.after.target),
                    target(&switch.before.target)
                );
            } else {
                println!("{live} -> {} already", target(&switch.after.target));
            }
            for status in switch.suites {
                println!("{status}");
            }
        }
    }
    Ok(())
}
