//! Product quantization (SPECS §4): `M` sub-quantizers of `nbits ∈ 1..=16` bits, one k-means
//! codebook of `2^nbits` centroids per subspace of `d/M` coordinates.
//!
//! * **Codes** ([`ProductQuantizer`]): `⌈M·nbits/8⌉` bytes, index `m` at bit offset `m·nbits`,
//!   LSB-first little-endian (FAISS's `PQEncoderGeneric`). Padding bits of the last byte are
//!   written as 0 and ignored when read, so every code of the right length is valid.
//! * **Encode**: per subspace, the nearest centroid in squared L2 (ties to the lowest index).
//!   **Decode**: the concatenated centroids `x̂`.
//! * **ADC** (asymmetric scoring, [`Score`]): per query a float table `T[m][j]` of
//!   `⟨q_m, c_{m,j}⟩` ([`PqMetric::InnerProduct`]: the score is `⟨q, x̂⟩`) or of
//!   `‖q_m − c_{m,j}‖²` ([`PqMetric::L2`]: the score is `−‖q − x̂‖²`), summed over `m`. Both are
//!   exact on the reconstruction ([`Estimator::Reconstruction`]) up to float rounding. The
//!   native L2 table is what the factory uses for the L2 metric: it needs no stored norm (4
//!   bytes per vector less than [`WithNorm`](crate::metric::WithNorm)) and has no cancellation
//!   in `‖q‖² − 2⟨q, x̂⟩ + ‖x̂‖²`.
//! * **Quantized tables** ([`ScanMode::I8`]): the table is rounded to `u8` per row
//!   (`Tq = ⌊(T − min_m)·a + ½⌋`, `a = 255 / max_m span_m`, bias `Σ_m min_m`) and scores are
//!   `bias + (Σ_m Tq[m][c_m]) / a` from an exact integer sum ([`Estimator::Biased`]: at most
//!   `M/(2a)` from the float score), finished in `f32` as `bias + sum·(1/a)` (multiply, then
//!   add) with `bias` and `1/a` rounded to `f32` once per query. 4-bit codes are scanned with the fast-scan kernels
//!   ([`fastscan`]: 32 codes re-laid per block, `pshufb` lookups on AVX2 / AVX-512, a portable
//!   path with identical integers); other widths by integer table lookups.
//! * **SDC** ([`ScoreSymmetric`]): code against code, `⟨x̂, ŷ⟩` or `−‖x̂ − ŷ‖²`; FAISS's table of
//!   centroid distances is [`ProductQuantizer::sdc_table`].
//! * **Training** (feature `alloc`, as is [`ProductQuantizer`]): per subspace, [`mod@crate::train::kmeans`]
//!   with FAISS's defaults. [`opq`] adds the learned rotation (OPQ).
//!
//! * **Without an allocator** ([`PqView`], every build): a saved quantizer read in place from
//!   its bytes (flash), encoding, decoding and scoring with the float table in caller scratch —
//!   the same codes and the same float-ADC scores, bit for bit.
//!
//! Determinism: encoding and training use the lane-per-centroid kernels of [`crate::simd::pq`],
//! so the same data and seed give the same codebooks and codes on every backend.
//!
//! ```
//! use vector_codecs::pq::ProductQuantizer;
//! use vector_codecs::train::KMeansConfig;
//! use vector_codecs::{Codec, Decode, Score};
//! let (n, d) = (512, 8);
//! let data: Vec<f32> = (0..n * d).map(|i| ((i * 7919) % 1013) as f32 / 1013.0).collect();
//! let pq = ProductQuantizer::train(&data, d, 4, 4, &KMeansConfig::default()).unwrap();
//! assert_eq!(pq.code_len(), 2);
//! let mut code = vec![0u8; 2];
//! pq.encode_into(&data[..d], &mut code).unwrap();
//! let mut xhat = vec![0f32; d];
//! pq.decode_into(&code, &mut xhat).unwrap();
//! let mut scratch = pq.scratch();
//! let q = pq.prepare(&data[d..2 * d], &mut scratch).unwrap();
//! let ip: f32 = data[d..2 * d].iter().zip(&xhat).map(|(a, b)| a * b).sum();
//! assert!((pq.score(&q, &code).unwrap() - ip).abs() < 1e-4);
//! ```

#[cfg(feature = "alloc")]
use alloc::vec;
#[cfg(feature = "alloc")]
use alloc::vec::Vec;

#[cfg(feature = "alloc")]
use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, ScoreSymmetric, Symbols, check_scratch};
use crate::error::{Error, Result};
#[cfg(feature = "alloc")]
use crate::error::{check_code, check_dim};
#[cfg(feature = "alloc")]
use crate::format::{Reader, Writer};
use crate::persist::MAX_DIM;
#[cfg(feature = "alloc")]
use crate::persist::Persist;
#[cfg(feature = "alloc")]
use crate::simd::pq::{LANES, half_norms, nearest, nearest_batch, table, transpose_blocks};
#[cfg(feature = "alloc")]
use crate::train::{KMeansConfig, kmeans};

