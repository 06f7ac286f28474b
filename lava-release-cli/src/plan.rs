//! The release as data: an ordered list of [`Stage`]s, each with its inputs, a
//! read-only `check` and an `apply`.
//!
//! `lava-release plan` prints a [`Plan`] with every stage's observed [`Status`];
//! `lava-release run` executes the same value one stage at a time (see [`crate::run`]).

use serde::Serialize;

use crate::Context;
use crate::config::Config;
use crate::stages::changelog::ChangelogStage;
use crate::stages::git::{GitKind, GitStage};
use crate::stages::preflight::Preflight;
use crate::stages::repo::RepoStage;
use crate::version::ReleaseVersion;

/// What is being released.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The LAVA version, e.g. `2024.05`.
    pub version: ReleaseVersion,
    /// The Debian version, e.g. `2024.05-1`.
    #[serde(serialize_with = "serialize_display")]
    pub debian_version: debversion::Version,
}

fn serialize_display<S: serde::Serializer>(
    v: &debversion::Version,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The ordered stages of one release.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// What is released.
    pub release: Release,
    /// The stages, in the order they run.
    pub stages: Vec<Stage>,
}

/// One step of the release.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Short name used by `--from`, `--to`, `--only` and the journal.
    pub name: &'static str,
    /// What applying it does, for this release, in one line.
    pub description: String,
    /// Whether it publishes something that cannot be taken back (push, upload, mail):
    /// such a stage asks for confirmation unless `--yes`.
    pub irreversible: bool,
    /// Whether it only checks (nothing to apply): its `done` means "passed".
    pub check_only: bool,
    /// The stage's inputs, and through them its behaviour.
    #[serde(skip)]
    pub action: Action,
}

/// The stage kinds and their inputs.
#[derive(Debug, Clone)]
pub enum Action {
    /// Checks that the release can start.
    Preflight(Preflight),
    /// Writes and commits the `debian/changelog` entry and version files.
    Changelog(ChangelogStage),
    /// Tags, pushes, hands over.
    Git(GitStage),
    /// Imports into, signs and publishes the apt repository.
    Repo(RepoStage),
    /// Talks to GitLab.
    Gitlab(crate::stages::gitlab::GitlabStage),
    /// Promotes the container images.
    Docker(crate::stages::docker::DockerStage),
    /// Builds locally, uploads to Debian.
    Debian(crate::stages::debian::DebianStage),
    /// Mails the announcement.
    Announce(crate::stages::announce::AnnounceStage),
    /// Checks that the parts of the release agree, and pins them.
    Gate(crate::stages::gate::GateStage),
}

/// What a stage's check observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Already done; `evidence` says how we know (a commit id, a digest, a URL).
    Done {
        /// How we know.
        evidence: String,
    },
    /// Not done yet.
    ToDo {
        /// What is in place already, if anything (e.g. an uncommitted entry).
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Cannot be done now.
    Blocked {
        /// Why, in one sentence.
        reason: String,
    },
}

impl Status {
    /// A to-do status with no detail.
    pub fn todo() -> Self {
        Status::ToDo { detail: None }
    }

    /// Short label for tables: `done`, `to do`, `blocked`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Done { .. } => "done",
            Status::ToDo { .. } => "to do",
            Status::Blocked { .. } => "blocked",
        }
    }

    /// The evidence, detail or reason, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            Status::Done { evidence } => Some(evidence),
            Status::ToDo { detail } => detail.as_deref(),
            Status::Blocked { reason } => Some(reason),
        }
    }
}

