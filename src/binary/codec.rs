//! [`BinaryCodec`]: 1-bit sign codes and multi-stage residual binarization. Centring is the
//! composition [`CenteredBinary`](super::CenteredBinary) = [`Centered`](crate::compose::Centered)`<BinaryCodec>`.

use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, ScoreSymmetric, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};

/// Largest number of residual stages.
pub const MAX_STAGES: usize = 8;
/// Largest supported dimension (2¹⁶, the crate-wide [`crate::persist::MAX_DIM`]: bounds the
/// query scratch of a codec read from a few bytes and keeps `d − 2H` exact in `f32`/`u32`).
pub const MAX_DIM: usize = crate::persist::MAX_DIM;

/// Largest magnitude of the shared scale and of the sum `Σ_t α_t` of a code's stage scales
/// (`2^126`): a reconstruction `Σ_t ±α_t` then stays below `2^127`, finite. Codes with larger
/// scales are [`Error::Corrupt`]; inputs that would need them are [`Error::NonFinite`] at
/// encode.
pub const MAX_SCALE: f32 = f32::from_bits((126 + 127) << 23);

/// How the per-stage scales `α_t` are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScaleFormat {
    /// No per-vector scale: one shared scale `s` is a parameter of the codec (trained as the mean
    /// `|x_i|` of the vectors it codes, or given). Only with one stage: the code is exactly `⌈d/8⌉` sign bytes.
    Shared,
    /// Per vector, one little-endian `f32` `α_t = ‖r_{t−1}‖₁ / d` per stage, after the bit planes
    /// (32 bits per stage are counted in `bits_per_dim`). `f32` rather than `f16` keeps the
    /// reconstruction exactly the one the encoder optimised; at d = 768 it costs 0.04 bit/dim
    /// per stage.
    F32,
}

/// A binary codec: `T ∈ 1..=8` stages of sign bits of the running residual. It holds no
/// centre: centring on a mean `μ` is the composition
/// [`CenteredBinary`](super::CenteredBinary)`<M>` = [`Centered`](crate::compose::Centered)`<BinaryCodec, M>` (codes
/// `x − μ`, adds `⟨q, μ⟩` to every score and `μ` to every decode; its mean may be borrowed from
/// flash without `alloc`).
///
/// **Encoding.** `r₀ = x`; for `t = 1..T`: `b_t = [r_{t−1} > 0]` (bit 1 iff the value is
/// strictly positive; 0 and −0 give bit 0), `α_t = ‖r_{t−1}‖₁ / d` (the L2-optimal scale for a
/// fixed sign pattern) and `r_t = r_{t−1} − α_t·(2b_t − 1)`, so `‖r_t‖² = ‖r_{t−1}‖² − d·α_t²`
/// decreases with every stage. With [`ScaleFormat::Shared`] (one stage) `α₁` is the codec's
/// shared scale instead.
///
/// **Code layout** (`code_len()` bytes): `T` bit planes of `⌈d/8⌉` bytes each, LSB-first
/// (bit `i` of a plane is bit `i mod 8` of byte `i / 8`; padding bits are 0), then, for
/// [`ScaleFormat::F32`], the `T` scales as little-endian `f32`. Bits per dimension:
/// `8·T·⌈d/8⌉/d` (+ `32·T/d` for `F32` scales).
///
/// **Reconstruction:** `x̂ = Σ_t α_t·(2b_t − 1)`.
///
/// **Scoring** (all estimate `⟨q, x⟩` or `⟨x, y⟩`):
/// * [`Score`] (float query): exactly `⟨q, x̂⟩` ([`Estimator::Reconstruction`]), through a
///   per-query table of partial sums of `q` ([`FloatLayout`]: 256 entries per plane byte for
///   `d ≤ 16,384` by default, 16 per nibble above, or no table; bit-identical scores in every
///   layout);
/// * [`ScoreSymmetric`]: exactly `⟨x̂, ŷ⟩ = Σ_t Σ_u α_t β_u (d − 2·popcount(b_t ⊕ c_u))` (also
///   between codecs of different stage counts: [`score_codes_with`](BinaryCodec::score_codes_with);
///   [`CenteredBinary`](super::CenteredBinary) adds the centring terms);
/// * [`ScanMode::Bitsliced`] (see [`ScanModes`]): the same codes scored against a 4-bit
///   quantized query with bit-sliced popcounts ([`Estimator::Biased`] by the query rounding; see
///   [`BitslicedQuery`](super::BitslicedQuery));
/// * raw Hamming distances: [`hamming`](super::hamming), [`BinaryCodec::hamming_codes`] and the
///   scans in [`super::scan`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryCodec {
    dim: usize,
    stages: usize,
    scales: ScaleFormat,
    shared_scale: f32,
    scan: ScanMode,
    layout: Option<FloatLayout>,
}

/// The layout of the subset-sum table of a float query ([`ScanMode::Float`]): a RAM/speed
/// trade-off, not part of the saved parameters. **Every layout gives bit-identical scores**:
/// the partial sum of a plane byte is always `lo + hi`, the sums of its low and high nibble
/// bits, each accumulated from the nibble's highest set bit down (`((q_c + q_b) + q_a)`), and
/// the bytes are summed in the same four interleaved accumulators. Scratch per query, `nb =
/// ⌈d/8⌉` plane bytes (d = 768: `nb = 96`):
///
/// | layout | scratch words | d = 768 | per plane byte |
/// |---|---|---|---|
/// | [`Byte`](FloatLayout::Byte) | `256·nb` | 96 KiB | 1 lookup |
/// | [`Nibble`](FloatLayout::Nibble) | `32·nb` | 12 KiB | 2 lookups, 1 add |
/// | [`Direct`](FloatLayout::Direct) | `8·nb` | 3 KiB | ≤ 8 adds over the set bits |
///
/// The default ([`BinaryCodec::float_layout`] when none was set) is `Byte` up to `nb = 2048`
/// (d = 16,384) and `Nibble` above. On a microcontroller choose `Direct` (or `Nibble`) with
/// [`BinaryCodec::with_float_layout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatLayout {
    /// One 256-entry table per plane byte.
    Byte,
    /// Two 16-entry tables per plane byte (one per nibble).
    Nibble,
    /// No table: the query itself (zero-padded to `8·nb`), summed over the set bits.
    Direct,
}

