//! The crate's codecs as [`GroupQuantizer`]s: each fits its side information from the group
//! with the codec's own encoder and rounds unit by unit on the grid the codec decodes to, so
//! that without feedback the reconstruction is exactly the codec's decode (tested).
//!
//! | quantizer | group / unit | bits per group |
//! |---|---|---|
//! | [`UniformGroup`] ([`BlockUniform`], asymmetric, f16 `lo`, `Δ`) | `g ∈ {16, 32, 64, 128}` / 1 | `b·g + 32` |
//! | [`LloydGroup`] (Gaussian Lloyd–Max levels, f16 `μ`, `σ`) | `g` / 1 | `b·g + 32` |
//! | [`Fp4Group::mx`] (MXFP4: E2M1, E8M0 block scale) | 32 / 1 | `4·32 + 8` |
//! | [`Fp4Group::nv`] (NVFP4: E2M1, E4M3 block scale, f32 tensor scale) | 16 / 1 | `4·16 + 8` (+32 shared) |
//! | [`ProductQuantizer`] (plain VQ: k-means on `W`) | the row / `d_sub` | `M·nbits` (+ codebooks shared) |
//! | [`SignSplitVq`] (SSVQ: signs + k-means on `|W|`) | the row / `d_s` | `d + M·nbits` (+ codebook shared) |
//! | [`PvqGroup`] (PVQ: Hadamard-rotated rows, bf16 row RMS, gain level + pulse index per group) | `D` / `D` | `log2 L + log2 V(D, K_g)` (+16 per row, gains and coder termination shared) |
//!
//! Codebooks are counted once per matrix at 16 bits per value when every centroid is an f16
//! value (the `*_for_weights` trainers round them so), at 32 bits otherwise; a product quantizer
//! whose `M` codebooks are equal ([`ProductQuantizer::train_shared`]) counts one.

use alloc::vec;

use super::GroupQuantizer;
use crate::codec::Codec;
use crate::error::{Error, Result, check_finite};
use crate::pq::ProductQuantizer;
use crate::pvq::SplitCodec;
use crate::pvq::weights::{PvqWeights, WeightConfig};
use crate::scalar::float::{
    FloatCodec, FloatFormat, e2m1_from_f32, e2m1_to_f32, e4m3_from_f32, e4m3_to_f32, e8m0_to_f32, f16_from_f32,
    f16_to_f32,
};
use crate::scalar::lloyd::Codebook;
use crate::scalar::uniform::{BlockUniform, ScaleFormat};
use crate::ssvq::SignSplitVq;
use crate::train::KMeansConfig;
use crate::transform::hadamard::RandomizedHadamard;

/// Uniform asymmetric integers per group with f16 `lo` and `Δ`: [`BlockUniform`] with block
/// `g` and [`ScaleFormat::F16`] (bits per weight `b + 32/g`). Round to nearest on
/// `lo + q·Δ`, `q ∈ 0..2^b`.
#[derive(Clone, Copy, Debug)]
pub struct UniformGroup {
    codec: BlockUniform,
}

impl UniformGroup {
    /// `bits ∈ 1..=8`, `group ∈ {16, 32, 64, 128}`.
    ///
    /// # Errors
    /// [`BlockUniform::with_scales`]'s.
    pub fn new(bits: u32, group: usize) -> Result<Self> {
        Ok(UniformGroup { codec: BlockUniform::with_scales(group, bits, Some(group), false, ScaleFormat::F16)? })
    }
}

