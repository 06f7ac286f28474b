//! A repository tree (a directory with `dists/`): verifying its suites and signing
//! their Release files.

use std::ops::ControlFlow;
use std::time::SystemTime;

use lava_signing::{Fingerprint, Keyring, Signer};
use time::OffsetDateTime;

use crate::algorithm::Algorithm;
use crate::check::{FileDigest, check_files, check_metadata};
use crate::error::{Error, Result};
use crate::problem::Problem;
use crate::release::ReleaseInfo;
use crate::store::{Location, SshOptions, Store};

/// The state of a suite's `Release.gpg` and `InRelease`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureState {
    /// Both exist, verify against the keyring and match `Release`.
    Valid {
        /// The certificate that signed.
        signer: Fingerprint,
    },
    /// Neither exists.
    Unsigned,
    /// At least one is missing, does not verify, or (InRelease) signs other content.
    Invalid {
        /// `Release.gpg` or `InRelease`.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl SignatureState {
    /// Whether both signatures are valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, SignatureState::Valid { .. })
    }
}

impl std::fmt::Display for SignatureState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureState::Valid { signer } => {
                write!(f, "Release.gpg and InRelease signed by {signer:X}")
            }
            SignatureState::Unsigned => f.write_str("no Release.gpg, no InRelease"),
            SignatureState::Invalid { file, reason } => write!(f, "{file}: {reason}"),
        }
    }
}

/// What was found in one suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteStatus {
    /// The directory under `dists/`.
    pub suite: String,
    /// Files the Release file lists.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// The hashes that were compared.
    pub algorithms: Vec<Algorithm>,
    /// Everything wrong with the indices and metadata; empty when they are right.
    pub problems: Vec<Problem>,
    /// The signatures, judged before any signing.
    pub signatures: SignatureState,
    /// Whether this run wrote new signatures.
    pub signed_now: bool,
}

impl SuiteStatus {
    /// Indices right and signatures valid: nothing to do.
    pub fn is_done(&self) -> bool {
        self.problems.is_empty() && (self.signatures.is_valid() || self.signed_now)
    }
}

impl std::fmt::Display for SuiteStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hashes: Vec<&str> = self.algorithms.iter().map(|a| a.field()).collect();
        write!(
            f,
            "{}: {} files, {} bytes, {} ",
            self.suite,
            self.files,
            self.bytes,
            hashes.join("/")
        )?;
        if self.problems.is_empty() {
            f.write_str("right")?;
        } else {
            write!(f, "WRONG ({} problems)", self.problems.len())?;
        }
        if self.signed_now {
            f.write_str("; signed now")
        } else {
            write!(f, "; {}", self.signatures)
        }
    }
}

/// A repository tree: the directory holding `dists/` (and `pool/`), local or remote.
#[derive(Clone, Debug)]
pub struct Tree {
    store: Store,
}

/// The signature files a Release file gets.
const DETACHED: &str = "Release.gpg";
const CLEARSIGNED: &str = "InRelease";

/// `verify_cleartext` drops trailing blanks, which the signature does not cover, so
/// the comparison with `Release` does the same.
fn without_trailing_blanks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (line, false),
        };
        let end = body
            .iter()
            .rposition(|b| *b != b' ' && *b != b'\t')
            .map_or(0, |i| i + 1);
        out.extend_from_slice(&body[..end]);
        if nl {
            out.push(b'\n');
        }
    }
    out
}

