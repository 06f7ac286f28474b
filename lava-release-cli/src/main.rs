//! `lava-release`: the command-line front end. Each subcommand builds a request, calls
//! the library, and prints the result; errors become one line and an exit status
//! (1: the release failed or is blocked, 2: a mistake in the invocation or configuration).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use lava_release_cli::config::{ChangelogStyle, Config, Source};
use lava_release_cli::entry::{self, EntryRequest};
use lava_release_cli::journal::Journal;
use lava_release_cli::plan::{self, Release, Status};
use lava_release_cli::run::{self, RunOptions, StageError};
use lava_release_cli::stages::changelog::{CHANGELOG, write_atomically};
use lava_release_cli::ui::{self, Palette, TerminalReporter};
use lava_release_cli::version::{ReleaseVersion, debian_version};
use lava_release_cli::{Context, Env, UsageError};

/// Cut a LAVA software release: a plan of stages that is printed, run, journaled and resumed.
#[derive(Debug, Parser)]
#[command(name = "lava-release", version, about)]
struct Cli {
    /// Run as if started in this directory (the LAVA repository).
    #[arg(
        short = 'C',
        long = "repo",
        value_name = "DIR",
        global = true,
        default_value = "."
    )]
    repo: PathBuf,
    /// Configuration file (default: release.toml at the top of the repository, if any).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct VersionArgs {
    /// The release version, YYYY.MM (or YYYY.MM.N for a point release).
    #[arg(value_name = "VERSION")]
    version: ReleaseVersion,
    /// The Debian version (default: VERSION-1).
    #[arg(long, value_name = "DEBIAN_VERSION")]
    debian_version: Option<String>,
    /// Release even if the milestone has open merge requests or issues.
    #[arg(long)]
    allow_open: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Print the effective configuration, secrets redacted.
    Config,
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
        /// The release version.
        #[arg(long, value_name = "VERSION")]
        version: ReleaseVersion,
        /// The Debian version (default: VERSION-1).
        #[arg(long, value_name = "DEBIAN_VERSION")]
        debian_version: Option<String>,
        /// Start after this tag or commit instead of the style's own start.
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// Entry style (default: from the configuration).
        #[arg(long, value_enum)]
        style: Option<ChangelogStyle>,
        /// Only commits touching these paths (repeatable).
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
        /// One [ Author ] block per author (gbp dch --multimaint-merge).
        #[arg(long)]
        multimaint_merge: bool,
        /// Put the entry on top of debian/changelog instead of printing it.
        #[arg(long)]
        write: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RepoCommand {
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
    },
    /// Switch the live symlink back to a kept tree (default: the newest version older
    /// than the live one), after verifying it.
    Rollback {
        /// The version to switch to.
        #[arg(value_name = "VERSION")]
        version: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return invocation_error(&e),
    };
    let env = Env::from_process();
    match execute(cli, &env) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lava-release: {}", one_line(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// clap's errors as every other error: one line naming the culprit, status 2. Help and
/// the version are printed as clap prints them.
fn invocation_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    }
    eprintln!("lava-release: {}", clap_sentence(&e.to_string()));
    ExitCode::from(2)
}

/// clap's message without its usage and help hints, its lines joined: `error: the
/// following required arguments were not provided:\n  <VERSION>` becomes `the following
/// required arguments were not provided: <VERSION>`.
fn clap_sentence(message: &str) -> String {
    let mut sentence = String::new();
    for line in message.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        if sentence.is_empty() {
            sentence.push_str(line);
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            sentence.push_str(&format!(" ({tip})"));
        } else if sentence.ends_with(':') {
            sentence.push(' ');
            sentence.push_str(line);
        } else {
            sentence.push_str(", ");
            sentence.push_str(line);
        }
    }
    sentence
}

