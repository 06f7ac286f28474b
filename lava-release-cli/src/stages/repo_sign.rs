//! Stage `repo-sign` (when `repo.site` is set): every index each suite's `Release`
//! lists checked, then `InRelease` and `Release.gpg` written with the release key.
//! Valid signatures are left alone, so a re-run only signs what is missing.

use std::time::SystemTime;

use lava_repo_sign::SuiteStatus;

use crate::config::Config;
use crate::shared::repo::{RepoSite, suite_names};
use crate::signing;
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `repo-sign` stage.
#[derive(Debug, Clone)]
pub struct RepoSign {
    repo: RepoSite,
    key: String,
}

impl Step for RepoSign {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        RepoSite::reprepro(config, "repo-sign")?;
        Ok(Self {
            repo: RepoSite::new(config, release),
            key: config.signing.release_key.clone(),
        })
    }

    fn name(&self) -> &'static str {
        "repo-sign"
    }

    fn describe(&self) -> String {
        format!(
            "verify every index of {} and sign its Release files with the release key {}",
            self.repo.current_name(),
            self.key
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::ReleaseKey]
    }

    /// The site is reachable and writable, unless this stage is done.
    fn ready(&self, ctx: &Context<'_>) -> Vec<String> {
        if matches!(self.check(ctx), Ok(Status::Done { .. })) {
            return Vec::new();
        }
        self.repo.ready()
    }

    /// The clock is read here, not taken from the run's start: reprepro dates the
    /// Release files it writes during the run.
    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let current = self.repo.site()?.current();
        if let Status::ToDo { .. } = self.repo.check_import(&current)? {
            return Ok(Status::ToDo {
                detail: Some("repo-import comes first".into()),
            });
        }
        let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
        Ok(sign_status(&current.status(&keyring, SystemTime::now())?))
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let tree = self.repo.site()?.current();
        let signer = ctx.release_signer()?;
        let keyring = signing::release_keyring(&ctx.config.signing, ctx.env)?;
        // Every suite's indices are hashed in one pass, then signed in turn.
        let suites = tree.suites()?.len();
        let mut signed = 0;
        let statuses = tree.sign(signer, &keyring, SystemTime::now(), |_| {
            signed += 1;
            if signed < suites {
                ctx.failpoint("repo-sign:between-suites");
            }
            std::ops::ControlFlow::Continue(())
        })?;
        let notes: Vec<String> = statuses
            .iter()
            .map(|status| {
                if status.signed_now {
                    format!("{} signed", status.suite)
                } else {
                    format!("{} already valid", status.suite)
                }
            })
            .collect();
        Ok(format!(
            "{} by {:X}",
            notes.join(", "),
            signer.fingerprint()
        ))
    }
}

/// The stage's status from every suite's: wrong indices block (signing would be
/// refused), missing or invalid signatures are to do.
fn sign_status(statuses: &[SuiteStatus]) -> Status {
    if let Some(bad) = statuses.iter().find(|s| !s.problems.is_empty()) {
        let problems: Vec<String> = bad.problems.iter().map(ToString::to_string).collect();
        return Status::Blocked {
            reason: format!(
                "suite {} does not match its Release file: {}",
                bad.suite,
                problems.join("; ")
            ),
        };
    }
    let todo: Vec<String> = statuses
        .iter()
        .filter(|s| !s.is_done())
        .map(|s| format!("{} ({})", s.suite, s.signatures))
        .collect();
    if !todo.is_empty() {
        return Status::ToDo {
            detail: Some(format!("to sign: {}", todo.join(", "))),
        };
    }
    let signer = statuses
        .iter()
        .find_map(|s| match &s.signatures {
            lava_repo_sign::SignatureState::Valid { signer } => Some(format!("{signer:X}")),
            _ => None,
        })
        .unwrap_or_default();
    Status::Done {
        evidence: format!("{} verified and signed by {signer}", suite_names(statuses)),
    }
}

#[cfg(test)]
mod tests {
    use lava_repo_sign::{Problem, SignatureState};

    use super::*;

    fn suite(name: &str, problems: Vec<Problem>, signatures: SignatureState) -> SuiteStatus {
        SuiteStatus {
            suite: name.into(),
            files: 2,
            bytes: 10,
            algorithms: Vec::new(),
            problems,
            signatures,
            signed_now: false,
        }
    }

    #[test]
    fn sign_status_blocks_on_wrong_indices_and_lists_unsigned_suites() {
        let wrong = suite(
            "trixie",
            vec![Problem::Size {
                path: "main/source/Sources.xz".into(),
                expected: 10,
                actual: 9,
            }],
            SignatureState::Unsigned,
        );
        let unsigned = suite("bookworm", Vec::new(), SignatureState::Unsigned);
        insta::assert_snapshot!(
            sign_status(&[unsigned.clone(), wrong]).note().unwrap(),
            @"suite trixie does not match its Release file: main/source/Sources.xz: size 10 expected, 9 found"
        );
        assert_eq!(
            sign_status(&[unsigned]),
            Status::ToDo {
                detail: Some("to sign: bookworm (no Release.gpg, no InRelease)".into())
            }
        );
    }
}
