//! The local dev build: the release manager's builder (by default `gbp buildpackage
//! --git-builder="sbuild -s"`) run on the release commit, its output streamed to the
//! terminal and kept in a log, and a failure reported with the log's last lines.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// How many lines of the log a failure shows.
pub const TAIL_LINES: usize = 20;

/// A build to run.
#[derive(Clone, Debug)]
pub struct DevBuild {
    /// The command, run with `sh -c` (so quoting works as in a shell).
    pub command: String,
    /// The directory it runs in: the repository's worktree.
    pub dir: PathBuf,
    /// Extra environment variables (e.g. the version and tag).
    pub env: Vec<(String, String)>,
    /// The log file, replaced on each run.
    pub log: PathBuf,
}

/// Runs `build`: stdout and stderr go, line by line, to `echo` (the caller's
/// terminal) and to the log. Fails with the exit status and the last
/// [`TAIL_LINES`] lines of the log.
pub fn dev_build(build: &DevBuild, echo: &mut dyn FnMut(&str)) -> Result<()> {
    let file_error = |action, source| Error::File {
        action,
        path: build.log.clone(),
        source,
    };
    if let Some(dir) = build.log.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::File {
            action: "create",
            path: dir.to_owned(),
            source,
        })?;
    }
    let mut log = std::fs::File::create(&build.log).map_err(|e| file_error("create", e))?;
    let (reader, writer) = std::io::pipe().map_err(|e| file_error("open a pipe for", e))?;
    let writer_err = writer
        .try_clone()
        .map_err(|e| file_error("open a pipe for", e))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&build.command)
        .current_dir(&build.dir)
        .envs(build.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err);
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        program: "sh",
        package: "dash",
        target: build.command.clone(),
        source,
    })?;
    // The command's ends of the pipe live in `cmd`: drop it so the read below ends
    // when the build (and whatever it started) closes its output.
    drop(cmd);
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = lines
            .read_until(b'\n', &mut line)
            .map_err(|e| file_error("read the build output for", e))?;
        if n == 0 {
            break;
        }
        log.write_all(&line).map_err(|e| file_error("write", e))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        echo(text);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text.to_owned());
    }
    let status = child
        .wait()
        .map_err(|e| file_error("wait for the build writing", e))?;
    log.flush().map_err(|e| file_error("write", e))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Build {
        command: build.command.clone(),
        status: status.to_string(),
        log: build.log.clone(),
        tail: Vec::from(tail).join("\n"),
    })
}

/// Unpacks the source package of `dsc` into `dest` (which must not exist) with
/// `dpkg-source -x --skip-patches`, without checking its signature again.
pub fn unpack(dsc: &Path, dest: &Path) -> Result<()> {
    let out = Command::new("dpkg-source")
        .args(["--no-check", "--skip-patches", "-x"])
        .arg(dsc)
        .arg(dest)
        .output()
        .map_err(|source| Error::Spawn {
            program: "dpkg-source",
            package: "dpkg-dev",
            target: dsc.display().to_string(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Tool {
        program: "dpkg-source",
        what: dsc.display().to_string(),
        status: out.status.to_string(),
        stderr: last_lines(&out.stderr, 3),
    })
}

/// The last `n` non-empty lines of a program's output, joined with `; `.
pub(crate) fn last_lines(output: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path, command: &str) -> DevBuild {
        DevBuild {
            command: command.into(),
            dir: dir.to_owned(),
            env: vec![("LAVA_RELEASE_VERSION".into(), "2024.02".into())],
            log: dir.join("logs/build.log"),
        }
    }

    #[test]
    fn streams_and_logs_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        dev_build(
            &build(
                dir.path(),
                "echo building $LAVA_RELEASE_VERSION; echo warn >&2",
            ),
            &mut |l| seen.push(l.to_owned()),
        )
        .unwrap();
        assert_eq!(seen, ["building 2024.02", "warn"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("logs/build.log")).unwrap(),
            "building 2024.02\nwarn\n"
        );
    }

    #[test]
    fn a_failure_names_the_status_and_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let err = dev_build(
            &build(
                dir.path(),
                "seq 1 30; echo 'E: missing build dependency' >&2; exit 3",
            ),
            &mut |_| {},
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("the build `seq 1 30;"), "{message}");
        assert!(message.contains("exit status: 3"), "{message}");
        assert!(
            message.ends_with("\n12\n13\n14\n15\n16\n17\n18\n19\n20\n21\n22\n23\n24\n25\n26\n27\n28\n29\n30\nE: missing build dependency"),
            "{message}"
        );
    }
}
