//! Non-uniform Lloyd–Max scalar quantization (SPECS §2): a reusable 1-D [`Codebook`] of up to
//! 256 sorted levels with midpoint thresholds, the Gaussian tables for `b = 1..=4` as constants,
//! a Lloyd–Max solver for any 1-D density and 1-D k-means training on samples (both `alloc`),
//! and [`LloydCodec`], a vector codec on top of a codebook.
//!
//! # Saved parameters
//!
//! [`Codebook`], [`LloydCodec`] and [`TrainedLloydCodec`] implement [`Persist`]: a codebook is
//! `u32 K, f32 level[K]`; a [`LloydCodec`] is `u32 dim` then its codebook; a
//! [`TrainedLloydCodec`] is `u32 dim, u8 bits, u8 per_dim, u32 books, f32 level[books][2^bits]`
//! (also the payload of its own container, [`TrainedLloydCodec::to_bytes`]). The configuration
//! names (`lloyd1` … `lloyd4`, `lloyd4-trained`, `lloyd4-trained-dim`, …) are parsed by
//! [`crate::factory`].

use crate::error::{Error, Result};
use crate::format::Reader;
use crate::persist::Persist;

/// Maximum number of levels of a [`Codebook`].
pub const MAX_LEVELS: usize = 256;

/// Positive halves of the Gaussian Lloyd–Max centroids for `b = 1..=4` (SPECS §2); the
/// negative half is the mirror image.
#[allow(clippy::excessive_precision)]
pub const GAUSSIAN_HALF_CENTROIDS: [&[f32]; 4] = [
    &[0.797_884_56],
    &[0.452_780_03, 1.510_417_6],
    &[0.245_094_18, 0.756_005_3, 1.343_909_3, 2.151_945_7],
    &[0.128_395_03, 0.388_048_3, 0.656_759_1, 0.942_340_46, 1.256_231_2, 1.618_046_4, 2.069_017_2, 2.732_589_6],
];

/// Mean squared error of the Gaussian Lloyd–Max quantizers on `N(0, 1)` for `b = 1..=4`.
#[allow(clippy::excessive_precision)]
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
        let t = &self.thresholds;
        if self.len <= 16 {
            // Branch-free count of thresholds ≤ x (padding is +inf, so extra slots only count
            // when x = +inf, which the final clamp handles exactly like the binary search).
            let mut c = 0usize;
            for &ti in &t[..16] {
                c += usize::from(ti <= x);
            }
            return c.min(self.len - 1) as u8;
        }
        // Branch-light binary search over the padded threshold array (padding is +inf).
        let mut lo = 0usize;
        // Thresholds past `len − 1` are +inf, so searching the first `next_power_of_two(len)`
        // slots is enough.
        let mut step = self.len.next_power_of_two() / 2;
        while step > 0 {
            if t[lo + step - 1] <= x {
                lo += step;
            }
            step /= 2;
        }
        // lo is now the count of thresholds ≤ x.
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

/// Reads `k` levels (`2 ≤ k ≤ 256`, checked by the caller) into a codebook, without allocating.
///
/// # Errors
/// [`Error::Truncated`]; [`Error::Corrupt`] for levels that are not finite and strictly
/// increasing.
fn read_levels(r: &mut Reader<'_>, k: usize) -> Result<Codebook> {
    let mut lv = [0.0f32; MAX_LEVELS];
    r.f32_into(k, &mut lv)?;
    Codebook::new(&lv[..k]).map_err(|_| Error::Corrupt("invalid codebook levels"))
}

