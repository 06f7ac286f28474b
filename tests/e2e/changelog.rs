//! Differential tests of the changelog against gbp dch and git log | fmt.
//!
//! Two layers: `render_*` feeds `git log`'s own view of a fixture repository
//! straight into `lava_changelog::render`, which tests the renderer independently of
//! how lava-git reads history; `cli_*` runs the `lava-release changelog` binary,
//! range selection and all. Both compare with the real tools, run on a clone of the
//! same repository, everything but the trailer's date.

use lava_changelog::{Entry, Header, Options, Style, Trailer};
use tests::gitrepo::{
    ANN, BOB, GitRepo, RM, RunOptions, SOURCE, gbp_dch, git_log_pipeline, lava_release_changelog,
    lava_release_changelog_with, mask_date, oneline_pipeline, scenario,
};

/// The release every test cuts.
const VERSION: &str = "2024.05";

fn first_bullet() -> String {
    format!("LAVA Software {VERSION} release")
}

/// Our entry for `commits`, rendered as the release manager.
fn render(commits: &[lava_changelog::Commit], style: Style, opts: &Options) -> String {
    let header = Header {
        source: SOURCE.into(),
        version: format!("{VERSION}-1"),
        distribution: "unstable".into(),
        urgency: "medium".into(),
    };
    let trailer = Trailer {
        name: RM.name.into(),
        email: RM.email.into(),
        date: time::OffsetDateTime::now_utc(),
    };
    let entry = Entry {
        header: &header,
        commits,
        trailer: &trailer,
    };
    lava_changelog::render(&entry, style, opts)
}

fn assert_same(ours: &str, theirs: &str, what: &str) {
    let (ours, theirs) = (mask_date(ours), mask_date(theirs));
    assert!(
        ours == theirs,
        "{what} differs\n--- ours:\n{ours}--- reference:\n{theirs}---"
    );
}

/// `render` against `gbp dch` on `repo`, with and without --multimaint-merge and the
/// release manager's bullet. Returns our default rendering for snapshots.
fn check_render_gbp(repo: &GitRepo) -> String {
    let commits = repo.log(&repo.gbp_since(), &["debian"]);
    let mut default = String::new();
    for merge in [false, true] {
        for bullet in [Some(first_bullet()), None] {
            let opts = Options {
                id_length: 9,
                multimaint_merge: merge,
                first_bullet: bullet.clone(),
                ..Options::default()
            };
            let ours = render(&commits, Style::Gbp, &opts);
            let run = RunOptions {
                multimaint_merge: merge,
                first_bullet: bullet,
                ..RunOptions::default()
            };
            let theirs = gbp_dch(repo, VERSION, &run);
            assert_same(&ours, &theirs, &format!("gbp style ({run:?})"));
            if !merge && run.first_bullet.is_some() {
                default = ours;
            }
        }
    }
    mask_date(&default)
}

#[test]
fn render_gbp_matches_gbp_dch_on_a_mixed_history() {
    let repo = scenario::mixed();
    let entry = check_render_gbp(&repo);
    insta::with_settings!({filters => vec![(r"\[[0-9a-f]{9}\]", "[COMMIT]")]}, {
        insta::assert_snapshot!(entry);
    });
}

#[test]
fn render_gbp_matches_gbp_dch_on_message_corners() {
    let entry = check_render_gbp(&scenario::message_corners());
    insta::with_settings!({filters => vec![(r"\[[0-9a-f]{9}\]", "[COMMIT]")]}, {
        insta::assert_snapshot!(entry);
    });
}

#[test]
fn render_gbp_matches_gbp_dch_from_the_debian_tag() {
    check_render_gbp(&scenario::tagged());
}

#[test]
fn render_gbp_matches_gbp_dch_from_the_last_changelog_commit() {
    check_render_gbp(&scenario::untagged());
}

