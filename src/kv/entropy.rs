//! [`EntropyBlock`]: transform coding of a block of keys or values with entropy-coded uniform
//! quantization (a fixed byte budget per block, so fractional rates are real).

use alloc::vec::Vec;

use super::{TokenBlock, check_attend, check_logits, check_shape};
use crate::codec::{Codec, Decode};
use crate::entropy::range::{RangeDecoder, RangeEncoder};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::scalar::float::{f16_from_f32, f16_to_f32};

/// Largest `B·d` of one [`EntropyBlock`] block (its indexes are decoded into a stack array).
pub const MAX_BLOCK_VALUES: usize = 8192;
/// Largest magnitude of a quantization index (larger ones are clamped).
const MAX_INDEX: i32 = 255;
/// The largest finite f16 bit pattern (65,504): the largest step the encoders use.
const MAX_STEP_PATTERN: u16 = 0x7BFF;
/// Frequency budget of a component's model (`≤ 2^16`, the range coder's limit).
const FT: u32 = 1 << 15;

/// Transform coding of a block of `B` tokens of one head (keys or values), entropy coded.
///
/// **Transform** (calibrated once per head, a model parameter like the model's weights): every
/// token `x` (`d` values) becomes `y = E·(x − μ)` and decodes as `x̂ = μ + Dᵀ·ŷ` (`E`, `D`:
/// `d × d`, `D = E⁻ᵀ`). [`calibrate`](Self::calibrate) with queries fits the
/// **query-weighted KLT**: with `Σ_q` the calibration queries' second moment and `C` the
/// keys' covariance, `E`'s rows are the eigenvectors `u_c` of `Σ_q^{1/2}·C·Σ_q^{1/2}` times
/// `Σ_q^{1/2}`, so that the logit error `Σ_q`-norm of a key error is the plain squared error of
/// `y` and one quantization step for every component is the high-rate optimum. Without
/// queries it is the PCA of the calibration vectors (plain squared error, for values).
///
/// **Code of a block** (`code_len()` bytes, fixed): the f16 step `Δ` (2 bytes); per component
/// `c` an f16 block mean `m_c`, a `u8` model scale `s_c` (`σ_c/Δ = 2^{s_c/8 − 8}`) and a `u8`
/// largest index magnitude `L_c ≤ 255` (4 bytes); then a range-coded stream (the crate's
/// [`range`](crate::entropy::range) coder), component by component, of the `B` indexes
/// `i_{t,c} = clamp(round((y_{t,c} − m_c)/Δ), −L_c, L_c)` under a discretized Gaussian of
/// standard deviation `σ_c/Δ` truncated to `[−L_c, L_c]` (every index frequency ≥ 1 of
/// `≤ 2^15`); zero padding to the budget. The encoder picks the smallest f16 `Δ` (binary search
/// over f16 bit patterns) whose stream fits the budget. Coordinate `t, c` decodes to
/// `m_c + Δ·i_{t,c}`.
///
/// **Bits per dimension** (stored, everything in the block): `8·code_len/(B·d)` with
/// `code_len = ⌊bits·B·d/8⌋` for the requested `bits` (the header, `2 + 4d` bytes, is inside
/// the budget: 0.254 bit/dim at `d = 32, B = 128`). The transform (`(2d + 1)·d` floats) is per
/// head and reported by [`param_bytes`](Self::param_bytes).
///
/// [`TokenBlock::logits`] and [`TokenBlock::attend`] work on the integer indexes (decoded into
/// a stack array, `B·d ≤ 8,192`) and the query mapped into the transform domain, without a
/// float `K̂` or `V̂`; they equal decode-then-dot up to float rounding. Entropy decoding is
/// sequential, so a block is decoded once per call:
/// [`TokenBlock::logits_batch`] scores many queries against one decode.
///
/// ```
/// use vector_codecs::kv::{EntropyBlock, TokenBlock};
/// use vector_codecs::{Codec, Decode};
/// let (d, b) = (8, 32);
/// let cal: Vec<f32> = (0..64 * d).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.02).collect();
/// let queries: Vec<f32> = (0..16 * d).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.02).collect();
/// // 3 stored bits per coordinate, query-weighted KLT fitted on calibration keys and queries.
/// let c = EntropyBlock::new(d, b, 3.0)?.calibrate(&cal, Some(&queries))?;
/// assert_eq!(c.code_len(), 3 * b * d / 8);
/// let block = &cal[..b * d];
/// let mut code = vec![0u8; c.code_len()];
/// c.encode_into(block, &mut code)?;
/// let mut logits = vec![0f32; b];
/// c.logits(&queries[..d], &code, &mut logits)?; // ⟨q, k̂_t⟩ from the codes
/// # Ok::<(), vector_codecs::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EntropyBlock {
    d: usize,
    tokens: usize,
    code_bytes: usize,
    mean: Vec<f32>,
    enc: Vec<f32>,
    dec: Vec<f32>,
    /// Tokens per block coded at the fine step `Δ/2` (0: none, no flag bytes).
    fine: usize,
    /// Probe queries (`p × d`) that rank a block's tokens for the fine step.
    probes: Vec<f32>,
}

/// Largest number of probe queries of [`EntropyBlock::with_importance`].
pub const MAX_PROBES: usize = 1024;

