//! The crate's specified, seeded pseudo-random number generator.
//!
//! Every random rotation, projection and sampling decision in the crate is derived from a stored
//! `u64` seed through this generator, so the same seed gives the same codes on every target.
//! The algorithm is part of the crate's format and will not change within a major version:
//!
//! * state initialisation: four successive outputs of **SplitMix64** seeded with the `u64`;
//! * generator: **xoshiro256\*\*** (Blackman & Vigna, 2018);
//! * [`Rng::next_f64`]: the top 53 bits of a `u64` output times 2⁻⁵³, in `[0, 1)`;
//! * [`Rng::gaussian`]: Box–Muller, `√(−2 ln(1−u₁))·cos(2π u₂)` with two fresh `f64` uniforms
//!   per sample (the sine half is discarded so that each sample depends on a fixed number of
//!   outputs), computed with `libm` so that results are identical with and without `std`.

/// SplitMix64 step: returns the next output and advances `state`.
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** seeded through SplitMix64. See the module docs for the exact definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole output stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Rng { s }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits (the high half of [`next_u64`](Rng::next_u64)).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[0, 1)` as `f32` (24 random bits).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-and-reject; unbiased). Returns 0 for `n == 0`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A random sign: `+1.0` or `-1.0` with probability ½ each (one bit of one output).
    #[inline]
    pub fn sign(&mut self) -> f32 {
        if self.next_u64() >> 63 == 1 { -1.0 } else { 1.0 }
    }

    /// A standard normal sample N(0, 1) by Box–Muller (see the module docs).
    #[inline]
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.next_f64();
        let u2 = self.next_f64();
        libm::sqrt(-2.0 * libm::log(1.0 - u1)) * libm::cos(core::f64::consts::TAU * u2)
    }

    /// Fills `out` with independent N(0, 1) samples (as `f32`).
    pub fn fill_gaussian(&mut self, out: &mut [f32]) {
        for v in out {
            *v = self.gaussian() as f32;
        }
    }

    /// Shuffles `items` in place (Fisher–Yates, from the back).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // Reference outputs of SplitMix64 seeded with 1234567 (from Vigna's splitmix64.c).
        let mut s = 1234567u64;
        assert_eq!(splitmix64(&mut s), 6457827717110365317);
        assert_eq!(splitmix64(&mut s), 3203168211198807973);
        assert_eq!(splitmix64(&mut s), 9817491932198370423);
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a: alloc::vec::Vec<u64> = {
            let mut r = Rng::new(7);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let b: alloc::vec::Vec<u64> = {
            let mut r = Rng::new(7);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let c: alloc::vec::Vec<u64> = {
            let mut r = Rng::new(8);
            (0..8).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn gaussian_moments() {
        let mut r = Rng::new(42);
        let n = 200_000;
        let (mut s1, mut s2, mut s4) = (0.0f64, 0.0f64, 0.0f64);
        for _ in 0..n {
            let g = r.gaussian();
            s1 += g;
            s2 += g * g;
            s4 += g * g * g * g;
        }
        let n = n as f64;
        assert!((s1 / n).abs() < 0.01, "mean {}", s1 / n);
        assert!((s2 / n - 1.0).abs() < 0.015, "var {}", s2 / n);
        assert!((s4 / n - 3.0).abs() < 0.08, "kurt {}", s4 / n);
    }

    #[test]
    fn below_is_in_range_and_uniform() {
        let mut r = Rng::new(1);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[r.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{counts:?}");
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }
}
