//! `log`, `last_tag` and short ids compared with `git log`, `git describe` and `%h` on
//! generated histories: branches, merges (TREESAME to either side, octopus, unrelated
//! roots), empty commits, mode changes, clock skew and equal dates.

// Helpers outside #[test] functions unwrap too: a failure there is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;

use lava_git::{LogQuery, TagPattern};
use support::{Files, Fixture, History, Rng};

const PATHS: &[&str] = &[
    "debian/changelog",
    "debian/rules",
    "debian/control",
    "debian/source/format",
    "debian2/look-alike",
    "debianx",
    "src/a.py",
    "src/b.py",
    "src/lib/c.py",
    "doc/index.md",
    "README",
];

const AUTHORS: &[(&str, &str)] = &[
    ("Alice Example", "alice@example.org"),
    ("Bob Example", "bob@example.org"),
    ("Ça Va", "cava@example.org"),
    ("Dee", "dee@example.net"),
];

const PATH_FILTERS: &[&[&str]] = &[
    &[],
    &["debian"],
    &["debian/"],
    &["debian/changelog"],
    &["debian/rules"],
    &["debian", "src/lib"],
    &["src/a.py", "README"],
    &["debian/source/format"],
    &["no/such/path"],
    &["."],
];

struct Generated {
    fixture: Fixture,
    /// Full ids by mark (index 0 unused).
    ids: Vec<String>,
    tags: Vec<String>,
}

/// A history of about `steps` commits over several branches.
fn generate(seed: u64, steps: usize) -> Generated {
    let fixture = Fixture::new();
    let mut rng = Rng::new(seed);
    let mut h = History::default();
    let mut date = 0i64;
    let mut files = Files::new();
    for path in ["debian/changelog", "debian/rules", "src/a.py", "README"] {
        files.insert(path.to_owned(), ("100644", format!("{path} 0\n")));
    }
    let author = AUTHORS[0];
    h.commit("main", &[], files, author, date, "Initial import\n");
    let mut branches = vec!["main".to_owned()];

    for i in 1..steps {
        // Mostly forward in time, sometimes skewed back or on the very same second.
        date = match rng.below(100) {
            0..=9 => date - rng.below(5 * 3600) as i64,
            10..=14 => date,
            _ => date + 60,
        };
        let author = AUTHORS[rng.below(AUTHORS.len())];
        let action = rng.below(100);
        if action < 60 {
            let branch = branches[rng.below(branches.len())].clone();
            let tip = h.tips[&branch];
            let mut files = h.trees[tip - 1].clone();
            mutate(&mut rng, &mut files, i);
            let message = format!("Change {i} on {branch}\n\nBody of change {i}.\n");
            h.commit(&branch, &[tip], files, author, date, &message);
        } else if action < 70 {
            // A topic branch from anywhere in the history, or now and then a new root.
            let name = format!("topic{i}");
            if rng.chance(8) {
                let mut files = Files::new();
                files.insert(
                    "debian/changelog".to_owned(),
                    ("100644", format!("orphan {i}\n")),
                );
                h.commit(
                    &name,
                    &[],
                    files,
                    author,
                    date,
                    &format!("Orphan root {i}\n"),
                );
            } else {
                let base = 1 + rng.below(h.trees.len());
                let mut files = h.trees[base - 1].clone();
                mutate(&mut rng, &mut files, i);
                h.commit(
                    &name,
                    &[base],
                    files,
                    author,
                    date,
                    &format!("Start {name}\n"),
                );
            }
            branches.push(name);
        } else if branches.len() > 1 {
            let a = branches[rng.below(branches.len())].clone();
            let mut others: Vec<&String> = branches
                .iter()
                .filter(|b| **b != a && h.tips[*b] != h.tips[&a])
                .collect();
            if others.is_empty() {
                continue;
            }
            let b = others.swap_remove(rng.below(others.len())).clone();
            let mut parents = vec![h.tips[&a], h.tips[&b]];
            if action >= 96 && !others.is_empty() {
                parents.push(h.tips[others[rng.below(others.len())]]);
            }
            let sides: Vec<&Files> = parents.iter().map(|&p| &h.trees[p - 1]).collect();
            let files = match rng.below(4) {
                // Ours, theirs: the merge is TREESAME to one side.
                0 => sides[0].clone(),
                1 => sides[1].clone(),
                _ => {
                    let mut merged = Files::new();
                    for side in &sides {
                        for (path, entry) in side.iter() {
                            if !merged.contains_key(path) || rng.chance(50) {
                                merged.insert(path.clone(), entry.clone());
                            }
                        }
                    }
                    if rng.chance(30) {
                        mutate(&mut rng, &mut merged, i);
                    }
                    merged
                }
            };
            h.commit(
                &a,
                &parents,
                files,
                author,
                date,
                &format!("Merge {b} into {a}\n"),
            );
        }
    }

    // Tags: annotated release and Debian tags, lightweight ones, and two annotated
    // tags on one commit where the newer tagger date must win.
    let marks = h.trees.len();
    let mut tags = Vec::new();
    for k in 0..12 {
        let mark = 1 + rng.below(marks);
        let name = if k % 3 == 2 {
            format!("debian/1.{k}-1")
        } else {
            format!("v1.{k}")
        };
        h.tag(&name, mark, date + k as i64);
        tags.push(name);
    }
    for k in 0..4 {
        let name = format!("light{k}");
        h.lightweight(&name, 1 + rng.below(marks));
        tags.push(name);
    }
    let shared = 1 + rng.below(marks);
    h.tag("v2.0-older", shared, date - 100);
    h.tag("v2.0-newer", shared, date + 100);
    h.tag("v3.0-b", h.tips["main"], date);
    h.tag("v3.0-a", h.tips["main"], date);
    tags.extend(["v2.0-older", "v2.0-newer", "v3.0-a", "v3.0-b"].map(String::from));

    let ids = h.import(&fixture);
    support::checkout(&fixture, "main");
    Generated { fixture, ids, tags }
}

