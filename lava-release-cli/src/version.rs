//! LAVA version numbers as LAVA tagged them: `YYYY.MM` releases, `YYYY.MM.N` point
//! releases (2022.01.1 to 2023.05.1) and `YYYY.MM.postN` fix-up releases (2019.05.post1,
//! 2021.03.post1, 2021.04.post1).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A LAVA release version: `YYYY.MM` with a two-digit month, `YYYY.MM.N` or
/// `YYYY.MM.postN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseVersion {
    /// Four-digit year.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// What follows the month, if anything.
    pub point: Option<Point>,
}

/// The part of a version after `YYYY.MM`. A `postN` sorts before a number, as Debian
/// sorts them (`2021.03.post1` < `2021.03.1`); LAVA never released both of a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Point {
    /// `.postN`: a fix-up of the month's release (`2021.03.post1`).
    Post(u32),
    /// `.N`: a point release (`2022.01.3`).
    Number(u32),
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
                "expected YYYY.MM, YYYY.MM.N or YYYY.MM.postN, e.g. 2024.05, 2022.01.3 or 2021.03.post1",
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
        let number = |p: &str| {
            if !digits(p) || p.starts_with('0') {
                return Err(err(
                    "the point release must be a number from 1 without leading zeros, or postN",
                ));
            }
            p.parse()
                .map_err(|_| err("the point release number is too large"))
        };
        let point = match point {
            None => None,
            Some(p) => match p.strip_prefix("post") {
                Some(n) => Some(Point::Post(number(n)?)),
                None => Some(Point::Number(number(p)?)),
            },
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
        match self.point {
            None => {}
            Some(Point::Number(n)) => write!(f, ".{n}")?,
            Some(Point::Post(n)) => write!(f, ".post{n}")?,
        }
        Ok(())
    }
}

impl Serialize for ReleaseVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Debian version of a release: `VERSION-1` unless given. A given one must be a
/// valid Debian version without an epoch whose upstream part is the release version, or
/// the version a point release builds on (LAVA released tag `2022.11.1` as
/// `2022.11-2`).
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
    let base = ReleaseVersion {
        point: None,
        ..version
    };
    let upstream = &parsed.upstream_version;
    if parsed.epoch.is_some() || (*upstream != version.to_string() && *upstream != base.to_string())
    {
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
            "`2024.05.0` is not a LAVA version: the point release must be a number from 1 without leading zeros, or postN",
        );
        check(
            "2024.05.1.2",
            "`2024.05.1.2` is not a LAVA version: expected YYYY.MM, YYYY.MM.N or YYYY.MM.postN, e.g. 2024.05, 2022.01.3 or 2021.03.post1",
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
    fn versions_lava_tagged() {
        check("2021.03.post1", "ok 2021.03.post1");
        check("2019.05.post1", "ok 2019.05.post1");
        check(
            "2021.03.post",
            "`2021.03.post` is not a LAVA version: the point release must be a number from 1 without leading zeros, or postN",
        );
        check(
            "2021.03.post01",
            "`2021.03.post01` is not a LAVA version: the point release must be a number from 1 without leading zeros, or postN",
        );
        let v: ReleaseVersion = "2021.04.post1".parse().unwrap();
        assert_eq!(
            debian_version(v, None).unwrap().to_string(),
            "2021.04.post1-1"
        );
    }

    #[test]
    fn a_point_release_may_be_packaged_on_its_base() {
        let v: ReleaseVersion = "2022.11.1".parse().unwrap();
        assert_eq!(
            debian_version(v, Some("2022.11-2")).unwrap().to_string(),
            "2022.11-2"
        );
        assert_eq!(
            debian_version(v, Some("2022.10-2"))
                .unwrap_err()
                .to_string(),
            "Debian version `2022.10-2` does not belong to release 2022.11.1; use 2022.11.1-N"
        );
        assert!(debian_version(v, Some("1:2022.11.1-1")).is_err());
    }

    #[test]
    fn ordering_follows_dates() {
        let a: ReleaseVersion = "2023.12".parse().unwrap();
        let b: ReleaseVersion = "2024.01".parse().unwrap();
        let c: ReleaseVersion = "2024.01.1".parse().unwrap();
        let post: ReleaseVersion = "2024.01.post1".parse().unwrap();
        assert!(a < b && b < c);
        assert!(b < post && post < c);
    }
}
