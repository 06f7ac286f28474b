//! Endpoints the `gitlab` crate lacks (milestone list and edit, release update, issue
//! and merge-request lists by milestone title, job artifacts), written against its
//! `Endpoint` trait so they go through the same client.

use std::borrow::Cow;

use gitlab::api::common::NameOrId;
use gitlab::api::{BodyError, Endpoint, FormParams, JsonParams, QueryParams};
use http::Method;

/// `GET /projects/:id/milestones?title=…`
pub(crate) struct Milestones<'a> {
    pub project: NameOrId<'a>,
    pub title: &'a str,
}

impl Endpoint for Milestones<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/milestones", self.project).into()
    }
    fn parameters(&self) -> QueryParams<'_> {
        let mut p = QueryParams::default();
        p.push("title", self.title);
        p
    }
}

/// `PUT /projects/:id/milestones/:milestone_id` with `state_event=close`.
pub(crate) struct CloseMilestone<'a> {
    pub project: NameOrId<'a>,
    pub milestone: u64,
}

impl Endpoint for CloseMilestone<'_> {
    fn method(&self) -> Method {
        Method::PUT
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/milestones/{}", self.project, self.milestone).into()
    }
    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        let mut p = FormParams::default();
        p.push("state_event", "close");
        p.into_body()
    }
}

/// Which list [`OpenByMilestone`] reads.
#[derive(Clone, Copy)]
pub(crate) enum ItemKind {
    Issues,
    MergeRequests,
}

/// `GET /projects/:id/issues?milestone=…&state=opened` (or `merge_requests`).
pub(crate) struct OpenByMilestone<'a> {
    pub project: NameOrId<'a>,
    pub kind: ItemKind,
    pub milestone: &'a str,
}

impl Endpoint for OpenByMilestone<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        let what = match self.kind {
            ItemKind::Issues => "issues",
            ItemKind::MergeRequests => "merge_requests",
        };
        format!("projects/{}/{what}", self.project).into()
    }
    fn parameters(&self) -> QueryParams<'_> {
        let mut p = QueryParams::default();
        p.push("milestone", self.milestone).push("state", "opened");
        p
    }
}

/// `PUT /projects/:id/releases/:tag_name`
pub(crate) struct UpdateRelease<'a> {
    pub project: NameOrId<'a>,
    pub tag: &'a str,
    pub name: &'a str,
    pub description: &'a str,
}

impl Endpoint for UpdateRelease<'_> {
    fn method(&self) -> Method {
        Method::PUT
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/releases/{}",
            self.project,
            NameOrId::Name(self.tag.into())
        )
        .into()
    }
    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        JsonParams::into_body(&serde_json::json!({
            "name": self.name,
            "description": self.description,
        }))
    }
}

/// `GET /projects/:id/jobs/:job_id/artifacts`
pub(crate) struct JobArtifacts<'a> {
    pub project: NameOrId<'a>,
    pub job: u64,
}

impl Endpoint for JobArtifacts<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/jobs/{}/artifacts", self.project, self.job).into()
    }
}

/// `GET /personal_access_tokens/self`: the token's own scopes.
pub(crate) struct TokenSelf;

impl Endpoint for TokenSelf {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        "personal_access_tokens/self".into()
    }
}

/// `GET /projects/:id`: the project, with the caller's `permissions`.
pub(crate) struct ProjectSelf<'a> {
    pub project: NameOrId<'a>,
}

impl Endpoint for ProjectSelf<'_> {
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}", self.project).into()
    }
}
