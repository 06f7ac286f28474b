//! A GitLab stand-in: a stateful HTTP server on 127.0.0.1 that answers the API v4
//! endpoints lava-gitlab uses the way the GitLab documentation describes them (JSON
//! shapes, offset pagination headers, `{"message": ...}` error bodies, PRIVATE-TOKEN and
//! Bearer tokens), with scripted pipeline timelines, job logs and artifact zips,
//! milestones with issues and merge requests, releases and their asset links (with
//! the direct asset URLs that redirect to them), a generic package registry, a
//! container registry, fault injection and a log of every request it got.
//!
//! Seed it with [`GitLabStandIn::builder`]; it stops when dropped.

mod artifacts;
mod routes;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::http::Server;
pub use artifacts::DebianArtifacts;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `api` scope, Maintainer: reads and writes.
    ReadWrite,
    /// `read_api` scope: writes get 403.
    ReadOnly,
    /// `api` scope, but the user is a Reporter: writes get 403.
    Reporter,
}

/// What a downstream pipeline does when it succeeds (e.g. publish the apt repository),
/// given the ref it was triggered for; an `Err` fails the pipeline instead.
pub type Publish = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// A trigger job's downstream pipeline: in `project`, like `pipeline` (its ref and sha,
/// when empty, those of the pipeline that triggered it).
#[derive(Clone)]
pub struct Trigger {
    pub(crate) project: String,
    pub(crate) pipeline: PipelineSpec,
    pub(crate) publish: Option<Publish>,
}

impl std::fmt::Debug for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trigger")
            .field("project", &self.project)
            .field("pipeline", &self.pipeline)
            .field("publish", &self.publish.is_some())
            .finish()
    }
}

/// A job of a scripted pipeline.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub(crate) name: String,
    pub(crate) stage: String,
    pub(crate) status: String,
    pub(crate) allow_failure: bool,
    pub(crate) trace: String,
    pub(crate) artifacts: Option<Vec<u8>>,
    pub(crate) trigger: Option<Trigger>,
}

impl JobSpec {
    /// A job that ends in `success`.
    pub fn new(name: &str, stage: &str) -> Self {
        Self {
            name: name.into(),
            stage: stage.into(),
            status: "success".into(),
            allow_failure: false,
            trace: format!("Running job {name}\nJob succeeded\n"),
            artifacts: None,
            trigger: None,
        }
    }

    /// A trigger job (a "bridge", `trigger: project: ...` without `strategy: depend`):
    /// listed by `/bridges`, not `/jobs`; when its pipeline is created it starts
    /// `downstream` in `project` (created if the stand-in does not have it yet).
    pub fn trigger(name: &str, stage: &str, project: &str, downstream: PipelineSpec) -> Self {
        Self {
            trigger: Some(Trigger {
                project: project.into(),
                pipeline: downstream,
                publish: None,
            }),
            ..Self::new(name, stage)
        }
    }

    /// For a trigger job: what its downstream pipeline does when it succeeds.
    pub fn publishes(mut self, publish: Publish) -> Self {
        if let Some(t) = self.trigger.as_mut() {
            t.publish = Some(publish);
        }
        self
    }

    /// Its status once the pipeline has finished.
    pub fn ends(mut self, status: &str) -> Self {
        self.status = status.into();
        self
    }

    /// A failure that does not fail the pipeline.
    pub fn allow_failure(mut self) -> Self {
        self.allow_failure = true;
        self
    }

    /// Its log.
    pub fn trace(mut self, log: &str) -> Self {
        self.trace = log.into();
        self
    }

    /// Its artifacts archive (a zip).
    pub fn artifacts(mut self, zip: Vec<u8>) -> Self {
        self.artifacts = Some(zip);
        self
    }
}

/// A scripted pipeline: its status steps through `timeline`, one step each time a
/// request reads it (list, show, or its jobs), staying at the last.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub(crate) sha: String,
    pub(crate) ref_name: String,
    pub(crate) tag: bool,
    pub(crate) timeline: Vec<String>,
    pub(crate) hidden_for: u32,
    pub(crate) jobs: Vec<JobSpec>,
}

