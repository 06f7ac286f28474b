//! The system's `git` as the transport, run with the user's configuration. What
//! lava-release adds goes after it: a key file appended to the ssh command the user
//! already has (`GIT_SSH_COMMAND`, `core.sshCommand` or `ssh`), a token as the last
//! credential helper. Secrets travel in the child's environment, never in its
//! arguments, and are cut out of anything git prints before it reaches an error.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{Network, PushOutcome};
use crate::{Error, Result, Source};

/// The variable the credential helper reads the token from.
const TOKEN_VAR: &str = "LAVA_RELEASE_GIT_TOKEN";
/// The variable the ssh askpass program reads the key's passphrase from.
const PASSPHRASE_VAR: &str = "LAVA_RELEASE_SSH_PASSPHRASE";

/// What git said when it failed: the one line that explains it, secrets cut out.
#[derive(Debug)]
struct GitSaid(String);

impl std::fmt::Display for GitSaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GitSaid {}

/// A `git` command with the network set-up, and the scratch directory holding the
/// askpass program it may run (removed when this is dropped).
struct Git {
    cmd: Command,
    _scratch: Option<tempfile::TempDir>,
}

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

impl Git {
    fn new(git_dir: Option<&Path>, net: &Network) -> std::io::Result<Git> {
        let mut cmd = Command::new("git");
        // A run from inside a hook must not work on the hook's repository instead.
        for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX"] {
            cmd.env_remove(var);
        }
        if let Some(dir) = git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        if !net.interactive {
            cmd.env("GIT_TERMINAL_PROMPT", "0");
        }
        if let Some(token) = &net.token {
            // After the user's own helpers: theirs answer first when they know the host.
            // `store` and `erase` have nothing to do here and succeed quietly.
            cmd.arg("-c").arg(format!(
                "credential.helper=!f() {{ if test \"$1\" = get; then printf 'username=oauth2\\npassword=%s\\n' \"${TOKEN_VAR}\"; fi; }}; f"
            ));
            cmd.env(TOKEN_VAR, token);
        }
        let mut scratch = None;
        if net.ssh_key.is_some() || net.ssh_user.is_some() {
            let mut ssh = user_ssh_command(git_dir)?;
            if let Some(key) = &net.ssh_key {
                ssh.push_str(" -i ");
                ssh.push_str(&quote(&key.to_string_lossy()));
            }
            if let Some(user) = &net.ssh_user {
                ssh.push_str(" -l ");
                ssh.push_str(&quote(user));
            }
            cmd.env("GIT_SSH_COMMAND", ssh);
            if let (Some(_), Some(passphrase)) = (&net.ssh_key, &net.ssh_key_passphrase) {
                let dir = tempfile::Builder::new().prefix("lava-git-").tempdir()?;
                let askpass = dir.path().join("askpass");
                let mut file = std::fs::File::create(&askpass)?;
                writeln!(file, "#!/bin/sh\nprintf '%s\\n' \"${PASSPHRASE_VAR}\"")?;
                drop(file);
                set_executable(&askpass)?;
                cmd.env("SSH_ASKPASS", &askpass)
                    .env("SSH_ASKPASS_REQUIRE", "force")
                    .env(PASSPHRASE_VAR, passphrase);
                scratch = Some(dir);
            }
        }
        Ok(Git {
            cmd,
            _scratch: scratch,
        })
    }

    fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    fn output(mut self) -> std::io::Result<Output> {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
    }
}

fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// The ssh command git would run: `GIT_SSH_COMMAND`, else `core.sshCommand`, else
/// `GIT_SSH`, else `ssh`; what lava-release adds is appended to it.
#[allow(clippy::disallowed_methods)] // git's own variables, read as git reads them.
fn user_ssh_command(git_dir: Option<&Path>) -> std::io::Result<String> {
    if let Ok(command) = std::env::var("GIT_SSH_COMMAND") {
        if !command.is_empty() {
            return Ok(command);
        }
    }
    let mut config = Command::new("git");
    if let Some(dir) = git_dir {
        config.arg("--git-dir").arg(dir);
    }
    let out = config
        .args(["config", "--get", "core.sshCommand"])
        .stdin(Stdio::null())
        .output()?;
    let configured = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !configured.is_empty() {
        return Ok(configured);
    }
    Ok(match std::env::var("GIT_SSH") {
        Ok(program) if !program.is_empty() => quote(&program),
        _ => "ssh".to_owned(),
    })
}

