//! The API v4 endpoints, answered from [`State`] as GitLab documents them.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use super::{
    Access, FaultKind, Link, PackageFile, Pipeline, Recorded, Release, State, json_body, lock,
};
use crate::http::{HttpRequest, Reply};

const STAMP: &str = "2024-05-06T10:00:00.000Z";

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn json_answer(status: u16, v: Value) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json_body(&v),
    }
}

fn message(status: u16, text: &str) -> Answer {
    json_answer(status, json!({ "message": text }))
}

fn not_found(what: &str) -> Answer {
    message(404, &format!("404 {what} Not Found"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query or form pairs.
fn pairs(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Fields of a JSON or form body.
fn fields(request: &HttpRequest) -> Vec<(String, String)> {
    let ct = request.header("content-type").unwrap_or("");
    if ct.starts_with("application/json") {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&request.body) {
            return map
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect();
        }
        return Vec::new();
    }
    pairs(&String::from_utf8_lossy(&request.body))
}

pub(super) fn handle(state: &Mutex<State>, request: HttpRequest) -> Reply {
    let (path, query) = match request.target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (request.target.clone(), String::new()),
    };
    let mut st = lock(state);
    st.requests_answered += 1;
    let mut record = Recorded {
        method: request.method.clone(),
        path: path.clone(),
        query: query.clone(),
        status: 0,
        auth: String::new(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
    };

    // Faults come first: a proxy in front of GitLab answers before GitLab checks anything.
    let mut delay = Duration::ZERO;
    let mut short = false;
    let mut lost = false;
    let hit = st.faults.iter().position(|f| {
        f.times > 0
            && path.contains(&f.path_contains)
            && f.method.as_deref().is_none_or(|m| m == request.method)
    });
    if let Some(i) = hit {
        let kind = st.faults[i].kind.clone();
        st.faults[i].times -= 1;
        if st.faults[i].times == 0 {
            st.faults.remove(i);
        }
        match kind {
            FaultKind::Drop => {
                record.auth = "fault: dropped".into();
                st.log.push(record);
                return Reply::Drop;
            }
            FaultKind::TooManyRequests { retry_after } => {
                record.status = 429;
                record.auth = "fault: 429".into();
                st.log.push(record);
                let mut a = message(429, "Retry later");
                a.headers
                    .push(("retry-after".into(), retry_after.to_string()));
                return reply(a, delay);
            }
            FaultKind::Status(status) => {
                record.status = status;
                record.auth = format!("fault: {status}");
                st.log.push(record);
                return reply(
                    Answer {
                        status,
                        headers: vec![("content-type".into(), "text/html".into())],
                        body: format!(
                            "<html><body><h1>{status}</h1>The server is busy.</body></html>"
                        )
                        .into_bytes(),
                    },
                    delay,
                );
            }
            FaultKind::Slow(d) => delay = d,
            FaultKind::ShortPage => short = true,
            FaultKind::Lost => lost = true,
        }
    }

    let presented = request
        .header("private-token")
        .map(str::to_owned)
        .or_else(|| {
            request
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        });
    let token = presented
        .as_deref()
        .and_then(|p| st.tokens.iter().find(|t| t.value == p))
        .map(|t| (t.label.clone(), t.access));
    st.current_access = None;
    let answer = match token {
        // GitLab: anyone reads a public project; a private one does not exist for them.
        None if presented.is_none() && request.method == "GET" => {
            record.auth = "no token".into();
            if st.public {
                route(&mut st, &request, &path, &query)
            } else {
                message(404, "404 Project Not Found")
            }
        }
        None => {
            record.auth = if presented.is_some() {
                "unknown token"
            } else {
                "no token"
            }
            .into();
            message(401, "401 Unauthorized")
        }
        Some((label, access)) => {
            record.auth = label;
            st.current_access = Some(access);
            if path == "/api/v4/personal_access_tokens/self" {
                let scopes = match access {
                    Access::ReadOnly => vec!["read_api"],
                    Access::ReadWrite | Access::Reporter => vec!["api"],
                };
                json_answer(
                    200,
                    json!({ "id": 1, "name": "release", "active": true, "revoked": false, "scopes": scopes, "expires_at": null }),
                )
            } else if access != Access::ReadWrite && request.method != "GET" {
                json_answer(
                    403,
                    json!({ "message": "403 Forbidden", "error": "insufficient_scope" }),
                )
            } else {
                route(&mut st, &request, &path, &query)
            }
        }
    };
    let mut answer = answer;
    if short {
        if let Ok(Value::Array(mut items)) = serde_json::from_slice::<Value>(&answer.body) {
            items.pop();
            answer.body = json_body(&Value::Array(items));
        }
        record.auth = format!("{} (fault: short page)", record.auth);
    }
    record.status = answer.status;
    if lost {
        record.auth = format!("{} (fault: answer lost)", record.auth);
        st.log.push(record);
        return Reply::Drop;
    }
    st.log.push(record);
    reply(answer, delay)
}

fn reply(a: Answer, delay: Duration) -> Reply {
    Reply::Answer {
        status: a.status,
        headers: a.headers,
        body: a.body,
        delay,
    }
}

fn route(st: &mut State, request: &HttpRequest, path: &str, query: &str) -> Answer {
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let q = pairs(query);
    let m = request.method.as_str();
    if m == "GET" {
        if let Some(answer) = direct_asset(st, &segs) {
            return answer;
        }
    }
    let ["api", "v4", "projects", project, rest @ ..] = segs.as_slice() else {
        return not_found("");
    };
    let own = *project == st.project_path || *project == st.project_id.to_string();
    let Some(proj) = (if own {
        Some(st.project_path.clone())
    } else {
        st.other_projects
            .iter()
            .find(|(p, id)| p == project || id.to_string() == *project)
            .map(|(p, _)| p.clone())
    }) else {
        return not_found("Project");
    };
    let page = |st: &State, items: Vec<Value>| paginate(st, path, &q, items);
    // Other projects hold only the pipelines trigger jobs started.
    if !own && !matches!(rest, ["pipelines", ..]) {
        return not_found("");
    }
    match (m, rest) {
        ("GET", []) => json_answer(200, project_json(st)),
        ("GET", ["pipelines"]) => {
            let sha = param(&q, "sha");
            let r = param(&q, "ref");
            let scope = param(&q, "scope");
            if let Some(r) = r {
                let tag = match scope {
                    Some("tags") => Some(true),
                    Some("branches") => Some(false),
                    _ => None,
                };
                st.start_pushed_pipeline(r, sha, tag);
            }
            let mut ids: Vec<usize> = Vec::new();
            for (i, p) in st.pipelines.iter_mut().enumerate() {
                let matches = p.project == proj
                    && sha.is_none_or(|s| s == p.spec.sha)
                    && r.is_none_or(|r| r == p.spec.ref_name)
                    && match scope {
                        Some("tags") => p.spec.tag,
                        Some("branches") => !p.spec.tag,
                        _ => true,
                    };
                if !matches {
                    continue;
                }
                if p.hidden_for > 0 {
                    p.hidden_for -= 1;
                    continue;
                }
                ids.push(i);
            }
            let desc = param(&q, "sort") != Some("asc");
            ids.sort_by_key(|i| st.pipelines[*i].id);
            if desc {
                ids.reverse();
            }
            let items: Vec<Value> = ids
                .iter()
                .map(|i| pipeline_json(st, &st.pipelines[*i]))
                .collect();
            let answer = page(st, items);
            // Only the pipelines on the answered page were "seen".
            let shown = page_range(&q, ids.len());
            for i in &ids[shown] {
                advance(&mut st.pipelines[*i]);
            }
            answer
        }
        ("GET", ["pipelines", id, "bridges"]) => match find_pipeline(st, &proj, id) {
            Some(i) => {
                let p = &st.pipelines[i];
                let mut items: Vec<Value> = p
                    .jobs
                    .iter()
                    .filter(|j| j.spec.trigger.is_some())
                    .map(|j| bridge_json(st, p, j))
                    .collect();
                items.reverse();
                page(st, items)
            }
            None => not_found(""),
        },
        ("GET", ["pipelines", id]) => match find_pipeline(st, &proj, id) {
            Some(i) => {
                let v = pipeline_json(st, &st.pipelines[i]);
                advance(&mut st.pipelines[i]);
                json_answer(200, v)
            }
            None => not_found(""),
        },
        ("GET", ["pipelines", id, "jobs"]) => match find_pipeline(st, &proj, id) {
            Some(i) => {
                let p = &st.pipelines[i];
                // GitLab lists trigger jobs under /bridges only.
                let mut items: Vec<Value> = p
                    .jobs
                    .iter()
                    .filter(|j| j.spec.trigger.is_none())
                    .map(|j| job_json(st, p, j))
                    .collect();
                items.reverse();
                let answer = page(st, items);
                advance(&mut st.pipelines[i]);
                answer
            }
            None => not_found(""),
        },
        ("GET", ["jobs", id, "trace"]) => match find_job(st, id) {
            Some((_, job)) => Answer {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: job.spec.trace.clone().into_bytes(),
            },
            None => not_found(""),
        },
        ("GET", ["repository", "archive.tar.gz"]) => archive(st, &proj, param(&q, "sha")),
        ("GET", ["jobs", id, "artifacts"]) => match find_job(st, id) {
            Some((_, job)) => match &job.spec.artifacts {
                Some(zip) => Answer {
                    status: 200,
                    headers: vec![
                        ("content-type".into(), "application/zip".into()),
                        (
                            "content-disposition".into(),
                            "attachment; filename=\"artifacts.zip\"".into(),
                        ),
                    ],
                    body: zip.clone(),
                },
                None => not_found(""),
            },
            None => not_found(""),
        },
        ("GET", ["milestones"]) => {
            let title = param(&q, "title");
            let state = param(&q, "state");
            let items = st
                .milestones
                .iter()
                .filter(|m| title.is_none_or(|t| t == m.title))
                .filter(|m| state.is_none_or(|s| s == m.state))
                .map(|m| milestone_json(st, m))
                .collect();
            page(st, items)
        }
        ("PUT", ["milestones", id]) => {
            let f = fields(request);
            let Some(i) = st.milestones.iter().position(|m| m.id.to_string() == *id) else {
                return not_found("");
            };
            match param(&f, "state_event") {
                Some("close") => st.milestones[i].state = "closed".into(),
                Some("activate") => st.milestones[i].state = "active".into(),
                _ => {}
            }
            if let Some(t) = param(&f, "title") {
                st.milestones[i].title = t.to_owned();
            }
            json_answer(200, milestone_json(st, &st.milestones[i]))
        }
        ("GET", [kind @ ("issues" | "merge_requests")]) => {
            let list = if *kind == "issues" {
                &st.issues
            } else {
                &st.mrs
            };
            let milestone = param(&q, "milestone");
            let state = param(&q, "state");
            let items = list
                .iter()
                .filter(|i| milestone.is_none_or(|m| m == i.milestone))
                .filter(|i| state.is_none_or(|s| s == "all" || s == i.state))
                .rev()
                .map(|i| item_json(st, kind, i))
                .collect();
            page(st, items)
        }
        ("GET", ["releases"]) => {
            let items = st
                .releases
                .iter()
                .rev()
                .map(|r| release_json(st, r))
                .collect();
            page(st, items)
        }
        ("GET", ["releases", tag]) => match st.releases.iter().find(|r| r.tag == *tag) {
            Some(r) => json_answer(200, release_json(st, r)),
            None => not_found(""),
        },
        ("POST", ["releases"]) => {
            let f = fields(request);
            let Some(tag) = param(&f, "tag_name").map(str::to_owned) else {
                return json_answer(400, json!({ "error": "tag_name is missing" }));
            };
            if st.releases.iter().any(|r| r.tag == tag) {
                return message(409, "Release already exists");
            }
            let r = Release {
                name: param(&f, "name").unwrap_or(&tag).to_owned(),
                description: param(&f, "description").unwrap_or("").to_owned(),
                tag,
                links: Vec::new(),
            };
            let v = release_json(st, &r);
            st.releases.push(r);
            json_answer(201, v)
        }
        ("PUT", ["releases", tag]) => {
            let f = fields(request);
            let Some(i) = st.releases.iter().position(|r| r.tag == *tag) else {
                return not_found("");
            };
            if let Some(n) = param(&f, "name") {
                st.releases[i].name = n.to_owned();
            }
            if let Some(d) = param(&f, "description") {
                st.releases[i].description = d.to_owned();
            }
            json_answer(200, release_json(st, &st.releases[i]))
        }
        ("PUT", ["packages", "generic", package, version, file @ ..]) if !file.is_empty() => {
            let file = file.join("/");
            if let Some(invalid) = invalid_package(package, version, &file) {
                return invalid;
            }
            st.packages.push(PackageFile {
                package: (*package).to_owned(),
                version: (*version).to_owned(),
                file,
                bytes: request.body.clone(),
            });
            message(201, "201 Created")
        }
        ("GET", ["packages", "generic", package, version, file @ ..]) if !file.is_empty() => {
            match st.package_file(package, version, &file.join("/")) {
                Some(bytes) => Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "application/octet-stream".into())],
                    body: bytes.clone(),
                },
                None => not_found("Package"),
            }
        }
        ("GET", ["releases", tag, "assets", "links"]) => {
            match st.releases.iter().find(|r| r.tag == *tag) {
                Some(r) => {
                    // GitLab lists a release's links newest first.
                    let items = r.links.iter().rev().map(|l| link_json(st, r, l)).collect();
                    page(st, items)
                }
                None => not_found(""),
            }
        }
        ("GET", ["releases", tag, "assets", "links", id]) => match link_at(st, tag, id) {
            Some((r, i)) => json_answer(
                200,
                link_json(st, &st.releases[r], &st.releases[r].links[i]),
            ),
            None => not_found(""),
        },
        ("POST", ["releases", tag, "assets", "links"]) => {
            let f = fields(request);
            let Some(r) = st.releases.iter().position(|r| r.tag == *tag) else {
                return not_found("");
            };
            let missing: Vec<String> = ["name", "url"]
                .iter()
                .filter(|k| param(&f, k).is_none())
                .map(|k| format!("{k} is missing"))
                .collect();
            if !missing.is_empty() {
                return json_answer(400, json!({ "error": missing.join(", ") }));
            }
            let link = Link {
                id: 0,
                name: param(&f, "name").unwrap_or_default().to_owned(),
                url: param(&f, "url").unwrap_or_default().to_owned(),
                direct_asset_path: param(&f, "direct_asset_path")
                    .or_else(|| param(&f, "filepath"))
                    .map(str::to_owned),
                link_type: param(&f, "link_type").unwrap_or("other").to_owned(),
            };
            if let Some(invalid) = invalid_link(&st.releases[r], None, &link) {
                return invalid;
            }
            let link = Link {
                id: st.id(),
                ..link
            };
            let v = link_json(st, &st.releases[r], &link);
            st.releases[r].links.push(link);
            json_answer(201, v)
        }
        ("PUT", ["releases", tag, "assets", "links", id]) => {
            let f = fields(request);
            let Some((r, i)) = link_at(st, tag, id) else {
                return not_found("");
            };
            let old = &st.releases[r].links[i];
            let link = Link {
                id: old.id,
                name: param(&f, "name").unwrap_or(&old.name).to_owned(),
                url: param(&f, "url").unwrap_or(&old.url).to_owned(),
                direct_asset_path: param(&f, "direct_asset_path")
                    .or_else(|| param(&f, "filepath"))
                    .map(str::to_owned)
                    .or_else(|| old.direct_asset_path.clone()),
                link_type: param(&f, "link_type").unwrap_or(&old.link_type).to_owned(),
            };
            if let Some(invalid) = invalid_link(&st.releases[r], Some(link.id), &link) {
                return invalid;
            }
            let v = link_json(st, &st.releases[r], &link);
            st.releases[r].links[i] = link;
            json_answer(200, v)
        }
        ("DELETE", ["releases", tag, "assets", "links", id]) => {
            let Some((r, i)) = link_at(st, tag, id) else {
                return not_found("");
            };
            let v = link_json(st, &st.releases[r], &st.releases[r].links[i]);
            st.releases[r].links.remove(i);
            json_answer(200, v)
        }
        ("GET", ["registry", "repositories"]) => {
            let items = st
                .repositories
                .iter()
                .map(|r| repository_json(st, r))
                .collect();
            page(st, items)
        }
        ("GET", ["registry", "repositories", id, "tags"]) => {
            match st.repositories.iter().find(|r| r.id.to_string() == *id) {
                Some(r) => {
                    let base = repository_location(st, r);
                    let path = repository_path(st, r);
                    let items = r
                        .tags
                        .iter()
                        .map(|t| {
                            json!({ "name": t, "path": format!("{path}:{t}"), "location": format!("{base}:{t}") })
                        })
                        .collect();
                    page(st, items)
                }
                None => not_found(""),
            }
        }
        ("DELETE", ["registry", "repositories", id, "tags", tag]) => {
            match st.repositories.iter_mut().find(|r| r.id.to_string() == *id) {
                Some(r) => match r.tags.iter().position(|t| t == tag) {
                    Some(i) => {
                        r.tags.remove(i);
                        Answer {
                            status: 200,
                            headers: Vec::new(),
                            body: Vec::new(),
                        }
                    }
                    None => not_found("Tag"),
                },
                None => not_found(""),
            }
        }
        _ => not_found(""),
    }
}