#[cfg(feature = "alloc")]
pub mod fastscan;
#[cfg(feature = "alloc")]
pub mod opq;
pub mod view;

pub use view::{PqView, PqViewQuery};

/// Container kind tag of a standalone saved [`ProductQuantizer`] ([`ProductQuantizer::to_bytes`]).
pub const KIND: u16 = 0x0800;

/// What a product quantizer's float score is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PqMetric {
    /// `⟨q, x̂⟩` from a table of sub-vector inner products.
    #[default]
    InnerProduct,
    /// `−‖q − x̂‖²` from a table of sub-vector squared distances.
    L2,
}

impl PqMetric {
    #[cfg(feature = "alloc")]
    fn tag(self) -> u8 {
        match self {
            PqMetric::InnerProduct => 0,
            PqMetric::L2 => 1,
        }
    }
}

/// A trained product quantizer (see the module docs).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct ProductQuantizer {
    dim: usize,
    m: usize,
    nbits: u32,
    dsub: usize,
    ksub: usize,
    /// `[m][ksub][dsub]`.
    centroids: Vec<f32>,
    /// Per subspace, the codebook in the blocked layout of [`crate::simd::pq`].
    blocks: Vec<f32>,
    /// `[m][ksub]` half squared centroid norms ([`crate::simd::pq::half_norms`]).
    half: Vec<f32>,
    /// Per subspace, the bound on the centroid norms ([`crate::simd::pq::half_norms`]).
    cmax: Vec<f64>,
    metric: PqMetric,
    scan: ScanMode,
}

/// A prepared query of [`ProductQuantizer`]: the float table and, in [`ScanMode::I8`], the
/// quantized table with its scale and bias.
#[cfg(feature = "alloc")]
#[derive(Debug)]
pub struct PqQuery<'s> {
    lut: &'s [f32],
    qlut: &'s [u8],
    a: f64,
    bias: f64,
    /// `±bias` and `±1/a` in `f32` (the sign of the metric folded in): the finish of integer sums.
    sb: f32,
    sa: f32,
}

#[cfg(feature = "alloc")]
impl PqQuery<'_> {
    /// The float table, `M` rows of `2^nbits` entries.
    pub fn table(&self) -> &[f32] {
        self.lut
    }
    /// The quantized table (rows padded to an even count for 4-bit codes); empty in
    /// [`ScanMode::Float`].
    pub fn quantized_table(&self) -> &[u8] {
        self.qlut
    }
    /// The scale `a` and bias `b` of the quantized table: `score ≈ b + Σ Tq / a`.
    pub fn scale_bias(&self) -> (f64, f64) {
        (self.a, self.bias)
    }
    /// The score of an integer table sum: `sb + (acc as f32)·sa` (multiply, then add; `acc`
    /// is below 2²⁴, so exact in `f32`), the same bits in every scan path and backend.
    #[inline]
    fn finish(&self, acc: u32) -> f32 {
        self.sb + (acc as f32) * self.sa
    }
}

/// Reads index `i` of `nbits` bits (LSB-first) from `code`; bytes past the end read as 0.
#[inline]
fn get_index(code: &[u8], i: usize, nbits: u32) -> usize {
    match nbits {
        8 => usize::from(code.get(i).copied().unwrap_or(0)),
        4 => usize::from(code.get(i / 2).map_or(0, |&b| if i.is_multiple_of(2) { b & 15 } else { b >> 4 })),
        _ => {
            let off = i * nbits as usize;
            let (byte, sh) = (off / 8, off % 8);
            let mut w = 0u32;
            for k in 0..3 {
                w |= u32::from(code.get(byte + k).copied().unwrap_or(0)) << (8 * k);
            }
            ((w >> sh) & ((1u32 << nbits) - 1)) as usize
        }
    }
}

/// Writes index `v` at position `i` (the code must be zeroed first).
#[inline]
fn put_index(code: &mut [u8], i: usize, nbits: u32, v: usize) {
    let off = i * nbits as usize;
    let (mut byte, mut sh) = (off / 8, off % 8);
    let mut v = v as u32;
    let mut left = nbits as usize;
    while left > 0 {
        let take = (8 - sh).min(left);
        if let Some(b) = code.get_mut(byte) {
            *b |= ((v & ((1u32 << take) - 1)) << sh) as u8;
        }
        v >>= take;
        left -= take;
        byte += 1;
        sh = 0;
    }
}

#[cfg(feature = "alloc")]
impl ProductQuantizer {
    /// Whether the search layout is the fast-scan block layout (4-bit codes, `I8` scan).
    fn fast_layout(&self) -> bool {
        self.nbits == 4 && self.scan == ScanMode::I8
    }

