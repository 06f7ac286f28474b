//! What the end-to-end modules share: running the binary in a sandbox.

use std::process::{Command, Output};

use tests::sandbox::{RM_EMAIL, RM_NAME, Sandbox};

/// Runs `lava-release ARGS` in the sandbox's repository with its configuration; with
/// `failpoint`, the process stops there as if killed.
pub fn lava_release(sb: &Sandbox, args: &[&str], failpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(tests::bin::lava_release_bin());
    cmd.arg("-C")
        .arg(sb.repo())
        .arg("--config")
        .arg(sb.config())
        .args(args);
    cmd.env("DEBFULLNAME", RM_NAME)
        .env("DEBEMAIL", RM_EMAIL)
        .env("NO_COLOR", "1")
        .env_remove("LAVA_RELEASE_FAILPOINT");
    if let Some(point) = failpoint {
        cmd.env("LAVA_RELEASE_FAILPOINT", point);
    }
    cmd.output().expect("lava-release runs")
}

/// Standard output and error, as one text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