/// One step along the pipeline's timeline; a pipeline that publishes does so when it
/// first reaches `success`, and fails instead if publishing fails.
fn advance(p: &mut Pipeline) {
    if p.step + 1 < p.spec.timeline.len() {
        p.step += 1;
    }
    if p.status() == "success" {
        if let Some(publish) = p.publish.take() {
            if let Err(why) = publish(&p.spec.ref_name) {
                p.failed = Some(why);
            }
        }
    }
}

fn find_pipeline(st: &State, project: &str, id: &str) -> Option<usize> {
    st.pipelines
        .iter()
        .position(|p| p.project == project && p.id.to_string() == id)
}

fn find_job<'a>(st: &'a State, id: &str) -> Option<(&'a Pipeline, &'a super::Job)> {
    st.pipelines.iter().find_map(|p| {
        p.jobs
            .iter()
            .find(|j| j.id.to_string() == id)
            .map(|j| (p, j))
    })
}

fn web(st: &State) -> String {
    format!("{}/{}", st.base, st.project_path)
}

/// A pipeline's page in `project`.
fn pipeline_url(st: &State, project: &str, id: u64) -> String {
    format!("{}/{project}/-/pipelines/{id}", st.base)
}

fn project_id(st: &State, path: &str) -> u64 {
    if path == st.project_path {
        return st.project_id;
    }
    st.other_projects
        .iter()
        .find(|(p, _)| p == path)
        .map_or(0, |(_, id)| *id)
}

