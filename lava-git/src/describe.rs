//! `git describe --abbrev=0 [--match ..] [--exclude ..] HEAD`: the name part of git's
//! `builtin/describe.c`, without `--tags` (annotated tags only) and with the default of
//! 10 candidates.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gix::bstr::{BStr, ByteSlice as _};
use gix::hash::ObjectId;
use gix::hashtable::HashMap;

use crate::commits::{Commits, NodeId};
use crate::odb::Odb;
use crate::{Error, Result, Tag, TagPattern};

/// Git's `DEFAULT_CANDIDATES`.
const MAX_CANDIDATES: usize = 10;
const SEEN: u32 = 1;

/// A tag name known for a peeled object (`struct commit_name`).
struct Name {
    /// Ref name below `refs/tags/`.
    name: String,
    /// 2 for annotated tags, 1 for lightweight ones.
    prio: u8,
    /// The tag object (or, for lightweight tags, the object itself).
    oid: ObjectId,
}

/// A candidate tag met on the walk (`struct possible_tag`).
struct Candidate {
    peeled: ObjectId,
    depth: u64,
    found_order: usize,
    flag_within: u32,
}

/// Collects the tags as git's `get_name` does: refs below `refs/tags/` in name order,
/// filtered by `--exclude` then `--match`, one name per peeled object.
fn known_names(odb: &mut Odb<'_>, pattern: &TagPattern) -> Result<HashMap<ObjectId, Name>> {
    let repo = odb.repo;
    let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let refs_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Tags {
        repo: workdir.to_owned(),
        source,
    };
    let platform = repo.references().map_err(|e| refs_error(e.into()))?;
    let mut tags = Vec::new();
    for reference in platform
        .prefixed("refs/tags/")
        .map_err(|e| refs_error(e.into()))?
    {
        let reference = reference.map_err(|e| refs_error(e.into()))?;
        let full = reference.name().as_bstr().to_owned();
        let Some(target) = reference.target().try_id().map(ToOwned::to_owned) else {
            // A symbolic ref below refs/tags/ is not something describe can name.
            continue;
        };
        tags.push((full, target));
    }
    // Git iterates refs sorted by name, which decides between tags of equal rank.
    tags.sort();

    let mut names: HashMap<ObjectId, Name> = HashMap::default();
    let mut buf = Vec::new();
    for (full, oid) in tags {
        let Some(short) = full.strip_prefix(b"refs/tags/") else {
            continue;
        };
        let short = short.as_bstr();
        if pattern.exclude.iter().any(|glob| wildmatch(glob, short)) {
            continue;
        }
        if !pattern.include.is_empty() && !pattern.include.iter().any(|glob| wildmatch(glob, short))
        {
            continue;
        }
        let (peeled, annotated) = peel(odb, oid, &mut buf)?;
        let prio = if annotated { 2 } else { 1 };
        let replace = match names.get(&peeled) {
            None => true,
            Some(existing) if existing.prio < prio => true,
            // Several annotated tags on one commit: the newest tagger date wins, the
            // first in name order on a tie (git's replace_name).
            Some(existing) if existing.prio == 2 && prio == 2 => {
                match tagger_date(odb, existing.oid, &mut buf) {
                    None => true,
                    Some(old) => tagger_date(odb, oid, &mut buf).is_some_and(|new| old < new),
                }
            }
            Some(_) => false,
        };
        if replace {
            names.insert(
                peeled,
                Name {
                    name: short.to_str_lossy().into_owned(),
                    prio,
                    oid,
                },
            );
        }
    }
    Ok(names)
}

fn wildmatch(glob: &str, name: &BStr) -> bool {
    // Flags 0, as describe passes them: `*` matches `/` too.
    gix::glob::wildmatch(glob.into(), name, gix::glob::wildmatch::Mode::empty())
}

/// Follows tag objects to what they finally point at; `true` when `oid` was a tag.
fn peel(odb: &mut Odb<'_>, oid: ObjectId, buf: &mut Vec<u8>) -> Result<(ObjectId, bool)> {
    let mut current = oid;
    loop {
        match tag_target(odb, current, buf)? {
            Some(target) => current = target,
            None => return Ok((current, current != oid)),
        }
    }
}

