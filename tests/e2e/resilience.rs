//! The whole release under stress: killed at every stage boundary and inside every
//! stage that publishes, faults from the stand-ins, bad input through the CLI. After a
//! crash or a fault, a re-run completes the release, and nothing is done twice.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::gitlab::{Fault, FaultKind, Recorded};
use tests::rehearsal::{DEFAULT_VERSION, Options, Publishing, Rehearsal};
use tests::sandbox::{Sandbox, text};

const V: &str = DEFAULT_VERSION;

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The stages of the plan, as `plan --json` lists them.
fn plan(r: &Rehearsal) -> Vec<Value> {
    let out = r.run(&["plan", V, "--json"], None).unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["stages"].as_array().unwrap().clone()
}

/// The failpoints inside stages (`STAGE:POINT`), read from lava-release's source where
/// `ctx.failpoint("...")` names them, in source order: one added to a stage is crashed
/// at without a change here.
/// The failpoints of `debian-upload`'s dget flow (the download, the signing).
const DGET_FAILPOINTS: &[&str] = &["debian-upload:download-partial", "debian-upload:dsc-signed"];

fn in_stage_failpoints() -> Vec<String> {
    let mut points = Vec::new();
    let mut dirs = vec![tests::bin::workspace().join("lava-release-cli/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for piece in source.split("failpoint(\"").skip(1) {
                    let point = piece.split('"').next().unwrap_or_default();
                    if point.contains(':') && !points.iter().any(|p| p == point) {
                        points.push(point.to_owned());
                    }
                }
            }
        }
    }
    // In the order a stage reaches them.
    points
}

fn expect_crash(out: &Output, point: &str) {
    assert_eq!(out.status.code(), Some(86), "{point}: {}", show(out));
    assert!(
        text(&out.stderr).contains(&format!("failpoint `{point}` reached")),
        "{point}: {}",
        show(out)
    );
}

fn rehearsal_of(publishing: Publishing) -> Rehearsal {
    Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            publishing,
            ..Options::default()
        },
    )
    .unwrap()
}