fn project_json(st: &State) -> Value {
    let name = st.project_path.rsplit('/').next().unwrap_or("");
    json!({
        "id": st.project_id,
        "name": name,
        "path": name,
        "path_with_namespace": st.project_path,
        "default_branch": "master",
        "web_url": web(st),
        "container_registry_enabled": true,
        "permissions": {
            "project_access": st.current_access.map(|a| json!({
                "access_level": if a == Access::Reporter { 20 } else { 40 },
                "notification_level": 3,
            })),
            "group_access": null,
        },
    })
}

fn pipeline_json(st: &State, p: &Pipeline) -> Value {
    if p.status() == "success" && p.success_seen.get().is_none() {
        p.success_seen.set(Some(st.requests_answered));
    }
    json!({
        "id": p.id,
        "iid": p.id - 1000,
        "project_id": project_id(st, &p.project),
        "sha": p.spec.sha,
        "ref": p.spec.ref_name,
        "tag": p.spec.tag,
        "status": p.status(),
        "source": "push",
        "created_at": STAMP,
        "updated_at": STAMP,
        "web_url": pipeline_url(st, &p.project, p.id),
    })
}

/// A trigger job as `GET /projects/:id/pipelines/:pipeline_id/bridges` lists it.
fn bridge_json(st: &State, p: &Pipeline, j: &super::Job) -> Value {
    let mut v = job_json(st, p, j);
    let downstream = j
        .downstream
        .and_then(|id| st.pipelines.iter().find(|d| d.id == id))
        .map(|d| {
            json!({
                "id": d.id,
                "sha": d.spec.sha,
                "ref": d.spec.ref_name,
                "status": d.status(),
                "created_at": STAMP,
                "updated_at": STAMP,
                "web_url": pipeline_url(st, &d.project, d.id),
            })
        });
    v["downstream_pipeline"] = downstream.unwrap_or(Value::Null);
    v
}