/// Changes one or two files: new content, deletion, a mode flip or nothing at all.
fn mutate(rng: &mut Rng, files: &mut Files, i: usize) {
    for _ in 0..1 + rng.below(2) {
        let path = PATHS[rng.below(PATHS.len())].to_owned();
        match rng.below(20) {
            0 => {
                files.remove(&path);
            }
            1 => {
                if let Some(entry) = files.get_mut(&path) {
                    entry.0 = if entry.0 == "100644" {
                        "100755"
                    } else {
                        "100644"
                    };
                }
            }
            2 => {} // An empty commit.
            _ => {
                files.insert(path.clone(), ("100644", format!("{path} {i}\n")));
            }
        }
    }
}

fn git_log(fixture: &Fixture, query: &LogQuery) -> Vec<String> {
    let range = match &query.since {
        Some(since) => format!("{since}..{}", query.until),
        None => query.until.clone(),
    };
    let excludes: Vec<String> = query.exclude.iter().map(|x| format!("^{x}")).collect();
    let mut args = vec!["log", "--format=%H"];
    if query.no_merges {
        args.push("--no-merges");
    }
    args.extend(excludes.iter().map(String::as_str));
    args.push(&range);
    args.push("--");
    args.extend(query.paths.iter().map(String::as_str));
    fixture.git(&args).lines().map(str::to_owned).collect()
}

