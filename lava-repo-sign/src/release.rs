//! Parsing a `Release` file (deb822, through the `debian-control` crate).

use std::str::FromStr as _;

use debian_control::apt::Release;
use rowan::ast::AstNode as _;
use time::OffsetDateTime;

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};

/// One file a Release file describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Path relative to the suite directory, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hexadecimal hashes, by [`Algorithm::index`]; `None` when not listed.
    pub hashes: [Option<String>; 4],
}

impl Listed {
    /// The listed hash for `algorithm`.
    pub fn hash(&self, algorithm: Algorithm) -> Option<&str> {
        self.hashes[algorithm.index()].as_deref()
    }
}

/// What a Release file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// `Suite`.
    pub suite: Option<String>,
    /// `Codename`.
    pub codename: Option<String>,
    /// `Date`.
    pub date: Option<OffsetDateTime>,
    /// `Valid-Until`.
    pub valid_until: Option<OffsetDateTime>,
    /// The listed files, in order of first appearance.
    pub files: Vec<Listed>,
    /// Which hash fields are present.
    pub algorithms: Vec<Algorithm>,
}

impl ReleaseInfo {
    /// Parses the bytes of a Release file; `location` names it in errors.
    pub fn parse(bytes: &[u8], location: &str) -> Result<ReleaseInfo> {
        let bad = |reason: String| Error::ParseRelease {
            location: location.to_owned(),
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("it is not UTF-8 ({e})")))?;
        let release = Release::from_str(text).map_err(|e| bad(e.to_string()))?;
        let paragraph = deb822_lossless::Paragraph::cast(release.syntax().clone())
            .ok_or_else(|| bad("it holds no paragraph".to_owned()))?;
        let date = |field: &str| -> Result<Option<OffsetDateTime>> {
            paragraph
                .get(field)
                .map(|v| parse_date(v.trim()).map_err(|r| bad(format!("{field}: {r}"))))
                .transpose()
        };
        let mut info = ReleaseInfo {
            suite: release.suite().map(|s| s.trim().to_owned()),
            codename: release.codename().map(|s| s.trim().to_owned()),
            date: date("Date")?,
            valid_until: date("Valid-Until")?,
            files: Vec::new(),
            algorithms: Vec::new(),
        };
        for algorithm in Algorithm::ALL {
            let Some(value) = paragraph.get(algorithm.field()) else {
                continue;
            };
            info.algorithms.push(algorithm);
            for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let mut parts = line.split_whitespace();
                let (Some(hash), Some(size), Some(path), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad(format!(
                        "{algorithm} line `{line}` is not `HASH SIZE PATH`"
                    )));
                };
                if hash.len() != algorithm.hex_len() || !hash.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad(format!(
                        "{algorithm} of {path}: `{hash}` is not a hash"
                    )));
                }
                let size: u64 = size
                    .parse()
                    .map_err(|_| bad(format!("{algorithm} of {path}: `{size}` is not a size")))?;
                check_path(path).map_err(|r| bad(format!("listed path `{path}` {r}")))?;
                let hash = hash.to_ascii_lowercase();
                match info.files.iter_mut().find(|f| f.path == path) {
                    Some(listed) => {
                        if listed.size != size {
                            return Err(bad(format!(
                                "{path} is listed with sizes {} and {size}",
                                listed.size
                            )));
                        }
                        listed.hashes[algorithm.index()] = Some(hash);
                    }
                    None => {
                        let mut hashes: [Option<String>; 4] = Default::default();
                        hashes[algorithm.index()] = Some(hash);
                        info.files.push(Listed {
                            path: path.to_owned(),
                            size,
                            hashes,
                        });
                    }
                }
            }
        }
        if info.files.is_empty() {
            return Err(bad("it lists no file".to_owned()));
        }
        Ok(info)
    }
}

/// Listed paths are used in file system paths and shell commands: only plain relative
/// paths of the characters Debian archives use are accepted.
fn check_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("is not a plain relative path");
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._+-/~@".contains(&b))
    {
        return Err("has characters a Debian archive never uses");
    }
    Ok(())
}

