//! `repo verify URL`: the same checks over HTTP(S), read-only, for anyone with the
//! release key's certificate. Every listed index is downloaded and hashed as it
//! streams in (all listed hashes in one pass), as apt would.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lava_io::transfer::{Meter, shared_reader};
use lava_signing::Keyring;
use time::OffsetDateTime;

use crate::check::{check_files, check_metadata};
use crate::digest::digest_sources;
use crate::error::{Error, Result};
use crate::release::ReleaseInfo;
use crate::tree::{SuiteStatus, signature_state};

pub(crate) fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|source| Error::Http {
            url: "(client setup)".into(),
            source,
        })
}

fn get(
    client: &reqwest::blocking::Client,
    url: &str,
) -> Result<Option<reqwest::blocking::Response>> {
    let response = client.get(url).send().map_err(|source| Error::Http {
        url: url.to_owned(),
        source,
    })?;
    match response.status().as_u16() {
        200 => Ok(Some(response)),
        404 | 410 => Ok(None),
        status => Err(Error::HttpStatus {
            url: url.to_owned(),
            status,
        }),
    }
}

pub(crate) fn get_bytes(client: &reqwest::blocking::Client, url: &str) -> Result<Option<Vec<u8>>> {
    match get(client, url)? {
        None => Ok(None),
        Some(r) => r
            .bytes()
            .map(|b| Some(b.to_vec()))
            .map_err(|source| Error::Http {
                url: url.to_owned(),
                source,
            }),
    }
}

/// Checks `suites` of the repository at `base` (an `http://` or `https://` URL of the
/// directory holding `dists/`), read-only. Returns every suite's status; use
/// [`SuiteStatus::is_done`] to judge, or [`verify_url`] for an error on any problem.
/// Each suite's indexes are one transfer on `meter`, `dists/SUITE`.
pub fn status_url(
    base: &str,
    suites: &[String],
    keyring: &Keyring,
    now: SystemTime,
    meter: &Meter,
) -> Result<Vec<SuiteStatus>> {
    let client = client()?;
    let base = base.trim_end_matches('/');
    let keyring = keyring.clone().at(now);
    let mut statuses = Vec::new();
    for suite in suites {
        let dir = format!("{base}/dists/{suite}");
        let release_url = format!("{dir}/Release");
        let release = get_bytes(&client, &release_url)?.ok_or_else(|| Error::MissingRelease {
            location: release_url.clone(),
        })?;
        let info = ReleaseInfo::parse(&release, &release_url)?;
        let mut problems = check_metadata(suite, &info, OffsetDateTime::from(now));
        let mut first_error = None;
        let total = info.files.iter().map(|f| f.size).sum();
        let transfer = Arc::new(meter.start(&format!("dists/{suite}"), Some(total)));
        let sources = info.files.iter().map(|f| {
            let url = format!("{dir}/{}", f.path);
            match get(&client, &url) {
                Ok(r) => Ok(r.map(|r| shared_reader(&transfer, r))),
                Err(e) => {
                    let message = e.to_string();
                    first_error.get_or_insert(e);
                    Err(std::io::Error::other(message))
                }
            }
        });
        let digests = digest_sources(sources, &info.algorithms);
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut found = std::collections::BTreeMap::new();
        for (listed, digest) in info.files.iter().zip(digests) {
            match digest {
                Ok(Some(d)) => {
                    found.insert(listed.path.clone(), d);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::BadLocation {
                        url: format!("{dir}/{}", listed.path),
                        reason: format!("the download broke off ({e})"),
                    });
                }
            }
        }
        problems.extend(check_files(&info, |p| found.get(p)));
        let detached = get_bytes(&client, &format!("{dir}/Release.gpg"))?;
        let inrelease = get_bytes(&client, &format!("{dir}/InRelease"))?;
        statuses.push(SuiteStatus {
            suite: suite.clone(),
            files: info.files.len(),
            bytes: info.files.iter().map(|f| f.size).sum(),
            algorithms: info.algorithms.clone(),
            problems,
            signatures: signature_state(
                &release,
                detached.as_deref(),
                inrelease.as_deref(),
                &keyring,
            ),
            signed_now: false,
        });
    }
    Ok(statuses)
}

/// Like [`status_url`], but an error unless every suite is right and validly signed.
pub fn verify_url(
    base: &str,
    suites: &[String],
    keyring: &Keyring,
    now: SystemTime,
    meter: &Meter,
) -> Result<Vec<SuiteStatus>> {
    let statuses = status_url(base, suites, keyring, now, meter)?;
    let base = base.trim_end_matches('/');
    for s in &statuses {
        let dir = format!("{base}/dists/{}", s.suite);
        if !s.problems.is_empty() {
            return Err(Error::Inconsistent {
                suite: s.suite.clone(),
                location: dir,
                problems: s.problems.clone(),
            });
        }
        if !s.signatures.is_valid() {
            return Err(Error::BadSignature {
                location: dir,
                reason: s.signatures.to_string(),
                source: None,
            });
        }
    }
    Ok(statuses)
}
