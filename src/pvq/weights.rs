//! PVQ for weight matrices (arXiv 2410.16926, "PVQ for LLMs"): each row is rotated by a
//! randomized Hadamard transform ("coherence processing": it spreads outliers over the row so
//! that its coordinates look Gaussian), cut into groups of `D` weights, and every group is
//! coded as a PVQ direction plus a quantized amplitude; rates are fractional (2.25, 3.25 bits
//! per weight are real) because everything goes through one range-coder stream.
//!
//! What is counted in [`Quantized::bits`] — everything needed to decode, except the
//! configuration itself (rows, cols, `D`, the Hadamard seed, the rate):
//!
//! * the range-coded stream: per row the RMS of the rotated row as `bf16` (16 bits), per group
//!   the gain level number (`log2 L` bits) and the pulse index (`log2 V(D, K)` bits), and the
//!   coder's termination (at most ~2 bytes for the whole matrix);
//! * the gain levels, `32·L` bits (fitted to the matrix when [`WeightConfig::fit_gains`]).
//!
//! The stream is really written and decoded: the reconstruction returned is the decoder's.
//!
//! For error-feedback (GPTQ-style) quantization, [`PvqWeights`] exposes the pieces: the row
//! rotation ([`PvqWeights::rotate_rows`] — the same orthogonal `H` for every row, so
//! `W·Hᵀ` with inputs `H·X` gives the same outputs), the row scale
//! ([`PvqWeights::row_scale`]) and [`PvqWeights::quantize_group`], which quantizes one group of
//! one row in place and returns its exact information bits.
//! [`crate::weights::group::PvqGroup`] composes them into a
//! [`GroupQuantizer`](crate::weights::GroupQuantizer), so that
//! [`crate::weights::quantize_matrix`] runs PVQ with activation-aware error feedback in the
//! rotated basis (`H_R = R·H·Rᵀ`, see [`crate::weights`]).

use alloc::vec::Vec;

use super::codec::{IndexCoding, PvqCodec, allocate_budget, range_margin_bits};
use super::gain::GainQuantizer;
use super::search::Search;
use super::stream::{Sink, Source};
use crate::entropy::range::{RangeDecoder, RangeEncoder};
use crate::error::{Error, Result, check_finite};
use crate::scalar::float::{bf16_from_f32, bf16_to_f32};
use crate::transform::hadamard::RandomizedHadamard;

/// Configuration of [`quantize_rows`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightConfig {
    /// Weights per PVQ group `D` (1..=256; 32 is a good default).
    pub group: usize,
    /// Target bits per weight, everything counted (e.g. 2, 2.25, 3, 3.25, 4).
    pub bits_per_weight: f64,
    /// Gain bits per group: `L = 2^gain_bits` levels (1..=8; 2 is a good default with fitted
    /// levels).
    pub gain_bits: u32,
    /// Fit the gain levels to this matrix (1-D k-means on its relative gains) instead of the
    /// log-uniform default.
    pub fit_gains: bool,
    /// Apply the randomized Hadamard rotation to every row.
    pub hadamard: bool,
    /// Seed of the Hadamard signs.
    pub seed: u64,
    /// Pulse search.
    pub search: Search,
}

impl WeightConfig {
    /// The defaults at `bits_per_weight`: groups of 32, 2 fitted gain bits, Hadamard on
    /// (seed 0), greedy search.
    pub fn new(bits_per_weight: f64) -> Self {
        WeightConfig {
            group: 32,
            bits_per_weight,
            gain_bits: 2,
            fit_gains: true,
            hadamard: true,
            seed: 0,
            search: Search::Greedy,
        }
    }
}

/// A quantized matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// The decoded weights (`rows × cols`, row-major, in the original basis).
    pub reconstruction: Vec<f32>,
    /// Every bit stored: stream bytes × 8 plus the gain levels (see the module docs).
    pub bits: u64,
    /// The range-coded stream.
    pub stream: Vec<u8>,
}

impl Quantized {
    /// Bits per weight.
    pub fn bits_per_weight(&self) -> f64 {
        self.bits as f64 / self.reconstruction.len().max(1) as f64
    }
}

/// The PVQ weight quantizer of one matrix shape (see the module docs).
#[derive(Clone, Debug)]
pub struct PvqWeights {
    cols: usize,
    codec: PvqCodec,
    rotation: Option<RandomizedHadamard>,
}

/// Bits for one row's scale.
const ROW_SCALE_BITS: f64 = 16.0;

