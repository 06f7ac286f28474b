//! Computing a file's size and several hashes in one read, on every core.
//!
//! A file is read once, in chunks; each chunk goes to every hashing thread, and each
//! thread runs a share of the algorithms (balanced by their cost). With two cores and
//! the four Release hashes, one thread runs MD5 and SHA256 and the other SHA512 and
//! SHA1, so even a single large `Packages` file keeps both cores busy. SHA-1 and
//! SHA-256 use the CPU's SHA extensions when it has them (RustCrypto's runtime
//! detection); memory stays at a few chunks whatever the file sizes.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sha2::digest::DynDigest;

use crate::check::FileDigest;
use crate::release::Algorithm;

const CHUNK: usize = 1 << 20;
/// Chunks queued per hashing thread.
const QUEUE: usize = 3;

/// Relative cost per byte, measured with SHA extensions: MD5 and SHA-512 have none.
fn cost(algorithm: Algorithm) -> u32 {
    match algorithm {
        Algorithm::Md5 => 3,
        Algorithm::Sha1 => 1,
        Algorithm::Sha256 => 1,
        Algorithm::Sha512 => 3,
    }
}

fn hasher(algorithm: Algorithm) -> Box<dyn DynDigest + Send> {
    match algorithm {
        Algorithm::Md5 => Box::new(md5::Md5::default()),
        Algorithm::Sha1 => Box::new(sha1::Sha1::default()),
        Algorithm::Sha256 => Box::new(sha2::Sha256::default()),
        Algorithm::Sha512 => Box::new(sha2::Sha512::default()),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Splits the algorithms over at most `threads` groups of about equal cost.
fn partition(algorithms: &[Algorithm], threads: usize) -> Vec<Vec<Algorithm>> {
    let mut sorted = algorithms.to_vec();
    sorted.sort_by_key(|a| std::cmp::Reverse(cost(*a)));
    sorted.dedup();
    let n = threads.clamp(1, sorted.len().max(1));
    let mut groups: Vec<(u32, Vec<Algorithm>)> = vec![(0, Vec::new()); n];
    for algorithm in sorted {
        if let Some(group) = groups.iter_mut().min_by_key(|g| g.0) {
            group.0 += cost(algorithm);
            group.1.push(algorithm);
        }
    }
    groups
        .into_iter()
        .map(|g| g.1)
        .filter(|g| !g.is_empty())
        .collect()
}

enum Msg {
    Chunk(Arc<Vec<u8>>),
    /// End of file: answer with the digests and start afresh.
    End,
    /// The read failed: start afresh.
    Abort,
}

fn worker(algorithms: Vec<Algorithm>, rx: Receiver<Msg>, tx: SyncSender<Vec<(Algorithm, String)>>) {
    let mut hashers: Vec<(Algorithm, Box<dyn DynDigest + Send>)> =
        algorithms.iter().map(|a| (*a, hasher(*a))).collect();
    for msg in rx {
        match msg {
            Msg::Chunk(chunk) => {
                for (_, h) in &mut hashers {
                    h.update(&chunk);
                }
            }
            Msg::End => {
                let out = hashers
                    .iter_mut()
                    .map(|(a, h)| (*a, hex(&h.finalize_reset())))
                    .collect();
                if tx.send(out).is_err() {
                    return;
                }
            }
            Msg::Abort => hashers.iter_mut().for_each(|(_, h)| h.reset()),
        }
    }
}

/// Digests of the files at `paths` (`Ok(None)` for an absent file), in order.
pub fn digest_files(
    paths: &[&Path],
    algorithms: &[Algorithm],
) -> Vec<io::Result<Option<FileDigest>>> {
    digest_sources(
        paths.iter().map(|p| match std::fs::File::open(p) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }),
        algorithms,
    )
}

/// Digests of a sequence of readers (`Ok(None)` for an absent file), in order; each
/// reader is read once, on the calling thread, while other threads hash.
pub fn digest_sources<R: Read>(
    sources: impl IntoIterator<Item = io::Result<Option<R>>>,
    algorithms: &[Algorithm],
) -> Vec<io::Result<Option<FileDigest>>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let groups = partition(algorithms, threads);
    std::thread::scope(|scope| {
        let mut lanes = Vec::new();
        for group in groups {
            let (tx, rx) = sync_channel::<Msg>(QUEUE);
            let (result_tx, result_rx) = sync_channel(1);
            scope.spawn(move || worker(group, rx, result_tx));
            lanes.push((tx, result_rx));
        }
        let mut pool: VecDeque<Arc<Vec<u8>>> = VecDeque::new();
        let mut out = Vec::new();
        for source in sources {
            out.push(match source {
                Ok(Some(reader)) => digest_one(reader, &lanes, &mut pool),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            });
        }
        out
    })
}

