//! What several stages share, one home per concern: the git remote's credentials and
//! the release commit, the GitLab client and pipeline waits, the apt repository site
//! and its uploads, the Docker promoter, the Debian templates. Names no stage.

pub mod debian;
pub mod docker;
pub mod git;
pub mod gitlab;
pub mod repo;

use std::path::Path;

use anyhow::Context as _;

/// Replaces `path` with `contents` through a temporary file in the same directory, keeping
/// the old file's permissions, so a crash leaves either the old or the new file.
pub fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .context("a file to write has a parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    let perms = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("cannot set permissions of {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