impl PvqWeights {
    /// The quantizer for `rows × cols` matrices with the given gain levels: pulses allocated
    /// so that the whole matrix (row scales, gains, indexes, termination and `32·L` bits of
    /// gain levels) fits `bits_per_weight`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `rows == 0`, `cols ∉ 1..=2^16`, a bad group or a rate
    /// too low; [`Error::Overflow`] if a group's `V(D, K)` exceeds 128 bits.
    pub fn new(rows: usize, cols: usize, cfg: &WeightConfig, gain: GainQuantizer) -> Result<Self> {
        if rows == 0 || cols == 0 || cols > crate::persist::MAX_DIM {
            return Err(Error::InvalidParameter("pvq weights: rows >= 1 and cols in 1..=65536"));
        }
        if !(cfg.bits_per_weight.is_finite() && cfg.bits_per_weight > 0.0 && cfg.bits_per_weight <= 64.0) {
            return Err(Error::InvalidParameter("pvq weights: bits per weight in (0, 64]"));
        }
        if cfg.group == 0 || cfg.group > super::codec::MAX_GROUP {
            return Err(Error::InvalidParameter("pvq weights: group in 1..=256"));
        }
        let group = cfg.group.min(cols);
        let groups = cols.div_ceil(group);
        let total = cfg.bits_per_weight * (rows * cols) as f64
            - 32.0 * gain.len() as f64
            - range_margin_bits(rows * (2 + 18 * groups)) as f64;
        let per_row = libm::floor(total / rows as f64 - ROW_SCALE_BITS);
        let ks = allocate_budget(cols, group, per_row, gain.len(), IndexCoding::Range)?;
        let codec = PvqCodec::new(cols, group, &ks, gain, IndexCoding::Range, cfg.search)?;
        let rotation = if cfg.hadamard { Some(RandomizedHadamard::new(cols, cfg.seed)?) } else { None };
        Ok(PvqWeights { cols, codec, rotation })
    }

    /// The quantizer for `w` (`rows × cols`, row-major) at `cfg`, with the gain levels fitted
    /// to `w` if `cfg.fit_gains` (else — and for an all-zero `w` — log-uniform,
    /// [`GainQuantizer::default_for`]).
    ///
    /// # Errors
    /// As [`new`](Self::new); [`Error::DimensionMismatch`] if `w.len() ≠ rows·cols`,
    /// [`Error::NonFinite`] for NaN/inf weights.
    pub fn fit(w: &[f32], rows: usize, cols: usize, cfg: &WeightConfig) -> Result<Self> {
        crate::error::check_dim(rows.checked_mul(cols).ok_or(Error::Overflow)?, w.len())?;
        check_finite(w)?;
        let group = cfg.group.min(cols).max(1);
        let default = GainQuantizer::default_for(cfg.gain_bits, cols, group)?;
        let first = Self::new(rows, cols, cfg, default)?;
        if !cfg.fit_gains {
            return Ok(first);
        }
        let mut rotated = w.to_vec();
        first.rotate_rows(&mut rotated)?;
        let samples = first.codec.gain_samples(&rotated)?;
        if samples.is_empty() {
            // An all-zero matrix: nothing to fit.
            return Ok(first);
        }
        let gain = GainQuantizer::fitted(&samples, cfg.gain_bits, 25)?;
        Self::new(rows, cols, cfg, gain)
    }

    /// The randomized Hadamard rotation of the rows (`None` without
    /// [`WeightConfig::hadamard`]).
    pub fn rotation(&self) -> Option<&RandomizedHadamard> {
        self.rotation.as_ref()
    }

    /// The row length.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bits of a `rows`-row matrix stored apart from the row scales (16 bits per row) and the
    /// groups' information bits ([`quantize_group`](Self::quantize_group)): the gain levels
    /// (`32·L`) and the range coder's termination bound for the whole stream
    /// ([`range_margin_bits`]); the budget
    /// [`new`](Self::new) allocates pulses against.
    pub fn overhead_bits(&self, rows: usize) -> f64 {
        let groups = self.codec.pulses().len();
        32.0 * self.codec.gain().len() as f64 + range_margin_bits(rows * (2 + 18 * groups)) as f64
    }

    /// The row codec (dimension `cols`; its pulses per group and gain levels).
    pub fn codec(&self) -> &PvqCodec {
        &self.codec
    }

    /// Applies the row rotation to every row of `w` in place (identity without Hadamard).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `w.len()` is not a multiple of `cols`.
    pub fn rotate_rows(&self, w: &mut [f32]) -> Result<()> {
        crate::codec::batch_rows(w.len(), self.cols)?;
        if let Some(h) = &self.rotation {
            for row in w.chunks_exact_mut(self.cols) {
                h.forward_in_place(row)?;
            }
        }
        Ok(())
    }

