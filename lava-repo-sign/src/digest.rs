//! Computing files' sizes and several hashes in one read of each file, on every core.
//!
//! Up to [`LANES`] files are read side by side, a chunk of each per round (a file
//! system read or an HTTP body; the largest files first when their sizes are
//! known). Each round is cut into jobs, one per file and algorithm, with MD5 done
//! for four files at once on one core ([`crate::md5x4`]), and every core's thread
//! takes the next job, the costliest first, so the cores stay equally busy whatever
//! the mix of algorithms and file sizes. Two rounds are handed out at once, so a
//! thread out of jobs in one starts on the next instead of waiting for the other
//! (each hash state still takes its chunks in order, see `Gate`); the round after
//! is read meanwhile. Memory stays at three rounds of chunks whatever the file sizes.
//!
//! SHA-1, SHA-256 and SHA-512 are the system OpenSSL's, whose assembly picks the
//! CPU's SHA extensions, AVX2 or AVX-512 at run time. Measured on x86_64 (AMD EPYC
//! with SHA extensions), its SHA-512 takes 1.15 ns/B where RustCrypto's `sha2` takes
//! 1.7, and SHA-1 and SHA-256 are equal (0.52 and 0.55 ns/B); on a CPU without SHA
//! extensions RustCrypto falls back to portable code. MD5 stays our own: two to four
//! files hashed together take 0.9 to 0.6 ns/B each, OpenSSL's MD5 1.3.
//!
//! This pays, though not by much: `cargo xtask bench repo-sign` times it against the
//! simple way (every core takes the next whole file and feeds each chunk to every
//! OpenSSL hash in turn) on the same fixture. On two cores (Xeon with SHA extensions,
//! under load, three runs) it took 0.87 to 0.92 times the wall-clock time and 0.91
//! times the CPU time of the simple way; on the quiet machine, 0.876 times the
//! wall-clock and 0.865 times the CPU time (a 14 % and 16 % gain). Should a run show
//! less than 10 %, the simple way is the one to keep.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, Read};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use openssl::error::ErrorStack;
use openssl::hash::{Hasher, MessageDigest};

use crate::algorithm::Algorithm;
use crate::check::FileDigest;
use crate::md5x4::Md5x4;

/// Bytes read from each file per round: whole MD5 and SHA blocks.
const CHUNK: usize = 1 << 18;
/// Files read side by side: two groups of four MD5 lanes.
const LANES: usize = 8;
/// Rounds given to the workers at once: while they hash one, the next is ready for
/// whichever thread runs out of jobs first.
const IN_FLIGHT: usize = 2;

/// Cost per byte in tenths of a nanosecond, measured on x86_64 (AMD EPYC) with SHA
/// extensions, which SHA-512 and MD5 lack; MD5's is for one lane alone. Jobs start
/// costliest first so the last ones to finish are short.
fn cost(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::Md5 => 15,
        Algorithm::Sha1 => 5,
        Algorithm::Sha256 => 6,
        Algorithm::Sha512 => 12,
    }
}

/// A new OpenSSL hash of `algorithm`, which is not MD5 (that one is [`crate::md5x4`]).
fn hasher(algorithm: Algorithm) -> Result<Hasher, ErrorStack> {
    Hasher::new(match algorithm {
        Algorithm::Md5 => MessageDigest::md5(),
        Algorithm::Sha1 => MessageDigest::sha1(),
        Algorithm::Sha256 => MessageDigest::sha256(),
        Algorithm::Sha512 => MessageDigest::sha512(),
    })
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

/// A lock that a panic elsewhere does not spoil: a hash a panicking job left
/// half-updated belongs to a file whose result is then never collected.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A hash state that the jobs of successive rounds take in turn. A thread that has
/// run out of jobs in one round starts on the next while the other threads finish
/// theirs, so a job waits here only for the same state's job of the round before.
struct Gate<T> {
    /// The next turn to run, and the state.
    state: Mutex<(usize, T)>,
    turn_over: Condvar,
}

impl<T> Gate<T> {
    fn new(value: T) -> Gate<T> {
        Gate {
            state: Mutex::new((0, value)),
            turn_over: Condvar::new(),
        }
    }

    /// Waits for `turn`, then holds the state until the returned value is dropped,
    /// which starts the next turn (also when the job panics).
    fn enter(&self, turn: usize) -> Turn<'_, T> {
        let mut guard = lock(&self.state);
        while guard.0 != turn {
            guard = self
                .turn_over
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Turn {
            guard,
            turn_over: &self.turn_over,
        }
    }
}

struct Turn<'a, T> {
    guard: MutexGuard<'a, (usize, T)>,
    turn_over: &'a Condvar,
}