impl PipelineSpec {
    /// A tag pipeline: created, pending, running, success.
    pub fn tag(tag: &str, sha: &str) -> Self {
        Self {
            sha: sha.into(),
            ref_name: tag.into(),
            tag: true,
            timeline: ["created", "pending", "running", "success"]
                .map(String::from)
                .to_vec(),
            hidden_for: 0,
            jobs: Vec::new(),
        }
    }

    /// A branch pipeline.
    pub fn branch(branch: &str, sha: &str) -> Self {
        Self {
            tag: false,
            ..Self::tag(branch, sha)
        }
    }

    /// The statuses it goes through.
    pub fn timeline(mut self, statuses: &[&str]) -> Self {
        self.timeline = statuses.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Not listed for the first `polls` list requests (pushed, CI not started yet).
    pub fn appears_after(mut self, polls: u32) -> Self {
        self.hidden_for = polls;
        self
    }

    /// Adds a job.
    pub fn job(mut self, job: JobSpec) -> Self {
        self.jobs.push(job);
        self
    }
}

/// The pipelines GitLab starts when a ref is pushed, made when first asked for: a
/// request for the pipelines of a ref that lists none gets one from the template, at
/// the commit the ref points to in one of the bare repositories the release pushes to
/// (the stand-in cannot see a push, but it can look where the push went).
#[derive(Debug, Clone)]
pub struct OnPush {
    pub(crate) repos: Vec<PathBuf>,
    pub(crate) tag: Option<PipelineSpec>,
    pub(crate) branch: Option<PipelineSpec>,
}

impl OnPush {
    /// Looks for pushed refs in these bare repositories, in order.
    pub fn new(repos: &[&Path]) -> Self {
        Self {
            repos: repos.iter().map(|r| r.to_path_buf()).collect(),
            tag: None,
            branch: None,
        }
    }

    /// A pushed tag gets a pipeline like `template` (its ref replaced, and its sha
    /// when empty).
    pub fn tag(mut self, template: PipelineSpec) -> Self {
        self.tag = Some(template);
        self
    }

    /// A pushed branch gets a pipeline like `template` (its ref replaced, and its sha
    /// when empty).
    pub fn branch(mut self, template: PipelineSpec) -> Self {
        self.branch = Some(template);
        self
    }

    /// The pipeline for `ref_name` as pushed: a tag (when `tag` is not `Some(false)`)
    /// or a branch (when `tag` is not `Some(true)`), at `sha` if given.
    fn pipeline(
        &self,
        ref_name: &str,
        sha: Option<&str>,
        tag: Option<bool>,
    ) -> Option<PipelineSpec> {
        let kinds = [
            (
                true,
                self.tag.as_ref(),
                format!("refs/tags/{ref_name}^{{commit}}"),
            ),
            (
                false,
                self.branch.as_ref(),
                format!("refs/heads/{ref_name}"),
            ),
        ];
        for (is_tag, template, rev) in kinds {
            let Some(template) = template.filter(|_| tag.is_none_or(|t| t == is_tag)) else {
                continue;
            };
            for repo in &self.repos {
                let Some(pushed) = rev_parse(repo, &rev) else {
                    continue;
                };
                if sha.is_some_and(|s| s != pushed) {
                    continue;
                }
                // A template's own sha is kept: a pipeline that built another commit.
                let sha = if template.sha.is_empty() {
                    pushed
                } else {
                    template.sha.clone()
                };
                return Some(PipelineSpec {
                    sha,
                    ref_name: ref_name.to_owned(),
                    tag: is_tag,
                    ..template.clone()
                });
            }
        }
        None
    }
}

/// `git rev-parse --verify` of `rev` in the bare repository `repo`.
fn rev_parse(repo: &Path, rev: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-parse", "--verify", "--quiet", rev])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A milestone with issues and merge requests.
#[derive(Debug, Clone)]
pub struct MilestoneSpec {
    pub(crate) title: String,
    pub(crate) closed: bool,
    pub(crate) open_issues: usize,
    pub(crate) closed_issues: usize,
    pub(crate) open_mrs: usize,
    pub(crate) merged_mrs: usize,
}

impl MilestoneSpec {
    /// An active milestone with nothing in it.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.into(),
            closed: false,
            open_issues: 0,
            closed_issues: 0,
            open_mrs: 0,
            merged_mrs: 0,
        }
    }

    /// Already closed.
    pub fn closed(mut self) -> Self {
        self.closed = true;
        self
    }