impl Persist for Codebook {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.len as u32).f32s(self.levels());
    }

    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let k = r.count(MAX_LEVELS, "codebook has more than 256 levels")?;
        if k < 2 {
            return Err(Error::Corrupt("codebook has fewer than 2 levels"));
        }
        read_levels(r, k)
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
                let i = (libm::floor(u) as usize).min(n - 1);
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
        /// `levels ∉ 2..=256`; [`Error::NotEnoughData`] if there are no samples. With at most
        /// `levels` distinct sample values, each gets its own level (padded upwards by one ulp
        /// steps).
        pub fn train(samples: &[f32], levels: usize, iters: usize) -> Result<Codebook> {
            if !(2..=MAX_LEVELS).contains(&levels) {
                return Err(Error::InvalidParameter("codebook needs 2..=256 levels"));
            }
            crate::error::check_finite(samples)?;
            let mut s: Vec<f32> = samples.to_vec();
            crate::par::sort_total(&mut s);
            let n = s.len();
            let distinct = 1 + s.windows(2).filter(|w| w[0] < w[1]).count();
            if n == 0 {
                return Err(Error::NotEnoughData { needed: levels, got: 0 });
            }
            if distinct <= levels {
                // Every sample value gets its own level (the codebook is exact on the samples);
                // unused levels continue upwards one ulp apart, so the table stays strictly
                // increasing (e.g. a dimension that is constant in the training data).
                let mut u = s.clone();
                u.dedup();
                while u.len() < levels {
                    let top = u[u.len() - 1];
                    u.push(next_up(top));
                }
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

// ---------------------------------------------------------------------------------------------
// The codec
// ---------------------------------------------------------------------------------------------

use crate::codec::{Codec, Decode, Estimator, Score, Symbols};
use crate::error::{check_code, check_dim, check_finite};

/// Lloyd–Max vector codec with a per-vector affine scale: each vector is standardised
/// (`z_i = (x_i − μ) / σ`, `μ` its mean and `σ` its RMS deviation from the mean), each `z_i` is
/// quantized with a shared [`Codebook`] (the Gaussian table for `b` bits with
/// [`LloydCodec::gaussian`]) and the code stores `μ`, `σ` as two f32 followed by the indices
/// packed at `b` bits each, LSB-first.
///
/// Bits per dimension: `b + 64 / d` (the two scale floats are counted).
/// Decode: `x̂_i = μ + σ · c[idx_i]`. Score: exact on the reconstruction
/// ([`Estimator::Reconstruction`]): the prepared query is `q` and `Σ q_i`, and a score is
/// `μ Σq + σ Σ_i q_i·c[idx_i]`, the codebook table scan [`crate::simd::dot_lut_f32`] that
/// TurboQuant uses (`d` floats of query scratch).
///
/// Factory names: `lloyd1` … `lloyd4`.
#[derive(Clone, Debug, PartialEq)]
pub struct LloydCodec {
    dim: usize,
    book: Codebook,
    bits: u32,
    code_len: usize,
}

impl LloydCodec {
    /// The Gaussian Lloyd–Max codec with `bits ∈ 1..=4`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM) or
    /// `bits ∉ 1..=4`.
    pub fn gaussian(dim: usize, bits: u32) -> Result<Self> {
        Self::with_codebook(dim, Codebook::gaussian(bits)?)
    }

    /// A codec using `book` on the standardised coordinates (e.g. one trained with
    /// [`Codebook::train`] on standardised data). `bits = book.bits()`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
    pub fn with_codebook(dim: usize, book: Codebook) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("dim must be in 1..=65536"));
        }
        let bits = book.bits();
        let packed = dim.checked_mul(bits as usize).ok_or(Error::Overflow)?.div_ceil(8);
        Ok(LloydCodec { dim, book, bits, code_len: packed + 8 })
    }

    /// The codebook.
    pub fn codebook(&self) -> &Codebook {
        &self.book
    }

    /// Whether `μ + σ·c` is finite for every level `c` (it lies between the values at the
    /// first and last levels, since `σ ≥ 0`).
    fn scales_ok(&self, mu: f32, sd: f32) -> bool {
        let lv = self.book.levels();
        let ends = [lv[0], lv[lv.len() - 1]];
        sd >= 0.0 && mu.is_finite() && ends.iter().all(|&c| (sd * c).is_finite() && (mu + sd * c).is_finite())
    }

    /// The code's `(μ, σ)`: [`Error::Corrupt`] unless every level decodes finite.
    fn scales(&self, code: &[u8]) -> Result<(f32, f32)> {
        let mu = f32::from_le_bytes([code[0], code[1], code[2], code[3]]);
        let sd = f32::from_le_bytes([code[4], code[5], code[6], code[7]]);
        if self.scales_ok(mu, sd) { Ok((mu, sd)) } else { Err(Error::Corrupt("lloyd scales")) }
    }

    #[inline]
    fn idx(&self, packed: &[u8], i: usize) -> usize {
        (crate::bits::get(packed, i, self.bits).unwrap_or(0) as usize).min(self.book.len() - 1)
    }
}