/// The error and its causes as one line, without repeating a cause already quoted.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn execute(cli: Cli, env: &Env) -> anyhow::Result<ExitCode> {
    let palette = Palette::for_stdout(env.no_color);
    let open = || -> anyhow::Result<(lava_git::Repository, Config, Source)> {
        let repo = lava_git::Repository::open(&cli.repo).map_err(|e| UsageError(e.to_string()))?;
        let (config, source) = Config::discover(cli.config.as_deref(), repo.workdir())
            .map_err(|e| UsageError(one_line(&e)))?;
        Ok((repo, config, source))
    };
    match cli.command {
        Command::Repo { command } => {
            let config = match lava_git::Repository::open(&cli.repo) {
                Ok(repo) => Config::discover(cli.config.as_deref(), repo.workdir()),
                Err(_) => Config::discover(cli.config.as_deref(), Path::new(".")),
            }
            .map_err(|e| UsageError(one_line(&e)))?
            .0;
            repo_command(&config, env, command)?;
        }
        Command::Config => {
            let (config, source) = match lava_git::Repository::open(&cli.repo) {
                Ok(repo) => Config::discover(cli.config.as_deref(), repo.workdir()),
                Err(_) => Config::discover(cli.config.as_deref(), Path::new(".")),
            }
            .map_err(|e| UsageError(one_line(&e)))?;
            match source {
                Source::Defaults => println!("# built-in defaults (no release.toml)"),
                Source::File(path) => println!("# defaults overlaid with {}", path.display()),
            }
            print!("{}", config.to_toml());
        }
        Command::RegistryPrune {
            pattern,
            repository,
            apply,
        } => {
            let (_, config, _) = open()?;
            let gl = lava_release_cli::stages::gitlab::gitlab_client(
                &config,
                env,
                &config.gitlab.project,
            )?;
            let mut request = lava_gitlab::PruneRequest::new(pattern);
            request.repository_pattern = repository;
            request.dry_run = !apply;
            let report = gl.registry_prune(&request)?;
            for tag in &report.matched {
                let done = if report.deleted.contains(tag) {
                    "deleted"
                } else {
                    "would delete"
                };
                println!("{done}  {}", tag.location);
            }
            println!(
                "{} tag(s) matched, {} deleted{}",
                report.matched.len(),
                report.deleted.len(),
                if apply {
                    ""
                } else {
                    " (dry run; pass --apply to delete)"
                }
            );
        }
        Command::Status { version, json } => {
            let (repo, _, _) = open()?;
            let journal = Journal::open(repo.git_dir(), &version.to_string())?;
            if json {
                println!("{}", journal.to_json());
            } else {
                print!("{}", ui::render_journal(&journal, &palette));
            }
        }
        Command::Plan { version, json } => {
            let (repo, mut config, source) = open()?;
            validate(&config, &source)?;
            config.gitlab.allow_open |= version.allow_open;
            let release = release(&version)?;
            let plan = plan::plan(&config, &release);
            let ctx = context(&repo, &config, env, &release);
            let statuses: Vec<Status> = plan
                .stages
                .iter()
                .map(|s| {
                    s.check(&ctx).unwrap_or_else(|e| Status::Blocked {
                        reason: one_line(&e),
                    })
                })
                .collect();
            if json {
                let stages: Vec<serde_json::Value> = plan
                    .stages
                    .iter()
                    .zip(&statuses)
                    .map(|(stage, status)| {
                        let mut v = serde_json::to_value(stage).expect("a stage is plain data");
                        let s = serde_json::to_value(status).expect("a status is plain data");
                        if let (Some(v), Some(s)) = (v.as_object_mut(), s.as_object()) {
                            v.extend(s.clone());
                        }
                        v
                    })
                    .collect();
                let out = serde_json::json!({
                    "version": release.version,
                    "debian_version": release.debian_version.to_string(),
                    "repository": repo.workdir(),
                    "stages": stages,
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).expect("plain data")
                );
            } else {
                let workdir = repo.workdir().display().to_string();
                print!("{}", ui::render_plan(&plan, &statuses, &workdir, &palette));
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
        } => {
            let dry_run = dry_run || simulate;
            let (repo, mut config, source) = open()?;
            validate(&config, &source)?;
            config.gitlab.allow_open |= version.allow_open;
            let release = release(&version)?;
            let plan = plan::plan(&config, &release);
            let opts = RunOptions {
                from,
                to,
                only,
                dry_run,
                yes,
            };
            // Validate the selection before anything, journal included, is touched.
            let selected = run::select(&plan, &opts)?;
            let mut ctx = context(&repo, &config, env, &release);
            ctx.yes = yes;
            ctx.simulate = simulate;
            // Likewise the secrets: a wrong passphrase stops the release here, not
            // after the first pushes.
            if !dry_run {
                run::open_secrets(selected, &ctx)?;
            }
            let mut journal = if dry_run {
                None
            } else {
                Some(Journal::open(repo.git_dir(), &release.version.to_string())?)
            };
            let mut reporter = TerminalReporter::new(palette, dry_run);
            match run::run(&plan, &ctx, journal.as_mut(), &opts, &mut reporter) {
                Ok(summary) => {
                    if dry_run {
                        println!(
                            "dry run: {} stage(s) to do, {} already done, {} check(s) passed; nothing changed",
                            summary.would_apply, summary.already_done, summary.passed
                        );
                    } else {
                        println!(
                            "{} stage(s) applied, {} already done, {} check(s) passed",
                            summary.applied, summary.already_done, summary.passed
                        );
                    }
                }
                Err(e) => {
                    // The reporter already showed the stage's failure; say it once more as
                    // the final line, with the way to resume.
                    let resume = match e.downcast_ref::<StageError>() {
                        Some(StageError::Blocked { .. } | StageError::NotConfirmed { .. }) => "",
                        Some(_) => "; fix the cause and run again to resume",
                        None => "",
                    };
                    return Err(anyhow::anyhow!("{}{resume}", one_line(&e)));
                }
            }
        }
        Command::Changelog {
            version,
            debian_version,
            since,
            style,
            paths,
            multimaint_merge,
            write,
        } => {
            let (repo, config, _) = open()?;
            let release = release(&VersionArgs {
                version,
                debian_version,
                allow_open: false,
            })?;
            let ctx = context(&repo, &config, env, &release);
            let req = EntryRequest {
                style: style.unwrap_or(config.changelog.style),
                since: since.as_deref(),
                paths: (!paths.is_empty()).then_some(paths.as_slice()),
                multimaint_merge: multimaint_merge || config.changelog.multimaint_merge,
            };
            let text = entry::render_entry(&ctx, &req)?;
            if write {
                let path = repo.workdir().join(CHANGELOG);
                let old = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                write_atomically(&path, lava_changelog::prepend(&text, &old).as_bytes())?;
                eprintln!(
                    "wrote the {} entry to {}",
                    release.debian_version,
                    path.display()
                );
            } else {
                print!("{text}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn repo_command(config: &Config, env: &Env, command: RepoCommand) -> anyhow::Result<()> {
    use lava_repo_sign::{Layout, Location, Site, SshOptions, Tree};
    let ssh = SshOptions {
        config: config.repo.ssh_config.clone(),
        ..SshOptions::default()
    };
    let now = std::time::SystemTime::now();
    match command {
        RepoCommand::Verify { location, keyring } => {
            let keyring = match keyring {
                Some(path) => lava_signing::Keyring::from_file(&path)
                    .with_context(|| format!("cannot read the keyring {}", path.display()))?,
                None => lava_release_cli::signing::release_keyring(&config.signing, env)?,
            };
            let statuses = if location.starts_with("http://") || location.starts_with("https://") {
                lava_repo_sign::verify_url(&location, &config.repo.suites, &keyring, now)?
            } else {
                let location = Location::parse(&location).map_err(|e| UsageError(e.to_string()))?;
                Tree::new(location, ssh).verify(&keyring, now)?
            };
            for status in statuses {
                println!("{status}");
            }
        }
        RepoCommand::Rollback { version } => {
            let site = config.repo.site.as_deref().ok_or_else(|| {
                UsageError(
                    "repo.site is not set in the configuration; name the publishing site".into(),
                )
            })?;
            let location = Location::parse(site).map_err(|e| UsageError(e.to_string()))?;
            let layout = Layout {
                current: config.repo.current.clone(),
                live: config.repo.live.clone(),
                archive: config.repo.archive.clone(),
            };
            let keyring = lava_release_cli::signing::release_keyring(&config.signing, env)?;
            let switch =
                Site::new(location, ssh, layout).rollback(version.as_deref(), &keyring, now)?;
            let target = |t: &Option<String>| t.clone().unwrap_or_else(|| "nothing".into());
            if switch.switched {
                println!(
                    "{} -> {} (was {})",
                    config.repo.live,
                    target(&switch.after.target),
                    target(&switch.before.target)
                );
            } else {
                println!(
                    "{} -> {} already",
                    config.repo.live,
                    target(&switch.after.target)
                );
            }
            for status in switch.suites {
                println!("{status}");
            }
        }
    }
    Ok(())
}

/// The configuration as a release needs it, or a usage error naming the file and key.
fn validate(config: &Config, source: &Source) -> Result<(), UsageError> {
    config.validate().map_err(|e| {
        let file = match source {
            Source::File(path) => format!("configuration file {}", path.display()),
            Source::Defaults => "the built-in configuration".into(),
        };
        UsageError(format!("{file}: {e}"))
    })
}

fn release(args: &VersionArgs) -> anyhow::Result<Release> {
    let debian_version = debian_version(args.version, args.debian_version.as_deref())
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(Release {
        version: args.version,
        debian_version,
    })
}

fn context<'a>(
    repo: &'a lava_git::Repository,
    config: &'a Config,
    env: &'a Env,
    release: &'a Release,
) -> Context<'a> {
    Context {
        repo,
        config,
        env,
        release,
        now: time::OffsetDateTime::now_utc(),
        yes: false,
        simulate: false,
        signer: std::cell::OnceCell::new(),
        debian_signer: std::cell::OnceCell::new(),
    }
}
