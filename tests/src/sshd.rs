//! A real OpenSSH `sshd` on a 127.0.0.1 port, with its own host key and one
//! authorized client key, and an `ssh_config` (identity, known_hosts) for the client.
//! The daemon is stopped by PID when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// A running sshd; dropping it stops it.
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    user: String,
}

fn require(program: &str, package: &str) -> anyhow::Result<()> {
    if Path::new(program).exists()
        || Command::new(program)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    {
        Ok(())
    } else {
        bail!("`{program}` is needed; install it with `apt-get install {package}`")
    }
}

fn keygen(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "lava-test", "-f"])
        .arg(path)
        .status()
        .context("cannot run ssh-keygen; install openssh-client")?;
    ensure!(status.success(), "ssh-keygen failed for {path:?}");
    Ok(())
}

impl Sshd {
    /// Starts sshd for the current user, listening on 127.0.0.1 only.
    pub fn start() -> anyhow::Result<Sshd> {
        require("/usr/sbin/sshd", "openssh-server")?;
        require("ssh", "openssh-client")?;
        let dir = tempfile::Builder::new().prefix("lava-sshd-").tempdir()?;
        let d = dir.path();
        keygen(&d.join("host_key"))?;
        keygen(&d.join("id_ed25519"))?;
        std::fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys"))?;
        // sshd's privilege separation needs this directory (Debian creates it at boot).
        std::fs::create_dir_all("/run/sshd").ok();
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n\
                 LogLevel ERROR\n",
                d = d.display()
            ),
        )?;
        let host_pub = std::fs::read_to_string(d.join("host_key.pub"))?;
        let mut fields = host_pub.split_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            bail!("unexpected host key {host_pub:?}")
        };
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )?;
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {d}/id_ed25519\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
                d = d.display()
            ),
        )?;
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start /usr/sbin/sshd; install openssh-server")?;
        let user = String::from_utf8(
            Command::new("id")
                .arg("-un")
                .output()
                .context("cannot run id")?
                .stdout,
        )?
        .trim()
        .to_owned();
        let mut sshd = Sshd {
            dir,
            child,
            port,
            user,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = sshd.child.try_wait()? {
                bail!("sshd exited with {status} before listening on port {port}");
            }
            ensure!(
                Instant::now() < deadline,
                "sshd did not listen on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(sshd)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user logged in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The client configuration (`ssh -F`): identity and known_hosts for this server.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The client's private key (authorized on the server).
    pub fn identity(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    /// A known_hosts file holding the server's host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// `ssh://USER@127.0.0.1:PORT` followed by the absolute `path`.
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// Runs `command` on the server with the generated client config.
    pub fn ssh(&self, command: &str) -> anyhow::Result<std::process::Output> {
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .arg("-p")
            .arg(self.port.to_string())
            .arg(format!("{}@127.0.0.1", self.user))
            .arg(command)
            .output()
            .context("cannot run ssh")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Stops this daemon only, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
