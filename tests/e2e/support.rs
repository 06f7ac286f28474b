//! What the end-to-end modules share beyond `tests::sandbox`: a run that may stop at a
//! failpoint.

use std::process::Output;

use tests::sandbox::Sandbox;

/// Runs `lava-release ARGS` in the sandbox's repository with its configuration; with
/// `failpoint`, the process stops there as if killed.
pub fn run(sb: &Sandbox, args: &[&str], failpoint: Option<&str>) -> Output {
    sb.lava_release(args).failpoint(failpoint).output()
}