impl Codec for LloydCodec {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        self.code_len
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len, code.len())?;
        check_finite(x)?;
        let n = x.len() as f64;
        let mu = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mu) * (v as f64 - mu)).sum::<f64>() / n;
        let (mu, sd) = (mu as f32, libm::sqrt(var) as f32);
        if !(sd.is_finite() && self.scales_ok(mu, sd)) {
            return Err(Error::NonFinite);
        }
        code[..4].copy_from_slice(&mu.to_le_bytes());
        code[4..8].copy_from_slice(&sd.to_le_bytes());
        let packed = &mut code[8..];
        packed.fill(0);
        let b = self.bits as usize;
        let inv = if sd > 0.0 { 1.0 / sd } else { 0.0 };
        for (i, &v) in x.iter().enumerate() {
            let k = self.book.index((v - mu) * inv) as u32;
            let bit = i * b;
            let (byte, sh) = (bit / 8, bit % 8);
            let w = k << sh;
            packed[byte] |= w as u8;
            if sh + b > 8 {
                packed[byte + 1] |= (w >> 8) as u8;
            }
        }
        Ok(())
    }
}

impl Decode for LloydCodec {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, out.len())?;
        let (mu, sd) = self.scales(code)?;
        let lv = self.book.levels();
        for (i, o) in out.iter_mut().enumerate() {
            *o = mu + sd * lv[self.idx(&code[8..], i)];
        }
        Ok(())
    }
}

/// A query prepared for [`LloydCodec`] or [`TrainedLloyd`]: the query itself and `Σ q_i`
/// for a shared codebook, the per-dimension table `q_i · c_{i,k}` for per-dimension codebooks.
#[derive(Debug)]
pub struct LloydQuery<'s> {
    table: &'s [f32],
    sum: f32,
}

impl Score for LloydCodec {
    type Query<'s> = LloydQuery<'s>;

    fn query_scratch_len(&self) -> usize {
        self.dim
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<LloydQuery<'s>> {
        let (table, _) = crate::codec::copy_query(self.dim, q, self.dim, scratch)?;
        Ok(LloydQuery { table, sum: q.iter().sum() })
    }

    fn score(&self, q: &LloydQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, q.table.len())?;
        let (mu, sd) = self.scales(code)?;
        let acc = crate::simd::dot_lut_f32(&code[8..], self.bits, self.book.levels(), q.table);
        Ok(mu * q.sum + sd * acc)
    }
}

impl Symbols for LloydCodec {
    fn symbols_per_vector(&self) -> usize {
        self.dim
    }

    fn alphabet_size(&self) -> u32 {
        self.book.len() as u32
    }

    fn side_len(&self) -> usize {
        8
    }

    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, symbols.len())?;
        check_code(8, side.len())?;
        side.copy_from_slice(&code[..8]);
        for (i, s) in symbols.iter_mut().enumerate() {
            *s = crate::bits::get(&code[8..], i, self.bits).unwrap_or(0);
        }
        Ok(())
    }

    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, symbols.len())?;
        check_code(8, side.len())?;
        if symbols.iter().any(|&s| s as usize >= self.book.len()) {
            return Err(Error::Corrupt("symbol out of range"));
        }
        code[..8].copy_from_slice(side);
        let packed = &mut code[8..];
        packed.fill(0);
        let b = self.bits as usize;
        for (i, &s) in symbols.iter().enumerate() {
            let bit = i * b;
            let (byte, sh) = (bit / 8, bit % 8);
            let w = (s as u32) << sh;
            packed[byte] |= w as u8;
            if sh + b > 8 {
                packed[byte + 1] |= (w >> 8) as u8;
            }
        }
        Ok(())
    }
}

