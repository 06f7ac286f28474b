//! Putting a signed upload where the archive picks it up: a local directory, or an
//! SFTP upload queue through the system's OpenSSH `sftp`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::checksum::sha256_file;
use crate::{Error, Result};

/// Where an upload goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadTarget {
    /// A local (or mounted) directory.
    Directory(PathBuf),
    /// A directory on an SFTP server, reached with `sftp -b`.
    Sftp {
        /// `user@host` or `host` (names from the ssh config work too).
        host: String,
        /// The port; `None` leaves it to the ssh config.
        port: Option<u16>,
        /// The remote directory.
        dir: String,
        /// An `ssh_config` file (`sftp -F`), e.g. for the identity and known hosts.
        ssh_config: Option<PathBuf>,
    },
    /// Handed to the real `dput` with a host profile of its configuration, which
    /// records a successful upload in a `.upload` log beside the `.changes`.
    Dput {
        /// The profile (a section of `dput.cf`), e.g. `ftp-master`.
        profile: String,
        /// A `dput.cf` used instead of the user's (`dput -c`).
        config: Option<PathBuf>,
    },
}

impl std::fmt::Display for UploadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadTarget::Directory(dir) => write!(f, "{}", dir.display()),
            UploadTarget::Sftp {
                host, port, dir, ..
            } => match port {
                Some(port) => write!(f, "sftp://{host}:{port}{dir}"),
                None => write!(f, "sftp://{host}{dir}"),
            },
            UploadTarget::Dput { profile, .. } => write!(f, "dput profile {profile}"),
        }
    }
}

/// What an upload did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Files sent, the `.changes` last.
    pub uploaded: Vec<String>,
    /// Files already at the target with the same SHA256.
    pub skipped: Vec<String>,
}

/// The files of an upload: those of the `.changes`' `Files` field, then the
/// `.changes` itself, last, so a queue never sees a `.changes` before its files.
pub fn upload_files(changes_path: &Path) -> Result<Vec<PathBuf>> {
    let bytes = std::fs::read(changes_path).map_err(|source| Error::File {
        action: "read",
        path: changes_path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&crate::dsc::strip_cleartext(&bytes)).into_owned();
    let dir = changes_path.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = text
        .lines()
        .skip_while(|l| !l.starts_with("Files:"))
        .skip(1)
        .take_while(|l| l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_whitespace().last())
        .map(|n| dir.join(n))
        .collect();
    files.push(changes_path.to_owned());
    Ok(files)
}

/// Uploads the files of `changes_path` (see [`upload_files`]) to `target`,
/// skipping each file already there with the same SHA256. Through `dput`, the whole
/// upload is skipped when dput's `.upload` log records it done.
pub fn upload(changes_path: &Path, target: &UploadTarget) -> Result<UploadReport> {
    let (local, mut report) = compare(changes_path, target)?;
    if report.uploaded.is_empty() {
        return Ok(report);
    }
    match target {
        UploadTarget::Directory(dir) => copy_into(&local, &report.uploaded, dir)?,
        UploadTarget::Sftp { dir, .. } => {
            let mut batch = String::new();
            for (path, name, _, _) in local.iter().filter(|l| report.uploaded.contains(&l.1)) {
                batch.push_str(&format!(
                    "put {} {}\n",
                    quote(&path.to_string_lossy()),
                    quote(&format!("{dir}/{name}"))
                ));
            }
            sftp(target, &batch)?;
        }
        UploadTarget::Dput { .. } => {
            dput(changes_path, target, false)?;
            report.uploaded = local.into_iter().map(|l| l.1).collect();
        }
    }
    Ok(report)
}

/// What [`upload`] would do, read-only: `uploaded` lists the files it would send,
/// `skipped` those already at the target.
pub fn upload_preview(changes_path: &Path, target: &UploadTarget) -> Result<UploadReport> {
    compare(changes_path, target).map(|(_, report)| report)
}

/// Rehearses the upload without sending anything: `dput -s` for a dput profile
/// (its output is returned), else [`upload_preview`] in words.
pub fn simulate(changes_path: &Path, target: &UploadTarget) -> Result<String> {
    if let UploadTarget::Dput { .. } = target {
        return dput(changes_path, target, true);
    }
    let preview = upload_preview(changes_path, target)?;
    Ok(format!(
        "would upload {} to {target}{}",
        if preview.uploaded.is_empty() {
            "nothing".to_owned()
        } else {
            preview.uploaded.join(", ")
        },
        if preview.skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} already there)", preview.skipped.join(", "))
        }
    ))
}