fn job_json(st: &State, p: &Pipeline, j: &super::Job) -> Value {
    let pstatus = p.status();
    let status = match pstatus {
        "created" | "pending" | "running" | "waiting_for_resource" | "preparing" => pstatus,
        _ => j.spec.status.as_str(),
    };
    let artifacts = j
        .spec
        .artifacts
        .as_ref()
        .map(|z| json!({ "filename": "artifacts.zip", "size": z.len() }));
    json!({
        "id": j.id,
        "name": j.spec.name,
        "stage": j.spec.stage,
        "status": status,
        "ref": p.spec.ref_name,
        "tag": p.spec.tag,
        "allow_failure": j.spec.allow_failure,
        "created_at": STAMP,
        "started_at": STAMP,
        "finished_at": null,
        "duration": null,
        "web_url": format!("{}/-/jobs/{}", web(st), j.id),
        "artifacts_file": artifacts,
        "pipeline": {
            "id": p.id,
            "project_id": st.project_id,
            "ref": p.spec.ref_name,
            "sha": p.spec.sha,
            "status": pstatus,
        },
    })
}

fn milestone_json(st: &State, m: &super::Milestone) -> Value {
    json!({
        "id": m.id,
        "iid": m.iid,
        "project_id": st.project_id,
        "title": m.title,
        "description": "",
        "state": m.state,
        "created_at": STAMP,
        "updated_at": STAMP,
        "due_date": null,
        "start_date": null,
        "expired": false,
        "web_url": format!("{}/-/milestones/{}", web(st), m.iid),
    })
}