impl FloatLayout {
    /// Scratch words of a query table in this layout for `nb` plane bytes.
    pub const fn words(self, nb: usize) -> usize {
        match self {
            FloatLayout::Byte => 256 * nb,
            FloatLayout::Nibble => 32 * nb,
            FloatLayout::Direct => 8 * nb,
        }
    }

    /// The default layout for `nb` plane bytes.
    pub(crate) const fn auto(nb: usize) -> Self {
        if nb <= BYTE_LUT_MAX_BYTES { FloatLayout::Byte } else { FloatLayout::Nibble }
    }
}

/// Training configuration for [`BinaryCodec::train`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BinaryConfig {
    /// Number of residual stages, `1..=8`.
    pub stages: usize,
    /// Subtract the training mean before taking signs: the codec is then a
    /// [`CenteredBinary`](super::CenteredBinary), trained by
    /// [`train_centred`](BinaryCodec::train_centred) ([`BinaryCodec::train`] refuses it).
    pub centred: bool,
    /// How scales are stored ([`ScaleFormat::Shared`] needs `stages == 1`).
    pub scales: ScaleFormat,
}

impl BinaryCodec {
    /// Plain 1-bit sign codes (`bit = [x_i > 0]`, `⌈d/8⌉` bytes, 1 bit/dim for `d % 8 == 0`),
    /// decoding to `±1` (shared scale 1; see [`with_shared_scale`](Self::with_shared_scale)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ dim ≤ 2¹⁶`.
    pub fn sign(dim: usize) -> Result<Self> {
        BinaryCodec::new(dim, 1, ScaleFormat::Shared, 1.0)
    }

    /// Residual binarization with `stages` stages and per-vector `f32` scales
    /// (`T·(⌈d/8⌉ + 4)` bytes per vector).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ dim ≤ 2¹⁶` and `1 ≤ stages ≤ 8`.
    pub fn residual(dim: usize, stages: usize) -> Result<Self> {
        BinaryCodec::new(dim, stages, ScaleFormat::F32, 1.0)
    }

