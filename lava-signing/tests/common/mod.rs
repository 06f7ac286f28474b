//! Helpers shared by the integration tests: pinned times, generated keys, and
//! throwaway GnuPG homes whose agent is stopped by PID when they are dropped.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use lava_signing::keygen::GeneratedKey;

/// 2025-01-01T00:00:00Z: when test keys are created.
pub fn created() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600)
}

/// A day after [`created`]: when test signatures are made.
pub fn signing_time() -> SystemTime {
    created() + Duration::from_secs(86_400)
}

/// A release-like key: Ed25519 with a signing subkey, never expiring.
pub fn release_key() -> GeneratedKey {
    tests::keys::generate("LAVA Release", "release@lava.invalid", created())
}

/// Missing tools are failures rather than skips, so CI cannot pass without them.
pub use tests::tools::{require, run};

/// A scratch directory under /tmp, short enough for gpg-agent's socket paths
/// (Unix socket paths are limited to about 108 bytes).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lsig")
        .tempdir_in("/tmp")
        .unwrap()
}

/// A GnuPG home made by the test. Dropping it stops its gpg-agent, by PID.
pub struct GnupgHome {
    dir: tempfile::TempDir,
}

impl GnupgHome {
    pub fn new() -> GnupgHome {
        require("gpg", "gpg");
        require("gpg-agent", "gpg-agent");
        require("gpgconf", "gpgconf");
        require("gpg-connect-agent", "gpgconf");
        let dir = scratch();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // Loopback lets tests hand passphrases to gpg; it is the default, but say so.
        std::fs::write(
            dir.path().join("gpg-agent.conf"),
            "allow-loopback-pinentry\n",
        )
        .unwrap();
        GnupgHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `gpg` command for this home, in batch mode.
    pub fn gpg(&self) -> Command {
        let mut c = Command::new("gpg");
        c.arg("--homedir")
            .arg(self.path())
            .args(["--batch", "--no-tty"]);
        c
    }

    /// Imports the key's secret parts with `gpg --batch --import`.
    pub fn import(&self, key: &GeneratedKey) {
        let file = self.path().join("import.asc");
        key.write_secret_key(&file).unwrap();
        run(self.gpg().arg("--import").arg(&file));
    }

    /// The PID of this home's running gpg-agent, if one runs.
    pub fn agent_pid(&self) -> Option<u32> {
        let output = Command::new("gpg-connect-agent")
            .arg("--homedir")
            .arg(self.path())
            .arg("--no-autostart")
            .args(["getinfo pid", "/bye"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("D ")?.trim().parse().ok())
    }

    /// A file in this home.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        // Stop only the agent this home started: by its PID, never by name.
        if let Some(pid) = self.agent_pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}
