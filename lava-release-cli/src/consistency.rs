//! The consistency record: what every part of the release says about it, and whether
//! they agree. The `consistency` stage gathers it before anything is published from the
//! release; `docker-publish` copies the CI images by the digests it pins.
//!
//! Every part of the release says something: the signed tag and origin's copy of it
//! name a commit, the tag's pipeline names the commit it built, `debian/changelog` and
//! `lava_common/VERSION` at the tag name the versions, so do the `.changes` and `.dsc` CI
//! built, and the CI images' labels and platforms; Docker Hub may already hold a version
//! tag. These are [`Claim`]s in [`Agreement`]s; the first disagreement stops the release,
//! naming both sides. When all agree, the [`Record`] is written to
//! `.git/lava-release/VERSION-consistency.json`.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_gitlab::CiTarget;
use serde::{Deserialize, Serialize};

use crate::shared::repo::RepoSite;
use crate::step::{Context, short};

/// What one part of the release says, and which part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who says it: `debian/changelog at tag 2024.05`, `pipeline 17 of tag 2024.05`.
    pub source: String,
    /// What it says.
    pub value: String,
}

impl Claim {
    fn new(source: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            value: value.into(),
        }
    }
}

/// Claims about one thing that must all be equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// What they are about: `the release commit`, `the Debian version`.
    pub about: String,
    /// The claims, the reference first.
    pub claims: Vec<Claim>,
}

impl Agreement {
    fn new(about: impl Into<String>) -> Self {
        Self {
            about: about.into(),
            claims: Vec::new(),
        }
    }

    fn claim(&mut self, source: impl Into<String>, value: impl Into<String>) {
        self.claims.push(Claim::new(source, value));
    }

    /// The first claim that differs from the first one, as one sentence naming both.
    pub fn mismatch(&self) -> Option<String> {
        let first = self.claims.first()?;
        let other = self.claims.iter().find(|c| c.value != first.value)?;
        Some(format!(
            "{} differs: {} says {}, but {} says {}",
            self.about, first.source, first.value, other.source, other.value
        ))
    }
}

/// A CI image the consistency stage checked, by the digest `docker-publish` must copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedImage {
    /// The source as configured, `registry/repository:VERSION`.
    pub source: String,
    /// Its manifest's digest when it was checked.
    pub digest: String,
}

/// What the consistency stage checked, as written to
/// `.git/lava-release/VERSION-consistency.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The version.
    pub version: String,
    /// The tag's commit.
    pub commit: String,
    /// The tag's pipeline.
    pub pipeline: u64,
    /// Every agreement checked, with its claims.
    pub agreements: Vec<Agreement>,
    /// The CI images, pinned.
    pub images: Vec<PinnedImage>,
}

impl Record {
    /// Where the record of `version` lives.
    pub fn path(ctx: &Context<'_>, version: &str) -> PathBuf {
        ctx.state_dir().join(format!("{version}-consistency.json"))
    }

    /// The record of this release, if the consistency stage has passed.
    pub fn load(ctx: &Context<'_>) -> anyhow::Result<Option<Record>> {
        let path = Self::path(ctx, &ctx.release.version.to_string());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let record = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a consistency record; remove it to check again",
                path.display()
            )
        })?;
        Ok(Some(record))
    }

    /// Writes the record where [`Record::load`] finds it, replacing any older one.
    pub fn save(&self, ctx: &Context<'_>) -> anyhow::Result<()> {
        let path = Self::path(ctx, &self.version);
        let dir = ctx.state_dir();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self).expect("the record is plain data");
        lava_io::write_atomically(&path, format!("{json}\n").as_bytes())
            .with_context(|| format!("cannot write the consistency record {}", path.display()))
    }

    /// Every disagreement, one sentence each.
    pub fn mismatches(&self) -> Vec<String> {
        self.agreements
            .iter()
            .filter_map(Agreement::mismatch)
            .collect()
    }

    /// Whether `other` pins the same release: same commit, same images.
    pub fn pins_same(&self, other: &Record) -> bool {
        self.commit == other.commit && self.images == other.images
    }

    /// The evidence line.
    pub fn evidence(&self) -> String {
        let claims: usize = self.agreements.iter().map(|a| a.claims.len()).sum();
        format!(
            "tag {} is {} as pipeline {} built it; {claims} claims in {} agreements agree; {} CI image(s) pinned",
            self.version,
            short(&self.commit),
            self.pipeline,
            self.agreements.len(),
            self.images.len()
        )
    }
}

