//! Reading the commits and trees a walk needs, with an eye on the resident set.
//!
//! gix's object database maps each pack whole, and every page an object read touches
//! stays resident. A walk reads each root tree once (they lie densely in the pack, so
//! mapping them costs little extra), but it reads commits sparsely: a changelog's
//! commits are one in ten of the pack's, yet touch nearly every page of its commit
//! region. So commits that are stored whole are read with `pread` through a few 64 KiB
//! windows (a pack stores commits in walk order, so one window serves hundreds), and
//! everything else (trees, deltified commits) is decoded by gix from its own mapping of
//! the same pack, whose index this reader shares. Objects in no pack (loose ones, packs
//! written after opening) come from the repository's gix handle.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use gix::hash::oid;
use gix::objs::Find as _;
use gix::odb::pack;

use crate::{Error, Result};

/// Delta bases kept decoded: a walk decodes each root tree against its newer
/// neighbour's, which is then in this cache.
const PACK_CACHE_BYTES: usize = 8 << 20;
const WINDOW: u64 = 64 << 10;
const WINDOWS: usize = 8;
/// Pack entry type of a commit stored whole.
const OBJ_COMMIT: u8 = 1;

/// One pack: gix's index and data mappings, and a file handle for `pread`.
pub(crate) struct Pack {
    pub(crate) bundle: pack::Bundle,
    file: File,
    len: u64,
}

/// A window of a pack file read into memory.
struct Window {
    pack: usize,
    start: u64,
    data: Vec<u8>,
    used: u64,
}

/// The most recently used windows, and room for entries too big for one.
#[derive(Default)]
struct Windows {
    slots: Vec<Window>,
    tick: u64,
    scratch: Vec<u8>,
}

impl Windows {
    /// Up to `len` bytes of pack `p` from `offset` (fewer at the end of the file).
    fn bytes(&mut self, packs: &[Pack], p: usize, offset: u64, len: u64) -> std::io::Result<&[u8]> {
        let pack = &packs[p];
        let len = len.min(pack.len.saturating_sub(offset));
        let len_usize = usize::try_from(len).unwrap_or(0);
        self.tick += 1;
        let hit = self.slots.iter().position(|w| {
            w.pack == p && w.start <= offset && offset + len <= w.start + w.data.len() as u64
        });
        let slot = match hit {
            Some(slot) => slot,
            None if len > WINDOW / 2 => {
                // Too big for a window: read it on its own.
                self.scratch.resize(len_usize, 0);
                pack.file.read_exact_at(&mut self.scratch, offset)?;
                return Ok(&self.scratch);
            }
            None => {
                let start = offset - offset % WINDOW;
                let end = (offset + len).max(start + WINDOW).min(pack.len);
                let slot = if self.slots.len() < WINDOWS {
                    self.slots.push(Window {
                        pack: p,
                        start,
                        data: Vec::new(),
                        used: 0,
                    });
                    self.slots.len() - 1
                } else {
                    let lru = self.slots.iter().enumerate().min_by_key(|(_, w)| w.used);
                    lru.map_or(0, |(slot, _)| slot)
                };
                let window = &mut self.slots[slot];
                window.pack = p;
                window.start = start;
                window
                    .data
                    .resize(usize::try_from(end - start).unwrap_or(0), 0);
                pack.file.read_exact_at(&mut window.data, start)?;
                slot
            }
        };
        let window = &mut self.slots[slot];
        window.used = self.tick;
        let from = usize::try_from(offset - window.start).unwrap_or(0);
        Ok(&window.data[from..from + len_usize])
    }
}

/// The packs of a repository and its alternates, and how to read from them.
pub(crate) struct Odb<'r> {
    pub(crate) repo: &'r gix::Repository,
    pub(crate) packs: Vec<Pack>,
    /// Every object directory: the repository's and its alternates'.
    pub(crate) object_dirs: Vec<PathBuf>,
    inflate: gix::zlib::Inflate,
    cache: pack::cache::lru::StaticLinkedList<64>,
    windows: Windows,
}