impl<T> Deref for Turn<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard.1
    }
}

impl<T> DerefMut for Turn<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard.1
    }
}

impl<T> Drop for Turn<'_, T> {
    fn drop(&mut self) {
        self.guard.0 += 1;
        self.turn_over.notify_all();
    }
}

/// What a round gives one lane.
struct Feed {
    data: Vec<u8>,
    /// The file, by its place among the sources.
    index: usize,
    /// The first chunk of a file: forget the lane's previous file.
    start: bool,
    /// The file ends with this chunk (possibly empty).
    last: bool,
}

/// A job and its turn at the hash state it updates.
#[derive(Clone, Copy)]
enum Job {
    /// The MD5 of the four lanes of a group.
    Md5 { group: usize, turn: usize },
    /// Algorithm `k` of `others` for one lane.
    Other { lane: usize, k: usize, turn: usize },
}

struct Round<'p> {
    number: usize,
    feeds: Vec<Option<Feed>>,
    jobs: Vec<Job>,
    /// The next job to take.
    next: AtomicUsize,
    /// Jobs not finished: the job that finishes last reports the round done.
    left: AtomicUsize,
    /// Where the buffers go once no thread holds the round.
    spare: &'p Mutex<Vec<Vec<u8>>>,
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        lock(self.spare).extend(self.feeds.drain(..).flatten().map(|f| f.data));
    }
}

/// The hashes of a file that has ended, by algorithm: each, or why OpenSSL could not
/// compute it.
type Ended = Vec<(Algorithm, Result<String, ErrorStack>)>;

/// The hash states.
struct States {
    md5: Vec<Gate<Md5x4>>,
    /// One lane's hash of one algorithm other than MD5, or why OpenSSL could not
    /// start or update it.
    others: Vec<Gate<Result<Hasher, ErrorStack>>>,
    /// Algorithms other than MD5.
    kinds: Vec<Algorithm>,
    /// The hashes of the files whose last chunk has been hashed, by file.
    ended: Mutex<HashMap<usize, Ended>>,
}

impl States {
    fn ended(&self, index: usize, algorithm: Algorithm, hash: Result<String, ErrorStack>) {
        lock(&self.ended)
            .entry(index)
            .or_default()
            .push((algorithm, hash));
    }

    fn run(&self, round: &Round<'_>, job: Job) {
        match job {
            Job::Md5 { group, turn } => {
                let mut md5 = self.md5[group].enter(turn);
                let feeds: [Option<&Feed>; 4] =
                    std::array::from_fn(|l| round.feeds[group * 4 + l].as_ref());
                for (lane, feed) in feeds.iter().enumerate() {
                    if feed.is_some_and(|f| f.start) {
                        md5.reset(lane);
                    }
                }
                md5.update(feeds.map(|f| f.map(|f| f.data.as_slice())));
                for (lane, feed) in feeds.iter().enumerate() {
                    if let Some(f) = feed.filter(|f| f.last) {
                        let hash = hex(&md5.finish(lane, &f.data));
                        self.ended(f.index, Algorithm::Md5, Ok(hash));
                    }
                }
            }
            Job::Other { lane, k, turn } => {
                // The turn first: whatever happens next, the state's next job runs.
                let mut hash = self.others[lane * self.kinds.len() + k].enter(turn);
                let kind = self.kinds[k];
                let Some(feed) = &round.feeds[lane] else {
                    return;
                };
                if feed.start {
                    // Also drops what a file whose read failed left in this lane.
                    *hash = hasher(kind);
                }
                let updated = match &mut *hash {
                    Ok(h) => h.update(&feed.data),
                    Err(_) => Ok(()),
                };
                if let Err(e) = updated {
                    *hash = Err(e);
                }
                if feed.last {
                    let result = match &mut *hash {
                        Ok(h) => h.finish().map(|d| hex(&d)),
                        Err(e) => Err(e.clone()),
                    };
                    self.ended(feed.index, kind, result);
                }
            }
        }
    }