    /// Issues still open, and issues closed.
    pub fn issues(mut self, open: usize, closed: usize) -> Self {
        self.open_issues = open;
        self.closed_issues = closed;
        self
    }

    /// Merge requests still open, and merged.
    pub fn merge_requests(mut self, open: usize, merged: usize) -> Self {
        self.open_mrs = open;
        self.merged_mrs = merged;
        self
    }
}

/// A fault to inject into requests whose method and path match.
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) method: Option<String>,
    pub(crate) path_contains: String,
    pub(crate) kind: FaultKind,
    pub(crate) times: u32,
}

/// What a fault does.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// 429 with `Retry-After: secs`.
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// An error status with an HTML body, as a proxy gives (502, 503, ...).
    Status(u16),
    /// Answer normally, after a delay.
    Slow(Duration),
    /// Close the connection without answering.
    Drop,
    /// Answer the request (a write lands), then close the connection without sending
    /// the answer: what a client sees when the answer is lost on the way back.
    Lost,
    /// Answer a list page with its last item missing, headers (`x-total`) unchanged:
    /// an item lost on the way.
    ShortPage,
}

impl Fault {
    /// Matches requests whose path contains `path_contains`, any method, once.
    pub fn on(path_contains: &str, kind: FaultKind) -> Self {
        Self {
            method: None,
            path_contains: path_contains.into(),
            kind,
            times: 1,
        }
    }

    /// Only for `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.into());
        self
    }

    /// For the first `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
}

/// One request the stand-in got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path, percent-encoded as sent (e.g. `/api/v4/projects/lava%2Flava/releases`).
    pub path: String,
    /// Query string.
    pub query: String,
    /// Status answered; 0 for a dropped connection.
    pub status: u16,
    /// Which configured token was used, by its label (never the token itself), or how
    /// authentication failed.
    pub auth: String,
    /// Request body (JSON or form), for asserting what was written.
    pub body: String,
}

impl Recorded {
    /// Not a GET.
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.method != "HEAD"
    }
}

pub(crate) struct Token {
    pub label: String,
    pub value: String,
    pub access: Access,
}

pub(crate) struct Job {
    pub id: u64,
    pub spec: JobSpec,
    /// A trigger job's downstream pipeline.
    pub downstream: Option<u64>,
}

pub(crate) struct Pipeline {
    pub id: u64,
    /// The project's path.
    pub project: String,
    pub spec: PipelineSpec,
    pub step: usize,
    pub hidden_for: u32,
    pub jobs: Vec<Job>,
    /// Run once when it first reaches `success`.
    pub publish: Option<Publish>,
    /// The request (counted from the start) that created it.
    pub created_at: u64,
    /// The request that first answered it as `success`.
    pub success_seen: std::cell::Cell<Option<u64>>,
    /// Why `publish` failed it.
    pub failed: Option<String>,
}

impl Pipeline {
    pub fn status(&self) -> &str {
        if self.failed.is_some() {
            return "failed";
        }
        let t = &self.spec.timeline;
        t.get(self.step.min(t.len().saturating_sub(1)))
            .map_or("success", String::as_str)
    }
}

pub(crate) struct Item {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub state: String,
    pub milestone: String,
}

pub(crate) struct Milestone {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub state: String,
}

pub(crate) struct Release {
    pub tag: String,
    pub name: String,
    pub description: String,
    /// Its asset links, oldest first.
    pub links: Vec<Link>,
}

/// A release's asset link.
pub(crate) struct Link {
    pub id: u64,
    pub name: String,
    pub url: String,
    /// `/…` under the release's `downloads`, when the link has a permanent URL.
    pub direct_asset_path: Option<String>,
    pub link_type: String,
}

/// One upload to the generic package registry; GitLab keeps every upload of a name
/// and serves the newest.
pub(crate) struct PackageFile {
    pub package: String,
    pub version: String,
    pub file: String,
    pub bytes: Vec<u8>,
}

pub(crate) struct Repository {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
}

