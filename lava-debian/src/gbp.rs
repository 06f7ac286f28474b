//! git-buildpackage's `import-orig`, run by the Debian Developer's own `gbp` in their
//! packaging repository: the upstream tarball committed on the upstream branch (linked to
//! the release tag with `--upstream-vcs-tag`), tagged, kept in pristine-tar, and merged
//! into the Debian branch, as `debian/gbp.conf` says.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// One `gbp import-orig`.
#[derive(Debug, Clone)]
pub struct ImportOrig {
    /// The packaging repository's worktree, on its Debian branch.
    pub dir: PathBuf,
    /// The upstream tarball.
    pub tarball: PathBuf,
    /// The upstream version (`--upstream-version`).
    pub version: String,
    /// The tag of the upstream release it is the tarball of (`--upstream-vcs-tag`).
    pub upstream_vcs_tag: String,
    /// `--pristine-tar`, `--no-pristine-tar`, or gbp.conf's choice.
    pub pristine_tar: Option<bool>,
}

/// Runs `gbp import-orig --no-interactive` for `import`; on failure, gbp's last lines.
pub fn import_orig(import: &ImportOrig) -> Result<()> {
    let mut cmd = Command::new("gbp");
    cmd.arg("import-orig")
        .arg("--no-interactive")
        .arg(format!("--upstream-version={}", import.version))
        .arg(format!("--upstream-vcs-tag={}", import.upstream_vcs_tag));
    match import.pristine_tar {
        Some(true) => {
            cmd.arg("--pristine-tar");
        }
        Some(false) => {
            cmd.arg("--no-pristine-tar");
        }
        None => {}
    }
    cmd.arg(&import.tarball);
    run(cmd, "gbp import-orig", &import.dir, &import.tarball)
}

/// Runs a gbp program in `dir`, quietly; a failure carries its last lines.
fn run(mut cmd: Command, program: &'static str, dir: &Path, what: &Path) -> Result<()> {
    let out = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: "gbp",
            package: "git-buildpackage",
            target: what.display().to_string(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(Error::Tool {
        program,
        what: what.display().to_string(),
        status: out.status.to_string(),
        stderr: tail[tail.len().saturating_sub(3)..].join("; "),
    })
}
