//! The verify-release benchmark: `lava-release verify-release` on a whole rehearsed
//! release (two apt suites over HTTP, six image tags, the tag on its remote, the
//! pipeline on the GitLab stand-in), side by side with what a user would run by hand to
//! check the same: `curl` the manifest and its signature, `gpgv`, a shallow `git fetch`
//! of the tag and `git verify-tag`, `curl` the pipeline, `apt-get update` of each suite
//! (which checks its signature and indices) and `skopeo inspect --raw` of each image
//! tag. The peer does less than ours: it compares no hash with the manifest.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::{cargo, check, fixture_options, median, require_tools};

/// At least as fast as the tools run by hand.
const TARGET: f64 = 1.0;

/// `cargo xtask bench verify-release [--iterations N]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (iterations, _) = fixture_options(args, "verify-release", 5)?;
    require_tools(&[
        ("curl", "curl"),
        ("gpgv", "gpgv"),
        ("gpg", "gnupg"),
        ("git", "git"),
        ("apt-get", "apt"),
        ("skopeo", "skopeo"),
        ("reprepro", "reprepro"),
        ("docker-registry", "docker-registry"),
    ])?;
    check(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "lava-release-cli",
        "--bin",
        "lava-release",
    ]))
    .context("building lava-release failed")?;
    let bin = tests::bin::target_dir().join("release/lava-release");
    let version = tests::rehearsal::DEFAULT_VERSION;
    println!("verify-release benchmark: rehearsing release {version} against the stand-ins");
    let rehearsal = tests::rehearsal::Rehearsal::setup(&bin, version)?;
    rehearsal.release()?;
    let out = rehearsal.verify_release(&["--json"])?;
    anyhow::ensure!(
        out.status.success(),
        "verify-release fails on the rehearsal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let manifest_url = report["manifest_url"]
        .as_str()
        .context("no manifest_url")?
        .to_owned();
    let state = rehearsal.sandbox().repo().join(".git/lava-release");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(
        state.join(format!("lava-{version}.manifest.json")),
    )?)?;
    let scratch = tempfile::tempdir()?;
    let peer = Peer::new(scratch.path(), &rehearsal, &manifest, &manifest_url)?;
    println!(
        "  {} checks: the signature, the tag, the pipeline, {} apt suites, {} image tags",
        report["checks"].as_array().map_or(0, Vec::len),
        peer.suites.len(),
        peer.images.len()
    );
    let (mut t_ours, mut t_peer) = (Vec::new(), Vec::new());
    for i in 0..=iterations {
        let start = Instant::now();
        let out = rehearsal.verify_release(&[])?;
        anyhow::ensure!(out.status.success(), "verify-release failed");
        if i > 0 {
            t_ours.push(start.elapsed());
        }
        let start = Instant::now();
        peer.run()?;
        if i > 0 {
            t_peer.push(start.elapsed());
        }
    }
    let (ours, theirs) = (median(&mut t_ours), median(&mut t_peer));
    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
    println!("  {iterations} iteration(s), median:");
    println!(
        "  lava-release verify-release (every claim, hashes compared)  {:>8.0} ms",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "  curl, gpgv, git fetch + verify-tag, apt-get update, skopeo   {:>8.0} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!("  peer / ours: {ratio:.2}x");
    if ratio < TARGET {
        bail!("verify-release benchmark missed its target: {ratio:.2}x (target >= {TARGET}x)");
    }
    println!("  target met: at least as fast as the tools run by hand");
    Ok(())
}

/// The commands a user runs by hand, prepared once.
struct Peer {
    dir: std::path::PathBuf,
    manifest_url: String,
    keyring: std::path::PathBuf,
    gnupg_home: std::path::PathBuf,
    git: String,
    tag: String,
    pipeline_url: String,
    suites: Vec<(String, String)>,
    images: Vec<String>,
    authfile: std::path::PathBuf,
}

impl Peer {
    fn new(
        dir: &Path,
        rehearsal: &tests::rehearsal::Rehearsal,
        manifest: &serde_json::Value,
        manifest_url: &str,
    ) -> anyhow::Result<Self> {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let keyring = rehearsal.apt().public_key().to_owned();
        // git verify-tag asks gpg, which needs the key imported once.
        let gnupg_home = dir.join("gnupg");
        std::fs::create_dir_all(&gnupg_home)?;
        check(
            Command::new("gpg")
                .arg("--homedir")
                .arg(&gnupg_home)
                .args(["--batch", "--quiet", "--import"])
                .arg(&keyring),
        )?;
        let project = manifest["project"]["path"]
            .as_str()
            .unwrap_or_default()
            .replace('/', "%2F");
        let pipeline_url = format!(
            "{}/api/v4/projects/{project}/pipelines/{}",
            text(&manifest["project"]["gitlab"]),
            manifest["pipeline"]["id"]
        );
        let suites = manifest["suites"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (text(&s["repository"]), text(&s["suite"])))
            .collect();
        let images = manifest["images"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| text(&i["reference"]))
            .collect();
        Ok(Self {
            dir: dir.to_owned(),
            manifest_url: manifest_url.to_owned(),
            keyring,
            gnupg_home,
            git: text(&manifest["project"]["git"]),
            tag: text(&manifest["tag"]["name"]),
            pipeline_url,
            suites,
            images,
            authfile: rehearsal.docker_authfile().to_owned(),
        })
    }

    fn run(&self) -> anyhow::Result<()> {
        let (json, asc) = (self.dir.join("m.json"), self.dir.join("m.json.asc"));
        check(
            Command::new("curl")
                .args(["-sfL", "-o"])
                .arg(&json)
                .arg(&self.manifest_url),
        )?;
        check(
            Command::new("curl")
                .args(["-sfL", "-o"])
                .arg(&asc)
                .arg(format!("{}.asc", self.manifest_url)),
        )?;
        check(
            Command::new("gpgv")
                .arg("--keyring")
                .arg(&self.keyring)
                .arg(&asc)
                .arg(&json),
        )?;
        let repo = self.dir.join("tag.git");
        let _ = std::fs::remove_dir_all(&repo);
        check(
            Command::new("git")
                .args(["init", "--quiet", "--bare"])
                .arg(&repo),
        )?;
        let refspec = format!("refs/tags/{0}:refs/tags/{0}", self.tag);
        check(Command::new("git").arg("-C").arg(&repo).args([
            "fetch",
            "--quiet",
            "--depth=1",
            &self.git,
            &refspec,
        ]))?;
        check(
            Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["verify-tag", &self.tag])
                .env("GNUPGHOME", &self.gnupg_home),
        )?;
        check(Command::new("curl").args(["-sf", &self.pipeline_url]))?;
        for (url, suite) in &self.suites {
            let out = tests::rehearsal_repo::apt_update(url, suite, &self.keyring)?;
            anyhow::ensure!(out.status.success(), "apt-get update {suite} failed");
        }
        for image in &self.images {
            check(
                Command::new("skopeo")
                    .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
                    .arg(&self.authfile)
                    .arg(format!("docker://{image}")),
            )?;
        }
        Ok(())
    }
}