pub(crate) struct State {
    pub base: String,
    pub project_id: u64,
    pub project_path: String,
    /// Projects other than the stand-in's own that pipelines run in (downstream
    /// pipelines of trigger jobs): path and id.
    pub other_projects: Vec<(String, u64)>,
    pub tokens: Vec<Token>,
    /// `visibility: public`: anyone may read (GET) without a token, as lava/lava.
    pub public: bool,
    pub pipelines: Vec<Pipeline>,
    pub milestones: Vec<Milestone>,
    pub issues: Vec<Item>,
    pub mrs: Vec<Item>,
    pub releases: Vec<Release>,
    /// The generic package registry, in upload order.
    pub packages: Vec<PackageFile>,
    pub repositories: Vec<Repository>,
    pub faults: VecDeque<Fault>,
    pub on_push: Option<OnPush>,
    /// What `repository/archive.tar.gz` serves instead of `git archive` of the pushed
    /// repository: a tampered tarball.
    pub archive_override: Option<Vec<u8>>,
    pub log: Vec<Recorded>,
    /// Requests answered since the start (the log may be cleared; this is not).
    pub requests_answered: u64,
    /// The access of the request being answered (`None`: anonymous).
    pub current_access: Option<Access>,
    pub next_id: u64,
}

impl State {
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The newest upload of `file` in generic package `package` at `version`.
    pub fn package_file(&self, package: &str, version: &str, file: &str) -> Option<&Vec<u8>> {
        self.packages
            .iter()
            .rev()
            .find(|p| p.package == package && p.version == version && p.file == file)
            .map(|p| &p.bytes)
    }

    /// The id of project `path`: the stand-in's own, or another made on first mention.
    pub fn project_id_of(&mut self, path: &str) -> u64 {
        if path == self.project_path {
            return self.project_id;
        }
        if let Some((_, id)) = self.other_projects.iter().find(|(p, _)| p == path) {
            return *id;
        }
        let id = self.project_id + 1 + self.other_projects.len() as u64;
        self.other_projects.push((path.to_owned(), id));
        id
    }

    /// With [`OnPush`], starts the pipeline of a pushed ref that a request asks for
    /// and none matches yet.
    pub fn start_pushed_pipeline(&mut self, ref_name: &str, sha: Option<&str>, tag: Option<bool>) {
        let listed = self.pipelines.iter().any(|p| {
            p.spec.ref_name == ref_name
                && sha.is_none_or(|s| s == p.spec.sha)
                && tag.is_none_or(|t| t == p.spec.tag)
        });
        if listed {
            return;
        }
        let spec = self
            .on_push
            .as_ref()
            .and_then(|on_push| on_push.pipeline(ref_name, sha, tag));
        if let Some(spec) = spec {
            self.add_pipeline(spec);
        }
    }

    fn add_pipeline(&mut self, spec: PipelineSpec) -> u64 {
        let project = self.project_path.clone();
        self.add_pipeline_in(&project, spec, None)
    }

    fn add_pipeline_in(
        &mut self,
        project: &str,
        spec: PipelineSpec,
        publish: Option<Publish>,
    ) -> u64 {
        let id = self.id();
        self.project_id_of(project);
        let mut jobs = Vec::new();
        for job in spec.jobs.iter().cloned() {
            let downstream = job.trigger.clone().map(|t| {
                let pipeline = PipelineSpec {
                    sha: if t.pipeline.sha.is_empty() {
                        spec.sha.clone()
                    } else {
                        t.pipeline.sha.clone()
                    },
                    ref_name: if t.pipeline.ref_name.is_empty() {
                        spec.ref_name.clone()
                    } else {
                        t.pipeline.ref_name.clone()
                    },
                    ..t.pipeline.clone()
                };
                self.add_pipeline_in(&t.project, pipeline, t.publish.clone())
            });
            jobs.push(Job {
                id: self.id(),
                spec: job,
                downstream,
            });
        }
        self.pipelines.push(Pipeline {
            id,
            project: project.to_owned(),
            hidden_for: spec.hidden_for,
            spec,
            step: 0,
            jobs,
            publish,
            failed: None,
            created_at: self.requests_answered,
            success_seen: std::cell::Cell::new(None),
        });
        id
    }