/// The object a tag object points at, `None` when `oid` is not a tag.
fn tag_target(odb: &mut Odb<'_>, oid: ObjectId, buf: &mut Vec<u8>) -> Result<Option<ObjectId>> {
    let (kind, data) = odb.read_any(&oid, false, buf)?;
    if kind != gix::objs::Kind::Tag {
        return Ok(None);
    }
    let target = data
        .strip_prefix(b"object ")
        .and_then(|rest| rest.get(..oid.kind().len_in_hex()))
        .and_then(|hex| ObjectId::from_hex(hex).ok());
    match target {
        Some(target) => Ok(Some(target)),
        None => Err(Error::BadTag {
            id: oid.to_string(),
            repo: odb
                .repo
                .workdir()
                .unwrap_or_else(|| odb.repo.git_dir())
                .to_owned(),
        }),
    }
}

/// Git's `parse_tag_date`: the number after the first `>` of the tagger line, `None` when
/// the tag object cannot be read.
fn tagger_date(odb: &mut Odb<'_>, oid: ObjectId, buf: &mut Vec<u8>) -> Option<u64> {
    let data = odb.read(&oid, gix::objs::Kind::Tag, buf).ok()?;
    let header_end = data.find(b"\n\n").unwrap_or(data.len());
    let tagger = data[..header_end]
        .lines()
        .find_map(|line| line.strip_prefix(b"tagger "));
    let Some(line) = tagger else { return Some(0) };
    let Some(gt) = line.find_byte(b'>') else {
        return Some(0);
    };
    let digits = line[gt + 1..].trim_ascii_start();
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    Some(digits[..end].iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// The tag `git describe --abbrev=0` names for `head`, `None` where git says
/// "No annotated tags can describe" or "No names found".
pub(crate) fn describe(
    repo: &gix::Repository,
    head: ObjectId,
    pattern: &TagPattern,
) -> Result<Option<Tag>> {
    let mut commits = Commits::new(repo)?;
    let names = known_names(&mut commits.odb, pattern)?;
    let tag = |peeled: &ObjectId| {
        names.get(peeled).map(|n| Tag {
            name: n.name.clone(),
            commit: peeled.to_string(),
        })
    };
    if names.get(&head).is_some_and(|n| n.prio == 2) {
        return Ok(tag(&head));
    }

    let mut matches: Vec<Candidate> = Vec::new();
    let mut annotated = 0usize;
    let mut seen_commits = 0u64;
    let mut seq = 0u64;
    let mut list: BinaryHeap<(u64, Reverse<u64>, NodeId)> = BinaryHeap::new();

    let start = commits.node(head);
    commits.parse(start)?;
    commits.nodes[start as usize].flags = SEEN;
    list.push((commits.nodes[start as usize].date, Reverse(seq), start));

    while let Some((_, _, c)) = list.pop() {
        seen_commits += 1;
        if matches.len() == MAX_CANDIDATES || matches.len() == names.len() {
            break;
        }
        let id = commits.nodes[c as usize].id;
        if let Some(name) = names.get(&id) {
            if name.prio < 2 {
                // Lightweight tags only count without --tags as a hint; skip them.
            } else {
                let found_order = matches.len() + 1;
                let flag_within = 1u32 << found_order;
                matches.push(Candidate {
                    peeled: id,
                    depth: seen_commits - 1,
                    found_order,
                    flag_within,
                });
                commits.set(c, flag_within);
                annotated += 1;
            }
        }
        let flags = commits.flags(c);
        for m in &mut matches {
            if flags & m.flag_within == 0 {
                m.depth += 1;
            }
        }
        // Stop once the last open path is covered by the best candidate(s).
        if annotated > 0 && list.is_empty() {
            let best_depth = matches.iter().map(|m| m.depth).min().unwrap_or(u64::MAX);
            let best_within = matches
                .iter()
                .filter(|m| m.depth == best_depth)
                .fold(0, |acc, m| acc | m.flag_within);
            if flags & best_within == best_within {
                break;
            }
        }
        for i in 0..commits.parents(c).len() {
            let p = commits.parents(c)[i];
            commits.parse(p)?;
            if commits.flags(p) & SEEN == 0 {
                seq += 1;
                list.push((commits.nodes[p as usize].date, Reverse(seq), p));
            }
            commits.set(p, flags);
        }
    }
    // QSORT by (depth, found_order); found_order is unique, so the order is total.
    Ok(matches
        .iter()
        .min_by_key(|m| (m.depth, m.found_order))
        .and_then(|best| tag(&best.peeled)))
}