/// Cumulative frequencies of the `2L + 1` indexes `−L..=L` under a discretized Gaussian of
/// standard deviation `r` (in steps) truncated to `±L`: `f(i) = 1 + ⌊p(|i|)·(2^15 − 2L − 1)⌋`
/// with `p(0) = erf(½/(r√2))/m`, `p(i) = ½·(erf((i+½)/(r√2)) − erf((i−½)/(r√2)))/m`,
/// `m = erf((L+½)/(r√2))` (f64, `libm::erf`: the same bits on every target); once `⌊p·…⌋`
/// is 0 the rest (smaller) are 1. `cum[0] = 0`, `cum[2L+1] = total ≤ 2^15`.
fn model(r: f32, l: usize, cum: &mut [u32]) -> u32 {
    let n = 2 * l + 1;
    let s = 1.0 / (f64::from(r).max(1e-3) * core::f64::consts::SQRT_2);
    let mass = libm::erf((l as f64 + 0.5) * s).max(1e-300);
    let spare = f64::from(FT - n as u32);
    let mut f = [1u32; MAX_INDEX as usize + 1];
    let mut prev = libm::erf(0.5 * s);
    f[0] = 1 + libm::floor((prev / mass).clamp(0.0, 1.0) * spare) as u32;
    for (i, fi) in f.iter_mut().enumerate().take(l + 1).skip(1) {
        let e = libm::erf((i as f64 + 0.5) * s);
        let extra = libm::floor((0.5 * (e - prev) / mass).clamp(0.0, 1.0) * spare) as u32;
        prev = e;
        if extra == 0 {
            break;
        }
        *fi = 1 + extra;
    }
    cum[0] = 0;
    for k in 0..n {
        cum[k + 1] = cum[k] + f[k.abs_diff(l)];
    }
    cum[n]
}

/// The model scale byte of `σ/Δ`: `round(8·(log2(σ/Δ) + 8))` clamped to `0..=255`.
fn scale_byte(ratio: f32) -> u8 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    (libm::roundf(8.0 * (libm::log2f(ratio) + 8.0))).clamp(0.0, 255.0) as u8
}

/// The f16 pattern of a caller's step: nearest f16, positive and finite.
fn step_pattern(step: f32) -> Result<u16> {
    let pat = if step.is_finite() && step > 0.0 { f16_from_f32(step) } else { 0 };
    if pat == 0 || pat > MAX_STEP_PATTERN {
        return Err(Error::InvalidParameter("EntropyBlock: step must round to a positive finite f16"));
    }
    Ok(pat)
}

fn scale_ratio(s: u8) -> f32 {
    libm::exp2f(f32::from(s) / 8.0 - 8.0)
}

impl EntropyBlock {
    /// A codec of blocks of `tokens` vectors of dimension `d` at `bits` stored bits per
    /// dimension, with the identity transform (`μ = 0`, `E = D = I`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad shape, `B·d > 8,192`, non-finite `bits`, or a
    /// budget that does not hold the header plus 8 bytes.
    pub fn new(d: usize, tokens: usize, bits: f32) -> Result<Self> {
        check_shape(d, tokens)?;
        if tokens * d > MAX_BLOCK_VALUES {
            return Err(Error::InvalidParameter("EntropyBlock: tokens × d must be ≤ 8192"));
        }
        if !bits.is_finite() || bits <= 0.0 || bits > 32.0 {
            return Err(Error::InvalidParameter("EntropyBlock: bits must be in (0, 32]"));
        }
        let code_bytes = libm::floor(f64::from(bits) * (tokens * d) as f64 / 8.0) as usize;
        Self::with_code_bytes(d, tokens, code_bytes)
    }

    fn with_code_bytes(d: usize, tokens: usize, code_bytes: usize) -> Result<Self> {
        if code_bytes < 2 + 4 * d + 8 || code_bytes > 4 * tokens * d {
            return Err(Error::InvalidParameter("EntropyBlock: budget must hold the header + 8 bytes"));
        }
        let mut eye = alloc::vec![0f32; d * d];
        (0..d).for_each(|i| eye[i * d + i] = 1.0);
        Ok(EntropyBlock {
            d,
            tokens,
            code_bytes,
            mean: alloc::vec![0.0; d],
            enc: eye.clone(),
            dec: eye,
            fine: 0,
            probes: Vec::new(),
        })
    }

    /// Sets the transform: `y = E·(x − μ)`, `x̂ = μ + Dᵀ·ŷ` (`E`, `D` row-major `d × d`; for an
    /// exact round trip `D = E⁻ᵀ`, not checked).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for wrong lengths; [`Error::NonFinite`] for NaN/inf.
    pub fn with_transform(mut self, mean: &[f32], enc: &[f32], dec: &[f32]) -> Result<Self> {
        let d = self.d;
        check_dim(d, mean.len())?;
        check_dim(d * d, enc.len())?;
        check_dim(d * d, dec.len())?;
        check_finite(mean)?;
        check_finite(enc)?;
        check_finite(dec)?;
        self.mean = mean.to_vec();
        self.enc = enc.to_vec();
        self.dec = dec.to_vec();
        Ok(self)
    }

    /// Codes the `fine` tokens of every block that score highest against the probe queries
    /// (`max_j ⟨probe_j, x_t⟩`, ties to the lower token) at half the step: the encoder's
    /// choice, signalled by a flag bit per token (`⌈B/8⌉` bytes inside the budget), so the
    /// probes are needed to encode only (the decoder reads the flags). For attention keys, the
    /// probes are calibration queries: keys that such queries rank high are the ones whose
    /// errors change the top of the softmax. `fine = 0` turns it off (no flag bytes).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `fine > B`, no probes with `fine > 0`, more than
    /// [`MAX_PROBES`] probes, or a budget without room for the flags; wrong lengths;
    /// [`Error::NonFinite`].
    pub fn with_importance(mut self, probes: &[f32], fine: usize) -> Result<Self> {
        let p = crate::codec::batch_rows(probes.len(), self.d)?;
        check_finite(probes)?;
        if fine > self.tokens || p > MAX_PROBES || (fine > 0 && p == 0) {
            return Err(Error::InvalidParameter("EntropyBlock: fine ≤ B tokens and 1..=1024 probes"));
        }
        self.fine = fine;
        self.probes = if fine > 0 { probes.to_vec() } else { Vec::new() };
        if self.code_bytes < self.header_len() + 8 {
            return Err(Error::InvalidParameter("EntropyBlock: budget must hold the header + 8 bytes"));
        }
        Ok(self)
    }