/// What the consistency stage sees.
pub enum Observation {
    /// Something it checks is not there yet (the tag, its pipeline, the upload).
    Missing(String),
    /// Something is wrong beyond a disagreement.
    Wrong(String),
    /// Everything is there: the record, whose agreements may still disagree.
    Complete(Record),
}

/// A file at `commit`, as text; `None` when the commit lacks it.
fn file_at(ctx: &Context<'_>, commit: &str, path: &str) -> anyhow::Result<Option<String>> {
    Ok(ctx
        .repo
        .file_at(commit, path)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// What every part of the release of version `v` says, read-only.
pub fn observe(ctx: &Context<'_>, v: &str) -> anyhow::Result<Observation> {
    let config = ctx.config;
    let Some(tag) = ctx.repo.read_tag(v)? else {
        return Ok(Observation::Missing(format!("tag {v} is not made yet")));
    };
    let commit = tag.commit().to_owned();
    let tag_id = match &tag {
        lava_git::TagRef::Annotated(t) => t.id.clone(),
        lava_git::TagRef::Lightweight { commit } => commit.clone(),
    };
    let at_tag = |path: &str| format!("{path} at tag {v}");

    // The tag: the local one is what was signed; origin's is what CI built.
    let remote = &config.project.remote;
    let refs = ctx
        .repo
        .remote_refs(remote, &crate::shared::git::network(ctx))?;
    let Some((_, remote_tag)) = refs.iter().find(|(n, _)| *n == format!("refs/tags/{v}")) else {
        return Ok(Observation::Missing(format!("{remote} has no tag {v} yet")));
    };
    let mut tag_object = Agreement::new(format!("tag {v}"));
    tag_object.claim("this repository", tag_id);
    tag_object.claim(remote.clone(), remote_tag.clone());

    let gitlab = crate::shared::gitlab::client(ctx)?;
    let pipeline = match gitlab.find_pipeline(&CiTarget::Tag(v.to_owned()))? {
        None => return Ok(Observation::Missing(format!("tag {v} has no pipeline yet"))),
        Some(p) if p.status != "success" => {
            return Ok(Observation::Missing(format!(
                "pipeline {} of tag {v} is {}",
                p.id, p.status
            )));
        }
        Some(p) => p,
    };
    let mut commit_of = Agreement::new("the release commit");
    commit_of.claim(format!("tag {v}"), commit.clone());
    commit_of.claim(
        format!("pipeline {} ({})", pipeline.id, pipeline.web_url),
        pipeline.sha.clone(),
    );

    let mut version = Agreement::new("the version");
    version.claim("the release", v);
    for file in &config.project.version_files {
        let said = file_at(ctx, &commit, file)?;
        version.claim(
            at_tag(file),
            said.as_deref().map_or("nothing (no such file)", str::trim),
        );
    }

    let debian_version = ctx.release.debian_version.to_string();
    let mut debian = Agreement::new("the Debian version");
    debian.claim("the release", debian_version.clone());
    let changelog = crate::entry::CHANGELOG;
    match file_at(ctx, &commit, changelog)? {
        Some(text) => {
            let top = lava_changelog::parse_top(&text)
                .with_context(|| format!("{} cannot be read", at_tag(changelog)))?;
            debian.claim(at_tag(changelog), top.version);
        }
        None => debian.claim(at_tag(changelog), "nothing (no such file)"),
    }

    // The packages CI built: each suite's at the version `repo.package_version` gives
    // it, the source package each carries at the same.
    let mut checks = Vec::new();
    let repo = RepoSite::in_context(ctx);
    if let Some((tree, uploads)) = repo.uploads()? {
        let dir = repo
            .incoming
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display()
            .to_string();
        if uploads.is_empty() {
            return Ok(Observation::Missing(format!(
                "{dir} holds no .changes of {} yet",
                repo.expected()
            )));
        }
        let mut covered = Vec::new();
        for changes in &uploads {
            let mut agreement = Agreement::new(format!("the Debian version of {}", changes.path));
            let suites = repo.suites_of(changes);
            let Some(first) = suites.first() else {
                return Ok(Observation::Wrong(format!(
                    "{} is for {}, which is not one of repo.suites ({})",
                    changes.path,
                    changes.distribution,
                    repo.suites.join(", ")
                )));
            };
            let source = if repo.per_suite {
                format!("repo.package_version for {}", first.suite)
            } else {
                "repo.package_version".to_owned()
            };
            agreement.claim(source, first.version.clone());
            covered.extend(suites.iter().map(|s| s.suite.clone()));
            agreement.claim(changes.path.clone(), changes.version.clone());
            match tree.dsc_of(changes)? {
                Some(lava_repo_sign::DscFile {
                    path,
                    version: Some(said),
                }) => agreement.claim(path, said),
                Some(lava_repo_sign::DscFile {
                    path,
                    version: None,
                }) => {
                    return Ok(Observation::Wrong(format!(
                        "{} lists {path}, which is not there",
                        changes.path
                    )));
                }
                None => {}
            }
            checks.push(agreement);
        }
        let missing: Vec<String> = repo
            .packages
            .iter()
            .filter(|p| !covered.contains(&p.suite))
            .map(|p| format!("{} {} for {}", repo.source, p.version, p.suite))
            .collect();
        if !missing.is_empty() {
            let held: Vec<String> = uploads
                .iter()
                .map(|c| format!("{} {} for {}", c.source, c.version, c.distribution))
                .collect();
            return Ok(Observation::Wrong(format!(
                "{dir} holds no .changes of {} (it holds {}); the CI jobs built for the wrong suite",
                missing.join(", "),
                held.join(", ")
            )));
        }
    }

    let mut images = Vec::new();
    if config.docker.enabled {
        let (promoter, set) = crate::shared::docker::promoter(ctx)?;
        let promotion = promoter.check(&set)?;
        for source in &promotion.sources {
            let reference = source.reference.to_string();
            images.push(PinnedImage {
                source: reference.clone(),
                digest: source.digest.to_string(),
            });
            let mut arch = Agreement::new(format!("the architecture of {reference}"));
            arch.claim(
                "its name",
                lava_docker::oci_architecture(&source.arch).to_owned(),
            );
            arch.claim("its config", source.platform.architecture.clone());
            checks.push(arch);
            let label = |name: &str| source.labels.get(name).cloned();
            if let Some(said) = label("org.opencontainers.image.version") {
                version.claim(format!("the version label of {reference}"), said);
            } else {
                // LAVA's images carry no label; the version is a file in their layers.
                let path = &config.docker.version_file;
                let read = promoter.read_file(source, path)?;
                let Some(content) = read.content else {
                    return Ok(Observation::Wrong(format!(
                        "{reference} has no org.opencontainers.image.version label and {}: nothing proves it holds {v}",
                        match read.layer {
                            Some(layer) => format!("its layer {layer} deletes {path}"),
                            None => format!("none of its {} layers holds {path}", read.layers_read),
                        }
                    )));
                };
                version.claim(
                    format!("{path} in {reference}"),
                    String::from_utf8_lossy(&content).trim().to_owned(),
                );
            }
            if let Some(said) = label("org.opencontainers.image.revision") {
                commit_of.claim(format!("the revision label of {reference}"), said);
            }
        }
        // A version tag already published elsewhere is never silently replaced.
        for tag in &promotion.tags {
            if tag.target.tag.as_deref() != Some(v) || tag.state != lava_docker::TagState::Move {
                continue;
            }
            if let (Some(want), Some(current)) = (&tag.want, &tag.current) {
                let mut digest = Agreement::new(format!("the digest of {}", tag.target));
                let what = match tag.kind {
                    lava_docker::TargetKind::List => "the list over CI's images",
                    lava_docker::TargetKind::Image { .. } => "CI's image",
                };
                digest.claim(what, want.to_string());
                digest.claim("the published tag", current.to_string());
                checks.push(digest);
            }
        }
    }
    // The gbp flow builds from the tag's tarball: it must be the tag, and the Debian
    // version the tag's.
    if config.debian.flow.imports() {
        let mut upstream = Agreement::new("the upstream version");
        upstream.claim(format!("tag {v}"), v);
        upstream.claim(
            format!("the Debian version {debian_version}"),
            ctx.release.debian_version.upstream_version.clone(),
        );
        checks.push(upstream);
        let orig = crate::shared::packaging::orig_path(ctx);
        if !orig.exists() {
            return Ok(Observation::Missing(format!(
                "{} is not downloaded yet (upstream-tarball)",
                orig.display()
            )));
        }
        let same = format!("`git archive {v}`");
        let mut tarball = Agreement::new("the upstream tarball's content");
        tarball.claim(format!("tag {v}"), same.clone());
        tarball.claim(
            crate::shared::debian::file_name(&orig),
            match lava_debian::check_orig(&orig, ctx.repo.git_dir(), v) {
                Ok(_) => same,
                Err(e) => e.to_string(),
            },
        );
        checks.push(tarball);
    }
    let mut agreements = vec![tag_object, commit_of, version, debian];
    // The per-package agreements come after the release's own.
    agreements.extend(checks);
    Ok(Observation::Complete(Record {
        version: v.to_owned(),
        commit,
        pipeline: pipeline.id,
        agreements,
        images,
    }))
}

/// One sentence for every disagreement: the first, and how many more.
pub fn blocked(mismatches: &[String]) -> String {
    match mismatches {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more disagreement(s))", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreement(about: &str, claims: &[(&str, &str)]) -> Agreement {
        let mut a = Agreement::new(about);
        for (source, value) in claims {
            a.claim(*source, *value);
        }
        a
    }

    #[test]
    fn agreeing_claims_pass() {
        let a = agreement(
            "the Debian version",
            &[
                ("the release", "2024.05-1"),
                ("debian/changelog at tag 2024.05", "2024.05-1"),
                ("/srv/incoming/lava_2024.05-1_multi.changes", "2024.05-1"),
            ],
        );
        assert_eq!(a.mismatch(), None);
        assert_eq!(agreement("nothing", &[]).mismatch(), None);
    }

    #[test]
    fn a_mismatch_names_both_sides() {
        let cases = [
            agreement(
                "the release commit",
                &[
                    ("tag 2024.05", "1a2b"),
                    ("pipeline 17 (https://gitlab.example/p/17)", "3c4d"),
                ],
            ),
            agreement(
                "the Debian version",
                &[
                    ("the release", "2024.05-1"),
                    ("debian/changelog at tag 2024.05", "2024.05-1"),
                    ("/srv/incoming/lava_2024.05_multi.changes", "2024.05"),
                ],
            ),
            agreement(
                "the version",
                &[
                    ("the release", "2024.05"),
                    ("lava_common/VERSION at tag 2024.05", "2024.04"),
                ],
            ),
            agreement(
                "the architecture of registry.example/aarch64/lava-server:2024.05",
                &[("its name", "arm64"), ("its config", "amd64")],
            ),
            agreement(
                "the digest of docker.io/lavasoftware/lava-server:2024.05",
                &[
                    ("the list over CI's images", "sha256:aaa"),
                    ("the published tag", "sha256:bbb"),
                ],
            ),
        ];
        let lines: Vec<String> = cases.iter().filter_map(Agreement::mismatch).collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        the release commit differs: tag 2024.05 says 1a2b, but pipeline 17 (https://gitlab.example/p/17) says 3c4d
        the Debian version differs: the release says 2024.05-1, but /srv/incoming/lava_2024.05_multi.changes says 2024.05
        the version differs: the release says 2024.05, but lava_common/VERSION at tag 2024.05 says 2024.04
        the architecture of registry.example/aarch64/lava-server:2024.05 differs: its name says arm64, but its config says amd64
        the digest of docker.io/lavasoftware/lava-server:2024.05 differs: the list over CI's images says sha256:aaa, but the published tag says sha256:bbb
        ");
    }

    #[test]
    fn several_mismatches_read_as_one_sentence() {
        let record = Record {
            version: "2024.05".into(),
            commit: "1a2b3c4d5e6f7a8b".into(),
            pipeline: 17,
            agreements: vec![
                agreement("the version", &[("the release", "2024.05"), ("x", "1")]),
                agreement(
                    "the Debian version",
                    &[("the release", "2024.05-1"), ("y", "2")],
                ),
            ],
            images: Vec::new(),
        };
        assert_eq!(
            blocked(&record.mismatches()),
            "the version differs: the release says 2024.05, but x says 1 (and 1 more disagreement(s))"
        );
        let round_trip: Record =
            serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(round_trip, record);
        assert!(record.pins_same(&round_trip));
    }
}