/// Author, `%h` and raw message of every commit, from git.
fn git_commit_facts(fixture: &Fixture) -> HashMap<String, (String, String, String, String)> {
    let mut facts = HashMap::new();
    let out = fixture.git(&["log", "--all", "--format=%H%x00%h%x00%an%x00%ae"]);
    let mut ids = String::new();
    for line in out.lines() {
        let fields: Vec<&str> = line.split('\0').collect();
        facts.insert(
            fields[0].to_owned(),
            (
                fields[1].to_owned(),
                fields[2].to_owned(),
                fields[3].to_owned(),
                String::new(),
            ),
        );
        ids.push_str(fields[0]);
        ids.push('\n');
    }
    // `cat-file --batch` prints `<id> commit <size>\n<raw object>\n` per commit.
    let out = fixture.output(&["cat-file", "--batch"], Some(ids.as_bytes()));
    let mut raw = &out.stdout[..];
    while let Some(nl) = raw.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8_lossy(&raw[..nl]).into_owned();
        let mut parts = header.split(' ');
        let id = parts.next().expect("id").to_owned();
        let size: usize = parts.nth(1).expect("size").parse().expect("numeric size");
        let object = &raw[nl + 1..nl + 1 + size];
        let at = object
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("header end");
        let message = String::from_utf8_lossy(&object[at + 2..]).into_owned();
        if let Some(entry) = facts.get_mut(&id) {
            entry.3 = message;
        }
        raw = &raw[nl + 1 + size + 1..];
    }
    facts
}

fn pack_index(fixture: &Fixture) -> String {
    let dir = fixture.path.join(".git/objects/pack");
    let idx = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    idx.display().to_string()
}

/// Compares `log` with `git log` on many random ranges and path filters.
fn check_log(generated: &Generated, seed: u64, queries: usize) {
    let Generated { fixture, ids, tags } = generated;
    let repo = fixture.open();
    let facts = git_commit_facts(fixture);
    let mut rng = Rng::new(seed);
    let revs: Vec<String> = ids[1..]
        .iter()
        .cloned()
        .chain(tags.iter().cloned())
        .collect();
    let mut shown = 0;
    for q in 0..queries {
        let until = if q % 4 == 0 {
            "HEAD".to_owned()
        } else {
            revs[rng.below(revs.len())].clone()
        };
        let since = (q % 3 != 0).then(|| revs[rng.below(revs.len())].clone());
        let paths = PATH_FILTERS[rng.below(PATH_FILTERS.len())]
            .iter()
            .map(|p| p.to_string())
            .collect();
        // Now and then a second exclusion, as `git log ^X since..until`.
        let exclude = if q % 5 == 1 {
            vec![revs[rng.below(revs.len())].clone()]
        } else {
            Vec::new()
        };
        let query = LogQuery {
            since,
            exclude,
            until,
            paths,
            no_merges: rng.chance(50),
        };
        let ours = repo.log(&query).unwrap();
        let ours_ids: Vec<String> = ours.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ours_ids, git_log(fixture, &query), "{query:?}");
        for commit in &ours {
            let (short, name, email, message) = &facts[&commit.id];
            assert_eq!(
                (
                    &commit.short_id,
                    &commit.author_name,
                    &commit.author_email,
                    &commit.message
                ),
                (short, name, email, message),
                "{}",
                commit.id
            );
        }
        shown += ours.len();
    }
    assert!(
        shown > queries,
        "the queries should show commits, got {shown}"
    );
}

#[test]
fn log_matches_git_log_on_generated_histories() {
    for seed in [1, 2, 3] {
        let generated = generate(seed, 300);
        check_log(&generated, seed * 7, 150);
    }
}

/// Repacked as a clone's pack is, where git may store commits as deltas, and with a
/// commit-graph: both read paths (whole commits through windows, deltas through gix).
#[test]
fn log_matches_git_log_with_a_commit_graph() {
    let generated = generate(4, 300);
    let fixture = &generated.fixture;
    fixture.git(&[
        "repack",
        "-a",
        "-d",
        "-f",
        "-q",
        "--window=250",
        "--depth=50",
    ]);
    let packed = fixture.git(&["verify-pack", "-v", &pack_index(fixture)]);
    let deltified_commits = packed
        .lines()
        .filter(|l| l.contains(" commit ") && l.split_whitespace().count() > 5)
        .count();
    assert!(
        deltified_commits > 0,
        "the repack should store some commits as deltas"
    );
    fixture.git(&["commit-graph", "write", "--reachable"]);
    assert!(
        generated
            .fixture
            .path
            .join(".git/objects/info/commit-graph")
            .exists()
    );
    check_log(&generated, 11, 150);
}