/// The line of git's standard error that says why it failed, with the secrets of
/// `net` and any password in a URL replaced by `<redacted>`.
fn summary(stderr: &[u8], net: &Network) -> GitSaid {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    let first_error = lines
        .iter()
        .position(|l| l.starts_with("fatal: ") || l.starts_with("error: "));
    let line = match first_error {
        // ssh explains and git adds a generic line: ssh's is the one to read.
        Some(i)
            if i > 0
                && lines[i].ends_with("Could not read from remote repository.")
                && !lines[i - 1].starts_with("remote:") =>
        {
            lines[i - 1]
        }
        Some(i) => lines[i]
            .trim_start_matches("fatal: ")
            .trim_start_matches("error: "),
        None => lines.last().copied().unwrap_or("git failed without a word"),
    };
    let mut line = redact_urls(line);
    for secret in [&net.token, &net.ssh_key_passphrase].into_iter().flatten() {
        if !secret.is_empty() {
            line = line.replace(secret.as_str(), "<redacted>");
        }
    }
    GitSaid(line)
}

/// `scheme://user:password@host` becomes `scheme://user:<redacted>@host`.
fn redact_urls(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("<redacted>");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

fn source(e: std::io::Error) -> Source {
    format!("cannot run git: {e}").into()
}

pub(super) fn push(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    net: &Network,
) -> Result<PushOutcome> {
    let err = |source: Source| Error::Push {
        remote: remote.to_owned(),
        source,
    };
    let mut git = Git::new(Some(git_dir), net)
        .map_err(|e| err(source(e)))?
        .args([
            "push",
            "--porcelain",
            "--no-follow-tags",
            "--recurse-submodules=no",
        ]);
    if refspecs.len() > 1 {
        // All or nothing: the branch and its tag land together.
        git = git.args(["--atomic"]);
    }
    let out = git
        .args(["--", remote])
        .args(refspecs)
        .output()
        .map_err(|e| err(source(e)))?;
    let outcome = porcelain(&String::from_utf8_lossy(&out.stdout));
    if !out.status.success() && outcome.rejected.is_empty() {
        return Err(err(summary(&out.stderr, net).into()));
    }
    Ok(outcome)
}

/// The refs a `git push --porcelain` reports: `FLAG \t FROM:TO \t SUMMARY` lines, `!`
/// for a refusal, `=` for a ref already there.
fn porcelain(stdout: &str) -> PushOutcome {
    let mut outcome = PushOutcome::default();
    for line in stdout.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(flag), Some(refs), summary) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let to = refs.split_once(':').map_or(refs, |(_, to)| to).to_owned();
        match flag {
            "!" => {
                let summary = summary.unwrap_or_default();
                let why = match (summary.find('('), summary.rfind(')')) {
                    (Some(open), Some(close)) if open < close => &summary[open + 1..close],
                    _ => summary.trim_matches(|c| c == '[' || c == ']'),
                };
                outcome.rejected.push(format!("{to} ({why})"));
            }
            "=" => {}
            _ => outcome.updated.push(to),
        }
    }
    outcome
}

pub(super) fn remote_refs(
    git_dir: &Path,
    remote: &str,
    net: &Network,
) -> Result<Vec<(String, String)>> {
    let err = |source: Source| Error::Remote {
        remote: remote.to_owned(),
        source,
    };
    let out = Git::new(Some(git_dir), net)
        .map_err(|e| err(source(e)))?
        .args(["ls-remote", "--", remote])
        .output()
        .map_err(|e| err(source(e)))?;
    if !out.status.success() {
        return Err(err(summary(&out.stderr, net).into()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (id, name) = line.split_once('\t')?;
            Some((name.to_owned(), id.to_owned()))
        })
        .collect())
}

