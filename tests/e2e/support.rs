//! What the end-to-end modules share: running the binary in a sandbox.

use std::process::Output;

use tests::sandbox::Sandbox;

/// Runs `lava-release ARGS` in the sandbox's repository with its configuration; with
/// `failpoint`, the process stops there as if killed.
pub fn lava_release(sb: &Sandbox, args: &[&str], failpoint: Option<&str>) -> Output {
    let mut cmd = sb.lava_release(args);
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
