//! Non-uniform Lloyd–Max scalar quantization (SPECS §2): a reusable 1-D [`Codebook`] of up to
//! 256 sorted levels with midpoint thresholds, the Gaussian tables for `b = 1..=4` as constants,
//! a Lloyd–Max solver for any 1-D density and 1-D k-means training on samples (both `alloc`).

use crate::error::{Error, Result};

/// Maximum number of levels of a [`Codebook`].
pub const MAX_LEVELS: usize = 256;

/// Positive halves of the Gaussian Lloyd–Max centroids for `b = 1..=4` (SPECS §2); the
/// negative half is the mirror image.
pub const GAUSSIAN_HALF_CENTROIDS: [&[f32]; 4] = [
    &[0.797_884_56],
    &[0.452_780_03, 1.510_417_6],
    &[0.245_094_18, 0.756_005_3, 1.343_909_3, 2.151_945_7],
    &[0.128_395_03, 0.388_048_3, 0.656_759_1, 0.942_340_46, 1.256_231_2, 1.618_046_4, 2.069_017_2, 2.732_589_6],
];

/// Mean squared error of the Gaussian Lloyd–Max quantizers on `N(0, 1)` for `b = 1..=4`.
pub const GAUSSIAN_MSE: [f64; 4] = [0.363_380_227_6, 0.117_481_847_8, 0.034_547_760_79, 0.009_501_008];

/// A 1-D quantizer: `len()` strictly increasing finite levels `c_0 < … < c_{K−1}` and the
/// midpoint thresholds `t_i = (c_i + c_{i+1}) / 2`. Stored in fixed arrays, so it needs no
/// allocator.
#[derive(Clone, Debug, PartialEq)]
pub struct Codebook {
    levels: [f32; MAX_LEVELS],
    thresholds: [f32; MAX_LEVELS],
    len: usize,
}

impl Codebook {
    /// A codebook with the given levels.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `2 ≤ centroids.len() ≤ 256`; [`Error::NonFinite`] on
    /// NaN/inf; [`Error::InvalidParameter`] unless strictly increasing (also after computing the
    /// midpoints in f32).
    pub fn new(centroids: &[f32]) -> Result<Self> {
        let len = centroids.len();
        if !(2..=MAX_LEVELS).contains(&len) {
            return Err(Error::InvalidParameter("codebook needs 2..=256 levels"));
        }
        if centroids.iter().any(|c| !c.is_finite()) {
            return Err(Error::NonFinite);
        }
        let mut levels = [0.0f32; MAX_LEVELS];
        let mut thresholds = [f32::INFINITY; MAX_LEVELS];
        levels[..len].copy_from_slice(centroids);
        for i in 0..len - 1 {
            let (a, b) = (levels[i], levels[i + 1]);
            if a >= b {
                return Err(Error::InvalidParameter("codebook levels must be strictly increasing"));
            }
            let t = a + (b - a) * 0.5;
            if !(t.is_finite() && a <= t && t <= b) {
                return Err(Error::InvalidParameter("codebook levels too far apart"));
            }
            thresholds[i] = t;
        }
        Ok(Codebook { levels, thresholds, len })
    }

    /// The Gaussian `N(0, 1)` Lloyd–Max codebook with `2^bits` levels (SPECS §2 table).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ bits ≤ 4`.
    pub fn gaussian(bits: u32) -> Result<Self> {
        if !(1..=4).contains(&bits) {
            return Err(Error::InvalidParameter("Gaussian Lloyd-Max tables exist for 1..=4 bits"));
        }
        let half = GAUSSIAN_HALF_CENTROIDS[bits as usize - 1];
        let h = half.len();
        let mut c = [0.0f32; 16];
        for (i, &v) in half.iter().enumerate() {
            c[h - 1 - i] = -v;
            c[h + i] = v;
        }
        Codebook::new(&c[..2 * h])
    }

    /// Number of levels `K`.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a codebook has at least 2 levels.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bits needed per index: `ceil(log2(K))`.
    #[inline]
    pub fn bits(&self) -> u32 {
        usize::BITS - (self.len - 1).leading_zeros()
    }

    /// The levels `c_0 < … < c_{K−1}`.
    #[inline]
    pub fn levels(&self) -> &[f32] {
        &self.levels[..self.len]
    }