    fn add_milestone(&mut self, spec: MilestoneSpec) {
        let id = self.id();
        let iid = self.milestones.len() as u64 + 1;
        self.milestones.push(Milestone {
            id,
            iid,
            title: spec.title.clone(),
            state: if spec.closed { "closed" } else { "active" }.into(),
        });
        for (n, state) in [(spec.open_issues, "opened"), (spec.closed_issues, "closed")] {
            for _ in 0..n {
                let iid = self.issues.len() as u64 + 1;
                let id = self.id();
                self.issues.push(Item {
                    id,
                    iid,
                    title: format!("Issue {iid} for {}", spec.title),
                    state: state.into(),
                    milestone: spec.title.clone(),
                });
            }
        }
        for (n, state) in [(spec.open_mrs, "opened"), (spec.merged_mrs, "merged")] {
            for _ in 0..n {
                let iid = self.mrs.len() as u64 + 1;
                let id = self.id();
                self.mrs.push(Item {
                    id,
                    iid,
                    title: format!("Merge request {iid} for {}", spec.title),
                    state: state.into(),
                    milestone: spec.title.clone(),
                });
            }
        }
    }
}

/// Seeds a [`GitLabStandIn`].
pub struct Builder {
    state: State,
}

impl GitLabStandIn {
    /// A stand-in for project `lava/lava` (id 1) with no tokens yet.
    pub fn builder() -> Builder {
        Builder {
            state: State {
                base: String::new(),
                project_id: 1,
                project_path: "lava/lava".into(),
                other_projects: Vec::new(),
                tokens: Vec::new(),
                public: true,
                pipelines: Vec::new(),
                milestones: Vec::new(),
                issues: Vec::new(),
                mrs: Vec::new(),
                releases: Vec::new(),
                packages: Vec::new(),
                repositories: Vec::new(),
                faults: VecDeque::new(),
                on_push: None,
                archive_override: None,
                log: Vec::new(),
                requests_answered: 0,
                current_access: None,
                next_id: 1000,
            },
        }
    }
}

impl Builder {
    /// The project's path and id.
    pub fn project(mut self, path: &str, id: u64) -> Self {
        self.state.project_path = path.into();
        self.state.project_id = id;
        self
    }

    /// Makes the project private: without a token every request is answered as GitLab
    /// answers it for a private project, `404 Project Not Found`.
    pub fn private(mut self) -> Self {
        self.state.public = false;
        self
    }

    /// Accepts `value` as a token; `label` names it in the request log.
    pub fn token(mut self, label: &str, value: &str, access: Access) -> Self {
        self.state.tokens.push(Token {
            label: label.into(),
            value: value.into(),
            access,
        });
        self
    }

    /// A scripted pipeline.
    pub fn pipeline(mut self, spec: PipelineSpec) -> Self {
        self.state.add_pipeline(spec);
        self
    }

    /// A milestone with its issues and merge requests.
    pub fn milestone(mut self, spec: MilestoneSpec) -> Self {
        self.state.add_milestone(spec);
        self
    }

    /// An existing release.
    pub fn release(mut self, tag: &str, name: &str, description: &str) -> Self {
        self.state.releases.push(Release {
            tag: tag.into(),
            name: name.into(),
            description: description.into(),
            links: Vec::new(),
        });
        self
    }

    /// A container-registry repository (`name` under the project; "" for the root image).
    pub fn registry_repository(mut self, name: &str, tags: &[&str]) -> Self {
        let id = self.state.id();
        self.state.repositories.push(Repository {
            id,
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        });
        self
    }

    /// A fault; faults match in the order given.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.state.faults.push_back(fault);
        self
    }

    /// Binds 127.0.0.1:0 and serves in background threads.
    pub fn start(self) -> std::io::Result<GitLabStandIn> {
        let state = Arc::new(Mutex::new(self.state));
        let handler_state = state.clone();
        let server = Server::start(
            "gitlab-stand-in",
            Arc::new(move |request| routes::handle(&handler_state, request)),
        )?;
        let url = format!("http://{}", server.addr());
        lock(&state).base = url.clone();
        Ok(GitLabStandIn { server, state, url })
    }
}

/// A running stand-in. Stops when dropped (or on [`GitLabStandIn::stop`]).
pub struct GitLabStandIn {
    server: Server,
    state: Arc<Mutex<State>>,
    url: String,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl GitLabStandIn {
    /// The instance URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The project path.
    pub fn project_path(&self) -> String {
        lock(&self.state).project_path.clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).log.clone()
    }

