//! MD5 over up to four messages at once, their chains interleaved on one core.
//!
//! Each MD5 step waits on the one before, so a single message leaves most of a
//! core's arithmetic units idle: the time per block is the latency of 64 dependent
//! steps. Messages hashed step by step together, as plain `u32` chains the CPU runs
//! side by side, share that time. Measured on x86_64 (AMD EPYC), a 64-byte block
//! of each active message takes 1.0, 1.2, 1.3 and 1.65 times as long with one,
//! two, three and four of them; a 128-bit SSE2 lane per message took 2.4 times as
//! long with four, since a vector step is no shorter and SSE2 has no rotate. An apt
//! suite has few big files, so lanes run out unevenly: each call hashes the lanes
//! that have blocks left together and drops each one as its blocks run out.
//!
//! This is for checking a Release file's `MD5Sum` field, not for security.

/// The four state words of a message before its first block (RFC 1321, 3.3).
const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321, 3.4).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// `N` interleaved 32-bit words, one per message: the arithmetic MD5 needs, wrapping.
#[derive(Clone, Copy)]
struct Words<const N: usize>([u32; N]);

impl<const N: usize> Words<N> {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Words([x; N])
    }
    #[inline(always)]
    fn map2(mut self, o: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        // A loop, not `array::from_fn`, which is not always inlined.
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a = f(*a, b);
        }
        self
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map2(o, u32::wrapping_add)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self.map2(o, |a, b| a ^ b)
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self.map2(o, |a, b| a & b)
    }
    #[inline(always)]
    fn and_not(self, o: Self) -> Self {
        self.map2(o, |a, b| a & !b)
    }
    #[inline(always)]
    fn or_not(self, o: Self) -> Self {
        self.map2(o, |a, b| a | !b)
    }
    #[inline(always)]
    fn rotl(mut self, s: u32) -> Self {
        for a in &mut self.0 {
            *a = a.rotate_left(s);
        }
        self
    }
}

/// One 64-byte block per message, as sixteen little-endian words each.
#[inline(always)]
fn compress<const N: usize>(state: &mut [Words<N>; 4], m: &[Words<N>; 16]) {
    let [mut a, mut b, mut c, mut d] = *state;
    // The round functions (same values as RFC 1321) in forms whose operations on
    // the word just computed (`x`) are fewest: that chain is the time per block.
    // G's two terms have no bit in common, so `|` is `+`, which adds in parallel.
    let f = |x: Words<N>, y: Words<N>, z: Words<N>| z.xor(x.and(y.xor(z)));
    let g = |x: Words<N>, y: Words<N>, z: Words<N>| x.and(z).add(y.and_not(z));
    let h = |x: Words<N>, y: Words<N>, z: Words<N>| x.xor(y.xor(z));
    let i = |x: Words<N>, y: Words<N>, z: Words<N>| y.xor(x.or_not(z));
    macro_rules! step {
        ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $m:expr, $s:expr) => {
            $a = $b.add(
                $a.add(m[$m])
                    .add(Words::splat(K[$k]))
                    .add($f($b, $c, $d))
                    .rotl($s),
            );
        };
    }
    macro_rules! four {
        ($f:ident, $k:expr, [$m0:expr, $m1:expr, $m2:expr, $m3:expr], [$s0:expr, $s1:expr, $s2:expr, $s3:expr]) => {
            step!($f, a, b, c, d, $k, $m0, $s0);
            step!($f, d, a, b, c, $k + 1, $m1, $s1);
            step!($f, c, d, a, b, $k + 2, $m2, $s2);
            step!($f, b, c, d, a, $k + 3, $m3, $s3);
        };
    }
    four!(f, 0, [0, 1, 2, 3], [7, 12, 17, 22]);
    four!(f, 4, [4, 5, 6, 7], [7, 12, 17, 22]);
    four!(f, 8, [8, 9, 10, 11], [7, 12, 17, 22]);
    four!(f, 12, [12, 13, 14, 15], [7, 12, 17, 22]);
    four!(g, 16, [1, 6, 11, 0], [5, 9, 14, 20]);
    four!(g, 20, [5, 10, 15, 4], [5, 9, 14, 20]);
    four!(g, 24, [9, 14, 3, 8], [5, 9, 14, 20]);
    four!(g, 28, [13, 2, 7, 12], [5, 9, 14, 20]);
    four!(h, 32, [5, 8, 11, 14], [4, 11, 16, 23]);
    four!(h, 36, [1, 4, 7, 10], [4, 11, 16, 23]);
    four!(h, 40, [13, 0, 3, 6], [4, 11, 16, 23]);
    four!(h, 44, [9, 12, 15, 2], [4, 11, 16, 23]);
    four!(i, 48, [0, 7, 14, 5], [6, 10, 15, 21]);
    four!(i, 52, [12, 3, 10, 1], [6, 10, 15, 21]);
    four!(i, 56, [8, 15, 6, 13], [6, 10, 15, 21]);
    four!(i, 60, [4, 11, 2, 9], [6, 10, 15, 21]);
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.add(v);
    }
}