    fn cost(&self, round: &Round<'_>, job: Job) -> usize {
        let len = |lane: usize| round.feeds[lane].as_ref().map_or(0, |f| f.data.len());
        match job {
            Job::Md5 { group, .. } => {
                let mut lens: Vec<usize> = (group * 4..group * 4 + 4).map(len).collect();
                lens.sort_unstable();
                // Lanes hashed together (see `md5x4`): a block of each of one, two,
                // three or four lanes costs 10, 12, 13 or 16.5 tenths of a block of one.
                let mut total = 0;
                let mut done = 0;
                for (i, l) in lens.iter().enumerate() {
                    total += (l - done) * [165, 130, 120, 100][i];
                    done = *l;
                }
                cost(Algorithm::Md5) * total / 100
            }
            Job::Other { lane, k, .. } => cost(self.kinds[k]) * len(lane),
        }
    }
}

/// Digests of the files at `paths` (`Ok(None)` for an absent file), in order; the
/// largest files are read first, so small ones fill in beside them.
pub fn digest_files(
    paths: &[&Path],
    algorithms: &[Algorithm],
) -> Vec<io::Result<Option<FileDigest>>> {
    let mut order: Vec<(usize, u64)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (i, std::fs::metadata(p).map_or(0, |m| m.len())))
        .collect();
    order.sort_by_key(|(i, size)| (std::cmp::Reverse(*size), *i));
    let digests = digest_sources(
        order
            .iter()
            .map(|(i, _)| match std::fs::File::open(paths[*i]) {
                Ok(f) => Ok(Some(f)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }),
        algorithms,
    );
    let mut out: Vec<Option<io::Result<Option<FileDigest>>>> = paths.iter().map(|_| None).collect();
    for ((i, _), digest) in order.iter().zip(digests) {
        out[*i] = Some(digest);
    }
    out.into_iter()
        .map(|d| d.unwrap_or_else(|| Err(io::Error::other("the file was not hashed"))))
        .collect()
}

/// A file whose last chunk is in a round.
#[derive(Clone, Copy)]
struct Ending {
    index: usize,
    size: u64,
}

/// A file being read in a lane.
struct Open<R> {
    index: usize,
    reader: R,
    size: u64,
    started: bool,
}

/// Fills `buf` from `reader` up to [`CHUNK`] bytes or the end of the file.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.resize(CHUNK, 0);
    let mut filled = 0;
    while filled < CHUNK {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.clear();
                return Err(e);
            }
        }
    }
    buf.truncate(filled);
    Ok(())
}

/// Digests of a sequence of readers (`Ok(None)` for an absent file), in order; each
/// reader is read once, on the calling thread, while other threads hash.
pub fn digest_sources<R: Read>(
    sources: impl IntoIterator<Item = io::Result<Option<R>>>,
    algorithms: &[Algorithm],
) -> Vec<io::Result<Option<FileDigest>>> {
    let mut wanted = algorithms.to_vec();
    wanted.sort_by_key(|a| a.index());
    wanted.dedup();
    let md5 = wanted.contains(&Algorithm::Md5);
    let kinds: Vec<Algorithm> = wanted
        .iter()
        .copied()
        .filter(|a| *a != Algorithm::Md5)
        .collect();
    let states = States {
        md5: (0..LANES / 4).map(|_| Gate::new(Md5x4::new())).collect(),
        others: (0..LANES)
            .flat_map(|_| kinds.iter())
            .map(|a| Gate::new(hasher(*a)))
            .collect(),
        kinds,
        ended: Mutex::new(HashMap::new()),
    };
    let spare = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = channel::<usize>();
        let mut workers = Vec::new();
        for _ in 0..threads {
            let (tx, rx) = channel::<Arc<Round<'_>>>();
            let done_tx = done_tx.clone();
            let states = &states;
            scope.spawn(move || worker(states, &rx, &done_tx));
            workers.push(tx);
        }
        // Only workers hold senders: when every one has stopped, waiting ends.
        drop(done_tx);
        let mut coordinator = Coordinator {
            sources: sources.into_iter().enumerate(),
            lanes: (0..LANES).map(|_| None).collect(),
            out: Vec::new(),
            spare: &spare,
            md5,
            turns: vec![0; LANES / 4 + LANES * states.kinds.len()],
            rounds: 0,
            finished: BTreeSet::new(),
        };
        // Rounds given to the workers and not known to be done, oldest first, with
        // the files each one ends.
        let mut running: VecDeque<(usize, Vec<Ending>)> = VecDeque::new();
        loop {
            let (round, ending) = coordinator.read_round(&states);
            let Some(round) = round else { break };
            if round.jobs.is_empty() {
                // Sizes only: nothing to hash.
                coordinator.record(&states, &ending);
                continue;
            }
            running.push_back((round.number, ending));
            let round = Arc::new(round);
            // A worker that panicked has dropped its channel; the others take its jobs.
            for tx in &workers {
                let _ = tx.send(Arc::clone(&round));
            }
            drop(round);
            if running.len() == IN_FLIGHT {
                if let Some((number, ending)) = running.pop_front() {
                    coordinator.wait(number, &done_rx);
                    coordinator.record(&states, &ending);
                }
            }
        }
        drop(workers);
        for (number, ending) in running {
            coordinator.wait(number, &done_rx);
            coordinator.record(&states, &ending);
        }
        coordinator
            .out
            .into_iter()
            .map(|d| d.unwrap_or_else(|| Err(io::Error::other("a hashing thread stopped"))))
            .collect()
    })
}

