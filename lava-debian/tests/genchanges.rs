//! Our source-only `.changes` against the real `dpkg-genchanges -S`.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use lava_debian::{OrigInclusion, write_source_changes};

use common::*;

/// The fields of a one-paragraph control file, values kept byte for byte
/// (continuation lines included) so indentation differences show.
fn fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            let last = out.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.to_owned(), v.trim_start().to_owned()));
        }
    }
    out
}

fn compare(flag: &str, orig: OrigInclusion) {
    require("dpkg-genchanges", "dpkg-dev");
    let dir = tempfile::tempdir().unwrap();
    let tree = quilt_source(dir.path(), "1.0", "1", 10_000);
    let theirs = run(Command::new("dpkg-genchanges")
        .current_dir(&tree)
        .args(["-S", flag]));
    let (path, ours) = write_source_changes(
        dir.path(),
        &tree,
        "lava_1.0-1.dsc",
        "Thu, 02 Jan 2025 12:00:00 +0000",
        orig,
    )
    .unwrap();
    assert_eq!(path, dir.path().join("lava_1.0-1_source.changes"));
    let (ours, theirs) = (fields(&ours), fields(&theirs));
    let names = |f: &[(String, String)]| f.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "field order");
    for ((k, a), (_, b)) in ours.iter().zip(&theirs) {
        if k == "Date" {
            assert_eq!(a, "Thu, 02 Jan 2025 12:00:00 +0000");
        } else {
            assert_eq!(a, b, "field {k} with {flag}");
        }
    }
    let files = &ours.iter().find(|(k, _)| k == "Files").unwrap().1;
    assert_eq!(files.contains("orig.tar.gz"), flag != "-sd", "{files}");
}

#[test]
fn matches_dpkg_genchanges_sa() {
    compare("-sa", OrigInclusion::Include);
}

#[test]
fn matches_dpkg_genchanges_sd() {
    compare("-sd", OrigInclusion::Exclude);
}

#[test]
fn auto_matches_dpkg_default_for_a_new_upstream() {
    // With no previous entry the upstream version is new: dpkg-genchanges includes
    // the orig tarball by default.
    compare("-si", OrigInclusion::Auto);
}