    /// Undoes [`rotate_rows`](Self::rotate_rows).
    ///
    /// # Errors
    /// As [`rotate_rows`](Self::rotate_rows).
    pub fn unrotate_rows(&self, w: &mut [f32]) -> Result<()> {
        crate::codec::batch_rows(w.len(), self.cols)?;
        if let Some(h) = &self.rotation {
            for row in w.chunks_exact_mut(self.cols) {
                h.transpose_in_place(row)?;
            }
        }
        Ok(())
    }

    /// The stored scale of a (rotated) row: its RMS rounded to `bf16` (16 bits).
    ///
    /// # Errors
    /// [`Error::NonFinite`] for NaN/inf or an RMS that overflows.
    pub fn row_scale(row: &[f32]) -> Result<f32> {
        check_finite(row)?;
        let ss: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let s = bf16_to_f32(bf16_from_f32(libm::sqrt(ss / row.len().max(1) as f64) as f32));
        if s.is_finite() { Ok(s) } else { Err(Error::NonFinite) }
    }

    /// Quantizes group `g` of a rotated row with scale `s` in place (see
    /// [`PvqCodec::quantize_group`]); returns the group's information bits.
    ///
    /// # Errors
    /// As [`PvqCodec::quantize_group`].
    pub fn quantize_group(&self, g: usize, x: &mut [f32], s: f32) -> Result<f64> {
        self.codec.quantize_group(g, x, s)
    }

    /// Encodes `w` (`rows × cols`) into one range-coded stream, decodes it, and returns the
    /// reconstruction with the exact bit count.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], or a stream error.
    pub fn quantize(&self, w: &[f32]) -> Result<Quantized> {
        let rows = crate::codec::batch_rows(w.len(), self.cols)?;
        check_finite(w)?;
        let mut rotated = w.to_vec();
        self.rotate_rows(&mut rotated)?;
        let cap = (self.codec.information_bits() as usize / 8 + 16) * rows + 64;
        let mut buf = alloc::vec![0u8; cap];
        let mut enc = RangeEncoder::new(&mut buf);
        for row in rotated.chunks_exact(self.cols) {
            let h = bf16_from_f32(Self::row_scale(row)?);
            enc.put(u128::from(h), 1 << 16)?;
            self.codec.encode_groups(row, bf16_to_f32(h), &mut enc)?;
        }
        let len = enc.finish()?;
        buf.truncate(len);
        let mut out = alloc::vec![0f32; w.len()];
        let mut dec = RangeDecoder::new(&buf);
        for row in out.chunks_exact_mut(self.cols) {
            let s = bf16_to_f32(dec.get(1 << 16)? as u16);
            if !(s.is_finite() && s >= 0.0) {
                return Err(Error::Corrupt("pvq weights: row scale"));
            }
            self.codec.decode_groups(s, &mut dec, |r, y, scale| {
                for (o, &v) in row[r].iter_mut().zip(y) {
                    *o = v as f32 * scale;
                }
            })?;
        }
        dec.check()?;
        self.unrotate_rows(&mut out)?;
        let bits = 8 * len as u64 + 32 * self.codec.gain().len() as u64;
        Ok(Quantized { reconstruction: out, bits, stream: buf })
    }
}

/// Quantizes the `rows × cols` row-major matrix `w` with PVQ at `cfg`: returns the
/// reconstruction and the exact number of bits stored (see the module docs for what is
/// counted; `bits ≤ cfg.bits_per_weight · rows · cols`).
///
/// ```
/// use vector_codecs::pvq::weights::{WeightConfig, quantize_rows};
/// let (rows, cols) = (8, 64);
/// let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919 % 113) as f32 - 56.0) / 40.0).collect();
/// let (w_hat, bits) = quantize_rows(&w, rows, cols, &WeightConfig::new(3.25)).unwrap();
/// assert_eq!(w_hat.len(), w.len());
/// assert!(bits as f64 <= 3.25 * (rows * cols) as f64);
/// ```
///
/// # Errors
/// As [`PvqWeights::fit`] and [`PvqWeights::quantize`].
pub fn quantize_rows(w: &[f32], rows: usize, cols: usize, cfg: &WeightConfig) -> Result<(Vec<f32>, u64)> {
    let q = PvqWeights::fit(w, rows, cols, cfg)?.quantize(w)?;
    Ok((q.reconstruction, q.bits))
}
