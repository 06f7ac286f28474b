//! A table of commits as git's revision machinery sees them: id, tree, committer date
//! and parents, parsed on demand from the commit-graph when there is one and from the
//! commit objects otherwise, plus the raw object parsers both walks share.
//!
//! Git keeps a `struct commit` per object with a `parsed` bit and a flags word, and
//! its walks (`revision.c`, `builtin/describe.c`) rely on exactly when a commit gets
//! parsed: only parsed commits propagate `UNINTERESTING` to their parents. [`Commits`]
//! mirrors that, so the walks built on it can follow git step by step.

use std::path::Path;

use gix::hash::ObjectId;
use gix::hashtable::{HashMap, HashSet};

use crate::odb::Odb;
use crate::{Error, Result};

/// Index of a commit in [`Commits::nodes`].
pub(crate) type NodeId = u32;

/// Sentinel in the commit-graph position cache.
const NO_NODE: NodeId = NodeId::MAX;
/// `parents_len` of a commit not parsed yet.
const UNPARSED: u16 = u16::MAX;

/// One commit. `tree`, `date` and the parents are meaningful once parsed. Kept small
/// (parents live in [`Commits::arena`]): a walk over a long history holds one per commit.
pub(crate) struct Node {
    pub(crate) id: ObjectId,
    pub(crate) tree: ObjectId,
    /// Committer timestamp as git's `commit->date`: 0 when unparseable.
    pub(crate) date: u64,
    parents_at: u32,
    parents_len: u16,
    /// Walk-specific flag bits.
    pub(crate) flags: u32,
    /// Position in the commit-graph, `NO_NODE` when not in it (or not looked up yet).
    graph_pos: u32,
}

/// The commits a walk has met so far, and how to parse more.
pub(crate) struct Commits<'r> {
    pub(crate) odb: Odb<'r>,
    graph: Option<gix::commitgraph::Graph>,
    /// Commit-graph position → node: commits in the graph are found without hashing.
    by_pos: Vec<NodeId>,
    /// Commits listed in `.git/shallow`: git treats them as parentless.
    shallow: HashSet<ObjectId>,
    pub(crate) nodes: Vec<Node>,
    /// Parent lists of all nodes, back to back.
    arena: Vec<NodeId>,
    /// Id → node for commits outside the commit-graph.
    index: HashMap<ObjectId, NodeId>,
    buf: Vec<u8>,
}

impl<'r> Commits<'r> {
    pub(crate) fn new(repo: &'r gix::Repository) -> Result<Self> {
        let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
        let shallow: HashSet<ObjectId> = repo
            .shallow_commits()
            .map_err(|source| Error::Shallow {
                repo: workdir.to_owned(),
                source: source.into(),
            })?
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        // Git ignores the commit-graph in shallow repositories (commit_graph_compatible),
        // because the graph records the real parents; so do we.
        let graph = if shallow.is_empty() {
            repo.commit_graph_if_enabled()
                .map_err(|source| Error::CommitGraph {
                    repo: workdir.to_owned(),
                    source: source.into(),
                })?
        } else {
            None
        };
        let commits = graph.as_ref().map_or(0, |g| g.num_commits() as usize);
        Ok(Self {
            odb: Odb::new(repo)?,
            graph,
            by_pos: vec![NO_NODE; commits],
            shallow,
            // Reserved, not touched: pages of the reservation a short walk never reaches
            // stay out of the resident set, and a long walk never copies the table.
            nodes: Vec::with_capacity(commits),
            arena: Vec::with_capacity(commits + commits / 4),
            index: HashMap::default(),
            buf: Vec::new(),
        })
    }

