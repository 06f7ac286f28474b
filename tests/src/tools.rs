//! Running the real tools the tests compare with: a missing tool is a failure that
//! names its Debian package (never a skip), and a tool that fails shows its output.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context as _, ensure};

/// Fails (never skips) when a tool is missing, naming the Debian package to install.
pub fn require_tool(program: &str, package: &str) -> anyhow::Result<()> {
    let found = if program.contains('/') {
        Path::new(program).exists()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    };
    ensure!(
        found,
        "`{program}` is not installed; install the Debian package `{package}` (apt-get install -y {package})"
    );
    Ok(())
}

/// Fails the test, naming the Debian package, when `program` is missing.
#[track_caller]
pub fn require(program: &str, package: &str) {
    if let Err(e) = require_tool(program, package) {
        panic!("{e}");
    }
}

/// Runs `cmd`, feeding it `stdin` (else nothing), and captures its output, whatever
/// its exit status.
pub fn output(cmd: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<Output> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .with_context(|| format!("cannot write to {cmd:?}"))?;
    }
    child
        .wait_with_output()
        .with_context(|| format!("cannot wait for {cmd:?}"))
}

/// Runs `cmd` and fails with its status, standard output and error unless it succeeds.
pub fn try_run(cmd: &mut Command) -> anyhow::Result<Output> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    match try_run(cmd) {
        Ok(out) => out,
        Err(e) => panic!("{e:#}"),
    }
}

/// Bytes of a process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Standard output and error, as one text.
pub fn all_text(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_its_package() {
        let err = require_tool("lava-no-such-tool", "lava-pkg").unwrap_err();
        assert!(
            err.to_string().contains("apt-get install -y lava-pkg"),
            "{err}"
        );
        require_tool("sh", "dash").unwrap();
    }

    #[test]
    fn a_failing_tool_shows_its_output() {
        let err =
            try_run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("exit status: 3") && text.contains("out\nerr"),
            "{text}"
        );
        let out = output(&mut Command::new("cat"), Some(b"piped")).unwrap();
        assert_eq!(out.stdout, b"piped");
    }
}
