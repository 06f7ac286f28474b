//! The process `cargo xtask bench repo-sign` times (so its peak memory can be
//! measured on its own): verify and sign every suite of a tree, or only hash the
//! indices the suites list, with the library's scheduler or one file per core.
//!
//! `repo-sign-bench make-key KEYFILE` writes a throwaway release key;
//! `repo-sign-bench sign TREE KEYFILE FINGERPRINT` verifies and signs every suite of TREE;
//! `repo-sign-bench hash scheduled|per-file TREE` prints every listed index's digests.

#![allow(clippy::print_stdout)]

use std::io::Read as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use lava_repo_sign::{
    Algorithm, FileDigest, Location, ReleaseInfo, SshOptions, Tree, digest_files,
};
use lava_signing::keygen::KeySpec;
use lava_signing::{KeySelector, Keyring, PassphraseSource, Signer};
use openssl::hash::{Hasher, MessageDigest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, key] if cmd == "make-key" => {
            let created = SystemTime::now() - Duration::from_secs(86_400);
            let key_value =
                KeySpec::new("Bench Release", "bench@lava.invalid", created).generate()?;
            key_value.write_secret_key(Path::new(key))?;
            println!("{}", key_value.fingerprint().to_hex());
            Ok(())
        }
        [cmd, tree, key, fingerprint] if cmd == "sign" => {
            let now = SystemTime::now();
            let selector = KeySelector::from_str(fingerprint)?;
            let signer =
                Signer::from_key_file(Path::new(key), &selector, &PassphraseSource::None, now)?;
            let keyring = Keyring::from_bytes(&signer.export_public_binary()?)?;
            let tree = Tree::new(Location::Local(tree.into()), SshOptions::default());
            for status in tree.sign(&signer, &keyring, now, |_| ControlFlow::Continue(()))? {
                println!("{status}");
            }
            Ok(())
        }
        [cmd, how, tree] if cmd == "hash" => {
            let (paths, algorithms) = listed(Path::new(tree))?;
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            let digests = match how.as_str() {
                "scheduled" => digest_files(&refs, &algorithms),
                "per-file" => per_file(&refs, &algorithms),
                _ => return Err(format!("hash: `{how}` is neither scheduled nor per-file").into()),
            };
            for (path, digest) in paths.iter().zip(digests) {
                let digest = digest?.ok_or_else(|| format!("{} is missing", path.display()))?;
                let hashes: Vec<&str> = digest.hashes.iter().flatten().map(String::as_str).collect();
                println!("{} {} {}", path.display(), digest.size, hashes.join(" "));
            }
            Ok(())
        }
        _ => Err("usage: repo-sign-bench make-key KEYFILE | sign TREE KEYFILE FINGERPRINT | hash scheduled|per-file TREE".into()),
    }
}

/// Every index the suites of `tree` list, and every algorithm any of them lists.
fn listed(tree: &Path) -> Result<(Vec<PathBuf>, Vec<Algorithm>), Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    let mut algorithms = Vec::new();
    let mut suites: Vec<PathBuf> = std::fs::read_dir(tree.join("dists"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    suites.sort();
    for suite in suites {
        let release = suite.join("Release");
        let info = ReleaseInfo::parse(&std::fs::read(&release)?, &release.display().to_string())?;
        paths.extend(info.files.iter().map(|f| suite.join(&f.path)));
        for a in info.algorithms {
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
    }
    Ok((paths, algorithms))
}

/// The simple alternative to the library's scheduler, to compare it with: every
/// core takes the next whole file (the largest first), reads it once and feeds each
/// chunk to every algorithm in turn, all of them OpenSSL's (its MD5 takes 1.3 ns/B
/// here, RustCrypto's `md-5` 1.6).
fn per_file(paths: &[&Path], algorithms: &[Algorithm]) -> Vec<std::io::Result<Option<FileDigest>>> {
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(std::fs::metadata(paths[*i]).map_or(0, |m| m.len())));
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<std::io::Result<Option<FileDigest>>>>> =
        Mutex::new(paths.iter().map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let digest = digest_path(paths[i], algorithms);
                    out.lock().expect("no hashing thread panics")[i] = Some(digest);
                }
            });
        }
    });
    out.into_inner()
        .expect("no hashing thread panics")
        .into_iter()
        .map(|d| d.expect("every file was hashed"))
        .collect()
}

fn digest_path(path: &Path, algorithms: &[Algorithm]) -> std::io::Result<Option<FileDigest>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut hashes = algorithms
        .iter()
        .map(|a| {
            let digest = match a {
                Algorithm::Md5 => MessageDigest::md5(),
                Algorithm::Sha1 => MessageDigest::sha1(),
                Algorithm::Sha256 => MessageDigest::sha256(),
                Algorithm::Sha512 => MessageDigest::sha512(),
            };
            Ok((*a, Hasher::new(digest)?))
        })
        .collect::<Result<Vec<_>, openssl::error::ErrorStack>>()
        .map_err(std::io::Error::other)?;
    let mut buf = vec![0; 1 << 18];
    let mut size = 0;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        for (_, hash) in &mut hashes {
            hash.update(&buf[..n]).map_err(std::io::Error::other)?;
        }
    }
    let mut digest = FileDigest {
        size,
        hashes: Default::default(),
    };
    for (a, mut hash) in hashes {
        let bytes = hash.finish().map_err(std::io::Error::other)?;
        digest.hashes[a as usize] = Some(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }
    Ok(Some(digest))
}
