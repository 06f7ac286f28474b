//! The in-process transport: libgit2, with ssh-agent, a key file or a token.

use std::cell::{Cell, RefCell};
use std::path::Path;

use super::{Network, PushOutcome};
use crate::{Error, Result};

/// libgit2 asks again after each refused credential; give up after this many tries.
const MAX_AUTH_ATTEMPTS: u32 = 4;

fn callbacks<'a>(net: &'a Network, attempts: &'a Cell<u32>) -> git2::RemoteCallbacks<'a> {
    let mut cb = git2::RemoteCallbacks::new();
    cb.credentials(move |_url, username, allowed| {
        let n = attempts.get();
        attempts.set(n + 1);
        if n >= MAX_AUTH_ATTEMPTS {
            return Err(git2::Error::from_str("authentication failed"));
        }
        let user = username.or(net.ssh_user.as_deref()).unwrap_or("git");
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(user);
        }
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            match (n, &net.ssh_key) {
                (0, _) | (_, None) => return git2::Cred::ssh_key_from_agent(user),
                (_, Some(key)) => {
                    return git2::Cred::ssh_key(user, None, key, net.ssh_key_passphrase.as_deref());
                }
            }
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(token) = &net.token {
                return git2::Cred::userpass_plaintext("oauth2", token);
            }
        }
        Err(git2::Error::from_str("no credentials for this remote"))
    });
    cb
}

fn find_remote<'r>(
    repo: &'r git2::Repository,
    remote: &str,
) -> std::result::Result<git2::Remote<'r>, git2::Error> {
    repo.find_remote(remote)
        .or_else(|_| repo.remote_anonymous(remote))
}

pub(super) fn push(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    net: &Network,
) -> Result<PushOutcome> {
    let err = |source: git2::Error| Error::Push {
        remote: remote.to_owned(),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(err)?;
    let mut handle = find_remote(&repo, remote).map_err(err)?;
    let attempts = Cell::new(0);
    let outcome = RefCell::new(PushOutcome::default());
    let mut cb = callbacks(net, &attempts);
    cb.push_update_reference(|name, status| {
        let mut outcome = outcome.borrow_mut();
        match status {
            Some(why) => outcome.rejected.push(format!("{name} ({why})")),
            None => outcome.updated.push(name.to_owned()),
        }
        Ok(())
    });
    let mut opts = git2::PushOptions::new();
    opts.remote_callbacks(cb);
    handle.push(refspecs, Some(&mut opts)).map_err(err)?;
    drop(opts);
    Ok(outcome.into_inner())
}

pub(super) fn remote_refs(
    git_dir: &Path,
    remote: &str,
    net: &Network,
) -> Result<Vec<(String, String)>> {
    let err = |source: git2::Error| Error::Remote {
        remote: remote.to_owned(),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(err)?;
    let mut handle = find_remote(&repo, remote).map_err(err)?;
    let attempts = Cell::new(0);
    let connection = handle
        .connect_auth(
            git2::Direction::Fetch,
            Some(callbacks(net, &attempts)),
            None,
        )
        .map_err(err)?;
    let refs = connection
        .list()
        .map_err(err)?
        .iter()
        .map(|head| (head.name().to_owned(), head.oid().to_string()))
        .collect();
    Ok(refs)
}

pub(super) fn fetch(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    depth: Option<u32>,
    net: &Network,
) -> Result<()> {
    let err = |source: git2::Error| Error::Fetch {
        remote: remote.to_owned(),
        refspecs: refspecs.join(", "),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(err)?;
    let mut handle = find_remote(&repo, remote).map_err(err)?;
    let attempts = Cell::new(0);
    let mut opts = git2::FetchOptions::new();
    opts.remote_callbacks(callbacks(net, &attempts))
        .download_tags(git2::AutotagOption::None)
        .update_fetchhead(false);
    // libgit2's local transport cannot fetch shallow ("shallow fetch is not supported
    // by the local transport"); from a path on this machine the whole history is cheap.
    let local = remote.starts_with("file://") || Path::new(remote).exists();
    if let Some(depth) = depth.filter(|_| !local) {
        opts.depth(i32::try_from(depth).unwrap_or(i32::MAX));
    }
    handle.fetch(refspecs, Some(&mut opts), None).map_err(err)
}

pub(super) fn clone(
    url: &str,
    branch: &str,
    dest: &Path,
    extra: Option<(&str, &str)>,
    net: &Network,
) -> Result<()> {
    let err = |source: git2::Error| Error::Clone {
        url: url.to_owned(),
        dest: dest.to_owned(),
        source: source.into(),
    };
    let attempts = Cell::new(0);
    let mut fetch = git2::FetchOptions::new();
    fetch.remote_callbacks(callbacks(net, &attempts));
    let repo = git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .branch(branch)
        .clone(url, dest)
        .map_err(err)?;
    if let Some((remote_ref, local)) = extra {
        let extra_attempts = Cell::new(0);
        let mut fetch = git2::FetchOptions::new();
        fetch.remote_callbacks(callbacks(net, &extra_attempts));
        let spec = format!("+{remote_ref}:{local}");
        if let Ok(mut origin) = repo.find_remote("origin") {
            let _ = origin.fetch(&[spec.as_str()], Some(&mut fetch), None);
        }
    }
    Ok(())
}