    /// A product quantizer of `m` subspaces and `nbits` bits with the given codebooks
    /// (`[m][2^nbits][dim/m]` floats), scoring in `metric`, float scan.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim` is 0 or above 65,536, `m == 0`, `dim % m != 0`,
    /// `nbits ∉ 1..=16`, or `centroids` has the wrong length; [`Error::NonFinite`] for NaN/inf
    /// centroids.
    pub fn new(dim: usize, m: usize, nbits: u32, centroids: Vec<f32>, metric: PqMetric) -> Result<Self> {
        check_shape(dim, m, nbits)?;
        let ksub = 1usize << nbits;
        if centroids.len() != ksub * dim {
            return Err(Error::InvalidParameter("PQ: centroids must hold 2^nbits · dim floats"));
        }
        if !centroids.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let dsub = dim / m;
        let per = ksub.div_ceil(LANES) * LANES * dsub;
        let mut blocks = vec![0f32; per * m];
        for (s, b) in blocks.chunks_exact_mut(per).enumerate() {
            transpose_blocks(&centroids[s * ksub * dsub..(s + 1) * ksub * dsub], ksub, dsub, b);
        }
        let mut half = vec![0f32; m * ksub];
        let cmax = (0..m)
            .map(|s| {
                let c = &centroids[s * ksub * dsub..(s + 1) * ksub * dsub];
                half_norms(c, ksub, dsub, &mut half[s * ksub..(s + 1) * ksub])
            })
            .collect();
        Ok(ProductQuantizer { dim, m, nbits, dsub, ksub, centroids, blocks, half, cmax, metric, scan: ScanMode::Float })
    }

    /// Trains `m` codebooks of `2^nbits` centroids on the row-major `data` (`n · dim` floats):
    /// k-means (`cfg`, FAISS defaults with [`KMeansConfig::default`]) on each subspace. Scores
    /// inner products; see [`with_metric`](Self::with_metric).
    ///
    /// # Errors
    /// As [`new`](Self::new); [`Error::NonFinite`] for NaN/inf data; [`Error::NotEnoughData`]
    /// with fewer than `2^nbits` rows; [`Error::DimensionMismatch`] if `data.len()` is not a
    /// multiple of `dim`.
    pub fn train(data: &[f32], dim: usize, m: usize, nbits: u32, cfg: &KMeansConfig) -> Result<Self> {
        Self::train_impl(data, dim, m, nbits, cfg, None)
    }

    /// Trains **one** codebook of `2^nbits` centroids shared by all `m` subspaces: k-means
    /// (`cfg`) on the `n·m` sub-vectors of the row-major `data` pooled together (SPECS §4's
    /// "shared dictionary"; plain VQ of fixed-length sub-vectors, the comparison of
    /// [`crate::ssvq`]). The result is an ordinary product quantizer whose `m` codebooks are
    /// equal, so codes, scores and saved bytes are those of any PQ.
    ///
    /// # Errors
    /// As [`train`](Self::train), with [`Error::NotEnoughData`] below `2^nbits` sub-vectors.
    pub fn train_shared(data: &[f32], dim: usize, m: usize, nbits: u32, cfg: &KMeansConfig) -> Result<Self> {
        check_shape(dim, m, nbits)?;
        crate::codec::batch_rows(data.len(), dim)?;
        if !data.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let (dsub, ksub) = (dim / m, 1usize << nbits);
        if data.len() / dsub < ksub {
            return Err(Error::NotEnoughData { needed: ksub, got: data.len() / dsub });
        }
        let km = kmeans(data, dsub, ksub, cfg, None, None)?;
        let mut centroids = Vec::with_capacity(ksub * dim);
        for _ in 0..m {
            centroids.extend_from_slice(&km.centroids);
        }
        Self::new(dim, m, nbits, centroids, PqMetric::InnerProduct)
    }

    /// Retrains from this quantizer's codebooks (a hot start, as FAISS's `Train_hot_start`) for
    /// `cfg.niter` iterations on `data`.
    ///
    /// # Errors
    /// As [`train`](Self::train).
    pub fn train_from(&self, data: &[f32], cfg: &KMeansConfig) -> Result<Self> {
        let mut pq = Self::train_impl(data, self.dim, self.m, self.nbits, cfg, Some(self))?;
        pq.metric = self.metric;
        pq.scan = self.scan;
        Ok(pq)
    }