#[test]
fn log_matches_git_log_in_a_shallow_clone() {
    let generated = generate(5, 300);
    let clone = Fixture::shallow_clone(&generated.fixture, 6);
    assert!(clone.path.join(".git/shallow").exists());
    let repo = clone.open();
    let mut shown = 0;
    for paths in PATH_FILTERS {
        let query = LogQuery {
            since: None,
            exclude: Vec::new(),
            until: "HEAD".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            no_merges: false,
        };
        let ours: Vec<String> = repo
            .log(&query)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ours, git_log(&clone, &query), "{query:?}");
        shown += ours.len();
    }
    assert!(shown > 0, "the shallow history should show commits");
}

#[test]
fn last_commit_touching_matches_git_log_1() {
    let generated = generate(6, 200);
    let fixture = &generated.fixture;
    let repo = fixture.open();
    for path in PATHS.iter().chain(&["debian", "src", "nothing/here"]) {
        let git = fixture.git(&["log", "-1", "--format=%H", "--", path]);
        let git = (!git.trim().is_empty()).then(|| git.trim().to_owned());
        assert_eq!(repo.last_commit_touching(path).unwrap(), git, "{path}");
    }
}

#[test]
fn last_tag_matches_git_describe() {
    let patterns = [
        TagPattern {
            include: vec![],
            exclude: vec![],
        },
        TagPattern {
            include: vec!["v*".into()],
            exclude: vec![],
        },
        TagPattern {
            include: vec![],
            exclude: vec!["debian/*".into()],
        },
        TagPattern {
            include: vec!["v1.*".into(), "debian/*".into()],
            exclude: vec!["v1.1*".into()],
        },
        TagPattern {
            include: vec!["nothing-matches".into()],
            exclude: vec![],
        },
    ];
    let mut described = 0;
    for seed in [7, 8] {
        let generated = generate(seed, 250);
        let fixture = &generated.fixture;
        let mut rng = Rng::new(seed);
        for _ in 0..40 {
            let head = &generated.ids[1 + rng.below(generated.ids.len() - 1)];
            fixture.git(&["update-ref", "--no-deref", "HEAD", head]);
            let repo = fixture.open();
            for pattern in &patterns {
                let mut args = vec!["describe".to_owned(), "--abbrev=0".to_owned()];
                args.extend(pattern.include.iter().map(|g| format!("--match={g}")));
                args.extend(pattern.exclude.iter().map(|g| format!("--exclude={g}")));
                args.push("HEAD".into());
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let git = fixture.git_maybe(&args).map(|name| name.trim().to_owned());
                let ours = repo.last_tag(pattern).unwrap();
                assert_eq!(
                    ours.as_ref().map(|t| t.name.clone()),
                    git,
                    "HEAD {head}, {pattern:?}"
                );
                if let Some(tag) = ours {
                    let peeled = fixture.git(&["rev-parse", &format!("{}^{{commit}}", tag.name)]);
                    assert_eq!(tag.commit, peeled.trim());
                    described += 1;
                }
            }
        }
    }
    assert!(
        described > 50,
        "most HEADs should be describable, got {described}"
    );
}

