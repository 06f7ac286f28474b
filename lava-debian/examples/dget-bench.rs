//! Our side of `cargo xtask bench dget`, as its own process.
//!
//! - `dget-bench make-fixture DIR`: a throwaway key (`DIR/key.gpg` is its certificate,
//!   binary, for `dscverify` too) and two signed source packages of incompressible
//!   files: `DIR/single/` (a 50 MB orig tarball and a small debian tarball) and
//!   `DIR/multi/` (the same 50 MB split into an orig tarball and four component
//!   tarballs).
//! - `dget-bench fetch DSC_URL DEST KEYRING`: one `dget` into DEST, the signature
//!   checked against KEYRING.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::SystemTime;

use lava_debian::{DgetRequest, FileSums, dget};
use lava_signing::{KeySelector, Keyring, PassphraseSource, Signer};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["make-fixture", dir] => make_fixture(Path::new(dir)),
        ["fetch", url, dest, keyring] => fetch(url, Path::new(dest), Path::new(keyring)),
        _ => {
            eprintln!("usage: dget-bench make-fixture DIR | fetch DSC_URL DEST KEYRING");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dget-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fetch(url: &str, dest: &Path, keyring: &Path) -> Result<()> {
    dget(&DgetRequest {
        dsc_url: url.to_owned(),
        dest: dest.to_owned(),
        keyring: Some(Keyring::from_file(keyring)?),
        allow_unsigned: false,
        jobs: 4,
        expected_dsc: None,
        meter: Default::default(),
    })?;
    Ok(())
}

const MB: usize = 1_000_000;

fn make_fixture(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let key = lava_signing::keygen::KeySpec::new(
        "Bench Release",
        "bench@lava.invalid",
        SystemTime::now() - std::time::Duration::from_secs(3600),
    )
    .generate()?;
    let secret = dir.join("key.secret");
    key.write_secret_key(&secret)?;
    std::fs::write(dir.join("key.gpg"), key.public_key_binary()?)?;
    let signer = Signer::from_key_file(
        &secret,
        &KeySelector::from_str(&key.fingerprint().to_hex())?,
        &PassphraseSource::None,
        SystemTime::now(),
    )?;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    package(
        &dir.join("single"),
        &[
            ("lava_1.0.orig.tar.gz", 50 * MB),
            ("lava_1.0-1.debian.tar.xz", 200_000),
        ],
        &signer,
        &mut seed,
    )?;
    package(
        &dir.join("multi"),
        &[
            ("lava_1.0.orig.tar.gz", 18 * MB),
            ("lava_1.0.orig-docs.tar.gz", 8 * MB),
            ("lava_1.0.orig-server.tar.gz", 8 * MB),
            ("lava_1.0.orig-dispatcher.tar.gz", 8 * MB),
            ("lava_1.0.orig-coordinator.tar.gz", 8 * MB),
            ("lava_1.0-1.debian.tar.xz", 200_000),
        ],
        &signer,
        &mut seed,
    )?;
    Ok(())
}

/// Writes `files` of random bytes into `dir` and the `.dsc` listing them, signed.
fn package(dir: &Path, files: &[(&str, usize)], signer: &Signer, seed: &mut u64) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut sums = Vec::new();
    for (name, size) in files {
        let bytes = random(*size, seed);
        let path: PathBuf = dir.join(name);
        std::fs::File::create(&path)?.write_all(&bytes)?;
        sums.push(FileSums::of_bytes(name, &bytes));
    }
    let list = |f: &dyn Fn(&FileSums) -> String| -> String {
        sums.iter().map(|s| format!(" {}\n", f(s))).collect()
    };
    let dsc = format!(
        "Format: 3.0 (quilt)\nSource: lava\nBinary: lava\nArchitecture: all\nVersion: 1.0-1\nMaintainer: Bench <bench@lava.invalid>\nStandards-Version: 4.6.2\nChecksums-Sha1:\n{}Checksums-Sha256:\n{}Files:\n{}",
        list(&|s| format!("{} {} {}", s.sha1, s.size, s.name)),
        list(&|s| format!("{} {} {}", s.sha256, s.size, s.name)),
        list(&|s| format!("{} {} {}", s.md5, s.size, s.name)),
    );
    std::fs::write(
        dir.join("lava_1.0-1.dsc"),
        signer.sign_cleartext(dsc.as_bytes())?,
    )?;
    Ok(())
}

/// `len` incompressible bytes (xorshift64), so no transport compression helps.
fn random(len: usize, state: &mut u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