    /// A codec from its parameters; `shared_scale` (finite, `≥ 0`) is used only with
    /// [`ScaleFormat::Shared`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=2¹⁶`, `stages ∉ 1..=8`, `Shared` with more than one
    /// stage, or a negative/non-finite shared scale.
    pub fn new(dim: usize, stages: usize, scales: ScaleFormat, shared_scale: f32) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("dim must be in 1..=2^16"));
        }
        if !(1..=MAX_STAGES).contains(&stages) {
            return Err(Error::InvalidParameter("stages must be in 1..=8"));
        }
        if scales == ScaleFormat::Shared && stages != 1 {
            return Err(Error::InvalidParameter("shared scale needs exactly one stage"));
        }
        if !(0.0..=MAX_SCALE).contains(&shared_scale) {
            return Err(Error::InvalidParameter("shared scale must be in 0..=MAX_SCALE"));
        }
        Ok(BinaryCodec { dim, stages, scales, shared_scale, scan: ScanMode::Float, layout: None })
    }

    /// The same codec with a different shared scale (only meaningful for [`ScaleFormat::Shared`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s` is negative or not finite.
    pub fn with_shared_scale(self, s: f32) -> Result<Self> {
        Ok(BinaryCodec {
            scan: self.scan,
            layout: self.layout,
            ..BinaryCodec::new(self.dim, self.stages, self.scales, s)?
        })
    }

    /// The same codec preparing float queries ([`ScanMode::Float`]) in `layout` (scratch
    /// [`FloatLayout::words`]; scores are bit-identical in every layout). Not saved.
    pub fn with_float_layout(self, layout: FloatLayout) -> Self {
        BinaryCodec { layout: Some(layout), ..self }
    }

    /// The layout float queries are prepared in (the one set by
    /// [`with_float_layout`](Self::with_float_layout), else [`FloatLayout::Byte`] for
    /// `d ≤ 16,384` and [`FloatLayout::Nibble`] above).
    pub fn float_layout(&self) -> FloatLayout {
        self.layout.unwrap_or(FloatLayout::auto(self.plane_len()))
    }

    /// Number of residual stages `T`.
    pub fn stages(&self) -> usize {
        self.stages
    }

    /// How scales are stored.
    pub fn scale_format(&self) -> ScaleFormat {
        self.scales
    }

    /// The shared scale (used by [`ScaleFormat::Shared`] codecs).
    pub fn shared_scale(&self) -> f32 {
        self.shared_scale
    }

    /// Bytes of one bit plane, `⌈d/8⌉`.
    #[inline]
    pub fn plane_len(&self) -> usize {
        self.dim.div_ceil(8)
    }

    /// Bytes of the bit planes of one code, `T·⌈d/8⌉` (the scales follow them).
    #[inline]
    pub fn bits_len(&self) -> usize {
        self.stages * self.plane_len()
    }

    /// Mask of the valid bits of the last byte of a plane.
    #[inline]
    pub(crate) fn last_mask(&self) -> u8 {
        match self.dim % 8 {
            0 => 0xFF,
            r => (1u8 << r) - 1,
        }
    }

    /// Reads and validates the scales of `code` (length checked by the caller) into `out[..T]`.
    #[inline]
    pub(crate) fn read_scales(&self, code: &[u8], out: &mut [f32; MAX_STAGES]) -> Result<()> {
        match self.scales {
            ScaleFormat::Shared => {
                out[0] = self.shared_scale;
                Ok(())
            }
            ScaleFormat::F32 => {
                let raw = code
                    .get(self.bits_len()..)
                    .ok_or(Error::CodeLength { expected: self.code_len(), got: code.len() })?;
                let mut sum = 0.0f32;
                for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let a = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    sum += a;
                    if !(0.0..=MAX_SCALE).contains(&a) || sum > MAX_SCALE {
                        return Err(Error::Corrupt("binary code scale is negative, not finite or above MAX_SCALE"));
                    }
                    *o = a;
                }
                Ok(())
            }
        }
    }

    /// Checks that the padding bits of every plane of `code` are zero.
    #[inline]
    pub(crate) fn check_padding(&self, code: &[u8]) -> Result<()> {
        let mask = self.last_mask();
        if mask == 0xFF {
            return Ok(());
        }
        let nb = self.plane_len();
        for t in 0..self.stages {
            if code.get((t + 1) * nb - 1).is_some_and(|&b| b & !mask != 0) {
                return Err(Error::Corrupt("binary code has non-zero padding bits"));
            }
        }
        Ok(())
    }

    /// Validates a code and returns its scales.
    #[inline]
    pub(crate) fn code_scales(&self, code: &[u8]) -> Result<[f32; MAX_STAGES]> {
        check_code(self.code_len(), code.len())?;
        self.check_padding(code)?;
        let mut a = [0.0f32; MAX_STAGES];
        self.read_scales(code, &mut a)?;
        Ok(a)
    }

    /// `Σ_{i: bit i of plane = 1} v_i` for a plane of this codec and a `dim`-vector `v`.
    pub(crate) fn masked_sum(plane: &[u8], v: &[f32]) -> f32 {
        let mut s = 0.0f32;
        for (byte, chunk) in plane.iter().zip(v.chunks(8)) {
            let mut b = *byte;
            while b != 0 {
                let k = b.trailing_zeros() as usize;
                s += chunk.get(k).copied().unwrap_or(0.0);
                b &= b - 1;
            }
        }
        s
    }

    /// `⟨v, x̂⟩ = Σ_t α_t (2·Σ_{b_t=1} v_i − Σ v_i)` for a validated code (`vsum = Σ v_i`).
    pub(crate) fn residual_dot(&self, code: &[u8], scales: &[f32; MAX_STAGES], v: &[f32], vsum: f32) -> f32 {
        let nb = self.plane_len();
        let mut s = 0.0f32;
        for (t, plane) in code.chunks_exact(nb).take(self.stages).enumerate() {
            s += scales[t] * (2.0 * Self::masked_sum(plane, v) - vsum);
        }
        s
    }

    /// Hamming distance between the bit planes of two codes of this codec (all stages; scales
    /// ignored). For one-stage codes it ranks like the symmetric score, reversed.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if either code has the wrong length.
    pub fn hamming_codes(&self, a: &[u8], b: &[u8]) -> Result<u32> {
        check_code(self.code_len(), a.len())?;
        check_code(self.code_len(), b.len())?;
        let n = self.bits_len();
        Ok(crate::simd::hamming(&a[..n], &b[..n]) as u32)
    }

    /// `⟨x̂, ŷ⟩` between a code `a` of this codec and a code `b` of `other` (same dimension, any
    /// stage counts and scale formats): `Σ_t Σ_u α_t β_u (d − 2·popcount(b_t ⊕ c_u))` (`T·U`
    /// popcount passes). Exact on the reconstructions up to float rounding.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the dimensions differ; [`Error::CodeLength`] or
    /// [`Error::Corrupt`] (bad scale, non-zero padding bits) for either code.
    pub fn score_codes_with(&self, a: &[u8], other: &BinaryCodec, b: &[u8]) -> Result<f32> {
        check_dim(self.dim, other.dim)?;
        let sa = self.code_scales(a)?;
        let sb = other.code_scales(b)?;
        Ok(self.codes_dot(a, &sa, other, b, &sb))
    }

    /// `Σ_t Σ_u α_t β_u (d − 2·popcount(b_t ⊕ c_u))` for validated codes `a` (of this codec, scales
    /// `sa`) and `b` (of `other`, same dimension, scales `sb`).
    pub(crate) fn codes_dot(
        &self,
        a: &[u8],
        sa: &[f32; MAX_STAGES],
        other: &BinaryCodec,
        b: &[u8],
        sb: &[f32; MAX_STAGES],
    ) -> f32 {
        let nb = self.plane_len();
        let d = self.dim as f32;
        let mut s = 0.0f32;
        for (t, pa) in a.chunks_exact(nb).take(self.stages).enumerate() {
            for (u, pb) in b.chunks_exact(nb).take(other.stages).enumerate() {
                // A plane has at most `2^16` bits: the count fits `u32`, whose conversion is
                // cheaper than `u64`'s on 32-bit targets (same value, same rounding).
                let h = crate::simd::hamming(pa, pb) as u32 as f32;
                s += sa[t] * sb[u] * (d - 2.0 * h);
            }
        }
        s
    }

    /// This codec scoring in [`ScanMode::Bitsliced`] (4-bit query, bit-sliced popcounts):
    /// `self.with_scan(ScanMode::Bitsliced)`, which cannot fail.
    pub fn bitsliced(&self) -> BinaryCodec {
        BinaryCodec { scan: ScanMode::Bitsliced, ..*self }
    }
}

impl BinaryCodec {
    /// Serializes the parameters into a [`crate::format`] container of kind [`KIND`](super::KIND);
    /// the payload is the [`Persist`](crate::persist::Persist) fields: `u32 dim, u8 stages,
    /// u8 scale format (0 shared, 1 f32), f32 shared scale, u8 scan mode` (0 float, 1
    /// bit-sliced). A [`CenteredBinary`](super::CenteredBinary) writes its mean first (kind
    /// [`CENTRED_KIND`](super::CENTRED_KIND)).
    ///
    /// # Errors
    /// [`Error::Overflow`] if the payload does not fit the container.
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> Result<alloc::vec::Vec<u8>> {
        crate::persist::to_container(super::KIND, None, self)
    }