impl GroupQuantizer for UniformGroup {
    fn group_len(&self) -> usize {
        self.codec.dim()
    }
    fn unit_len(&self) -> usize {
        1
    }
    fn state_len(&self) -> usize {
        3
    }
    /// The codec's encoder picks the stored `(lo, Δ)` (f16, `lo` rounded down, `Δ` up).
    fn begin_group(&self, w: &[f32], state: &mut [f32]) -> Result<f64> {
        let mut code = [0u8; 4 + 128];
        let code = &mut code[..self.codec.code_len()];
        self.codec.encode_into(w, code)?;
        state[0] = f16_to_f32(u16::from_le_bytes([code[0], code[1]]));
        state[1] = f16_to_f32(u16::from_le_bytes([code[2], code[3]]));
        state[2] = ((1u32 << self.codec.bits()) - 1) as f32;
        Ok((8 * self.codec.code_len()) as f64)
    }
    fn quantize_unit(&self, state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        let (base, step, qm) = (state[0], state[1], state[2]);
        let inv = if step > 0.0 { 1.0 / step } else { 0.0 };
        for (o, &x) in out.iter_mut().zip(w) {
            check_finite(&[x])?;
            let l = (((x - base) * inv).clamp(0.0, qm) + 0.5) as u8;
            *o = base + f32::from(l) * step;
        }
        Ok(0.0)
    }
}

/// Gaussian Lloyd–Max levels ([`Codebook::gaussian`], `b ∈ 1..=4`) on each group standardised
/// by its mean `μ` and RMS deviation `σ`, both stored as f16 (the scheme of
/// [`crate::scalar::lloyd::LloydCodec`] per group): `ŵ = μ + σ·c[idx]`, bits per weight
/// `b + 32/g`.
#[derive(Clone, Debug)]
pub struct LloydGroup {
    group: usize,
    book: Codebook,
}

impl LloydGroup {
    /// `bits ∈ 1..=4`, any `group ≥ 1`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for other values.
    pub fn new(bits: u32, group: usize) -> Result<Self> {
        if group == 0 {
            return Err(Error::InvalidParameter("Lloyd group must be positive"));
        }
        Ok(LloydGroup { group, book: Codebook::gaussian(bits)? })
    }
}

impl GroupQuantizer for LloydGroup {
    fn group_len(&self) -> usize {
        self.group
    }
    fn unit_len(&self) -> usize {
        1
    }
    fn state_len(&self) -> usize {
        2
    }
    fn begin_group(&self, w: &[f32], state: &mut [f32]) -> Result<f64> {
        check_finite(w)?;
        let n = w.len().max(1) as f64;
        let mu = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = w.iter().map(|&v| (f64::from(v) - mu) * (f64::from(v) - mu)).sum::<f64>() / n;
        state[0] = f16_to_f32(f16_from_f32(mu as f32));
        state[1] = f16_to_f32(f16_from_f32(libm::sqrt(var) as f32));
        if !(state[0].is_finite() && state[1].is_finite()) {
            return Err(Error::InvalidParameter("Lloyd group: μ or σ beyond the f16 range"));
        }
        Ok((self.book.bits() as usize * self.group + 32) as f64)
    }
    fn quantize_unit(&self, state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        let (mu, sd) = (state[0], state[1]);
        for (o, &x) in out.iter_mut().zip(w) {
            check_finite(&[x])?;
            *o = if sd > 0.0 { mu + sd * self.book.level(self.book.index((x - mu) / sd)) } else { mu };
        }
        Ok(0.0)
    }
}

/// FP4 E2M1 elements with a block scale: MXFP4 (32 per E8M0 power-of-two scale, 4.25 bits per
/// weight) or NVFP4 (16 per E4M3 scale times one f32 tensor scale, 4.5 bits per weight + 32
/// bits per matrix). Scales and rounding are [`FloatCodec`]'s (tested equal).
#[derive(Clone, Copy, Debug)]
pub struct Fp4Group {
    /// `None`: MXFP4; `Some(S)`: NVFP4 with tensor scale `S`.
    tensor: Option<f32>,
}

impl Fp4Group {
    /// MXFP4 (OCP microscaling): blocks of 32, scale `2^(⌊log₂ amax⌋ − 2)`.
    pub fn mx() -> Self {
        Fp4Group { tensor: None }
    }

