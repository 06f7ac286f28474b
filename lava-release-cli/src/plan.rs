//! The release as data: the ordered stages of one release, each a [`Step`] holding its
//! inputs. This is the only file that names every stage.
//!
//! `lava-release plan` prints a [`Plan`] with every stage's observed status;
//! `lava-release run` executes the same value one stage at a time (see [`crate::run`]).
//! Adding a stage is one file under `stages/` and one line in [`plan`].

use serde::Serialize;

use crate::config::Config;
use crate::error::UsageError;
use crate::stages::announce::Announce;
use crate::stages::apt_publish::AptPublish;
use crate::stages::changelog::Changelog;
use crate::stages::ci_artifacts::CiArtifacts;
use crate::stages::close_milestone::CloseMilestone;
use crate::stages::consistency::Consistency;
use crate::stages::debian_build::DebianBuild;
use crate::stages::debian_changelog::DebianChangelog;
use crate::stages::debian_push::DebianPush;
use crate::stages::debian_sign::DebianSign;
use crate::stages::debian_tag::DebianTag;
use crate::stages::debian_tag2upload::DebianTag2upload;
use crate::stages::debian_upload::DebianUpload;
use crate::stages::dev_build::DevBuild;
use crate::stages::docker_publish::DockerPublish;
use crate::stages::fork_ci::ForkCi;
use crate::stages::fork_wait_ci::ForkWaitCi;
use crate::stages::import_orig::ImportOrig;
use crate::stages::lab_sync::LabSync;
use crate::stages::local_tag::LocalTag;
use crate::stages::manifest::ManifestStage;
use crate::stages::milestone_check::MilestoneCheck;
use crate::stages::preflight::Preflight;
use crate::stages::push_branch::PushBranch;
use crate::stages::push_tag::PushTag;
use crate::stages::release_notes::ReleaseNotes;
use crate::stages::repo_import::RepoImport;
use crate::stages::repo_publish::RepoPublish;
use crate::stages::repo_sign::RepoSign;
use crate::stages::signed_tag::SignedTag;
use crate::stages::upstream_tarball::UpstreamTarball;
use crate::stages::wait_branch_ci::WaitBranchCi;
use crate::stages::wait_ci::WaitCi;
use crate::step::{Absent, Need, Status, Step};
use crate::version::Release;

/// The plan for `release` under `config`, in the order the stages run: pure, no I/O.
/// Each line adds one stage, or nothing when the configuration leaves it out.
pub fn plan(config: &Config, release: &Release) -> Plan {
    let mut plan = Plan::new(release.clone());
    plan.add::<Preflight>(config);
    // The milestone is part of the preflight: before anything is written.
    plan.add::<MilestoneCheck>(config);
    plan.add::<Changelog>(config);
    plan.add::<LocalTag>(config);
    // The local dev build tries the tagged commit before it is signed and pushed.
    plan.add::<DevBuild>(config);
    plan.add::<ForkCi>(config);
    plan.add::<ForkWaitCi>(config);
    plan.add::<SignedTag>(config);
    // As LAVA's release script: the branch's pipeline passes before the tag, whose
    // pipeline publishes, is pushed.
    plan.add::<PushBranch>(config);
    plan.add::<WaitBranchCi>(config);
    plan.add::<PushTag>(config);
    // The tag's pipeline builds what the later stages publish.
    plan.add::<WaitCi>(config);
    plan.add::<CiArtifacts>(config);
    // The gbp flow's tarball of the tag: the consistency gate proves it is the tag.
    plan.add::<UpstreamTarball>(config);
    // Nothing is published from the release before its parts are seen to agree.
    plan.add::<Consistency>(config);
    // The apt repository: CI's publishing pipeline (LAVA today), or reprepro by hand.
    plan.add::<AptPublish>(config);
    plan.add::<RepoImport>(config);
    plan.add::<RepoSign>(config);
    plan.add::<RepoPublish>(config);
    // Debian gets the source as published in the release repository (`dget` flow), or
    // as the Debian Developer builds it from the packaging branch (`gbp` flow).
    plan.add::<ImportOrig>(config);
    plan.add::<DebianChangelog>(config);
    plan.add::<DebianBuild>(config);
    plan.add::<DebianSign>(config);
    plan.add::<DebianTag>(config);
    plan.add::<DebianPush>(config);
    // Or one tag for Debian's tag2upload service instead of the build and the upload.
    plan.add::<DebianTag2upload>(config);
    plan.add::<DebianUpload>(config);
    plan.add::<DockerPublish>(config);
    plan.add::<ReleaseNotes>(config);
    plan.add::<CloseMilestone>(config);
    plan.add::<Announce>(config);
    // One signed statement of everything published above, attached to the release.
    plan.add::<ManifestStage>(config);
    plan.add::<LabSync>(config);
    plan
}