    /// Parses parameters written by [`to_bytes`](BinaryCodec::to_bytes). Total (every field is
    /// validated before use) and allocation-free.
    ///
    /// # Errors
    /// Container errors ([`Error::BadMagic`], [`Error::Checksum`], [`Error::Truncated`],
    /// [`Error::WrongKind`], …), [`Error::Corrupt`] for out-of-range fields or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, None)
    }
}

impl crate::persist::Persist for BinaryCodec {
    /// The fields of [`to_bytes`](BinaryCodec::to_bytes).
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32)
            .u8(self.stages as u8)
            .u8(match self.scales {
                ScaleFormat::Shared => 0,
                ScaleFormat::F32 => 1,
            })
            .f32(self.shared_scale)
            .u8(u8::from(self.scan == ScanMode::Bitsliced));
    }
    /// Reads the fields of [`to_bytes`](BinaryCodec::to_bytes), the dimension bounded by
    /// [`persist::MAX_DIM`](crate::persist::MAX_DIM); allocates nothing.
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let dim = r.count(MAX_DIM, "binary dim")?;
        let stages = usize::from(r.u8()?);
        let scales = match r.u8()? {
            0 => ScaleFormat::Shared,
            1 => ScaleFormat::F32,
            _ => return Err(Error::Corrupt("binary scale format")),
        };
        let shared = r.finite_f32("binary shared scale")?;
        let scan = match r.u8()? {
            0 => ScanMode::Float,
            1 => ScanMode::Bitsliced,
            _ => return Err(Error::Corrupt("binary scan mode")),
        };
        let c = BinaryCodec::new(dim, stages, scales, shared).map_err(Error::when_loading)?;
        c.with_scan(scan)
    }
}

#[cfg(feature = "alloc")]
impl BinaryCodec {
    /// Trains a codec on `data` (`n × dim`, row-major): for [`ScaleFormat::Shared`] the shared
    /// scale `s = mean |x_i|` over all training values (the L2-optimal single scale for sign
    /// codes). `config.centred` must be `false` (see [`train_centred`](Self::train_centred)).
    ///
    /// # Errors
    /// [`Error::NotEnoughData`] for no rows; [`Error::DimensionMismatch`] if `data.len()` is not a
    /// multiple of `dim`; [`Error::NonFinite`] on NaN/inf; [`Error::InvalidParameter`] for a
    /// centred configuration; as [`new`](BinaryCodec::new).
    pub fn train(data: &[f32], dim: usize, config: &BinaryConfig) -> Result<Self> {
        if config.centred {
            return Err(Error::InvalidParameter("a centred binary configuration is a CenteredBinary: train_centred"));
        }
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("dim must be in 1..=2^16"));
        }
        let n = crate::codec::batch_rows(data.len(), dim)?;
        if n == 0 {
            return Err(Error::NotEnoughData { needed: 1, got: 0 });
        }
        crate::error::check_finite(data)?;
        let mut abs = 0.0f64;
        for row in data.chunks_exact(dim) {
            abs += row.iter().map(|&v| f64::from(v.abs())).sum::<f64>();
        }
        let s = (abs / (n as f64 * dim as f64)) as f32;
        BinaryCodec::new(dim, config.stages, config.scales, if s.is_finite() { s } else { 0.0 })
    }

    /// Trains the centred codec of `config` (`config.centred` must be `true`):
    /// [`Centered::train_mean`](crate::compose::Centered::train_mean) (the mean `μ` of the rows, summed in `f64`) over a codec whose
    /// shared scale, for [`ScaleFormat::Shared`], is the mean `|x_i − μ_i|` over all training
    /// values (the L2-optimal single scale for the sign codes of the centred data).
    ///
    /// # Errors
    /// As [`train`](Self::train); [`Error::InvalidParameter`] for an uncentred configuration.
    pub fn train_centred(
        data: &[f32],
        dim: usize,
        config: &BinaryConfig,
    ) -> Result<super::CenteredBinary<alloc::vec::Vec<f32>>> {
        if !config.centred {
            return Err(Error::InvalidParameter("an uncentred binary configuration is a BinaryCodec: train"));
        }
        let inner = BinaryCodec::new(dim, config.stages, config.scales, 1.0)?;
        let mut c = crate::compose::Centered::train_mean(inner, data)?;
        let mut abs = 0.0f64;
        for row in data.chunks_exact(dim) {
            abs += row.iter().zip(c.mean()).map(|(&v, &m)| f64::from((v - m).abs())).sum::<f64>();
        }
        let s = (abs / ((data.len() / dim) as f64 * dim as f64)) as f32;
        c.inner = c.inner.with_shared_scale(if s.is_finite() { s } else { 0.0 })?;
        Ok(c)
    }
}