    /// The `K − 1` thresholds (midpoints).
    #[inline]
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds[..self.len - 1]
    }

    /// Level `i` (`i` is clamped to `K − 1`, so corrupt indices never panic).
    #[inline]
    pub fn level(&self, i: u8) -> f32 {
        self.levels[(i as usize).min(self.len - 1)]
    }

    /// The cell of `x`: the number of thresholds `≤ x` (upper bound; a value exactly on a
    /// threshold goes to the upper cell). NaN maps to cell 0; ±inf to the extreme cells.
    #[inline]
    pub fn index(&self, x: f32) -> u8 {
        // Branch-light binary search over the padded threshold array (padding is +inf).
        let t = &self.thresholds;
        let mut lo = 0usize;
        let mut step = MAX_LEVELS / 2;
        while step > 0 {
            if t[lo + step - 1] <= x {
                lo += step;
            }
            step /= 2;
        }
        // lo is now the count of thresholds ≤ x among the first 255 slots.
        lo.min(self.len - 1) as u8
    }

    /// Mean squared error of this codebook on `samples`.
    pub fn mse(&self, samples: &[f32]) -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let s: f64 = samples
            .iter()
            .map(|&x| {
                let e = (x - self.level(self.index(x))) as f64;
                e * e
            })
            .sum();
        s / samples.len() as f64
    }
}

#[cfg(feature = "alloc")]
mod train {
    use super::*;
    use alloc::vec::Vec;