impl<'r> Odb<'r> {
    pub(crate) fn new(repo: &'r gix::Repository) -> Result<Self> {
        let store = repo.objects.store_ref();
        let workdir = repo.workdir().unwrap_or_else(|| repo.git_dir());
        let pack_error =
            |path: &Path, source: Box<dyn std::error::Error + Send + Sync>| Error::Pack {
                path: path.to_owned(),
                repo: workdir.to_owned(),
                source,
            };
        let mut object_dirs = vec![store.path().to_owned()];
        object_dirs.extend(
            store
                .alternate_db_paths()
                .map_err(|e| pack_error(&store.path().join("info/alternates"), e.into()))?,
        );
        let mut packs = Vec::new();
        for dir in &object_dirs {
            let pack_dir = dir.join("pack");
            let entries = match std::fs::read_dir(&pack_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(pack_error(&pack_dir, e.into())),
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "idx"))
                .collect();
            paths.sort();
            for idx in paths {
                let path = idx.with_extension("pack");
                // Git only uses an index whose pack is there too.
                let Ok(file) = File::open(&path) else {
                    continue;
                };
                let len = file
                    .metadata()
                    .map_err(|e| pack_error(&path, e.into()))?
                    .len();
                let bundle = pack::Bundle::at(&idx, repo.object_hash())
                    .map_err(|e| pack_error(&idx, e.into()))?;
                packs.push(Pack { bundle, file, len });
            }
        }
        Ok(Self {
            repo,
            packs,
            object_dirs,
            inflate: Default::default(),
            cache: pack::cache::lru::StaticLinkedList::new(PACK_CACHE_BYTES),
            windows: Windows::default(),
        })
    }

    fn workdir(&self) -> &'r Path {
        self.repo.workdir().unwrap_or_else(|| self.repo.git_dir())
    }

    /// Reads object `id`, which must be of `kind`, into `out`.
    pub(crate) fn read<'b>(
        &mut self,
        id: &oid,
        kind: gix::objs::Kind,
        out: &'b mut Vec<u8>,
    ) -> Result<&'b [u8]> {
        let (actual, data) = self.read_any(id, kind == gix::objs::Kind::Commit, out)?;
        if actual != kind {
            return Err(Error::WrongKind {
                id: id.to_string(),
                expected: kind.to_string(),
                actual: actual.to_string(),
                repo: self.workdir().to_owned(),
            });
        }
        Ok(data)
    }

    /// Reads object `id` into `out`, whatever its kind; `sparse` says it is likely a
    /// whole commit worth reading through the windows.
    pub(crate) fn read_any<'b>(
        &mut self,
        id: &oid,
        sparse: bool,
        out: &'b mut Vec<u8>,
    ) -> Result<(gix::objs::Kind, &'b [u8])> {
        let workdir = self.workdir();
        let read_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::ReadObject {
            id: id.to_string(),
            repo: workdir.to_owned(),
            source,
        };
        for p in 0..self.packs.len() {
            let Some(index) = self.packs[p].bundle.index.lookup(id) else {
                continue;
            };
            if sparse {
                let offset = self.packs[p].bundle.index.pack_offset_at_index(index);
                if self
                    .read_whole_commit(p, offset, out)
                    .map_err(|e| read_error(e.into()))?
                {
                    return Ok((gix::objs::Kind::Commit, out.as_slice()));
                }
            }
            let (data, _) = self.packs[p]
                .bundle
                .get_object_by_index(index, out, &mut self.inflate, &mut self.cache)
                .map_err(|e| read_error(e.into()))?;
            return Ok((data.kind, data.data));
        }
        let data = self
            .repo
            .objects
            .try_find(id, out)
            .map_err(|e| read_error(e.into()))?
            .ok_or_else(|| Error::MissingObject {
                id: id.to_string(),
                repo: self.workdir().to_owned(),
            })?;
        Ok((data.kind, data.data))
    }

    /// Reads the pack entry at `offset` into `out` if it is a commit stored whole;
    /// `false` (and nothing read) for anything else.
    fn read_whole_commit(
        &mut self,
        p: usize,
        offset: u64,
        out: &mut Vec<u8>,
    ) -> std::io::Result<bool> {
        // Entry header: type in bits 4-6 of the first byte, then the size, 7 bits a byte.
        let head = self.windows.bytes(&self.packs, p, offset, 16)?;
        let kind = (head[0] >> 4) & 7;
        if kind != OBJ_COMMIT {
            return Ok(false);
        }
        let mut size = u64::from(head[0] & 15);
        let mut shift = 4;
        let mut at = 0;
        while head[at] & 0x80 != 0 && at + 1 < head.len() && shift < 64 {
            at += 1;
            size |= u64::from(head[at] & 0x7f) << shift;
            shift += 7;
        }
        let header_len = at as u64 + 1;
        let Ok(size) = usize::try_from(size) else {
            return Ok(false);
        };
        // zlib's compressBound: no deflate stream of `size` bytes is longer.
        let bound = (size + (size >> 12) + (size >> 14) + (size >> 25) + 13) as u64;
        let input = self
            .windows
            .bytes(&self.packs, p, offset + header_len, bound)?;
        out.clear();
        out.resize(size, 0);
        self.inflate.reset();
        match self.inflate.once(input, out) {
            Ok((gix::zlib::Status::StreamEnd, _, written)) if written == size => Ok(true),
            // Let gix's decoder report or handle whatever this is.
            _ => Ok(false),
        }
    }
}