impl Persist for LloydCodec {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32);
        self.book.persist(w);
    }

    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, crate::persist::MAX_DIM, "lloyd dimension too large")?;
        let book = Codebook::restore(r)?;
        LloydCodec::with_codebook(dim, book).map_err(|_| Error::Corrupt("invalid lloyd codec parameters"))
    }
}

// ---------------------------------------------------------------------------------------------
// Data-trained codec (alloc)
// ---------------------------------------------------------------------------------------------

/// Container kind tag of [`TrainedLloyd`] parameters (scalar range `0x0140..0x0180`).
pub const TRAINED_KIND: u16 = 0x0140;

/// Lloyd–Max codec with data-trained codebooks (1-D k-means), shared by all dimensions or
/// one per dimension, on the raw coordinates (no per-vector scale). `b ∈ 1..=8` bits. `B`
/// holds the codebooks: `Vec<Codebook>` when trained or read with `alloc`
/// ([`TrainedLloydCodec`]), or a borrowed slice of caller storage
/// ([`TrainedLloyd::restore_in`], no allocator).
///
/// Bits per dimension: exactly `b` (`⌈d·b/8⌉` bytes per code); the codebooks are shared
/// parameters (see [`param_bytes`](TrainedLloyd::param_bytes)). Score: exact on the
/// reconstruction ([`Estimator::Reconstruction`]) via a per-dimension table `q_i · c_{i,k}`.
/// Encoding NaN/inf gives [`Error::NonFinite`].
///
/// Short names: `lloyd4-trained` (shared), `lloyd4-trained-dim` (per dimension), and the
/// same for other `b`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedLloyd<B> {
    dim: usize,
    bits: u32,
    books: B,
}

/// A trained Lloyd–Max codec owning its codebooks (feature `alloc`).
#[cfg(feature = "alloc")]
pub type TrainedLloydCodec = TrainedLloyd<alloc::vec::Vec<Codebook>>;

impl<B: AsRef<[Codebook]>> TrainedLloyd<B> {
    /// The codebook of dimension `i`.
    fn book(&self, i: usize) -> &Codebook {
        let b = self.books.as_ref();
        if b.len() == 1 { &b[0] } else { &b[i] }
    }

    /// Whether there is one codebook per dimension.
    pub fn per_dim(&self) -> bool {
        self.books.as_ref().len() > 1
    }

    /// Size of the serialized parameters in bytes.
    pub fn param_bytes(&self) -> usize {
        crate::format::HEADER_LEN + 4 + 10 + self.books.as_ref().len() * (4 << self.bits)
    }

    #[inline]
    fn idx(&self, packed: &[u8], i: usize) -> usize {
        crate::bits::get(packed, i, self.bits).unwrap_or(0) as usize
    }
}

/// Reads and validates the header of saved trained-Lloyd parameters: `(dim, bits, books)`,
/// with the bytes of the codebooks checked to be present.
fn read_trained_header(r: &mut Reader<'_>) -> Result<(usize, u32, usize)> {
    let dim = r.u32()? as usize;
    let bits = r.u8()? as u32;
    let per_dim = r.u8()?;
    let nb = r.u32()? as usize;
    if dim == 0 || dim > crate::persist::MAX_DIM || !(1..=8).contains(&bits) || per_dim > 1 {
        return Err(Error::Corrupt("trained lloyd header"));
    }
    if per_dim == 1 && dim == 1 {
        return Err(Error::Corrupt("trained lloyd: per-dimension needs dim > 1"));
    }
    let expected = if per_dim == 1 { dim } else { 1 };
    if nb != expected {
        return Err(Error::Corrupt("trained lloyd codebook count"));
    }
    let k = 1usize << bits;
    // Each codebook needs 4k bytes: check before using any storage.
    if nb.checked_mul(4 * k).is_none_or(|need| need > r.remaining()) {
        return Err(Error::Truncated);
    }
    Ok((dim, bits, nb))
}