    /// NVFP4 for a matrix whose largest `|w|` is `absmax`: tensor scale `S = absmax / (448·6)`,
    /// blocks of 16 with scale `E4M3(amax_b / 6 / S)·S`.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a non-finite or negative `absmax`.
    pub fn nv(absmax: f32) -> Result<Self> {
        if !(absmax.is_finite() && absmax >= 0.0) {
            return Err(Error::NonFinite);
        }
        Ok(Fp4Group { tensor: Some(absmax / (448.0 * 6.0)) })
    }
}

impl GroupQuantizer for Fp4Group {
    fn group_len(&self) -> usize {
        if self.tensor.is_some() { 16 } else { 32 }
    }
    fn unit_len(&self) -> usize {
        1
    }
    fn state_len(&self) -> usize {
        1
    }
    fn begin_group(&self, w: &[f32], state: &mut [f32]) -> Result<f64> {
        check_finite(w)?;
        let amax = w.iter().fold(0f32, |a, &v| a.max(v.abs()));
        state[0] = match self.tensor {
            None => {
                // The codec's own block scale: encode the group as one MXFP4 vector.
                let c = FloatCodec::new(32, FloatFormat::MxFp4)?;
                let mut code = [0u8; 17];
                c.encode_into(w, &mut code)?;
                e8m0_to_f32(code[0])
            }
            Some(big) if big > 0.0 => e4m3_to_f32(e4m3_from_f32(amax / 6.0 / big) & 0x7F) * big,
            Some(_) => 0.0,
        };
        Ok((4 * self.group_len() + 8) as f64)
    }
    fn quantize_unit(&self, state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        let sc = state[0];
        for (o, &x) in out.iter_mut().zip(w) {
            check_finite(&[x])?;
            *o = if sc > 0.0 { e2m1_to_f32(e2m1_from_f32(x / sc)) * sc } else { 0.0 };
        }
        Ok(0.0)
    }
    fn shared_bits(&self) -> f64 {
        if self.tensor.is_some() { 32.0 } else { 0.0 }
    }
}

/// Bits of a codebook of `values` counted as described in the [module docs](self).
fn codebook_bits(values: &[f32]) -> f64 {
    let f16_exact = values.iter().all(|&v| f16_to_f32(f16_from_f32(v)) == v);
    values.len() as f64 * if f16_exact { 16.0 } else { 32.0 }
}

/// Plain VQ: a product quantizer over the whole row (`group_len = dim`), quantizing `d_sub`
/// weights at a time with the codebook of their subspace.
impl GroupQuantizer for ProductQuantizer {
    fn group_len(&self) -> usize {
        self.dim()
    }
    fn unit_len(&self) -> usize {
        self.dsub()
    }
    fn begin_group(&self, _w: &[f32], _state: &mut [f32]) -> Result<f64> {
        Ok((self.m() * self.nbits() as usize) as f64)
    }
    fn quantize_unit(&self, _state: &[f32], pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        check_finite(w)?;
        let s = pos / self.dsub();
        let j = self.nearest_in(s, w)?;
        let per = self.ksub() * self.dsub();
        let c = &self.centroids()[s * per + j * self.dsub()..s * per + (j + 1) * self.dsub()];
        out.copy_from_slice(c);
        Ok(0.0)
    }
    fn shared_bits(&self) -> f64 {
        let per = self.ksub() * self.dsub();
        let c = self.centroids();
        let shared = c.chunks_exact(per).all(|b| b == &c[..per]);
        codebook_bits(if shared { &c[..per] } else { c })
    }
}

/// SSVQ: the row is the group; `d_s` weights at a time get their signs and the nearest
/// magnitude centroid.
impl GroupQuantizer for SignSplitVq {
    fn group_len(&self) -> usize {
        self.dim()
    }
    fn unit_len(&self) -> usize {
        self.ds()
    }
    fn begin_group(&self, _w: &[f32], _state: &mut [f32]) -> Result<f64> {
        Ok((self.dim() + self.m() * self.nbits() as usize) as f64)
    }
    fn quantize_unit(&self, _state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        check_finite(w)?;
        let (s, j) = self.quantize_sub(w);
        self.reconstruct_sub(s, j, out);
        Ok(0.0)
    }
    fn shared_bits(&self) -> f64 {
        codebook_bits(self.centroids())
    }
}

