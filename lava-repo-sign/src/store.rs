//! Where a repository lives: a local directory, or a directory on a server reached
//! with the system's OpenSSH client (so `~/.ssh/config`, agents and known hosts work
//! as users expect).
//!
//! Reading and hashing local files is done in Rust, and so is replacing a local file
//! (through [`lava_io::AtomicFile`]). The other changes to the file system (snapshots,
//! symlink switches) and replacing a file on a server are small POSIX shell scripts run
//! by `sh` locally or through `ssh` remotely, so the two kinds of repository take the
//! same code path.
//!
//! Every `ssh` run of one [`Store`] (and of the stores, trees and sites made from it)
//! goes through one connection: OpenSSH connection sharing, with the control socket
//! in a private temporary directory. The first run starts the master, which stays
//! [`CONTROL_PERSIST`] after the last run; dropping the last clone asks it to exit
//! (`ssh -O exit`) and removes the directory.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use crate::algorithm::Algorithm;
use crate::check::FileDigest;
use crate::digest;
use crate::error::{Error, Result};

/// A repository's location: a local directory or `ssh://[user@]host[:port]/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// A directory on a server reached through SSH.
    Ssh(SshUrl),
}

/// The parts of an `ssh://[user@]host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshUrl {
    /// The user to log in as; `None` lets ssh pick (its config, then the local user).
    pub user: Option<String>,
    /// Host name or address.
    pub host: String,
    /// Port; `None` lets ssh pick.
    pub port: Option<u16>,
    /// Absolute path on the server.
    pub path: String,
}

impl SshUrl {
    /// `user@host:port`, for messages.
    pub fn host_label(&self) -> String {
        let mut s = String::new();
        if let Some(user) = &self.user {
            s.push_str(user);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(port) = self.port {
            s.push_str(&format!(":{port}"));
        }
        s
    }
}

impl Location {
    /// Parses a path or an `ssh://` URL.
    pub fn parse(text: &str) -> Result<Location> {
        let bad = |reason: &str| Error::BadLocation {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(rest) = text.strip_prefix("ssh://") else {
            if text.contains("://") {
                return Err(bad("only ssh:// URLs and paths are repository locations"));
            }
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("it has no path after the host"))?;
        let path = format!("/{}", path.trim_end_matches('/'));
        if path == "/" {
            return Err(bad("the path is empty"));
        }
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_owned()), h),
            Some(_) => return Err(bad("the user name is empty")),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(
                    p.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
            ),
            None => (hostport, None),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(bad("the host name is empty or starts with `-`"));
        }
        Ok(Location::Ssh(SshUrl {
            user,
            host: host.to_owned(),
            port,
            path,
        }))
    }

    /// The location of `rel` (a `/`-separated relative path) inside this one.
    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(rel)),
            Location::Ssh(u) => Location::Ssh(SshUrl {
                path: format!("{}/{rel}", u.path),
                ..u.clone()
            }),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Ssh(u) => write!(f, "ssh://{}{}", u.host_label(), u.path),
        }
    }
}

/// How to run OpenSSH for remote repositories.
#[derive(Clone, Debug)]
pub struct SshOptions {
    /// The `ssh` program.
    pub program: PathBuf,
    /// An `ssh_config` to use instead of the user's (`ssh -F`); `None` uses the user's.
    pub config: Option<PathBuf>,
    /// Where the private directory holding the shared connection's control socket is
    /// made; `None` is the system's temporary directory. A socket path must stay
    /// under about 100 bytes, or ssh connects without sharing.
    pub control_dir: Option<PathBuf>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            program: PathBuf::from("ssh"),
            config: None,
            control_dir: None,
        }
    }
}

/// How long a shared connection outlives its last use when nobody closes it (a
/// crashed run): long enough to span the gaps between one release's steps, short
/// enough that nothing lingers. A later run after it expired starts a new one.
const CONTROL_PERSIST: &str = "60s";

/// The file name of the control socket inside its private directory.
const CONTROL_SOCKET: &str = "ssh";

/// One shared OpenSSH connection to a host: the private directory of its control
/// socket. Dropped with the last [`Store`] using it, it stops the master.
#[derive(Debug)]
struct Connection {
    dir: tempfile::TempDir,
    ssh: SshOptions,
    url: SshUrl,
}

impl Connection {
    /// `None` when the directory cannot be made: ssh then connects each time.
    fn new(ssh: &SshOptions, url: &SshUrl) -> Option<Connection> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("lava-ssh-");
        let dir = match &ssh.control_dir {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        };
        Some(Connection {
            dir: dir.ok()?,
            ssh: ssh.clone(),
            url: url.clone(),
        })
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join(CONTROL_SOCKET)
    }
}