impl Codec for BinaryCodec {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        self.bits_len()
            + match self.scales {
                ScaleFormat::Shared => 0,
                ScaleFormat::F32 => 4 * self.stages,
            }
    }

    /// Encodes `x` (see the type docs). Needs no scratch: residuals are recomputed from `x`
    /// and the planes already written (`O(T²·d)` work, `T ≤ 8`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::CodeLength`], [`Error::NonFinite`] if `x` holds
    /// NaN/inf (or the residual overflows).
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let nb = self.plane_len();
        let d = self.dim;
        let (planes, _) = code.split_at_mut(self.bits_len());
        let mut scales = [0.0f32; MAX_STAGES];
        for t in 0..self.stages {
            // Residual r_{t−1,i} = x_i − Σ_{s<t} α_s·(2b_{s,i} − 1), recomputed from the planes
            // already written (no scratch buffer); |r| summed in 8 f64 lanes.
            let mut acc = [0.0f64; 8];
            for k in 0..nb {
                let lo = 8 * k;
                let n = (d - lo).min(8);
                let mut byte = 0u8;
                for (j, a) in acc.iter_mut().enumerate().take(n) {
                    let i = lo + j;
                    let mut r = x[i];
                    for (s, &al) in scales.iter().enumerate().take(t) {
                        // Branchless r −= α·(2b − 1) (exact: α·(±1) is α or −α).
                        let sgn = f32::from((planes[s * nb + k] >> j) & 1) * 2.0 - 1.0;
                        r -= al * sgn;
                    }
                    byte |= u8::from(r > 0.0) << j;
                    *a += f64::from(r.abs());
                }
                planes[t * nb + k] = byte;
            }
            scales[t] = match self.scales {
                ScaleFormat::Shared => self.shared_scale,
                ScaleFormat::F32 => {
                    let a = (acc.iter().sum::<f64>() / d as f64) as f32;
                    if !a.is_finite() {
                        return Err(Error::NonFinite);
                    }
                    a
                }
            };
        }
        if self.scales == ScaleFormat::F32 {
            let mut sum = 0.0f32;
            for &a in &scales[..self.stages] {
                sum += a;
            }
            if sum > MAX_SCALE {
                // The decoder refuses such scales (a reconstruction could overflow).
                return Err(Error::NonFinite);
            }
            let off = self.bits_len();
            for (c, a) in code[off..].chunks_exact_mut(4).zip(&scales) {
                c.copy_from_slice(&a.to_le_bytes());
            }
        }
        Ok(())
    }
}

impl Decode for BinaryCodec {
    /// `x̂ = Σ_t α_t·(2b_t − 1)`.
    ///
    /// # Errors
    /// [`Error::CodeLength`], [`Error::DimensionMismatch`]; [`Error::Corrupt`] for a negative or
    /// non-finite scale or non-zero padding bits.
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, out.len())?;
        let scales = self.code_scales(code)?;
        let nb = self.plane_len();
        for (i, o) in out.iter_mut().enumerate() {
            let mut v = 0.0f32;
            for (t, &a) in scales.iter().enumerate().take(self.stages) {
                let bit = code.get(t * nb + i / 8).is_some_and(|&b| (b >> (i % 8)) & 1 == 1);
                v += if bit { a } else { -a };
            }
            *o = v;
        }
        Ok(())
    }
}

/// Planes of at most this many bytes use a 256-entry table per byte by default; longer ones a
/// 16-entry table per nibble (keeps the scratch at `32·⌈d/8⌉` words for huge `d`).
const BYTE_LUT_MAX_BYTES: usize = 2048;

/// Words of the default subset-sum table that [`build_lut`] fills for `nb` sign bytes.
pub(crate) fn lut_len(nb: usize) -> usize {
    FloatLayout::auto(nb).words(nb)
}

/// The layout of a table of `len` words for `nb` plane bytes (`nb ≥ 1`; the three sizes differ).
#[inline(always)]
fn layout_of(len: usize, nb: usize) -> FloatLayout {
    if len == 256 * nb {
        FloatLayout::Byte
    } else if len == 32 * nb {
        FloatLayout::Nibble
    } else {
        FloatLayout::Direct
    }
}

