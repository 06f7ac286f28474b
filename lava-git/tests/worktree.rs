//! HEAD, revisions, files, status, identity and the release commit, compared with git.

// Helpers outside #[test] functions unwrap too: a failure there is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use lava_git::Error;
use support::Fixture;

/// A repository with two commits, an annotated and a lightweight tag.
fn two_commits() -> (Fixture, String, String) {
    let fixture = Fixture::new();
    fixture.write(
        "debian/changelog",
        "lava (2024.01-1) unstable; urgency=medium\n",
    );
    fixture.write("README", "LAVA\n");
    let first = fixture.commit_all("Initial import", 0);
    fixture.git(&["tag", "-a", "-m", "2024.01", "2024.01"]);
    fixture.git(&["tag", "light", &first]);
    fixture.write("README", "LAVA, the automated validation architecture\n");
    let second = fixture.commit_all("Describe LAVA\n\nIn the README.\n", 60);
    (fixture, first, second)
}

/// The paths `git status --porcelain -z` lists, renames contributing both.
fn git_status_paths(fixture: &Fixture) -> BTreeSet<String> {
    let out = fixture.git(&["status", "--porcelain", "-z"]);
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    let mut paths = BTreeSet::new();
    while let Some(field) = fields.next() {
        let (xy, path) = field.split_at(3);
        paths.insert(path.to_owned());
        if xy.contains('R') || xy.contains('C') {
            paths.insert(fields.next().expect("the rename source").to_owned());
        }
    }
    paths
}