    /// Tokens per block coded at the fine step (see [`with_importance`](Self::with_importance)).
    pub fn fine_tokens(&self) -> usize {
        self.fine
    }

    /// Fits the transform on calibration vectors `xs` (`n × d`, `n ≥ 2`): the query-weighted KLT
    /// when `queries` (`m × d`, `m ≥ 1`) are given, else their PCA (see the type's docs).
    /// Query eigenvalues below `10⁻⁶` of the largest are raised to it (so `E` is invertible).
    ///
    /// # Errors
    /// [`Error::NotEnoughData`]; wrong lengths; [`Error::NonFinite`]; the SVD's errors.
    pub fn calibrate(self, xs: &[f32], queries: Option<&[f32]>) -> Result<Self> {
        let d = self.d;
        let n = crate::codec::batch_rows(xs.len(), d)?;
        if n < 2 {
            return Err(Error::NotEnoughData { needed: 2, got: n });
        }
        check_finite(xs)?;
        let mut mu = alloc::vec![0f64; d];
        for r in xs.chunks_exact(d) {
            mu.iter_mut().zip(r).for_each(|(m, &v)| *m += f64::from(v));
        }
        mu.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = alloc::vec![0f64; d * d];
        for r in xs.chunks_exact(d) {
            for i in 0..d {
                let a = f64::from(r[i]) - mu[i];
                for j in 0..d {
                    cov[i * d + j] += a * (f64::from(r[j]) - mu[j]);
                }
            }
        }
        cov.iter_mut().for_each(|c| *c /= n as f64);
        // W = Σ_q^{1/2}, Wi = Σ_q^{-1/2} (identity without queries).
        let mut w = alloc::vec![0f64; d * d];
        let mut wi = alloc::vec![0f64; d * d];
        match queries {
            None => (0..d).for_each(|i| {
                w[i * d + i] = 1.0;
                wi[i * d + i] = 1.0;
            }),
            Some(q) => {
                let m = crate::codec::batch_rows(q.len(), d)?;
                if m == 0 {
                    return Err(Error::NotEnoughData { needed: 1, got: 0 });
                }
                check_finite(q)?;
                let mut sq = alloc::vec![0f64; d * d];
                for r in q.chunks_exact(d) {
                    for i in 0..d {
                        for j in 0..d {
                            sq[i * d + j] += f64::from(r[i]) * f64::from(r[j]);
                        }
                    }
                }
                sq.iter_mut().for_each(|c| *c /= m as f64);
                let e = crate::train::linalg::svd(&sq, d, d)?;
                let floor = e.s[0].max(1e-300) * 1e-6;
                for k in 0..d {
                    let ev = e.s[k].max(floor);
                    let (a, b) = (libm::sqrt(ev), 1.0 / libm::sqrt(ev));
                    for i in 0..d {
                        for j in 0..d {
                            let vv = e.v[i * d + k] * e.v[j * d + k];
                            w[i * d + j] += a * vv;
                            wi[i * d + j] += b * vv;
                        }
                    }
                }
            }
        }
        // M = W·C·W, eigenvectors u_c; E rows = W·u_c, D rows = Wi·u_c.
        let mul = |a: &[f64], b: &[f64]| -> Vec<f64> {
            let mut o = alloc::vec![0f64; d * d];
            for i in 0..d {
                for k in 0..d {
                    let x = a[i * d + k];
                    for j in 0..d {
                        o[i * d + j] += x * b[k * d + j];
                    }
                }
            }
            o
        };
        let mm = mul(&mul(&w, &cov), &w);
        let e = crate::train::linalg::svd(&mm, d, d)?;
        let mut enc = alloc::vec![0f32; d * d];
        let mut dec = alloc::vec![0f32; d * d];
        for c in 0..d {
            for i in 0..d {
                let (mut a, mut b) = (0f64, 0f64);
                for j in 0..d {
                    a += w[i * d + j] * e.v[j * d + c];
                    b += wi[i * d + j] * e.v[j * d + c];
                }
                enc[c * d + i] = a as f32;
                dec[c * d + i] = b as f32;
            }
        }
        let mean: Vec<f32> = mu.iter().map(|&m| m as f32).collect();
        self.with_transform(&mean, &enc, &dec)
    }

    /// The transform `(μ, E, D)`: every token `x` is coded as `y = E·(x − μ)` and decodes as
    /// `x̂ = μ + Dᵀ·ŷ` (`μ`: `d` values; `E`, `D`: `d × d`, row-major, row `c` of `E` maps `x`
    /// to component `c`, row `c` of `D` is component `c`'s direction in `x`). After
    /// [`calibrate`](Self::calibrate) with queries, `D = E⁻ᵀ` and the squared error of `y` is
    /// the logit error under the calibration queries' second moment.
    pub fn transform(&self) -> (&[f32], &[f32], &[f32]) {
        (&self.mean, &self.enc, &self.dec)
    }