/// Judges a suite's signatures against its Release bytes.
pub fn signature_state(
    release: &[u8],
    detached: Option<&[u8]>,
    inrelease: Option<&[u8]>,
    keyring: &Keyring,
) -> SignatureState {
    let (detached, inrelease) = match (detached, inrelease) {
        (None, None) => return SignatureState::Unsigned,
        (None, Some(_)) => {
            return SignatureState::Invalid {
                file: DETACHED,
                reason: "missing while InRelease exists".into(),
            };
        }
        (Some(_), None) => {
            return SignatureState::Invalid {
                file: CLEARSIGNED,
                reason: "missing while Release.gpg exists".into(),
            };
        }
        (Some(d), Some(i)) => (d, i),
    };
    let verified = match lava_signing::verify_cleartext(inrelease, keyring) {
        Ok(v) => v,
        Err(e) => {
            return SignatureState::Invalid {
                file: CLEARSIGNED,
                reason: format!("does not verify ({e})"),
            };
        }
    };
    if without_trailing_blanks(&verified.text) != without_trailing_blanks(release) {
        return SignatureState::Invalid {
            file: CLEARSIGNED,
            reason: "stale: it signs other content than Release".into(),
        };
    }
    match lava_signing::verify_detached(release, detached, keyring) {
        Ok(signer) if signer == verified.signer => SignatureState::Valid { signer },
        Ok(signer) => SignatureState::Invalid {
            file: DETACHED,
            reason: format!(
                "signed by {signer:X} while InRelease is signed by {:X}",
                verified.signer
            ),
        },
        Err(e) => SignatureState::Invalid {
            file: DETACHED,
            reason: format!("does not verify over Release ({e})"),
        },
    }
}

fn offset(now: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(now)
}

impl Tree {
    /// The tree at `location`; `ssh` says how to reach a remote one.
    pub fn new(location: Location, ssh: SshOptions) -> Tree {
        Tree {
            store: Store::new(location, ssh),
        }
    }

