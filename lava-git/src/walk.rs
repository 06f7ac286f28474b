//! `git log [--no-merges] [A..]B [-- paths]`: git's revision walk (`revision.c`) with its
//! default history simplification, reproduced step by step so that the commits and their
//! order are git's own, clock skew and odd merges included.
//!
//! Git decides whether a commit is TREESAME to a parent by diffing the two trees under the
//! pathspec. For plain path prefixes that is the same as comparing the tree entries found
//! by walking the path's components from the root tree, which is what this walk does: one
//! root tree read per commit (cached, so each tree is read once however many children
//! compare against it), and the subtrees below memoised by id.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use gix::hash::ObjectId;

use crate::commits::{self, Commits, Entry, MODE_TREE, NodeId};
use crate::{Error, Result};

const SEEN: u32 = 1;
const ADDED: u32 = 1 << 1;
const UNINTERESTING: u32 = 1 << 2;
const BOTTOM: u32 = 1 << 3;
const TREESAME: u32 = 1 << 4;
const IN_QUEUE: u32 = 1 << 5;

/// How many extra uninteresting commits git's `limit_list` looks at once everything
/// left seems uninteresting (its `SLOP`), in case clock skew hides an interesting one.
const SLOP: u32 = 5;

/// One path prefix of the filter, split into components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pathspec {
    components: Vec<Vec<u8>>,
    /// Written with a trailing slash: matches a directory only, as in git.
    dir_only: bool,
}

impl Pathspec {
    /// Parses a literal path prefix relative to the top of the working tree.
    pub(crate) fn parse(spec: &str) -> Result<Self> {
        let unsupported = |reason: &str| Error::Pathspec {
            pathspec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        if spec.starts_with(':') {
            return Err(unsupported("pathspec magic is not supported"));
        }
        if spec.contains(['*', '?', '[', '\\']) {
            return Err(unsupported("wildcards are not supported"));
        }
        if spec.starts_with('/') {
            return Err(unsupported(
                "it must be relative to the top of the working tree",
            ));
        }
        let mut components = Vec::new();
        for component in spec.split('/') {
            match component {
                "" | "." => {}
                ".." => return Err(unsupported("`..` is not supported")),
                name => components.push(name.as_bytes().to_vec()),
            }
        }
        let dir_only = spec.ends_with('/') && !components.is_empty();
        Ok(Self {
            components,
            dir_only,
        })
    }
}

/// The walk's state: git's object flags, its date-ordered commit list, and caches.
pub(crate) struct Walk<'r> {
    pub(crate) commits: Commits<'r>,
    specs: Vec<Pathspec>,
    no_merges: bool,
    /// Per node and spec, the entry the spec names in the node's tree (stride
    /// `specs.len()`), valid where `entries_known` says so.
    entries: Vec<Option<Entry>>,
    entries_known: Vec<bool>,
    /// Entry below a subtree: (subtree id, spec, component index) → entry.
    subtree_memo: HashMap<(ObjectId, usize, usize), Option<Entry>>,
    /// Git's `commit_list_insert_by_date` list: newest first, and among equal dates
    /// first in, first out (hence the sequence number).
    queue: BinaryHeap<(u64, Reverse<u64>, NodeId)>,
    seq: u64,
    /// Queued commits without `UNINTERESTING`, for `everybody_uninteresting`.
    interesting_queued: usize,
    buf: Vec<u8>,
    sub_buf: Vec<u8>,
}

impl<'r> Walk<'r> {
    pub(crate) fn new(
        repo: &'r gix::Repository,
        specs: Vec<Pathspec>,
        no_merges: bool,
    ) -> Result<Self> {
        let commits = Commits::new(repo)?;
        let hint = if specs.is_empty() {
            0
        } else {
            commits.capacity_hint()
        };
        Ok(Self {
            entries: Vec::with_capacity(hint * specs.len()),
            entries_known: Vec::with_capacity(hint),
            commits,
            specs,
            no_merges,
            subtree_memo: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            interesting_queued: 0,
            buf: Vec::new(),
            sub_buf: Vec::new(),
        })
    }