fn item_json(st: &State, kind: &str, i: &super::Item) -> Value {
    let m = st.milestones.iter().find(|m| m.title == i.milestone);
    json!({
        "id": i.id,
        "iid": i.iid,
        "project_id": st.project_id,
        "title": i.title,
        "state": i.state,
        "milestone": m.map(|m| milestone_json(st, m)),
        "web_url": format!("{}/-/{kind}/{}", web(st), i.iid),
    })
}

/// The release of `tag` and its link `id`, as indices into `st.releases` and its links.
fn link_at(st: &State, tag: &str, id: &str) -> Option<(usize, usize)> {
    let r = st.releases.iter().position(|r| r.tag == tag)?;
    let i = st.releases[r]
        .links
        .iter()
        .position(|l| l.id.to_string() == id)?;
    Some((r, i))
}

fn release_json(st: &State, r: &Release) -> Value {
    json!({
        "tag_name": r.tag,
        "name": r.name,
        "description": r.description,
        "created_at": STAMP,
        "released_at": STAMP,
        "upcoming_release": false,
        "commit": { "id": "0".repeat(40) },
        "milestones": [],
        "assets": {
            "count": r.links.len(),
            "sources": [],
            "links": r.links.iter().rev().map(|l| link_json(st, r, l)).collect::<Vec<_>>(),
        },
        "_links": { "self": format!("{}/-/releases/{}", web(st), r.tag) },
    })
}