/// Reports a round done when its last job ends, even if that job panicked (the
/// panic then reaches the caller when the thread scope ends).
struct Finished<'a, 'p> {
    round: &'a Round<'p>,
    done: &'a Sender<usize>,
}

impl Drop for Finished<'_, '_> {
    fn drop(&mut self) {
        if self.round.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.done.send(self.round.number);
        }
    }
}

fn worker(states: &States, rx: &Receiver<Arc<Round<'_>>>, done: &Sender<usize>) {
    for round in rx {
        loop {
            let i = round.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = round.jobs.get(i) else { break };
            let _finished = Finished {
                round: &round,
                done,
            };
            states.run(&round, *job);
        }
    }
}

struct Coordinator<'p, I, R> {
    sources: I,
    lanes: Vec<Option<Open<R>>>,
    out: Vec<Option<io::Result<Option<FileDigest>>>>,
    /// Buffers of rounds no thread holds any more, for reuse.
    spare: &'p Mutex<Vec<Vec<u8>>>,
    md5: bool,
    /// The next turn of each hash state: the MD5 groups, then the other states.
    turns: Vec<usize>,
    /// Rounds read so far.
    rounds: usize,
    /// Rounds reported done and not yet waited for.
    finished: BTreeSet<usize>,
}

impl<'p, I, R> Coordinator<'p, I, R>
where
    I: Iterator<Item = (usize, io::Result<Option<R>>)>,
    R: Read,
{
    fn put(&mut self, index: usize, result: io::Result<Option<FileDigest>>) {
        if self.out.len() <= index {
            self.out.resize_with(index + 1, || None);
        }
        self.out[index] = Some(result);
    }

    /// The next file to read, settling absent and unopenable ones on the way.
    fn next_open(&mut self) -> Option<Open<R>> {
        loop {
            let (index, source) = self.sources.next()?;
            match source {
                Ok(Some(reader)) => {
                    self.put(index, Err(io::Error::other("the file was not hashed")));
                    return Some(Open {
                        index,
                        reader,
                        size: 0,
                        started: false,
                    });
                }
                Ok(None) => self.put(index, Ok(None)),
                Err(e) => self.put(index, Err(e)),
            }
        }
    }

    /// The next turn of hash state `state` (see `turns`).
    fn turn(&mut self, state: usize) -> usize {
        let turn = self.turns[state];
        self.turns[state] += 1;
        turn
    }

    /// Reads a chunk for every lane (`None` when every file is done), and lists the
    /// files that end in this round with their sizes.
    fn read_round(&mut self, states: &States) -> (Option<Round<'p>>, Vec<Ending>) {
        let mut feeds: Vec<Option<Feed>> = (0..LANES).map(|_| None).collect();
        let mut ending = Vec::new();
        for (lane, feed) in feeds.iter_mut().enumerate() {
            loop {
                if self.lanes[lane].is_none() {
                    self.lanes[lane] = self.next_open();
                }
                let Some(open) = self.lanes[lane].as_mut() else {
                    break;
                };
                let mut buf = lock(self.spare).pop().unwrap_or_default();
                match fill(&mut open.reader, &mut buf) {
                    Ok(()) => {
                        open.size += buf.len() as u64;
                        let last = buf.len() < CHUNK;
                        let start = !open.started;
                        open.started = true;
                        let index = open.index;
                        if last {
                            ending.push(Ending {
                                index,
                                size: open.size,
                            });
                            self.lanes[lane] = None;
                        }
                        *feed = Some(Feed {
                            data: buf,
                            index,
                            start,
                            last,
                        });
                        break;
                    }
                    Err(e) => {
                        let index = open.index;
                        self.lanes[lane] = None;
                        lock(self.spare).push(buf);
                        self.put(index, Err(e));
                    }
                }
            }
        }
        if feeds.iter().all(Option::is_none) {
            return (None, Vec::new());
        }
        let mut round = Round {
            number: self.rounds,
            feeds,
            jobs: Vec::new(),
            next: AtomicUsize::new(0),
            left: AtomicUsize::new(0),
            spare: self.spare,
        };
        self.rounds += 1;
        if self.md5 {
            for group in 0..LANES / 4 {
                if round.feeds[group * 4..group * 4 + 4]
                    .iter()
                    .any(Option::is_some)
                {
                    let turn = self.turn(group);
                    round.jobs.push(Job::Md5 { group, turn });
                }
            }
        }
        for lane in 0..LANES {
            if round.feeds[lane].is_some() {
                for k in 0..states.kinds.len() {
                    let turn = self.turn(LANES / 4 + lane * states.kinds.len() + k);
                    round.jobs.push(Job::Other { lane, k, turn });
                }
            }
        }
        let mut costed: Vec<(usize, Job)> = round
            .jobs
            .iter()
            .map(|j| (states.cost(&round, *j), *j))
            .collect();
        costed.sort_by_key(|(c, _)| std::cmp::Reverse(*c));
        round.jobs = costed.into_iter().map(|(_, j)| j).collect();
        round.left = AtomicUsize::new(round.jobs.len());
        (Some(round), ending)
    }

    /// Waits until round `number` is done, or until every worker has stopped.
    fn wait(&mut self, number: usize, done: &Receiver<usize>) {
        while !self.finished.remove(&number) {
            match done.recv() {
                Ok(n) => {
                    self.finished.insert(n);
                }
                Err(_) => return,
            }
        }
    }

    /// Records the digests of the files a round that is done ended.
    fn record(&mut self, states: &States, ending: &[Ending]) {
        for &Ending { index, size } in ending {
            let hashes = lock(&states.ended).remove(&index).unwrap_or_default();
            let mut digest = FileDigest {
                size,
                hashes: Default::default(),
            };
            let mut failed = None;
            for (a, hash) in hashes {
                match hash {
                    Ok(hash) => digest.hashes[a.index()] = Some(hash),
                    Err(e) => {
                        failed = Some(io::Error::other(format!(
                            "OpenSSL cannot compute the {a} hash: {e}"
                        )));
                    }
                }
            }
            // A job that panicked leaves its hash out.
            let complete = digest.hashes.iter().filter(|h| h.is_some()).count()
                == states.kinds.len() + usize::from(self.md5);
            self.put(
                index,
                match failed {
                    Some(e) => Err(e),
                    None if complete => Ok(Some(digest)),
                    None => Err(io::Error::other("a hashing thread stopped")),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `md5sum`, `sha1sum`, `sha256sum` and `sha512sum` print for each message.
    #[test]
    fn known_answers_across_chunk_boundaries() {
        let big = vec![b'a'; CHUNK * 2 + 5];
        let empty: &[u8] = b"";
        let got = digest_sources(
            [
                Ok(Some(&b"abc"[..])),
                Ok(None),
                Ok(Some(empty)),
                Ok(Some(&big[..])),
            ],
            &Algorithm::ALL,
        );
        assert!(got[1].as_ref().unwrap().is_none());
        let check = |i: usize, size: usize, want: [&str; 4]| {
            let d = got[i].as_ref().unwrap().as_ref().unwrap();
            assert_eq!(d.size, size as u64);
            for a in Algorithm::ALL {
                assert_eq!(d.hashes[a.index()].as_deref(), Some(want[a.index()]), "{a}");
            }
        };
        check(
            0,
            3,
            [
                "900150983cd24fb0d6963f7d28e17f72",
                "a9993e364706816aba3e25717850c26c9cd0d89d",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ],
        );
        check(
            2,
            0,
            [
                "d41d8cd98f00b204e9800998ecf8427e",
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            ],
        );
        check(
            3,
            big.len(),
            [
                "f12494288a7f73d9e0d70c021861920b",
                "923c12bb3b3bd1c228cb7b435c4fd2db96a54678",
                "3981b165ce6e322ab89db698dba1578d879d0d7df50db4f40e2416e1f3cc7d9a",
                "2e937b3689ac8d7ccc90285bc05eff90092a8749d78e65cb1dcbadb9509edb07\
                 65205baee36489707a98c5a97f4f816ae8ef0c131b79d1ddbfc11e83380906e5",
            ],
        );
    }

    /// A reader that fails after some bytes, as a broken download does.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn more_files_than_lanes_in_any_mix_agree_with_each_crate() {
        use sha2::Digest as _;
        /// What a source is: a prefix of `data`, absent, failing mid-way, unopenable.
        enum Src {
            Data(usize),
            Missing,
            Broken,
            Unopenable,
        }
        use Src::*;
        let data: Vec<u8> = (0..CHUNK * 3 + 999)
            .map(|i| (i * 31 + i / 7) as u8)
            .collect();
        let srcs = [
            Data(CHUNK * 3 + 999),
            Data(0),
            Data(1),
            Missing,
            Data(CHUNK),
            Broken,
            Data(CHUNK - 1),
            Unopenable,
            Data(CHUNK + 64),
            Data(55),
            Data(CHUNK * 2),
            Data(4096),
            Data(CHUNK * 3 + 999),
            Data(777),
            Data(CHUNK + 1),
            Data(64),
        ];
        for algorithms in [
            &Algorithm::ALL[..],
            &[Algorithm::Md5, Algorithm::Sha256],
            &[Algorithm::Sha256],
            &[Algorithm::Md5],
        ] {
            let sources = srcs.iter().map(|s| -> io::Result<Option<Box<dyn Read>>> {
                match s {
                    Data(n) => Ok(Some(Box::new(&data[..*n]))),
                    Missing => Ok(None),
                    Broken => Ok(Some(Box::new(Failing(CHUNK + 10)))),
                    Unopenable => Err(io::Error::other("cannot open")),
                }
            });
            let got = digest_sources(sources, algorithms);
            assert_eq!(got.len(), srcs.len());
            for (i, (src, d)) in srcs.iter().zip(&got).enumerate() {
                let n = match src {
                    Data(n) => *n,
                    Missing => {
                        assert!(d.as_ref().unwrap().is_none());
                        continue;
                    }
                    Broken => {
                        assert_eq!(d.as_ref().unwrap_err().to_string(), "connection reset");
                        continue;
                    }
                    Unopenable => {
                        assert_eq!(d.as_ref().unwrap_err().to_string(), "cannot open");
                        continue;
                    }
                };
                let d = d.as_ref().unwrap().as_ref().unwrap();
                let bytes = &data[..n];
                assert_eq!(d.size, n as u64, "file {i}");
                let want = [
                    hex(&md5::Md5::digest(bytes)),
                    hex(&sha1::Sha1::digest(bytes)),
                    hex(&sha2::Sha256::digest(bytes)),
                    hex(&sha2::Sha512::digest(bytes)),
                ];
                for a in Algorithm::ALL {
                    let expected = algorithms.contains(&a).then(|| want[a.index()].clone());
                    assert_eq!(d.hashes[a.index()], expected, "file {i} ({n} bytes), {a}");
                }
            }
        }
    }

    #[test]
    fn sizes_alone_need_no_hashing() {
        let data = vec![7u8; CHUNK * 2 + 1];
        let got = digest_sources([Ok(Some(&data[..])), Ok(Some(&b"abc"[..]))], &[]);
        let sizes: Vec<u64> = got
            .iter()
            .map(|d| d.as_ref().unwrap().as_ref().unwrap().size)
            .collect();
        assert_eq!(sizes, [CHUNK as u64 * 2 + 1, 3]);
        for d in &got {
            assert_eq!(
                d.as_ref().unwrap().as_ref().unwrap().hashes,
                [None, None, None, None]
            );
        }
    }

    #[test]
    fn files_come_back_in_the_order_asked_whatever_their_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        let big = dir.path().join("big");
        std::fs::write(&small, b"abc").unwrap();
        std::fs::write(&big, vec![b'a'; CHUNK + 5]).unwrap();
        let missing = dir.path().join("missing");
        let got = digest_files(&[&small, &missing, &big], &[Algorithm::Md5]);
        assert_eq!(
            got[0].as_ref().unwrap().as_ref().unwrap().hashes[0].as_deref(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
        assert!(got[1].as_ref().unwrap().is_none());
        assert_eq!(
            got[2].as_ref().unwrap().as_ref().unwrap().size,
            CHUNK as u64 + 5
        );
    }
}
