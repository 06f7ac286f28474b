//! The release key, as the configuration says where it lives: a secret key file, or the
//! user's gpg-agent (a GnuPG keyring or a smartcard).

use std::io::IsTerminal as _;
use std::time::SystemTime;

use anyhow::Context as _;
use lava_signing::{KeySelector, KeySource, Passphrase, PassphraseSource, PinentrySession, Signer};

use crate::config::Signing;
use crate::env::Env;
use crate::error::UsageError;

/// Where the key file's passphrase comes from: the variable or file the configuration
/// names, else a prompt on a terminal, else none.
pub fn passphrase_source(config: &Signing, env: &Env) -> anyhow::Result<PassphraseSource> {
    if let Some(var) = &config.passphrase_env {
        let value = env.var(var).ok_or_else(|| {
            UsageError(format!(
                "the environment variable {var} (signing.passphrase_env) is not set"
            ))
        })?;
        return Ok(PassphraseSource::Value(Passphrase::new(value)));
    }
    if let Some(path) = &config.passphrase_file {
        return Ok(PassphraseSource::File(path.clone()));
    }
    Ok(if std::io::stdin().is_terminal() {
        PassphraseSource::Prompt
    } else {
        PassphraseSource::None
    })
}

/// Where the release key is: `signing.key_file`, else the gpg-agent of
/// `signing.gnupg_home` (or the default GnuPG home).
pub fn key_source(config: &Signing, env: &Env) -> anyhow::Result<KeySource> {
    let passphrase = passphrase_source(config, env)?;
    Ok(match &config.key_file {
        Some(path) => KeySource::File {
            path: path.clone(),
            passphrase,
        },
        None => KeySource::GpgAgent {
            homedir: config.gnupg_home.clone(),
            // The agent's own pinentry asks, unless a passphrase is configured or
            // loopback is asked for.
            passphrase: match passphrase {
                PassphraseSource::Prompt if !config.pinentry_loopback => PassphraseSource::None,
                source => source,
            },
            session: pinentry_session(env),
        },
    })
}

/// Where gpg-agent's pinentry appears: the session gpg would describe, with this
/// process's terminal when `GPG_TTY` is unset.
fn pinentry_session(env: &Env) -> PinentrySession {
    let tty = std::io::stdin()
        .is_terminal()
        .then(|| std::fs::read_link("/proc/self/fd/0").ok())
        .flatten()
        .map(|path| path.to_string_lossy().into_owned());
    PinentrySession::from_vars(|name| env.var(name), tty.as_deref())
}

/// The release key's signer, checked usable (alive, not revoked, signing-capable) now.
pub fn release_signer(config: &Signing, env: &Env) -> anyhow::Result<Signer> {
    key_signer(config, env, "signing.release_key", "the release key")
}

/// The signer of the key `config.release_key` names, checked usable now; `field`
/// names the configuration key in errors, `role` the key (`the release key`).
pub fn key_signer(config: &Signing, env: &Env, field: &str, role: &str) -> anyhow::Result<Signer> {
    let selector: KeySelector = config.release_key.parse().map_err(|e| {
        UsageError(format!(
            "{field} `{}` is not a fingerprint: {e}",
            config.release_key
        ))
    })?;
    let source = key_source(config, env)?;
    Signer::open(&source, &selector, SystemTime::now())
        .with_context(|| format!("cannot use {role} {}", config.release_key))
}

/// The release key's public certificate, to verify without unlocking the key:
/// `signing.public_key`, else the key file, else the gpg-agent's keyring.
pub fn release_keyring(config: &Signing, env: &Env) -> anyhow::Result<lava_signing::Keyring> {
    let _ = env;
    if let Some(path) = config.public_key.as_ref().or(config.key_file.as_ref()) {
        return lava_signing::Keyring::from_file(path).with_context(|| {
            format!(
                "cannot read the release key's certificate from {}",
                path.display()
            )
        });
    }
    let selector: KeySelector = config.release_key.parse().map_err(|e| {
        UsageError(format!(
            "signing.release_key `{}` is not a fingerprint: {e}",
            config.release_key
        ))
    })?;
    let source = KeySource::GpgAgent {
        homedir: config.gnupg_home.clone(),
        passphrase: PassphraseSource::None,
        session: PinentrySession::default(),
    };
    let signer = Signer::open(&source, &selector, SystemTime::now())
        .with_context(|| format!("cannot find the release key {}", config.release_key))?;
    Ok(lava_signing::Keyring::from_bytes(
        &signer.export_public_binary()?,
    )?)
}
