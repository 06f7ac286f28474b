//! Differential tests of the changelog against gbp dch and git log | fmt.
//!
//! Two layers: `render_*` feeds `git log`'s own view of a fixture repository
//! straight into `lava_changelog::render`, which tests the renderer independently of
//! how lava-git reads history; `cli_*` runs the `lava-release changelog` binary,
//! range selection and all. Both compare with the real tools, run on a clone of the
//! same repository, everything but the trailer's date.

use lava_changelog::{Entry, GbpOptions, Header, Style, Trailer};
use tests::gitrepo::{
    GitRepo, RM, RunOptions, SOURCE, gbp_dch, lava_release_changelog, mask_date, oneline_pipeline,
    scenario,
};

/// The release every test cuts.
const VERSION: &str = "2024.05";

fn first_bullet() -> String {
    format!("LAVA Software {VERSION} release")
}

/// Our entry for `commits`, rendered as the release manager.
fn render(commits: &[lava_changelog::Commit], style: Style, opts: &GbpOptions) -> String {
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
            let opts = GbpOptions {
                id_length: 9,
                multimaint_merge: merge,
                first_bullet: bullet.clone(),
            };
            let ours = render(&commits, Style::Gbp, &opts);
            let run = RunOptions {
                since: None,
                multimaint_merge: merge,
                first_bullet: bullet,
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

      * UNRELEASED

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
    let opts = GbpOptions {
        id_length: 9,
        multimaint_merge: false,
        first_bullet: Some(first_bullet()),
    };
    let run = RunOptions {
        since: Some(since),
        multimaint_merge: false,
        first_bullet: Some(first_bullet()),
    };
    assert_same(
        &render(&commits, Style::Gbp, &opts),
        &gbp_dch(&repo, VERSION, &run),
        "gbp --since",
    );
}

/// `render` in the oneline style against the git log | fmt pipeline, from the
/// initial commit.
fn check_render_oneline(repo: &GitRepo) -> String {
    let since = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let commits = repo.log(&since, &[]);
    let opts = GbpOptions {
        id_length: 9,
        multimaint_merge: false,
        first_bullet: Some(first_bullet()),
    };
    let ours = render(&commits, Style::Oneline, &opts);
    let theirs = oneline_pipeline(repo, VERSION, &since, Some(&first_bullet()));
    assert_same(&ours, &theirs, "oneline style");
    mask_date(&ours)
}

#[test]
fn render_oneline_matches_the_fmt_pipeline() {
    let entry = check_render_oneline(&scenario::mixed());
    insta::with_settings!({filters => vec![(r"(?m)^  \* [0-9a-f]{7,} ", "  * SHORTID ")]}, {
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
        "short",
    ];
    for (i, subject) in subjects.iter().enumerate() {
        repo.commit(
            tests::gitrepo::ANN,
            &format!("{subject}\n"),
            &format!("file{i}"),
        );
    }
    check_render_oneline(&repo);
}

/// The binary against gbp dch, letting both pick the range.
fn check_cli_gbp(repo: &GitRepo, merge: bool) {
    let run = RunOptions {
        since: None,
        multimaint_merge: merge,
        first_bullet: Some(first_bullet()),
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
fn cli_oneline_matches_the_fmt_pipeline() {
    let repo = scenario::mixed();
    let since = repo
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_owned();
    let run = RunOptions {
        since: Some(since.clone()),
        multimaint_merge: false,
        first_bullet: None,
    };
    let ours = lava_release_changelog(&repo, VERSION, "oneline", &run);
    let theirs = oneline_pipeline(&repo, VERSION, &since, Some(&first_bullet()));
    assert_same(&ours, &theirs, "lava-release oneline");
}