/// Parses an RFC 2822 date as written in Release files, e.g.
/// `Sat, 01 Feb 2025 12:00:00 UTC` or `... +0000`. `time`'s RFC 2822 parser refuses
/// the `UTC` zone name that apt, reprepro and dak all write.
pub fn parse_date(text: &str) -> std::result::Result<OffsetDateTime, String> {
    let bad = || format!("`{text}` is not a date like `Sat, 01 Feb 2025 12:00:00 UTC`");
    let rest = match text.split_once(',') {
        Some((_, rest)) => rest,
        None => text,
    };
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, clock, zone] = tokens.as_slice() else {
        return Err(bad());
    };
    let day: u8 = day.parse().map_err(|_| bad())?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month))
    .ok_or_else(bad)?;
    let month = time::Month::try_from(month as u8 + 1).map_err(|_| bad())?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let mut hms = clock.split(':').map(|p| p.parse::<u8>());
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return Err(bad());
    };
    let offset_seconds: i32 = match *zone {
        "UTC" | "GMT" | "UT" | "Z" => 0,
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 5 => {
            let n: i32 = z[1..].parse().map_err(|_| bad())?;
            let secs = (n / 100) * 3600 + (n % 100) * 60;
            if z.starts_with('-') { -secs } else { secs }
        }
        _ => return Err(bad()),
    };
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    let clock = time::Time::from_hms(h, m, s).map_err(|_| bad())?;
    let offset = time::UtcOffset::from_whole_seconds(offset_seconds).map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: LAVA\nLabel: LAVA\nSuite: bookworm\nCodename: bookworm\nDate: Sat, 01 Feb 2025 12:00:00 UTC\nArchitectures: amd64 arm64\nComponents: main\nDescription: LAVA\nMD5Sum:\n 0123456789abcdef0123456789abcdef 10 main/binary-amd64/Packages\n 0123456789abcdef0123456789abcdef 20 main/binary-amd64/Packages.xz\nSHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 10 main/binary-amd64/Packages\n";

    #[test]
    fn parses_fields_and_merges_hashes_by_path() {
        let info = ReleaseInfo::parse(RELEASE.as_bytes(), "Release").unwrap();
        assert_eq!(info.suite.as_deref(), Some("bookworm"));
        assert_eq!(info.codename.as_deref(), Some("bookworm"));
        assert_eq!(info.date.unwrap().unix_timestamp(), 1_738_411_200);
        assert_eq!(info.algorithms, vec![Algorithm::Md5, Algorithm::Sha256]);
        assert_eq!(info.files.len(), 2);
        assert_eq!(info.files[0].size, 10);
        assert!(info.files[0].hash(Algorithm::Sha256).is_some());
        assert!(info.files[1].hash(Algorithm::Sha256).is_none());
    }

    #[test]
    fn refuses_paths_leaving_the_suite() {
        let text = RELEASE.replace("main/binary-amd64/Packages.xz", "../../etc/passwd");
        let err = ReleaseInfo::parse(text.as_bytes(), "dists/bookworm/Release").unwrap_err();
        insta::assert_snapshot!(err, @"dists/bookworm/Release is not a valid Release file: listed path `../../etc/passwd` is not a plain relative path");
    }

    #[test]
    fn refuses_malformed_hash_lines() {
        let text = RELEASE.replace(" 20 main", " twenty main");
        let err = ReleaseInfo::parse(text.as_bytes(), "Release").unwrap_err();
        insta::assert_snapshot!(err, @"Release is not a valid Release file: MD5Sum of main/binary-amd64/Packages.xz: `twenty` is not a size");
    }

    #[test]
    fn dates_with_numeric_zones() {
        let d = parse_date("Sat, 01 Feb 2025 13:30:00 +0130").unwrap();
        assert_eq!(d.unix_timestamp(), 1_738_411_200);
        assert!(parse_date("yesterday").is_err());
    }
}
