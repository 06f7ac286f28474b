//! Promotes LAVA's image set between two registries, as `lava-release` would: the
//! benchmark's and the crash test's child process.
//!
//! `promote --source HOST --target HOST --version V [--user U] [--check] [--concurrency N]`;
//! the password comes from `LAVA_DOCKER_PASSWORD`.

// Like lava-release-cli, this front end reads its environment.
#![allow(clippy::disallowed_methods)]

use lava_docker::{CredentialStore, Credentials, ImagesConfig, Options, Promoter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut source, mut target, mut version, mut user) = (None, None, None, None);
    let (mut check, mut concurrency) = (false, 4);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--source" => source = args.next(),
            "--target" => target = args.next(),
            "--version" => version = args.next(),
            "--user" => user = args.next(),
            "--check" => check = true,
            "--concurrency" => concurrency = args.next().ok_or("--concurrency N")?.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let (source, target, version) = (
        source.ok_or("--source HOST")?,
        target.ok_or("--target HOST")?,
        version.ok_or("--version V")?,
    );
    let mut credentials = CredentialStore::new();
    if let Some(user) = user {
        let password =
            std::env::var("LAVA_DOCKER_PASSWORD").map_err(|_| "LAVA_DOCKER_PASSWORD is not set")?;
        credentials.insert(&target, Credentials::new(user, password));
    }
    let set = ImagesConfig {
        source: format!("{source}/lava/lava/{{arch}}/{{image}}:{{version}}"),
        target: format!("{target}/lavasoftware/{{arch}}-{{image}}"),
        list: format!("{target}/lavasoftware/{{image}}"),
        ..ImagesConfig::default()
    }
    .expand(&version)?;
    let promoter = Promoter::new(Options {
        credentials,
        concurrency,
        ..Options::default()
    })?;
    if check {
        print!("{}", promoter.check(&set)?);
    } else {
        let report = promoter.apply(&set)?;
        println!(
            "moved {} unchanged {} copied {} blobs ({} bytes) mounted {} present {} retries {}",
            report.moved.len(),
            report.unchanged.len(),
            report.blobs_copied,
            report.bytes_copied,
            report.blobs_mounted,
            report.blobs_present,
            report.retries
        );
    }
    Ok(())
}