#[test]
fn last_tag_on_an_exactly_tagged_head_prefers_the_newer_annotated_tag() {
    let fixture = Fixture::new();
    fixture.write("debian/changelog", "one\n");
    let first = fixture.commit_all("first", 0);
    fixture.write("debian/changelog", "two\n");
    fixture.commit_all("second", 60);
    for (name, date) in [("2024.01", 100), ("2024.02", 50)] {
        let out = fixture
            .command(&["tag", "-a", "-m", name, name])
            .env(
                "GIT_COMMITTER_DATE",
                format!("@{} +0000", support::EPOCH + date),
            )
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    fixture.git(&["tag", "lightweight", &first]);
    let repo = fixture.open();
    let any = TagPattern {
        include: vec![],
        exclude: vec![],
    };
    let tag = repo.last_tag(&any).unwrap().unwrap();
    assert_eq!(
        tag.name,
        fixture.git(&["describe", "--abbrev=0", "HEAD"]).trim()
    );
    assert_eq!(tag.name, "2024.01");
    assert_eq!(tag.commit, repo.head_id().unwrap());
}

/// `%h` needs git's object-count estimate and its uniqueness extension; `core.abbrev=4`
/// makes prefixes collide in a few thousand objects, packed and loose.
#[test]
fn short_ids_match_git_on_thousands_of_objects() {
    let fixture = Fixture::new();
    let mut h = History::default();
    let mut parent = None;
    for i in 0..2500 {
        let mut files = Files::new();
        files.insert(format!("f{}", i % 50), ("100644", format!("{i}\n")));
        let parents: Vec<usize> = parent.into_iter().collect();
        parent = Some(h.commit(
            "main",
            &parents,
            files,
            AUTHORS[i % 4],
            i as i64,
            &format!("c{i}\n"),
        ));
    }
    h.import(&fixture);
    // A second pack on top of the first, then loose objects.
    let mut more = History::default();
    let mut files = Files::new();
    for i in 0..300 {
        files.insert(
            format!("g{}", i % 7),
            ("100644", format!("second pack {i}\n")),
        );
        let parents: Vec<usize> = if i == 0 { vec![] } else { vec![i] };
        more.commit(
            "side",
            &parents,
            files.clone(),
            AUTHORS[i % 4],
            50_000 + i as i64,
            &format!("s{i}\n"),
        );
    }
    more.import(&fixture);
    assert_eq!(
        std::fs::read_dir(fixture.path.join(".git/objects/pack"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pack"))
            .count(),
        2,
        "two packs"
    );
    support::checkout(&fixture, "main");
    fixture.git(&[
        "merge",
        "-q",
        "--allow-unrelated-histories",
        "-m",
        "Join",
        "side",
    ]);
    for i in 0..30 {
        fixture.write("loose", &format!("{i}\n"));
        fixture.commit_all(&format!("loose {i}"), 100_000 + i);
    }
    let query = LogQuery {
        since: None,
        exclude: Vec::new(),
        until: "HEAD".into(),
        paths: vec![],
        no_merges: false,
    };
    for abbrev in [None, Some("4"), Some("9")] {
        if let Some(abbrev) = abbrev {
            fixture.git(&["config", "core.abbrev", abbrev]);
        }
        let git: Vec<String> = fixture
            .git(&["log", "--format=%h"])
            .lines()
            .map(String::from)
            .collect();
        let ours: Vec<String> = fixture
            .open()
            .log(&query)
            .unwrap()
            .into_iter()
            .map(|c| c.short_id)
            .collect();
        assert_eq!(ours, git, "core.abbrev={abbrev:?}");
        if abbrev == Some("4") {
            assert!(
                ours.iter().any(|s| s.len() > 4),
                "some prefixes should need extending"
            );
        }
    }
}

#[test]
fn log_names_the_revision_it_cannot_find() {
    let fixture = Fixture::new();
    fixture.write("README", "x\n");
    fixture.commit_all("one", 0);
    let repo = fixture.open();
    let query = LogQuery {
        since: Some("2099.01".into()),
        exclude: Vec::new(),
        until: "HEAD".into(),
        paths: vec![],
        no_merges: true,
    };
    let err = repo.log(&query).unwrap_err();
    assert!(
        matches!(&err, lava_git::Error::RevNotFound { rev, .. } if rev == "2099.01"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("revision `2099.01` is not a commit in "),
        "{err}"
    );
}