/// The ordered stages of one release.
#[derive(Debug)]
pub struct Plan {
    /// What is released.
    pub release: Release,
    /// The stages, in the order they run.
    pub stages: Vec<Box<dyn Step>>,
    /// The stages the configuration leaves out, and why, in plan order.
    pub absent: Vec<Absent>,
}

/// A stage as `plan --json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    /// The stage's name.
    pub name: &'static str,
    /// What applying it does.
    pub description: String,
    /// Whether it cannot be undone.
    pub irreversible: bool,
    /// Whether it only checks.
    pub check_only: bool,
    /// The stages whose outcome it needs.
    pub needs: Vec<&'static str>,
    /// Its observed status.
    #[serde(flatten)]
    pub status: Status,
}

impl Plan {
    /// A plan of no stages yet.
    pub fn new(release: Release) -> Self {
        Self {
            release,
            stages: Vec::new(),
            absent: Vec::new(),
        }
    }

    /// Adds stage `S`, or, when `config` leaves it out, why.
    pub fn add<S: Step + 'static>(&mut self, config: &Config) {
        match S::from_config(config, &self.release) {
            Ok(stage) => self.stages.push(Box::new(stage)),
            Err(absent) => self.absent.push(absent),
        }
    }

    /// The names of the stages, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name()).collect()
    }

    /// The stage called `name`, if planned.
    pub fn get(&self, name: &str) -> Option<&dyn Step> {
        self.stages
            .iter()
            .find(|s| s.name() == name)
            .map(AsRef::as_ref)
    }

    /// The index of stage `name`, or an error listing the stages.
    pub fn position(&self, name: &str) -> Result<usize, UsageError> {
        self.stages
            .iter()
            .position(|s| s.name() == name)
            .ok_or_else(|| match self.absent.iter().find(|a| a.stage == name) {
                Some(absent) => UsageError(format!(
                    "stage `{name}` is not in this plan: {}",
                    absent.why
                )),
                None => UsageError(format!(
                    "unknown stage `{name}`; the stages are: {}",
                    self.names().join(", ")
                )),
            })
    }

    /// Each stage with its observed status, for `plan --json`.
    pub fn views(&self, statuses: &[Status]) -> Vec<StageView> {
        self.stages
            .iter()
            .zip(statuses)
            .map(|(stage, status)| StageView {
                name: stage.name(),
                description: stage.describe(),
                irreversible: stage.irreversible(),
                check_only: stage.check_only(),
                needs: stage.needs().into_iter().map(Need::provider).collect(),
                status: status.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str) -> Release {
        Release::new(v.parse().unwrap(), None).unwrap()
    }

    fn lines(plan: &Plan) -> String {
        plan.stages
            .iter()
            .map(|s| format!("{} [{}] {}", s.name(), s.irreversible(), s.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn default_plan_for_lava() {
        let plan = plan(&Config::default(), &release("2024.05"));
        insta::assert_snapshot!(lines(&plan), @r"
            preflight [false] check that 2024.05 (Debian 2024.05-1) is newer than the last release, the working tree is clean and HEAD is on master
            milestone-check [false] check that milestone 2024.05 of https://gitlab.com/lava/lava has no open merge request or issue
            changelog [false] write the debian/changelog entry for 2024.05-1 (gbp style), set lava_common/VERSION to 2024.05 and commit them as `LAVA Software 2024.05 release`
            local-tag [false] tag the release commit `2024.05` (unsigned, for the local build)
            signed-tag [false] sign tag `2024.05` with the release key C87D63FD935535CFB0CAF5C2A791358F2E49B100 and verify it
            push-branch [true] push master alone to origin (fast-forward only) so its pipeline runs before the tag
            wait-branch-ci [false] wait for the pipeline of the release commit on master of https://gitlab.com/lava/lava to succeed
            push-tag [true] push master and tag `2024.05` to origin
            wait-ci [false] wait for the pipeline of tag 2024.05 on https://gitlab.com/lava/lava to succeed
            ci-artifacts [false] download and verify the artifacts of debian/12, debian/13 from the pipeline of tag 2024.05 into .git/lava-release/2024.05-ci-artifacts
            consistency [false] check that tag 2024.05 on origin is the commit its pipeline built and that debian/changelog, lava_common/VERSION, the .changes and .dsc of each suite and CI's images agree on 2024.05 (Debian 2024.05-1), then pin the images to publish
            apt-publish [false] wait for the pipeline that `publish-packages/release` of tag 2024.05 starts in lava/lava-apt-repo, then check that https://apt.lavasoftware.org/release lists lava 2024.05+12+bookworm in bookworm, 2024.05+13+trixie in trixie, signed by the release key
            docker-publish [true] copy lava-dispatcher, lava-server for amd64, aarch64 from registry.gitlab.com/lava/lava/{arch}/{image}:{version} to lavasoftware/{arch}-{image} as 2024.05 and latest, with manifest lists lavasoftware/{image}
            release-notes [true] create or update the GitLab release of tag 2024.05 with the changelog entry and commits
            close-milestone [true] close milestone 2024.05 of https://gitlab.com/lava/lava
            manifest [true] write lava-2024.05.manifest.json (the tag, its pipeline, CI's Debian files, the apt suites, the images, the announcement), sign it with the release key and attach it to the GitLab release of tag 2024.05
            lab-sync [true] copy the device types (etc/dispatcher-config/device-types, or lava_scheduler_app/tests/device-types in trees before 2019.09) to ssh://review.linaro.org:29418/lava/lava-lab:shared/device-types and push it to refs/for/master for review
            ");
    }

    #[test]
    fn the_repository_is_published_by_ci_or_by_reprepro() {
        let names =
            |toml: &str| plan(&Config::from_toml(toml).unwrap(), &release("2024.05")).names();
        assert!(!names("").contains(&"repo-import"));
        assert!(names("").contains(&"apt-publish"));
        assert!(!names("[repo]\nmode = \"none\"\n").contains(&"apt-publish"));
        let default = plan(&Config::default(), &release("2024.05"));
        assert!(default.absent.contains(&Absent::new(
            "repo-import",
            "repo.mode is pipeline: CI publishes the repository"
        )));
        assert_eq!(
            default.position("dev-build").unwrap_err().0,
            "stage `dev-build` is not in this plan: debian.dev_build is false"
        );
        let config = Config::from_toml(
            "[repo]\nmode = \"reprepro\"\npackage_version = \"{debian_version}\"\nsite = \"ssh://repo@apt.example/srv/apt\"\nincoming = \"/srv/incoming\"\n",
        )
        .unwrap();
        let plan = plan(&config, &release("2024.05"));
        assert!(plan.absent.contains(&Absent::new(
            "apt-publish",
            "repo.mode is reprepro: repo-import, repo-sign and repo-publish publish it"
        )));
        let repo = Plan {
            release: plan.release.clone(),
            stages: plan
                .stages
                .into_iter()
                .filter(|s| s.name().starts_with("repo-"))
                .collect(),
            absent: Vec::new(),
        };
        insta::assert_snapshot!(lines(&repo), @r"
        repo-import [false] reprepro include lava 2024.05-1 from /srv/incoming into bookworm, trixie of ssh://repo@apt.example/srv/apt/current-release
        repo-sign [false] verify every index of ssh://repo@apt.example/srv/apt/current-release and sign its Release files with the release key C87D63FD935535CFB0CAF5C2A791358F2E49B100
        repo-publish [true] keep ssh://repo@apt.example/srv/apt/current-release as archive/2024.05 and switch the release symlink to it
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
                .ends_with("release-notes close-milestone announce manifest lab-sync")
        );
        let config = Config::from_toml(
            "[announce]\nsmtp = \"smtps://mail.example.org\"\nsign = true\nsmtp_password = \"hunter2\"\n",
        )
        .unwrap();
        let plan = plan(&config, &release("2024.05"));
        let stage = plan.get("announce").unwrap();
        assert!(stage.irreversible());
        assert!(stage.signs());
        insta::assert_snapshot!(stage.describe(), @"mail the announcement of 2024.05 to lava-announce@lists.lavasoftware.org through smtps://mail.example.org, signed (PGP/MIME) with the release key");
        assert!(!config.to_toml().contains("hunter2"));
    }

    #[test]
    fn every_publishing_stage_needs_the_consistency_record() {
        let config = Config::from_toml(
            "[repo]\nmode = \"reprepro\"\nsite = \"/srv/apt\"\nincoming = \"/srv/incoming\"\n\
             [debian]\nupload = \"/srv/queue\"\n\
             [announce]\nsmtp = \"smtp://mail.example.org\"\n",
        )
        .unwrap();
        let plan = plan(&config, &release("2024.05"));
        let consistency = plan.position("consistency").unwrap();
        for (i, stage) in plan.stages.iter().enumerate() {
            let needs = stage.needs();
            let publishes = stage.irreversible()
                || stage.name().starts_with("repo-")
                || stage.name() == "apt-publish";
            if i > consistency && publishes {
                assert!(
                    needs.contains(&Need::Consistency),
                    "{} publishes without the consistency record",
                    stage.name()
                );
            }
            // A need is provided by a stage planned before the one that needs it.
            for need in needs {
                let provider = plan.position(need.provider()).unwrap();
                assert!(provider < i, "{} needs {}", stage.name(), need.provider());
            }
        }
    }

    #[test]
    fn unknown_stage_lists_the_stages() {
        let plan = plan(&Config::default(), &release("2024.05"));
        assert_eq!(
            plan.position("changlog").unwrap_err().to_string(),
            "unknown stage `changlog`; the stages are: preflight, milestone-check, changelog, local-tag, signed-tag, push-branch, wait-branch-ci, push-tag, wait-ci, ci-artifacts, consistency, apt-publish, docker-publish, release-notes, close-milestone, manifest, lab-sync"
        );
    }
}