/// [`BinaryCodec::lut_sum`] of four planes through one [`FloatLayout::Byte`] table, the four
/// sums interleaved (each with its own four accumulators in `lut_sum`'s order, so the same
/// bits): sixteen independent dependency chains instead of four.
#[inline]
fn lut_sum_byte4(lut: &[f32], planes: [&[u8]; 4]) -> [f32; 4] {
    let nb = planes[0].len();
    let full = nb / 4;
    let mut s = [[0.0f32; 4]; 4];
    for (g, t) in lut.chunks_exact(1024).take(full).enumerate() {
        for (acc, p) in s.iter_mut().zip(&planes) {
            let b = &p[4 * g..4 * g + 4];
            acc[0] += t[usize::from(b[0])];
            acc[1] += t[256 + usize::from(b[1])];
            acc[2] += t[512 + usize::from(b[2])];
            acc[3] += t[768 + usize::from(b[3])];
        }
    }
    let tail = &lut[1024 * full..];
    let mut out = [0.0f32; 4];
    for ((o, mut acc), p) in out.iter_mut().zip(s).zip(&planes) {
        for (&b, t) in p[4 * full..].iter().zip(tail.chunks_exact(256)) {
            acc[0] += t[usize::from(b)];
        }
        *o = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    out
}

/// Subset sums of the 4 values `q4` (missing ones count 0): `t[v] = t[v & (v − 1)] +
/// q4[trailing_zeros(v)]`, i.e. the set bits summed from the highest down.
#[inline(always)]
fn nibble_sums(q4: &[f32], t: &mut [f32]) {
    t[0] = 0.0;
    for v in 1usize..16 {
        let m = v.trailing_zeros() as usize;
        t[v] = t[v & (v - 1)] + q4.get(m).copied().unwrap_or(0.0);
    }
}

/// The partial sum of one plane byte `b` without a table, from the 8 query values `q8`:
/// `lo + hi` with each nibble sum accumulated from its highest bit down, starting at `0.0`,
/// exactly as [`nibble_sums`] builds it (an unset bit adds `+0.0`, which leaves every such
/// partial sum unchanged: it is never `−0.0`, since it starts at `+0.0` and round-to-nearest
/// sums are `−0.0` only when both terms are).
#[inline(always)]
fn byte_direct(q8: &[f32], b: u8) -> f32 {
    let q: [f32; 8] = q8.try_into().unwrap_or([0.0; 8]);
    let (mut lo, mut hi) = (0.0f32, 0.0f32);
    for k in (0..4).rev() {
        lo += if (b >> k) & 1 != 0 { q[k] } else { 0.0 };
        hi += if (b >> (k + 4)) & 1 != 0 { q[k + 4] } else { 0.0 };
    }
    lo + hi
}

/// Fills `lut` with the table of `q` for `nb` sign bytes in the layout its length selects
/// ([`FloatLayout::words`]); [`BinaryCodec::lut_sum`] reads it. Byte `j`'s partial sum for a
/// byte value `b` is `lo(b & 15) + hi(b >> 4)` (nibble sums of [`nibble_sums`] over coordinates
/// `8j..8j+4` and `8j+4..8j+8`, coordinates past `q` count 0) in every layout: the byte table
/// stores that sum, the nibble table its two terms, the direct layout the query itself.
pub(crate) fn build_lut(q: &[f32], nb: usize, lut: &mut [f32]) {
    if crate::simd::portable::ROLLED {
        return build_lut_rolled(q, nb, lut);
    }
    let at = |g: usize| q.get(g.min(q.len())..).unwrap_or(&[]);
    match layout_of(lut.len(), nb) {
        FloatLayout::Byte => {
            let (mut lo, mut hi) = ([0f32; 16], [0f32; 16]);
            for (j, t) in lut.chunks_exact_mut(256).enumerate() {
                nibble_sums(at(8 * j), &mut lo);
                nibble_sums(at(8 * j + 4), &mut hi);
                for (v, e) in t.iter_mut().enumerate() {
                    *e = lo[v & 15] + hi[v >> 4];
                }
            }
        }
        FloatLayout::Nibble => {
            for (j, t) in lut.chunks_exact_mut(32).enumerate() {
                let (lo, hi) = t.split_at_mut(16);
                nibble_sums(at(8 * j), lo);
                nibble_sums(at(8 * j + 4), hi);
            }
        }
        FloatLayout::Direct => {
            let n = q.len().min(lut.len());
            lut[..n].copy_from_slice(&q[..n]);
            lut[n..].fill(0.0);
        }
    }
}

/// `Σ v_i` in `f32`: element `i` into accumulator `i mod 4`, then `(s0 + s1) + (s2 + s3)`. The
/// same bits on every target and backend, without `f64` (soft-float on Cortex-M): the `Σ q_i`
/// of a float query and the `Σ μ_i` of a centred codec's mean.
pub(crate) fn sum_f32(v: &[f32]) -> f32 {
    let mut s = [0.0f32; 4];
    for (i, &x) in v.iter().enumerate() {
        s[i % 4] += x;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// [`build_lut`] in less code, for targets without a vector unit
/// ([`crate::simd::portable::ROLLED`]): every entry is [`byte_direct`] of the byte's 8 query
/// values (zero past `q`) for the entry's bit pattern (the byte value; in the nibble layout the
/// low nibble, or the high nibble shifted up), which is the value [`nibble_sums`] builds, bit for
/// bit (see [`byte_direct`]).
fn build_lut_rolled(q: &[f32], nb: usize, lut: &mut [f32]) {
    let per = match layout_of(lut.len(), nb) {
        FloatLayout::Byte => 256,
        FloatLayout::Nibble => 32,
        FloatLayout::Direct => {
            let n = q.len().min(lut.len());
            lut[..n].copy_from_slice(&q[..n]);
            lut[n..].fill(0.0);
            return;
        }
    };
    for (j, t) in lut.chunks_exact_mut(per).enumerate() {
        let mut q8 = [0.0f32; 8];
        for (v, &x) in q8.iter_mut().zip(q.iter().skip(8 * j)) {
            *v = x;
        }
        if per == 256 {
            for (v, e) in t.iter_mut().enumerate() {
                *e = byte_direct(&q8, v as u8);
            }
        } else {
            for v in 0..16u8 {
                t[usize::from(v)] = byte_direct(&q8, v);
                t[16 + usize::from(v)] = byte_direct(&q8, v << 4);
            }
        }
    }
}

/// A float query prepared for [`BinaryCodec`]'s [`Score`] implementation: a table of partial
/// sums of `q` for every bit pattern of each plane byte (or nibble) and `Σ q_i`.
#[derive(Clone, Copy, Debug)]
pub struct FloatQuery<'s> {
    pub(crate) lut: &'s [f32],
    pub(crate) qsum: f32,
}

impl BinaryCodec {
    /// `Σ_{b_i = 1} q_i` for one plane through the table (any [`FloatLayout`], identical
    /// results): byte `j`'s partial sum goes to accumulator `j mod 4` for whole groups of four
    /// bytes, the tail bytes to accumulator 0, and the result is `(s0 + s1) + (s2 + s3)` (the
    /// same order in every layout's loop).
    #[inline]
    pub(crate) fn lut_sum(lut: &[f32], plane: &[u8]) -> f32 {
        if crate::simd::portable::ROLLED {
            return Self::lut_sum_rolled(lut, plane);
        }
        match layout_of(lut.len(), plane.len()) {
            FloatLayout::Byte => {
                let mut s = [0.0f32; 4];
                let mut bytes = plane.chunks_exact(4);
                let mut tables = lut.chunks_exact(1024);
                for (b, t) in (&mut bytes).zip(&mut tables) {
                    s[0] += t[usize::from(b[0])];
                    s[1] += t[256 + usize::from(b[1])];
                    s[2] += t[512 + usize::from(b[2])];
                    s[3] += t[768 + usize::from(b[3])];
                }
                for (&b, t) in bytes.remainder().iter().zip(tables.remainder().chunks_exact(256)) {
                    s[0] += t[usize::from(b)];
                }
                (s[0] + s[1]) + (s[2] + s[3])
            }
            FloatLayout::Nibble => {
                let nib = |t: &[f32], b: u8| t[usize::from(b & 15)] + t[16 + usize::from(b >> 4)];
                let mut s = [0.0f32; 4];
                let mut bytes = plane.chunks_exact(4);
                let mut tables = lut.chunks_exact(128);
                for (b, t) in (&mut bytes).zip(&mut tables) {
                    s[0] += nib(&t[..32], b[0]);
                    s[1] += nib(&t[32..64], b[1]);
                    s[2] += nib(&t[64..96], b[2]);
                    s[3] += nib(&t[96..], b[3]);
                }
                for (&b, t) in bytes.remainder().iter().zip(tables.remainder().chunks_exact(32)) {
                    s[0] += nib(t, b);
                }
                (s[0] + s[1]) + (s[2] + s[3])
            }
            FloatLayout::Direct => {
                let mut s = [0.0f32; 4];
                let mut bytes = plane.chunks_exact(4);
                let mut qs = lut.chunks_exact(32);
                for (b, q) in (&mut bytes).zip(&mut qs) {
                    s[0] += byte_direct(&q[..8], b[0]);
                    s[1] += byte_direct(&q[8..16], b[1]);
                    s[2] += byte_direct(&q[16..24], b[2]);
                    s[3] += byte_direct(&q[24..], b[3]);
                }
                for (&b, q) in bytes.remainder().iter().zip(qs.remainder().chunks_exact(8)) {
                    s[0] += byte_direct(q, b);
                }
                (s[0] + s[1]) + (s[2] + s[3])
            }
        }
    }

    /// [`lut_sum`](Self::lut_sum) as one rolled loop for every layout, for targets without a
    /// vector unit ([`crate::simd::portable::ROLLED`]): the same sums in the same order (byte `i`
    /// of the leading groups of four into accumulator `i mod 4`, the remaining bytes into
    /// accumulator 0, then `(s0 + s1) + (s2 + s3)`) in less code. Each byte's partial sum is
    /// [`byte_direct`] of its 8 query values, read from the table where the layout keeps them
    /// (the entries of the one-bit patterns: `0 + q_k`, which [`byte_direct`] adds like `q_k`,
    /// see there), the value every layout's entries hold for that byte.
    pub(crate) fn lut_sum_rolled(lut: &[f32], plane: &[u8]) -> f32 {
        /// Offsets of `q_0..q_7` of a byte in its table, per layout.
        const AT: [[u16; 8]; 3] =
            [[1, 2, 4, 8, 16, 32, 64, 128], [1, 2, 4, 8, 17, 18, 20, 24], [0, 1, 2, 3, 4, 5, 6, 7]];
        let (per, at) = match layout_of(lut.len(), plane.len()) {
            FloatLayout::Byte => (256, &AT[0]),
            FloatLayout::Nibble => (32, &AT[1]),
            FloatLayout::Direct => (8, &AT[2]),
        };
        let full = plane.len() / 4 * 4;
        let mut s = [0.0f32; 4];
        for (i, (&b, t)) in plane.iter().zip(lut.chunks_exact(per)).enumerate() {
            let mut q = [0.0f32; 8];
            for (v, &k) in q.iter_mut().zip(at) {
                *v = t.get(usize::from(k)).copied().unwrap_or(0.0);
            }
            s[if i < full { i % 4 } else { 0 }] += byte_direct(&q, b);
        }
        (s[0] + s[1]) + (s[2] + s[3])
    }

    /// Score of a code whose scales were validated.
    #[inline]
    pub(crate) fn float_score(&self, q: &FloatQuery<'_>, code: &[u8], scales: &[f32; MAX_STAGES]) -> f32 {
        let nb = self.plane_len();
        let mut s = 0.0f32;
        for (t, plane) in code.chunks_exact(nb).take(self.stages).enumerate() {
            s += scales[t] * (2.0 * Self::lut_sum(q.lut, plane) - q.qsum);
        }
        s
    }
}

/// A query prepared by [`BinaryCodec`]'s [`Score`] implementation, in the codec's
/// [`ScanMode`].
#[derive(Clone, Copy, Debug)]
pub enum BinaryQuery<'s> {
    /// [`ScanMode::Float`]: exact `⟨q, x̂⟩` through subset-sum tables.
    Float(FloatQuery<'s>),
    /// [`ScanMode::Bitsliced`]: a 4-bit query scored with bit-sliced popcounts.
    Bitsliced(super::BitslicedQuery<'s>),
}

impl BinaryQuery<'_> {
    /// The bit-sliced query, if the query was prepared in [`ScanMode::Bitsliced`].
    pub fn as_bitsliced(&self) -> Option<&super::BitslicedQuery<'_>> {
        match self {
            BinaryQuery::Bitsliced(b) => Some(b),
            BinaryQuery::Float(_) => None,
        }
    }
}

impl BinaryCodec {
    /// The float (subset-sum table) query of `q` in `scratch`, whatever the scan mode.
    fn prepare_float<'s>(&self, q: &[f32], scratch: &'s mut [f32]) -> Result<FloatQuery<'s>> {
        check_dim(self.dim, q.len())?;
        let need = self.float_layout().words(self.plane_len());
        check_scratch(need, scratch.len())?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let lut = &mut scratch[..need];
        build_lut(q, self.plane_len(), lut);
        let qsum = sum_f32(q);
        if !qsum.is_finite() {
            return Err(Error::NonFinite);
        }
        Ok(FloatQuery { lut, qsum })
    }

    /// [`Score::score_batch`] with an explicit popcount backend (used by
    /// [`ScanMode::Bitsliced`]; the float scan does not popcount).
    ///
    /// # Errors
    /// As [`Score::score_batch`]; [`Error::InvalidParameter`] if the CPU cannot run `backend`.
    pub fn score_batch_with(
        &self,
        backend: super::PopcntBackend,
        q: &BinaryQuery<'_>,
        codes: &[u8],
        out: &mut [f32],
    ) -> Result<()> {
        match q {
            BinaryQuery::Bitsliced(b) => self.score_batch_bitsliced(backend, b, codes, out),
            BinaryQuery::Float(f) => {
                let c = self.code_len();
                check_code(out.len().checked_mul(c).ok_or(Error::Overflow)?, codes.len())?;
                let nb = self.plane_len();
                let mut done = 0;
                if self.stages == 1 && !crate::simd::portable::ROLLED && layout_of(f.lut.len(), nb) == FloatLayout::Byte
                {
                    // Four codes at a time: sixteen independent sums instead of four.
                    for (cb, ob) in codes.chunks_exact(4 * c).zip(out.chunks_exact_mut(4)) {
                        let mut scale = [0.0f32; 4];
                        for (s, code) in scale.iter_mut().zip(cb.chunks_exact(c)) {
                            *s = self.code_scales(code)?[0];
                        }
                        let plane = |k: usize| &cb[k * c..k * c + nb];
                        let sums = lut_sum_byte4(f.lut, [plane(0), plane(1), plane(2), plane(3)]);
                        for ((o, &s), &sum) in ob.iter_mut().zip(&scale).zip(&sums) {
                            // `float_score` for one stage, the same operations.
                            *o = 0.0 + s * (2.0 * sum - f.qsum);
                        }
                        done += 4;
                    }
                }
                for (code, o) in codes[done * c..].chunks_exact(c).zip(out[done..].iter_mut()) {
                    let scales = self.code_scales(code)?;
                    *o = self.float_score(f, code, &scales);
                }
                Ok(())
            }
        }
    }
}

