//! LAVA version numbers: `YYYY.MM` releases and `YYYY.MM.N` point releases.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A LAVA release version: `YYYY.MM` with a two-digit month, or `YYYY.MM.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseVersion {
    /// Four-digit year.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Point release number, if any (`2022.01.3`).
    pub point: Option<u32>,
}

/// Why a string is not a LAVA version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a LAVA version: {why}")]
pub struct VersionError {
    input: String,
    why: &'static str,
}

impl FromStr for ReleaseVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why| VersionError {
            input: input.to_owned(),
            why,
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let mut parts = input.split('.');
        let (Some(year), Some(month)) = (parts.next(), parts.next()) else {
            return Err(err("expected YYYY.MM, e.g. 2024.05"));
        };
        let point = parts.next();
        if parts.next().is_some() {
            return Err(err(
                "expected YYYY.MM or YYYY.MM.N, e.g. 2024.05 or 2022.01.3",
            ));
        }
        if year.len() != 4 || !digits(year) {
            return Err(err("the year must have four digits, e.g. 2024.05"));
        }
        if month.len() != 2 || !digits(month) {
            return Err(err("the month must have two digits, e.g. 2024.05"));
        }
        let month: u8 = month
            .parse()
            .map_err(|_| err("the month must be 01 to 12"))?;
        if !(1..=12).contains(&month) {
            return Err(err("the month must be 01 to 12"));
        }
        let point = match point {
            None => None,
            Some(p) if digits(p) && !p.starts_with('0') => Some(
                p.parse()
                    .map_err(|_| err("the point release number is too large"))?,
            ),
            Some(_) => {
                return Err(err(
                    "the point release must be a number from 1 without leading zeros",
                ));
            }
        };
        let year = year
            .parse()
            .map_err(|_| err("the year must have four digits"))?;
        if year < 2000 {
            return Err(err("the year must be 2000 or later"));
        }
        Ok(Self { year, month, point })
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}.{:02}", self.year, self.month)?;
        if let Some(point) = self.point {
            write!(f, ".{point}")?;
        }
        Ok(())
    }
}

impl Serialize for ReleaseVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Debian version of a release: `VERSION-1` unless given, and it must be a valid
/// Debian version whose upstream part is the release version.
pub fn debian_version(
    version: ReleaseVersion,
    given: Option<&str>,
) -> Result<debversion::Version, DebianVersionError> {
    let text = match given {
        Some(text) => text.to_owned(),
        None => format!("{version}-1"),
    };
    let parsed: debversion::Version = text
        .parse()
        .map_err(|_| DebianVersionError::Invalid { text: text.clone() })?;
    if parsed.upstream_version != version.to_string() || parsed.epoch.is_some() {
        return Err(DebianVersionError::Mismatch {
            text,
            version: version.to_string(),
        });
    }
    Ok(parsed)
}

/// What is being released.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The LAVA version, e.g. `2024.05`.
    pub version: ReleaseVersion,
    /// The Debian version, e.g. `2024.05-1`.
    #[serde(serialize_with = "serialize_display")]
    pub debian_version: debversion::Version,
}

impl Release {
    /// The release of `version`, its Debian version `given` or `VERSION-1`.
    pub fn new(version: ReleaseVersion, given: Option<&str>) -> Result<Self, DebianVersionError> {
        Ok(Self {
            version,
            debian_version: debian_version(version, given)?,
        })
    }
}

fn serialize_display<S: serde::Serializer>(
    v: &debversion::Version,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a Debian version does not fit the release.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DebianVersionError {
    /// Not a Debian version at all.
    #[error("`{text}` is not a valid Debian version")]
    Invalid {
        /// The input.
        text: String,
    },
    /// Its upstream part is not the release version.
    #[error("Debian version `{text}` does not belong to release {version}; use {version}-N")]
    Mismatch {
        /// The input.
        text: String,
        /// The release version.
        version: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match input.parse::<ReleaseVersion>() {
            Ok(v) => format!("ok {v}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "input {input:?}");
    }

    #[test]
    fn versions() {
        check("2024.05", "ok 2024.05");
        check("2022.01.3", "ok 2022.01.3");
        check(
            "2024.5",
            "`2024.5` is not a LAVA version: the month must have two digits, e.g. 2024.05",
        );
        check(
            "2024.13",
            "`2024.13` is not a LAVA version: the month must be 01 to 12",
        );
        check(
            "2024.00",
            "`2024.00` is not a LAVA version: the month must be 01 to 12",
        );
        check(
            "24.05",
            "`24.05` is not a LAVA version: the year must have four digits, e.g. 2024.05",
        );
        check(
            "2024",
            "`2024` is not a LAVA version: expected YYYY.MM, e.g. 2024.05",
        );
        check(
            "2024.05.0",
            "`2024.05.0` is not a LAVA version: the point release must be a number from 1 without leading zeros",
        );
        check(
            "2024.05.1.2",
            "`2024.05.1.2` is not a LAVA version: expected YYYY.MM or YYYY.MM.N, e.g. 2024.05 or 2022.01.3",
        );
        check(
            "v2024.05",
            "`v2024.05` is not a LAVA version: the year must have four digits, e.g. 2024.05",
        );
        check(
            "2024.05-1",
            "`2024.05-1` is not a LAVA version: the month must have two digits, e.g. 2024.05",
        );
        check(
            "",
            "`` is not a LAVA version: expected YYYY.MM, e.g. 2024.05",
        );
    }

    #[test]
    fn debian_versions() {
        let v: ReleaseVersion = "2024.05".parse().unwrap();
        assert_eq!(debian_version(v, None).unwrap().to_string(), "2024.05-1");
        assert_eq!(
            debian_version(v, Some("2024.05-2")).unwrap().to_string(),
            "2024.05-2"
        );
        assert_eq!(
            debian_version(v, Some("2024.06-1"))
                .unwrap_err()
                .to_string(),
            "Debian version `2024.06-1` does not belong to release 2024.05; use 2024.05-N"
        );
    }

    #[test]
    fn ordering_follows_dates() {
        let a: ReleaseVersion = "2023.12".parse().unwrap();
        let b: ReleaseVersion = "2024.01".parse().unwrap();
        let c: ReleaseVersion = "2024.01.1".parse().unwrap();
        assert!(a < b && b < c);
    }
}