/// The local files with their sums, and which of them the target lacks.
fn compare(changes_path: &Path, target: &UploadTarget) -> Result<(Vec<Local>, UploadReport)> {
    let files = upload_files(changes_path)?;
    let mut local = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (sha256, size) = sha256_file(path)?;
        local.push((path.clone(), name, size, sha256));
    }
    let same = match target {
        UploadTarget::Directory(dir) => same_in_dir(&local, dir)?,
        UploadTarget::Sftp { .. } => same_over_sftp(&local, target)?,
        UploadTarget::Dput { profile, .. } => {
            if dput_done(changes_path, profile)? {
                local.iter().map(|l| l.1.clone()).collect()
            } else {
                Vec::new()
            }
        }
    };
    let (skipped, uploaded) = local
        .iter()
        .map(|l| l.1.clone())
        .partition(|name| same.contains(name));
    Ok((local, UploadReport { uploaded, skipped }))
}

type Local = (PathBuf, String, u64, String);

fn same_in_dir(files: &[Local], dir: &Path) -> Result<Vec<String>> {
    let mut same = Vec::new();
    for (_, name, size, sha256) in files {
        let dest = dir.join(name);
        if std::fs::metadata(&dest).is_ok_and(|m| m.len() == *size)
            && sha256_file(&dest)?.0 == *sha256
        {
            same.push(name.clone());
        }
    }
    Ok(same)
}

