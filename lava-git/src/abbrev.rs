//! Git's `%h`: `repo_find_unique_abbrev_r` (object-name.c) for many ids at once.
//!
//! The length starts at `core.abbrev`, or for `auto` at half the bits of the number of
//! packed objects (at least 7), and grows until no other object, packed or loose, shares
//! the prefix. gix's `Id::shorten` computes the same, but asks the whole object database
//! for every candidate length, listing loose-object directories and re-checking the pack
//! directory each time; for the hundreds of commits of a changelog that was most of the
//! run. Here each id's neighbours are read from the pack indexes the walk already has
//! mapped, and each loose directory is listed once.

use std::collections::HashMap;

use gix::hash::ObjectId;
use gix::odb::pack;

use crate::odb::Odb;
use crate::{Error, Result};

/// Git's `MINIMUM_ABBREV` and `FALLBACK_DEFAULT_ABBREV`.
const MINIMUM_ABBREV: usize = 4;
const FALLBACK_DEFAULT_ABBREV: usize = 7;

/// The `%h` of each of `ids`, in the same order.
pub(crate) fn shorten_all(odb: &Odb<'_>, ids: &[ObjectId]) -> Result<Vec<String>> {
    let hex_len = odb.repo.object_hash().len_in_hex();
    let min_len = match configured(odb.repo, hex_len) {
        Some(len) => len,
        None => {
            // repo_approximate_object_count counts packed objects only.
            let count: u64 = odb
                .packs
                .iter()
                .map(|p| u64::from(p.bundle.index.num_objects()))
                .sum();
            let bits = (64 - count.leading_zeros()) as usize;
            bits.div_ceil(2).max(FALLBACK_DEFAULT_ABBREV)
        }
    };
    let mut loose: HashMap<u8, Vec<ObjectId>> = HashMap::new();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if min_len >= hex_len {
            out.push(id.to_string());
            continue;
        }
        let mut common = 0;
        for p in &odb.packs {
            common = common.max(neighbours_common_prefix(&p.bundle.index, id));
        }
        let byte = id.as_bytes()[0];
        let in_dir = match loose.get(&byte) {
            Some(found) => found,
            None => {
                let found = loose_objects(odb, byte)?;
                loose.entry(byte).or_insert(found)
            }
        };
        for other in in_dir {
            if other != id {
                common = common.max(common_hex_prefix(id.as_bytes(), other.as_bytes()));
            }
        }
        let len = min_len.max(common + 1).min(hex_len);
        out.push(id.to_hex_with_len(len).to_string());
    }
    Ok(out)
}

/// The loose objects whose id starts with `byte`, in every object directory.
fn loose_objects(odb: &Odb<'_>, byte: u8) -> Result<Vec<ObjectId>> {
    let mut found = Vec::new();
    for dir in &odb.object_dirs {
        let sub = dir.join(format!("{byte:02x}"));
        let entries = match std::fs::read_dir(&sub) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::Pack {
                    path: sub,
                    repo: odb
                        .repo
                        .workdir()
                        .unwrap_or_else(|| odb.repo.git_dir())
                        .to_owned(),
                    source: e.into(),
                });
            }
        };
        for entry in entries.flatten() {
            let hex = format!("{byte:02x}{}", entry.file_name().to_string_lossy());
            if let Ok(id) = ObjectId::from_hex(hex.as_bytes()) {
                found.push(id);
            }
        }
    }
    Ok(found)
}

/// `core.abbrev` as git reads it: `auto` (or unset) is `None`; `false`/`no`/`off` means
/// full ids; a number must lie between 4 and the hash length, else git refuses it and we
/// fall back to `auto`.
fn configured(repo: &gix::Repository, hex_len: usize) -> Option<usize> {
    let value = repo.config_snapshot().string("core.abbrev")?.to_string();
    let value = value.trim().to_ascii_lowercase();
    match value.as_str() {
        "auto" => None,
        "false" | "no" | "off" => Some(hex_len),
        number => number
            .parse::<usize>()
            .ok()
            .filter(|n| (MINIMUM_ABBREV..=hex_len).contains(n)),
    }
}

/// How many hex digits `id` shares with the ids next to where it sits in `index`
/// (git's `find_abbrev_len_for_pack`).
fn neighbours_common_prefix(index: &pack::index::File, id: &ObjectId) -> usize {
    let count = index.num_objects();
    let target = id.as_ref();
    let (pos, found) = match index.lookup(id) {
        Some(pos) => (pos, true),
        None => {
            // Where it would be inserted.
            let (mut lo, mut hi) = (0, count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if index.oid_at_index(mid) < target {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            (lo, false)
        }
    };
    let mut common = 0;
    let after = if found { pos + 1 } else { pos };
    if after < count {
        common = common.max(common_hex_prefix(
            target.as_bytes(),
            index.oid_at_index(after).as_bytes(),
        ));
    }
    if pos > 0 {
        common = common.max(common_hex_prefix(
            target.as_bytes(),
            index.oid_at_index(pos - 1).as_bytes(),
        ));
    }
    common
}

/// The number of leading hex digits two ids share.
fn common_hex_prefix(a: &[u8], b: &[u8]) -> usize {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            return 2 * i + usize::from(x >> 4 == y >> 4);
        }
    }
    2 * a.len().min(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes_count_hex_digits() {
        assert_eq!(common_hex_prefix(&[0xab, 0xcd], &[0xab, 0xce]), 3);
        assert_eq!(common_hex_prefix(&[0xab, 0xcd], &[0xab, 0x1d]), 2);
        assert_eq!(common_hex_prefix(&[0xab, 0xcd], &[0xbb, 0xcd]), 0);
        assert_eq!(common_hex_prefix(&[0xab, 0xcd], &[0xab, 0xcd]), 4);
    }
}
