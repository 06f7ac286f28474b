//! Choosing the key: parsing the configured fingerprint and picking the (sub)key that may sign.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use sequoia_openpgp::cert::amalgamation::key::ValidErasedKeyAmalgamation;
use sequoia_openpgp::packet::key::PublicParts;
use sequoia_openpgp::policy::Policy;
use sequoia_openpgp::types::RevocationStatus;
use sequoia_openpgp::{Cert, Fingerprint, KeyHandle, KeyID};

use crate::error::{Error, Result, cause};

/// A key named by fingerprint or long key id, as written in the configuration.
///
/// Parsing is case-insensitive and ignores spaces and a leading `0x`, so
/// `C87D 63FD 9355 35CF B0CA  F5C2 A791 358F 2E49 B100` and `a791358f2e49b100`
/// both work. It may name the primary key or a subkey of the certificate.
#[derive(Clone, PartialEq)]
pub struct KeySelector(KeyHandle);

impl KeySelector {
    /// The handle, for matching against sequoia certificates.
    pub fn key_handle(&self) -> &KeyHandle {
        &self.0
    }

    /// Whether `cert` has a key (primary or subkey) this selector names.
    pub(crate) fn matches(&self, cert: &Cert) -> bool {
        cert.keys().key_handle(self.0.clone()).next().is_some()
    }
}

impl FromStr for KeySelector {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let invalid = || Error::InvalidKeySelector {
            input: input.to_owned(),
        };
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let hex = compact
            .strip_prefix("0x")
            .or_else(|| compact.strip_prefix("0X"))
            .unwrap_or(&compact);
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        // 40 digits is a v4 fingerprint, 64 a v6 one, 16 a long key id. Short
        // (8-digit) key ids are refused: they collide too easily to name a release key.
        let handle = match hex.len() {
            16 => KeyHandle::from(KeyID::from_hex(hex).map_err(|_| invalid())?),
            40 | 64 => KeyHandle::from(Fingerprint::from_hex(hex).map_err(|_| invalid())?),
            _ => return Err(invalid()),
        };
        Ok(KeySelector(handle))
    }
}

impl fmt::Display for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}", self.0)
    }
}

impl fmt::Debug for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySelector({self})")
    }
}

/// Formats a time for error messages.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// Picks the (sub)keys of `cert` that may sign at `time` under `policy`, best first.
///
/// The cert itself must be valid, alive and not revoked at `time`; otherwise the
/// error says which of these failed, naming the cert's fingerprint. Among the
/// usable signing keys, the one `wanted` names comes first (so configuring a
/// subkey's fingerprint selects that subkey), then the newest, which is what
/// gpg picks too.
pub(crate) fn signing_keys<'a>(
    cert: &'a Cert,
    policy: &'a dyn Policy,
    time: SystemTime,
    wanted: &KeySelector,
) -> Result<Vec<ValidErasedKeyAmalgamation<'a, PublicParts>>> {
    let fingerprint = cert.fingerprint();
    // A hard revocation (compromise, unspecified reason) makes sequoia reject
    // the cert at every time, so look before asking for the valid cert.
    if let RevocationStatus::Revoked(_) = cert.revocation_status(policy, time) {
        return Err(Error::KeyRevoked { fingerprint });
    }
    let valid = cert
        .with_policy(policy, time)
        .map_err(|e| Error::KeyInvalid {
            fingerprint: fingerprint.clone(),
            time: rfc3339(time),
            source: cause(e),
        })?;
    if let RevocationStatus::Revoked(_) = valid.revocation_status() {
        return Err(Error::KeyRevoked { fingerprint });
    }
    if valid.alive().is_err() {
        let expired = valid
            .primary_key()
            .key_expiration_time()
            .map(rfc3339)
            .unwrap_or_else(|| "an unknown time".to_owned());
        return Err(Error::KeyExpired {
            fingerprint,
            expired,
        });
    }
    let mut keys: Vec<_> = valid
        .keys()
        .for_signing()
        .supported()
        .alive()
        .revoked(false)
        .collect();
    if keys.is_empty() {
        return Err(Error::NoSigningKey {
            fingerprint,
            time: rfc3339(time),
        });
    }
    let wanted = wanted.key_handle();
    keys.sort_by_key(|ka| {
        (
            !wanted.aliases(ka.key().key_handle()),
            std::cmp::Reverse(ka.key().creation_time()),
        )
    });
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match input.parse::<KeySelector>() {
            Ok(k) => k.to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn parses_fingerprints_and_long_key_ids() {
        check(
            "C87D63FD935535CFB0CAF5C2A791358F2E49B100",
            "C87D63FD935535CFB0CAF5C2A791358F2E49B100",
        );
        check(
            "c87d 63fd 9355 35cf b0ca  f5c2 a791 358f 2e49 b100",
            "C87D63FD935535CFB0CAF5C2A791358F2E49B100",
        );
        check("A791358F2E49B100", "A791358F2E49B100");
        check("0xa791358f2e49b100", "A791358F2E49B100");
    }

    #[test]
    fn refuses_short_ids_and_garbage() {
        check(
            "2E49B100",
            "`2E49B100` is not an OpenPGP fingerprint or long key id; give 40 hex digits (or 16 for a long key id), spaces allowed",
        );
        check(
            "release@lava.invalid",
            "`release@lava.invalid` is not an OpenPGP fingerprint or long key id; give 40 hex digits (or 16 for a long key id), spaces allowed",
        );
        check(
            "",
            "`` is not an OpenPGP fingerprint or long key id; give 40 hex digits (or 16 for a long key id), spaces allowed",
        );
    }

    #[test]
    fn long_key_id_matches_the_fingerprint_it_abbreviates() {
        let id: KeySelector = "A791358F2E49B100".parse().unwrap();
        let fpr: KeySelector = "C87D63FD935535CFB0CAF5C2A791358F2E49B100".parse().unwrap();
        assert!(id.key_handle().aliases(fpr.key_handle()));
    }
}