impl<'a> TrainedLloyd<&'a [Codebook]> {
    /// Number of [`Codebook`]s of caller storage that [`restore_in`](Self::restore_in) needs for
    /// the parameters at the reader's position: 1 (shared) or `dim` (per dimension; 2 KiB
    /// each). Reads without consuming.
    ///
    /// # Errors
    /// As [`restore_in`](Self::restore_in) for the header fields.
    pub fn storage_len(r: &Reader<'_>) -> Result<usize> {
        Ok(read_trained_header(&mut r.clone())?.2)
    }

    /// Reads the [`Persist`] fields of a trained codec without an allocator: the codebooks are
    /// written into the front of `books` (any initial values; e.g. `Codebook::gaussian(1)`
    /// copies) and borrowed. Same validation and errors as the owned reader (a thin layer over
    /// this).
    ///
    /// # Errors
    /// [`Error::Truncated`]; [`Error::Corrupt`] for inconsistent fields or invalid levels;
    /// [`Error::BufferTooSmall`] if `books` is shorter than [`storage_len`](Self::storage_len).
    pub fn restore_in(r: &mut Reader<'_>, books: &'a mut [Codebook]) -> Result<Self> {
        let (dim, bits, nb) = read_trained_header(r)?;
        let got = books.len();
        let books = books.get_mut(..nb).ok_or(Error::BufferTooSmall { needed: nb, got })?;
        for b in books.iter_mut() {
            *b = read_levels(r, 1 << bits)?;
        }
        Ok(TrainedLloyd { dim, bits, books })
    }

    /// Parses a container written by `TrainedLloydCodec::to_bytes` (kind [`TRAINED_KIND`])
    /// without an allocator (see [`restore_in`](Self::restore_in)).
    ///
    /// # Errors
    /// Container errors, as [`restore_in`](Self::restore_in), [`Error::Corrupt`] for trailing
    /// bytes.
    pub fn from_bytes_in(bytes: &[u8], books: &'a mut [Codebook]) -> Result<Self> {
        let mut r = crate::format::open(bytes, TRAINED_KIND)?;
        let c = Self::restore_in(&mut r, books)?;
        r.finish()?;
        Ok(c)
    }
}

impl<B: AsRef<[Codebook]>> Codec for TrainedLloyd<B> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        (self.dim * self.bits as usize).div_ceil(8)
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        code.fill(0);
        let b = self.bits as usize;
        for (i, &v) in x.iter().enumerate() {
            let w = (self.book(i).index(v) as u32) << ((i * b) % 8);
            let byte = i * b / 8;
            code[byte] |= w as u8;
            if (i * b) % 8 + b > 8 {
                code[byte + 1] |= (w >> 8) as u8;
            }
        }
        Ok(())
    }
}

impl<B: AsRef<[Codebook]>> Decode for TrainedLloyd<B> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.book(i).level(self.idx(code, i) as u8);
        }
        Ok(())
    }
}

impl<B: AsRef<[Codebook]>> TrainedLloyd<B> {
    /// Whether per-dimension scoring runs on byte tables (`b` = 8: one index per byte).
    #[inline]
    fn byte_tables(&self) -> bool {
        self.per_dim() && self.bits == 8
    }

    /// Whether per-dimension scoring runs on nibble tables (`b` = 1 or 2: whole indices per
    /// 4-bit nibble, so a 16-entry table per nibble and the 4-bit lane scan
    /// [`crate::simd::dot_lut4_dims_rows`]; `32 · code_len` floats, 24 KiB at `d` = 768 and 2
    /// bits, where a table per byte took 192 KiB and ran out of L1).
    #[inline]
    fn nibble_tables(&self) -> bool {
        self.per_dim() && (self.bits == 1 || self.bits == 2)
    }

