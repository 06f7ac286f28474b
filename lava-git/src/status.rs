//! `git status --porcelain`, reduced to the paths it lists.

use gix::bstr::{BString, ByteSlice as _};
use gix::status::Item;
use gix::status::index_worktree::Item as WorktreeItem;

use crate::{Error, Result};

/// Paths with staged or unstaged changes, and untracked paths that are not ignored
/// (whole untracked directories as `dir/`, as git's default `-unormal` shows them).
/// A rename contributes both its paths.
pub(crate) fn dirty_paths(repo: &gix::Repository) -> Result<Vec<String>> {
    let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let status_error = |source: gix::Error| Error::Status {
        repo: workdir.to_owned(),
        source: source.into(),
    };
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(status_error)?
        .into_iter(Vec::<BString>::new())
        .map_err(status_error)?;
    let mut paths = Vec::new();
    for item in iter {
        match item.map_err(status_error)? {
            Item::IndexWorktree(item) => {
                // `None` is an entry whose stat changed but whose content didn't, or an
                // ignored or tracked directory entry: git lists neither.
                if item.summary().is_none() {
                    continue;
                }
                let mut path = item.rela_path().to_str_lossy().into_owned();
                if let WorktreeItem::DirectoryContents { entry, .. } = &item
                    && matches!(
                        entry.disk_kind,
                        Some(gix::dir::entry::Kind::Directory | gix::dir::entry::Kind::Repository)
                    )
                {
                    path.push('/');
                }
                if let WorktreeItem::Rewrite { source, .. } = &item {
                    paths.push(source.rela_path().to_str_lossy().into_owned());
                }
                paths.push(path);
            }
            Item::TreeIndex(change) => {
                if let gix::diff::index::ChangeRef::Rewrite {
                    source_location, ..
                } = &change
                {
                    paths.push(source_location.to_str_lossy().into_owned());
                }
                paths.push(change.location().to_str_lossy().into_owned());
            }
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}
