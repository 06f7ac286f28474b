//! `dget`: fetch a `.dsc` and the files it lists, checked against it and its signature.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use lava_signing::{Fingerprint, Keyring};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use sha2::{Digest as _, Sha256};

use crate::checksum::{hex, sha256_file};
use crate::dsc::{Dsc, DscFile, is_signed, parse_dsc};
use crate::{Error, Result};

/// The checkpoint [`dget_with`] passes while a file is half downloaded.
pub const DOWNLOAD_PARTIAL: &str = "download-partial";

/// What to fetch and how to check it.
#[derive(Clone, Debug)]
pub struct DgetRequest {
    /// The URL of the `.dsc`; the files it lists are fetched from beside it.
    pub dsc_url: String,
    /// The directory the `.dsc` and its files are written to (created if missing).
    pub dest: PathBuf,
    /// The keyring the `.dsc`'s signature must verify against (the release key by default).
    pub keyring: Option<Keyring>,
    /// Accept an unsigned `.dsc`, or a signed one without checking it.
    pub allow_unsigned: bool,
    /// How many files are downloaded at once (at least one).
    pub jobs: usize,
    /// What the `.dsc` must be, as a signed index lists it (see
    /// `lava_repo_sign::find_source`), checked before anything else is fetched.
    pub expected_dsc: Option<ExpectedDsc>,
    /// Where each file's download is reported, byte by byte.
    pub meter: lava_io::transfer::Meter,
}

/// A `.dsc`'s size and SHA256 as an index lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDsc {
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hexadecimal SHA256.
    pub sha256: String,
    /// Where they were listed (the index URL), for messages.
    pub index: String,
}

/// How one file came to be in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Downloaded in full.
    Downloaded,
    /// A partial file was completed with a range request.
    Resumed,
    /// Already present with the right size and checksum; not downloaded.
    AlreadyPresent,
}

/// The outcome of [`dget`].
#[derive(Clone, Debug)]
pub struct DgetReport {
    /// Where the `.dsc` was written.
    pub dsc_path: PathBuf,
    /// The parsed `.dsc`.
    pub dsc: Dsc,
    /// The verified signer, `None` when unsigned sources were allowed.
    pub signer: Option<Fingerprint>,
    /// Each listed file with how it was obtained, in `.dsc` order.
    pub files: Vec<(String, Fetched)>,
}

/// Downloads the `.dsc` at `req.dsc_url` and every file of its `Checksums-Sha256`
/// into `req.dest`, checking the signature, sizes and SHA256 sums.
///
/// Files are fetched in parallel; a file shorter than listed is resumed with an
/// HTTP range request, and a file already present with the right checksum is kept.
pub fn dget(req: &DgetRequest) -> Result<DgetReport> {
    dget_with(req, &|_| {})
}

