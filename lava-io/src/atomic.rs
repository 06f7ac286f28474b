//! Replacing a file that another run relies on, so that a crash leaves either the old
//! content or the whole new content under its name, never a mix or a truncated file.
//!
//! The new content goes to a temporary file in the target's directory (a rename is
//! atomic only within one file system); the file is flushed to disk, given the owner,
//! group and mode of the file it replaces, renamed over it, and the directory is flushed
//! so that the new name survives a crash too.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufWriter, Seek as _, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces (or creates) `path` with `bytes`, atomically: see [`AtomicFile`].
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|source| file.write_error(source))?;
    file.commit()
}

/// A file being written in place of `path`, which it replaces at [`AtomicFile::commit`].
///
/// Until then `path` keeps its old content (or stays absent): dropping an `AtomicFile`
/// without committing it removes its temporary file, except for a
/// [resumable](AtomicFile::resume) one, whose partial content stays for the next run.
/// When `path` exists at commit, the new file takes its owner, group and mode; giving it
/// another user's ownership needs root, so without it the commit fails
/// ([`Error::KeepOwner`]) and `path` is left as it was. A symlink at `path` is replaced,
/// not followed.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    template: Option<PathBuf>,
    temp_path: PathBuf,
    out: BufWriter<File>,
    temp: Temp,
    resumed_len: u64,
}

#[derive(Debug)]
enum Temp {
    /// A randomly named file, removed when dropped.
    Scratch(tempfile::TempPath),
    /// `NAME.part`, kept when dropped so that a later run can resume it.
    Partial,
}