    /// Whether a prepared per-dimension table of `len` floats is the nibble-table layout.
    #[inline]
    fn is_nibble_table(&self, len: usize) -> bool {
        self.nibble_tables() && len == 32 * self.code_len()
    }

    /// Whether a prepared table of `len` floats is the per-dimension table of 4-bit codes,
    /// scanned by [`crate::simd::dot_lut4_dims_rows`] (a code per SIMD lane).
    #[inline]
    fn is_lut4_dims(&self, len: usize) -> bool {
        self.per_dim() && self.bits == 4 && len == self.dim << 4
    }

    /// Floats of the smallest query scratch [`prepare`](Score::prepare) accepts: `d` for a
    /// shared codebook, `d · 2^b` (one row `q_i · c_{i,k}` per dimension) for per-dimension
    /// codebooks. [`query_scratch_len`](Score::query_scratch_len) asks for more when `b`
    /// divides 8 (a 256-entry table per code byte, scanned one lookup per byte: the fast
    /// path); a caller short of RAM (firmware) may pass this smaller scratch instead, and
    /// gets the same scores up to float rounding (the sums are grouped differently).
    pub fn compact_query_scratch_len(&self) -> usize {
        if self.per_dim() { self.dim << self.bits } else { self.dim }
    }

    /// Whether a prepared per-dimension table of `len` floats is the byte-table layout.
    #[inline]
    fn is_byte_table(&self, len: usize) -> bool {
        self.byte_tables() && len == 256 * self.code_len()
    }
}

impl<B: AsRef<[Codebook]>> Score for TrainedLloyd<B> {
    type Query<'s>
        = LloydQuery<'s>
    where
        Self: 's;

