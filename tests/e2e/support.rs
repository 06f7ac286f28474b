//! What the end-to-end modules share beyond `tests::sandbox`: a run that may stop at a
//! failpoint, a whole release that must fail, and a stage as `plan --json` shows it.

use std::process::Output;

use tests::sandbox::{Invocation, Sandbox};

/// Runs `lava-release ARGS` in the sandbox's repository with its configuration; with
/// `failpoint`, the process stops there as if killed.
pub fn run(sb: &Sandbox, args: &[&str], failpoint: Option<&str>) -> Output {
    sb.lava_release(args).failpoint(failpoint).output()
}

/// Stage `name` of `lava-release plan VERSION --json` in the sandbox (its name, status,
/// reason or evidence, ...); panics when the plan lacks it.
pub fn planned_stage(sb: &Sandbox, version: &str, name: &str) -> serde_json::Value {
    stage_in_plan(sb.lava_release(&["plan", version, "--json"]), name)
}

/// Stage `name` of the plan `plan` (a `plan VERSION --json` invocation) prints.
pub fn stage_in_plan(plan: Invocation<'_>, name: &str) -> serde_json::Value {
    let out = plan.output();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan --json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    plan["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("stage `{name}` is not in the plan: {plan}"))
        .clone()
}

/// The error line of a run (`lava-release: ...`, the first), empty when there is none.
pub fn error_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.starts_with("lava-release: "))
        .unwrap_or_default()
        .to_owned()
}

/// Runs the rehearsal's whole release (`run VERSION --yes`), which must fail with exit
/// status 1; returns its error line (`lava-release: ...`) and all of stderr.
pub fn failed_release(r: &tests::rehearsal::Rehearsal) -> (String, String) {
    let out = r.run(&["run", r.version(), "--yes"], None).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    (error_line(&out), stderr)
}

/// The names in the first column of the tables of `docs/NAME` whose rows start with a
/// code span (`| `name` | ...`), with the rest of each row: what the schema
/// documents, for tests to check output against.
pub fn documented_rows(name: &str) -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(tests::bin::workspace().join("docs").join(name))
        .unwrap_or_else(|e| panic!("docs/{name}: {e}"));
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let first = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((
                first.to_owned(),
                cells[2..].iter().map(|c| (*c).to_owned()).collect(),
            ))
        })
        .collect()
}

/// A GnuPG home under /tmp (gpg-agent's socket path must be short), private to the user.
pub fn gnupg_home() -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix("lr-gpg")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    home
}

/// `git verify-tag TAG` in the sandbox repository, by a GnuPG home that knows only the
/// certificate `public`, as a user of the release checks it.
pub fn verify_tag(sb: &Sandbox, tag: &str, public: &std::path::Path) -> Output {
    let home = gnupg_home();
    let imported = std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(public)
        .status()
        .unwrap();
    assert!(imported.success(), "gpg --import {}", public.display());
    let verify = std::process::Command::new("git")
        .current_dir(sb.repo())
        .args(["verify-tag", tag])
        .env("GNUPGHOME", home.path())
        .output()
        .unwrap();
    tests::rehearsal::stop_agent(home.path());
    verify
}

/// `git ARGS` in `dir` (a work tree or a bare repository), its stdout trimmed; panics with
/// git's output on failure.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        tests::sandbox::all_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
