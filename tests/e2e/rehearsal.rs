//! `cargo xtask rehearse`, the README's main command, as a test: a whole release against
//! the stand-ins, every artifact checked with the tool people use.

#[test]
fn the_rehearsal_releases_and_every_check_passes() {
    let report = tests::rehearsal::rehearse(
        &tests::bin::lava_release_bin(),
        tests::rehearsal::DEFAULT_VERSION,
    )
    .expect("the rehearsal runs");
    assert!(report.passed(), "{report}");
    for check in [
        "changelog entry (dpkg-parsechangelog)",
        "signed tag (git verify-tag)",
        "master and tag pushed (git ls-remote origin)",
        "one GitLab release with the changelog (API stand-in)",
        "apt-get update bookworm (signed-by release key)",
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
