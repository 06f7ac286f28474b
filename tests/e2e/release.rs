//! The release plan end to end: the `lava-release` binary on a LAVA-shaped sandbox
//! repository, with crashes, re-runs and bad input.

use std::path::Path;
use std::process::{Command, Output};

use tests::sandbox::{Sandbox, assert_stdout_contains, assert_success, text};

const V: &str = "2024.02";

/// `lava-release ARGS` with the colour left to it, as off a terminal.
fn lava_release(sb: &Sandbox, args: &[&str]) -> Output {
    sb.lava_release(args).default_colour().output()
}

fn with_failpoint(sb: &Sandbox, args: &[&str], point: &str) -> Output {
    sb.lava_release(args)
        .default_colour()
        .failpoint(Some(point))
        .output()
}

/// A sandbox with every remote on this machine, so that no check reaches further.
pub(crate) fn sandbox() -> Sandbox {
    Sandbox::lava().unwrap().with_gitlab(V).unwrap()
}

fn entries_for(repo: &Path, debian_version: &str) -> usize {
    let changelog = std::fs::read_to_string(repo.join("debian/changelog")).unwrap();
    changelog
        .matches(&format!("lava ({debian_version}) "))
        .count()
}

#[test]
fn release_commit_is_written_once_and_read_back_by_dpkg() {
    let sb = sandbox();
    let repo = sb.repo();
    let out = lava_release(&sb, &["run", V, "--yes", "--to", "changelog"]);
    assert_success(&out);
    assert_stdout_contains(
        &out,
        "1 stage(s) applied, 0 already done, 2 check(s) passed",
    );

    let parsed = Command::new("dpkg-parsechangelog")
        .current_dir(&repo)
        .output()
        .unwrap();
    let parsed = text(&parsed.stdout);
    for line in [
        "Source: lava",
        "Version: 2024.02-1",
        "Distribution: unstable",
        "Urgency: medium",
        "Maintainer: Rémi Release <rm@lavasoftware.example>",
    ] {
        assert!(
            parsed.lines().any(|l| l == line),
            "missing `{line}` in\n{parsed}"
        );
    }
    assert!(
        parsed
            .lines()
            .any(|l| l.starts_with("Date: ") && l.ends_with("+0000")),
        "{parsed}"
    );
    assert_eq!(
        sb.git(&["log", "-1", "--format=%s"], None).unwrap().trim(),
        "LAVA Software 2024.02 release"
    );
    assert_eq!(sb.git(&["status", "--porcelain"], None).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(repo.join("lava_common/VERSION")).unwrap(),
        "2024.02\n"
    );

    // The finished release: every stage done, with evidence, in text and JSON.
    let plan = lava_release(&sb, &["plan", V, "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let stages = plan["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "preflight",
            "milestone-check",
            "changelog",
            "local-tag",
            "fork-ci",
            "signed-tag",
            "push-branch",
            "wait-branch-ci",
            "push-tag",
            "wait-ci",
            "consistency",
            "release-notes",
            "close-milestone",
            "manifest",
            "lab-sync"
        ]
    );
    let stages = &stages[..3];
    for stage in stages {
        assert_eq!(stage["status"], "done", "{stage}");
        assert!(
            stage["evidence"].as_str().is_some_and(|e| !e.is_empty()),
            "{stage}"
        );
    }
    let head = sb.git(&["rev-parse", "--short=12", "HEAD"], None).unwrap();
    assert!(
        stages[2]["evidence"]
            .as_str()
            .unwrap()
            .contains(head.trim())
    );
}

#[test]
fn the_changelog_stage_opens_the_editor_when_configured() {
    let mut sb = sandbox();
    sb.add_config("[changelog]\nedit = true").unwrap();
    let repo = sb.repo();
    let editor = sb.config().with_file_name("editor");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i '3a\\    Typed by the release manager.' \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Left unchanged: nothing is written or committed, and the run stops.
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "changelog"])
        .env("VISUAL", "true")
        .output();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("was left unchanged in the editor"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sb.git(&["rev-parse", "HEAD"], None).unwrap(), head);
    assert_eq!(entries_for(&repo, "2024.02-1"), 0);

    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "changelog"])
        .env("VISUAL", &editor)
        .output();
    assert_success(&out);
    let committed = sb.git(&["show", "HEAD:debian/changelog"], None).unwrap();
    assert!(
        committed.starts_with(
            "lava (2024.02-1) unstable; urgency=medium\n\n  * LAVA Software 2024.02 release\n    Typed by the release manager.\n"
        ),
        "{committed}"
    );
}