    fn train_impl(
        data: &[f32],
        dim: usize,
        m: usize,
        nbits: u32,
        cfg: &KMeansConfig,
        init: Option<&ProductQuantizer>,
    ) -> Result<Self> {
        check_shape(dim, m, nbits)?;
        let n = crate::codec::batch_rows(data.len(), dim)?;
        if !data.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let (dsub, ksub) = (dim / m, 1usize << nbits);
        if n < ksub {
            return Err(Error::NotEnoughData { needed: ksub, got: n });
        }
        // k-means subsamples every subspace with the same seeded permutation: take those rows
        // once (the same points in the same order, so the same centroids), not per subspace.
        let owned;
        let (data, n) = match crate::train::subsample(n, ksub, cfg) {
            Some(idx) => {
                owned = crate::train::gather_rows(data, dim, &idx);
                (&owned[..], idx.len())
            }
            None => (data, n),
        };
        let mut centroids = Vec::with_capacity(ksub * dim);
        let mut sub = vec![0f32; n * dsub];
        for s in 0..m {
            for (row, out) in data.chunks_exact(dim).zip(sub.chunks_exact_mut(dsub)) {
                for (o, &v) in out.iter_mut().zip(&row[s * dsub..(s + 1) * dsub]) {
                    *o = v;
                }
            }
            let hot = init.map(|p| &p.centroids[s * ksub * dsub..(s + 1) * ksub * dsub]);
            let km = kmeans(&sub, dsub, ksub, cfg, None, hot)?;
            centroids.extend_from_slice(&km.centroids);
        }
        Self::new(dim, m, nbits, centroids, PqMetric::InnerProduct)
    }

    /// The same codebooks scoring in `metric`.
    pub fn with_metric(mut self, metric: PqMetric) -> Self {
        self.metric = metric;
        self
    }

    /// Number of sub-quantizers `M`.
    pub fn m(&self) -> usize {
        self.m
    }
    /// Bits per sub-quantizer index.
    pub fn nbits(&self) -> u32 {
        self.nbits
    }
    /// Subspace dimension `d/M`.
    pub fn dsub(&self) -> usize {
        self.dsub
    }
    /// Centroids per subspace, `2^nbits`.
    pub fn ksub(&self) -> usize {
        self.ksub
    }
    /// The codebooks, `[M][ksub][dsub]` row-major.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }
    /// What the float score is.
    pub fn metric(&self) -> PqMetric {
        self.metric
    }
    /// Bytes of shared parameters (the codebooks).
    pub fn param_bytes(&self) -> usize {
        4 * self.centroids.len()
    }

    /// Index of sub-quantizer `i` in `code` (no length check; bytes past the end read as 0).
    #[inline]
    pub fn index(&self, code: &[u8], i: usize) -> usize {
        get_index(code, i, self.nbits)
    }

    /// The nearest centroid of subspace `s` to `x` (`d_sub` floats) in squared L2, ties to the
    /// lowest index: what [`encode_into`](Codec::encode_into) writes for that subspace.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s ≥ M`; [`Error::DimensionMismatch`] if
    /// `x.len() != d_sub`; [`Error::NonFinite`] for NaN/inf.
    pub fn nearest_in(&self, s: usize, x: &[f32]) -> Result<usize> {
        if s >= self.m {
            return Err(Error::InvalidParameter("PQ: subspace index out of range"));
        }
        check_dim(self.dsub, x.len())?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        Ok(nearest(x, self.sub_blocks(s), self.ksub).0)
    }

    fn centroid(&self, s: usize, j: usize) -> &[f32] {
        let at = (s * self.ksub + j) * self.dsub;
        &self.centroids[at..at + self.dsub]
    }

    fn sub_blocks(&self, s: usize) -> &[f32] {
        let per = self.ksub.div_ceil(LANES) * LANES * self.dsub;
        &self.blocks[s * per..(s + 1) * per]
    }

