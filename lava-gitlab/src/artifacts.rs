//! `artifacts`: a Debian build job's artifacts from the tag's pipeline, streamed to
//! disk, with the `.changes` and the files it lists extracted and checked against it.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use debian_control::lossless::changes::Changes;
use lava_io::AtomicFile;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::ci::{CiTarget, Job, Pipeline};
use crate::client::{Call, GitLab};
use crate::endpoints::JobArtifacts;
use crate::{Error, Result};

/// One `.changes` and the files it lists, extracted and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesArtifacts {
    /// The `.changes` file in the destination directory.
    pub changes: PathBuf,
    /// The files it lists, in the destination directory, sizes and checksums verified.
    pub files: Vec<PathBuf>,
}

/// What `artifacts` fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactsReport {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The job the artifacts came from.
    pub job: Job,
    /// Size of the downloaded archive.
    pub archive_bytes: u64,
    /// Each `.changes` in the archive.
    pub changes: Vec<ChangesArtifacts>,
}

impl GitLab {
    /// The newest job named `job` in the newest pipeline of `target`.
    pub fn find_job(&self, target: &CiTarget, job: &str) -> Result<(Pipeline, Job)> {
        let pipeline = self
            .find_pipeline(target)?
            .ok_or_else(|| Error::NoPipeline {
                target: target.to_string(),
                project: self.project().to_string(),
            })?;
        let jobs = self.pipeline_jobs(pipeline.id)?;
        let found = jobs
            .iter()
            .filter(|j| j.name == job)
            .max_by_key(|j| j.id)
            .cloned();
        match found {
            Some(j) => Ok((pipeline, j)),
            None => {
                let mut names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                Err(Error::JobNotFound {
                    job: job.to_owned(),
                    pipeline_url: pipeline.web_url.clone(),
                    available: if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    },
                })
            }
        }
    }

    /// Downloads the artifacts of job `job` in the pipeline of `target` into `dest`
    /// (streamed to a temporary file there), then extracts and verifies every `.changes`.
    pub fn fetch_artifacts(
        &self,
        target: &CiTarget,
        job: &str,
        dest: &Path,
    ) -> Result<ArtifactsReport> {
        let (pipeline, job) = self.find_job(target, job)?;
        if job.status != "success" {
            return Err(Error::JobNotSuccessful {
                job: job.name,
                web_url: job.web_url,
                status: job.status,
            });
        }
        fs::create_dir_all(dest).map_err(|source| Error::File {
            action: "create directory",
            path: dest.to_owned(),
            source,
        })?;
        let endpoint = JobArtifacts {
            project: self.project().name_or_id(),
            job: job.id,
        };
        let url = self.url_for(&endpoint)?;
        let call = Call::read(
            format!("download the artifacts of job `{}`", job.name),
            format!("artifacts of job `{}`", job.name),
            "that the job keeps artifacts and they have not expired",
        );
        let archive = dest.join(format!(".artifacts-{}.zip.part", job.id));
        let label = format!("{} artifacts", job.name);
        let archive_bytes = self.download(&call, &url, &archive, &label)?;
        let extracted = extract_changes(&archive, dest, &job.name);
        // The archive was only a vehicle; whether extraction worked or not it goes.
        let _ = fs::remove_file(&archive);
        Ok(ArtifactsReport {
            pipeline,
            job,
            archive_bytes,
            changes: extracted?,
        })
    }
}

/// Extracts every `.changes` in the zip `archive` and the files each lists (looked up
/// beside it in the archive) into `dest`, verifying sizes, SHA-256 and MD5 against it.
/// `job` only words errors.
///
/// Each file is written through [`AtomicFile`], and none takes its name before all of
/// them are extracted and verified: then the listed files are renamed into place and
/// each `.changes` last, so that a `.changes` in `dest` always comes with the files it
/// lists, and a failure or a kill before that leaves `dest` as it was.
pub fn extract_changes(archive: &Path, dest: &Path, job: &str) -> Result<Vec<ChangesArtifacts>> {
    let file = fs::File::open(archive).map_err(|source| Error::File {
        action: "open",
        path: archive.to_owned(),
        source,
    })?;
    let zip_err = |source| Error::Zip {
        path: archive.to_owned(),
        source,
    };
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_err)?;
    let mut members: Vec<(String, PathBuf)> = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(zip_err)?;
        if entry.is_dir() {
            continue;
        }
        let safe = entry.enclosed_name().ok_or_else(|| Error::UnsafeMember {
            path: archive.to_owned(),
            name: entry.name().to_owned(),
        })?;
        members.push((entry.name().to_owned(), safe));
    }
    let changes_members: Vec<(String, PathBuf)> = members
        .iter()
        .filter(|(_, p)| p.extension().is_some_and(|e| e == "changes"))
        .cloned()
        .collect();
    if changes_members.is_empty() {
        return Err(Error::NoChanges {
            path: archive.to_owned(),
            job: job.to_owned(),
        });
    }
    let mut out = Vec::new();
    let (mut listed_files, mut changes_files) = (Vec::new(), Vec::new());
    for (name, safe) in changes_members {
        let mut text = String::new();
        zip.by_name(&name)
            .map_err(zip_err)?
            .read_to_string(&mut text)
            .map_err(|source| Error::File {
                action: "read",
                path: archive.join(&name),
                source,
            })?;
        let file_name = safe
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| safe.clone());
        let changes_path = dest.join(&file_name);
        let listed = parse_changes(&text, &changes_path)?;
        let mut changes_file = AtomicFile::create(&changes_path)?;
        changes_file
            .write_all(text.as_bytes())
            .map_err(|e| changes_file.write_error(e))?;
        let dir = safe.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut files = Vec::new();
        for item in listed {
            let member = members
                .iter()
                .find(|(_, p)| *p == dir.join(&item.name))
                .map(|(n, _)| n.clone())
                .ok_or_else(|| Error::MissingListed {
                    changes: changes_path.clone(),
                    file: item.name.clone(),
                    archive: archive.to_owned(),
                })?;
            let target = dest.join(&item.name);
            let mut reader = zip.by_name(&member).map_err(zip_err)?;
            let (file, sums) = copy_hashing(&mut reader, &target)?;
            item.verify(&sums, &target, &changes_path)?;
            listed_files.push(file);
            files.push(target);
        }
        changes_files.push(changes_file);
        out.push(ChangesArtifacts {
            changes: changes_path,
            files,
        });
    }
    for file in listed_files.into_iter().chain(changes_files) {
        file.commit()?;
    }
    Ok(out)
}