fn round_f16(c: &mut [f32]) {
    for v in c {
        *v = f16_to_f32(f16_from_f32(*v));
    }
}

/// Plain VQ of a `rows × cols` weight matrix: one k-means codebook of `2^nbits` centroids of
/// `ds` weights trained on all sub-vectors of `w` ([`ProductQuantizer::train_shared`]), its
/// values rounded to f16.
///
/// # Errors
/// As [`ProductQuantizer::train_shared`].
pub fn vq_for_weights(w: &[f32], cols: usize, ds: usize, nbits: u32, cfg: &KMeansConfig) -> Result<ProductQuantizer> {
    if ds == 0 || !cols.is_multiple_of(ds) {
        return Err(Error::InvalidParameter("VQ: ds must divide the row length"));
    }
    let pq = ProductQuantizer::train_shared(w, cols, cols / ds, nbits, cfg)?;
    let mut c = pq.centroids().to_vec();
    round_f16(&mut c);
    ProductQuantizer::new(cols, cols / ds, nbits, c, pq.metric())
}

/// SSVQ of a `rows × cols` weight matrix: the magnitude codebook trained on `|w|`
/// ([`SignSplitVq::train`]), its values rounded to f16.
///
/// # Errors
/// As [`SignSplitVq::train`].
pub fn ssvq_for_weights(w: &[f32], cols: usize, ds: usize, nbits: u32, cfg: &KMeansConfig) -> Result<SignSplitVq> {
    let v = SignSplitVq::train(w, cols, ds, nbits, cfg)?;
    let mut c = v.centroids().to_vec();
    round_f16(&mut c);
    SignSplitVq::new(cols, ds, nbits, c)
}

/// Reconstruction of `w` (`group_len` weights) by round-to-nearest, for tests and callers that
/// do not need the bits.
///
/// # Errors
/// As [`GroupQuantizer::quantize_group`].
pub fn round_trip(q: &dyn GroupQuantizer, w: &[f32]) -> Result<alloc::vec::Vec<f32>> {
    let mut out = vec![0f32; w.len()];
    q.quantize_group(w, &mut out)?;
    Ok(out)
}

/// PVQ for weights ([`PvqWeights`], arXiv 2410.16926) as a [`GroupQuantizer`]: every row
/// rotated by the randomized Hadamard transform ([`rotation`](GroupQuantizer::rotation); none
/// with `hadamard: false`), its RMS stored as `bf16` (16 bits, [`begin_row`](GroupQuantizer::begin_row)),
/// and every group of `D` rotated weights coded as one unit: a PVQ direction with `K_g` pulses
/// and a gain level, `log2 L + log2 V(D, K_g)` bits — fractional, as the range coder spends
/// them. Shared bits: the `32·L` bits of gain levels and the coder's termination bound
/// ([`PvqWeights::overhead_bits`]). So a matrix of the shape it was fitted for costs at most
/// the configured bits per weight, and the bits are an upper bound of the real stream's
/// ([`PvqWeights::quantize`]); without feedback the reconstruction equals that stream's decode
/// (tested).
///
/// Built for one matrix shape (`rows × cols`, `D` dividing `cols`): the pulse budget is
/// allocated for that many rows.
#[derive(Clone, Debug)]
pub struct PvqGroup {
    q: PvqWeights,
    rows: usize,
}

impl PvqGroup {
    /// The quantizer for `w` (`rows × cols`) at `cfg` ([`PvqWeights::fit`]: gain levels fitted
    /// to the rotated matrix when `cfg.fit_gains`).
    ///
    /// # Errors
    /// As [`PvqWeights::fit`]; [`Error::InvalidParameter`] if `cfg.group` does not divide
    /// `cols`.
    pub fn fit(w: &[f32], rows: usize, cols: usize, cfg: &WeightConfig) -> Result<Self> {
        if cfg.group == 0 || !cols.is_multiple_of(cfg.group) {
            return Err(Error::InvalidParameter("pvq group: the group must divide the row"));
        }
        Ok(PvqGroup { q: PvqWeights::fit(w, rows, cols, cfg)?, rows })
    }