impl AtomicFile {
    /// Starts replacing `path` with a new, empty temporary file beside it.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let target = path.as_ref().to_owned();
        let (dir, name) = split(&target)?;
        // Created as `File::create` would (0666 less the umask), not tempfile's 0600.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|source| Error::CreateTemp {
                path: target.clone(),
                source,
            })?;
        let (file, temp) = temp.into_parts();
        Ok(AtomicFile {
            temp_path: temp.to_path_buf(),
            target,
            template: None,
            out: BufWriter::new(file),
            temp: Temp::Scratch(temp),
            resumed_len: 0,
        })
    }

    /// Starts or continues replacing `path` through `PATH.part`, for downloads that
    /// resume: what an earlier, interrupted run wrote there is kept
    /// ([`AtomicFile::resumed_len`] bytes) and new writes are appended. Dropping the
    /// file keeps the partial content; [`AtomicFile::discard`] removes it.
    ///
    /// The partial content is whatever the interrupted run wrote: check the whole file
    /// (its size and hash) before committing it.
    pub fn resume(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let target = path.as_ref().to_owned();
        let (_, name) = split(&target)?;
        let temp_path = target.with_file_name(format!("{name}.part"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&temp_path)
            .map_err(|source| Error::CreateTemp {
                path: target.clone(),
                source,
            })?;
        let resumed_len = file
            .metadata()
            .map_err(|source| Error::Metadata {
                path: temp_path.clone(),
                source,
            })?
            .len();
        Ok(AtomicFile {
            target,
            template: None,
            temp_path,
            out: BufWriter::new(file),
            temp: Temp::Partial,
            resumed_len,
        })
    }

    /// When `path` does not exist at commit, the new file takes `template`'s owner,
    /// group and mode (a signature takes those of the file it signs, say).
    pub fn like(mut self, template: impl Into<PathBuf>) -> AtomicFile {
        self.template = Some(template.into());
        self
    }

    /// The file this one replaces.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// The temporary file holding the new content; flush before reading it.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// How many bytes of an interrupted run's partial content were kept (zero for a new
    /// file and after [`AtomicFile::restart`]).
    pub fn resumed_len(&self) -> u64 {
        self.resumed_len
    }

    /// Empties the temporary file to write the content from the start again (a server
    /// that ignored a range request sends the whole file).
    pub fn restart(&mut self) -> Result<()> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().set_len(0))
            .and_then(|()| self.out.get_mut().seek(SeekFrom::Start(0)).map(drop))
            .map_err(|source| self.write_error(source))?;
        self.resumed_len = 0;
        Ok(())
    }

    /// The error for a failed write to this file, naming the target and the temporary
    /// file (for callers of the [`Write`] methods).
    pub fn write_error(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.target.clone(),
            temp: self.temp_path.clone(),
            source,
        }
    }

    /// Flushes the new content to disk, gives it the owner, group and mode of the file it
    /// replaces (or of the template), renames it over the target and flushes the
    /// directory.
    pub fn commit(self) -> Result<()> {
        let AtomicFile {
            target,
            template,
            temp_path,
            out,
            temp,
            resumed_len: _,
        } = self;
        let write_error = |source| Error::Write {
            path: target.clone(),
            temp: temp_path.clone(),
            source,
        };
        let file = out.into_inner().map_err(|e| write_error(e.into_error()))?;
        keep_metadata(&file, &target, template.as_deref())?;
        file.sync_all().map_err(write_error)?;
        drop(file);
        let renamed = match temp {
            Temp::Scratch(temp) => temp.persist(&target).map_err(|e| e.error),
            Temp::Partial => std::fs::rename(&temp_path, &target),
        };
        renamed.map_err(|source| Error::Rename {
            path: target.clone(),
            temp: temp_path.clone(),
            source,
        })?;
        let (dir, _) = split(&target)?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::SyncDir {
                dir: dir.to_owned(),
                path: target.clone(),
                source,
            })
    }

    /// Removes the temporary file, partial content included, leaving the target as it
    /// was.
    pub fn discard(self) -> Result<()> {
        let AtomicFile {
            target,
            temp_path,
            out,
            temp,
            ..
        } = self;
        drop(out);
        match temp {
            Temp::Scratch(temp) => temp.close(),
            Temp::Partial => std::fs::remove_file(&temp_path),
        }
        .map_err(|source| Error::Discard {
            path: target,
            temp: temp_path,
            source,
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The directory and file name of `path`; a bare name lives in the current directory.
fn split(path: &Path) -> Result<(&Path, String)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::CreateTemp {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ),
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// Gives `file` the owner, group and mode of `target`, or of `template` when `target`
/// does not exist; with neither it keeps the mode it was created with.
fn keep_metadata(file: &File, target: &Path, template: Option<&Path>) -> Result<()> {
    let metadata_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Metadata { path, source }
    };
    let wanted = match std::fs::metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match template {
            Some(template) => std::fs::metadata(template).map_err(metadata_error(template))?,
            None => return Ok(()),
        },
        Err(e) => return Err(metadata_error(target)(e)),
    };
    let have = file.metadata().map_err(metadata_error(target))?;
    // Only root may give a file away; asking for the owner it already has always works.
    if (have.uid(), have.gid()) != (wanted.uid(), wanted.gid()) {
        std::os::unix::fs::fchown(file, Some(wanted.uid()), Some(wanted.gid())).map_err(
            |source| Error::KeepOwner {
                path: target.to_owned(),
                uid: wanted.uid(),
                gid: wanted.gid(),
                source,
            },
        )?;
    }
    // After the chown, which clears set-user-ID and set-group-ID bits.
    let mode = wanted.mode() & 0o7777;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|source| Error::KeepMode {
            path: target.to_owned(),
            mode,
            source,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
        let m = std::fs::metadata(path).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o7777)
    }

    #[test]
    fn creates_a_file_as_file_create_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("InRelease");
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::write(dir.path().join("plain"), b"").unwrap();
        assert_eq!(
            owner_and_mode(&path),
            owner_and_mode(&dir.path().join("plain"))
        );
        assert_eq!(names(dir.path()), ["InRelease", "plain"]);
    }

    #[test]
    fn replace_keeps_owner_group_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Release.gpg");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        // The tests run as root, as lava-repo-sign's do: giving a file away needs it.
        std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(owner_and_mode(&path), (4242, 4343, 0o640));
        assert_eq!(names(dir.path()), ["Release.gpg"]);
    }

    #[test]
    fn a_new_file_takes_the_templates_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("Release");
        std::fs::write(&release, b"Suite: x\n").unwrap();
        std::fs::set_permissions(&release, Permissions::from_mode(0o664)).unwrap();
        std::os::unix::fs::chown(&release, Some(5000), Some(5001)).unwrap();
        let path = dir.path().join("InRelease");
        let mut file = AtomicFile::create(&path).unwrap().like(&release);
        file.write_all(b"signed").unwrap();
        file.commit().unwrap();
        assert_eq!(owner_and_mode(&path), (5000, 5001, 0o664));
    }

    #[test]
    fn a_dropped_file_leaves_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lava.changes");
        std::fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half of the new").unwrap();
        file.flush().unwrap();
        assert!(file.temp_path().exists());
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["lava.changes"]);
    }

    #[test]
    fn a_resumed_file_continues_the_partial_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lava.orig.tar.gz");
        let mut file = AtomicFile::resume(&path).unwrap();
        assert_eq!(file.resumed_len(), 0);
        file.write_all(b"first half, ").unwrap();
        drop(file);
        assert!(!path.exists());
        assert_eq!(names(dir.path()), ["lava.orig.tar.gz.part"]);

        let mut file = AtomicFile::resume(&path).unwrap();
        assert_eq!(file.resumed_len(), 12);
        file.write_all(b"second half").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first half, second half");
        assert_eq!(names(dir.path()), ["lava.orig.tar.gz"]);
    }

    #[test]
    fn a_restarted_or_discarded_partial_file_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lava.dsc");
        std::fs::write(path.with_file_name("lava.dsc.part"), b"stale").unwrap();
        let mut file = AtomicFile::resume(&path).unwrap();
        assert_eq!(file.resumed_len(), 5);
        file.restart().unwrap();
        assert_eq!(file.resumed_len(), 0);
        file.write_all(b"whole").unwrap();
        file.flush().unwrap();
        assert_eq!(std::fs::read(file.temp_path()).unwrap(), b"whole");
        file.discard().unwrap();
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/InRelease");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot create a temporary file beside {path:?}; check the permissions of its directory"
            )
        );
        let err = AtomicFile::create(dir.path().join("x"))
            .unwrap()
            .like(dir.path().join("no-template"))
            .commit()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read the owner and mode of {:?}",
                dir.path().join("no-template")
            )
        );
        assert!(!dir.path().join("x").exists());
    }
}