    /// `d` floats for a shared codebook; for per-dimension codebooks `256 · code_len` (a table
    /// per code byte) when `b` = 8, `32 · code_len` (a 16-entry table per code nibble) when `b`
    /// is 1 or 2 (24 KiB at `d` = 768 and 2 bits), else `d · 2^b` (4 bits: 48 KiB at `d` = 768);
    /// nibble tables and 4-bit tables are scanned a code per SIMD lane by
    /// [`crate::simd::dot_lut4_dims_rows`]. [`TrainedLloyd::compact_query_scratch_len`] is the smallest
    /// scratch accepted (`d · 2^b` floats, slower scans).
    fn query_scratch_len(&self) -> usize {
        if self.byte_tables() {
            256 * self.code_len()
        } else if self.nibble_tables() {
            32 * self.code_len()
        } else {
            self.compact_query_scratch_len()
        }
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    /// Shared codebook: the query as is. Per-dimension codebooks, given at least
    /// [`query_scratch_len`](Score::query_scratch_len) floats with `b` = 8, 1 or 2: one table
    /// per `w`-bit window of the code (`w` = 8, one window per byte, for `b` = 8; `w` = 4, one
    /// per nibble, for `b` = 1, 2), `T_j[v] = Σ_u q_i·c_{i, (v >> u·b) & (2^b − 1)}` over the
    /// `w/b` dimensions `i = j·w/b + u` the window holds (summed in `u` order; absent dimensions
    /// of the last window add nothing), so that a score is one lookup per window: an 8-bit ADC
    /// scan ([`crate::simd::pq::adc_scan_u8`]) or the 4-bit lane scan
    /// ([`crate::simd::dot_lut4_dims_rows`]). Otherwise (other
    /// widths, or a scratch of only [`TrainedLloyd::compact_query_scratch_len`] floats): the
    /// per-dimension table `q_i · c_{i,k}`, one lookup per dimension (at 4 bits the SIMD scan
    /// [`crate::simd::dot_lut4_dims_rows`], a code per lane).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a query of the wrong length,
    /// [`Error::BufferTooSmall`] for a scratch shorter than the compact length,
    /// [`Error::NonFinite`] for a non-finite query.
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<LloydQuery<'s>> {
        if !self.per_dim() {
            let (table, _) = crate::codec::copy_query(self.dim, q, self.query_scratch_len(), scratch)?;
            return Ok(LloydQuery { table, sum: 0.0 });
        }
        let fast = self.query_scratch_len();
        let len = if scratch.len() >= fast { fast } else { self.compact_query_scratch_len() };
        crate::codec::check_query(self.dim, q, len, scratch.len())?;
        let table = &mut scratch[..len];
        let window = if self.is_byte_table(len) {
            Some(8)
        } else if self.is_nibble_table(len) {
            Some(4)
        } else {
            None
        };
        if let Some(w) = window {
            // One table of `2^w` entries per `w`-bit window of the code (`w` = 8 for byte
            // tables, 4 for nibble tables), each entry summing one product per dimension.
            let b = self.bits as usize;
            let (per, mask) = (w / b, (1usize << b) - 1);
            // The window's products `q_i·c_{i,k}` (`per · 2^b = w/b · 2^b ≤ 256` of them) once,
            // then each entry sums one per dimension (same products, same order).
            let mut prods = [0f32; 256];
            for (j, row) in table.chunks_exact_mut(1 << w).enumerate() {
                let dims = self.dim.saturating_sub(j * per).min(per);
                for u in 0..dims {
                    let i = j * per + u;
                    for (k, p) in prods[u << b..(u + 1) << b].iter_mut().enumerate() {
                        *p = q[i] * self.book(i).level(k as u8);
                    }
                }
                for (v, t) in row.iter_mut().enumerate() {
                    let mut acc = 0.0f32;
                    for u in 0..dims {
                        acc += prods[(u << b) + ((v >> (u * b)) & mask)];
                    }
                    *t = acc;
                }
            }
            return Ok(LloydQuery { table, sum: 0.0 });
        }
        let k = 1usize << self.bits;
        for (i, (row, &qi)) in table.chunks_exact_mut(k).zip(q).enumerate() {
            for (j, t) in row.iter_mut().enumerate() {
                *t = qi * self.book(i).level(j as u8);
            }
        }
        Ok(LloydQuery { table, sum: 0.0 })
    }

    fn score(&self, q: &LloydQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        if !self.per_dim() {
            check_dim(self.dim, q.table.len())?;
            return Ok(crate::simd::dot_lut_f32(code, self.bits, self.book(0).levels(), q.table));
        }
        if self.is_byte_table(q.table.len()) {
            let mut out = [0.0f32];
            crate::simd::pq::adc_scan_u8(q.table, self.code_len(), code, false, &mut out);
            return Ok(out[0]);
        }
        if self.is_lut4_dims(q.table.len()) || self.is_nibble_table(q.table.len()) {
            let mut out = [0.0f32];
            crate::simd::dot_lut4_dims_rows(code, self.code_len(), q.table, &mut out);
            return Ok(out[0]);
        }
        let k = 1usize << self.bits;
        check_dim(self.dim * k, q.table.len())?;
        let mut acc = 0.0f32;
        for (i, row) in q.table.chunks_exact(k).enumerate() {
            acc += row[self.idx(code, i) & (k - 1)];
        }
        Ok(acc)
    }