/// The stages of a rehearsal's plan, by name.
fn stage_names(r: &Rehearsal) -> Vec<String> {
    plan(r)
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_failpoint_inside_a_stage_is_in_a_rehearsal() {
    let mut names = stage_names(&rehearsal_of(Publishing::Reprepro));
    names.extend(stage_names(&rehearsal_of(Publishing::Pipeline)));
    let points = in_stage_failpoints();
    assert!(points.len() >= 7, "{points:?}");
    for point in &points {
        let stage = point.split(':').next().unwrap();
        assert!(
            names.iter().any(|n| n == stage),
            "failpoint `{point}` is inside stage `{stage}`, which neither rehearsal's plan has: {names:?}"
        );
    }
}

#[test]
fn killed_at_every_stage_boundary_the_written_process_completes_once() {
    // Reprepro's stages and the Debian upload's besides the others.
    killed_everywhere(Publishing::Reprepro);
}

#[test]
fn killed_at_every_stage_boundary_lava_today_completes_once() {
    // Two CI jobs' artifacts and the publishing pipeline.
    killed_everywhere(Publishing::Pipeline);
}

/// Kills the release of `publishing` before, inside and after every stage in turn, then
/// re-runs it: the release completes, each thing done exactly once.
fn killed_everywhere(publishing: Publishing) {
    let started = Instant::now();
    let r = rehearsal_of(publishing);
    let setup = started.elapsed();
    let stages = plan(&r);
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    // `debian-upload` fetches and signs (reaching its library's failpoints) in the dget
    // flow only; in the gbp flow it uploads what `debian-sign` signed.
    let fetches = stages.iter().any(|s| {
        s["name"] == "debian-upload" && s["description"].as_str().unwrap().starts_with("fetch ")
    });
    let points: Vec<String> = in_stage_failpoints()
        .into_iter()
        .filter(|p| names.contains(&p.split(':').next().unwrap()))
        .filter(|p| fetches || !DGET_FAILPOINTS.contains(&p.as_str()))
        .collect();

    let mut crashes = 0;
    for stage in &stages {
        let name = stage["name"].as_str().unwrap();
        let to = ["run", V, "--yes", "--to", name];
        let before = format!("before:{name}");
        let out = r.run(&to, Some(&before)).unwrap();
        if stage["check_only"] == true {
            // Nothing to apply: the check passes and the run ends there.
            assert_eq!(out.status.code(), Some(0), "{before}: {}", show(&out));
            continue;
        }
        // No stage is done before its turn: the crash comes before its apply.
        expect_crash(&out, &before);
        crashes += 1;
        let inside: Vec<&String> = points
            .iter()
            .filter(|p| p.starts_with(&format!("{name}:")))
            .collect();
        for point in &inside {
            let out = r.run(&to, Some(point)).unwrap();
            expect_crash(&out, point);
            crashes += 1;
        }
        // Applied, not yet checked nor journaled.
        let applied = format!("applied:{name}");
        let out = r.run(&to, Some(&applied)).unwrap();
        match out.status.code() {
            Some(86) => {
                expect_crash(&out, &applied);
                crashes += 1;
            }
            // A crash inside the stage may leave it done: then the re-run finds it so.
            Some(0) if !inside.is_empty() => {
                assert!(
                    text(&out.stdout).contains("0 stage(s) applied"),
                    "{applied}: {}",
                    show(&out)
                );
            }
            _ => panic!("{applied}: {}", show(&out)),
        }
    }
    let crashed = started.elapsed();
    let out = r.run(&["run", V, "--yes"], None).unwrap();
    assert!(out.status.success(), "{}", show(&out));

    // Every stage done, each with its evidence (`plan` on a finished release).
    for stage in plan(&r) {
        assert_eq!(stage["status"], "done", "{stage}");
        assert!(
            stage["evidence"]
                .as_str()
                .is_some_and(|e| !e.trim().is_empty()),
            "{stage}"
        );
    }

    // The journal: no stage applied twice, none failed; each one that applies
    // something was applied, or found done after a crash.
    let journal = r.journal().unwrap();
    let mut outcomes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for event in journal["events"].as_array().unwrap() {
        outcomes
            .entry(event["stage"].as_str().unwrap())
            .or_default()
            .push(event["outcome"].as_str().unwrap());
    }
    for stage in &stages {
        let name = stage["name"].as_str().unwrap();
        let seen = outcomes.get(name).cloned().unwrap_or_default();
        let count = |o: &str| seen.iter().filter(|s| **s == o).count();
        assert!(
            count("failed") == 0 && count("blocked") == 0,
            "{name}: {seen:?}"
        );
        if stage["check_only"] == true {
            assert!(count("passed") >= 1, "{name}: {seen:?}");
        } else {
            assert!(count("applied") <= 1, "{name}: {seen:?}");
            assert!(
                count("applied") + count("already-done") >= 1,
                "{name}: {seen:?}"
            );
        }
    }

    assert_exactly_once(&r);
    let report = r.checks().unwrap();
    assert!(report.passed(), "{report}");
    assert!(
        report
            .check("signed tag (git verify-tag)")
            .is_some_and(|c| c.passed),
        "{report}"
    );
    eprintln!(
        "resilience ({}): setup {:.1}s, {crashes} crashes in {} stages {:.1}s, total {:.1}s",
        publishing.name(),
        setup.as_secs_f64(),
        stages.len(),
        (crashed - setup).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// What a finished release holds exactly once: the tag, the release commit, the
/// changelog entry, the GitLab release, the milestone's closing, the lava-lab change,
/// each image tag at CI's digest, the published tree.
fn assert_exactly_once(r: &Rehearsal) {
    let sb = r.sandbox();
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    let head = head.trim();
    let ls = Command::new("git")
        .arg("ls-remote")
        .arg("--tags")
        .arg(sb.origin())
        .output()
        .unwrap();
    let ls = text(&ls.stdout);
    let tag_lines: Vec<&str> = ls
        .lines()
        .filter(|l| l.ends_with(&format!("\trefs/tags/{V}")))
        .collect();
    assert_eq!(tag_lines.len(), 1, "{ls}");
    let local_tag = sb
        .git(&["rev-parse", &format!("refs/tags/{V}")], None)
        .unwrap();
    assert!(tag_lines[0].starts_with(local_tag.trim()), "{ls}");
    assert!(
        ls.lines()
            .any(|l| l == format!("{head}\trefs/tags/{V}^{{}}")),
        "the tag on origin is not at the release commit {head}: {ls}"
    );

    let subjects = Command::new("git")
        .arg("--git-dir")
        .arg(sb.origin())
        .args(["log", "--format=%s", "master"])
        .output()
        .unwrap();
    let subjects = text(&subjects.stdout);
    let release_commits = subjects
        .lines()
        .filter(|s| *s == format!("LAVA Software {V} release"))
        .count();
    assert_eq!(release_commits, 1, "{subjects}");
    let changelog = std::fs::read_to_string(sb.repo().join("debian/changelog")).unwrap();
    assert_eq!(changelog.matches(&format!("lava ({V}-1) ")).count(), 1);

    let gitlab = sb.gitlab().unwrap();
    let releases = gitlab.releases();
    assert_eq!(
        releases.iter().filter(|(tag, _, _)| tag == V).count(),
        1,
        "{releases:?}"
    );
    let writes = gitlab.writes();
    let ok = |w: &&Recorded| (200..300).contains(&w.status);
    let created: Vec<_> = writes
        .iter()
        .filter(ok)
        .filter(|w| w.method == "POST" && w.path.ends_with("/releases"))
        .collect();
    assert_eq!(created.len(), 1, "{writes:#?}");
    assert!(
        !writes
            .iter()
            .any(|w| w.method == "PUT" && w.path.contains("/releases/")),
        "{writes:#?}"
    );
    let closed: Vec<_> = writes
        .iter()
        .filter(ok)
        .filter(|w| {
            w.method == "PUT" && w.path.contains("/milestones/") && w.body.contains("close")
        })
        .collect();
    assert_eq!(closed.len(), 1, "{writes:#?}");
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("closed"));

    let lab = Command::new("git")
        .arg("--git-dir")
        .arg(sb.lab())
        .args(["log", "--format=%s", "refs/for/master"])
        .output()
        .unwrap();
    let lab = text(&lab.stdout);
    assert_eq!(lab.lines().filter(|s| s.contains(V)).count(), 1, "{lab}");

    let layout = r.image_layout();
    for image in ["lava-dispatcher", "lava-server"] {
        for arch in ["amd64", "aarch64"] {
            for tag in [V, "latest"] {
                let reference = format!("lavasoftware/{arch}-{image}:{tag}");
                assert_eq!(
                    r.published_digest(&reference).unwrap(),
                    layout.image(image, arch).digest,
                    "{reference}"
                );
            }
        }
    }
    assert_eq!(r.apt().live_target().unwrap(), format!("archive/{V}"));
}

#[test]
fn faults_from_the_stand_ins_are_retried_or_stop_the_run_in_one_sentence() {
    let started = Instant::now();
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            registry_proxy: true,
            ..Options::default()
        },
    )
    .unwrap();
    let gitlab = r.sandbox().gitlab().unwrap();
    // Passing faults: each is retried and the run goes on.
    gitlab.add_fault(
        Fault::on("/milestones", FaultKind::Status(502))
            .method("GET")
            .times(2),
    );
    gitlab.add_fault(Fault::on("/issues", FaultKind::Drop));
    gitlab.add_fault(Fault::on(
        "/pipelines",
        FaultKind::TooManyRequests { retry_after: 1 },
    ));
    gitlab.add_fault(Fault::on(
        "/artifacts",
        FaultKind::Slow(Duration::from_millis(1500)),
    ));
    let proxy = r.registry_proxy().unwrap();
    proxy.inject(tests::registry::Fault::DropMidBody {
        method: "GET".into(),
        path_contains: "/blobs/".into(),
        after: 0,
        times: 1,
    });
    // A fault that outlasts the retries: the run stops there, in one sentence.
    gitlab.add_fault(
        Fault::on("/releases", FaultKind::Status(502))
            .method("POST")
            .times(6),
    );
    let first = r.run(&["run", V, "--yes"], None).unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", show(&first));
    let stderr = text(&first.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let url = format!("{}/api/v4/projects/lava%2Flava/releases", gitlab.url());
    assert!(
        last.starts_with("lava-release: stage `release-notes` failed: GitLab kept answering 502")
            && last.contains(&url)
            && last.ends_with("run again to resume"),
        "{}",
        show(&first)
    );
    assert!(gitlab.releases().iter().all(|(tag, _, _)| tag != V));
    assert_eq!(gitlab.milestone_state(V).as_deref(), Some("active"));
    assert_eq!(proxy.fired(), 1, "{:?}", proxy.requests());

    // The re-run loses its connection while closing the milestone, and completes.
    gitlab.add_fault(Fault::on("/milestones/", FaultKind::Drop).method("PUT"));
    let second = r.run(&["run", V, "--yes"], None).unwrap();
    assert!(second.status.success(), "{}", show(&second));
    assert_eq!(gitlab.pending_faults(), 0);
    let log = gitlab.requests();
    for fault in ["fault: 502", "fault: 429", "fault: dropped"] {
        assert!(log.iter().any(|r| r.auth == fault), "{fault}: {log:#?}");
    }
    assert_exactly_once(&r);
    let report = r.checks().unwrap();
    assert!(report.passed(), "{report}");
    eprintln!(
        "resilience: faults test {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// One bad invocation: its arguments, configuration and environment, and what the
/// one line on stderr must name.
struct Bad {
    name: &'static str,
    args: Vec<String>,
    /// The configuration file's text; `None` passes no `--config` (the arguments may).
    config: Option<String>,
    env: Vec<(&'static str, &'static str)>,
    /// `-C` instead of the sandbox's repository.
    repo: Option<&'static str>,
    /// Spoils a fresh sandbox of its own (a dirty tree, a broken changelog), whose
    /// configuration the case then uses.
    spoil: Option<fn(&Sandbox)>,
    code: i32,
    names: Vec<String>,
}

impl Bad {
    fn new(name: &'static str, args: &[&str], code: i32, names: &[&str]) -> Self {
        Self {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            config: None,
            env: Vec::new(),
            repo: None,
            spoil: None,
            code,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn config(mut self, text: String) -> Self {
        self.config = Some(text);
        self
    }

    fn env(mut self, name: &'static str, value: &'static str) -> Self {
        self.env.push((name, value));
        self
    }

    fn spoil(mut self, spoil: fn(&Sandbox)) -> Self {
        self.spoil = Some(spoil);
        self
    }
}

fn commit_all(sb: &Sandbox, message: &str) {
    sb.git(&["add", "--all"], None).unwrap();
    sb.git(&["commit", "--quiet", "-m", message], None).unwrap();
}

/// `text` with its table `[name]` replaced by `table`.
fn with_table(text: &str, name: &str, table: &str) -> String {
    let header = format!("[{name}]");
    let start = text.find(&header).expect("the table exists");
    let end = text[start..].find("\n\n").map_or(text.len(), |i| start + i);
    format!("{}{}{}", &text[..start], table.trim_end(), &text[end..])
}

/// An ssh client configuration for `sshd` whose known_hosts holds another key for it.
fn wrong_host_key(sshd: &tests::sshd::Sshd, dir: &std::path::Path) -> std::path::PathBuf {
    let other = dir.join("other_host_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let key = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let known = dir.join("wrong_known_hosts");
    std::fs::write(&known, format!("[127.0.0.1]:{} {key}\n", sshd.port())).unwrap();
    let config = std::fs::read_to_string(sshd.ssh_config()).unwrap().replace(
        &sshd.known_hosts().display().to_string(),
        &known.display().to_string(),
    );
    let path = dir.join("wrong_ssh_config");
    std::fs::write(&path, config).unwrap();
    path
}

/// Everything a bad invocation could have changed.
fn world(sb: &Sandbox) -> Vec<String> {
    let git = |args: &[&str]| sb.git(args, None).unwrap();
    let ls = crate::git_stages::ls_remote;
    vec![
        git(&["rev-parse", "HEAD"]),
        git(&["tag", "--list"]),
        git(&["status", "--porcelain", "--ignored"]),
        std::fs::read_to_string(sb.repo().join("debian/changelog")).unwrap_or_default(),
        ls(&sb.origin()),
        ls(&sb.fork()),
        ls(&sb.lab()),
        format!("{:?}", sb.gitlab().unwrap().writes()),
    ]
}

#[test]
fn bad_input_is_one_sentence_naming_the_culprit_and_changes_nothing() {
    let started = Instant::now();
    let sb = crate::release::sandbox();
    let dir = sb.path();
    let base = std::fs::read_to_string(sb.config()).unwrap();
    let (secret, _) = sb.release_key();
    let secret = secret.display().to_string();
    let token = dir.join("gitlab-token").display().to_string();
    let release_fpr = base
        .lines()
        .find_map(|l| l.strip_prefix("release_key = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_owned();
    let read_only = dir.join("gitlab-token-read-only");
    std::fs::write(&read_only, tests::sandbox::GITLAB_READ_ONLY_TOKEN).unwrap();
    let read_only = read_only.display().to_string();
    let reporter = dir.join("gitlab-token-reporter");
    std::fs::write(&reporter, tests::sandbox::GITLAB_REPORTER_TOKEN).unwrap();
    let reporter = reporter.display().to_string();
    // A mail server whose password the configuration gets wrong.
    let smtp =
        tests::smtp::SmtpSink::start(tests::smtp::Security::StartTls, "lava-release", "right")
            .unwrap();
    let smtp_section = smtp
        .announce_section(&dir.join("smtp-password"), false)
        .unwrap();
    std::fs::write(dir.join("smtp-password"), "wrong\n").unwrap();

    // A release key with a passphrase, and a file that is no key at all.
    let created = std::time::SystemTime::now() - Duration::from_secs(3600);
    let locked = lava_signing::keygen::KeySpec::new(
        "LAVA Release (locked)",
        "locked@lavasoftware.example",
        created,
    )
    .passphrase("correct horse battery staple")
    .generate()
    .unwrap();
    let locked_key = dir.join("keys/locked.key");
    let locked_pub = dir.join("keys/locked.pub");
    locked.write_secret_key(&locked_key).unwrap();
    locked.write_public_key(&locked_pub).unwrap();
    let locked_signing = |extra: &str| {
        with_table(
            &base,
            "signing",
            &format!(
                "[signing]\nrelease_key = \"{}\"\nkey_file = {:?}\npublic_key = {:?}\n{extra}",
                locked.fingerprint().to_hex(),
                locked_key.display().to_string(),
                locked_pub.display().to_string(),
            ),
        )
    };
    // An expired and a revoked release key.
    let key_signing = |name: &str, spec: lava_signing::keygen::KeySpec| {
        let key = spec.generate().unwrap();
        let (secret, public) = (
            dir.join(format!("keys/{name}.key")),
            dir.join(format!("keys/{name}.pub")),
        );
        key.write_secret_key(&secret).unwrap();
        key.write_public_key(&public).unwrap();
        let fpr = key.fingerprint().to_hex();
        let config = with_table(
            &base,
            "signing",
            &format!(
                "[signing]\nrelease_key = \"{fpr}\"\nkey_file = {:?}\npublic_key = {:?}\n",
                secret.display().to_string(),
                public.display().to_string(),
            ),
        );
        (fpr, config)
    };
    let (expired_fpr, expired_config) = key_signing(
        "expired",
        lava_signing::keygen::KeySpec::new(
            "LAVA Release (expired)",
            "expired@lavasoftware.example",
            std::time::SystemTime::now() - Duration::from_secs(3 * 86400),
        )
        .expires_after(Duration::from_secs(86400)),
    );
    let (revoked_fpr, revoked_config) = key_signing(
        "revoked",
        lava_signing::keygen::KeySpec::new(
            "LAVA Release (revoked)",
            "revoked@lavasoftware.example",
            created,
        )
        .revoked(),
    );
    let garbage = dir.join("keys/garbage.key");
    std::fs::write(&garbage, "this is not an OpenPGP key\n").unwrap();
    let garbage = garbage.display().to_string();

    // A mail server section with the right password; a dput configuration without the
    // profile; an upload queue; a repository host whose key is not the one known.
    let smtp_right = smtp
        .announce_section(&dir.join("smtp-password-right"), false)
        .unwrap();
    let dput_cf = dir.join("dput.cf");
    std::fs::write(
        &dput_cf,
        "[rehearsal]\nmethod = local\nincoming = /nonexistent/queue\n",
    )
    .unwrap();
    let dput_cf = dput_cf.display().to_string();
    let queue = dir.join("queue");
    std::fs::create_dir_all(&queue).unwrap();
    let queue = queue.display().to_string();
    let expired_key = dir.join("keys/expired.key").display().to_string();
    let sshd = tests::sshd::Sshd::start().unwrap();
    let wrong_host_key = wrong_host_key(&sshd, dir);

    let unknown_stage = "unknown stage `nosuch`; the stages are: preflight";
    let cases = vec![
        Bad::new(
            "month 13",
            &["run", "2024.13", "--yes"],
            2,
            &["`2024.13`", "the month must be 01 to 12"],
        ),
        Bad::new(
            "two-digit year",
            &["run", "24.01", "--yes"],
            2,
            &["`24.01`", "four digits"],
        ),
        Bad::new(
            "one-digit month",
            &["run", "2024.1", "--yes"],
            2,
            &["`2024.1`", "two digits"],
        ),
        Bad::new(
            "a v prefix",
            &["run", "v2024.01", "--yes"],
            2,
            &["`v2024.01`"],
        ),
        Bad::new(
            "a point release 01",
            &["plan", "2024.02.01"],
            2,
            &["`2024.02.01`", "leading zeros"],
        ),
        Bad::new(
            "status of a bad version",
            &["status", "2024.13"],
            2,
            &["`2024.13`"],
        ),
        Bad::new("no version", &["run", "--yes"], 2, &["<VERSION>"]),
        Bad::new(
            "Debian version of another release",
            &["run", V, "--debian-version", "2024.03-1", "--yes"],
            2,
            &["2024.03-1"],
        ),
        Bad::new(
            "not a Debian version",
            &["run", V, "--debian-version", "2024.02-1 beta", "--yes"],
            2,
            &["2024.02-1 beta"],
        ),
        Bad::new(
            "unknown --from",
            &["run", V, "--yes", "--from", "nosuch"],
            2,
            &[unknown_stage],
        ),
        Bad::new(
            "unknown --to",
            &["run", V, "--yes", "--to", "nosuch"],
            2,
            &[unknown_stage],
        ),
        Bad::new(
            "unknown --only",
            &["run", V, "--yes", "--only", "nosuch"],
            2,
            &[unknown_stage],
        ),
        Bad::new(
            "--only with --from",
            &[
                "run",
                V,
                "--yes",
                "--only",
                "changelog",
                "--from",
                "preflight",
            ],
            2,
            &["--only", "--from"],
        ),
        Bad::new(
            "--from after --to",
            &["run", V, "--yes", "--from", "push-tag", "--to", "changelog"],
            2,
            &["--from push-tag comes after --to changelog"],
        ),
        Bad::new(
            "unknown flag",
            &["run", V, "--yes", "--force-push"],
            2,
            &["'--force-push'"],
        ),
        Bad::new("unknown subcommand", &["publish", V], 2, &["'publish'"]),
        Bad::new(
            "missing configuration file",
            &["run", V, "--yes", "--config", "/nonexistent/release.toml"],
            2,
            &["/nonexistent/release.toml"],
        ),
        Bad::new(
            "unknown configuration key",
            &["run", V, "--yes"],
            2,
            &["unknown field `styel`"],
        )
        .config("[changelog]\nstyel = \"gbp\"\n".into()),
        Bad::new(
            "a number as text",
            &["run", V, "--yes"],
            2,
            &["line 2", "\"soon\""],
        )
        .config("[gitlab]\nci_timeout_secs = \"soon\"\n".into()),
        Bad::new(
            "unknown changelog style",
            &["plan", V],
            2,
            &["unknown variant `fancy`"],
        )
        .config("[changelog]\nstyle = \"fancy\"\n".into()),
        Bad::new(
            "release key not a fingerprint",
            &["run", V, "--yes"],
            2,
            &["signing.release_key", "`DEADBEEF`"],
        )
        .config("[signing]\nrelease_key = \"DEADBEEF\"\n".into()),
        Bad::new(
            "repository site without incoming",
            &["run", V, "--yes"],
            2,
            &["repo.incoming"],
        )
        .config(base.replace(
            "[repo]\nmode = \"none\"",
            "[repo]\nmode = \"reprepro\"\nsite = \"/srv/apt\"",
        )),
        Bad::new(
            "repository site not a location",
            &["plan", V],
            2,
            &["repo.site", "ftp://apt.example/srv"],
        )
        .config(base.replace(
            "[repo]\nmode = \"none\"",
            "[repo]\nmode = \"reprepro\"\nsite = \"ftp://apt.example/srv\"\nincoming = \"/srv/incoming\"",
        )),
        Bad::new(
            "missing key file",
            &["run", V, "--yes"],
            1,
            &["/nonexistent/release.key"],
        )
        .config(base.replace(
            &format!("key_file = {secret:?}"),
            "key_file = \"/nonexistent/release.key\"",
        )),
        Bad::new(
            "key file that is no key",
            &["run", V, "--yes"],
            1,
            &[garbage.as_str()],
        )
        .config(base.replace(
            &format!("key_file = {secret:?}"),
            &format!("key_file = {garbage:?}"),
        )),
        Bad::new(
            "wrong passphrase",
            &["run", V, "--yes"],
            1,
            &["wrong passphrase for key"],
        )
        .config(locked_signing("passphrase_env = \"LR_RELEASE_PASSPHRASE\""))
        .env("LR_RELEASE_PASSPHRASE", "incorrect pony"),
        Bad::new(
            "passphrase variable unset",
            &["run", V, "--yes"],
            2,
            &["LR_RELEASE_PASSPHRASE"],
        )
        .config(locked_signing("passphrase_env = \"LR_RELEASE_PASSPHRASE\"")),
        Bad::new(
            "no passphrase for a locked key",
            &["run", V, "--yes", "--only", "signed-tag"],
            1,
            &["passphrase-protected"],
        )
        .config(locked_signing("")),
        Bad::new(
            "GitLab token variable unset",
            &["run", V, "--yes"],
            2,
            &["LR_GITLAB_TOKEN"],
        )
        .config(base.replace(
            &format!("token_file = {token:?}"),
            "token_env = \"LR_GITLAB_TOKEN\"",
        )),
        Bad::new(
            "missing GitLab token file",
            &["run", V, "--yes"],
            2,
            &["gitlab.token_file /nonexistent/gitlab-token cannot be read"],
        )
        .config(base.replace(
            &format!("token_file = {token:?}"),
            "token_file = \"/nonexistent/gitlab-token\"",
        )),
        Bad::new(
            "GitLab token without the api scope",
            &["run", V, "--yes"],
            2,
            &[
                &format!("the GitLab token (gitlab.token_file {read_only}) cannot write to http://127.0.0.1:"),
                "/lava/lava: the token's scopes are read_api, and writing needs `api`",
            ],
        )
        .config(base.replace(
            &format!("token_file = {token:?}"),
            &format!("token_file = {read_only:?}"),
        )),
        Bad::new(
            "GitLab token of a Reporter",
            &["run", V, "--yes"],
            2,
            &["the token's user has access level 20 on the project, and creating releases needs Developer (30) or more"],
        )
        .config(base.replace(
            &format!("token_file = {token:?}"),
            &format!("token_file = {reporter:?}"),
        )),
        Bad::new(
            "SMTP server refusing the login",
            &["run", V, "--yes"],
            2,
            &[&format!("the SMTP server {} refused the login of `lava-release`", smtp.url())],
        )
        .config(format!("{base}\n{}", smtp_section.replace("sign = true", "sign = false"))),
        Bad::new(
            "unknown placeholder in the package version",
            &["plan", V],
            2,
            &["repo.package_version `{version}+{codename}` names the unknown placeholder {codename}"],
        )
        .config(base.replace(
            "[repo]\nmode = \"none\"",
            "[repo]\nmode = \"none\"\npackage_version = \"{version}+{codename}\"",
        )),
        Bad::new(
            "expired release key",
            &["run", V, "--yes"],
            1,
            &[&expired_fpr, "expired"],
        )
        .config(expired_config),
        Bad::new(
            "revoked release key",
            &["run", V, "--yes"],
            1,
            &[&revoked_fpr, "revoked"],
        )
        .config(revoked_config),
        Bad::new(
            "unknown placeholder in the announcement",
            &["run", V, "--yes"],
            2,
            &["announce.subject names the unknown placeholder {codename}"],
        )
        .config(format!(
            "{base}\n[announce]\nsubject = \"LAVA {{codename}} {{version}}\"\n"
        )),
        Bad::new(
            "GitLab project that does not exist",
            &["run", V, "--yes"],
            2,
            &["project `lava/nope` not found at http://127.0.0.1:"],
        )
        .config(base.replace("project = \"lava/lava\"", "project = \"lava/nope\"")),
        Bad::new(
            "Debian upload target without a directory",
            &["run", V, "--yes"],
            2,
            &["debian.upload `sftp://127.0.0.1` has no directory"],
        )
        .config(format!(
            "{base}\n[debian]\nupload = \"sftp://127.0.0.1\"\nkey = \"{release_fpr}\"\nkey_file = {secret:?}\n"
        )),
        Bad::new(
            "Debian freeze date that is no date",
            &["run", V, "--yes"],
            2,
            &["debian.freeze date `2026-13-01` is not YYYY-MM-DD"],
        )
        .config(format!(
            "{base}\n[debian]\nupload = {queue:?}\nkey = \"{release_fpr}\"\nkey_file = {secret:?}\n\n[[debian.freeze]]\ndistribution = \"unstable\"\nfrom = \"2026-13-01\"\n"
        )),
        Bad {
            repo: Some("/nonexistent"),
            ..Bad::new(
                "not a repository",
                &["run", V, "--yes"],
                2,
                &["/nonexistent"],
            )
        },
        // Found before the first stage: the settings the selected stages read.
        Bad::new(
            "announcement to no address",
            &["run", V, "--yes"],
            2,
            &["announce.to: the recipient `the LAVA announce list` is not an e-mail address"],
        )
        .config(format!("{base}\n{smtp_right}\nto = \"the LAVA announce list\"\n")),
        Bad::new(
            "announcement from no address",
            &["run", V, "--yes"],
            2,
            &["announce.from: the sender `Release Manager` is not an e-mail address"],
        )
        .config(format!("{base}\n{smtp_right}\nfrom = \"Release Manager\"\n")),
        Bad::new(
            "missing mail CA file",
            &["run", V, "--yes"],
            2,
            &["announce.ca_file /nonexistent/ca.pem does not exist"],
        )
        .config(format!(
            "{base}\n{}\n",
            smtp_right.replace(
                &format!("ca_file = {:?}", smtp.ca_file().display().to_string()),
                "ca_file = \"/nonexistent/ca.pem\""
            )
        )),
        Bad::new(
            "unknown placeholder in the first bullet",
            &["plan", V],
            2,
            &["changelog.first_bullet names the unknown placeholder {relase}; use {version}"],
        )
        .config(format!("{base}\n[changelog]\nfirst_bullet = \"LAVA {{relase}}\"\n")),
        Bad::new(
            "unknown placeholder in an image template",
            &["plan", V],
            2,
            &["[docker]", "lavasoftware/{platform}-{image}", "{platform}"],
        )
        .config(with_table(
            &base,
            "docker",
            "[docker]\nenabled = true\ntarget = \"lavasoftware/{platform}-{image}\"",
        )),
        Bad::new(
            "a mail timeout of zero",
            &["plan", V],
            2,
            &["announce.timeout_secs is 0"],
        )
        .config(format!("{base}\n[announce]\ntimeout_secs = 0\n")),
        Bad::new(
            "longest poll shorter than the first",
            &["plan", V],
            2,
            &["gitlab.poll_max_ms (300) is below gitlab.poll_initial_ms (5000)"],
        )
        .config(base.replace("poll_initial_ms = 100", "poll_initial_ms = 5000")),
        Bad::new(
            "missing git SSH key",
            &["run", V, "--yes"],
            2,
            &["git.ssh_key /nonexistent/id_ed25519 does not exist"],
        )
        .config(format!("{base}\n[git]\nssh_key = \"/nonexistent/id_ed25519\"\n")),
        Bad::new(
            "Debian upload directory that does not exist",
            &["run", V, "--yes"],
            2,
            &["/nonexistent/queue", "does not exist; create the upload directory or fix debian.upload"],
        )
        .config(format!(
            "{base}\n[debian]\nupload = \"/nonexistent/queue\"\nkey = \"{release_fpr}\"\nkey_file = {secret:?}\n"
        )),
        Bad::new(
            "dput profile dput does not know",
            &["run", V, "--yes"],
            2,
            &["dput profile nosuch is not in dput's configuration", &dput_cf],
        )
        .config(format!(
            "{base}\n[debian]\nupload = \"dput:nosuch\"\ndput_config = {dput_cf:?}\nkey = \"{release_fpr}\"\nkey_file = {secret:?}\n"
        )),
        Bad::new(
            "missing keyring for the source",
            &["run", V, "--yes"],
            2,
            &["debian.dsc_keyring /nonexistent/keyring.pgp does not exist"],
        )
        .config(format!(
            "{base}\n[debian]\nupload = {queue:?}\ndsc_keyring = \"/nonexistent/keyring.pgp\"\nkey = \"{release_fpr}\"\nkey_file = {secret:?}\n"
        )),
        Bad::new(
            "expired Debian Developer key",
            &["run", V, "--yes"],
            1,
            &[&expired_fpr, "expired"],
        )
        .config(format!(
            "{base}\n[debian]\nupload = {queue:?}\nkey = \"{expired_fpr}\"\nkey_file = {expired_key:?}\n"
        )),
        Bad::new(
            "repository site that does not exist",
            &["run", V, "--yes"],
            2,
            &["/nonexistent/apt does not exist on this machine"],
        )
        .config(base.replace(
            "[repo]\nmode = \"none\"",
            "[repo]\nmode = \"reprepro\"\nsite = \"/nonexistent/apt\"\nincoming = \"/nonexistent/incoming\"",
        )),
        Bad::new(
            "repository host with another host key",
            &["run", V, "--yes"],
            2,
            &[&format!("on {}@127.0.0.1:{}", sshd.user(), sshd.port()), "Host key verification failed."],
        )
        .config(base.replace(
            "[repo]\nmode = \"none\"",
            &format!(
                "[repo]\nmode = \"reprepro\"\nsite = {:?}\nssh_config = {:?}\nincoming = \"/nonexistent/incoming\"",
                sshd.url(&dir.join("apt")),
                wrong_host_key.display().to_string()
            ),
        )),
        // The repository's state, each in a sandbox of its own.
        Bad::new(
            "dirty tree",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["is not clean (lava_server/settings.py)"],
        )
        .spoil(|sb| std::fs::write(sb.repo().join("lava_server/settings.py"), "# edited\n").unwrap()),
        Bad::new(
            "detached HEAD",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["HEAD of ", "is detached; check out the release branch `master`"],
        )
        .spoil(|sb| {
            sb.git(&["checkout", "--quiet", "--detach"], None).unwrap();
        }),
        Bad::new(
            "another branch",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["is on branch `topic`, not on the release branch `master`"],
        )
        .spoil(|sb| {
            sb.git(&["checkout", "--quiet", "-b", "topic"], None).unwrap();
        }),
        Bad::new(
            "missing changelog",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["debian/changelog does not exist in commit"],
        )
        .spoil(|sb| {
            sb.git(&["rm", "--quiet", "debian/changelog"], None).unwrap();
            commit_all(sb, "drop changelog");
        }),
        Bad::new(
            "unparsable changelog",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["debian/changelog in commit"],
        )
        .spoil(|sb| {
            std::fs::write(sb.repo().join("debian/changelog"), "this is not a changelog\n").unwrap();
            commit_all(sb, "break changelog");
        }),
        Bad::new(
            "changelog already at this version with other content",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["debian/changelog", "2024.02-1"],
        )
        .spoil(|sb| {
            let path = sb.repo().join("debian/changelog");
            let old = std::fs::read_to_string(&path).unwrap();
            let entry = "lava (2024.02-1) unstable; urgency=medium\n\n  * Something else entirely.\n\n -- Someone Else <someone@example.org>  Mon, 05 Feb 2024 10:00:00 +0000\n\n";
            std::fs::write(&path, format!("{entry}{old}")).unwrap();
            commit_all(sb, "an entry nobody released");
        }),
        Bad::new(
            "not newer than the changelog",
            &["run", "2024.01", "--yes"],
            1,
            &["is not newer than 2024.01-1 at the top of debian/changelog"],
        )
        // Its journal of the blocked preflight in a sandbox of its own.
        .spoil(|_| {}),
        Bad::new(
            "older than the last tag",
            &["run", V, "--yes", "--to", "changelog"],
            1,
            &["is not newer than the last release tag `2024.03`"],
        )
        .spoil(|sb| {
            sb.git(&["tag", "-a", "-m", "LAVA Software 2024.03", "2024.03"], None)
                .unwrap();
        }),
        Bad::new(
            "the version tagged on another commit",
            &["run", V, "--yes", "--to", "local-tag"],
            1,
            &["stage `preflight` is blocked: tag `2024.02` already exists at commit"],
        )
        .spoil(|sb| {
            sb.git(&["tag", "-a", "-m", "LAVA Software 2024.02", "2024.02", "HEAD~1"], None)
                .unwrap();
        }),
        Bad::new(
            "not a version",
            &["run", "latest", "--yes"],
            2,
            &["is not a LAVA version"],
        ),
        Bad::new(
            "unknown --since",
            &["changelog", "--version", V, "--since", "2019.99"],
            2,
            &["`2019.99` (--since) is not a tag or commit"],
        ),
        Bad::new(
            "a stage the configuration leaves out",
            &["run", V, "--only", "debian-upload"],
            2,
            &["stage `debian-upload` is not in this plan: debian.upload is not set"],
        ),
    ];
    assert!(cases.len() >= 30, "{}", cases.len());

    let before = world(&sb);
    for (i, case) in cases.iter().enumerate() {
        let own = case.spoil.map(|spoil| {
            let own = crate::release::sandbox();
            spoil(&own);
            own
        });
        let sb = own.as_ref().unwrap_or(&sb);
        let before = match &own {
            Some(own) => world(own),
            None => before.clone(),
        };
        let journal = sb.repo().join(".git/lava-release");
        let config = match &case.config {
            Some(text) => {
                let path = dir.join(format!("bad-{i}.toml"));
                std::fs::write(&path, text).unwrap();
                path
            }
            None => sb.config(),
        };
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let out = sb
            .lava_release(&args)
            .in_repo(case.repo.map_or_else(|| sb.repo(), Into::into))
            .config(config)
            .default_colour()
            .env_remove("LR_RELEASE_PASSPHRASE")
            .env_remove("LR_GITLAB_TOKEN")
            .envs(&case.env)
            .output();
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(case.code),
            "{}: {}",
            case.name,
            show(&out)
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("lava-release: "),
            "{}: not one line: {}",
            case.name,
            show(&out)
        );
        for culprit in &case.names {
            assert!(
                stderr.contains(culprit.as_str()),
                "{}: `{culprit}` not named: {stderr}",
                case.name
            );
        }
        assert!(
            !stderr.contains("incorrect pony"),
            "{}: {stderr}",
            case.name
        );
        // Refused before the first stage: nothing on stdout. Blocked in a check-only
        // stage (exit 1): its one line of progress.
        assert!(
            text(&out.stdout).lines().count() <= usize::from(case.code == 1),
            "{}: {}",
            case.name,
            show(&out)
        );
        assert_eq!(world(sb), before, "{}: something changed", case.name);
        // A stage that stopped the run is journaled as such; nothing was applied.
        let journaled = std::fs::read_dir(&journal)
            .map(|d| {
                d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_else(|_| Vec::new());
        assert!(
            if case.code == 2 {
                journaled.is_empty()
            } else {
                journaled.iter().all(|j| !j.contains("\"applied\""))
            },
            "{}: journal: {journaled:?}",
            case.name
        );
    }
    eprintln!(
        "resilience: {} bad inputs in {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Everything a release can change, as text: the repository (HEAD, refs, the worktree
/// and index, the state directory but for the dry run's scratch), the remotes, the
/// apt tree, the upload queue, Docker Hub's version tags, GitLab's writes and the mail.
fn whole_world(r: &Rehearsal) -> Vec<String> {
    let sb = r.sandbox();
    let git = |args: &[&str]| sb.git(args, None).unwrap();
    let ls = crate::git_stages::ls_remote;
    let listing = |dir: &std::path::Path, skip: Option<&str>| {
        let mut out = Vec::new();
        let mut dirs = vec![dir.to_owned()];
        while let Some(d) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                if skip.is_some_and(|s| rel.starts_with(s)) {
                    continue;
                }
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    dirs.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap_or_default();
                    out.push(format!("{rel} {} {:x}", meta.len(), md5_of(&bytes)));
                }
            }
        }
        out.sort();
        out.join("\n")
    };
    let images: Vec<String> = ["lava-dispatcher", "lava-server", "amd64-lava-server"]
        .iter()
        .map(|i| {
            format!(
                "{i}:{:?}",
                r.published_digest(&format!("lavasoftware/{i}:{V}")).ok()
            )
        })
        .collect();
    vec![
        git(&["rev-parse", "HEAD"]),
        git(&["show-ref"]),
        git(&["status", "--porcelain", "--ignored"]),
        listing(&sb.repo().join(".git/lava-release"), Some("dry-run")),
        ls(&sb.origin()),
        ls(&sb.fork()),
        ls(&sb.lab()),
        r.apt().live_target().unwrap(),
        listing(r.apt().root(), None),
        listing(r.upload_queue(), None),
        images.join(" "),
        format!("{:?}", sb.gitlab().unwrap().writes()),
        r.mails().to_string(),
    ]
}

/// A cheap content fingerprint for the listing (not a security check).
fn md5_of(bytes: &[u8]) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[test]
fn a_dry_run_and_a_simulate_run_write_only_under_their_scratch_directory() {
    let r = Rehearsal::setup_with(
        &tests::bin::lava_release_bin(),
        V,
        Options {
            publishing: Publishing::Reprepro,
            ..Options::default()
        },
    )
    .unwrap();
    // Published as far as the apt repository, so that the Debian upload has its source.
    let out = r
        .run(&["run", V, "--yes", "--to", "repo-publish"], None)
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let before = whole_world(&r);
    for args in [
        ["run", V, "--dry-run"].as_slice(),
        ["run", V, "--simulate", "--yes"].as_slice(),
    ] {
        let out = r.run(args, None).unwrap();
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        let after = whole_world(&r);
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b, a, "{args:?} changed the world");
        }
        // What it wrote, it names, and it is in the scratch directory.
        let scratch = r
            .sandbox()
            .repo()
            .join(format!(".git/lava-release/dry-run/{V}"));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!(
                "message written to {}/{V}-announce.eml (not sent)",
                scratch.display()
            )),
            "{args:?}: {stdout}"
        );
        if args.contains(&"--simulate") {
            assert!(
                stdout.contains(&format!(
                    "simulated upload of {}/debian/upload/",
                    scratch.display()
                )),
                "{stdout}"
            );
        }
    }
}