    /// The per-head parameters in bytes: the transform (`(2d + 1)·d` f32) and the probes.
    pub fn param_bytes(&self) -> usize {
        4 * ((2 * self.d + 1) * self.d + self.probes.len())
    }

    fn flag_len(&self) -> usize {
        if self.fine > 0 { self.tokens.div_ceil(8) } else { 0 }
    }

    fn header_len(&self) -> usize {
        2 + 4 * self.d + self.flag_len()
    }

    /// Range-codes the indexes of `y` (centred by `m`, `B × d`) at step `st` (flagged tokens
    /// at `st/2`) into `body`; writes the per-component scale and range bytes into `hdr` (`2d`
    /// bytes). `Ok(Some(n))` with the stream's length `n` in bytes, `Ok(None)` if it does not
    /// fit.
    #[allow(clippy::too_many_arguments)]
    fn try_encode(
        &self,
        y: &[f32],
        m: &[f32],
        sd: &[f32],
        st: f32,
        flags: &[u8],
        hdr: &mut [u8],
        body: &mut [u8],
    ) -> Result<Option<usize>> {
        let (d, b) = (self.d, self.tokens);
        let fine_on = self.fine > 0;
        let flag = |t: usize| fine_on && flags[t / 8] >> (t % 8) & 1 == 1;
        // Index of token t, component c: in units of st (coarse) or st/2 (fine).
        let index = |t: usize, c: usize| {
            let u = if flag(t) { 0.5 * st } else { st };
            libm::roundf((y[t * d + c] - m[c]) / u).clamp(-(MAX_INDEX as f32), MAX_INDEX as f32) as i32
        };
        let mut enc = RangeEncoder::new(body);
        let mut cum = [0u32; 2 * MAX_INDEX as usize + 2];
        let mut cum2 = [0u32; 2 * MAX_INDEX as usize + 2];
        for c in 0..d {
            // l: the largest magnitude in fine units (or coarse units without fine tokens).
            let mut l = 0i32;
            for t in 0..b {
                let i = if fine_on && !flag(t) {
                    let v = libm::roundf(2.0 * (y[t * d + c] - m[c]) / st);
                    v.abs().min(MAX_INDEX as f32) as i32
                } else {
                    index(t, c).abs()
                };
                l = l.max(i);
            }
            let s = scale_byte(sd[c] / st);
            hdr[2 * c] = s;
            hdr[2 * c + 1] = l as u8;
            let (lc, lf) = if fine_on { ((l + 1) / 2, l) } else { (l, 0) };
            let r = scale_ratio(s);
            let ftc = if lc > 0 { model(r, lc as usize, &mut cum) } else { 0 };
            let ftf = if lf > 0 { model(2.0 * r, lf as usize, &mut cum2) } else { 0 };
            for t in 0..b {
                let (ll, ft, tab) = if flag(t) { (lf, ftf, &cum2) } else { (lc, ftc, &cum) };
                if ll == 0 {
                    continue;
                }
                let k = (index(t, c).clamp(-ll, ll) + ll) as usize;
                if enc.encode(tab[k], tab[k + 1], ft).is_err() {
                    return Ok(None);
                }
            }
        }
        Ok(enc.finish().ok())
    }

    /// The flag bytes of a block (`x`: `B × d` input): the `fine` tokens of highest
    /// `max_j ⟨probe_j, x_t⟩`, ties to the lower token.
    fn choose_fine(&self, x: &[f32], flags: &mut [u8]) {
        flags.fill(0);
        if self.fine == 0 {
            return;
        }
        let d = self.d;
        let mut score = [0f32; MAX_BLOCK_VALUES];
        for (sc, xr) in score.iter_mut().zip(x.chunks_exact(d)) {
            *sc = self.probes.chunks_exact(d).map(|p| crate::simd::dot(p, xr)).fold(f32::NEG_INFINITY, f32::max);
        }
        for _ in 0..self.fine {
            let mut best = usize::MAX;
            for t in 0..self.tokens {
                if flags[t / 8] >> (t % 8) & 1 == 0 && (best == usize::MAX || score[t] > score[best]) {
                    best = t;
                }
            }
            flags[best / 8] |= 1 << (best % 8);
        }
    }

    /// Writes the block's component means and fine-token flags into `code`'s header and returns
    /// the means `m` and standard deviations `sd` (about `m`) of the coordinates `y` (`B × d`,
    /// already transformed); the fine tokens are chosen from the input block `x`.
    fn prepare_coords(&self, x: &[f32], y: &[f32], code: &mut [u8], m: &mut [f32], sd: &mut [f32]) -> Result<()> {
        let (d, b) = (self.d, self.tokens);
        for c in 0..d {
            let mut s = 0f64;
            (0..b).for_each(|t| s += f64::from(y[t * d + c]));
            let mc = f16_to_f32(f16_from_f32((s / b as f64) as f32));
            if !mc.is_finite() {
                return Err(Error::Overflow);
            }
            m[c] = mc;
            let mut v = 0f64;
            (0..b).for_each(|t| {
                let e = f64::from(y[t * d + c] - mc);
                v += e * e;
            });
            sd[c] = libm::sqrt(v / b as f64) as f32;
        }
        let hl = self.header_len();
        let (hdr, flags) = code[2..hl].split_at_mut(4 * d);
        self.choose_fine(x, flags);
        for c in 0..d {
            hdr[4 * c..4 * c + 2].copy_from_slice(&f16_from_f32(m[c]).to_le_bytes());
        }
        Ok(())
    }