/// A release link as the release links API returns it: `direct_asset_url` is the
/// permanent URL under the release page when the link has a `direct_asset_path`, and
/// the link's own URL when not.
fn link_json(st: &State, r: &Release, l: &Link) -> Value {
    let direct = match &l.direct_asset_path {
        Some(path) => format!("{}/-/releases/{}/downloads{path}", web(st), r.tag),
        None => l.url.clone(),
    };
    json!({
        "id": l.id,
        "name": l.name,
        "url": l.url,
        "direct_asset_url": direct,
        "link_type": l.link_type,
    })
}

/// GitLab's validation of a release link (`except` is the link being updated): names
/// and URLs unique in the release, an http(s) or ftp URL, a path from `/`.
fn invalid_link(r: &Release, except: Option<u64>, link: &Link) -> Option<Answer> {
    let others = || r.links.iter().filter(|l| Some(l.id) != except);
    let mut errors = serde_json::Map::new();
    if others().any(|l| l.name == link.name) {
        errors.insert("name".into(), json!(["has already been taken"]));
    }
    if others().any(|l| l.url == link.url) {
        errors.insert("url".into(), json!(["has already been taken"]));
    } else if !["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| link.url.starts_with(scheme))
    {
        errors.insert(
            "url".into(),
            json!(["is blocked: Only allowed schemes are http, https, ftp"]),
        );
    }
    if link
        .direct_asset_path
        .as_deref()
        .is_some_and(|p| !p.starts_with('/') || p.ends_with('/') || p.contains("//"))
    {
        errors.insert("filepath".into(), json!(["is in an invalid format"]));
    }
    if !["other", "runbook", "image", "package"].contains(&link.link_type.as_str()) {
        return Some(json_answer(
            400,
            json!({ "error": "link_type does not have a valid value" }),
        ));
    }
    (!errors.is_empty()).then(|| json_answer(400, json!({ "message": errors })))
}

/// The generic packages API's checks of the names in its path.
fn invalid_package(package: &str, version: &str, file: &str) -> Option<Answer> {
    let plain = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
    };
    let invalid = if !plain(package, "+") {
        "package_name"
    } else if !plain(version, "+") || version.starts_with('-') {
        "package_version"
    } else if !plain(file, "+~@/") || file.starts_with('/') || file.contains("..") {
        "file_name"
    } else {
        return None;
    };
    Some(json_answer(
        400,
        json!({ "error": format!("{invalid} is invalid") }),
    ))
}