    pub(crate) fn into_odb(self) -> Odb<'r> {
        self.odb
    }

    /// How many commits the repository has at least (its commit-graph's), to size tables.
    pub(crate) fn capacity_hint(&self) -> usize {
        self.by_pos.len()
    }

    pub(crate) fn workdir(&self) -> &'r Path {
        self.odb
            .repo
            .workdir()
            .unwrap_or_else(|| self.odb.repo.git_dir())
    }

    fn push(&mut self, id: ObjectId, graph_pos: u32) -> NodeId {
        let n = NodeId::try_from(self.nodes.len()).expect("fewer than 2^32 commits");
        self.nodes.push(Node {
            id,
            tree: ObjectId::null(id.kind()),
            date: 0,
            parents_at: 0,
            parents_len: UNPARSED,
            flags: 0,
            graph_pos,
        });
        n
    }

    /// The node for `id`, created unparsed if new (git's `lookup_commit`).
    pub(crate) fn node(&mut self, id: ObjectId) -> NodeId {
        if let Some(pos) = self.graph.as_ref().and_then(|g| g.lookup(id)) {
            return self.node_at(pos.0 as usize, id);
        }
        if let Some(&n) = self.index.get(&id) {
            return n;
        }
        let n = self.push(id, NO_NODE);
        self.index.insert(id, n);
        n
    }

    fn node_at(&mut self, pos: usize, id: ObjectId) -> NodeId {
        if self.by_pos[pos] == NO_NODE {
            self.by_pos[pos] = self.push(id, u32::try_from(pos).unwrap_or(NO_NODE));
        }
        self.by_pos[pos]
    }

    pub(crate) fn is_parsed(&self, n: NodeId) -> bool {
        self.nodes[n as usize].parents_len != UNPARSED
    }

    /// Parses `n` if it is not yet (git's `repo_parse_commit`).
    pub(crate) fn parse(&mut self, n: NodeId) -> Result<()> {
        if self.is_parsed(n) {
            return Ok(());
        }
        let id = self.nodes[n as usize].id;
        let at = self.arena.len();
        let graph_pos = self.nodes[n as usize].graph_pos;
        let (tree, date) = if let Some(graph) = &self.graph
            && graph_pos != NO_NODE
        {
            let commit = graph.commit_at(gix::commitgraph::Position(graph_pos));
            let mut parents = [(0usize, id); 2];
            let mut count = 0;
            let mut more = Vec::new();
            for parent in commit.iter_parents() {
                let pos = parent.map_err(|source| Error::CommitGraph {
                    repo: self.workdir().to_owned(),
                    source: source.into(),
                })?;
                let entry = (pos.0 as usize, graph.id_at(pos).to_owned());
                match parents.get_mut(count) {
                    Some(slot) => *slot = entry,
                    None => more.push(entry),
                }
                count += 1;
            }
            let (tree, date) = (
                commit.root_tree_id().to_owned(),
                commit.committer_timestamp(),
            );
            for (pos, parent) in parents.into_iter().take(count).chain(more) {
                let node = self.node_at(pos, parent);
                self.arena.push(node);
            }
            (tree, date)
        } else {
            let data = self.odb.read(&id, gix::objs::Kind::Commit, &mut self.buf)?;
            let header = parse_commit_header(data, id.kind()).ok_or_else(|| Error::BadCommit {
                id: id.to_string(),
                repo: self.workdir().to_owned(),
            })?;
            if !self.shallow.contains(&id) {
                for parent in header.parents {
                    let node = self.node(parent);
                    self.arena.push(node);
                }
            }
            (header.tree, header.date)
        };
        let len = self.arena.len() - at;
        let node = &mut self.nodes[n as usize];
        node.tree = tree;
        node.date = date;
        node.parents_at = u32::try_from(at).expect("fewer than 2^32 parent links");
        node.parents_len = u16::try_from(len).unwrap_or(UNPARSED - 1);
        Ok(())
    }

    /// The parents of `n` (none while unparsed), as simplification may have cut them.
    pub(crate) fn parents(&self, n: NodeId) -> &[NodeId] {
        let node = &self.nodes[n as usize];
        if node.parents_len == UNPARSED {
            return &[];
        }
        let at = node.parents_at as usize;
        &self.arena[at..at + usize::from(node.parents_len)]
    }

    /// Cuts the parents of `n` down to `p` (git's `commit->parents = parent`).
    pub(crate) fn keep_only_parent(&mut self, n: NodeId, p: NodeId) {
        let node = &mut self.nodes[n as usize];
        if node.parents_len != UNPARSED {
            self.arena[node.parents_at as usize] = p;
            node.parents_len = 1;
        }
    }

    pub(crate) fn flags(&self, n: NodeId) -> u32 {
        self.nodes[n as usize].flags
    }

    pub(crate) fn set(&mut self, n: NodeId, flags: u32) {
        self.nodes[n as usize].flags |= flags;
    }
}