    /// Range-codes the prepared block (header means and flags already in `code`, see
    /// [`prepare_coords`](Self::prepare_coords)) at the f16 step pattern `pat`: writes the step,
    /// the per-component model bytes and the stream (zero padded). `Ok(Some(n))` with the
    /// coded bytes `n` (header + stream), `Ok(None)` (and `code`'s body unspecified) if the
    /// stream does not fit the budget.
    fn code_at(&self, y: &[f32], m: &[f32], sd: &[f32], pat: u16, code: &mut [u8]) -> Result<Option<usize>> {
        let d = self.d;
        let hl = self.header_len();
        let (head, rest) = code.split_at_mut(hl);
        let (sth, hdr) = head.split_at_mut(2);
        let (hdr, flags) = hdr.split_at_mut(4 * d);
        let mut h2 = [0u8; 2 * super::MAX_HEAD_DIM];
        rest.fill(0);
        let Some(n) = self.try_encode(y, m, sd, f16_to_f32(pat), flags, &mut h2[..2 * d], rest)? else {
            return Ok(None);
        };
        sth.copy_from_slice(&pat.to_le_bytes());
        for c in 0..d {
            hdr[4 * c + 2] = h2[2 * c];
            hdr[4 * c + 3] = h2[2 * c + 1];
        }
        Ok(Some(hl + n))
    }

    /// Whether the prepared block's stream fits the budget at step pattern `pat` (the body
    /// of `code` is used as scratch).
    fn fits_at(&self, y: &[f32], m: &[f32], sd: &[f32], pat: u16, code: &mut [u8]) -> Result<bool> {
        let d = self.d;
        let (head, rest) = code.split_at_mut(self.header_len());
        let flags = &head[2 + 4 * d..];
        let mut h2 = [0u8; 2 * super::MAX_HEAD_DIM];
        Ok(self.try_encode(y, m, sd, f16_to_f32(pat), flags, &mut h2[..2 * d], rest)?.is_some())
    }