impl Stage {
    /// Observes whether the stage is done, without changing anything.
    pub fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        match &self.action {
            Action::Preflight(s) => s.check(ctx),
            Action::Changelog(s) => s.check(ctx),
            Action::Git(s) => s.check(ctx),
            Action::Repo(s) => s.check(ctx),
            Action::Gitlab(s) => s.check(ctx),
            Action::Docker(s) => s.check(ctx),
            Action::Debian(s) => s.check(ctx),
            Action::Announce(s) => s.check(ctx),
            Action::Gate(s) => s.check(ctx),
        }
    }

    /// In a dry run, for a stage that is not done: shows what applying would publish
    /// without publishing it (a message written to a file, a simulated upload), and
    /// says so in one line. `None` for stages with nothing to show.
    pub fn rehearse(&self, ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
        match &self.action {
            Action::Debian(s) => s.rehearse(ctx),
            Action::Announce(s) => s.rehearse(ctx),
            Action::Preflight(_)
            | Action::Changelog(_)
            | Action::Git(_)
            | Action::Repo(_)
            | Action::Gitlab(_)
            | Action::Docker(_)
            | Action::Gate(_) => {
                let _ = ctx;
                Ok(None)
            }
        }
    }

    /// Whether applying it signs with the release key.
    pub fn signs(&self) -> bool {
        match &self.action {
            Action::Git(s) => s.kind == crate::stages::git::GitKind::SignedTag,
            Action::Repo(s) => s.kind == crate::stages::repo::RepoKind::Sign,
            Action::Announce(s) => s.sign,
            _ => false,
        }
    }

    /// Does the stage's work and returns its evidence. The runner calls it only after
    /// `check` said to do, and checks again afterwards.
    pub fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        match &self.action {
            Action::Preflight(s) => s.apply(ctx),
            Action::Changelog(s) => s.apply(ctx),
            Action::Git(s) => s.apply(ctx),
            Action::Repo(s) => s.apply(ctx),
            Action::Gitlab(s) => s.apply(ctx),
            Action::Docker(s) => s.apply(ctx),
            Action::Debian(s) => s.apply(ctx),
            Action::Announce(s) => s.apply(ctx),
            Action::Gate(s) => s.apply(ctx),
        }
    }
}

/// The plan for `release` under `config`: pure, no I/O.
pub fn plan(config: &Config, release: &Release) -> Plan {
    let preflight = Preflight::new(config, release);
    let changelog = ChangelogStage::new(config, release);
    let stages = vec![
        Stage {
            name: "preflight",
            description: preflight.describe(),
            irreversible: false,
            check_only: true,
            action: Action::Preflight(preflight),
        },
        Stage {
            name: "changelog",
            description: changelog.describe(),
            irreversible: false,
            check_only: false,
            action: Action::Changelog(changelog),
        },
    ];
    let mut stages = stages;
    let (milestone, gitlab_after) = crate::stages::gitlab::stages(config, release);
    // The milestone is part of the preflight: before anything is written.
    stages.splice(1..1, milestone);
    let mut gitlab_after = gitlab_after.into_iter();
    let git = |name, kind, irreversible| {
        let stage = GitStage::new(config, release, kind);
        Stage {
            name,
            description: stage.describe(config),
            irreversible,
            check_only: false,
            action: Action::Git(stage),
        }
    };
    stages.push(git("local-tag", GitKind::LocalTag, false));
    // The local dev build tries the tagged commit before it is signed and pushed.
    stages.extend(crate::stages::debian::dev_build(config, release));
    if config
        .project
        .fork
        .as_deref()
        .is_some_and(|f| !f.is_empty())
    {
        stages.push(git("fork-ci", GitKind::ForkCi, true));
        stages.extend(crate::stages::gitlab::fork_wait(config, release));
    }
    stages.push(git("signed-tag", GitKind::SignedTag, false));
    stages.push(git("push-tag", GitKind::PushTag, true));
    // The tag's pipeline builds what the later stages publish.
    stages.extend(gitlab_after.next());
    stages.extend(crate::stages::gitlab::artifacts(config, release));
    // Nothing is published from the release before its parts are seen to agree.
    stages.push(crate::stages::gate::stage(config, release));
    // The apt repository receives what the tag's pipeline built.
    stages.extend(crate::stages::repo::stages(config, release));
    // Debian gets the source as published in the release repository.
    stages.extend(crate::stages::debian::upload(config, release));
    stages.extend(crate::stages::docker::stage(config, release));
    stages.extend(gitlab_after);
    stages.extend(crate::stages::announce::stage(config, release));
    stages.push(git("lab-sync", GitKind::LabSync, true));
    Plan {
        release: release.clone(),
        stages,
    }
}