    /// The PVQ weight quantizer inside.
    pub fn weights(&self) -> &PvqWeights {
        &self.q
    }

    /// The number of rows the bit budget was allocated for.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// State words: row scale, next group number, current group number.
const PVQ_STATE: usize = 3;

impl GroupQuantizer for PvqGroup {
    fn group_len(&self) -> usize {
        self.q.codec().group()
    }

    fn state_len(&self) -> usize {
        PVQ_STATE
    }

    fn begin_row(&self, row: &[f32], state: &mut [f32]) -> Result<f64> {
        state[0] = PvqWeights::row_scale(row)?;
        state[1] = 0.0;
        Ok(16.0)
    }

    fn begin_group(&self, w: &[f32], state: &mut [f32]) -> Result<f64> {
        check_finite(w)?;
        state[2] = state[1];
        state[1] += 1.0;
        Ok(0.0)
    }

    fn quantize_unit(&self, state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        crate::error::check_dim(w.len(), out.len())?;
        out.copy_from_slice(w);
        self.q.quantize_group(state[2] as usize, out, state[0])
    }

    fn shared_bits(&self) -> f64 {
        self.q.overhead_bits(self.rows)
    }

    fn rotation(&self) -> Option<&RandomizedHadamard> {
        self.q.rotation()
    }
}

/// Recursive-split PVQ ([`SplitCodec`]) for weights: each row — rotated by the randomized
/// Hadamard transform of [`WeightConfig`] when `hadamard` — is one unit, coded as one
/// [`SplitCodec`] code of `⌊R·cols/8⌋` bytes (its `bf16` RMS, the split angles and the leaf
/// indexes, everything counted). No shared bits.
///
/// With one unit per row, error feedback has nothing to feed inside the row: the driver's
/// `+AA` result equals plain rounding (the GPTQ update runs only between units).
#[derive(Clone, Debug)]
pub struct SplitGroup {
    codec: SplitCodec,
    rotation: Option<RandomizedHadamard>,
}

impl SplitGroup {
    /// Rows of `cols` weights at `cfg.bits_per_weight` with leaves of at most `max_leaf`
    /// coordinates indexed in `leaf_bits` bits (see [`SplitCodec::new`]); the rotation from
    /// `cfg.hadamard` and `cfg.seed`, the search from `cfg.search`.
    ///
    /// # Errors
    /// As [`SplitCodec::new`] and [`RandomizedHadamard::new`].
    pub fn new(cols: usize, cfg: &WeightConfig, max_leaf: usize, leaf_bits: u32) -> Result<Self> {
        let codec = SplitCodec::new(cols, cfg.bits_per_weight, max_leaf, leaf_bits, cfg.search)?;
        let rotation = if cfg.hadamard { Some(RandomizedHadamard::new(cols, cfg.seed)?) } else { None };
        Ok(SplitGroup { codec, rotation })
    }

    /// The row codec.
    pub fn codec(&self) -> &SplitCodec {
        &self.codec
    }
}

impl GroupQuantizer for SplitGroup {
    fn group_len(&self) -> usize {
        self.codec.dim()
    }

    fn begin_group(&self, w: &[f32], _state: &mut [f32]) -> Result<f64> {
        check_finite(w).map(|_| 0.0)
    }

    fn quantize_unit(&self, _state: &[f32], _pos: usize, w: &[f32], out: &mut [f32]) -> Result<f64> {
        crate::error::check_dim(w.len(), out.len())?;
        let mut code = vec![0u8; self.codec.code_len()];
        self.codec.encode_into(w, &mut code)?;
        crate::codec::Decode::decode_into(&self.codec, &code, out)?;
        Ok(8.0 * code.len() as f64)
    }

    fn rotation(&self) -> Option<&RandomizedHadamard> {
        self.rotation.as_ref()
    }
}
