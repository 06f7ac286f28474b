//! The promotion: observe the targets (check), then copy, tag, verify and move `latest`
//! last (apply).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use lava_io::retry::RetryPolicy;
use lava_io::transfer::Transfer;

use crate::auth::CredentialStore;
use crate::client::Client;
use crate::config::ImageSet;
use crate::engine::EngineTransport;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor, ImageManifest, Manifest, Platform, RawManifest};
use crate::reference::{Digest, ImageRef, Repository};

/// How per-arch images travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Registry to registry through the HTTP API, no daemon; digests are preserved.
    Registry,
    /// Pull, tag and push through a Docker Engine, which keeps the images. The engine
    /// recompresses layers it pushes to another registry, so per-arch targets match
    /// their source by image config (image ID), not by manifest digest. Manifest lists
    /// still go through the registry API.
    Engine {
        /// The engine's Unix socket (`/var/run/docker.sock`).
        socket: PathBuf,
    },
}

/// How to promote.
#[derive(Debug, Clone)]
pub struct Options {
    /// How per-arch images travel.
    pub transport: Transport,
    /// Credentials by registry.
    pub credentials: CredentialStore,
    /// Registries (as written in references, or API host:port) spoken to over plain
    /// HTTP. Loopback registries always are, as dockerd does.
    pub plain_http: Vec<String>,
    /// Blobs copied at once.
    pub concurrency: usize,
    /// Retries of transient failures (connection errors, 408, 429, 500, 502, 503, 504).
    pub retry: RetryPolicy,
    /// Where the blob copies are reported: one transfer per target repository, its
    /// blobs' bytes (a blob already there or mounted counts as arrived).
    pub meter: lava_io::transfer::Meter,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            transport: Transport::Registry,
            credentials: CredentialStore::new(),
            plain_http: Vec::new(),
            concurrency: 4,
            // A registry push is many short requests: retry them sooner and fewer times
            // than the project's default.
            retry: RetryPolicy {
                max_attempts: 4,
                initial_backoff: Duration::from_millis(250),
                max_backoff: Duration::from_secs(4),
                ..RetryPolicy::default()
            },
            meter: lava_io::transfer::Meter::default(),
        }
    }
}

/// A source image, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceImage {
    /// The architecture name from the config.
    pub arch: String,
    /// The source reference as configured.
    pub reference: ImageRef,
    /// Its manifest's digest.
    pub digest: Digest,
    /// Its manifest's media type.
    pub media_type: String,
    /// The platform from its config blob.
    pub platform: Platform,
    /// Its config's digest (the image ID).
    pub config: Digest,
    /// The labels of its config (`org.opencontainers.image.version`, `.revision`, ...).
    pub labels: std::collections::BTreeMap<String, String>,
    raw: RawManifest,
    manifest: ImageManifest,
}

/// What a target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// A per-arch image.
    Image {
        /// The architecture name from the config.
        arch: String,
    },
    /// A manifest list over the per-arch images.
    List,
}

/// What a target tag needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagState {
    /// It is already at the right digest; the evidence is `current`.
    Done,
    /// It does not exist yet.
    Create,
    /// It exists at another digest and would move.
    Move,
}

/// One target tag, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetTag {
    /// `repository:tag`.
    pub target: ImageRef,
    /// Per-arch image or list.
    pub kind: TargetKind,
    /// The digest it should have; `None` for what depends on an engine push that has
    /// not happened yet (the engine decides the per-arch digests).
    pub want: Option<Digest>,
    /// The digest it has.
    pub current: Option<Digest>,
    /// What it needs.
    pub state: TagState,
}

/// What promoting a release's images would do, observed read-only: sources resolved,
/// every target tag compared with what it should be. Nothing is written to compute it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The version tag.
    pub version: String,
    /// The source images, by group, in config order.
    pub sources: Vec<SourceImage>,
    /// Every target tag, in push order (per-arch, then lists; version, then `latest`).
    pub tags: Vec<TargetTag>,
}

impl Promotion {
    /// The tags that would be created or moved.
    pub fn moves(&self) -> impl Iterator<Item = &TargetTag> {
        self.tags.iter().filter(|t| t.state != TagState::Done)
    }

    /// Whether every target is already where it should be.
    pub fn is_done(&self) -> bool {
        self.moves().next().is_none()
    }
}