/// `ssh` with the options, port and user of `url`, before the host.
fn ssh_command(ssh: &SshOptions, url: &SshUrl) -> Command {
    let mut cmd = Command::new(&ssh.program);
    if let Some(config) = &ssh.config {
        cmd.arg("-F").arg(config);
    }
    // Never prompt: a release runs unattended, and agents still work.
    cmd.args(["-o", "BatchMode=yes"]);
    if let Some(port) = url.port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = &url.user {
        cmd.arg("-l").arg(user);
    }
    cmd
}

impl Drop for Connection {
    fn drop(&mut self) {
        let socket = self.socket();
        if !socket.exists() {
            return;
        }
        // The master exits at once; `-O exit` returns when it has been told.
        let mut cmd = ssh_command(&self.ssh, &self.url);
        cmd.arg("-o")
            .arg(format!("ControlPath={}", socket.display()))
            .args(["-O", "exit", "--"])
            .arg(&self.url.host)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = cmd.status();
    }
}

/// Quotes `s` for a POSIX shell.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    Dir,
    File,
    Symlink(String),
}

/// A repository root and the means to reach it.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub(crate) location: Location,
    ssh: SshOptions,
    /// The shared connection of a remote store, shared by its clones.
    connection: Option<Arc<Connection>>,
}

/// Exit status the scripts use for "no such file".
const ABSENT: i32 = 44;

impl Store {
    pub(crate) fn new(location: Location, ssh: SshOptions) -> Store {
        let connection = match &location {
            Location::Ssh(url) => Connection::new(&ssh, url).map(Arc::new),
            Location::Local(_) => None,
        };
        Store {
            location,
            ssh,
            connection,
        }
    }

    pub(crate) fn at(&self, rel: &str) -> Store {
        Store {
            location: self.location.join(rel),
            ssh: self.ssh.clone(),
            connection: self.connection.clone(),
        }
    }

    /// The path of `rel` as the shell on the machine holding it sees it.
    pub(crate) fn path(&self, rel: &str) -> String {
        match &self.location {
            Location::Local(p) => {
                if rel.is_empty() {
                    p.to_string_lossy().into_owned()
                } else {
                    p.join(rel).to_string_lossy().into_owned()
                }
            }
            Location::Ssh(u) if rel.is_empty() => u.path.clone(),
            Location::Ssh(u) => format!("{}/{rel}", u.path),
        }
    }