pub(super) fn fetch(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    depth: Option<u32>,
    net: &Network,
) -> Result<()> {
    let err = |source: Source| Error::Fetch {
        remote: redact_urls(remote),
        refspecs: refspecs.join(", "),
        source,
    };
    let out = Git::new(Some(git_dir), net)
        .map_err(|e| err(source(e)))?
        .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"])
        .args(depth.map(|d| format!("--depth={d}")))
        .args(["--", remote])
        .args(refspecs)
        .output()
        .map_err(|e| err(source(e)))?;
    if !out.status.success() {
        return Err(err(summary(&out.stderr, net).into()));
    }
    Ok(())
}

pub(super) fn clone(
    url: &str,
    branch: &str,
    dest: &Path,
    extra: Option<(&str, &str)>,
    net: &Network,
) -> Result<()> {
    let err = |source: Source| Error::Clone {
        url: url.to_owned(),
        dest: dest.to_owned(),
        source,
    };
    let out = Git::new(None, net)
        .map_err(|e| err(source(e)))?
        .args([
            "clone",
            "--quiet",
            "--no-tags",
            "--single-branch",
            "--branch",
        ])
        .args([branch, "--", url])
        .args([dest])
        .output()
        .map_err(|e| err(source(e)))?;
    if !out.status.success() {
        return Err(err(summary(&out.stderr, net).into()));
    }
    if let Some((remote_ref, local)) = extra {
        // Only when the server lets it be read (a bare repository does; Gerrit keeps
        // changes elsewhere): a failure is not an error.
        let git_dir = dest.join(".git");
        let _ = Git::new(Some(&git_dir), net)
            .map_err(|e| err(source(e)))?
            .args(["fetch", "--quiet", "--no-tags", "origin"])
            .args([format!("+{remote_ref}:{local}")])
            .output();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_names_refused_refs_with_their_reasons_and_the_updated_ones() {
        let stdout = "To /srv/origin.git\n\
            *\trefs/tags/2024.02:refs/tags/2024.02\t[new tag]\n\
            \x20\trefs/heads/master:refs/heads/master\tabc1234..def5678\n\
            =\trefs/heads/x:refs/heads/x\t[up to date]\n\
            !\trefs/heads/main:refs/heads/main\t[rejected] (non-fast-forward)\n\
            !\trefs/for/master:refs/for/master\t[remote rejected] (pre-receive hook declined)\n\
            Done\n";
        assert_eq!(
            porcelain(stdout),
            PushOutcome {
                updated: vec!["refs/tags/2024.02".into(), "refs/heads/master".into()],
                rejected: vec![
                    "refs/heads/main (non-fast-forward)".into(),
                    "refs/for/master (pre-receive hook declined)".into(),
                ],
            }
        );
    }

    #[test]
    fn the_summary_is_sshs_line_over_gits_generic_one_and_never_shows_a_secret() {
        let net = Network {
            token: Some("glpat-s3cr3t".into()),
            ..Network::default()
        };
        let said = summary(
            b"Host key verification failed.\r\nfatal: Could not read from remote repository.\n\n\
              Please make sure you have the correct access rights\nand the repository exists.\n",
            &net,
        );
        assert_eq!(said.0, "Host key verification failed.");
        let said = summary(
            b"hint: see below\nfatal: Authentication failed for 'https://oauth2:glpat-s3cr3t@127.0.0.1:8/x.git/'\n",
            &net,
        );
        assert_eq!(
            said.0,
            "Authentication failed for 'https://oauth2:<redacted>@127.0.0.1:8/x.git/'"
        );
        let said = summary(b"remote: echo glpat-s3cr3t\n", &net);
        assert_eq!(said.0, "remote: echo <redacted>");
        assert_eq!(summary(b"", &net).0, "git failed without a word");
    }

    #[test]
    fn urls_lose_only_their_passwords() {
        assert_eq!(
            redact_urls("see https://u:p@h/x and ssh://git@h:22/y, http://h/z"),
            "see https://u:<redacted>@h/x and ssh://git@h:22/y, http://h/z"
        );
    }
}
