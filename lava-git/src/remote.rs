//! Talking to remotes: push without force, list a remote's refs, clone. Through the
//! system's `git` by default, so the user's `~/.ssh/config`, `core.sshCommand`,
//! `url.<base>.insteadOf` rules and credential helpers apply as they do to their own
//! pushes (cargo's `net.git-fetch-with-cli`); through libgit2 for embedders without git.

mod libgit2;
mod system;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// What carries git's network operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// The system's `git` (found on `PATH`), with the user's configuration.
    #[default]
    Git,
    /// libgit2 in this process: no `git` needed, but no `~/.ssh/config`,
    /// `core.sshCommand`, `insteadOf` or credential helper either.
    Libgit2,
}

/// How this process reaches remotes: the transport and the credentials it adds to
/// what the user's set-up already provides. `Debug` never shows the secrets.
#[derive(Clone, Default)]
pub struct Network {
    /// What carries the operations.
    pub transport: Transport,
    /// User name for ssh when the URL names none (libgit2: default `git`; system git:
    /// ssh's own configuration decides unless this is set).
    pub ssh_user: Option<String>,
    /// A private key file, tried after the ssh-agent.
    pub ssh_key: Option<PathBuf>,
    /// The key file's passphrase.
    pub ssh_key_passphrase: Option<String>,
    /// A token for https remotes (sent as the password of user `oauth2`); with the
    /// system git, asked only after the user's own credential helpers.
    pub token: Option<String>,
    /// Whether git and ssh may ask on the terminal (a person is there); otherwise a
    /// missing credential fails at once instead of waiting for an answer.
    pub interactive: bool,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("transport", &self.transport)
            .field("ssh_user", &self.ssh_user)
            .field("ssh_key", &self.ssh_key)
            .field(
                "ssh_key_passphrase",
                &self.ssh_key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("interactive", &self.interactive)
            .finish()
    }
}

/// Pushes `refspecs` (never forced: a `+` or a deleting `:` refspec is refused) to
/// `remote` (a remote's name or a URL). Every ref must be accepted; a rejection names
/// the refs rejected and those that were updated, so nothing is left half-pushed
/// without a word.
pub(crate) fn push(git_dir: &Path, remote: &str, refspecs: &[&str], net: &Network) -> Result<()> {
    if let Some(forced) = refspecs
        .iter()
        .find(|r| r.starts_with('+') || r.starts_with(':'))
    {
        return Err(Error::ForcePush {
            refspec: (*forced).to_owned(),
        });
    }
    let outcome = match net.transport {
        Transport::Git => system::push(git_dir, remote, refspecs, net)?,
        Transport::Libgit2 => libgit2::push(git_dir, remote, refspecs, net)?,
    };
    if outcome.rejected.is_empty() {
        return Ok(());
    }
    Err(Error::PushRejected {
        remote: remote.to_owned(),
        rejected: outcome.rejected.join(", "),
        updated: if outcome.updated.is_empty() {
            "nothing".into()
        } else {
            outcome.updated.join(", ")
        },
    })
}

/// Fetches `refspecs` (`SRC:DST`, never forced: a `+` refspec is refused, so a ref that
/// would not fast-forward fails the fetch) from `remote` (a remote's name, a URL or a
/// repository's path), tags only as the refspecs name them; `depth` makes a shallow
/// fetch of that many commits.
pub(crate) fn fetch(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    depth: Option<u32>,
    net: &Network,
) -> Result<()> {
    if let Some(forced) = refspecs.iter().find(|r| r.starts_with('+')) {
        return Err(Error::ForcePush {
            refspec: (*forced).to_owned(),
        });
    }
    match net.transport {
        Transport::Git => system::fetch(git_dir, remote, refspecs, depth, net),
        Transport::Libgit2 => libgit2::fetch(git_dir, remote, refspecs, depth, net),
    }
}

/// What a push did to each ref: those the remote took and those it refused, with
/// its reasons.
#[derive(Debug, Default, PartialEq, Eq)]
struct PushOutcome {
    updated: Vec<String>,
    rejected: Vec<String>,
}

/// The refs `remote` advertises, as (name, id) pairs (`git ls-remote`), peeled tags
/// included as `refs/tags/NAME^{}`.
pub(crate) fn remote_refs(
    git_dir: &Path,
    remote: &str,
    net: &Network,
) -> Result<Vec<(String, String)>> {
    match net.transport {
        Transport::Git => system::remote_refs(git_dir, remote, net),
        Transport::Libgit2 => libgit2::remote_refs(git_dir, remote, net),
    }
}

/// Clones branch `branch` of `url` into `dest` (which must not exist) and, when the
/// server lets it be read, `extra` into `local` (a ref of the clone's own). The clone's
/// `origin` fetches that branch alone.
pub(crate) fn clone(
    url: &str,
    branch: &str,
    dest: &Path,
    extra: Option<(&str, &str)>,
    net: &Network,
) -> Result<git2::Repository> {
    match net.transport {
        Transport::Git => system::clone(url, branch, dest, extra, net)?,
        Transport::Libgit2 => libgit2::clone(url, branch, dest, extra, net)?,
    }
    git2::Repository::open(dest).map_err(|source| Error::Clone {
        url: url.to_owned(),
        dest: dest.to_owned(),
        source: source.into(),
    })
}