impl fmt::Display for Promotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for source in &self.sources {
            writeln!(
                f,
                "source {} = {} ({})",
                source.reference, source.digest, source.platform
            )?;
        }
        for tag in &self.tags {
            let kind = match &tag.kind {
                TargetKind::Image { arch } => format!("image {arch}"),
                TargetKind::List => "list".to_owned(),
            };
            let want = tag
                .want
                .as_ref()
                .map_or_else(|| "(after the engine push)".to_owned(), ToString::to_string);
            match (&tag.state, &tag.current) {
                (TagState::Done, current) => writeln!(
                    f,
                    "done   {} ({kind}) at {}",
                    tag.target,
                    current.as_ref().map_or("?", Digest::as_str)
                )?,
                (TagState::Create, _) => {
                    writeln!(f, "create {} ({kind}) -> {want}", tag.target)?;
                }
                (TagState::Move, current) => writeln!(
                    f,
                    "move   {} ({kind}) {} -> {want}",
                    tag.target,
                    current.as_ref().map_or("?", Digest::as_str)
                )?,
            }
        }
        Ok(())
    }
}

/// A target read back after the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `repository:tag`.
    pub target: ImageRef,
    /// Its digest.
    pub digest: Digest,
    /// For a list, its entries' platforms and digests.
    pub entries: Vec<(Platform, Digest)>,
}

/// A tag or digest as its registry serves it now ([`Promoter::inspect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// What was asked for.
    pub reference: ImageRef,
    /// The manifest's digest.
    pub digest: Digest,
    /// The manifest's media type.
    pub media_type: String,
    /// A single image's platform, from its config; `None` for a list.
    pub platform: Option<Platform>,
    /// A list's entries: each platform and digest; empty for a single image.
    pub entries: Vec<(Platform, Digest)>,
}

/// What [`Promoter::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Tags created or moved, in push order.
    pub moved: Vec<ImageRef>,
    /// Tags that were already right.
    pub unchanged: Vec<ImageRef>,
    /// Blobs streamed from a source registry.
    pub blobs_copied: u64,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: u64,
    /// Blobs the target already had.
    pub blobs_present: u64,
    /// Transient failures retried.
    pub retries: u64,
    /// Every target, read back.
    pub verified: Vec<Verified>,
}

/// Promotes image sets. Holds a small I/O runtime; its methods block.
pub struct Promoter {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
}

impl fmt::Debug for Promoter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promoter")
            .field("transport", &self.inner.options.transport)
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: Client,
    options: Options,
}

impl Promoter {
    /// A promoter with these options.
    pub fn new(options: Options) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let client = Client::new(
            options.credentials.clone(),
            options.plain_http.clone(),
            options.retry,
        )?;
        Ok(Self {
            runtime,
            inner: Arc::new(Inner { client, options }),
        })
    }

    /// Observes sources and targets and says which tags would move; writes nothing.
    pub fn check(&self, set: &ImageSet) -> Result<Promotion> {
        self.runtime.block_on(self.inner.clone().check(set))
    }

    /// Whether the credentials may push to every target repository of `set` (per-arch
    /// images and lists), writing nothing: how a release learns before its tag is public
    /// that Docker Hub would refuse it.
    pub fn check_push_access(&self, set: &ImageSet) -> Result<()> {
        let mut targets: Vec<&crate::Repository> = Vec::new();
        for group in &set.groups {
            targets.push(&group.list);
            for arch in &group.arches {
                targets.push(&arch.target);
            }
        }
        self.runtime.block_on(async {
            for repo in targets {
                self.inner.client.check_push(repo).await?;
            }
            Ok(())
        })
    }

    /// The file at `path` in `source`'s filesystem, read from its layers newest first
    /// and stopping at the first that has it or deletes it (see [`LayerFile`]).
    pub fn read_file(&self, source: &SourceImage, path: &str) -> Result<crate::LayerFile> {
        self.runtime.block_on(self.inner.client.read_layer_file(
            &source.reference.repository,
            &source.manifest.layers,
            path,
        ))
    }

    /// Like [`Promoter::read_file`], for any single-platform image.
    pub fn read_file_at(&self, reference: &ImageRef, path: &str) -> Result<crate::LayerFile> {
        self.runtime.block_on(async {
            let (_, manifest) = self.inner.image_manifest(reference).await?;
            self.inner
                .client
                .read_layer_file(&reference.repository, &manifest.layers, path)
                .await
        })
    }

    /// What `reference` (a tag or digest) resolves to on its registry now, read-only:
    /// its digest and, for a list, each entry's platform and digest, or, for one
    /// image, the platform its config names. `None` when there is no such manifest.
    /// How anyone checks a published tag against what a release recorded.
    pub fn inspect(&self, reference: &ImageRef) -> Result<Option<Published>> {
        self.runtime.block_on(self.inner.inspect(reference))
    }

    /// Promotes the set: blobs, manifests by digest, version tags, read-back, then
    /// `latest`, then a final read-back of every target. Safe to run again after a
    /// failure or a crash: what is done is skipped.
    pub fn apply(&self, set: &ImageSet) -> Result<Report> {
        self.runtime.block_on(self.inner.clone().apply(set))
    }
}