#[test]
fn render_gbp_matches_gbp_dch_with_nothing_under_debian() {
    let entry = check_render_gbp(&scenario::nothing_under_debian());
    insta::assert_snapshot!(entry, @r"
    lava (2024.05-1) unstable; urgency=medium

      * LAVA Software 2024.05 release

     -- Rita Manager <rita@lavasoftware.example>  DATE
    ");
}

#[test]
fn render_gbp_matches_gbp_dch_with_no_commits() {
    check_render_gbp(&scenario::no_commits());
}

#[test]
fn render_gbp_matches_gbp_dch_with_only_ignored_commits() {
    check_render_gbp(&scenario::only_ignored());
}

#[test]
fn render_gbp_matches_gbp_dch_with_a_single_other_author() {
    let entry = check_render_gbp(&scenario::single_author());
    insta::with_settings!({filters => vec![(r"\[[0-9a-f]{9}\]", "[COMMIT]")]}, {
        insta::assert_snapshot!(entry, @r"
        lava (2024.05-1) unstable; urgency=medium

          * LAVA Software 2024.05 release

          [ Rémi Duraffort ]
          * [COMMIT] First change
          * [COMMIT] Second change

         -- Rita Manager <rita@lavasoftware.example>  DATE
        ");
    });
}

#[test]
fn render_gbp_matches_gbp_dch_with_only_the_release_manager() {
    check_render_gbp(&scenario::release_manager_only());
}

#[test]
fn render_gbp_matches_gbp_dch_when_the_release_manager_starts() {
    check_render_gbp(&scenario::release_manager_first());
}

#[test]
fn render_gbp_matches_gbp_dch_with_an_explicit_since() {
    let repo = scenario::mixed();
    // From the merge's first parent: the side branch's commits stay in the range.
    let since = repo.git(&["rev-parse", "HEAD~7^1"]).trim().to_owned();
    let commits = repo.log(&since, &["debian"]);
    assert!(!commits.is_empty(), "the fixture has commits after {since}");
    let opts = Options {
        first_bullet: Some(first_bullet()),
        ..Options::default()
    };
    let run = RunOptions {
        since: Some(since),
        first_bullet: Some(first_bullet()),
        ..RunOptions::default()
    };
    assert_same(
        &render(&commits, Style::Gbp, &opts),
        &gbp_dch(&repo, VERSION, &run),
        "gbp --since",
    );
}

/// `render` in the oneline style against do-debian-release's pipeline, and in the
/// git-log style against `git log --oneline --reverse | sed`, from the initial commit.
fn check_render_flat(repo: &GitRepo) -> String {
    let since = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let commits = repo.log(&since, &[]);
    let opts = Options {
        first_bullet: Some(first_bullet()),
        ..Options::default()
    };
    let ours = render(&commits, Style::Oneline, &opts);
    let theirs = oneline_pipeline(repo, VERSION, &since, Some(&first_bullet()));
    assert_same(&ours, &theirs, "oneline style");
    for newest_first in [false, true] {
        let opts = Options {
            newest_first,
            ..opts.clone()
        };
        assert_same(
            &render(&commits, Style::GitLog, &opts),
            &git_log_pipeline(repo, VERSION, &since, Some(&first_bullet()), newest_first),
            &format!("git-log style (newest first: {newest_first})"),
        );
    }
    mask_date(&ours)
}

#[test]
fn render_oneline_matches_the_fmt_pipeline() {
    let entry = check_render_flat(&scenario::mixed());
    insta::with_settings!({filters => vec![(r"(?m)^    [0-9a-f]{7,} ", "    SHORTID ")]}, {
        insta::assert_snapshot!(entry);
    });
}

#[test]
fn render_oneline_wraps_awkward_subjects_like_fmt() {
    let mut repo = GitRepo::new();
    let subjects = [
        "Sentence one.  Sentence two?  Yes!  A fourth sentence that is long enough to wrap the line",
        "Tabs\tbetween\twords and a long tail of words that will need to wrap onto a second line",
        "Ünïcödé wörds count in bytes for fmt, so this line wraps a little earlier than ASCII one",
        "A very long word: https://git.lavasoftware.org/lava/lava/-/merge_requests/12345/diffs?commit_id=abcdef",
        "(parenthesised) start, e.g. this, and \"quotes.\"  Then more text to go past seventy-one",
        "Many   spaces   between   words   and   more   words   until   the   line   wraps   twice   over   here   and   there",
        "Ends with a full stop.",
        "Two lines of subject joined by git\ninto one line that fmt then has to split again at seventy-one columns",
        "ZZZZ at the start of a subject",
        "short",
    ];
    for (i, subject) in subjects.iter().enumerate() {
        repo.commit(
            tests::gitrepo::ANN,
            &format!("{subject}\n"),
            &format!("file{i}"),
        );
    }
    check_render_flat(&repo);
}

/// The binary against gbp dch, letting both pick the range.
fn check_cli_gbp(repo: &GitRepo, merge: bool) {
    let run = RunOptions {
        multimaint_merge: merge,
        first_bullet: Some(first_bullet()),
        ..RunOptions::default()
    };
    let ours = lava_release_changelog(repo, VERSION, "gbp", &run);
    assert_same(
        &ours,
        &gbp_dch(repo, VERSION, &run),
        &format!("lava-release gbp ({run:?})"),
    );
}

#[test]
fn cli_gbp_matches_gbp_dch_on_a_mixed_history() {
    let repo = scenario::mixed();
    check_cli_gbp(&repo, false);
    check_cli_gbp(&repo, true);
}

#[test]
fn cli_gbp_matches_gbp_dch_on_message_corners() {
    let repo = scenario::message_corners();
    check_cli_gbp(&repo, false);
    check_cli_gbp(&repo, true);
}

#[test]
fn cli_gbp_starts_at_the_debian_tag_like_gbp_dch() {
    check_cli_gbp(&scenario::tagged(), false);
}

#[test]
fn cli_gbp_starts_after_the_last_changelog_commit_like_gbp_dch() {
    check_cli_gbp(&scenario::untagged(), false);
}

#[test]
fn cli_gbp_matches_gbp_dch_on_an_empty_range() {
    check_cli_gbp(&scenario::nothing_under_debian(), false);
    check_cli_gbp(&scenario::no_commits(), false);
}

#[test]
fn cli_gbp_matches_gbp_dch_merging_maintainers() {
    // LAVA's recent entries: one block per author across the whole entry.
    let repo = scenario::mixed();
    let run = RunOptions {
        multimaint_merge: true,
        first_bullet: Some(first_bullet()),
        ..RunOptions::default()
    };
    let theirs = gbp_dch(&repo, VERSION, &run);
    assert_same(
        &lava_release_changelog(&repo, VERSION, "gbp", &run),
        &theirs,
        "--multimaint-merge",
    );
    // The same from gbp's own configuration, with nothing on the command line.
    std::fs::write(
        repo.home().join(".gbp.conf"),
        "[DEFAULT]\nmultimaint-merge = False\n[dch]\nmultimaint-merge = True\n",
    )
    .unwrap();
    assert_same(
        &changelog_with_home_gbp_conf(&repo),
        &theirs,
        "multimaint-merge from ~/.gbp.conf",
    );
}

/// `lava-release changelog --version VERSION` with nothing on the command line: what it
/// takes from gbp comes from the repository's `~/.gbp.conf`, as `gbp dch` there reads it.
fn changelog_with_home_gbp_conf(repo: &GitRepo) -> String {
    let out = std::process::Command::new(tests::gitrepo::lava_release_bin())
        .arg("-C")
        .arg(repo.path())
        .args(["changelog", "--version", VERSION])
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("DEBFULLNAME", RM.name)
        .env("DEBEMAIL", RM.email)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_gbp_takes_meta_full_and_git_author_from_gbp_conf_as_gbp_dch_does() {
    let mut repo = scenario::mixed();
    repo.commit(
        ANN,
        "Fix the udev rule\n\nThe rule matched every tty.\nCloses: #1234\nThanks: Jane Doe\n",
        "debian/lava-dispatcher.udev",
    );
    repo.commit(
        BOB,
        "Quiet the postinst\n\nIt printed the database password.\nGbp-Dch: Short\n",
        "debian/lava-server.postinst",
    );
    // The release manager's git identity is not DEBFULLNAME's: --git-author decides.
    repo.git(&["config", "user.name", "Git Author"]);
    repo.git(&["config", "user.email", "git-author@example.org"]);
    let run = RunOptions {
        multimaint_merge: true,
        first_bullet: Some(first_bullet()),
        ..RunOptions::default()
    };
    for conf in [
        "[dch]\nmeta = False\nfull = True\ngit-author = True\n",
        "[DEFAULT]\nfull = true\n[dch]\ngit-author = 1 # as LAVA's release script\n",
    ] {
        // gbp dch (always --git-author here) and lava-release read the same ~/.gbp.conf.
        std::fs::write(repo.home().join(".gbp.conf"), conf).unwrap();
        let theirs = gbp_dch(&repo, VERSION, &run);
        assert!(
            theirs.contains("Git Author <git-author@example.org>"),
            "{theirs}"
        );
        assert!(theirs.contains("The rule matched every tty."), "{theirs}");
        assert!(!theirs.contains("database password"), "{theirs}");
        assert_same(&changelog_with_home_gbp_conf(&repo), &theirs, conf);
    }
    // Without git-author, DEBFULLNAME signs, as gbp dch without --git-author.
    std::fs::write(repo.home().join(".gbp.conf"), "[dch]\nfull = True\n").unwrap();
    assert!(
        changelog_with_home_gbp_conf(&repo).contains(&format!(" -- {} <{}>", RM.name, RM.email))
    );
}

#[test]
fn cli_gbp_matches_gbp_dch_on_versions_lava_tagged() {
    let repo = scenario::mixed();
    // The fixture's top entry is 2024.01-1.
    for (version, debian_version) in [
        // As 2021.03.post1 and 2022.01.3.
        ("2024.03.post1", None),
        ("2024.05.3", None),
        // As LAVA released tag 2022.11.1: 2022.11-2.
        ("2024.05.1", Some("2024.05-2")),
    ] {
        let run = RunOptions {
            first_bullet: Some(format!("LAVA Software {version} release")),
            debian_version: debian_version.map(str::to_owned),
            ..RunOptions::default()
        };
        assert_same(
            &lava_release_changelog_with(
                &repo,
                version,
                "gbp",
                &run,
                &["-m", &format!("LAVA Software {version} release")],
            ),
            &gbp_dch(&repo, version, &run),
            &format!("version {version}"),
        );
    }
}

#[test]
fn cli_oneline_matches_the_fmt_pipeline() {
    let repo = scenario::mixed();
    let since = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let run = RunOptions {
        since: Some(since.clone()),
        ..RunOptions::default()
    };
    let ours = lava_release_changelog(&repo, VERSION, "oneline", &run);
    let theirs = oneline_pipeline(&repo, VERSION, &since, Some(&first_bullet()));
    assert_same(&ours, &theirs, "lava-release oneline");
}

#[test]
fn cli_oneline_takes_a_revision_expression_like_the_script() {
    // do-debian-release -t "^X TAG": git log ^X TAG..HEAD.
    let repo = scenario::mixed();
    let root = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let side = repo.git(&["rev-parse", "HEAD~3"]).trim().to_owned();
    let since = format!("^{side} {root}");
    let run = RunOptions {
        since: Some(since.clone()),
        ..RunOptions::default()
    };
    let ours = lava_release_changelog(&repo, VERSION, "oneline", &run);
    let theirs = oneline_pipeline(&repo, VERSION, &since, Some(&first_bullet()));
    assert_same(&ours, &theirs, "lava-release oneline ^X TAG");
    assert!(
        ours.lines().count()
            < lava_release_changelog(
                &repo,
                VERSION,
                "oneline",
                &RunOptions {
                    since: Some(root),
                    ..RunOptions::default()
                }
            )
            .lines()
            .count(),
        "^X leaves commits out"
    );
}

#[test]
fn cli_git_log_matches_git_log_both_ways() {
    let repo = scenario::mixed();
    let since = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let run = RunOptions {
        since: Some(since.clone()),
        ..RunOptions::default()
    };
    assert_same(
        &lava_release_changelog(&repo, VERSION, "git-log", &run),
        &git_log_pipeline(&repo, VERSION, &since, Some(&first_bullet()), false),
        "git-log oldest first",
    );
    assert_same(
        &lava_release_changelog_with(&repo, VERSION, "git-log", &run, &["--newest-first"]),
        &git_log_pipeline(&repo, VERSION, &since, Some(&first_bullet()), true),
        "git-log newest first",
    );
}

/// Runs `lava-release changelog ARGS` in `repo` as the release manager with extra
/// environment, returning the whole output.
fn changelog_command(repo: &GitRepo, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(tests::gitrepo::lava_release_bin());
    cmd.arg("-C")
        .arg(repo.path())
        .args(["changelog", "--version", VERSION])
        .args(args)
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("DEBFULLNAME", RM.name)
        .env("DEBEMAIL", RM.email)
        .env_remove("VISUAL")
        .env_remove("EDITOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("lava-release runs")
}

#[test]
fn cli_reads_a_hand_edited_top_entry_as_dpkg_does() {
    // Every hand edit seen in real changelogs at once: two spaces after the star,
    // trailing blanks, an empty maintainer name and a trailer indented by hand.
    let mut repo = scenario::mixed();
    let old = std::fs::read_to_string(repo.path().join("debian/changelog")).unwrap();
    let edited = format!(
        "lava (2024.03-1) unstable; urgency=medium\n\n  *  Hand-made entry   \n   \n\n  -- {} <{}>  Fri, 01 Mar 2024 10:00:00 +0100\n\nlava (2024.02-1) unstable; urgency=medium\n\n  * x\n\n -- <{}>  Thu, 01 Feb 2024 10:00:00 +0100\n\n{old}",
        RM.name, RM.email, RM.email
    );
    repo.commit_files(
        RM,
        "Hand-edit the changelog\n",
        &[("debian/changelog", &edited)],
    );
    let dpkg = std::process::Command::new("dpkg-parsechangelog")
        .args(["-l", "debian/changelog", "-S", "Version"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&dpkg.stdout).trim(), "2024.03-1");

    let out = changelog_command(&repo, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [format!(
            "warning: debian/changelog line 6: trailer indented by hand (dpkg reads it as a change): `  -- {} <{}>  Fri, 01 Mar 2024 10:00:00 +0100`",
            RM.name, RM.email
        )]
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("lava (2024.05-1) unstable"));
}

#[test]
fn cli_refuses_a_version_not_newer_than_the_top_entry() {
    let repo = scenario::mixed();
    let out = changelog_command(&repo, &["--debian-version", "2024.05-1"], &[]);
    assert!(out.status.success());
    let out = std::process::Command::new(tests::gitrepo::lava_release_bin())
        .arg("-C")
        .arg(repo.path())
        .args(["changelog", "--version", "2024.01"])
        .env("DEBFULLNAME", RM.name)
        .env("DEBEMAIL", RM.email)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "lava-release: version 2024.01-1 is not newer than 2024.01-1 at the top of debian/changelog"
    );
}

/// An editor script: `sed` program applied to the file, then exit `status`.
fn editor(repo: &GitRepo, name: &str, sed: &str, status: i32) -> String {
    let path = repo.scratch().join(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\nsed -i '{sed}' \"$1\"\nexit {status}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn cli_edit_writes_what_the_release_manager_typed() {
    let repo = scenario::mixed();
    let changelog = repo.path().join("debian/changelog");
    let before = std::fs::read_to_string(&changelog).unwrap();
    let check = |editor: &str, var: &str| {
        let out = changelog_command(&repo, &["--edit"], &[(var, editor)]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        )
    };

    // Left unchanged, failing, or changing what is not the editor's: nothing written.
    let unchanged = editor(&repo, "unchanged", "", 0);
    assert_eq!(
        check(&unchanged, "EDITOR"),
        (
            Some(2),
            "lava-release: the 2024.05-1 entry was left unchanged in the editor; debian/changelog is unchanged".into()
        )
    );
    let failing = editor(&repo, "failing", "s/release/RELEASE/", 3);
    let (code, stderr) = check(&failing, "VISUAL");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("failed (exit status: 3); debian/changelog is unchanged"),
        "{stderr}"
    );
    let version = editor(&repo, "version", "1s/2024.05-1/2024.06-1/", 0);
    assert_eq!(
        check(&version, "EDITOR"),
        (
            Some(2),
            "lava-release: the edited entry is for version 2024.06-1, not 2024.05-1; the version is lava-release's to choose; debian/changelog is unchanged".into()
        )
    );
    let trailer = editor(&repo, "trailer", "/^ -- /d", 0);
    let (code, stderr) = check(&trailer, "EDITOR");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("has no trailer line"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&changelog).unwrap(), before);

    // A real edit, with $VISUAL winning over $EDITOR as for git and debchange.
    let typed = editor(&repo, "typed", "3a\\    Codename: Lemon.", 0);
    let out = changelog_command(
        &repo,
        &["--edit"],
        &[("VISUAL", &typed), ("EDITOR", &failing)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(&changelog).unwrap();
    assert!(
        after.ends_with(&format!("\n{before}")),
        "the old entries follow"
    );
    let top = tests::gitrepo::top_entry(&after);
    assert_eq!(
        top.lines().take(4).collect::<Vec<_>>(),
        [
            "lava (2024.05-1) unstable; urgency=medium",
            "",
            "  * LAVA Software 2024.05 release",
            "    Codename: Lemon.",
        ]
    );
}