    /// The smallest positive f16 step pattern whose stream fits the budget (binary search over
    /// f16 bit patterns; the largest, `0x7BFF`, always fits unless the block is degenerate).
    fn fitting_pattern(&self, y: &[f32], m: &[f32], sd: &[f32], code: &mut [u8]) -> Result<u16> {
        let (mut lo, mut hi) = (0u16, MAX_STEP_PATTERN);
        if !self.fits_at(y, m, sd, hi, code)? {
            return Err(Error::Overflow);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.fits_at(y, m, sd, mid, code)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    /// The smallest f16 step pattern at which no index of the prepared block is clamped to
    /// `±255` (fine tokens count at half the step).
    fn no_clip_pattern(&self, y: &[f32], m: &[f32]) -> u16 {
        let d = self.d;
        let mut amax = 0f32;
        for row in y.chunks_exact(d) {
            for (v, mc) in row.iter().zip(m) {
                amax = amax.max((v - mc).abs());
            }
        }
        let need = amax * if self.fine > 0 { 2.0 } else { 1.0 } / MAX_INDEX as f32;
        let mut pat = f16_from_f32(need).clamp(1, MAX_STEP_PATTERN);
        while pat < MAX_STEP_PATTERN && f16_to_f32(pat) < need {
            pat += 1;
        }
        pat
    }

    /// Transforms a block (`B × d` input) into `y` (`y = E·(x − μ)` per token).
    fn coords(&self, x: &[f32], y: &mut [f32]) -> Result<()> {
        let d = self.d;
        let mut tmp = [0f32; super::MAX_HEAD_DIM];
        for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            tmp[..d].iter_mut().zip(xr).zip(&self.mean).for_each(|((t, &v), &m)| *t = v - m);
            for (yc, e) in yr.iter_mut().zip(self.enc.chunks_exact(d)) {
                *yc = crate::simd::dot(e, &tmp[..d]);
            }
        }
        check_finite(y)
    }

    /// Checks an encoder's arguments and transforms the block into `y`.
    fn checked_coords(&self, x: &[f32], code: &[u8], y: &mut [f32]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        self.coords(x, &mut y[..x.len()])
    }

    /// Encodes one block (`B` tokens, row-major) with the quantizer step `step` given by the
    /// caller instead of the one derived from the rate (the smallest f16 step whose stream
    /// fits the budget, which [`encode_into`](Codec::encode_into) picks). `step` is rounded to
    /// the nearest f16 and stored as such; given the step `encode_into` stored, the code is
    /// byte for byte the same. Indexes beyond `±255` are clamped, as in `encode_into`.
    /// Returns the coded bytes: header plus range-coded stream, `≤ code_len()`; the rest of
    /// `code` is zero padding that a store may drop and restore (the decoder reads missing
    /// bytes as zeros).
    ///
    /// # Errors
    /// As [`encode_into`](Codec::encode_into); [`Error::InvalidParameter`] unless `step`
    /// rounds to a positive finite f16 (`≤ 65,504`); [`Error::Overflow`] if the stream does not
    /// fit the budget at that step.
    pub fn encode_at_step(&self, x: &[f32], step: f32, code: &mut [u8]) -> Result<usize> {
        let pat = step_pattern(step)?;
        let mut y = [0f32; MAX_BLOCK_VALUES];
        self.checked_coords(x, code, &mut y)?;
        let n = x.len();
        let mut m = [0f32; super::MAX_HEAD_DIM];
        let mut sd = [0f32; super::MAX_HEAD_DIM];
        self.prepare_coords(x, &y[..n], code, &mut m, &mut sd)?;
        self.code_at(&y[..n], &m[..self.d], &sd[..self.d], pat, code)?.ok_or(Error::Overflow)
    }

    /// Encodes block coordinates `y` (`B × d`, already transformed) into `code`, with the fine
    /// tokens chosen from the input block `x`.
    fn encode_coords(&self, x: &[f32], y: &[f32], code: &mut [u8]) -> Result<()> {
        let d = self.d;
        let mut m = [0f32; super::MAX_HEAD_DIM];
        let mut sd = [0f32; super::MAX_HEAD_DIM];
        self.prepare_coords(x, y, code, &mut m, &mut sd)?;
        let pat = self.fitting_pattern(y, &m[..d], &sd[..d], code)?;
        self.code_at(y, &m[..d], &sd[..d], pat, code)?.ok_or(Error::Overflow)?;
        Ok(())
    }

    /// Decodes the header (step, means) and the indexes (`B × d`, token-major) of a block;
    /// returns the step of one index unit (`Δ`, or `Δ/2` with fine tokens, whose coarse
    /// indexes are then returned doubled).
    fn indexes(&self, code: &[u8], m: &mut [f32], idx: &mut [i16]) -> Result<f32> {
        let (d, b) = (self.d, self.tokens);
        let st = f16_to_f32(u16::from_le_bytes([code[0], code[1]]));
        if !st.is_finite() || st <= 0.0 {
            return Err(Error::Corrupt("EntropyBlock: step"));
        }
        let hdr = &code[2..2 + 4 * d];
        let flags = &code[2 + 4 * d..self.header_len()];
        let fine_on = self.fine > 0;
        let flag = |t: usize| fine_on && flags[t / 8] >> (t % 8) & 1 == 1;
        let mut dec = RangeDecoder::new(&code[self.header_len()..]);
        let mut cum = [0u32; 2 * MAX_INDEX as usize + 2];
        let mut cum2 = [0u32; 2 * MAX_INDEX as usize + 2];
        for c in 0..d {
            let h = &hdr[4 * c..4 * c + 4];
            m[c] = f16_to_f32(u16::from_le_bytes([h[0], h[1]]));
            if !m[c].is_finite() {
                return Err(Error::Corrupt("EntropyBlock: mean"));
            }
            let l = usize::from(h[3]);
            let (lc, lf) = if fine_on { (l.div_ceil(2), l) } else { (l, 0) };
            let r = scale_ratio(h[2]);
            let ftc = if lc > 0 { model(r, lc, &mut cum) } else { 0 };
            let ftf = if lf > 0 { model(2.0 * r, lf, &mut cum2) } else { 0 };
            for t in 0..b {
                let fl = flag(t);
                let (ll, ft, tab) = if fl { (lf, ftf, &cum2) } else { (lc, ftc, &cum) };
                if ll == 0 {
                    idx[t * d + c] = 0;
                    continue;
                }
                let n = 2 * ll + 1;
                let v = dec.decode(ft)?;
                // Largest k with tab[k] ≤ v (tab is strictly increasing, v < ft).
                let k = (tab[..=n].partition_point(|&x| x <= v) - 1).min(n - 1);
                dec.update(tab[k], tab[k + 1], ft)?;
                let i = k as i32 - ll as i32;
                idx[t * d + c] = if fine_on && !fl { 2 * i } else { i } as i16;
            }
        }
        dec.check().map_err(|_| Error::Corrupt("EntropyBlock: stream past its budget"))?;
        Ok(if fine_on { 0.5 * st } else { st })
    }

    /// `out[t] = ⟨q, μ⟩ + Σ_c q'_c·m_c + Δ·Σ_c q'_c·i_{t,c}` with `q' = D·q`.
    fn score_indexes(&self, q: &[f32], st: f32, m: &[f32], idx: &[i16], qt: &mut [f32], out: &mut [f32]) -> Result<()> {
        let d = self.d;
        let mut base = crate::simd::dot(q, &self.mean);
        for c in 0..d {
            qt[c] = crate::simd::dot(&self.dec[c * d..(c + 1) * d], q);
            base += qt[c] * m[c];
        }
        qt.iter_mut().for_each(|v| *v *= st);
        for (o, row) in out.iter_mut().zip(idx.chunks_exact(d)) {
            let mut s = 0f32;
            for (&w, &i) in qt.iter().zip(row) {
                s += w * f32::from(i);
            }
            *o = base + s;
        }
        super::finite_result(out, "EntropyBlock: logit not finite")
    }

    /// Saves the parameters (kind [`super::KIND`], sub-tag 4).
    ///
    /// # Errors
    /// Never in practice (the container's size limits).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(4), self)
    }

    /// Reads parameters saved by [`to_bytes`](EntropyBlock::to_bytes).
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for a wrong sub-tag or invalid fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((4, "KV: not EntropyBlock parameters")))
    }
}

impl Codec for EntropyBlock {
    /// `B·d`: one code per block of tokens.
    fn dim(&self) -> usize {
        self.tokens * self.d
    }
    fn code_len(&self) -> usize {
        self.code_bytes
    }
    /// Encodes one block (`B` tokens, row-major).
    ///
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input or transformed values;
    /// [`Error::Overflow`] if a component mean does not fit f16, or if the block does not fit
    /// the budget even at the largest f16 step (coordinates spread beyond about `10^7`).
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        let mut y = [0f32; MAX_BLOCK_VALUES];
        self.checked_coords(x, code, &mut y)?;
        self.encode_coords(x, &y[..x.len()], code)
    }
}