/// One member of a list: where its manifest lives and what it is.
#[derive(Clone)]
struct Member {
    repo: Repository,
    raw: RawManifest,
    manifest: ImageManifest,
    platform: Platform,
}

impl Member {
    fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.raw.media_type.clone(),
            size: self.raw.bytes.len() as u64,
            digest: self.raw.digest.clone(),
            platform: Some(self.platform.clone()),
        }
    }
}

/// Target tags' digests read ahead (`None`: no such tag).
type TargetHeads = HashMap<(Repository, String), Option<Digest>>;

/// The digest of `repo:tag`, read ahead in `heads` or now.
async fn head(
    inner: &Inner,
    heads: &TargetHeads,
    repo: &Repository,
    tag: &str,
) -> Result<Option<Digest>> {
    match heads.get(&(repo.clone(), tag.to_owned())) {
        Some(digest) => Ok(digest.clone()),
        None => inner.client.head_manifest(repo, tag).await,
    }
}

impl Inner {
    async fn inspect(&self, reference: &ImageRef) -> Result<Option<Published>> {
        let name = reference
            .manifest_reference()
            .unwrap_or_else(|| "latest".into());
        let Some(raw) = self
            .client
            .get_manifest(&reference.repository, &name)
            .await?
        else {
            return Ok(None);
        };
        let (platform, entries) = match raw.parse(&reference.to_string())? {
            Manifest::List(entries) => (
                None,
                entries
                    .into_iter()
                    .map(|e| (e.platform.unwrap_or_else(unknown_platform), e.digest))
                    .collect(),
            ),
            Manifest::Image(image) => {
                let config = self
                    .client
                    .get_small_blob(&reference.repository, &image.config)
                    .await?;
                let platform = manifest::platform_of_config(&config, &reference.to_string())?;
                (Some(platform), Vec::new())
            }
        };
        Ok(Some(Published {
            reference: reference.clone(),
            digest: raw.digest,
            media_type: raw.media_type,
            platform,
            entries,
        }))
    }

    fn engine(&self) -> bool {
        matches!(self.options.transport, Transport::Engine { .. })
    }