/// `GET /NAMESPACE/PROJECT/-/releases/TAG/downloads/PATH`, a link's permanent URL (not
/// under the API): a redirect to the link's URL, as GitLab answers it.
fn direct_asset(st: &State, segs: &[&str]) -> Option<Answer> {
    let dash = segs.iter().position(|s| *s == "-")?;
    if segs[..dash].join("/") != st.project_path {
        return None;
    }
    let ["releases", tag, "downloads", path @ ..] = &segs[dash + 1..] else {
        return None;
    };
    let path = format!("/{}", path.join("/"));
    let link = st.releases.iter().find(|r| r.tag == *tag).and_then(|r| {
        r.links
            .iter()
            .find(|l| l.direct_asset_path.as_deref() == Some(path.as_str()))
    });
    Some(match link {
        Some(l) => Answer {
            status: 302,
            headers: vec![
                ("location".into(), l.url.clone()),
                ("content-type".into(), "text/html; charset=utf-8".into()),
            ],
            body: format!(
                "<html><body>You are being <a href=\"{}\">redirected</a>.</body></html>",
                l.url
            )
            .into_bytes(),
        },
        None => not_found(""),
    })
}

fn repository_path(st: &State, r: &super::Repository) -> String {
    if r.name.is_empty() {
        st.project_path.clone()
    } else {
        format!("{}/{}", st.project_path, r.name)
    }
}