/// What git's `parse_commit_buffer` takes from a commit object.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CommitHeader {
    pub(crate) tree: ObjectId,
    pub(crate) parents: Vec<ObjectId>,
    pub(crate) date: u64,
}

/// Parses the `tree` and `parent` lines and the committer date the way git's
/// `parse_commit_buffer` does: strict about the first lines, lenient about the date
/// (an unparseable date is 0, which only affects ordering).
pub(crate) fn parse_commit_header(data: &[u8], kind: gix::hash::Kind) -> Option<CommitHeader> {
    let hex_len = kind.len_in_hex();
    let mut rest = data;
    let tree = hex_line(&mut rest, b"tree ", hex_len)?;
    let mut parents = Vec::new();
    while rest.starts_with(b"parent ") {
        parents.push(hex_line(&mut rest, b"parent ", hex_len)?);
    }
    Some(CommitHeader {
        tree,
        parents,
        date: parse_commit_date(rest),
    })
}

fn hex_line(rest: &mut &[u8], prefix: &[u8], hex_len: usize) -> Option<ObjectId> {
    let line = rest.strip_prefix(prefix)?;
    if line.len() <= hex_len || line[hex_len] != b'\n' {
        return None;
    }
    let id = ObjectId::from_hex(&line[..hex_len]).ok()?;
    *rest = &line[hex_len + 1..];
    Some(id)
}

/// Git's `parse_commit_date`: the committer line must follow the author line; the date
/// is the number after the last `>`.
fn parse_commit_date(buf: &[u8]) -> u64 {
    let Some(after_author) = buf.strip_prefix(b"author") else {
        return 0;
    };
    let Some(eol) = after_author.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    let Some(committer) = after_author[eol + 1..].strip_prefix(b"committer") else {
        return 0;
    };
    let Some(eol) = committer.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    let line = &committer[..eol];
    let Some(gt) = line.iter().rposition(|&b| b == b'>') else {
        return 0;
    };
    let digits = line[gt + 1..].trim_ascii_start();
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return 0;
    }
    // Git's parse_timestamp (strtoumax) saturates on overflow.
    digits[..end].iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// Author and message of a commit, as `git log`'s `%an`, `%ae` and `%B` see them.
pub(crate) struct CommitText {
    pub(crate) author_name: String,
    pub(crate) author_email: String,
    pub(crate) message: String,
}

/// Splits a commit object into the author identity (git's `split_ident_line`: the name
/// is what precedes the first `<`, without trailing blanks; the email runs to the next
/// `>`) and the message after the header, re-encoded from Latin-1 when the commit says so.
pub(crate) fn commit_text(data: &[u8]) -> CommitText {
    let (header, message) = match find(data, b"\n\n") {
        Some(at) => (&data[..at + 1], &data[at + 2..]),
        None => (data, &data[data.len()..]),
    };
    let lines = || header.split(|&b| b == b'\n');
    // Git's log re-encodes a message to UTF-8 from the commit's `encoding` header; Latin-1
    // is the one legacy encoding worth handling (CVS/SVN imports), the rest is lossy.
    let latin1 = lines()
        .find_map(|l| l.strip_prefix(b"encoding "))
        .is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().as_slice(),
                b"iso-8859-1" | b"iso8859-1" | b"latin1" | b"latin-1"
            )
        });
    let mut author_name = String::new();
    let mut author_email = String::new();
    if let Some(ident) = lines().find_map(|l| l.strip_prefix(b"author "))
        && let Some(lt) = ident.iter().position(|&b| b == b'<')
    {
        author_name = decode(ident[..lt].trim_ascii_end(), latin1);
        let mail = &ident[lt + 1..];
        if let Some(gt) = mail.iter().position(|&b| b == b'>') {
            author_email = decode(&mail[..gt], latin1);
        }
    }
    CommitText {
        author_name,
        author_email,
        message: decode(message, latin1),
    }
}