#[test]
fn head_and_revisions_resolve_as_git_rev_parse() {
    let (fixture, first, second) = two_commits();
    let repo = fixture.open();
    assert_eq!(repo.head_id().unwrap(), second);
    assert_eq!(repo.head_branch().unwrap().as_deref(), Some("main"));
    for rev in [
        "HEAD",
        "HEAD~1",
        "2024.01",
        "refs/tags/2024.01",
        "light",
        "main",
        &first[..10],
        "nope",
        "HEAD~5",
    ] {
        let git = fixture.git_maybe(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")]);
        assert_eq!(
            repo.resolve_commit(rev).unwrap(),
            git.map(|s| s.trim().to_owned()),
            "{rev}"
        );
    }
    assert!(repo.tag_exists("2024.01").unwrap());
    assert!(repo.tag_exists("light").unwrap());
    assert!(!repo.tag_exists("2024.02").unwrap());
    assert!(!repo.tag_exists("not a tag name").unwrap());

    fixture.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let repo = fixture.open();
    assert_eq!(repo.head_branch().unwrap(), None);
    assert_eq!(repo.head_id().unwrap(), first);
}

#[test]
fn an_unborn_branch_has_no_head_commit_and_no_tag() {
    let fixture = Fixture::new();
    let repo = fixture.open();
    assert_eq!(repo.head_branch().unwrap().as_deref(), Some("main"));
    let err = repo.head_id().unwrap_err();
    assert!(matches!(err, Error::UnbornHead { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("has no commits yet; commit something first"),
        "{err}"
    );
    let any = lava_git::TagPattern {
        include: vec![],
        exclude: vec![],
    };
    assert_eq!(repo.last_tag(&any).unwrap(), None);
    assert_eq!(repo.last_commit_touching("debian").unwrap(), None);
}

#[test]
fn files_and_messages_are_read_from_commits() {
    let (fixture, first, second) = two_commits();
    let repo = fixture.open();
    assert_eq!(
        repo.file_at(&first, "README").unwrap().as_deref(),
        Some(
            fixture
                .git(&["show", &format!("{first}:README")])
                .as_bytes()
        )
    );
    assert_eq!(
        repo.file_at("HEAD", "debian/changelog").unwrap(),
        Some(b"lava (2024.01-1) unstable; urgency=medium\n".to_vec())
    );
    assert_eq!(repo.file_at("HEAD", "debian/missing").unwrap(), None);
    assert_eq!(repo.file_at("HEAD", "README/below-a-file").unwrap(), None);
    let err = repo.file_at("HEAD", "debian").unwrap_err();
    assert!(
        matches!(&err, Error::NotAFile { path, .. } if path == "debian"),
        "{err:?}"
    );

    let raw = fixture.git(&["cat-file", "commit", &second]);
    let message = &raw[raw.find("\n\n").unwrap() + 2..];
    assert_eq!(repo.commit_message(&second).unwrap(), message);
    assert_eq!(message, "Describe LAVA\n\nIn the README.\n");
    let err = repo.commit_message("0000000").unwrap_err();
    assert!(matches!(err, Error::RevNotFound { .. }), "{err:?}");
}

#[test]
fn dirty_paths_match_git_status_porcelain() {
    let (fixture, _, _) = two_commits();
    let repo = fixture.open();
    assert_eq!(repo.dirty_paths().unwrap(), Vec::<String>::new());

    fixture.write(".gitignore", "*.log\nbuild/\n");
    fixture.write("ignored.log", "noise\n");
    fixture.write("build/out.o", "binary\n");
    fixture.commit_all("Ignore build output", 120);
    fixture.write("README", "changed, unstaged\n");
    fixture.write("debian/changelog", "changed and staged\n");
    fixture.git(&["add", "debian/changelog"]);
    fixture.write("debian/rules", "new, staged\n");
    fixture.git(&["add", "debian/rules"]);
    fixture.write("notes.txt", "untracked\n");
    fixture.write("newdir/a/b.txt", "untracked directory\n");
    fixture.write("more.log", "ignored\n");
    fixture.git(&["mv", ".gitignore", "gitignore.moved"]);
    fixture.write(".gitignore", "*.log\nbuild/\n");
    std::fs::remove_file(fixture.path.join("ignored.log")).ok();

    let ours: BTreeSet<String> = repo.dirty_paths().unwrap().into_iter().collect();
    let git = git_status_paths(&fixture);
    assert_eq!(ours, git);
    assert!(ours.contains("newdir/"), "{ours:?}");
    assert!(
        !ours
            .iter()
            .any(|p| p.ends_with(".log") || p.starts_with("build")),
        "{ours:?}"
    );
}

#[test]
fn commit_paths_commits_only_those_paths_and_leaves_them_clean() {
    let (fixture, _, parent) = two_commits();
    fixture.write(
        "debian/changelog",
        "lava (2024.02-1) unstable; urgency=medium\n",
    );
    fixture.write("debian/rules", "#!/usr/bin/make -f\n");
    // Staged but not part of the release commit: it must stay staged, uncommitted.
    fixture.write("README", "staged separately\n");
    fixture.git(&["add", "README"]);
    fixture.write("unrelated.txt", "untracked\n");

    let repo = fixture.open();
    let message = "  \nRelease 2024.02  \n\n\n\nChangelog.\n\n";
    let id = repo
        .commit_paths_at(
            &["debian/changelog", "debian/rules"],
            message,
            support::EPOCH + 3600,
            60,
        )
        .unwrap();

    assert_eq!(fixture.git(&["rev-parse", "HEAD"]).trim(), id);
    assert_eq!(fixture.git(&["rev-parse", "main"]).trim(), id);
    assert_eq!(fixture.git(&["rev-parse", "HEAD~1"]).trim(), parent);
    assert_eq!(
        fixture.git(&["show", "--format=", "--name-status", "HEAD"]),
        "M\tdebian/changelog\nA\tdebian/rules\n"
    );
    // `git commit -m` cleans the message up in whitespace mode.
    assert_eq!(
        repo.commit_message(&id).unwrap(),
        "Release 2024.02\n\nChangelog.\n"
    );
    assert_eq!(
        fixture
            .git(&[
                "log",
                "-1",
                "--format=%an <%ae> %ad|%cn <%ce> %cd",
                "--date=raw"
            ])
            .trim(),
        format!(
            "{n} <{e}> {d} +0100|{n} <{e}> {d} +0100",
            n = support::NAME,
            e = support::EMAIL,
            d = support::EPOCH + 3600
        )
    );
    let status = git_status_paths(&fixture);
    assert_eq!(
        status,
        BTreeSet::from(["README".to_owned(), "unrelated.txt".to_owned()])
    );
    assert_eq!(
        fixture.git(&["diff", "--cached", "--name-only"]),
        "README\n"
    );
    assert_eq!(fixture.git(&["diff", "--name-only"]), "");
    fixture.git(&["fsck", "--strict", "--no-progress"]);
    assert!(
        fixture
            .git(&["reflog", "-1", "--format=%gs", "main"])
            .starts_with("commit: Release 2024.02")
    );

    // Nothing left to commit for those paths.
    let err = repo
        .commit_paths(&["debian/changelog"], "again")
        .unwrap_err();
    assert!(matches!(err, Error::NothingToCommit { .. }), "{err:?}");
    let err = repo.commit_paths(&["debian/nope"], "missing").unwrap_err();
    assert!(
        matches!(&err, Error::PathNotFound { path, .. } if path == "debian/nope"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("`debian/nope` is neither in the working tree nor in the index of ")
    );
}

#[test]
fn commit_paths_records_deletions_and_works_on_an_unborn_branch() {
    let fixture = Fixture::new();
    fixture.write("debian/changelog", "first\n");
    fixture.write("debian/old", "to be removed\n");
    let repo = fixture.open();
    let root = repo
        .commit_paths_at(
            &["debian/changelog", "debian/old"],
            "Root",
            support::EPOCH,
            0,
        )
        .unwrap();
    assert_eq!(fixture.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(
        fixture.git(&["ls-tree", "-r", "--name-only", &root]),
        "debian/changelog\ndebian/old\n"
    );
    std::fs::remove_file(fixture.path.join("debian/old")).unwrap();
    let id = repo
        .commit_paths_at(&["debian/old"], "Drop old", support::EPOCH + 1, 0)
        .unwrap();
    assert_eq!(
        fixture.git(&["ls-tree", "-r", "--name-only", &id]),
        "debian/changelog\n"
    );
    assert!(git_status_paths(&fixture).is_empty());
}

#[test]
fn identity_comes_from_git_config_and_its_absence_is_named() {
    let fixture = Fixture::without_identity();
    fixture.write("debian/changelog", "x\n");
    let repo = fixture.open();
    assert_eq!(repo.user_identity().unwrap(), (None, None));
    let err = repo
        .commit_paths(&["debian/changelog"], "Release")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingIdentity {
                key: "user.name",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("`user.name` is not set for "),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("; set it with `git config --global user.name ...`"),
        "{err}"
    );

    fixture.git(&["config", "user.name", "Only Name"]);
    let repo = fixture.open();
    assert_eq!(
        repo.user_identity().unwrap(),
        (Some("Only Name".to_owned()), None)
    );
    let err = repo
        .commit_paths(&["debian/changelog"], "Release")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingIdentity {
                key: "user.email",
                ..
            }
        ),
        "{err:?}"
    );
    fixture.git(&["config", "user.email", "only@example.org"]);
    assert_eq!(
        fixture.open().user_identity().unwrap(),
        (
            Some("Only Name".to_owned()),
            Some("only@example.org".to_owned())
        )
    );
}

#[test]
fn open_finds_the_top_of_the_working_tree_and_refuses_bare_repositories() {
    let (fixture, _, _) = two_commits();
    let repo = lava_git::Repository::open(&fixture.path.join("debian")).unwrap();
    assert_eq!(
        repo.workdir().canonicalize().unwrap(),
        fixture.path.canonicalize().unwrap()
    );
    assert!(repo.git_dir().ends_with(".git"));

    let bare = tempfile::tempdir().unwrap();
    let out = fixture.output(
        &["init", "-q", "--bare", &bare.path().display().to_string()],
        None,
    );
    assert!(out.status.success());
    let err = lava_git::Repository::open_isolated(bare.path())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Bare { .. }), "{err:?}");
    let nowhere = tempfile::tempdir().unwrap();
    let err = lava_git::Repository::open_isolated(nowhere.path())
        .err()
        .unwrap();
    assert!(
        err.to_string().ends_with("is not inside a git repository"),
        "{err}"
    );
}

#[test]
fn a_remote_tag_is_read_by_a_shallow_fetch_of_it_alone_over_both_transports() {
    let (fixture, first, _) = two_commits();
    let url = fixture.path.display().to_string();
    let object = fixture.git(&["rev-parse", "2024.01"]);
    for transport in [lava_git::Transport::Git, lava_git::Transport::Libgit2] {
        let net = lava_git::Network {
            transport,
            ..lava_git::Network::default()
        };
        let scratch = tempfile::tempdir().unwrap();
        let read = |name: &str| {
            let dir = scratch.path().join(name.replace('.', "-"));
            let found = lava_git::read_remote_tag(&url, name, &dir, &net).unwrap();
            (found, dir)
        };
        let (found, dir) = read("2024.01");
        let Some(lava_git::TagRef::Annotated(tag)) = found else {
            panic!("{transport:?}: 2024.01 is an annotated tag, read {found:?}");
        };
        assert_eq!(
            (tag.id.as_str(), tag.target.as_str()),
            (object.trim(), first.as_str())
        );
        // Only the tag came: the scratch repository is shallow, at the tagged commit
        // (libgit2 cannot fetch shallow from a path, and fetches it whole).
        let shallow = std::fs::read_to_string(dir.join("shallow")).ok();
        match transport {
            lava_git::Transport::Git => assert_eq!(shallow.unwrap().trim(), first),
            lava_git::Transport::Libgit2 => assert_eq!(shallow, None),
        }
        assert_eq!(
            read("light").0,
            Some(lava_git::TagRef::Lightweight {
                commit: first.clone()
            }),
            "{transport:?}"
        );
        assert_eq!(read("2099.01").0, None, "{transport:?}");
    }
}