fn repository_location(st: &State, r: &super::Repository) -> String {
    let host = st.base.trim_start_matches("http://");
    format!("{host}/{}", repository_path(st, r))
}

fn repository_json(st: &State, r: &super::Repository) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "path": repository_path(st, r),
        "project_id": st.project_id,
        "location": repository_location(st, r),
        "created_at": STAMP,
        "cleanup_policy_started_at": null,
    })
}

fn per_page(q: &[(String, String)]) -> usize {
    param(q, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20usize)
        .clamp(1, 100)
}

fn page_no(q: &[(String, String)]) -> usize {
    param(q, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1)
}

fn page_range(q: &[(String, String)], total: usize) -> std::ops::Range<usize> {
    let per = per_page(q);
    let start = ((page_no(q) - 1) * per).min(total);
    start..(start + per).min(total)
}

/// Offset pagination as documented: x-page, x-per-page, x-next-page, x-prev-page,
/// x-total, x-total-pages and a Link header with next/prev/first/last.
fn paginate(st: &State, path: &str, q: &[(String, String)], items: Vec<Value>) -> Answer {
    let total = items.len();
    let per = per_page(q);
    let page = page_no(q);
    let pages = total.div_ceil(per).max(1);
    let range = page_range(q, total);
    let body: Vec<Value> = items[range].to_vec();
    let link_to = |n: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k != "page" && k != "per_page") {
            s.append_pair(k, v);
        }
        s.append_pair("page", &n.to_string())
            .append_pair("per_page", &per.to_string());
        format!("{}{path}?{}", st.base, s.finish())
    };
    let mut links = Vec::new();
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    links.push(format!("<{}>; rel=\"first\"", link_to(1)));
    links.push(format!("<{}>; rel=\"last\"", link_to(pages)));
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    let mut a = json_answer(200, Value::Array(body));
    a.headers.extend([
        ("x-page".into(), page.to_string()),
        ("x-per-page".into(), per.to_string()),
        ("x-next-page".into(), next),
        ("x-prev-page".into(), prev),
        ("x-total".into(), total.to_string()),
        ("x-total-pages".into(), pages.to_string()),
        ("link".into(), links.join(", ")),
    ]);
    a
}

/// `GET /projects/:id/repository/archive.tar.gz?sha=REF`: `git archive` of `REF` in the
/// first repository the release pushes to that has it, gzipped, every path under
/// `PROJECT-REF-SHA/` as GitLab names it; 404 for a ref none has.
fn archive(st: &State, project: &str, reference: Option<&str>) -> Answer {
    let reference = reference.unwrap_or("HEAD");
    let tarball = |body: Vec<u8>| Answer {
        status: 200,
        headers: vec![("content-type".into(), "application/gzip".into())],
        body,
    };
    if let Some(body) = &st.archive_override {
        return tarball(body.clone());
    }
    let repos = st
        .on_push
        .as_ref()
        .map(|o| o.repos.clone())
        .unwrap_or_default();
    let name = project.rsplit('/').next().unwrap_or(project);
    for repo in repos {
        let sha = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{reference}^{{commit}}"),
            ])
            .output();
        let Ok(sha) = sha else { continue };
        if !sha.status.success() {
            continue;
        }
        let sha = String::from_utf8_lossy(&sha.stdout).trim().to_owned();
        let safe = reference.replace('/', "-");
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args([
                "archive",
                "--format=tar.gz",
                &format!("--prefix={name}-{safe}-{sha}/"),
                reference,
            ])
            .output();
        if let Some(out) = out.ok().filter(|o| o.status.success()) {
            return tarball(out.stdout);
        }
    }
    not_found("File")
}