    /// Gives back the object reader, for reading what the walk found.
    pub(crate) fn into_odb(self) -> crate::odb::Odb<'r> {
        self.commits.into_odb()
    }

    /// The commits `git log ^since... until` shows, newest first; stops after `max`
    /// when given (`git log -N`).
    pub(crate) fn run(
        &mut self,
        until: ObjectId,
        since: &[ObjectId],
        max: Option<usize>,
    ) -> Result<Vec<NodeId>> {
        // prepare_revision_walk: flags go on the objects when the revisions are read,
        // then each pending commit is handled in command-line order (`A..B` is ^A, B).
        let mut pending = Vec::with_capacity(since.len() + 1);
        for &since in since {
            let n = self.commits.node(since);
            self.commits.set(n, UNINTERESTING | BOTTOM);
            pending.push(n);
        }
        pending.push(self.commits.node(until));
        let mut list = Vec::with_capacity(2);
        for &n in &pending {
            self.commits.parse(n)?;
            if self.commits.flags(n) & UNINTERESTING != 0 {
                self.mark_parents_uninteresting(n);
            }
            if self.commits.flags(n) & SEEN == 0 {
                self.commits.set(n, SEEN);
                list.push(n);
            }
        }
        // commit_list_sort_by_date is a stable merge sort.
        list.sort_by_key(|&n| Reverse(self.commits.nodes[n as usize].date));
        for n in list {
            self.push(n);
        }
        if !since.is_empty() {
            self.limit_list()
        } else {
            self.stream(max)
        }
    }

    /// Git's `limit_list`: walks until only uninteresting commits remain (plus slop),
    /// then drops what turned out uninteresting or TREESAME.
    fn limit_list(&mut self) -> Result<Vec<NodeId>> {
        let mut slop = SLOP;
        let mut date = u64::MAX;
        let mut newlist = Vec::new();
        while let Some(c) = self.pop() {
            self.process_parents(c)?;
            if self.commits.flags(c) & UNINTERESTING != 0 {
                self.mark_parents_uninteresting(c);
                slop = self.still_interesting(date, slop);
                if slop > 0 {
                    continue;
                }
                break;
            }
            date = self.commits.nodes[c as usize].date;
            newlist.push(c);
        }
        newlist.retain(|&c| self.shown(c));
        Ok(newlist)
    }

    /// Git's `get_revision_1` without limiting: parents are processed as commits are
    /// popped, so `git log -1` stops early.
    fn stream(&mut self, max: Option<usize>) -> Result<Vec<NodeId>> {
        let mut out = Vec::new();
        while let Some(c) = self.pop() {
            self.process_parents(c)?;
            if self.shown(c) {
                out.push(c);
                if max.is_some_and(|max| out.len() >= max) {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn still_interesting(&self, date: u64, slop: u32) -> u32 {
        let Some(&(front, _, _)) = self.queue.peek() else {
            return 0;
        };
        if date <= front || self.interesting_queued > 0 {
            return SLOP;
        }
        slop - 1
    }

    /// Git's `get_commit_action` for `git log [--no-merges] [-- paths]`.
    fn shown(&self, c: NodeId) -> bool {
        let flags = self.commits.flags(c);
        if flags & UNINTERESTING != 0 {
            return false;
        }
        // --no-merges is max_parents = 1, counted after simplification.
        if self.no_merges && self.commits.parents(c).len() > 1 {
            return false;
        }
        !(self.pruning() && flags & TREESAME != 0)
    }

    fn pruning(&self) -> bool {
        !self.specs.is_empty()
    }

    fn push(&mut self, n: NodeId) {
        self.seq += 1;
        let node = &mut self.commits.nodes[n as usize];
        node.flags |= IN_QUEUE;
        if node.flags & UNINTERESTING == 0 {
            self.interesting_queued += 1;
        }
        self.queue.push((node.date, Reverse(self.seq), n));
    }

    fn pop(&mut self) -> Option<NodeId> {
        let (_, _, n) = self.queue.pop()?;
        let node = &mut self.commits.nodes[n as usize];
        node.flags &= !IN_QUEUE;
        if node.flags & UNINTERESTING == 0 {
            self.interesting_queued -= 1;
        }
        Some(n)
    }

    fn set_uninteresting(&mut self, n: NodeId) {
        let node = &mut self.commits.nodes[n as usize];
        if node.flags & UNINTERESTING == 0 {
            node.flags |= UNINTERESTING;
            if node.flags & IN_QUEUE != 0 {
                self.interesting_queued -= 1;
            }
        }
    }

    /// Git's `mark_parents_uninteresting`: through every parsed commit, with the
    /// (possibly simplified) parent lists as they are now.
    fn mark_parents_uninteresting(&mut self, c: NodeId) {
        let mut stack: Vec<NodeId> = Vec::new();
        let mark_one = |walk: &mut Self, n: NodeId, stack: &mut Vec<NodeId>| {
            if walk.commits.flags(n) & UNINTERESTING != 0 {
                return;
            }
            walk.set_uninteresting(n);
            stack.extend_from_slice(walk.commits.parents(n));
        };
        for i in 0..self.commits.parents(c).len() {
            let p = self.commits.parents(c)[i];
            mark_one(self, p, &mut stack);
        }
        while let Some(n) = stack.pop() {
            mark_one(self, n, &mut stack);
        }
    }

    /// Git's `process_parents`.
    fn process_parents(&mut self, c: NodeId) -> Result<()> {
        if self.commits.flags(c) & ADDED != 0 {
            return Ok(());
        }
        self.commits.set(c, ADDED);
        if self.commits.flags(c) & UNINTERESTING != 0 {
            for i in 0..self.commits.parents(c).len() {
                let p = self.commits.parents(c)[i];
                self.set_uninteresting(p);
                // parse_commit_gently: the uninteresting side may be missing (shallow).
                if self.commits.parse(p).is_err() {
                    continue;
                }
                if !self.commits.parents(p).is_empty() {
                    self.mark_parents_uninteresting(p);
                }
                if self.commits.flags(p) & SEEN != 0 {
                    continue;
                }
                self.commits.set(p, SEEN);
                self.push(p);
            }
            return Ok(());
        }
        self.try_to_simplify_commit(c)?;
        for i in 0..self.commits.parents(c).len() {
            let p = self.commits.parents(c)[i];
            self.commits.parse(p)?;
            if self.commits.flags(p) & SEEN == 0 {
                self.commits.set(p, SEEN);
                self.push(p);
            }
        }
        Ok(())
    }

    /// Git's `relevant_commit`: interesting, or a bottom of the range.
    fn relevant(&self, n: NodeId) -> bool {
        self.commits.flags(n) & (UNINTERESTING | BOTTOM) != UNINTERESTING
    }

    /// Git's `try_to_simplify_commit` with `simplify_history` and `dense` (the defaults):
    /// follow the first relevant parent the commit is TREESAME to, and mark it TREESAME.
    fn try_to_simplify_commit(&mut self, c: NodeId) -> Result<()> {
        if !self.pruning() {
            return Ok(());
        }
        let parent_count = self.commits.parents(c).len();
        if parent_count == 0 {
            if self.same_as_empty(c)? {
                self.commits.set(c, TREESAME);
            }
            return Ok(());
        }
        let (mut relevant_parents, mut relevant_change, mut irrelevant_change) = (0, false, false);
        for nth in 0..parent_count {
            let p = self.commits.parents(c)[nth];
            let relevant = self.relevant(p);
            if relevant {
                relevant_parents += 1;
            }
            self.commits.parse(p)?;
            if self.same(p, c)? {
                if !relevant {
                    continue;
                }
                self.commits.keep_only_parent(c, p);
                self.commits.set(c, TREESAME);
                return Ok(());
            }
            if relevant {
                relevant_change = true;
            } else {
                irrelevant_change = true;
            }
        }
        let treesame = if relevant_parents > 0 {
            !relevant_change
        } else {
            !irrelevant_change
        };
        if treesame {
            self.commits.set(c, TREESAME);
        }
        Ok(())
    }

    fn same(&mut self, a: NodeId, b: NodeId) -> Result<bool> {
        self.ensure_entries(a)?;
        self.ensure_entries(b)?;
        let stride = self.specs.len();
        let (a, b) = (a as usize * stride, b as usize * stride);
        Ok(self.entries[a..a + stride] == self.entries[b..b + stride])
    }

    fn same_as_empty(&mut self, c: NodeId) -> Result<bool> {
        self.ensure_entries(c)?;
        let stride = self.specs.len();
        let at = c as usize * stride;
        Ok(self.entries[at..at + stride].iter().all(Option::is_none))
    }

    /// Looks up, once per commit, what each pathspec names in the commit's tree.
    fn ensure_entries(&mut self, n: NodeId) -> Result<()> {
        let nodes = self.commits.nodes.len();
        if self.entries_known.len() < nodes {
            self.entries_known.resize(nodes, false);
            self.entries.resize(nodes * self.specs.len(), None);
        }
        if self.entries_known[n as usize] {
            return Ok(());
        }
        let tree = self.commits.nodes[n as usize].tree;
        let kind = tree.kind();
        let root = self
            .commits
            .odb
            .read(&tree, gix::objs::Kind::Tree, &mut self.buf)?;
        let mut found: Vec<Option<Entry>> = self
            .specs
            .iter()
            .map(|spec| match spec.components.first() {
                // The whole tree; an empty one has no paths to differ in.
                None => (!root.is_empty()).then_some(Entry {
                    mode: MODE_TREE,
                    id: tree,
                }),
                Some(first) => commits::tree_entry(root, first, kind),
            })
            .collect();
        for (i, entry) in found.iter_mut().enumerate() {
            for depth in 1..self.specs[i].components.len() {
                let Some(parent) = *entry else { break };
                if parent.mode != MODE_TREE {
                    *entry = None;
                    break;
                }
                let key = (parent.id, i, depth);
                *entry = match self.subtree_memo.get(&key) {
                    Some(&memo) => memo,
                    None => {
                        let data = self.commits.odb.read(
                            &parent.id,
                            gix::objs::Kind::Tree,
                            &mut self.sub_buf,
                        )?;
                        let child =
                            commits::tree_entry(data, &self.specs[i].components[depth], kind);
                        self.subtree_memo.insert(key, child);
                        child
                    }
                };
            }
            if self.specs[i].dir_only && entry.is_some_and(|e| e.mode != MODE_TREE) {
                *entry = None;
            }
        }
        let at = n as usize * self.specs.len();
        self.entries[at..at + self.specs.len()].copy_from_slice(&found);
        self.entries_known[n as usize] = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pathspecs_are_normalised_path_prefixes() {
        let spec = Pathspec::parse("./debian//changelog").unwrap();
        assert_eq!(
            spec.components,
            vec![b"debian".to_vec(), b"changelog".to_vec()]
        );
        assert!(!spec.dir_only);
        assert!(Pathspec::parse("debian/").unwrap().dir_only);
        assert!(Pathspec::parse(".").unwrap().components.is_empty());
    }

    #[test]
    fn pathspec_magic_and_globs_are_refused_with_the_reason() {
        for (spec, reason) in [
            ("debian/*", "wildcards are not supported"),
            (":(exclude)debian", "pathspec magic is not supported"),
            ("../x", "`..` is not supported"),
        ] {
            match Pathspec::parse(spec) {
                Err(Error::Pathspec {
                    pathspec,
                    reason: r,
                }) => {
                    assert_eq!((pathspec.as_str(), r.as_str()), (spec, reason));
                }
                other => panic!("{spec}: {other:?}"),
            }
        }
    }
}