    /// As [`score`](Score::score) per code (bit for bit); per-dimension byte tables scan all
    /// codes in one [`adc_scan_u8`](crate::simd::pq::adc_scan_u8) call.
    fn score_batch(&self, q: &LloydQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(out.len() * self.code_len(), codes.len())?;
        if self.is_byte_table(q.table.len()) {
            crate::simd::pq::adc_scan_u8(q.table, self.code_len(), codes, false, out);
            return Ok(());
        }
        if self.is_lut4_dims(q.table.len()) || self.is_nibble_table(q.table.len()) {
            crate::simd::dot_lut4_dims_rows(codes, self.code_len(), q.table, out);
            return Ok(());
        }
        for (code, o) in codes.chunks_exact(self.code_len()).zip(out.iter_mut()) {
            *o = self.score(q, code)?;
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
mod trained {
    use super::*;
    use crate::format::{Writer, open};
    use crate::persist::MAX_DIM;
    use alloc::vec::Vec;

    /// Container kind tag of [`TrainedLloydCodec`] parameters.
    const KIND: u16 = TRAINED_KIND;

    impl TrainedLloydCodec {
        /// Trains on `n = data.len() / dim` row-major vectors (`dim ≤ 2^16`): one codebook over all
        /// coordinates (`per_dim = false`) or one per dimension, each with `2^bits` levels and
        /// at most `iters` Lloyd iterations.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] if `dim == 0` or `bits ∉ 1..=8`;
        /// [`Error::DimensionMismatch`] if `data.len()` is not a multiple of `dim`;
        /// [`Error::NonFinite`]; [`Error::NotEnoughData`] if there are no training rows. A
        /// dimension with fewer distinct values than levels gets an exact codebook of them.
        pub fn train(dim: usize, bits: u32, per_dim: bool, data: &[f32], iters: usize) -> Result<Self> {
            if dim == 0 || dim > MAX_DIM || !(1..=8).contains(&bits) {
                return Err(Error::InvalidParameter("dim must be in 1..=2^16 and bits in 1..=8"));
            }
            crate::codec::batch_rows(data.len(), dim)?;
            check_finite(data)?;
            let k = 1usize << bits;
            let books = if per_dim {
                // One independent job per dimension (in parallel with the `parallel` feature);
                // the first failing dimension's error.
                let books = crate::par::map(dim, |j| {
                    let col: Vec<f32> = data.iter().skip(j).step_by(dim).copied().collect();
                    Codebook::train(&col, k, iters)
                });
                books.into_iter().collect::<Result<Vec<Codebook>>>()?
            } else {
                alloc::vec![Codebook::train(data, k, iters)?]
            };
            Ok(TrainedLloydCodec { dim, bits, books })
        }

        /// Serializes the parameters (container kind [`TRAINED_KIND`] =
        /// `0x0140`): the [`Persist`] fields.
        ///
        /// # Errors
        /// [`Error::Overflow`] if the payload exceeds the container's limits.
        pub fn to_bytes(&self) -> Result<Vec<u8>> {
            let mut w = Writer::new(KIND);
            self.persist(&mut w);
            w.finish()
        }

        /// Parses parameters written by [`to_bytes`](Self::to_bytes) (as [`Persist::restore`]).
        /// Total: every field and length is validated; never panics; allocates at most in
        /// proportion to the input.
        ///
        /// # Errors
        /// Container errors ([`Error::BadMagic`], [`Error::Checksum`], …), [`Error::Truncated`],
        /// [`Error::Corrupt`] for inconsistent fields, invalid codebooks or trailing bytes.
        pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
            let mut r = open(bytes, KIND)?;
            let c = Self::restore(&mut r)?;
            r.finish()?;
            Ok(c)
        }
    }

    impl Persist for TrainedLloydCodec {
        fn persist(&self, w: &mut Writer) {
            w.u32(self.dim as u32).u8(self.bits as u8).u8(u8::from(self.books.len() > 1));
            w.u32(self.books.len() as u32);
            for b in &self.books {
                w.f32s(b.levels());
            }
        }

        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            // Storage for exactly the codebooks the header declares (their bytes are checked
            // present first), then the no-heap reader.
            let nb = TrainedLloyd::<&[Codebook]>::storage_len(r)?;
            let mut books = alloc::vec![Codebook::gaussian(1)?; nb];
            let (dim, bits) = {
                let c = TrainedLloyd::restore_in(r, &mut books)?;
                (c.dim, c.bits)
            };
            Ok(TrainedLloyd { dim, bits, books })
        }
    }
}
