//! The process `cargo xtask bench repo-sign` times (so its peak memory can be
//! measured on its own): verify and sign every suite of a tree.
//!
//! `repo-sign-bench make-key KEYFILE` writes a throwaway release key;
//! `repo-sign-bench sign TREE KEYFILE` verifies and signs every suite of TREE.

#![allow(clippy::print_stdout)]

use std::ops::ControlFlow;
use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use lava_repo_sign::{Location, SshOptions, Tree};
use lava_signing::keygen::KeySpec;
use lava_signing::{KeySelector, Keyring, PassphraseSource, Signer};

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
        _ => Err("usage: repo-sign-bench make-key KEYFILE | sign TREE KEYFILE FINGERPRINT".into()),
    }
}