    /// Writes the float table of `q` for this quantizer's metric into `out` (`M · 2^nbits`
    /// floats): `T[m][j] = ⟨q_m, c_{m,j}⟩` or `‖q_m − c_{m,j}‖²`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::BufferTooSmall`] if `out` is short;
    /// [`Error::NonFinite`] for a NaN/inf query.
    pub fn compute_table(&self, q: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.m * self.ksub, out.len())?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let ip = self.metric == PqMetric::InnerProduct;
        for s in 0..self.m {
            let qs = &q[s * self.dsub..(s + 1) * self.dsub];
            table(qs, self.sub_blocks(s), self.ksub, ip, &mut out[s * self.ksub..(s + 1) * self.ksub]);
        }
        Ok(())
    }

    /// FAISS's SDC table of subspace `s`: `ksub × ksub` squared distances `‖c_{s,i} − c_{s,j}‖²`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `s ≥ M`.
    pub fn sdc_table(&self, s: usize) -> Result<Vec<f32>> {
        if s >= self.m {
            return Err(Error::InvalidParameter("PQ: subspace index out of range"));
        }
        let mut t = vec![0f32; self.ksub * self.ksub];
        for i in 0..self.ksub {
            table(
                self.centroid(s, i),
                self.sub_blocks(s),
                self.ksub,
                false,
                &mut t[i * self.ksub..(i + 1) * self.ksub],
            );
        }
        Ok(t)
    }

    /// Rows of the quantized table: `M`, rounded up to even for 4-bit codes (the fast-scan pairs).
    fn qrows(&self) -> usize {
        if self.nbits == 4 { self.m.div_ceil(2) * 2 } else { self.m }
    }

    fn qlut_words(&self) -> usize {
        if self.scan == ScanMode::I8 { (self.qrows() * self.ksub).div_ceil(4) } else { 0 }
    }

    /// Mean squared reconstruction error `‖x − x̂‖²` per vector over the rows of `data`.
    ///
    /// # Errors
    /// As [`Codec::encode_into`].
    pub fn mse(&self, data: &[f32]) -> Result<f64> {
        crate::codec::mean_sq_error(self, data)
    }

    /// The `k` best of the first `n` vectors of a search layout ([`Score::to_layout`]) for the
    /// prepared query `q`, as `(id, score)` best first (ties towards the smaller id), re-ranked
    /// with factor `rerank` ([`crate::rerank::scan_layout_topk`]): in [`ScanMode::I8`] the
    /// `rerank·k` best fast-scan (`u8`-table) scores are re-scored with the float-table ADC
    /// ([`Score::score_exact`]) and the `k` best exact scores returned; `rerank ≤ 1` returns the
    /// scan's own top-k.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `k > 1024`; as [`crate::rerank::scan_layout_topk`].
    pub fn scan_layout_topk(
        &self,
        q: &PqQuery<'_>,
        layout: &[u8],
        n: usize,
        k: usize,
        rerank: usize,
    ) -> Result<Vec<(u32, f32)>> {
        if k > crate::dynamic::MAX_K {
            return Err(Error::InvalidParameter("PQ scan_layout_topk: k above 1024"));
        }
        let mut top = alloc::boxed::Box::new(crate::topk::TopK::<{ crate::dynamic::MAX_K }>::new(k));
        crate::rerank::scan_layout_topk(self, q, layout, n, rerank, &mut top)?;
        let mut out = vec![(0f32, 0u32); top.len()];
        let m = top.drain_sorted(&mut out);
        Ok(out[..m].iter().map(|&(s, i)| (i, s)).collect())
    }

    /// The quantizer's parameters in the crate's container (kind [`KIND`]).
    ///
    /// # Errors
    /// [`Error::Overflow`] above the container's 4 GiB.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(KIND, None, self)
    }

    /// Reads [`to_bytes`](Self::to_bytes) output, validating every field.
    ///
    /// # Errors
    /// The container's errors; [`Error::Corrupt`] for invalid fields or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, KIND, None)
    }

    fn score_float(&self, lut: &[f32], code: &[u8]) -> f32 {
        let k = self.ksub;
        let mut s = 0f32;
        match self.nbits {
            8 => {
                for (row, &c) in lut.chunks_exact(k).zip(code) {
                    s += row[usize::from(c)];
                }
            }
            _ => {
                for (i, row) in lut.chunks_exact(k).enumerate() {
                    s += row[get_index(code, i, self.nbits)];
                }
            }
        }
        self.sign(s)
    }

    #[inline]
    fn sign(&self, s: f32) -> f32 {
        if self.metric == PqMetric::L2 { -s } else { s }
    }

    fn score_int(&self, q: &PqQuery<'_>, code: &[u8]) -> f32 {
        let k = self.ksub;
        let mut acc = 0u32;
        if self.nbits == 8 {
            for (row, &c) in q.qlut.chunks_exact(k).zip(code) {
                acc += u32::from(row[usize::from(c)]);
            }
        } else {
            for i in 0..self.m {
                acc += u32::from(q.qlut[i * k + get_index(code, i, self.nbits)]);
            }
        }
        q.finish(acc)
    }
}

/// The saved fields before the centroids (`u32` dimension, `u32` M, `u8` nbits, `u8` metric
/// tag, `u8` scan tag), validated: the one header reader of the owned loader and [`PqView`].
/// Returns `(dim, M, nbits, metric, fast-scan mode)`.
///
/// # Errors
/// [`Error::Truncated`]; [`Error::Corrupt`] for an invalid shape or an unknown tag.
fn read_head(r: &mut crate::format::Reader<'_>) -> Result<(usize, usize, u32, PqMetric, bool)> {
    let dim = r.u32()? as usize;
    let m = r.u32()? as usize;
    let nbits = u32::from(r.u8()?);
    check_shape(dim, m, nbits).map_err(|_| Error::Corrupt("PQ: invalid dimension, M or nbits"))?;
    let metric = match r.u8()? {
        0 => PqMetric::InnerProduct,
        1 => PqMetric::L2,
        _ => return Err(Error::Corrupt("PQ: unknown metric tag")),
    };
    let i8 = match r.u8()? {
        0 => false,
        1 => true,
        _ => return Err(Error::Corrupt("PQ: unknown scan tag")),
    };
    Ok((dim, m, nbits, metric, i8))
}