fn copy_into(files: &[Local], names: &[String], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::File {
        action: "create",
        path: dir.to_owned(),
        source,
    })?;
    // The `.changes` comes last in `files`, so a queue never sees it before its files,
    // and each appears whole under its name.
    for (path, name, _, _) in files.iter().filter(|l| names.contains(&l.1)) {
        let mut source = std::fs::File::open(path).map_err(|source| Error::File {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let mut dest = lava_io::AtomicFile::create(dir.join(name))?;
        std::io::copy(&mut source, &mut dest).map_err(|e| dest.write_error(e))?;
        dest.commit()?;
    }
    Ok(())
}

/// Checks, sending nothing, that `target` can take an upload: the directory exists,
/// dput knows the profile (`dput -H`, so its own configuration files decide), the SFTP
/// server takes a non-interactive login (`sftp -b`, which is `BatchMode`: the host key
/// must be known and the key usable without a prompt).
pub fn check_target(target: &UploadTarget) -> Result<()> {
    match target {
        UploadTarget::Directory(dir) => {
            if !dir.is_dir() {
                return Err(Error::NoTarget {
                    target: target.to_string(),
                    reason: "does not exist; create the upload directory or fix debian.upload"
                        .into(),
                });
            }
        }
        UploadTarget::Sftp { .. } => {
            sftp(target, "pwd\n")?;
        }
        UploadTarget::Dput { profile, config } => {
            let out = run_dput(target, config.as_deref(), &["-H".as_ref()])?;
            let hosts = String::from_utf8_lossy(&out.stdout);
            let known = hosts.lines().any(|l| {
                l.split_once(" => ")
                    .is_some_and(|(name, _)| name == profile)
            });
            if !out.status.success() || !known {
                return Err(Error::NoTarget {
                    target: target.to_string(),
                    reason: format!(
                        "is not in dput's configuration ({}); add a [{profile}] section or fix debian.upload",
                        config.as_ref().map_or_else(
                            || "/etc/dput.cf, ~/.dput.cf".to_owned(),
                            |c| c.display().to_string()
                        )
                    ),
                });
            }
        }
    }
    Ok(())
}

/// dput's log of an upload of `changes_path` to `profile`: `NAME.PROFILE.upload`.
fn dput_log(changes_path: &Path, profile: &str) -> PathBuf {
    let stem = changes_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    changes_path.with_file_name(format!("{stem}.{profile}.upload"))
}

/// Whether dput's log records a successful upload of the `.changes` to `profile`.
fn dput_done(changes_path: &Path, profile: &str) -> Result<bool> {
    let log = dput_log(changes_path, profile);
    match std::fs::read_to_string(&log) {
        Ok(text) => {
            let name = changes_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(text
                .lines()
                .any(|l| l.starts_with("Successfully uploaded") && l.contains(&name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::File {
            action: "read",
            path: log,
            source,
        }),
    }
}

/// Runs `dput` (`-s` when `simulate`) on the `.changes`; returns its output.
fn dput(changes_path: &Path, target: &UploadTarget, simulate: bool) -> Result<String> {
    let UploadTarget::Dput { profile, config } = target else {
        return Ok(String::new());
    };
    // The signature was checked when it was made; dput must not need gpg to re-check.
    let mut args: Vec<&std::ffi::OsStr> = Vec::new();
    if simulate {
        args.push("-s".as_ref());
    }
    args.extend(["-u".as_ref(), profile.as_ref(), changes_path.as_os_str()]);
    let out = run_dput(target, config.as_deref(), &args)?;
    if !out.status.success() {
        return Err(Error::Tool {
            program: "dput",
            what: changes_path.display().to_string(),
            status: out.status.to_string(),
            stderr: crate::devbuild::last_lines(&[out.stdout, out.stderr].concat(), 3),
        });
    }
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Runs `dput [-c CONFIG] ARGS` for `target`, with no terminal input.
fn run_dput(
    target: &UploadTarget,
    config: Option<&Path>,
    args: &[&std::ffi::OsStr],
) -> Result<std::process::Output> {
    let mut cmd = Command::new("dput");
    if let Some(config) = config {
        cmd.arg("-c").arg(config);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: "dput",
            package: "dput",
            target: target.to_string(),
            source,
        })
}

/// Runs one `sftp` batch (read from stdin) against `target`; returns stdout.
fn sftp(target: &UploadTarget, batch: &str) -> Result<String> {
    let UploadTarget::Sftp {
        host,
        port,
        ssh_config,
        ..
    } = target
    else {
        return Ok(String::new());
    };
    let mut cmd = Command::new("sftp");
    if let Some(config) = ssh_config {
        cmd.arg("-F").arg(config);
    }
    if let Some(port) = port {
        cmd.arg("-P").arg(port.to_string());
    }
    cmd.args(["-q", "-b", "-"]).arg(host);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawn_error = |source| Error::Spawn {
        program: "sftp",
        package: "openssh-client",
        target: target.to_string(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin.write_all(batch.as_bytes()).map_err(spawn_error)?;
    }
    let out = child.wait_with_output().map_err(spawn_error)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Sftp {
            target: target.to_string(),
            status: out.status.to_string(),
            stderr: stderr.trim().lines().last().unwrap_or_default().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Quotes a path for an sftp batch line.
fn quote(path: &str) -> String {
    format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The files already in the SFTP directory with the same SHA256.
fn same_over_sftp(files: &[Local], target: &UploadTarget) -> Result<Vec<String>> {
    let UploadTarget::Sftp { dir, .. } = target else {
        return Ok(Vec::new());
    };
    // SFTP has no checksum command, so same-size remote files are fetched back and
    // hashed; a file of another size is known to differ without a transfer.
    let listing = sftp(
        target,
        &format!("-mkdir {}\nls -ln {}\n", quote(dir), quote(dir)),
    )?;
    let remote_sizes: Vec<(String, u64)> = listing
        .lines()
        .filter(|l| !l.starts_with("sftp>"))
        .filter_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let size = parts.get(4)?.parse().ok()?;
            let name = parts.last()?.rsplit('/').next()?.to_owned();
            Some((name, size))
        })
        .collect();
    let candidates: Vec<&Local> = files
        .iter()
        .filter(|(_, name, size, _)| remote_sizes.contains(&(name.clone(), *size)))
        .collect();
    let mut same = Vec::new();
    if candidates.is_empty() {
        return Ok(same);
    }
    let scratch = tempfile::tempdir().map_err(|source| Error::File {
        action: "create a temporary directory for",
        path: PathBuf::from(dir),
        source,
    })?;
    let mut batch = String::new();
    for (_, name, _, _) in &candidates {
        let local = scratch.path().join(name);
        batch.push_str(&format!(
            "get {} {}\n",
            quote(&format!("{dir}/{name}")),
            quote(&local.to_string_lossy())
        ));
    }
    sftp(target, &batch)?;
    for (_, name, _, sha256) in candidates {
        if sha256_file(&scratch.path().join(name))?.0 == *sha256 {
            same.push(name.clone());
        }
    }
    Ok(same)
}