/// Hashes the whole blocks that all `N` messages have, interleaved.
fn run<const N: usize>(states: [[u32; 4]; N], data: [&[u8]; N]) -> [[u32; 4]; N] {
    let mut state = [Words([0; N]); 4];
    for (l, s) in states.iter().enumerate() {
        for (w, v) in s.iter().enumerate() {
            state[w].0[l] = *v;
        }
    }
    let blocks = data.iter().map(|d| d.len() / 64).min().unwrap_or(0);
    let mut m = [Words([0; N]); 16];
    for j in 0..blocks {
        for (l, d) in data.iter().enumerate() {
            for (w, b) in d[j * 64..j * 64 + 64].chunks_exact(4).enumerate() {
                m[w].0[l] = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        compress(&mut state, &m);
    }
    let mut out = [[0; 4]; N];
    for (l, o) in out.iter_mut().enumerate() {
        for (w, v) in o.iter_mut().enumerate() {
            *v = state[w].0[l];
        }
    }
    out
}

/// Four MD5 computations, each over its own message, fed in steps.
pub(crate) struct Md5x4 {
    /// Per lane, the state words `a`, `b`, `c`, `d`.
    state: [[u32; 4]; 4],
    /// Bytes hashed so far, per lane.
    len: [u64; 4],
}

impl Md5x4 {
    pub(crate) fn new() -> Md5x4 {
        Md5x4 {
            state: [IV; 4],
            len: [0; 4],
        }
    }

    /// Starts a new message in `lane`.
    pub(crate) fn reset(&mut self, lane: usize) {
        self.state[lane] = IV;
        self.len[lane] = 0;
    }

    /// Hashes the whole 64-byte blocks of each lane's data (`None`: nothing for that
    /// lane), the lanes with blocks left together. A lane's data must be whole blocks
    /// unless [`Md5x4::finish`] follows with the same data.
    pub(crate) fn update(&mut self, data: [Option<&[u8]>; 4]) {
        // Lanes with blocks, the shortest first, and how far each has got.
        let mut lanes: Vec<(usize, &[u8])> = data
            .iter()
            .enumerate()
            .filter_map(|(lane, d)| d.map(|d| (lane, &d[..d.len() / 64 * 64])))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        lanes.sort_by_key(|(_, d)| d.len());
        for (lane, d) in &lanes {
            self.len[*lane] += d.len() as u64;
        }
        let mut done = 0;
        let mut first = 0;
        while first < lanes.len() {
            // All lanes from `first` on have at least this many bytes left.
            let upto = lanes[first].1.len();
            let active = &lanes[first..];
            let part = |i: usize| &active[i].1[done..upto];
            let state = |i: usize| self.state[active[i].0];
            let ran: Vec<[u32; 4]> = match active.len() {
                1 => run::<1>([state(0)], [part(0)]).to_vec(),
                2 => run::<2>([state(0), state(1)], [part(0), part(1)]).to_vec(),
                3 => run::<3>([state(0), state(1), state(2)], [part(0), part(1), part(2)]).to_vec(),
                _ => run::<4>(
                    [state(0), state(1), state(2), state(3)],
                    [part(0), part(1), part(2), part(3)],
                )
                .to_vec(),
            };
            for ((lane, _), s) in active.iter().zip(ran) {
                self.state[*lane] = s;
            }
            done = upto;
            while first < lanes.len() && lanes[first].1.len() == done {
                first += 1;
            }
        }
    }

    /// Hashes `data`'s last partial block and the padding in `lane`, returns the
    /// digest and starts a new message there. `data` is the same as was just given
    /// to [`Md5x4::update`] (its whole blocks are already hashed).
    pub(crate) fn finish(&mut self, lane: usize, data: &[u8]) -> [u8; 16] {
        let tail = &data[data.len() / 64 * 64..];
        let bits = (self.len[lane] + tail.len() as u64).wrapping_mul(8);
        let mut last = [0u8; 128];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()] = 0x80;
        let end = if tail.len() < 56 { 64 } else { 128 };
        last[end - 8..end].copy_from_slice(&bits.to_le_bytes());
        let [s] = run::<1>([self.state[lane]], [&last[..end]]);
        self.reset(lane);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(s) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;

    #[test]
    fn lanes_agree_with_the_md5_crate_at_every_length() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        // Four lanes of different lengths, fed in pieces of whole blocks, so lanes
        // run out in the middle of a vector step and finish at different times.
        for lens in [
            [0, 1, 55, 56],
            [57, 63, 64, 65],
            [119, 120, 128, 129],
            [5000, 191, 4096, 640],
            [5000, 0, 0, 0],
            [3, 4999, 200, 5000],
        ] {
            let mut x = Md5x4::new();
            let mut done = [false; 4];
            let mut at = [0usize; 4];
            let mut got = [[0u8; 16]; 4];
            while done.iter().any(|d| !d) {
                let pieces: [Option<&[u8]>; 4] = std::array::from_fn(|l| {
                    (!done[l]).then(|| {
                        let end = (at[l] + 640).min(lens[l]);
                        &data[at[l]..end]
                    })
                });
                x.update(pieces);
                for l in 0..4 {
                    if let Some(p) = pieces[l] {
                        at[l] += p.len();
                        if p.len() < 640 {
                            got[l] = x.finish(l, p);
                            done[l] = true;
                        }
                    }
                }
            }
            for l in 0..4 {
                let want = md5::Md5::digest(&data[..lens[l]]);
                assert_eq!(
                    got[l].as_slice(),
                    want.as_slice(),
                    "lane {l}, lengths {lens:?}"
                );
            }
        }
    }
}