impl Plan {
    /// The names of the stages, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name).collect()
    }

    /// The index of stage `name`, or an error listing the stages.
    pub fn position(&self, name: &str) -> Result<usize, crate::UsageError> {
        self.stages
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| {
                crate::UsageError(format!(
                    "unknown stage `{name}`; the stages are: {}",
                    self.names().join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str) -> Release {
        let version: ReleaseVersion = v.parse().unwrap();
        Release {
            version,
            debian_version: crate::version::debian_version(version, None).unwrap(),
        }
    }

    #[test]
    fn default_plan_for_lava() {
        let plan = plan(&Config::default(), &release("2024.05"));
        let lines: Vec<String> = plan
            .stages
            .iter()
            .map(|s| format!("{} [{}] {}", s.name, s.irreversible, s.description))
            .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
            preflight [false] check that 2024.05 (Debian 2024.05-1) is newer than the last release, the working tree is clean and HEAD is on master
            milestone-check [false] check that milestone 2024.05 of https://gitlab.com/lava/lava has no open merge request or issue
            changelog [false] write the debian/changelog entry for 2024.05-1 (gbp style), set lava_common/VERSION to 2024.05 and commit them as `LAVA Software 2024.05 release`
            local-tag [false] tag the release commit `2024.05` (unsigned, for the local build)
            signed-tag [false] sign tag `2024.05` with the release key C87D63FD935535CFB0CAF5C2A791358F2E49B100 and verify it
            push-tag [true] push master and tag `2024.05` to origin
            wait-ci [false] wait for the pipeline of tag 2024.05 on https://gitlab.com/lava/lava to succeed
            consistency [false] check that tag 2024.05 on origin is the commit its pipeline built and that debian/changelog, lava_common/VERSION and CI's images agree on 2024.05 (Debian 2024.05-1), then pin the images to publish
            docker-publish [true] copy lava-dispatcher, lava-server for amd64, aarch64 from registry.gitlab.com/lava/lava/{arch}/{image}:{version} to lavasoftware/{arch}-{image} as 2024.05 and latest, with manifest lists lavasoftware/{image}
            release-notes [true] create or update the GitLab release of tag 2024.05 with the changelog entry and commits
            close-milestone [true] close milestone 2024.05 of https://gitlab.com/lava/lava
            lab-sync [true] copy lava_scheduler_app/tests/device-types to ssh://review.linaro.org:29418/lava/lava-lab:shared/device-types and push it to refs/for/master for review
            ");
    }

    #[test]
    fn announce_needs_a_server_and_runs_after_the_milestone_closes() {
        let names = |toml: &str| {
            let config = Config::from_toml(toml).unwrap();
            plan(&config, &release("2024.05")).names().join(" ")
        };
        let smtp = "smtp = \"smtp://mail.example.org\"\n";
        assert!(!names(&format!("[announce]\nenabled = false\n{smtp}")).contains("announce"));
        assert!(
            names(&format!("[announce]\n{smtp}"))
                .ends_with("release-notes close-milestone announce lab-sync")
        );
        let config = Config::from_toml(
            "[announce]\nsmtp = \"smtps://mail.example.org\"\nsign = true\nsmtp_password = \"hunter2\"\n",
        )
        .unwrap();
        let plan = plan(&config, &release("2024.05"));
        let stage = &plan.stages[plan.position("announce").unwrap()];
        assert!(stage.irreversible);
        insta::assert_snapshot!(stage.description, @"mail the announcement of 2024.05 to lava-announce@lists.lavasoftware.org through smtps://mail.example.org, signed (PGP/MIME) with the release key");
        assert!(!config.to_toml().contains("hunter2"));
    }

    #[test]
    fn unknown_stage_lists_the_stages() {
        let plan = plan(&Config::default(), &release("2024.05"));
        assert_eq!(
            plan.position("changlog").unwrap_err().to_string(),
            "unknown stage `changlog`; the stages are: preflight, milestone-check, changelog, local-tag, signed-tag, push-tag, wait-ci, consistency, docker-publish, release-notes, close-milestone, lab-sync"
        );
    }
}