    pub(crate) fn from_store(store: Store) -> Tree {
        Tree { store }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Where the tree is.
    pub fn location(&self) -> &Location {
        &self.store.location
    }

    /// The suites: real directories under `dists/` holding a `Release` file (symlinks
    /// such as `stable -> bookworm` are the same suite and are left out).
    pub fn suites(&self) -> Result<Vec<String>> {
        self.store.subdirs_with("dists", "Release")
    }

    fn suites_or_error(&self) -> Result<Vec<String>> {
        let suites = self.suites()?;
        if suites.is_empty() {
            return Err(Error::NoSuites {
                location: self.store.label(""),
            });
        }
        Ok(suites)
    }

    /// Reads one suite and judges it, read-only: metadata, every listed index (size
    /// and hashes, one read per file), and the signatures.
    pub fn suite_status(
        &self,
        suite: &str,
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<SuiteStatus> {
        Ok(self.inspect(suite, keyring, now)?.0)
    }

    /// Returns the status and the Release bytes.
    fn inspect(
        &self,
        suite: &str,
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<(SuiteStatus, Vec<u8>)> {
        let mut one = self.inspect_all(&[suite.to_owned()], keyring, now)?;
        Ok(one.remove(0))
    }

    /// The algorithms checked in a suite whose Release lists `listed`: over ssh, the
    /// ones apt checks (SHA256, SHA512), which the server computes.
    fn algorithms(&self, listed: &[Algorithm]) -> Vec<Algorithm> {
        listed
            .iter()
            .copied()
            .filter(|a| {
                !self.store.is_remote() || matches!(a, Algorithm::Sha256 | Algorithm::Sha512)
            })
            .collect()
    }

    /// [`Tree::inspect`] for several suites, their indices hashed in one pass (one
    /// read per file, every file of every suite side by side), then judged suite by
    /// suite.
    fn inspect_all(
        &self,
        suites: &[String],
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<Vec<(SuiteStatus, Vec<u8>)>> {
        let mut read = Vec::new();
        for suite in suites {
            let release_rel = format!("dists/{suite}/Release");
            let release = self
                .store
                .read(&release_rel)?
                .ok_or_else(|| Error::MissingRelease {
                    location: self.store.label(&release_rel),
                })?;
            let info = ReleaseInfo::parse(&release, &self.store.label(&release_rel))?;
            read.push((suite, release, info));
        }
        let mut union: Vec<Algorithm> = Vec::new();
        for (_, _, info) in &read {
            for a in self.algorithms(&info.algorithms) {
                if !union.contains(&a) {
                    union.push(a);
                }
            }
        }
        let names: Vec<String> = read
            .iter()
            .flat_map(|(suite, _, info)| {
                info.files
                    .iter()
                    .map(move |f| format!("{suite}/{}", f.path))
            })
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = self.store.digests("dists", &refs, &union)?;
        let keyring = keyring.clone().at(now);
        let mut statuses = Vec::new();
        for (suite, release, info) in read {
            let dir = format!("dists/{suite}");
            let mut problems = check_metadata(suite, &info, offset(now));
            problems.extend(check_files(&info, |p| found.get(&format!("{suite}/{p}"))));
            let detached = self.store.read(&format!("{dir}/{DETACHED}"))?;
            let inrelease = self.store.read(&format!("{dir}/{CLEARSIGNED}"))?;
            let signatures = signature_state(
                &release,
                detached.as_deref(),
                inrelease.as_deref(),
                &keyring,
            );
            let status = SuiteStatus {
                suite: suite.to_owned(),
                files: info.files.len(),
                bytes: info.files.iter().map(|f| f.size).sum(),
                algorithms: self.algorithms(&info.algorithms),
                problems,
                signatures,
                signed_now: false,
            };
            statuses.push((status, release));
        }
        Ok(statuses)
    }

    /// Every suite's status, read-only (what `repo verify` and a stage's check report).
    pub fn status(&self, keyring: &Keyring, now: SystemTime) -> Result<Vec<SuiteStatus>> {
        Ok(self
            .inspect_all(&self.suites_or_error()?, keyring, now)?
            .into_iter()
            .map(|(status, _)| status)
            .collect())
    }

    /// Verifies every suite, read-only: an error unless every index is right and every
    /// suite's Release.gpg and InRelease verify and match Release.
    pub fn verify(&self, keyring: &Keyring, now: SystemTime) -> Result<Vec<SuiteStatus>> {
        let statuses = self.status(keyring, now)?;
        for status in &statuses {
            self.require_done(status)?;
        }
        Ok(statuses)
    }

    fn require_done(&self, status: &SuiteStatus) -> Result<()> {
        let dir = format!("dists/{}", status.suite);
        if !status.problems.is_empty() {
            return Err(Error::Inconsistent {
                suite: status.suite.clone(),
                location: self.store.label(&dir),
                problems: status.problems.clone(),
            });
        }
        match &status.signatures {
            SignatureState::Valid { .. } => Ok(()),
            SignatureState::Unsigned => Err(Error::BadSignature {
                location: self.store.label(&dir),
                reason: "the suite is not signed (no Release.gpg, no InRelease); run repo-sign"
                    .into(),
                source: None,
            }),
            SignatureState::Invalid { file, reason } => Err(Error::BadSignature {
                location: self.store.label(&format!("{dir}/{file}")),
                reason: format!("{reason}; run repo-sign"),
                source: None,
            }),
        }
    }

    /// Verifies and signs one suite: refuses (writing nothing) if anything listed is
    /// wrong; leaves valid signatures alone; otherwise writes `InRelease` and then
    /// `Release.gpg` (each through a temporary file and a rename, keeping the owner,
    /// group and mode of the file replaced, or of `Release`), and verifies both.
    pub fn sign_suite(
        &self,
        suite: &str,
        signer: &Signer,
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<SuiteStatus> {
        let (status, release) = self.inspect(suite, keyring, now)?;
        self.sign_inspected(status, &release, signer, keyring, now)
    }

    /// Signs a suite [`Tree::inspect`] judged, as [`Tree::sign_suite`] says.
    fn sign_inspected(
        &self,
        mut status: SuiteStatus,
        release: &[u8],
        signer: &Signer,
        keyring: &Keyring,
        now: SystemTime,
    ) -> Result<SuiteStatus> {
        let suite = status.suite.clone();
        let dir = format!("dists/{suite}");
        if !status.problems.is_empty() {
            return Err(Error::Tampered {
                suite: suite.to_owned(),
                location: self.store.label(&dir),
                problems: status.problems,
            });
        }
        if status.signatures.is_valid() {
            return Ok(status);
        }
        let release_label = self.store.label(&format!("{dir}/Release"));
        let sign_error = |source| Error::Sign {
            location: release_label.clone(),
            source: Box::new(source),
        };
        let inrelease = signer.sign_cleartext(release).map_err(sign_error)?;
        let detached = signer.sign_detached_armored(release).map_err(sign_error)?;
        // InRelease first: apt prefers it, so from the moment it lands the suite is
        // consistent whatever Release.gpg holds. Any InRelease (stale, or not verifying)
        // is removed first so that a failure never leaves one behind.
        self.store.remove(&format!("{dir}/{CLEARSIGNED}"))?;
        self.store
            .replace(&dir, CLEARSIGNED, "Release", &inrelease)?;
        self.store
            .replace(&dir, DETACHED, "Release", detached.as_bytes())?;
        let keyring_now = keyring.clone().at(now);
        let written_detached = self.store.read(&format!("{dir}/{DETACHED}"))?;
        let written_inrelease = self.store.read(&format!("{dir}/{CLEARSIGNED}"))?;
        let state = signature_state(
            release,
            written_detached.as_deref(),
            written_inrelease.as_deref(),
            &keyring_now,
        );
        if let SignatureState::Invalid { file, reason } = &state {
            // Never leave an InRelease that apt would reject.
            self.store.remove(&format!("{dir}/{CLEARSIGNED}"))?;
            return Err(Error::BadSignature {
                location: self.store.label(&format!("{dir}/{file}")),
                reason: format!(
                    "the signature just written does not verify against the keyring ({reason}); pass the release key's certificate"
                ),
                source: None,
            });
        }
        status.signatures = state;
        status.signed_now = true;
        Ok(status)
    }

    /// Signs every suite in turn (see [`Tree::sign_suite`]), every suite's indices
    /// hashed first in one pass. `after_suite` sees each
    /// suite's result and may stop the run (tests use it to stop between suites, as
    /// a crash would).
    pub fn sign(
        &self,
        signer: &Signer,
        keyring: &Keyring,
        now: SystemTime,
        mut after_suite: impl FnMut(&SuiteStatus) -> ControlFlow<()>,
    ) -> Result<Vec<SuiteStatus>> {
        let mut done = Vec::new();
        let suites = self.suites_or_error()?;
        for (status, release) in self.inspect_all(&suites, keyring, now)? {
            let status = self.sign_inspected(status, &release, signer, keyring, now)?;
            let flow = after_suite(&status);
            done.push(status);
            if flow.is_break() {
                break;
            }
        }
        Ok(done)
    }

    /// The digest of every listed file of a suite, for tests and tools.
    pub fn digests(&self, suite: &str) -> Result<Vec<(String, Option<FileDigest>)>> {
        let dir = format!("dists/{suite}");
        let rel = format!("{dir}/Release");
        let release = self
            .store
            .read(&rel)?
            .ok_or_else(|| Error::MissingRelease {
                location: self.store.label(&rel),
            })?;
        let info = ReleaseInfo::parse(&release, &self.store.label(&rel))?;
        let names: Vec<&str> = info.files.iter().map(|f| f.path.as_str()).collect();
        let mut found = self.store.digests(&dir, &names, &info.algorithms)?;
        Ok(names
            .iter()
            .map(|n| ((*n).to_owned(), found.remove(*n)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_blanks() {
        assert_eq!(without_trailing_blanks(b"a \nb\t\n c"), b"a\nb\n c");
    }
}
