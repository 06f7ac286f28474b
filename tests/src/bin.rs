//! Finding the `lava-release` binary the tests and the rehearsal run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's Cargo target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("target"),
    }
}

/// The workspace's top directory.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_owned()
}

/// The `lava-release` binary: `LAVA_RELEASE_BIN` when set (as `cargo xtask ci` does),
/// else built once with cargo.
pub fn lava_release_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("LAVA_RELEASE_BIN") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace())
            .args([
                "build",
                "--quiet",
                "--package",
                "lava-release-cli",
                "--bin",
                "lava-release",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building lava-release failed");
        target_dir().join("debug").join("lava-release")
    })
    .clone()
}