impl Decode for EntropyBlock {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        let d = self.d;
        let mut idx = [0i16; MAX_BLOCK_VALUES];
        let mut m = [0f32; super::MAX_HEAD_DIM];
        let st = self.indexes(code, &mut m[..d], &mut idx)?;
        for (row, ir) in out.chunks_exact_mut(d).zip(idx.chunks_exact(d)) {
            row.copy_from_slice(&self.mean);
            for c in 0..d {
                let yc = m[c] + st * f32::from(ir[c]);
                row.iter_mut().zip(&self.dec[c * d..(c + 1) * d]).for_each(|(o, &v)| *o += v * yc);
            }
        }
        check_finite(out).map_err(|_| Error::Corrupt("EntropyBlock: decoded value not finite"))
    }
}

impl TokenBlock for EntropyBlock {
    fn head_dim(&self) -> usize {
        self.d
    }
    fn block_tokens(&self) -> usize {
        self.tokens
    }
    /// Decodes the block's indexes once, then `out[t] = ⟨q, μ⟩ + Σ_c q'_c·m_c + Δ·Σ_c
    /// q'_c·i_{t,c}` with `q' = D·q`.
    fn logits(&self, q: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_logits(self, q, code, out)?;
        self.logits_batch(q, code, out)
    }
    /// `Σ_t p_t·x̂_t = μ·Σp + Dᵀ·(m·Σp + Δ·Σ_t p_t·i_t)`.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_attend(self, p, code, out)?;
        self.attend_batch(p, code, out)
    }
    /// Decodes the block once for all queries.
    fn logits_batch(&self, queries: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.d, self.tokens);
        let n = crate::codec::batch_rows(queries.len(), d)?;
        check_dim(n * b, out.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(queries)?;
        let mut idx = [0i16; MAX_BLOCK_VALUES];
        let mut m = [0f32; super::MAX_HEAD_DIM];
        let st = self.indexes(code, &mut m[..d], &mut idx)?;
        let mut qt = [0f32; super::MAX_HEAD_DIM];
        for (q, o) in queries.chunks_exact(d).zip(out.chunks_exact_mut(b)) {
            self.score_indexes(q, st, &m[..d], &idx[..b * d], &mut qt[..d], o)?;
        }
        Ok(())
    }

    /// Decodes the block once for all rows of weights.
    fn attend_batch(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.d, self.tokens);
        let n = crate::codec::batch_rows(p.len(), b)?;
        check_dim(n * d, out.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(p)?;
        let mut idx = [0i16; MAX_BLOCK_VALUES];
        let mut m = [0f32; super::MAX_HEAD_DIM];
        let st = self.indexes(code, &mut m[..d], &mut idx)?;
        for (pr, o) in p.chunks_exact(b).zip(out.chunks_exact_mut(d)) {
            self.attend_indexes(pr, st, &m[..d], &idx[..b * d], o)?;
        }
        Ok(())
    }
}

impl EntropyBlock {
    /// `out += μ·Σp + Dᵀ·(m·Σp + Δ·Σ_t p_t·i_t)`.
    fn attend_indexes(&self, p: &[f32], st: f32, m: &[f32], idx: &[i16], out: &mut [f32]) -> Result<()> {
        let d = self.d;
        let mut y = [0f32; super::MAX_HEAD_DIM];
        for (&pt, ir) in p.iter().zip(idx.chunks_exact(d)) {
            y[..d].iter_mut().zip(ir).for_each(|(a, &i)| *a += pt * f32::from(i));
        }
        let ps: f32 = p.iter().sum();
        for c in 0..d {
            let yc = m[c] * ps + st * y[c];
            out.iter_mut().zip(&self.dec[c * d..(c + 1) * d]).for_each(|(o, &v)| *o += v * yc);
        }
        out.iter_mut().zip(&self.mean).for_each(|(o, &mu)| *o += mu * ps);
        super::finite_result(out, "EntropyBlock: output not finite")
    }
}

/// Saved as `u32 d, u32 tokens, u32 code_bytes, d f32 mean, d² f32 E, d² f32 D, u32 fine,
/// u32 p, p·d f32 probes`; restore goes through the checked constructors.
impl crate::persist::Persist for EntropyBlock {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.d as u32).u32(self.tokens as u32).u32(self.code_bytes as u32);
        w.f32s(&self.mean).f32s(&self.enc).f32s(&self.dec);
        w.u32(self.fine as u32).u32((self.probes.len() / self.d) as u32).f32s(&self.probes);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let d = crate::persist::read_dim(r, super::MAX_HEAD_DIM, "EntropyBlock: head dimension too large")?;
        let tokens = crate::persist::read_dim(r, MAX_BLOCK_VALUES, "EntropyBlock: too many tokens")?;
        let bytes = crate::persist::read_dim(r, 4 * MAX_BLOCK_VALUES, "EntropyBlock: budget too large")?;
        if d == 0 || tokens == 0 || tokens * d > MAX_BLOCK_VALUES {
            return Err(Error::Corrupt("EntropyBlock: shape"));
        }
        check_shape(d, tokens).map_err(|_| Error::Corrupt("EntropyBlock: shape"))?;
        let c = Self::with_code_bytes(d, tokens, bytes).map_err(|_| Error::Corrupt("EntropyBlock: budget"))?;
        let mean = r.finite_f32_vec(d, "EntropyBlock: non-finite mean")?;
        let enc = r.finite_f32_vec(d * d, "EntropyBlock: non-finite transform")?;
        let dec = r.finite_f32_vec(d * d, "EntropyBlock: non-finite transform")?;
        let c = c.with_transform(&mean, &enc, &dec)?;
        let fine = crate::persist::read_dim(r, MAX_BLOCK_VALUES, "EntropyBlock: too many fine tokens")?;
        let p = crate::persist::read_dim(r, MAX_PROBES, "EntropyBlock: too many probes")?;
        let probes = r.finite_f32_vec(p * d, "EntropyBlock: non-finite probe")?;
        c.with_importance(&probes, fine).map_err(|_| Error::Corrupt("EntropyBlock: importance"))
    }
}