type Lane = (SyncSender<Msg>, Receiver<Vec<(Algorithm, String)>>);

fn digest_one<R: Read>(
    mut reader: R,
    lanes: &[Lane],
    pool: &mut VecDeque<Arc<Vec<u8>>>,
) -> io::Result<Option<FileDigest>> {
    let mut size = 0u64;
    let hung_up = || io::Error::other("a hashing thread stopped");
    loop {
        // Reuse the oldest chunk once every thread is done with it.
        let mut buf = match pool.front().map(Arc::strong_count) {
            Some(1) => pool
                .pop_front()
                .and_then(|a| Arc::try_unwrap(a).ok())
                .unwrap_or_else(|| vec![0; CHUNK]),
            _ => vec![0; CHUNK],
        };
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        let read = loop {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == CHUNK {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = read {
            for (tx, _) in lanes {
                tx.send(Msg::Abort).map_err(|_| hung_up())?;
            }
            return Err(e);
        }
        if filled == 0 {
            break;
        }
        size += filled as u64;
        buf.truncate(filled);
        let chunk = Arc::new(buf);
        for (tx, _) in lanes {
            tx.send(Msg::Chunk(Arc::clone(&chunk)))
                .map_err(|_| hung_up())?;
        }
        pool.push_back(chunk);
        if pool.len() > QUEUE + 2 {
            pool.pop_front();
        }
        if filled < CHUNK {
            break;
        }
    }
    let mut digest = FileDigest {
        size,
        hashes: Default::default(),
    };
    for (tx, _) in lanes {
        tx.send(Msg::End).map_err(|_| hung_up())?;
    }
    for (_, rx) in lanes {
        for (algorithm, hash) in rx.recv().map_err(|_| hung_up())? {
            digest.hashes[algorithm.index()] = Some(hash);
        }
    }
    Ok(Some(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_across_chunk_boundaries() {
        let data = vec![b'a'; CHUNK * 2 + 5];
        let empty: &[u8] = b"";
        let got = digest_sources(
            [
                Ok(Some(&b"abc"[..])),
                Ok(None),
                Ok(Some(empty)),
                Ok(Some(&data[..])),
            ],
            &Algorithm::ALL,
        );
        let abc = got[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(abc.size, 3);
        assert_eq!(
            abc.hashes[0].as_deref(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            abc.hashes[1].as_deref(),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            abc.hashes[2].as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(
            abc.hashes[3]
                .as_deref()
                .unwrap()
                .starts_with("ddaf35a193617aba")
        );
        assert!(got[1].as_ref().unwrap().is_none());
        let e = got[2].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            e.hashes[2].as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        let big = got[3].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(big.size, data.len() as u64);
        use sha2::Digest as _;
        assert_eq!(
            big.hashes[2].as_deref(),
            Some(hex(&sha2::Sha256::digest(&data)).as_str())
        );
    }

    #[test]
    fn partition_balances_cost() {
        let groups = partition(&Algorithm::ALL, 2);
        assert_eq!(groups.len(), 2);
        let costs: Vec<u32> = groups
            .iter()
            .map(|g| g.iter().map(|a| cost(*a)).sum())
            .collect();
        assert_eq!(costs, vec![4, 4]);
        assert_eq!(partition(&Algorithm::ALL, 1).len(), 1);
    }
}
