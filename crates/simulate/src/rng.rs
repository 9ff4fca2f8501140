//! A tiny deterministic pseudo-random generator (SplitMix64), so one seed replays the same day.
//! Not for secrets: nothing here needs to be unpredictable, only reproducible.

/// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, full period, good statistical
/// quality for simulation. Each part of the simulator draws from its own stream
/// ([`Rng::stream`]), so adding draws in one part does not change another.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// FNV-1a of `text`: a stable 64-bit hash (unlike `std`'s hasher, the same in every build).
pub fn hash64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream named `label`, derived from `seed`.
    pub fn stream(seed: u64, label: &str) -> Self {
        let mut r = Self::new(seed ^ hash64(label).rotate_left(17));
        // Mix once so that nearby seeds diverge at the first draw.
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)` (`lo` when the range is empty).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            return lo;
        }
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }

    /// Uniform index below `len` (0 when `len` is 0).
    pub fn index(&mut self, len: usize) -> usize {
        if len == 0 {
            return 0;
        }
        (self.next_u64() % len as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Normally distributed (Box–Muller).
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One element of `items`, `None` when empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.index(items.len()))
        }
    }

    /// An index drawn with the given non-negative weights; `None` when they sum to zero.
    pub fn weighted(&mut self, weights: &[f64]) -> Option<usize> {
        let total: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = self.f64() * total;
        let mut last = None;
        for (i, w) in weights.iter().enumerate() {
            if !(w.is_finite() && *w > 0.0) {
                continue;
            }
            last = Some(i);
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_streams_differ() {
        let a: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let mut s1 = Rng::stream(7, "tickets");
        let mut s2 = Rng::stream(7, "devices");
        assert_ne!(s1.next_u64(), s2.next_u64());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let x = r.f64();
            assert!((0.0..1.0).contains(&x));
            let i = r.int(3, 5);
            assert!((3..=5).contains(&i));
            assert!(r.index(4) < 4);
        }
        assert_eq!(r.index(0), 0);
        assert_eq!(r.weighted(&[0.0, 0.0]), None);
        assert_eq!(r.weighted(&[0.0, 2.0]), Some(1));
    }

    #[test]
    fn weights_and_normal_are_roughly_right() {
        let mut r = Rng::new(99);
        let mut hits = [0u32; 3];
        for _ in 0..30_000 {
            hits[r.weighted(&[1.0, 2.0, 7.0]).unwrap()] += 1;
        }
        assert!((2_500..3_500).contains(&hits[0]), "{hits:?}");
        assert!((19_500..22_500).contains(&hits[2]), "{hits:?}");
        let mean = (0..20_000).map(|_| r.normal(10.0, 2.0)).sum::<f64>() / 20_000.0;
        assert!((mean - 10.0).abs() < 0.1, "{mean}");
    }
}