/// What [`encode_shared_step`] chose: the shared quantizer step and each block's coded bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedStep {
    /// The shared step (an f16 value). A block whose minimum step is larger (see
    /// [`encode_shared_step`]) is coded at its minimum and stores that.
    pub step: f32,
    /// Coded bytes of each block (header + range-coded stream, `≤` its codec's `code_len()`),
    /// in the order of the codecs; their sum is within the budget.
    pub bytes: Vec<usize>,
}

/// Encodes one block of each of several heads (e.g. the `B` newest tokens of every head of a
/// layer) with **one quantizer step shared by all of them** under a joint byte budget, instead
/// of a fixed budget per head: heads whose block is easy to code give their bytes to heads
/// whose block is not, and the step — the distortion per component in the transform domain —
/// is the same everywhere (the high-rate optimum of the summed squared error).
///
/// `codecs[i]` codes `blocks[i]` (`codecs[i].dim()` values) into
/// `codes[o_i..o_i + codecs[i].code_len()]`, the codes laid end to end in the codecs' order.
/// Block `i` is coded at `max(s, s_i)` where `s_i`, its minimum step, is the larger of the
/// smallest step at which none of its indexes is clamped to `±255` and the smallest step
/// whose stream fits its own `code_len()` (the step [`Codec::encode_into`] would pick); `s`,
/// the shared step, is the smallest f16 step (binary search over f16 bit patterns) for which
/// the coded bytes summed over the blocks ([`EntropyBlock::encode_at_step`]'s count) are at
/// most `budget`. Each code is readable by its codec as any other; the joint rate is
/// `8·Σ bytes / Σ dim()`. To let a head take more than an even share, give the codecs a
/// `code_len()` above `budget / heads` (e.g. twice the nominal rate): only the coded bytes
/// count.
///
/// # Errors
/// [`Error::InvalidParameter`] for no codecs, a zero budget, or `codecs.len() !=
/// blocks.len()`; [`Error::DimensionMismatch`] for a block or `codes` of the wrong length;
/// [`Error::NonFinite`] for NaN/inf input; [`Error::Overflow`] if the blocks do not fit the
/// budget even at the largest step, or as [`Codec::encode_into`].
pub fn encode_shared_step(
    codecs: &[&EntropyBlock],
    blocks: &[&[f32]],
    budget: usize,
    codes: &mut [u8],
) -> Result<SharedStep> {
    if codecs.is_empty() || budget == 0 || codecs.len() != blocks.len() {
        return Err(Error::InvalidParameter("encode_shared_step: one block per codec, ≥ 1 codec, budget > 0"));
    }
    let total: usize = codecs.iter().map(|c| c.code_len()).sum();
    check_dim(total, codes.len())?;
    for (c, x) in codecs.iter().zip(blocks) {
        check_dim(c.dim(), x.len())?;
        check_finite(x)?;
    }
    let h = codecs.len();
    // Per block: transformed coordinates, means, deviations and the minimum step pattern.
    let mut ys: Vec<Vec<f32>> = Vec::with_capacity(h);
    let mut ms: Vec<Vec<f32>> = Vec::with_capacity(h);
    let mut sds: Vec<Vec<f32>> = Vec::with_capacity(h);
    let mut floor: Vec<u16> = Vec::with_capacity(h);
    let mut off = 0;
    for (c, x) in codecs.iter().zip(blocks) {
        let code = &mut codes[off..off + c.code_len()];
        off += c.code_len();
        let mut y = alloc::vec![0f32; x.len()];
        c.coords(x, &mut y)?;
        let (mut m, mut sd) = (alloc::vec![0f32; c.d], alloc::vec![0f32; c.d]);
        c.prepare_coords(x, &y, code, &mut m, &mut sd)?;
        let fit = c.fitting_pattern(&y, &m, &sd, code)?;
        floor.push(fit.max(c.no_clip_pattern(&y, &m)));
        ys.push(y);
        ms.push(m);
        sds.push(sd);
    }
    // Coded bytes of all blocks at shared pattern `pat` (each at max(pat, floor)); None if a
    // block does not fit its own budget (cannot happen at or above its floor).
    let coded = |pat: u16, codes: &mut [u8], out: &mut Vec<usize>| -> Result<Option<usize>> {
        out.clear();
        let mut off = 0;
        let mut sum = 0usize;
        for (i, c) in codecs.iter().enumerate() {
            let code = &mut codes[off..off + c.code_len()];
            off += c.code_len();
            match c.code_at(&ys[i], &ms[i], &sds[i], pat.max(floor[i]), code)? {
                Some(n) => {
                    out.push(n);
                    sum += n;
                }
                None => return Ok(None),
            }
        }
        Ok(Some(sum))
    };
    let mut bytes = Vec::with_capacity(h);
    let within = |v: Option<usize>| v.is_some_and(|n| n <= budget);
    let (mut lo, mut hi) = (0u16, MAX_STEP_PATTERN);
    if !within(coded(hi, codes, &mut bytes)?) {
        return Err(Error::Overflow);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if within(coded(mid, codes, &mut bytes)?) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    coded(hi, codes, &mut bytes)?;
    Ok(SharedStep { step: f16_to_f32(hi), bytes })
}
