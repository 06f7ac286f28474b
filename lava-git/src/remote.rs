//! Talking to remotes through libgit2 (gix cannot push yet): push without force, list a
//! remote's refs, and hand a directory over to another repository for review.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// How to authenticate to a remote: ssh-agent first, then a key file, for ssh remotes;
/// a token for https remotes. `Debug` never shows the secrets.
#[derive(Clone, Default)]
pub struct Credentials {
    /// User name for ssh when the URL has none (default `git`).
    pub ssh_user: Option<String>,
    /// A private key file, tried after the ssh-agent.
    pub ssh_key: Option<PathBuf>,
    /// The key file's passphrase.
    pub ssh_key_passphrase: Option<String>,
    /// A token for https remotes (sent as the password of user `oauth2`).
    pub token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("ssh_user", &self.ssh_user)
            .field("ssh_key", &self.ssh_key)
            .field(
                "ssh_key_passphrase",
                &self.ssh_key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// libgit2 asks again after each refused credential; give up after this many tries.
const MAX_AUTH_ATTEMPTS: u32 = 4;

fn callbacks<'a>(creds: &'a Credentials, attempts: &'a Cell<u32>) -> git2::RemoteCallbacks<'a> {
    let mut cb = git2::RemoteCallbacks::new();
    cb.credentials(move |_url, username, allowed| {
        let n = attempts.get();
        attempts.set(n + 1);
        if n >= MAX_AUTH_ATTEMPTS {
            return Err(git2::Error::from_str("authentication failed"));
        }
        let user = username.or(creds.ssh_user.as_deref()).unwrap_or("git");
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(user);
        }
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            match (n, &creds.ssh_key) {
                (0, _) | (_, None) => return git2::Cred::ssh_key_from_agent(user),
                (_, Some(key)) => {
                    return git2::Cred::ssh_key(
                        user,
                        None,
                        key,
                        creds.ssh_key_passphrase.as_deref(),
                    );
                }
            }
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(token) = &creds.token {
                return git2::Cred::userpass_plaintext("oauth2", token);
            }
        }
        Err(git2::Error::from_str("no credentials for this remote"))
    });
    cb
}

fn open(git_dir: &Path) -> std::result::Result<git2::Repository, git2::Error> {
    git2::Repository::open(git_dir)
}

fn find_remote<'r>(
    repo: &'r git2::Repository,
    remote: &str,
) -> std::result::Result<git2::Remote<'r>, git2::Error> {
    repo.find_remote(remote)
        .or_else(|_| repo.remote_anonymous(remote))
}

/// Pushes `refspecs` (never forced: a `+` refspec is refused) to `remote` (a remote's
/// name or a URL). Every ref must be accepted; a rejection names the refs rejected and
/// those that were updated, so nothing is left half-pushed without a word.
pub(crate) fn push(
    git_dir: &Path,
    remote: &str,
    refspecs: &[&str],
    creds: &Credentials,
) -> Result<()> {
    if let Some(forced) = refspecs.iter().find(|r| r.starts_with('+')) {
        return Err(Error::ForcePush {
            refspec: (*forced).to_owned(),
        });
    }
    let err = |source: git2::Error| Error::Push {
        remote: remote.to_owned(),
        source: source.into(),
    };
    let repo = open(git_dir).map_err(err)?;
    let mut handle = find_remote(&repo, remote).map_err(err)?;
    let attempts = Cell::new(0);
    let rejected: RefCell<Vec<String>> = RefCell::default();
    let updated: RefCell<Vec<String>> = RefCell::default();
    let mut cb = callbacks(creds, &attempts);
    cb.push_update_reference(|name, status| {
        match status {
            Some(why) => rejected.borrow_mut().push(format!("{name} ({why})")),
            None => updated.borrow_mut().push(name.to_owned()),
        }
        Ok(())
    });
    let mut opts = git2::PushOptions::new();
    opts.remote_callbacks(cb);
    handle.push(refspecs, Some(&mut opts)).map_err(err)?;
    drop(opts);
    let rejected = rejected.into_inner();
    if !rejected.is_empty() {
        let updated = updated.into_inner();
        return Err(Error::PushRejected {
            remote: remote.to_owned(),
            rejected: rejected.join(", "),
            updated: if updated.is_empty() {
                "nothing".into()
            } else {
                updated.join(", ")
            },
        });
    }
    Ok(())
}

/// The refs `remote` advertises, as (name, id) pairs (`git ls-remote`), peeled tags
/// included as `refs/tags/NAME^{}`.
pub(crate) fn remote_refs(
    git_dir: &Path,
    remote: &str,
    creds: &Credentials,
) -> Result<Vec<(String, String)>> {
    let err = |source: git2::Error| Error::Remote {
        remote: remote.to_owned(),
        source: source.into(),
    };
    let repo = open(git_dir).map_err(err)?;
    let mut handle = find_remote(&repo, remote).map_err(err)?;
    let attempts = Cell::new(0);
    let connection = handle
        .connect_auth(
            git2::Direction::Fetch,
            Some(callbacks(creds, &attempts)),
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

/// A directory of one repository handed over to another for review, as LAVA copies its
/// device types to lava-lab: a fresh clone, a branch, a copy, a commit, a push to a
/// review ref (what `git review` does for Gerrit).
#[derive(Debug, Clone)]
pub struct Handover<'a> {
    /// The target repository's URL.
    pub url: &'a str,
    /// Its branch the change is based on (`master`).
    pub base: &'a str,
    /// The directory whose files are copied (absolute).
    pub source_dir: &'a Path,
    /// Where they go in the target, relative to its top (`shared/device-types`).
    pub dest_dir: &'a str,
    /// The local branch made in the clone.
    pub branch: &'a str,
    /// The ref pushed to (`refs/for/master`).
    pub push_ref: &'a str,
    /// The commit message.
    pub message: &'a str,
    /// Author and committer of the commit.
    pub author: (&'a str, &'a str),
    /// Where to clone (created; must not exist).
    pub clone_dir: &'a Path,
    /// Credentials for the target.
    pub creds: &'a Credentials,
}

/// Whether the target already has the files: where, or what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverState {
    /// The review ref (or the base branch) already holds every file with this content.
    Present {
        /// The ref that holds them.
        reference: String,
        /// Its commit.
        commit: String,
    },
    /// These files (relative to the source directory) differ or are missing.
    Missing(Vec<String>),
}