    /// Requests other than GET, in order.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_log(&self) {
        lock(&self.state).log.clear();
    }

    /// Adds a pipeline while running (a push after the stand-in started).
    pub fn add_pipeline(&self, spec: PipelineSpec) -> u64 {
        lock(&self.state).add_pipeline(spec)
    }

    /// Starts pipelines for pushed refs from now on, as GitLab does (see [`OnPush`]).
    pub fn pipelines_on_push(&self, on_push: OnPush) {
        lock(&self.state).on_push = Some(on_push);
    }

    /// Serves `tarball` as every repository archive from now on (GitLab's own is
    /// `git archive` of the pushed repository), as a tampered or broken mirror would.
    pub fn override_archive(&self, tarball: Vec<u8>) {
        lock(&self.state).archive_override = Some(tarball);
    }

    /// Adds a fault while running.
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.state).faults.push_back(fault);
    }

    /// How many more requests the armed faults will hit: 0 once every fault fired.
    pub fn pending_faults(&self) -> u32 {
        lock(&self.state).faults.iter().map(|f| f.times).sum()
    }

    /// The releases now: `(tag, name, description)`.
    pub fn releases(&self) -> Vec<(String, String, String)> {
        lock(&self.state)
            .releases
            .iter()
            .map(|r| (r.tag.clone(), r.name.clone(), r.description.clone()))
            .collect()
    }

    /// The newest upload of `file` in generic package `package` at `version`.
    pub fn package_file(&self, package: &str, version: &str, file: &str) -> Option<Vec<u8>> {
        lock(&self.state)
            .package_file(package, version, file)
            .cloned()
    }

    /// Replaces what the generic package registry serves as `file` of `package` at
    /// `version` (as a new upload would, with no request logged): to seed it, or to
    /// tamper with it.
    pub fn set_package_file(&self, package: &str, version: &str, file: &str, bytes: &[u8]) {
        lock(&self.state).packages.push(PackageFile {
            package: package.into(),
            version: version.into(),
            file: file.into(),
            bytes: bytes.to_vec(),
        });
    }

    /// The asset links of the release of `tag` now, oldest first: `(name, url)`.
    pub fn release_links(&self, tag: &str) -> Vec<(String, String)> {
        lock(&self.state)
            .releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| {
                r.links
                    .iter()
                    .map(|l| (l.name.clone(), l.url.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A milestone's state (`active`, `closed`).
    pub fn milestone_state(&self, title: &str) -> Option<String> {
        lock(&self.state)
            .milestones
            .iter()
            .find(|m| m.title == title)
            .map(|m| m.state.clone())
    }

    /// The tags of a registry repository now.
    pub fn registry_tags(&self, name: &str) -> Vec<String> {
        lock(&self.state)
            .repositories
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.tags.clone())
            .unwrap_or_default()
    }

    /// Every pipeline of the stand-in's own project in the order it was created: id,
    /// ref, whether a tag's, status.
    pub fn pipelines(&self) -> Vec<(u64, String, bool, String)> {
        let st = lock(&self.state);
        st.pipelines
            .iter()
            .filter(|p| p.project == st.project_path)
            .map(|p| {
                (
                    p.id,
                    p.spec.ref_name.clone(),
                    p.spec.tag,
                    p.status().to_owned(),
                )
            })
            .collect()
    }

    /// When pipeline `id` was created and first answered as succeeded, as the count of
    /// requests the stand-in had answered then (which clearing the log does not reset).
    pub fn pipeline_times(&self, id: u64) -> Option<(u64, Option<u64>)> {
        lock(&self.state)
            .pipelines
            .iter()
            .find(|p| p.id == id)
            .map(|p| (p.created_at, p.success_seen.get()))
    }

    /// The pipelines of another project (downstream pipelines): id, ref, status.
    pub fn pipelines_of(&self, project: &str) -> Vec<(u64, String, String)> {
        lock(&self.state)
            .pipelines
            .iter()
            .filter(|p| p.project == project)
            .map(|p| (p.id, p.spec.ref_name.clone(), p.status().to_owned()))
            .collect()
    }

    /// A pipeline's status now, by id.
    pub fn pipeline_status(&self, id: u64) -> Option<String> {
        lock(&self.state)
            .pipelines
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.status().to_owned())
    }

    /// Stops serving; idempotent.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

pub(crate) fn json_body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
