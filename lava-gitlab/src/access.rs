//! What the token may do, read before anything is written: its scopes and its role on
//! the project, so that a release learns that it cannot write its notes or close its
//! milestone before its tag is public, not after.

use serde::Deserialize;

use crate::client::{Call, GitLab};
use crate::endpoints::{ProjectSelf, TokenSelf};
use crate::{Error, Result};

/// GitLab's role levels (Guest 10, Reporter 20, Developer 30, Maintainer 40, Owner 50).
pub const DEVELOPER: u64 = 30;

/// The token's scopes and the user's role on the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The token's scopes (`api`, `read_api`, ...); `None` when GitLab does not say
    /// (a token that is not a personal, project or group access token).
    pub scopes: Option<Vec<String>>,
    /// The higher of the project's and its group's access level; `None` when GitLab
    /// lists no membership (an administrator, or a public project read anonymously).
    pub access_level: Option<u64>,
}

impl Access {
    /// Why this access cannot create releases and close milestones, if it cannot: one
    /// clause.
    pub fn cannot_write(&self) -> Option<String> {
        if let Some(scopes) = &self.scopes {
            if !scopes.iter().any(|s| s == "api") {
                return Some(format!(
                    "the token's scopes are {}, and writing needs `api`",
                    if scopes.is_empty() {
                        "none".to_owned()
                    } else {
                        scopes.join(", ")
                    }
                ));
            }
        }
        match self.access_level {
            Some(level) if level < DEVELOPER => Some(format!(
                "the token's user has access level {level} on the project, and creating releases needs Developer ({DEVELOPER}) or more"
            )),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct TokenInfo {
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct Level {
    access_level: u64,
}

#[derive(Deserialize, Default)]
struct Permissions {
    project_access: Option<Level>,
    group_access: Option<Level>,
}

#[derive(Deserialize)]
struct ProjectInfo {
    #[serde(default)]
    permissions: Option<Permissions>,
}

impl GitLab {
    /// The token's scopes and role on the project (two requests).
    pub fn access(&self) -> Result<Access> {
        let call = Call::read(
            "read the token's scopes",
            "the token's own record",
            "that the token is a personal, project or group access token",
        );
        let scopes = match self.json::<_, TokenInfo>(&call, &TokenSelf) {
            Ok(info) => Some(info.scopes),
            // Not an access token GitLab describes (e.g. OAuth): the scopes are unknown.
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let call = Call::read(
            "read the project and the token's role on it",
            format!("project `{}`", self.project()),
            "the project path or id in the config",
        );
        let project: ProjectInfo = self.json(
            &call,
            &ProjectSelf {
                project: self.project().name_or_id(),
            },
        )?;
        let permissions = project.permissions.unwrap_or_default();
        let access_level = [permissions.project_access, permissions.group_access]
            .into_iter()
            .flatten()
            .map(|l| l.access_level)
            .max();
        Ok(Access {
            scopes,
            access_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_a_token_cannot_write() {
        let access = |scopes: Option<&[&str]>, level| Access {
            scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
            access_level: level,
        };
        assert_eq!(access(Some(&["api"]), Some(40)).cannot_write(), None);
        assert_eq!(access(None, None).cannot_write(), None);
        assert_eq!(
            access(Some(&["read_api", "read_repository"]), Some(40))
                .cannot_write()
                .unwrap(),
            "the token's scopes are read_api, read_repository, and writing needs `api`"
        );
        assert_eq!(
            access(Some(&["api"]), Some(20)).cannot_write().unwrap(),
            "the token's user has access level 20 on the project, and creating releases needs Developer (30) or more"
        );
    }
}