    /// The single-platform manifest of `reference`, as served and parsed.
    async fn image_manifest(&self, reference: &ImageRef) -> Result<(RawManifest, ImageManifest)> {
        let name = reference
            .manifest_reference()
            .unwrap_or_else(|| "latest".into());
        let raw = self
            .client
            .get_manifest(&reference.repository, &name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("source image {reference}"),
                url: format!("{}/manifests/{name}", reference.repository),
            })?;
        match raw.parse(&reference.to_string())? {
            Manifest::Image(m) => Ok((raw, m)),
            Manifest::List(_) => Err(Error::Manifest {
                reference: reference.to_string(),
                media_type: raw.media_type.clone(),
                reason: "a per-arch source must be a single-platform image, not a list".into(),
            }),
        }
    }

    async fn resolve(&self, set: &ImageSet) -> Result<Vec<SourceImage>> {
        let arches: Vec<_> = set.groups.iter().flat_map(|g| &g.arches).collect();
        futures_util::stream::iter(arches)
            .map(|arch| async move {
                let reference = arch.source.clone();
                let (raw, manifest) = self.image_manifest(&reference).await?;
                let config = self
                    .client
                    .get_small_blob(&reference.repository, &manifest.config)
                    .await?;
                let platform = manifest::platform_of_config(&config, &reference.to_string())?;
                let labels = manifest::labels_of_config(&config);
                Ok(SourceImage {
                    arch: arch.arch.clone(),
                    digest: raw.digest.clone(),
                    media_type: raw.media_type.clone(),
                    config: manifest.config.digest.clone(),
                    platform,
                    labels,
                    reference,
                    raw,
                    manifest,
                })
            })
            .buffered(8)
            .try_collect()
            .await
    }

    /// The sources, and meanwhile every target tag's digest (a HEAD each, on another
    /// registry than the sources', so the two overlap). The engine transport reads
    /// its targets' manifests instead, after.
    async fn resolve_and_head(&self, set: &ImageSet) -> Result<(Vec<SourceImage>, TargetHeads)> {
        if self.engine() {
            return Ok((self.resolve(set).await?, TargetHeads::new()));
        }
        let mut targets = Vec::new();
        for group in &set.groups {
            for tag in set.tags() {
                targets.extend(
                    group
                        .arches
                        .iter()
                        .map(|a| (a.target.clone(), tag.to_owned())),
                );
                targets.push((group.list.clone(), tag.to_owned()));
            }
        }
        let heads = futures_util::stream::iter(targets)
            .map(|(repo, tag)| async move {
                let digest = self.client.head_manifest(&repo, &tag).await?;
                Ok::<_, Error>(((repo, tag), digest))
            })
            .buffered(8)
            .try_collect::<TargetHeads>();
        futures_util::future::try_join(self.resolve(set), heads).await
    }

    /// The per-arch target's manifest under `tag`, if any.
    async fn target_manifest(
        &self,
        repo: &Repository,
        tag: &str,
    ) -> Result<Option<(RawManifest, ImageManifest)>> {
        let Some(raw) = self.client.get_manifest(repo, tag).await? else {
            return Ok(None);
        };
        match raw.parse(&repo.tag(tag).to_string())? {
            Manifest::Image(m) => Ok(Some((raw, m))),
            Manifest::List(_) => Ok(None),
        }
    }

    async fn check(self: Arc<Self>, set: &ImageSet) -> Result<Promotion> {
        let (sources, heads) = self.resolve_and_head(set).await?;
        let (tags, _) = self.observe(set, &sources, &heads).await?;
        Ok(Promotion {
            version: set.version.clone(),
            sources,
            tags,
        })
    }

    /// Every target tag's state, and the list members known so far (by group index).
    async fn observe(
        &self,
        set: &ImageSet,
        sources: &[SourceImage],
        heads: &TargetHeads,
    ) -> Result<(Vec<TargetTag>, Vec<Option<Vec<Member>>>)> {
        let engine = self.engine();
        let mut by_group = Vec::new();
        let mut offset = 0;
        for group in &set.groups {
            by_group.push(&sources[offset..offset + group.arches.len()]);
            offset += group.arches.len();
        }
        // Per-arch targets, all at once.
        let mut per_arch = Vec::new();
        for (g, group) in set.groups.iter().enumerate() {
            for (a, arch) in group.arches.iter().enumerate() {
                for tag in set.tags() {
                    per_arch.push((g, a, arch.target.clone(), tag.to_owned()));
                }
            }
        }
        let by_group_ref = &by_group;
        let observed: Vec<_> = futures_util::stream::iter(per_arch)
            .map(|(g, a, repo, tag)| async move {
                let by_group = by_group_ref;
                let source = &by_group[g][a];
                let found = if engine {
                    self.target_manifest(&repo, &tag).await?
                } else {
                    // A HEAD is enough when digests must match exactly.
                    head(self, heads, &repo, &tag).await?.map(|digest| {
                        (
                            RawManifest {
                                bytes: bytes::Bytes::new(),
                                media_type: String::new(),
                                digest,
                            },
                            source.manifest.clone(),
                        )
                    })
                };
                Ok::<_, Error>((g, a, repo, tag, found))
            })
            .buffered(8)
            .try_collect()
            .await?;
        let mut tags = Vec::new();
        let mut members: Vec<Vec<Option<Member>>> = set
            .groups
            .iter()
            .map(|g| vec![None; g.arches.len()])
            .collect();
        for (g, a, repo, tag, found) in observed {
            let source = &by_group[g][a];
            let current = found.as_ref().map(|(raw, _)| raw.digest.clone());
            let done = match &found {
                None => false,
                Some((raw, _)) if raw.digest == source.digest => true,
                Some((_, target)) => engine && target.config.digest == source.config,
            };
            if engine && tag == set.version && done {
                if let Some((raw, manifest)) = &found {
                    members[g][a] = Some(Member {
                        repo: repo.clone(),
                        raw: raw.clone(),
                        manifest: manifest.clone(),
                        platform: source.platform.clone(),
                    });
                }
            }
            let want = if engine {
                members[g][a].as_ref().map(|m| m.raw.digest.clone())
            } else {
                Some(source.digest.clone())
            };
            tags.push(TargetTag {
                target: repo.tag(&tag),
                kind: TargetKind::Image {
                    arch: source.arch.clone(),
                },
                want,
                state: state(done, &current),
                current,
            });
        }
        if !engine {
            for (g, group) in set.groups.iter().enumerate() {
                for (a, arch) in group.arches.iter().enumerate() {
                    let source = &by_group[g][a];
                    members[g][a] = Some(Member {
                        repo: arch.target.clone(),
                        raw: source.raw.clone(),
                        manifest: source.manifest.clone(),
                        platform: source.platform.clone(),
                    });
                }
            }
        }
        let members: Vec<Option<Vec<Member>>> = members
            .into_iter()
            .map(|m| m.into_iter().collect::<Option<Vec<_>>>())
            .collect();
        // Lists.
        let mut lists = Vec::new();
        for (g, group) in set.groups.iter().enumerate() {
            for tag in set.tags() {
                lists.push((g, group.list.clone(), tag.to_owned()));
            }
        }
        let members_ref = &members;
        let observed: Vec<_> = futures_util::stream::iter(lists)
            .map(|(g, repo, tag)| async move {
                let want = members_ref[g]
                    .as_ref()
                    .map(|m| m.iter().map(Member::descriptor).collect::<Vec<_>>());
                let current = head(self, heads, &repo, &tag).await?;
                let want_raw = want.as_deref().map(manifest::build_list);
                let done = match (&current, &want_raw, &want) {
                    (Some(current), Some(raw), Some(entries)) => {
                        *current == raw.digest || self.list_matches(&repo, &tag, entries).await?
                    }
                    _ => false,
                };
                Ok::<_, Error>(TargetTag {
                    target: repo.tag(&tag),
                    kind: TargetKind::List,
                    want: want_raw.map(|r| r.digest),
                    state: state(done, &current),
                    current,
                })
            })
            .buffered(8)
            .try_collect()
            .await?;
        tags.extend(observed);
        Ok((tags, members))
    }

    /// Whether the list under `tag` has exactly these entries (a list another tool made
    /// with other formatting counts as done).
    async fn list_matches(
        &self,
        repo: &Repository,
        tag: &str,
        want: &[Descriptor],
    ) -> Result<bool> {
        let Some(raw) = self.client.get_manifest(repo, tag).await? else {
            return Ok(false);
        };
        Ok(match raw.parse(&repo.tag(tag).to_string())? {
            Manifest::List(entries) => manifest::same_entries(&entries, want),
            Manifest::Image(_) => false,
        })
    }

    async fn apply(self: Arc<Self>, set: &ImageSet) -> Result<Report> {
        let counters = &self.client.counters;
        let start = [
            &counters.copied,
            &counters.bytes,
            &counters.mounted,
            &counters.present,
            &counters.retries,
        ]
        .map(|c| c.load(Ordering::Relaxed));
        let (sources, heads) = self.resolve_and_head(set).await?;
        let (before, mut members) = self.observe(set, &sources, &heads).await?;
        let mut moved = Vec::new();
        let unchanged: Vec<ImageRef> = before
            .iter()
            .filter(|t| t.state == TagState::Done)
            .map(|t| t.target.clone())
            .collect();
        let pending = |target: &ImageRef| {
            before
                .iter()
                .any(|t| &t.target == target && t.state != TagState::Done)
        };
        if before.iter().all(|t| t.state == TagState::Done) {
            // Nothing moves (a re-run): the digests just observed are the read-back.
            // A tag at the digest this promotion wants holds exactly those bytes, and a
            // list found done has exactly the wanted entries.
            let verified = before
                .into_iter()
                .map(|t| {
                    let entries = match t.kind {
                        TargetKind::List => set
                            .groups
                            .iter()
                            .zip(&members)
                            .find(|(group, _)| group.list == t.target.repository)
                            .map(|(_, members)| {
                                members
                                    .iter()
                                    .flatten()
                                    .map(|m| (m.platform.clone(), m.raw.digest.clone()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        TargetKind::Image { .. } => Vec::new(),
                    };
                    Verified {
                        digest: t.current.expect("a tag found done has a digest"),
                        target: t.target,
                        entries,
                    }
                })
                .collect();
            return Ok(Report {
                moved: Vec::new(),
                unchanged,
                blobs_copied: 0,
                bytes_copied: 0,
                blobs_mounted: 0,
                blobs_present: 0,
                retries: counters.retries.load(Ordering::Relaxed) - start[4],
                verified,
            });
        }
        let tags = set.tags();
        let (version, latest) = (tags[0], tags.get(1).copied());

        // Per-arch images.
        if let Transport::Engine { socket } = &self.options.transport {
            let engine = EngineTransport::connect(socket, &self.options.credentials).await?;
            let mut offset = 0;
            for (g, group) in set.groups.iter().enumerate() {
                let mut group_members = Vec::new();
                for (a, arch) in group.arches.iter().enumerate() {
                    let source = &sources[offset + a];
                    let target = arch.target.tag(version);
                    if pending(&target) {
                        engine
                            .promote(&source.reference, &source.digest, &target)
                            .await?;
                        moved.push(target.clone());
                    }
                    let (raw, manifest) = self
                        .target_manifest(&arch.target, version)
                        .await?
                        .ok_or_else(|| Error::Verify {
                            target: target.to_string(),
                            expected: format!("image {}", source.config),
                            actual: "nothing".into(),
                        })?;
                    if manifest.config.digest != source.config {
                        return Err(Error::Verify {
                            target: target.to_string(),
                            expected: format!("image {}", source.config),
                            actual: format!("image {}", manifest.config.digest),
                        });
                    }
                    group_members.push(Member {
                        repo: arch.target.clone(),
                        raw,
                        manifest,
                        platform: source.platform.clone(),
                    });
                }
                members[g] = Some(group_members);
                offset += group.arches.len();
            }
            // The lists' repositories need the per-arch manifests too.
            let mut needs = Vec::new();
            for (g, group) in set.groups.iter().enumerate() {
                let list_pending = tags.iter().any(|t| pending(&group.list.tag(t)));
                for member in members[g].iter().flatten() {
                    if list_pending {
                        needs.push((group.list.clone(), member.clone(), member.repo.clone()));
                    }
                }
            }
            self.place(needs).await?;
        } else {
            let mut needs = Vec::new();
            let mut offset = 0;
            for (g, group) in set.groups.iter().enumerate() {
                let list_pending = tags.iter().any(|t| pending(&group.list.tag(t)));
                for (a, arch) in group.arches.iter().enumerate() {
                    let source = &sources[offset + a];
                    let arch_pending = tags.iter().any(|t| pending(&arch.target.tag(t)));
                    let member = members[g]
                        .as_ref()
                        .and_then(|m| m.get(a))
                        .cloned()
                        .expect("registry transport knows every member from its source");
                    if arch_pending || list_pending {
                        needs.push((
                            arch.target.clone(),
                            member.clone(),
                            source.reference.repository.clone(),
                        ));
                    }
                    if list_pending {
                        needs.push((
                            group.list.clone(),
                            member,
                            source.reference.repository.clone(),
                        ));
                    }
                }
                offset += group.arches.len();
            }
            self.place(needs).await?;
            // Version tags of the per-arch images: the exact source bytes.
            let mut offset = 0;
            let mut puts = Vec::new();
            for group in &set.groups {
                for (a, arch) in group.arches.iter().enumerate() {
                    let target = arch.target.tag(version);
                    if pending(&target) {
                        puts.push((target, sources[offset + a].raw.clone()));
                    }
                }
                offset += group.arches.len();
            }
            moved.extend(self.put_tags(puts).await?);
        }

        // Version tags of the lists.
        let lists: Vec<(Repository, RawManifest, Vec<Descriptor>)> = set
            .groups
            .iter()
            .zip(&members)
            .map(|(group, members)| {
                let entries: Vec<_> = members.iter().flatten().map(Member::descriptor).collect();
                (group.list.clone(), manifest::build_list(&entries), entries)
            })
            .collect();
        let puts: Vec<_> = lists
            .iter()
            .map(|(repo, raw, _)| (repo.tag(version), raw.clone()))
            .filter(|(target, _)| pending(target))
            .collect();
        moved.extend(self.put_tags(puts).await?);

        // Read back every version tag before `latest` moves.
        let mut verified = self.verify(set, version, &members, &lists).await?;

        if let Some(latest) = latest {
            if let Transport::Engine { socket } = &self.options.transport {
                let engine = EngineTransport::connect(socket, &self.options.credentials).await?;
                for group in &set.groups {
                    for arch in &group.arches {
                        let target = arch.target.tag(latest);
                        if pending(&target) {
                            engine
                                .tag_and_push(&arch.target.tag(version), &target)
                                .await?;
                            moved.push(target);
                        }
                    }
                }
            } else {
                let puts: Vec<_> = set
                    .groups
                    .iter()
                    .zip(&members)
                    .flat_map(|(group, members)| {
                        group
                            .arches
                            .iter()
                            .zip(members.iter().flatten())
                            .map(|(arch, member)| (arch.target.tag(latest), member.raw.clone()))
                    })
                    .filter(|(target, _)| pending(target))
                    .collect();
                moved.extend(self.put_tags(puts).await?);
            }
            let puts: Vec<_> = lists
                .iter()
                .map(|(repo, raw, _)| (repo.tag(latest), raw.clone()))
                .filter(|(target, _)| pending(target))
                .collect();
            moved.extend(self.put_tags(puts).await?);
            verified.extend(self.verify(set, latest, &members, &lists).await?);
        }

        let since =
            |i: usize, c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed) - start[i];
        Ok(Report {
            moved,
            unchanged,
            blobs_copied: since(0, &counters.copied),
            bytes_copied: since(1, &counters.bytes),
            blobs_mounted: since(2, &counters.mounted),
            blobs_present: since(3, &counters.present),
            retries: since(4, &counters.retries),
            verified,
        })
    }

    /// Pushes manifests under tags, in order within this batch (they are independent,
    /// so concurrently).
    async fn put_tags(&self, puts: Vec<(ImageRef, RawManifest)>) -> Result<Vec<ImageRef>> {
        futures_util::stream::iter(puts)
            .map(|(target, raw)| async move {
                let tag = target.tag.clone().unwrap_or_else(|| "latest".into());
                self.client
                    .put_manifest(&target.repository, &tag, &raw)
                    .await?;
                Ok::<_, Error>(target)
            })
            .buffered(8)
            .try_collect()
            .await
    }

    /// Makes each member's manifest present by digest in each repository, with its
    /// blobs: skipped when the manifest is there, else every blob is found present,
    /// mounted from a repository of the same registry that has it, or streamed from
    /// `origin`; then the manifest is pushed by digest.
    async fn place(&self, needs: Vec<(Repository, Member, Repository)>) -> Result<()> {
        // Which (repo, manifest) pairs are missing.
        let checked: Vec<_> = futures_util::stream::iter(needs)
            .map(|(repo, member, origin)| async move {
                let present = self
                    .client
                    .head_manifest(&repo, member.raw.digest.as_str())
                    .await?
                    .is_some();
                Ok::<_, Error>((repo, member, origin, present))
            })
            .buffered(8)
            .try_collect()
            .await?;
        let missing: Vec<_> = checked
            .into_iter()
            .filter(|(_, _, _, present)| !present)
            .map(|(repo, member, origin, _)| (repo, member, origin))
            .collect();
        // Blob jobs: the first job for each digest copies it, later ones mount it, so
        // first occurrences go first, biggest first, to keep every slot streaming.
        let mut seen = HashMap::new();
        let mut firsts = Vec::new();
        let mut repeats = Vec::new();
        let mut done_pairs = std::collections::HashSet::new();
        for (repo, member, origin) in &missing {
            for blob in member.manifest.blobs() {
                if !done_pairs.insert((repo.clone(), blob.digest.clone())) {
                    continue;
                }
                let job = (repo.clone(), blob.clone(), origin.clone());
                if seen.insert(blob.digest.clone(), ()).is_none() {
                    firsts.push(job);
                } else {
                    repeats.push(job);
                }
            }
        }
        firsts.sort_by_key(|job| std::cmp::Reverse(job.1.size));
        let mut totals: HashMap<Repository, u64> = HashMap::new();
        for (repo, blob, _) in firsts.iter().chain(&repeats) {
            *totals.entry(repo.clone()).or_default() += blob.size;
        }
        let transfers: HashMap<Repository, Arc<Transfer>> = totals
            .into_iter()
            .map(|(repo, total)| {
                let transfer = self.options.meter.start(&repo.to_string(), Some(total));
                (repo, Arc::new(transfer))
            })
            .collect();
        let transfers = &transfers;
        let holders: HashMap<Digest, Arc<tokio::sync::Mutex<Vec<Repository>>>> =
            seen.into_keys().map(|d| (d, Arc::default())).collect();
        let holders = &holders;
        futures_util::stream::iter(firsts.into_iter().chain(repeats))
            .map(|(repo, blob, origin)| async move {
                let cell = holders
                    .get(&blob.digest)
                    .expect("every job's digest has a cell")
                    .clone();
                let mut held = cell.lock().await;
                let transfer = transfers
                    .get(&repo)
                    .expect("every job's repository has a transfer")
                    .clone();
                self.ensure_blob(&repo, &blob, &origin, &held, transfer)
                    .await?;
                held.push(repo);
                Ok::<_, Error>(())
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .try_collect::<()>()
            .await?;
        // Manifests by digest.
        futures_util::stream::iter(missing)
            .map(|(repo, member, _)| async move {
                self.client
                    .put_manifest(&repo, member.raw.digest.as_str(), &member.raw)
                    .await
            })
            .buffered(8)
            .try_collect::<()>()
            .await
    }

    async fn ensure_blob(
        &self,
        repo: &Repository,
        blob: &Descriptor,
        origin: &Repository,
        holders: &[Repository],
        transfer: Arc<Transfer>,
    ) -> Result<()> {
        let counters = &self.client.counters;
        let same_registry: Vec<&Repository> = holders
            .iter()
            .chain(std::iter::once(origin))
            .filter(|h| h.registry == repo.registry && *h != repo)
            .collect();
        // A blob known to be in another repository of this registry is mounted without
        // asking first whether it is here (a mount of a present blob is a no-op).
        if let Some(from) = holders
            .iter()
            .find(|h| h.registry == repo.registry && *h != repo)
            && self.client.mount(repo, &blob.digest, from).await?
        {
            counters.mounted.fetch_add(1, Ordering::Relaxed);
            transfer.advance(blob.size);
            return Ok(());
        }
        if self.client.blob_exists(repo, &blob.digest).await? {
            counters.present.fetch_add(1, Ordering::Relaxed);
            transfer.advance(blob.size);
            return Ok(());
        }
        for from in same_registry {
            if self.client.mount(repo, &blob.digest, from).await? {
                counters.mounted.fetch_add(1, Ordering::Relaxed);
                transfer.advance(blob.size);
                return Ok(());
            }
        }
        self.client.copy_blob(origin, repo, blob, transfer).await
    }

    /// Reads back every target under `tag`: per-arch images at their member digest (or,
    /// for the engine, with the source's image config), lists with exactly the members'
    /// digests and platforms.
    async fn verify(
        &self,
        set: &ImageSet,
        tag: &str,
        members: &[Option<Vec<Member>>],
        lists: &[(Repository, RawManifest, Vec<Descriptor>)],
    ) -> Result<Vec<Verified>> {
        let mut checks = Vec::new();
        for (group, members) in set.groups.iter().zip(members) {
            for (arch, member) in group.arches.iter().zip(members.iter().flatten()) {
                checks.push((arch.target.tag(tag), Some(member.raw.digest.clone()), None));
            }
        }
        for (repo, _, entries) in lists {
            checks.push((repo.tag(tag), None, Some(entries.clone())));
        }
        futures_util::stream::iter(checks)
            .map(|(target, digest, entries)| async move {
                let name = target.tag.clone().unwrap_or_else(|| "latest".into());
                let raw = self
                    .client
                    .get_manifest(&target.repository, &name)
                    .await?
                    .ok_or_else(|| Error::Verify {
                        target: target.to_string(),
                        expected: digest
                            .as_ref()
                            .map_or_else(|| "a manifest list".into(), ToString::to_string),
                        actual: "nothing".into(),
                    })?;
                if let Some(digest) = digest {
                    if raw.digest != digest {
                        return Err(Error::Verify {
                            target: target.to_string(),
                            expected: digest.to_string(),
                            actual: raw.digest.to_string(),
                        });
                    }
                    return Ok(Verified {
                        target,
                        digest,
                        entries: Vec::new(),
                    });
                }
                let want = entries.unwrap_or_default();
                let got = match raw.parse(&target.to_string())? {
                    Manifest::List(got) => got,
                    Manifest::Image(_) => Vec::new(),
                };
                if !manifest::same_entries(&got, &want) {
                    let show = |entries: &[Descriptor]| {
                        entries
                            .iter()
                            .map(|e| {
                                format!(
                                    "{} {}",
                                    e.platform.as_ref().map_or("?".into(), ToString::to_string),
                                    e.digest
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(Error::Verify {
                        target: target.to_string(),
                        expected: format!("a list of [{}]", show(&want)),
                        actual: format!("[{}]", show(&got)),
                    });
                }
                Ok(Verified {
                    target,
                    digest: raw.digest,
                    entries: got
                        .into_iter()
                        .map(|e| (e.platform.unwrap_or_else(unknown_platform), e.digest))
                        .collect(),
                })
            })
            .buffered(8)
            .try_collect()
            .await
    }
}

fn unknown_platform() -> Platform {
    Platform {
        architecture: "unknown".into(),
        os: "unknown".into(),
        os_version: None,
        os_features: Vec::new(),
        variant: None,
    }
}

fn state(done: bool, current: &Option<Digest>) -> TagState {
    match (done, current) {
        (true, _) => TagState::Done,
        (false, None) => TagState::Create,
        (false, Some(_)) => TagState::Move,
    }
}