#[test]
fn killed_after_the_changelog_stage_resumes_without_a_second_entry() {
    let sb = sandbox();
    let repo = sb.repo();
    let out = with_failpoint(
        &sb,
        &["run", V, "--yes", "--to", "changelog"],
        "after:changelog",
    );
    assert_eq!(out.status.code(), Some(86), "{}", text(&out.stderr));
    let head = sb.git(&["rev-parse", "HEAD"], None).unwrap();

    let out = lava_release(&sb, &["run", V, "--yes", "--to", "changelog"]);
    assert_success(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("0 stage(s) applied, 1 already done, 2 check(s) passed"),
        "{stdout}"
    );
    assert_eq!(entries_for(&repo, "2024.02-1"), 1);
    assert_eq!(
        sb.git(&["rev-parse", "HEAD"], None).unwrap(),
        head,
        "no second commit"
    );

    let status = lava_release(&sb, &["status", V, "--json"]);
    let journal: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_documented_fields(&journal, "status-json.md");
    let outcomes: Vec<(String, String)> = journal["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["stage"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("preflight", "passed"),
        ("milestone-check", "passed"),
        ("changelog", "applied"),
        ("preflight", "passed"),
        ("milestone-check", "passed"),
        ("changelog", "already-done"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    assert_eq!(outcomes, expected);
}

#[test]
fn killed_between_writing_and_committing_the_entry_commits_it_on_rerun() {
    for point in [
        "changelog:version-files-written",
        "changelog:entry-written",
        "applied:changelog",
    ] {
        let sb = sandbox();
        let repo = sb.repo();
        let out = with_failpoint(&sb, &["run", V, "--yes", "--to", "changelog"], point);
        assert_eq!(
            out.status.code(),
            Some(86),
            "{point}: {}",
            text(&out.stderr)
        );

        let plan = lava_release(&sb, &["plan", V]);
        assert!(plan.status.success(), "{point}: {}", text(&plan.stderr));

        let out = lava_release(&sb, &["run", V, "--yes", "--to", "changelog"]);
        assert!(out.status.success(), "{point}: {}", text(&out.stderr));
        assert_eq!(entries_for(&repo, "2024.02-1"), 1, "{point}");
        assert_eq!(
            sb.git(&["status", "--porcelain"], None).unwrap(),
            "",
            "{point}"
        );
        assert_eq!(
            sb.git(&["log", "-1", "--format=%s"], None).unwrap().trim(),
            "LAVA Software 2024.02 release",
            "{point}"
        );
        let releases = sb.git(&["log", "--format=%s"], None).unwrap();
        assert_eq!(
            releases.matches("LAVA Software 2024.02 release").count(),
            1,
            "{point}"
        );
    }
}

#[test]
fn dry_run_checks_everything_and_changes_nothing() {
    let sb = sandbox();
    let repo = sb.repo();
    let before = std::fs::read(repo.join("debian/changelog")).unwrap();
    let out = lava_release(&sb, &["run", V, "--dry-run", "--to", "changelog"]);
    assert_success(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("would"), "{stdout}");
    assert!(stdout.contains("nothing changed"), "{stdout}");
    assert_eq!(
        std::fs::read(repo.join("debian/changelog")).unwrap(),
        before
    );
    assert!(
        !repo
            .join(".git/lava-release")
            .join(format!("{V}.json"))
            .exists(),
        "no journal"
    );
}

#[test]
fn clicolor_force_colours_the_plan_off_a_terminal_unless_no_color_says_otherwise() {
    let sb = sandbox();
    let out = sb
        .lava_release(&["plan", V])
        .default_colour()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output();
    assert_success(&out);
    assert!(
        text(&out.stdout).contains('\u{1b}'),
        "{}",
        text(&out.stdout)
    );
    let out = sb
        .lava_release(&["plan", V])
        .env("CLICOLOR_FORCE", "1")
        .output();
    assert_success(&out);
    assert!(!text(&out.stdout).contains('\u{1b}'), "NO_COLOR wins");
}

#[test]
fn quiet_says_nothing_but_errors_and_verbose_says_each_stage_its_time_and_the_causes() {
    let mut sb = sandbox();
    // Quiet: a successful run prints nothing at all.
    let out = lava_release(&sb, &["run", V, "--yes", "--to", "changelog", "--quiet"]);
    assert_success(&out);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    // Verbose: each stage as it starts (stderr), its line with the time it took.
    let out = lava_release(&sb, &["-v", "run", V, "--yes", "--to", "local-tag"]);
    assert_success(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("local-tag: tag the release commit"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("local-tag"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.ends_with(" s)"), "{line}");

    // Both flags are everyone's: every subcommand takes them.
    for args in [
        &["plan", V, "-q"][..],
        &["status", V, "-v"],
        &["config", "-q"],
        &["changelog", "--version", "2024.03", "-v"],
    ] {
        assert_success(&lava_release(&sb, args));
    }
    let out = lava_release(&sb, &["plan", V, "-q", "-v"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // Verbose errors: the one line, then each cause on its own.
    sb.replace_key(
        "release_key",
        "release_key = \"C87D63FD935535CFB0CAF5C2A791358F2E49B100\"",
    )
    .unwrap();
    let out = lava_release(&sb, &["run", V, "--yes", "--verbose"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("lava-release: cannot use the release key C87D63FD"),
        "{stderr}"
    );
    assert!(
        lines[1..].iter().any(|l| l
            .starts_with("  caused by: key C87D63FD935535CFB0CAF5C2A791358F2E49B100 not found")),
        "{stderr}"
    );
}

#[test]
fn output_has_no_colour_off_a_terminal() {
    let sb = sandbox();
    let out = lava_release(&sb, &["plan", V]);
    assert_success(&out);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(
        stdout.contains("preflight") && stdout.contains("to do"),
        "{stdout}"
    );
}

#[test]
fn an_untracked_release_toml_is_the_configuration_and_not_a_dirty_tree() {
    let sb = sandbox();
    let own = sb.repo().join("release.toml");
    std::fs::copy(sb.config(), &own).unwrap();
    let out = sb
        .lava_release(&["run", V, "--yes", "--to", "changelog"])
        .discover_config()
        .output();
    assert_success(&out);
    assert_eq!(entries_for(&sb.repo(), "2024.02-1"), 1);
    // Tracked and changed, it is a change like any other.
    let out = Command::new("git")
        .current_dir(sb.repo())
        .args(["status", "--porcelain", "release.toml"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "?? release.toml\n");
    sb.git(&["add", "release.toml"], None).unwrap();
    sb.git(
        &["commit", "--quiet", "-m", "Track the release configuration"],
        None,
    )
    .unwrap();
    let mut edited = std::fs::read_to_string(&own).unwrap();
    edited.push_str("\n# edited\n");
    std::fs::write(&own, edited).unwrap();
    let out = sb
        .lava_release(&["plan", "2024.03"])
        .discover_config()
        .output();
    assert!(
        text(&out.stdout).contains("is not clean (release.toml)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_personal_configuration_lies_under_the_projects_and_config_names_each_values_file() {
    let mut sb = sandbox();
    sb.add_config("[changelog]\nurgency = \"low\"").unwrap();
    let personal = sb.xdg_config_home().join("lava-release/config.toml");
    std::fs::create_dir_all(personal.parent().unwrap()).unwrap();
    std::fs::write(
        &personal,
        "[changelog]\nurgency = \"high\"\n\n[announce]\nto = \"releases@example.org\"\n",
    )
    .unwrap();
    let out = sb.lava_release(&["config"]).output();
    assert_success(&out);
    let shown = text(&out.stdout);
    let project = sb.config();
    for expected in [
        format!(
            "# read {}\n# read {}\n",
            personal.display(),
            project.display()
        ),
        format!(
            "# changelog.urgency from {}\nurgency = \"low\"\n",
            project.display()
        ),
        format!(
            "# announce.to from {}\nto = \"releases@example.org\"\n",
            personal.display()
        ),
    ] {
        assert!(shown.contains(&expected), "{expected}\nin:\n{shown}");
    }
    // The same as JSON, in the fields docs/config-json.md documents.
    let out = sb.lava_release(&["config", "--json"]).output();
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_documented_fields(&json, "config-json.md");
    assert_eq!(json["config"]["changelog"]["urgency"], "low");
    assert_eq!(
        json["origins"]["announce.to"],
        personal.display().to_string()
    );
    assert_eq!(json["files"][1], project.display().to_string());
    assert!(!text(&out.stdout).contains(tests::sandbox::GITLAB_TOKEN));

    // A mistake in the personal file is named as that file's.
    std::fs::write(&personal, "[announce]\nsmtp_port = 25\n").unwrap();
    let out = sb.lava_release(&["config"]).output();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "configuration file {} (line 2): unknown field `smtp_port`",
            personal.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

/// The events `docs/run-events.md` documents: each kind with its fields.
fn documented_events() -> Vec<(String, Vec<String>)> {
    crate::support::documented_rows("run-events.md")
        .into_iter()
        .map(|(kind, rest)| {
            let fields = rest[0]
                .split(", ")
                .map(|f| f.trim_matches('`').to_owned())
                .collect();
            (kind, fields)
        })
        .collect()
}

/// Every stdout line of `out` as an event checked against the documentation: the
/// schema version, a documented kind, exactly its fields.
fn documented_events_of(out: &Output) -> Vec<serde_json::Value> {
    let documented = documented_events();
    assert!(documented.len() >= 9, "{documented:?}");
    text(&out.stdout)
        .lines()
        .map(|line| {
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert_eq!(event["schema"], 1, "{line}");
            let kind = event["event"].as_str().unwrap();
            let (_, fields) = documented
                .iter()
                .find(|(k, _)| k == kind)
                .unwrap_or_else(|| panic!("undocumented event: {line}"));
            let mut keys: Vec<&String> = event.as_object().unwrap().keys().collect();
            keys.retain(|k| *k != "schema" && *k != "event");
            keys.sort();
            let mut want: Vec<&String> = fields.iter().collect();
            want.sort();
            assert_eq!(keys, want, "{line}");
            event
        })
        .collect()
}

#[test]
fn run_json_is_one_documented_event_per_line() {
    let sb = sandbox();
    let out = lava_release(&sb, &["run", V, "--yes", "--to", "changelog", "--json"]);
    assert_success(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let events = documented_events_of(&out);
    let seen: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap(),
                e["stage"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "started preflight",
            "passed preflight",
            "started milestone-check",
            "passed milestone-check",
            "started changelog",
            "applied changelog",
            "summary ",
        ]
    );
    assert_eq!(events[6]["applied"], 1);
    assert_eq!(events[6]["passed"], 2);

    // A run that stops: the stage's event, then `stopped` with stderr's one line.
    std::fs::write(sb.repo().join("lava_server/settings.py"), "# edited\n").unwrap();
    let out = lava_release(&sb, &["run", "2024.03", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let events = documented_events_of(&out);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "stopped");
    assert_eq!(events[events.len() - 2]["event"], "blocked");
    assert_eq!(
        format!("lava-release: {}\n", last["error"].as_str().unwrap()),
        text(&out.stderr)
    );
}

/// `json` has `schema` 1 and exactly the top-level fields `docs/DOC` documents.
fn assert_documented_fields(json: &serde_json::Value, doc: &str) {
    assert_eq!(json["schema"], 1, "{json}");
    let mut fields: Vec<&String> = json.as_object().unwrap().keys().collect();
    fields.retain(|f| *f != "schema");
    fields.sort();
    let documented: Vec<String> = crate::support::documented_rows(doc)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    let mut want: Vec<&String> = documented.iter().collect();
    want.sort();
    assert_eq!(fields, want, "{json}");
}

#[test]
fn changelog_json_carries_the_entry_and_where_it_was_written() {
    let sb = sandbox();
    let out = lava_release(&sb, &["changelog", "--version", V, "--json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_documented_fields(&json, "changelog-json.md");
    assert_eq!(json["debian_version"], "2024.02-1");
    assert!(
        json["entry"]
            .as_str()
            .unwrap()
            .starts_with("lava (2024.02-1) unstable; urgency=medium"),
        "{json}"
    );
    assert_eq!(json["written"], serde_json::Value::Null);
    let out = lava_release(&sb, &["changelog", "--version", V, "--write", "--json"]);
    assert_success(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changelog = sb.repo().join("debian/changelog");
    assert_eq!(json["written"], changelog.display().to_string());
    assert!(
        std::fs::read_to_string(&changelog)
            .unwrap()
            .starts_with(json["entry"].as_str().unwrap())
    );
}