fn source_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn clone(h: &Handover<'_>) -> Result<git2::Repository> {
    let err = |source: git2::Error| Error::Clone {
        url: h.url.to_owned(),
        dest: h.clone_dir.to_owned(),
        source: source.into(),
    };
    let attempts = Cell::new(0);
    let review_attempts = Cell::new(0);
    let mut fetch = git2::FetchOptions::new();
    fetch.remote_callbacks(callbacks(h.creds, &attempts));
    let repo = git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .branch(h.base)
        .clone(h.url, h.clone_dir)
        .map_err(err)?;
    // The review ref, when the server lets us read it back (a bare repository does;
    // Gerrit keeps changes elsewhere).
    let mut fetch = git2::FetchOptions::new();
    fetch.remote_callbacks(callbacks(h.creds, &review_attempts));
    let spec = format!("+{}:refs/lava-release/review", h.push_ref);
    if let Ok(mut origin) = repo.find_remote("origin") {
        let _ = origin.fetch(&[spec.as_str()], Some(&mut fetch), None);
    }
    Ok(repo)
}

fn missing_in(repo: &git2::Repository, commit: git2::Oid, h: &Handover<'_>) -> Result<Vec<String>> {
    let err = |source: git2::Error| Error::Clone {
        url: h.url.to_owned(),
        dest: h.clone_dir.to_owned(),
        source: source.into(),
    };
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(err)?;
    let files = source_files(h.source_dir).map_err(|source| Error::ReadDir {
        path: h.source_dir.to_owned(),
        source,
    })?;
    let mut missing = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(h.source_dir)
            .expect("files are under the source directory");
        let blob = git2::Oid::hash_file(git2::ObjectType::Blob, &file).map_err(err)?;
        let there = tree
            .get_path(&Path::new(h.dest_dir).join(rel))
            .ok()
            .map(|e| e.id());
        if there != Some(blob) {
            missing.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(missing)
}

fn state(repo: &git2::Repository, h: &Handover<'_>) -> Result<HandoverState> {
    let mut missing = Vec::new();
    for (reference, name) in [
        ("refs/lava-release/review".to_owned(), h.push_ref.to_owned()),
        (
            format!("refs/remotes/origin/{}", h.base),
            format!("refs/heads/{}", h.base),
        ),
    ] {
        let Ok(commit) = repo.refname_to_id(&reference) else {
            continue;
        };
        let m = missing_in(repo, commit, h)?;
        if m.is_empty() {
            return Ok(HandoverState::Present {
                reference: name,
                commit: commit.to_string(),
            });
        }
        if missing.is_empty() {
            missing = m;
        }
    }
    Ok(HandoverState::Missing(missing))
}

/// Read-only: clones the target and says whether it already has the files.
pub fn handover_state(h: &Handover<'_>) -> Result<HandoverState> {
    let repo = clone(h)?;
    let state = state(&repo, h);
    drop(repo);
    let _ = std::fs::remove_dir_all(h.clone_dir);
    state
}

/// Hands the files over (unless already there) and returns where they are now.
pub fn handover(h: &Handover<'_>) -> Result<HandoverState> {
    let repo = clone(h)?;
    if let HandoverState::Present { reference, commit } = state(&repo, h)? {
        return Ok(HandoverState::Present { reference, commit });
    }
    let err = |source: git2::Error| Error::Clone {
        url: h.url.to_owned(),
        dest: h.clone_dir.to_owned(),
        source: source.into(),
    };
    let head = repo.head().and_then(|r| r.peel_to_commit()).map_err(err)?;
    repo.branch(h.branch, &head, true).map_err(err)?;
    repo.set_head(&format!("refs/heads/{}", h.branch))
        .map_err(err)?;
    let dest = h.clone_dir.join(h.dest_dir);
    let files = source_files(h.source_dir).map_err(|source| Error::ReadDir {
        path: h.source_dir.to_owned(),
        source,
    })?;
    for file in files {
        let rel = file
            .strip_prefix(h.source_dir)
            .expect("files are under the source directory");
        let target = dest.join(rel);
        let copied = target
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| std::fs::copy(&file, &target));
        copied.map_err(|source| Error::Copy {
            from: file.clone(),
            to: target.clone(),
            source,
        })?;
    }
    // `git add --all`: every change and every new file.
    let mut index = repo.index().map_err(err)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(err)?;
    index.update_all(["*"], None).map_err(err)?;
    index.write().map_err(err)?;
    let tree_id = index.write_tree().map_err(err)?;
    let tree = repo.find_tree(tree_id).map_err(err)?;
    let who = git2::Signature::now(h.author.0, h.author.1).map_err(err)?;
    let commit = repo
        .commit(Some("HEAD"), &who, &who, h.message, &tree, &[&head])
        .map_err(err)?;
    let refspec = format!("refs/heads/{}:{}", h.branch, h.push_ref);
    push(repo.path(), "origin", &[refspec.as_str()], h.creds)?;
    Ok(HandoverState::Present {
        reference: h.push_ref.to_owned(),
        commit: commit.to_string(),
    })
}