impl Score for BinaryCodec {
    type Query<'s>
        = BinaryQuery<'s>
    where
        Self: 's;

    /// [`ScanMode::Float`]: [`FloatLayout::words`] of the [`float_layout`](BinaryCodec::float_layout)
    /// (default `256·⌈d/8⌉` words for `d ≤ 16,384`, else `32·⌈d/8⌉`; `8·⌈d/8⌉` with
    /// [`FloatLayout::Direct`]). [`ScanMode::Bitsliced`]:
    /// `⌈d/8⌉` words (the 4 query planes, stored as bytes).
    fn query_scratch_len(&self) -> usize {
        match self.scan {
            ScanMode::Bitsliced => self.bitsliced_scratch_len(),
            _ => self.float_layout().words(self.plane_len()),
        }
    }

    /// [`Estimator::Reconstruction`] in [`ScanMode::Float`] (the score is `⟨q, x̂⟩`);
    /// [`Estimator::Biased`] in [`ScanMode::Bitsliced`] (exact for the 4-bit rounded query).
    fn estimator(&self) -> Estimator {
        match self.scan {
            ScanMode::Bitsliced => Estimator::Biased,
            _ => Estimator::Reconstruction,
        }
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<BinaryQuery<'s>> {
        match self.scan {
            ScanMode::Bitsliced => Ok(BinaryQuery::Bitsliced(self.prepare_bitsliced(q, scratch)?)),
            _ => Ok(BinaryQuery::Float(self.prepare_float(q, scratch)?)),
        }
    }