/// [`dget`], calling `checkpoint` with [`DOWNLOAD_PARTIAL`] on the thread that holds a
/// file half downloaded into its `NAME.part` (tests of interrupted runs stop there).
pub fn dget_with(req: &DgetRequest, checkpoint: &(dyn Fn(&str) + Sync)) -> Result<DgetReport> {
    let client = Client::builder().build().map_err(|source| Error::Http {
        file: "(client)".into(),
        url: req.dsc_url.clone(),
        source,
    })?;
    let base = reqwest::Url::parse(&req.dsc_url).map_err(|_| Error::BadUrl {
        file: ".dsc".into(),
        url: req.dsc_url.clone(),
    })?;
    let dsc_name = base
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::BadUrl {
            file: ".dsc".into(),
            url: req.dsc_url.clone(),
        })?
        .to_owned();
    let bytes = get_all(&client, &dsc_name, base.as_str())?;
    if let Some(expected) = &req.expected_dsc {
        let actual = hex(&Sha256::digest(&bytes));
        if bytes.len() as u64 != expected.size || actual != expected.sha256 {
            return Err(Error::IndexMismatch {
                file: dsc_name,
                index: expected.index.clone(),
                reason: format!(
                    "{} bytes with SHA256 {actual}, {} bytes with SHA256 {} listed",
                    bytes.len(),
                    expected.size,
                    expected.sha256
                ),
            });
        }
    }
    let (signer, text) = check_signature(&dsc_name, &bytes, req)?;
    let text = String::from_utf8(text).map_err(|_| Error::Parse {
        file: dsc_name.clone(),
        reason: "it is not UTF-8".into(),
    })?;
    let dsc = parse_dsc(&dsc_name, &text)?;
    for f in &dsc.files {
        if !safe_name(&f.name) {
            return Err(Error::UnsafeName {
                dsc: dsc_name.clone(),
                name: f.name.clone(),
            });
        }
    }
    std::fs::create_dir_all(&req.dest).map_err(|source| Error::File {
        action: "create",
        path: req.dest.clone(),
        source,
    })?;
    let dsc_path = req.dest.join(&dsc_name);
    lava_io::write_atomically(&dsc_path, &bytes)?;

    // A small pool of threads pulling file indices: the files of a source package
    // differ wildly in size, so static partitioning would leave threads idle.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Fetched>>>> =
        Mutex::new((0..dsc.files.len()).map(|_| None).collect());
    let jobs = req.jobs.clamp(1, dsc.files.len().max(1));
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = dsc.files.get(i) else { break };
                        let outcome = base
                            .join(&file.name)
                            .map_err(|_| Error::BadUrl {
                                file: file.name.clone(),
                                url: req.dsc_url.clone(),
                            })
                            .and_then(|url| {
                                fetch_file(&client, url.as_str(), req, file, checkpoint)
                            });
                        if let Ok(mut r) = results.lock() {
                            r[i] = Some(outcome);
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().any(|h| h.join().is_err())
    });
    let results = results
        .into_inner()
        .ok()
        .filter(|_| !panicked)
        .ok_or_else(|| Error::Panicked {
            dsc: dsc_name.clone(),
        })?;
    let mut files = Vec::new();
    for (file, outcome) in dsc.files.iter().zip(results) {
        let outcome = outcome.ok_or_else(|| Error::Panicked {
            dsc: dsc_name.clone(),
        })??;
        files.push((file.name.clone(), outcome));
    }
    Ok(DgetReport {
        dsc_path,
        dsc,
        signer,
        files,
    })
}

fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && name != "." && name != ".."
}

fn check_signature(
    dsc: &str,
    bytes: &[u8],
    req: &DgetRequest,
) -> Result<(Option<Fingerprint>, Vec<u8>)> {
    if !is_signed(bytes) {
        if req.allow_unsigned {
            return Ok((None, bytes.to_vec()));
        }
        return Err(Error::Unsigned { dsc: dsc.into() });
    }
    match &req.keyring {
        Some(keyring) => {
            let verified = lava_signing::verify_cleartext(bytes, keyring).map_err(|source| {
                Error::BadSignature {
                    dsc: dsc.into(),
                    source,
                }
            })?;
            Ok((Some(verified.signer), verified.text))
        }
        None if req.allow_unsigned => {
            let text = crate::dsc::strip_cleartext(bytes);
            Ok((None, text))
        }
        None => Err(Error::NoKeyring { dsc: dsc.into() }),
    }
}

/// Downloads `url` into `dest` (created or truncated; the caller renames it into place
/// once it has checked it), reported to `meter`; returns its size.
pub fn download(url: &str, dest: &Path, meter: &lava_io::transfer::Meter) -> Result<u64> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let http = |source| Error::Http {
        file: name.clone(),
        url: url.into(),
        source,
    };
    let client = Client::builder().build().map_err(http)?;
    let response = client.get(url).send().map_err(http)?;
    if !response.status().is_success() {
        return Err(Error::HttpStatus {
            file: name,
            url: url.into(),
            status: response.status().as_u16(),
        });
    }
    let length = response.content_length();
    let mut body = meter.start(&name, length).reader(response);
    let io = |source| Error::File {
        action: "download into",
        path: dest.to_owned(),
        source,
    };
    let mut file = File::create(dest).map_err(io)?;
    let size = std::io::copy(&mut body, &mut file).map_err(io)?;
    file.sync_all().map_err(io)?;
    if length.is_some_and(|l| l != size) {
        return Err(Error::SizeMismatch {
            file: name,
            expected: length.unwrap_or_default(),
            actual: size,
        });
    }
    Ok(size)
}

