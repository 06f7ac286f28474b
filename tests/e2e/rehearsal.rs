//! `cargo xtask rehearse`, the README's main command, as a test: a whole release against
//! the stand-ins, every artifact checked with the tool people use.

use tests::rehearsal::{Options, Publishing};

#[test]
fn the_rehearsal_releases_and_every_check_passes() {
    let report = tests::rehearsal::rehearse(
        &tests::bin::lava_release_bin(),
        tests::rehearsal::DEFAULT_VERSION,
    )
    .expect("the rehearsal runs");
    assert!(report.passed(), "{report}");
    let stages: Vec<&str> = report.stages.iter().map(|(s, _, _)| s.as_str()).collect();
    // LAVA today: the branch's pipeline before the tag; CI publishes the repository.
    assert!(
        stages.contains(&"push-branch")
            && stages.contains(&"wait-branch-ci")
            && stages.contains(&"apt-publish")
            && !stages.contains(&"repo-import"),
        "{stages:?}"
    );
    for check in [
        "branch pipeline before the tag's (API stand-in)",
        "lava-apt-repo pipeline published the tag (API stand-in)",
        "apt-get update trixie (signed-by release key)",
    ] {
        assert!(
            report.check(check).is_some_and(|c| c.passed),
            "{check}: {report}"
        );
    }
}

#[test]
fn the_written_process_rehearsal_releases_and_every_check_passes() {
    let options = Options {
        publishing: Publishing::Reprepro,
        ..Options::default()
    };
    let report = tests::rehearsal::rehearse_with(
        &tests::bin::lava_release_bin(),
        tests::rehearsal::DEFAULT_VERSION,
        options,
    )
    .expect("the rehearsal runs");
    assert!(report.passed(), "{report}");
    for check in [
        "changelog entry (dpkg-parsechangelog)",
        "signed tag (git verify-tag)",
        "master and tag pushed (git ls-remote origin)",
        "one GitLab release with the changelog (API stand-in)",
        "apt-get update bookworm (signed-by release key)",
        "Debian upload in the SFTP queue (dscverify)",
        "re-run does nothing (lava-release run)",
        "announcement received (SMTP sink)",
    ] {
        assert!(
            report.check(check).is_some_and(|c| c.passed),
            "{check}: {report}"
        );
    }
    let stages: Vec<&str> = report.stages.iter().map(|(s, _, _)| s.as_str()).collect();
    assert!(
        stages.contains(&"ci-artifacts")
            && stages.contains(&"repo-publish")
            && stages.contains(&"announce"),
        "{stages:?}"
    );
    assert!(
        report
            .stages
            .iter()
            .all(|(_, outcome, _)| outcome != "failed"),
        "{report}"
    );
}
