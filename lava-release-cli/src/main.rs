//! `lava-release`: the command-line front end. It parses the command line, hands it to
//! [`lava_release_cli::cli::execute`] (each subcommand a call of the embedding API,
//! `lava_release_cli::ops`), and turns errors into one line and an exit status
//! (1: the release failed or is blocked, 2: a mistake in the invocation or
//! configuration).

use std::process::ExitCode;

use clap::Parser as _;

use lava_release_cli::cli::{Cli, execute};
use lava_release_cli::ops::one_line;
use lava_release_cli::step::Verbosity;
use lava_release_cli::{Env, UsageError};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return invocation_error(&e),
    };
    let env = Env::from_process();
    let verbose = cli.verbosity() == Verbosity::Verbose;
    match execute(cli, env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Several problems found at once are one line each.
            for line in one_line(&e).lines() {
                eprintln!("lava-release: {line}");
            }
            // Verbose: each cause on a line of its own, outermost first.
            if verbose {
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
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