fn get_all(client: &Client, file: &str, url: &str) -> Result<Vec<u8>> {
    let http = |source| Error::Http {
        file: file.into(),
        url: url.into(),
        source,
    };
    let response = client.get(url).send().map_err(http)?;
    if !response.status().is_success() {
        return Err(Error::HttpStatus {
            file: file.into(),
            url: url.into(),
            status: response.status().as_u16(),
        });
    }
    Ok(response.bytes().map_err(http)?.to_vec())
}

/// Puts `file` at `dest/NAME`: kept when already there and right, else downloaded into
/// `NAME.part` and renamed to `NAME` only once its size and SHA256 match the `.dsc`, so
/// that nothing at `NAME` is ever a partial or unchecked download.
///
/// A transfer that breaks off leaves `NAME.part` for the next run, which resumes it with
/// a range request; so is a short file at `NAME` itself (left by another tool or an
/// older dget), copied into `NAME.part` first.
fn fetch_file(
    client: &Client,
    url: &str,
    req: &DgetRequest,
    file: &DscFile,
    checkpoint: &(dyn Fn(&str) + Sync),
) -> Result<Fetched> {
    let path = req.dest.join(&file.name);
    let present = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Some(m.len()),
        _ => None,
    };
    if present == Some(file.size) && sha256_file(&path)?.0 == file.sha256 {
        return Ok(Fetched::AlreadyPresent);
    }
    let mut out = lava_io::AtomicFile::resume(&path)?;
    let io = |action, temp: &Path, source| Error::File {
        action,
        path: temp.to_owned(),
        source,
    };
    let mut have = out.resumed_len();
    if have >= file.size {
        out.restart()?;
        have = 0;
    }
    if have == 0 && present.is_some_and(|len| len > 0 && len < file.size) {
        let mut short = File::open(&path).map_err(|e| io("read", &path, e))?;
        have = std::io::copy(&mut short, &mut out).map_err(|e| out.write_error(e))?;
    }
    let http = |source| Error::Http {
        file: file.name.clone(),
        url: url.into(),
        source,
    };
    let mut request = client.get(url);
    if have > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let response = request.send().map_err(http)?;
    let status = response.status();
    let how = match status {
        StatusCode::PARTIAL_CONTENT if have > 0 => Fetched::Resumed,
        // The server ignored the range (or none was asked): start over.
        s if s.is_success() => {
            if have > 0 {
                out.restart()?;
            }
            Fetched::Downloaded
        }
        _ => {
            return Err(Error::HttpStatus {
                file: file.name.clone(),
                url: url.into(),
                status: status.as_u16(),
            });
        }
    };
    let transfer = req.meter.start(&file.name, Some(file.size));
    transfer.advance(if how == Fetched::Resumed { have } else { 0 });
    let mut response = transfer.reader(response);
    // Half the file, then the checkpoint, then the rest.
    let half = file.size.saturating_sub(have) / 2;
    std::io::copy(&mut std::io::Read::take(&mut response, half), &mut out)
        .and_then(|_| out.flush())
        .map_err(|e| io("download into", out.temp_path(), e))?;
    checkpoint(DOWNLOAD_PARTIAL);
    std::io::copy(&mut response, &mut out)
        .and_then(|_| out.flush())
        .map_err(|e| io("download into", out.temp_path(), e))?;
    let (sha256, size) = sha256_file(out.temp_path())?;
    if size != file.size {
        // A short file is resumed by the next run; a long one is of no use.
        if size > file.size {
            out.discard()?;
        }
        return Err(Error::SizeMismatch {
            file: file.name.clone(),
            expected: file.size,
            actual: size,
        });
    }
    if sha256 != file.sha256 {
        out.discard()?;
        return Err(Error::ChecksumMismatch {
            file: file.name.clone(),
            expected: file.sha256.clone(),
            actual: sha256,
        });
    }
    out.commit()?;
    Ok(how)
}