    fn score(&self, q: &BinaryQuery<'_>, code: &[u8]) -> Result<f32> {
        match q {
            BinaryQuery::Bitsliced(b) => self.score_bitsliced(b, code),
            BinaryQuery::Float(f) => {
                let scales = self.code_scales(code)?;
                Ok(self.float_score(f, code, &scales))
            }
        }
    }

    fn score_batch(&self, q: &BinaryQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.score_batch_with(super::PopcntBackend::detect(), q, codes, out)
    }
}

/// [`ScanMode::Float`] (exact `⟨q, x̂⟩`, the default) and [`ScanMode::Bitsliced`] (4-bit query,
/// bit-sliced popcounts). The mode is part of the saved parameters.
impl ScanModes for BinaryCodec {
    fn scan_mode(&self) -> ScanMode {
        self.scan
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        match mode {
            ScanMode::Float | ScanMode::Bitsliced => Ok(BinaryCodec { scan: mode, ..self }),
            ScanMode::I8 | ScanMode::I16 => {
                Err(Error::InvalidParameter("binary codes scan in Float or Bitsliced mode"))
            }
        }
    }
}

impl ScoreSymmetric for BinaryCodec {
    /// Exactly `⟨x̂, ŷ⟩` (see [`score_codes_with`](BinaryCodec::score_codes_with)).
    ///
    /// # Errors
    /// [`Error::CodeLength`]; [`Error::Corrupt`] for a bad scale or non-zero padding bits.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        self.score_codes_with(a, self, b)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod rolled_tests {
    use super::*;
    use crate::rng::Rng;

    /// The rolled table sums of targets without a vector unit equal the unrolled ones bit for
    /// bit, in every layout and for plane lengths around the groups of four.
    #[test]
    fn rolled_lut_sum_matches_unrolled() {
        let mut r = Rng::new(5);
        for nb in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 96] {
            let d = 8 * nb - if nb > 0 { r.below(8) as usize } else { 0 };
            // Some exact zeros of both signs (the one-bit table entries read `0 + q_k`).
            let q: alloc::vec::Vec<f32> = (0..d)
                .map(|_| match r.below(8) {
                    0 => 0.0,
                    1 => -0.0,
                    _ => r.gaussian() as f32,
                })
                .collect();
            for layout in [FloatLayout::Byte, FloatLayout::Nibble, FloatLayout::Direct] {
                let mut lut = alloc::vec![0f32; layout.words(nb)];
                build_lut(&q, nb, &mut lut);
                let mut rolled = alloc::vec![1f32; layout.words(nb)];
                build_lut_rolled(&q, nb, &mut rolled);
                let bits = |t: &[f32]| t.iter().map(|v| v.to_bits()).collect::<alloc::vec::Vec<_>>();
                assert_eq!(bits(&rolled), bits(&lut), "nb {nb} {layout:?}");
                for _ in 0..8 {
                    let plane: alloc::vec::Vec<u8> = (0..nb).map(|_| r.below(256) as u8).collect();
                    let want = BinaryCodec::lut_sum(&lut, &plane);
                    let got = BinaryCodec::lut_sum_rolled(&lut, &plane);
                    assert_eq!(got.to_bits(), want.to_bits(), "nb {nb} {layout:?}");
                }
            }
        }
    }
}