fn check_shape(dim: usize, m: usize, nbits: u32) -> Result<()> {
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::InvalidParameter("PQ: dimension must be 1..=65536"));
    }
    if m == 0 || !dim.is_multiple_of(m) {
        return Err(Error::InvalidParameter("PQ: M must divide the dimension"));
    }
    if !(1..=16).contains(&nbits) {
        return Err(Error::InvalidParameter("PQ: nbits must be 1..=16"));
    }
    Ok(())
}

#[cfg(feature = "alloc")]
impl Codec for ProductQuantizer {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        (self.m * self.nbits as usize).div_ceil(8)
    }
    /// # Errors
    /// Also [`Error::NonFinite`] for NaN/inf input.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len(), code.len())?;
        if !x.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        code.fill(0);
        for s in 0..self.m {
            let (j, _) = nearest(&x[s * self.dsub..(s + 1) * self.dsub], self.sub_blocks(s), self.ksub);
            put_index(code, s, self.nbits, j);
        }
        Ok(())
    }

    /// Blocks of 64 rows, each subspace's nearest centroids found for the whole block with
    /// [`nearest_batch`] (the same codes as [`encode_into`](Codec::encode_into), bit for bit).
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim, self.code_len());
        let n = crate::codec::batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        if !xs.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        const ROWS: usize = 64;
        let mut idx = [0u32; ROWS];
        let (k, ds) = (self.ksub, self.dsub);
        for (xb, cb) in xs.chunks(ROWS * d).zip(codes.chunks_mut(ROWS * c)) {
            let cnt = xb.len() / d;
            cb.fill(0);
            for s in 0..self.m {
                let cents = &self.centroids[s * k * ds..(s + 1) * k * ds];
                let half = &self.half[s * k..(s + 1) * k];
                nearest_batch(
                    &xb[s * ds..],
                    d,
                    cnt,
                    ds,
                    cents,
                    self.sub_blocks(s),
                    half,
                    self.cmax[s],
                    k,
                    &mut idx[..cnt],
                    None,
                );
                if self.nbits == 8 {
                    for (t, &j) in idx[..cnt].iter().enumerate() {
                        cb[t * c + s] = j as u8;
                    }
                } else {
                    for (t, &j) in idx[..cnt].iter().enumerate() {
                        put_index(&mut cb[t * c..(t + 1) * c], s, self.nbits, j as usize);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl Decode for ProductQuantizer {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        for (s, o) in out.chunks_exact_mut(self.dsub).enumerate() {
            o.copy_from_slice(self.centroid(s, get_index(code, s, self.nbits)));
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl Score for ProductQuantizer {
    type Query<'s> = PqQuery<'s>;

    /// `M · 2^nbits` words for the float table, plus the quantized table in [`ScanMode::I8`].
    fn query_scratch_len(&self) -> usize {
        self.m * self.ksub + self.qlut_words()
    }
    fn estimator(&self) -> Estimator {
        if self.scan == ScanMode::I8 { Estimator::Biased } else { Estimator::Reconstruction }
    }
    /// The float table `T[m][j]` (and in [`ScanMode::I8`] its `u8` quantization, see
    /// [`fastscan::quantize_table`]).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::BufferTooSmall`]; [`Error::NonFinite`] for a
    /// non-finite query, when an ADC sum could leave the `f32` range (`Σ_m max_j |T[m][j]| >
    /// f32::MAX`), and in [`ScanMode::I8`] when the quantized estimate
    /// `b + s/a` could leave the `f32` range for some code (`|b| + 255·M/a > f32::MAX`: tables
    /// spanning ~1e38, which only hostile parameters reach).
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<PqQuery<'s>> {
        check_dim(self.dim, q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let (lut, rest) = scratch.split_at_mut(self.m * self.ksub);
        self.compute_table(q, lut)?;
        // Every ADC sum (one entry per row) is then a finite f32: `Σ_m max_j |T[m][j]| ≤ f32::MAX`.
        let mut reach = 0f64;
        for row in lut.chunks_exact(self.ksub) {
            reach +=
                row.iter().fold(0f64, |m, &v| if v.is_finite() { m.max(f64::from(v).abs()) } else { f64::INFINITY });
        }
        if !reach.is_finite() || reach > f64::from(f32::MAX) {
            return Err(Error::NonFinite);
        }
        if self.scan != ScanMode::I8 {
            return Ok(PqQuery { lut, qlut: &[], a: 0.0, bias: 0.0, sb: 0.0, sa: 0.0 });
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut rest[..self.qlut_words()]);
        let qlut = &mut bytes[..self.qrows() * self.ksub];
        let (a, bias) = fastscan::quantize_table(lut, self.ksub, qlut);
        let sign = if self.metric == PqMetric::L2 { -1.0 } else { 1.0 };
        let inv = if a > 0.0 { 1.0 / a } else { 0.0 };
        // Every fast-scan estimate `b + s/a` (integer `s ≤ 255·rows`) must be a finite f32.
        let reach = bias.abs() + 255.0 * self.qrows() as f64 * inv;
        if !reach.is_finite() || reach > f64::from(f32::MAX) {
            return Err(Error::NonFinite);
        }
        Ok(PqQuery { lut, qlut, a, bias, sb: sign * bias as f32, sa: sign * inv as f32 })
    }
    fn score(&self, q: &PqQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        Ok(if self.scan == ScanMode::I8 { self.score_int(q, code) } else { self.score_float(q.lut, code) })
    }
    /// The float-table ADC sum `Σ_m T[m][c_m]` (the [`ScanMode::Float`] score, exact on the
    /// reconstruction) in every scan mode: in `I8` mode the prepared query holds both tables,
    /// so a fast scan's candidates are re-scored exactly without preparing again.
    fn score_exact(&self, q: &PqQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        Ok(self.score_float(q.lut, code))
    }
    /// In the fast-scan layout, read from the blocks in place
    /// ([`fastscan::exact_score_block`]); otherwise code `i` of the codes.
    fn score_exact_layout(&self, q: &PqQuery<'_>, layout: &[u8], i: usize) -> Result<f32> {
        if self.fast_layout() {
            return fastscan::exact_score_block(self, q, layout, i);
        }
        let c = self.code_len();
        let (at, end) = i.checked_mul(c).and_then(|a| Some((a, a.checked_add(c)?))).ok_or(Error::Overflow)?;
        let code = layout.get(at..end).ok_or(Error::CodeLength { expected: end, got: layout.len() })?;
        self.score_exact(q, code)
    }
    /// 4-bit codes scored in `I8` mode: blocks of 32 codes in the fast-scan layout
    /// ([`fastscan::pack_blocks`]), `32·⌈M/2⌉` bytes; otherwise the codes themselves.
    fn layout_block(&self) -> (usize, usize) {
        if self.fast_layout() { (32, 32 * fastscan::pairs(self.m)) } else { (1, self.code_len()) }
    }

    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> Result<()> {
        let c = self.code_len();
        let n = codes.len() / c;
        check_code(n * c, codes.len())?;
        check_code(crate::codec::layout_len(self.layout_block(), n)?, out.len())?;
        if !self.fast_layout() {
            out.copy_from_slice(codes);
            return Ok(());
        }
        for (blk, o) in codes.chunks(32 * c).zip(out.chunks_exact_mut(32 * c)) {
            fastscan::relayout_block(blk, c, o);
        }
        Ok(())
    }

    /// The fast-scan kernel straight on the blocks ([`fastscan::scan_blocks`]): no re-layout
    /// per scan.
    fn score_layout(&self, q: &PqQuery<'_>, layout: &[u8], out: &mut [f32]) -> Result<()> {
        if !self.fast_layout() {
            let len = out.len() * self.code_len();
            let codes = layout.get(..len).ok_or(Error::CodeLength { expected: len, got: layout.len() })?;
            return self.score_batch(q, codes, out);
        }
        fastscan::scan_blocks(self, q, layout, out)
    }

    /// 4-bit codes in `I8` mode: [`fastscan::scan_blocks_multi`], each block of codes read once
    /// per group of 4 queries (the same bits as [`score_layout`](Score::score_layout) per
    /// query); otherwise one query at a time.
    fn score_layout_many(&self, qs: &[&PqQuery<'_>], layout: &[u8], n: usize, out: &mut [f32]) -> Result<()> {
        if self.fast_layout() {
            return fastscan::scan_blocks_multi(self, qs, layout, n, out);
        }
        if Some(out.len()) != qs.len().checked_mul(n) {
            return Err(Error::BufferTooSmall { needed: qs.len().saturating_mul(n), got: out.len() });
        }
        for (q, o) in qs.iter().zip(out.chunks_exact_mut(n.max(1))) {
            self.score_layout(q, layout, o)?;
        }
        Ok(())
    }

    /// Float mode: each code summed in `m` order (the same bits as [`score`](Score::score));
    /// 8-bit codes with [`crate::simd::pq::adc_scan_u8`], others inline; four codes at a time. `I8` mode: the fast-scan kernel for 4-bit codes, integer
    /// lookups otherwise; the same values as `score`.
    fn score_batch(&self, q: &PqQuery<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = self.code_len();
        check_code(out.len() * c, codes.len())?;
        if self.scan == ScanMode::I8 {
            if self.nbits == 4 {
                fastscan::scan_flat(self, q, codes, out);
                return Ok(());
            }
            if self.nbits == 8 {
                crate::simd::pq::adc_scan_u8_int(q.qlut, self.m, codes, q.sb, q.sa, out);
                return Ok(());
            }
            for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
                *o = self.score_int(q, code);
            }
            return Ok(());
        }
        if self.nbits == 8 {
            crate::simd::pq::adc_scan_u8(q.lut, self.m, codes, self.metric == PqMetric::L2, out);
            return Ok(());
        }
        if self.nbits == 4 {
            let k = self.ksub;
            let nib = self.nbits == 4;
            let mut oc = out.chunks_exact_mut(4);
            let mut cc = codes.chunks_exact(4 * c);
            for (o, cs) in (&mut oc).zip(&mut cc) {
                let mut s = [0f32; 4];
                if nib {
                    for (i, rows) in q.lut.chunks(2 * k).enumerate() {
                        let (r0, r1) = rows.split_at(k.min(rows.len()));
                        for (l, sl) in s.iter_mut().enumerate() {
                            let b = cs[l * c + i];
                            *sl += r0[usize::from(b & 15)];
                            if !r1.is_empty() {
                                *sl += r1[usize::from(b >> 4)];
                            }
                        }
                    }
                } else {
                    for (i, row) in q.lut.chunks_exact(k).enumerate() {
                        for (l, sl) in s.iter_mut().enumerate() {
                            *sl += row[usize::from(cs[l * c + i])];
                        }
                    }
                }
                for (oo, v) in o.iter_mut().zip(s) {
                    *oo = self.sign(v);
                }
            }
            for (code, o) in cc.remainder().chunks_exact(c).zip(oc.into_remainder()) {
                *o = self.score_float(q.lut, code);
            }
            return Ok(());
        }
        for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
            *o = self.score_float(q.lut, code);
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl ScoreSymmetric for ProductQuantizer {
    /// `⟨x̂, ŷ⟩` ([`PqMetric::InnerProduct`]) or `−‖x̂ − ŷ‖²` ([`PqMetric::L2`]), summed in
    /// coordinate order.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        check_code(self.code_len(), a.len())?;
        check_code(self.code_len(), b.len())?;
        let mut s = 0f32;
        for sq in 0..self.m {
            let (ca, cb) =
                (self.centroid(sq, get_index(a, sq, self.nbits)), self.centroid(sq, get_index(b, sq, self.nbits)));
            for (&x, &y) in ca.iter().zip(cb) {
                s += if self.metric == PqMetric::L2 { (x - y) * (x - y) } else { x * y };
            }
        }
        Ok(self.sign(s))
    }
}

/// The `M` indices as symbols (alphabet `2^nbits`), no side bytes: entropy coders can make PQ
/// codes variable-rate.
#[cfg(feature = "alloc")]
impl Symbols for ProductQuantizer {
    fn symbols_per_vector(&self) -> usize {
        self.m
    }
    fn alphabet_size(&self) -> u32 {
        self.ksub as u32
    }
    fn side_len(&self) -> usize {
        0
    }
    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_scratch(self.m, symbols.len())?;
        let _ = side;
        for (i, s) in symbols.iter_mut().take(self.m).enumerate() {
            *s = get_index(code, i, self.nbits) as u16;
        }
        Ok(())
    }
    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_scratch(self.m, symbols.len())?;
        let _ = side;
        if symbols[..self.m].iter().any(|&s| usize::from(s) >= self.ksub) {
            return Err(Error::Corrupt("PQ: symbol above 2^nbits"));
        }
        code.fill(0);
        for (i, &s) in symbols[..self.m].iter().enumerate() {
            put_index(code, i, self.nbits, usize::from(s));
        }
        Ok(())
    }
}

#[cfg(feature = "alloc")]
impl ScanModes for ProductQuantizer {
    fn scan_mode(&self) -> ScanMode {
        self.scan
    }
    /// [`ScanMode::Float`] and [`ScanMode::I8`] (quantized tables; fast scan for 4-bit codes).
    fn with_scan(mut self, mode: ScanMode) -> Result<Self> {
        match mode {
            ScanMode::Float | ScanMode::I8 => {
                self.scan = mode;
                Ok(self)
            }
            _ => Err(Error::InvalidParameter("PQ scans in Float or I8 mode")),
        }
    }
}

/// Fields: `u32` dim, `u32` M, `u8` nbits, `u8` metric (0 IP, 1 L2), `u8` scan (0 float, 1 i8),
/// then the `2^nbits · dim` centroids as `f32`.
#[cfg(feature = "alloc")]
impl Persist for ProductQuantizer {
    fn persist(&self, w: &mut Writer) {
        let scan = u8::from(self.scan == ScanMode::I8);
        w.u32(self.dim as u32).u32(self.m as u32).u8(self.nbits as u8).u8(self.metric.tag()).u8(scan);
        w.f32s(&self.centroids);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let (dim, m, nbits, metric, i8) = read_head(r)?;
        let scan = if i8 { ScanMode::I8 } else { ScanMode::Float };
        let n = (1usize << nbits).checked_mul(dim).ok_or(Error::Corrupt("PQ: codebook size"))?;
        let c = r.finite_f32_vec(n, "PQ: non-finite centroid")?;
        let mut pq = Self::new(dim, m, nbits, c, metric)?;
        pq.scan = scan;
        Ok(pq)
    }
}