/// A file listed in a `.changes`, with what it should hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub name: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

struct Sums {
    size: u64,
    sha256: String,
    md5: String,
}

impl Listed {
    fn verify(&self, sums: &Sums, path: &Path, changes: &Path) -> Result<()> {
        if sums.size != self.size {
            return Err(Error::SizeMismatch {
                path: path.to_owned(),
                changes: changes.to_owned(),
                expected: self.size,
                actual: sums.size,
            });
        }
        for (algorithm, expected, actual) in [
            ("SHA-256", &self.sha256, &sums.sha256),
            ("MD5", &self.md5, &sums.md5),
        ] {
            if let Some(expected) = expected {
                if !expected.eq_ignore_ascii_case(actual) {
                    return Err(Error::ChecksumMismatch {
                        path: path.to_owned(),
                        changes: changes.to_owned(),
                        algorithm,
                        expected: expected.clone(),
                        actual: actual.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Reads `Files` and `Checksums-Sha256` of a (possibly signed) `.changes` as deb822.
pub(crate) fn parse_changes(text: &str, path: &Path) -> Result<Vec<Listed>> {
    let bad = |message: String| Error::Changes {
        path: path.to_owned(),
        message,
    };
    let body = if text
        .trim_start()
        .starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
    {
        debian_control::pgp::strip_pgp_signature(text)
            .map_err(|e| bad(format!("its OpenPGP armour does not parse ({e:?})")))?
            .0
    } else {
        text.to_owned()
    };
    let parsed = Changes::parse(&body);
    if !parsed.errors().is_empty() {
        return Err(bad(parsed.errors().join("; ")));
    }
    let changes = parsed.tree();
    let files = changes
        .try_files()
        .ok_or_else(|| bad("it has no Files field".to_owned()))?
        .map_err(bad)?;
    let sha256 = changes
        .try_checksums_sha256()
        .transpose()
        .map_err(bad)?
        .unwrap_or_default();
    let mut out = Vec::new();
    for f in files {
        let sha = sha256.iter().find(|s| s.filename == f.filename);
        if let Some(s) = sha {
            if s.size as u64 != f.size as u64 {
                return Err(bad(format!(
                    "Files says {} is {} bytes but Checksums-Sha256 says {}",
                    f.filename, f.size, s.size
                )));
            }
        }
        if f.filename.contains('/') || f.filename.starts_with('.') {
            return Err(bad(format!(
                "it lists an unsafe file name `{}`",
                f.filename
            )));
        }
        out.push(Listed {
            name: f.filename.clone(),
            size: f.size as u64,
            sha256: sha.map(|s| s.sha256.clone()),
            md5: Some(f.md5sum.clone()),
        });
    }
    Ok(out)
}

/// Streams `reader` into a new [`AtomicFile`] for `path`, not yet committed, hashing on
/// the way.
fn copy_hashing(reader: &mut dyn Read, path: &Path) -> Result<(AtomicFile, Sums)> {
    let mut out = AtomicFile::create(path)?;
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|source| Error::File {
            action: "extract",
            path: path.to_owned(),
            source,
        })?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| out.write_error(e))?;
        size += n as u64;
    }
    let sums = Sums {
        size,
        sha256: hex(&sha.finalize()),
        md5: hex(&md5.finalize()),
    };
    Ok((out, sums))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGES: &str = "Format: 1.8
Date: Mon, 06 May 2024 10:00:00 +0000
Source: lava
Binary: lava-common
Architecture: all
Version: 2024.05-1
Distribution: bookworm
Urgency: medium
Maintainer: LAVA <lava@example.org>
Description:
 lava-common - LAVA common
Changes:
 lava (2024.05-1) bookworm; urgency=medium
 .
   * New release.
Checksums-Sha1:
 da39a3ee5e6b4b0d3255bfef95601890afd80709 0 lava-common_2024.05-1_all.deb
Checksums-Sha256:
 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 lava-common_2024.05-1_all.deb
Files:
 d41d8cd98f00b204e9800998ecf8427e 0 python optional lava-common_2024.05-1_all.deb
";

    #[test]
    fn parses_files_and_sha256() {
        let listed = parse_changes(CHANGES, Path::new("x.changes")).unwrap();
        assert_eq!(
            listed,
            vec![Listed {
                name: "lava-common_2024.05-1_all.deb".into(),
                size: 0,
                sha256: Some(
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
                ),
                md5: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
            }]
        );
    }

    #[test]
    fn parses_signed_changes() {
        let signed = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{CHANGES}-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n"
        );
        assert_eq!(
            parse_changes(&signed, Path::new("x.changes"))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rejects_changes_without_files() {
        let err =
            parse_changes("Source: lava\nVersion: 1\n", Path::new("/tmp/x.changes")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/tmp/x.changes is not a valid .changes file: it has no Files field"
        );
    }
}