fn decode(bytes: &[u8], latin1: bool) -> String {
    if latin1 {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A tree entry as git's tree-diff compares it: canonical mode and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) mode: u32,
    pub(crate) id: ObjectId,
}

pub(crate) const MODE_TREE: u32 = 0o040000;

/// Git's `canon_mode`: regular files are 100644 or 100755, then links, trees, and
/// anything else is a gitlink.
fn canon_mode(mode: u32) -> u32 {
    match mode & 0o170000 {
        0o100000 => 0o100000 | if mode & 0o100 != 0 { 0o755 } else { 0o644 },
        0o120000 => 0o120000,
        0o040000 => MODE_TREE,
        _ => 0o160000,
    }
}

/// Finds `name` among the entries of the raw tree `data`.
pub(crate) fn tree_entry(data: &[u8], name: &[u8], kind: gix::hash::Kind) -> Option<Entry> {
    let hash_len = kind.len_in_bytes();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let mode = rest[..space].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 8 + u32::from(d - b'0'))
        })?;
        let after_mode = &rest[space + 1..];
        let nul = after_mode.iter().position(|&b| b == 0)?;
        let entry_name = &after_mode[..nul];
        let id = after_mode.get(nul + 1..nul + 1 + hash_len)?;
        if entry_name == name {
            return Some(Entry {
                mode: canon_mode(mode),
                id: ObjectId::try_from(id).ok()?,
            });
        }
        rest = &after_mode[nul + 1 + hash_len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: gix::hash::Kind = gix::hash::Kind::Sha1;

    fn id(hex: &str) -> ObjectId {
        ObjectId::from_hex(hex.as_bytes()).unwrap()
    }

    #[test]
    fn header_parses_tree_parents_and_committer_date() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
parent 2222222222222222222222222222222222222222\n\
author A U Thor <a@example.org> 1000 +0000\n\
committer C O Mitter <c@example.org> 1700000000 +0100\n\nsubject\n";
        let header = parse_commit_header(raw, KIND).unwrap();
        assert_eq!(header.tree, id("4b825dc642cb6eb9a060e54bf8d69288fbee4904"));
        assert_eq!(
            header.parents,
            vec![
                id("1111111111111111111111111111111111111111"),
                id("2222222222222222222222222222222222222222")
            ]
        );
        assert_eq!(header.date, 1_700_000_000);
    }

    #[test]
    fn malformed_committer_date_is_zero_like_git() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A <a@example.org> 1000 +0000\ncommitter C <c@example.org> soon\n\nx\n";
        assert_eq!(parse_commit_header(raw, KIND).unwrap().date, 0);
        assert_eq!(parse_commit_header(b"tree 12\n", KIND), None);
    }

    #[test]
    fn commit_text_splits_ident_like_git() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author  Jane Doe  <jane@example.org> 1000 +0000\n\
committer C <c@example.org> 1 +0000\n\nSubject\n\nBody\n";
        let text = commit_text(raw);
        assert_eq!(text.author_name, " Jane Doe");
        assert_eq!(text.author_email, "jane@example.org");
        assert_eq!(text.message, "Subject\n\nBody\n");
    }

    #[test]
    fn latin1_commits_are_reencoded() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Ren\xe9 <r@example.org> 1000 +0000\n\
committer C <c@example.org> 1 +0000\nencoding ISO-8859-1\n\nCaf\xe9\n";
        let text = commit_text(raw);
        assert_eq!(text.author_name, "Ren\u{e9}");
        assert_eq!(text.message, "Caf\u{e9}\n");
    }

    #[test]
    fn tree_entries_are_found_with_canonical_modes() {
        let mut tree = Vec::new();
        for (mode, name, byte) in [
            ("100664", "a", 1u8),
            ("40000", "debian", 2),
            ("100755", "run", 3),
        ] {
            tree.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            tree.extend_from_slice(&[byte; 20]);
        }
        let a = tree_entry(&tree, b"a", KIND).unwrap();
        assert_eq!(a.mode, 0o100644);
        let debian = tree_entry(&tree, b"debian", KIND).unwrap();
        assert_eq!(
            (debian.mode, debian.id),
            (MODE_TREE, ObjectId::from([2u8; 20]))
        );
        assert_eq!(tree_entry(&tree, b"run", KIND).unwrap().mode, 0o100755);
        assert_eq!(tree_entry(&tree, b"deb", KIND), None);
    }
}