    impl Codebook {
        /// Lloyd–Max quantizer with `levels` levels for the density `pdf` (need not be
        /// normalised) on `[lo, hi]`: `grid` quadrature points (midpoint rule; 0 means 200,000),
        /// iterating thresholds = midpoints and levels = conditional means until no level moves
        /// by more than `1e-12 · (hi − lo)` or `max_iter` iterations. Initial levels are the
        /// quantiles of the density.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] if `lo ≥ hi`, either is not finite, `levels ∉ 2..=256`,
        /// or the density is negative, NaN or has zero mass on the grid.
        pub fn lloyd_max_density(
            pdf: impl Fn(f64) -> f64,
            lo: f64,
            hi: f64,
            levels: usize,
            grid: usize,
            max_iter: usize,
        ) -> Result<Codebook> {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::InvalidParameter("density interval must be finite with lo < hi"));
            }
            if !(2..=MAX_LEVELS).contains(&levels) {
                return Err(Error::InvalidParameter("codebook needs 2..=256 levels"));
            }
            let n = if grid == 0 { 200_000 } else { grid.clamp(levels * 4, 10_000_000) };
            let h = (hi - lo) / n as f64;
            let xs: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
            let mut w = Vec::with_capacity(n);
            for &x in &xs {
                let p = pdf(x);
                if !(p >= 0.0 && p.is_finite()) {
                    return Err(Error::InvalidParameter("density must be finite and non-negative"));
                }
                w.push(p);
            }
            // Prefix sums of mass and first moment.
            let mut cm = Vec::with_capacity(n + 1);
            let mut cx = Vec::with_capacity(n + 1);
            let (mut m, mut mx) = (0.0f64, 0.0f64);
            cm.push(0.0);
            cx.push(0.0);
            for (&x, &p) in xs.iter().zip(&w) {
                m += p;
                mx += p * x;
                cm.push(m);
                cx.push(mx);
            }
            if m <= 0.0 {
                return Err(Error::InvalidParameter("density has zero mass"));
            }
            // Quantile initialisation.
            let mut c: Vec<f64> = (0..levels)
                .map(|k| {
                    let target = m * (k as f64 + 0.5) / levels as f64;
                    let i = cm.partition_point(|&v| v < target).clamp(1, n);
                    xs[i - 1]
                })
                .collect();
            dedup_increasing(&mut c, h);
            // Prefix mass and first moment at a real position t, interpolating inside the grid
            // cell containing t (so thresholds do not snap to grid points).
            let prefix = |t: f64| -> (f64, f64) {
                let u = ((t - lo) / h).clamp(0.0, n as f64);
                let i = (u.floor() as usize).min(n - 1);
                let frac = u - i as f64;
                (cm[i] + frac * w[i], cx[i] + frac * w[i] * (lo + (i as f64 + 0.5 * frac) * h))
            };
            for _ in 0..max_iter.max(1) {
                let mut moved = 0.0f64;
                let mut start = (0.0, 0.0);
                for k in 0..levels {
                    let end = if k + 1 < levels { prefix(0.5 * (c[k] + c[k + 1])) } else { (m, mx) };
                    let mass = end.0 - start.0;
                    if mass > 0.0 {
                        let nc = (end.1 - start.1) / mass;
                        moved = moved.max((nc - c[k]).abs());
                        c[k] = nc;
                    }
                    start = end;
                }
                dedup_increasing(&mut c, h);
                if moved <= 1e-12 * (hi - lo) {
                    break;
                }
            }
            let cf: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            Codebook::new(&cf)
        }

        /// 1-D k-means (Lloyd) on `samples` with `levels` levels, initialised at the sample
        /// quantiles `(k + 0.5)/levels`, for at most `iters` iterations (stops early when no
        /// level changes). Deterministic. Empty cells keep their previous level.
        ///
        /// # Errors
        /// [`Error::NonFinite`] on NaN/inf samples; [`Error::InvalidParameter`] if
        /// `levels ∉ 2..=256`; [`Error::NotEnoughData`] if there are fewer than `levels` distinct
        /// sample values.
        pub fn train(samples: &[f32], levels: usize, iters: usize) -> Result<Codebook> {
            if !(2..=MAX_LEVELS).contains(&levels) {
                return Err(Error::InvalidParameter("codebook needs 2..=256 levels"));
            }
            crate::error::check_finite(samples)?;
            let mut s: Vec<f32> = samples.to_vec();
            s.sort_unstable_by(|a, b| a.total_cmp(b));
            let n = s.len();
            let distinct = 1 + s.windows(2).filter(|w| w[0] < w[1]).count();
            if n == 0 || distinct < levels {
                return Err(Error::NotEnoughData { needed: levels, got: if n == 0 { 0 } else { distinct } });
            }
            if distinct == levels {
                let mut u = s.clone();
                u.dedup();
                return Codebook::new(&u);
            }
            // Prefix sums in f64 over the sorted samples: each cell is a contiguous range.
            let mut ps = Vec::with_capacity(n + 1);
            let mut acc = 0.0f64;
            ps.push(0.0);
            for &v in &s {
                acc += v as f64;
                ps.push(acc);
            }
            let mut c: Vec<f64> = (0..levels).map(|k| s[((k * 2 + 1) * n / (2 * levels)).min(n - 1)] as f64).collect();
            let eps = ((s[n - 1] - s[0]) as f64 * 1e-7).max(f64::MIN_POSITIVE);
            dedup_increasing(&mut c, eps);
            for _ in 0..iters.max(1) {
                let mut changed = false;
                let mut start = 0usize;
                for k in 0..levels {
                    let end = if k + 1 < levels {
                        let t = (0.5 * (c[k] + c[k + 1])) as f32;
                        s.partition_point(|&v| v < t)
                    } else {
                        n
                    };
                    let end = end.max(start);
                    if end > start {
                        let nc = (ps[end] - ps[start]) / (end - start) as f64;
                        if nc != c[k] {
                            changed = true;
                        }
                        c[k] = nc;
                    }
                    start = end;
                }
                dedup_increasing(&mut c, eps);
                if !changed {
                    break;
                }
            }
            let mut cf: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            // Guard against f32 rounding collapsing neighbours.
            for i in 1..cf.len() {
                if cf[i] <= cf[i - 1] {
                    cf[i] = next_up(cf[i - 1]);
                }
            }
            Codebook::new(&cf)
        }
    }

    /// The next larger finite `f32`.
    fn next_up(x: f32) -> f32 {
        if x == 0.0 {
            f32::from_bits(1)
        } else if x > 0.0 {
            f32::from_bits(x.to_bits() + 1)
        } else {
            f32::from_bits(x.to_bits() - 1)
        }
    }

    /// Makes `c` strictly increasing by at least `eps` (sorting first).
    fn dedup_increasing(c: &mut [f64], eps: f64) {
        c.sort_by(|a, b| a.total_cmp(b));
        for i in 1..c.len() {
            if c[i] < c[i - 1] + eps {
                c[i] = c[i - 1] + eps;
            }
        }
    }
}