    pub(crate) fn label(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.location.to_string()
        } else {
            self.location.join(rel).to_string()
        }
    }

    pub(crate) fn is_remote(&self) -> bool {
        matches!(self.location, Location::Ssh(_))
    }

    /// Runs `script` with `args` as `$1`… under `sh`, here or on the server.
    pub(crate) fn sh(
        &self,
        what: &str,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        let (mut cmd, program, package) = match &self.location {
            Location::Local(_) => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(script).arg("sh").args(args);
                (cmd, "sh".to_owned(), "dash")
            }
            Location::Ssh(url) => {
                let mut cmd = ssh_command(&self.ssh, url);
                if let Some(connection) = &self.connection {
                    cmd.args(["-o", "ControlMaster=auto", "-o"])
                        .arg(format!("ControlPath={}", connection.socket().display()))
                        .arg("-o")
                        .arg(format!("ControlPersist={CONTROL_PERSIST}"));
                }
                // The remote login shell parses one command line: quote every word.
                let mut line = format!("sh -c {} sh", quote(script));
                for arg in args {
                    line.push(' ');
                    line.push_str(&quote(arg));
                }
                cmd.arg("--").arg(&url.host).arg(line);
                (
                    cmd,
                    self.ssh.program.display().to_string(),
                    "openssh-client",
                )
            }
        };
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let spawn_error = |source| Error::Spawn {
            program: program.clone(),
            package,
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_error)?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A failed write shows up as the script's failure below.
            let _ = pipe.write_all(data);
        }
        let output = child.wait_with_output().map_err(spawn_error)?;
        if output.status.success() || output.status.code() == Some(ABSENT) {
            return Ok(output);
        }
        Err(Error::Remote {
            host: self.host(),
            command: what.to_owned(),
            status: output.status.to_string(),
            // The last line says why (ssh's "Host key verification failed." after its
            // banner of warnings, a script's own message); the rest stays out of a
            // one-sentence report.
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// `user@host:port`, or "this machine", for messages.
    pub(crate) fn host(&self) -> String {
        match &self.location {
            Location::Local(_) => "this machine".to_owned(),
            Location::Ssh(url) => url.host_label(),
        }
    }

    fn remote_output_error(&self, what: &str, reason: String) -> Error {
        Error::RemoteOutput {
            host: self.host(),
            command: what.to_owned(),
            reason,
        }
    }

    /// Reads a file; `None` if it does not exist.
    pub(crate) fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        self.read_absolute(&self.path(rel))
    }

    /// Reads a file by its path on the machine holding the repository.
    pub(crate) fn read_absolute(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match &self.location {
            Location::Local(_) => {
                let path = PathBuf::from(path);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(Error::Read { path, source }),
                }
            }
            Location::Ssh(_) => {
                let out = self.sh(
                    &format!("cat {path}"),
                    "[ -e \"$1\" ] || exit 44; exec cat -- \"$1\"",
                    &[path],
                    None,
                )?;
                Ok((out.status.code() != Some(ABSENT)).then_some(out.stdout))
            }
        }
    }

    /// What `rel` is, without following a final symlink.
    pub(crate) fn kind(&self, rel: &str) -> Result<Kind> {
        if let Location::Local(root) = &self.location {
            let path = root.join(rel);
            return match std::fs::symlink_metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Kind::Missing),
                Err(source) => Err(Error::Read { path, source }),
                Ok(m) if m.file_type().is_symlink() => {
                    let target =
                        std::fs::read_link(&path).map_err(|source| Error::Read { path, source })?;
                    Ok(Kind::Symlink(target.to_string_lossy().into_owned()))
                }
                Ok(m) if m.is_dir() => Ok(Kind::Dir),
                Ok(_) => Ok(Kind::File),
            };
        }
        let what = format!("stat {}", self.path(rel));
        let out = self.sh(
            &what,
            "if [ -L \"$1\" ]; then printf 'link %s' \"$(readlink -- \"$1\")\"; elif [ -d \"$1\" ]; then echo dir; elif [ -e \"$1\" ]; then echo file; else echo missing; fi",
            &[&self.path(rel)],
            None,
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let text = text.trim_end_matches('\n');
        Ok(match text {
            "dir" => Kind::Dir,
            "file" => Kind::File,
            "missing" => Kind::Missing,
            t => match t.strip_prefix("link ") {
                Some(target) => Kind::Symlink(target.to_owned()),
                None => return Err(self.remote_output_error(&what, format!("`{t}`"))),
            },
        })
    }

    /// Names of the real (not symlinked) directories in `rel` holding a file `marker`.
    pub(crate) fn subdirs_with(&self, rel: &str, marker: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        match &self.location {
            Location::Local(root) => {
                let dir = root.join(rel);
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
                    Err(source) => return Err(Error::Read { path: dir, source }),
                };
                for entry in entries {
                    let entry = entry.map_err(|source| Error::Read {
                        path: dir.clone(),
                        source,
                    })?;
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    if is_dir && entry.path().join(marker).exists() {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Location::Ssh(_) => {
                let out = self.sh(
                    &format!("ls {}", self.path(rel)),
                    "cd -- \"$1\" 2>/dev/null || exit 0; for d in *; do [ -d \"$d\" ] && [ ! -L \"$d\" ] && [ -e \"$d/$2\" ] && printf '%s\\n' \"$d\"; done; exit 0",
                    &[&self.path(rel), marker],
                    None,
                )?;
                names.extend(
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        names.sort();
        Ok(names)
    }

    /// Sizes and hashes of `names` in directory `rel`; absent files are left out.
    ///
    /// Locally every algorithm asked for is computed in one read per file. Remotely
    /// the server runs `sha256sum` (and `sha512sum` if asked) over the SSH session,
    /// so no index is downloaded; MD5 and SHA-1, which apt does not trust, are not
    /// computed there.
    pub(crate) fn digests(
        &self,
        rel: &str,
        names: &[&str],
        algorithms: &[Algorithm],
    ) -> Result<BTreeMap<String, FileDigest>> {
        let mut found = BTreeMap::new();
        match &self.location {
            Location::Local(root) => {
                let dir = root.join(rel);
                let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
                let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
                for ((name, path), result) in names
                    .iter()
                    .zip(&paths)
                    .zip(digest::digest_files(&refs, algorithms))
                {
                    match result {
                        Ok(Some(d)) => {
                            found.insert((*name).to_owned(), d);
                        }
                        Ok(None) => {}
                        Err(source) => {
                            return Err(Error::Read {
                                path: path.clone(),
                                source,
                            });
                        }
                    }
                }
            }
            Location::Ssh(_) => {
                let sha512 = algorithms.contains(&Algorithm::Sha512);
                let what = format!("sha256sum over {}", self.path(rel));
                // Both sums run at once so both server cores work; sha512sum writes to
                // a temporary file so the two outputs do not interleave.
                let script = "cd -- \"$1\" || exit 97; want512=$2; shift 2
n=$#; for f in \"$@\"; do if [ -f \"$f\" ]; then set -- \"$@\" \"$f\"; fi; done; shift $n
[ $# -gt 0 ] || exit 0
stat -c 'size %s %n' -- \"$@\" 2>/dev/null
t=$(mktemp) || exit 98
if [ \"$want512\" = 1 ]; then sha512sum -- \"$@\" >\"$t\" 2>/dev/null & fi
sha256sum -- \"$@\" 2>/dev/null
wait; cat \"$t\"; rm -f \"$t\"; exit 0";
                let dir = self.path(rel);
                let mut args = vec![dir.as_str(), if sha512 { "1" } else { "0" }];
                args.extend(names.iter().copied());
                let out = self.sh(&what, script, &args, None)?;
                let text = String::from_utf8_lossy(&out.stdout);
                for line in text.lines().filter(|l| !l.is_empty()) {
                    if let Some(rest) = line.strip_prefix("size ") {
                        let (size, name) = rest
                            .split_once(' ')
                            .ok_or_else(|| self.remote_output_error(&what, line.to_owned()))?;
                        let size = size
                            .parse()
                            .map_err(|_| self.remote_output_error(&what, line.to_owned()))?;
                        found.entry(name.to_owned()).or_default().size = size;
                        continue;
                    }
                    let (hash, name) = line
                        .split_once(' ')
                        .ok_or_else(|| self.remote_output_error(&what, line.to_owned()))?;
                    let name = name.trim_start_matches([' ', '*']);
                    let algorithm = match hash.len() {
                        64 => Algorithm::Sha256,
                        128 => Algorithm::Sha512,
                        _ => return Err(self.remote_output_error(&what, line.to_owned())),
                    };
                    found.entry(name.to_owned()).or_default().hashes[algorithm.index()] =
                        Some(hash.to_ascii_lowercase());
                }
            }
        }
        Ok(found)
    }

    /// Replaces `dir/name` with `bytes` through a temporary file and a rename, giving
    /// it the owner, group and mode of the file it replaces, or of `dir/template`
    /// when there is none: [`lava_io::AtomicFile`] here, the same steps in a script on
    /// a server.
    pub(crate) fn replace(
        &self,
        dir: &str,
        name: &str,
        template: &str,
        bytes: &[u8],
    ) -> Result<()> {
        if let Location::Local(_) = &self.location {
            let dir = PathBuf::from(self.path(dir));
            let mut file = lava_io::AtomicFile::create(dir.join(name))?.like(dir.join(template));
            file.write_all(bytes).map_err(|e| file.write_error(e))?;
            file.commit()?;
            return Ok(());
        }
        let script = "set -e; cd -- \"$1\"
if [ -e \"$2\" ]; then ref=$2; else ref=$3; fi
t=$(mktemp \"./.$2.XXXXXX\"); trap 'rm -f -- \"$t\"' EXIT
cat >\"$t\"
chown --reference=\"$ref\" -- \"$t\"
chmod --reference=\"$ref\" -- \"$t\"
sync -- \"$t\" 2>/dev/null || true
mv -f -- \"$t\" \"$2\"
trap - EXIT
sync -- . 2>/dev/null || true";
        let path = self.path(dir);
        self.sh(
            &format!("replace {path}/{name}"),
            script,
            &[&path, name, template],
            Some(bytes),
        )?;
        Ok(())
    }

    /// Removes `rel` if present.
    pub(crate) fn remove(&self, rel: &str) -> Result<()> {
        let path = self.path(rel);
        self.sh(&format!("rm {path}"), "rm -f -- \"$1\"", &[&path], None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("ssh://ci@apt.example:2222/srv/apt/").unwrap(),
            Location::Ssh(SshUrl {
                user: Some("ci".into()),
                host: "apt.example".into(),
                port: Some(2222),
                path: "/srv/apt".into()
            })
        );
        assert_eq!(
            Location::parse("/srv/apt").unwrap(),
            Location::Local("/srv/apt".into())
        );
        let err = Location::parse("ssh://apt.example").unwrap_err();
        insta::assert_snapshot!(err, @"`ssh://apt.example` is not a repository location: it has no path after the host; use a path or ssh://user@host[:port]/path");
        assert!(Location::parse("ssh://-oProxyCommand=x/srv").is_err());
        assert!(Location::parse("https://apt.example/").is_err());
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(quote("a'b c"), r"'a'\''b c'");
    }
}
