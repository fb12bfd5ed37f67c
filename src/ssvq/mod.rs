//! Sign-split vector quantization (SSVQ, arXiv 2503.08668; SPECS §6): `x = s ⊙ |x|`, one sign
//! bit per coordinate plus a shared k-means codebook of **all-non-negative** sub-vectors of the
//! magnitudes.
//!
//! * **Parameters** ([`SignSplitVq`]): the dimension `d`, the sub-vector length `d_s ∈ 2..=8`
//!   (dividing `d`; `M = d/d_s` sub-vectors per vector), and one codebook `C ∈ ℝ₊^{k×d_s}` of
//!   `k = 2^nbits` centroids (`nbits ∈ 1..=12`) shared by all `M` sub-vectors.
//! * **Code** (`⌈d/8⌉ + ⌈M·nbits/8⌉` bytes): first the `d` sign bits (bit `i` is 1 iff
//!   `x_i > 0`, SPECS' convention, LSB-first), then the `M` centroid indices of `nbits` bits each
//!   (index `m` at bit offset `m·nbits`, LSB-first). Padding bits are written as 0 and ignored
//!   when read, so every code of the right length is valid.
//!   **Bits per dimension** `1 + nbits/d_s` (+ padding of the two byte-aligned parts); the shared
//!   codebook (`32·k·d_s` bits as stored, `16·k·d_s` in the paper's count) is amortised over the
//!   collection and reported by [`SignSplitVq::param_bytes`].
//! * **Encode**: the signs, then per sub-vector `idx = argmin_j ‖|x_m| − c_j‖²` (ties to the lowest
//!   index). With the signs fixed this is the nearest reconstruction: `‖x_m − s_m ⊙ c_j‖² =
//!   ‖|x_m| − c_j‖²`. **Decode**: `x̂_m = s_m ⊙ c_{idx_m}` (a zero coordinate has sign bit 0 and
//!   decodes to `−c`, which is its nearest point given that bit).
//! * **Score** ([`Estimator::Reconstruction`], `⟨q, x̂⟩` up to float rounding): the sign-aware
//!   table of SPECS §6, `T[m][p][j] = ⟨q_m ⊙ σ_p, c_j⟩` over the sign patterns `p`, split into
//!   chunks of at most 4 coordinates so that it holds `Σ_chunks 2^len · k` floats per sub-vector
//!   (16·k for `d_s ≤ 4`, 32·k for `d_s ≤ 8`): a score is one lookup per chunk, no float decode.
//!   Each entry is built from the all-negative pattern by adding `2·q_i·c_{j,i}` per set bit.
//! * **Training** (`train`, feature `alloc` as the whole module): k-means (SPECS §3,
//!   [`mod@crate::train::kmeans`]) on the `n·M` magnitude sub-vectors `|x_m|`, one codebook for all
//!   positions. Centroids are means of non-negative points, hence non-negative.
//!
//! The plain-VQ comparison of the paper (k-means on the signed sub-vectors, same bits) is a
//! product quantizer with one shared codebook: [`crate::pq::ProductQuantizer::train_shared`].
//!
//! ```
//! use vector_codecs::ssvq::SignSplitVq;
//! use vector_codecs::train::KMeansConfig;
//! use vector_codecs::{Codec, Decode, Score};
//! let (n, d) = (256, 8);
//! let data: Vec<f32> = (0..n * d).map(|i| ((i * 7919) % 1013) as f32 / 506.0 - 1.0).collect();
//! let vq = SignSplitVq::train(&data, d, 4, 4, &KMeansConfig::default()).unwrap();
//! assert_eq!(vq.code_len(), 2); // 8 sign bits + 2 indices of 4 bits
//! let mut code = vec![0u8; vq.code_len()];
//! vq.encode_into(&data[..d], &mut code).unwrap();
//! let mut xhat = vec![0f32; d];
//! vq.decode_into(&code, &mut xhat).unwrap();
//! assert!(xhat.iter().zip(&data[..d]).all(|(a, b)| a * b >= 0.0)); // signs kept
//! let mut scratch = vq.scratch();
//! let q = vq.prepare(&data[d..2 * d], &mut scratch).unwrap();
//! let ip: f32 = data[d..2 * d].iter().zip(&xhat).map(|(a, b)| a * b).sum();
//! assert!((vq.score(&q, &code).unwrap() - ip).abs() < 1e-4);
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::codec::{Codec, Decode, Estimator, Score, ScoreSymmetric, Symbols, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};
use crate::format::{Reader, Writer};
use crate::persist::{MAX_DIM, Persist};
use crate::simd::pq::{LANES, nearest, transpose_blocks};
use crate::train::{KMeansConfig, kmeans};

/// Container kind tag of a standalone saved [`SignSplitVq`] ([`SignSplitVq::to_bytes`]).
pub const KIND: u16 = 0x0A00;

/// Largest index width of [`SignSplitVq`] (`k ≤ 4096` centroids), which bounds the sign-aware
/// table at `8·d·4096` floats.
pub const MAX_NBITS: u32 = 12;

/// Sub-vector lengths [`SignSplitVq`] accepts.
pub const SUB_DIMS: core::ops::RangeInclusive<usize> = 2..=8;

/// Coordinates per chunk of the sign-aware table.
const CHUNK: usize = 4;

/// A trained sign-split vector quantizer (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct SignSplitVq {
    dim: usize,
    ds: usize,
    nbits: u32,
    k: usize,
    /// `[k][ds]`, all `≥ 0`.
    centroids: Vec<f32>,
    /// The codebook in the blocked layout of [`crate::simd::pq`].
    blocks: Vec<f32>,
}

/// A prepared query of [`SignSplitVq`]: the sign-aware table.
#[derive(Debug)]
pub struct SsvqQuery<'s> {
    lut: &'s [f32],
}

impl SsvqQuery<'_> {
    /// The table: per sub-vector, per chunk of ≤ 4 coordinates, `2^len` sign patterns × `k`
    /// centroids (`T[p][j] = Σ_i ±q_i c_{j,i}`, `+` where bit `i` of `p` is set).
    pub fn table(&self) -> &[f32] {
        self.lut
    }
}

fn check_shape(dim: usize, ds: usize, nbits: u32) -> Result<()> {
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::InvalidParameter("SSVQ: dimension must be 1..=65536"));
    }
    if !SUB_DIMS.contains(&ds) || !dim.is_multiple_of(ds) {
        return Err(Error::InvalidParameter("SSVQ: sub-vector length must be 2..=8 and divide the dimension"));
    }
    if !(1..=MAX_NBITS).contains(&nbits) {
        return Err(Error::InvalidParameter("SSVQ: nbits must be 1..=12"));
    }
    Ok(())
}

/// Table floats per sub-vector: `Σ_chunks 2^len · k`.
fn table_per_sub(ds: usize, k: usize) -> usize {
    let mut t = 0;
    let mut at = 0;
    while at < ds {
        let len = CHUNK.min(ds - at);
        t += (1usize << len) * k;
        at += len;
    }
    t
}

/// Sequential LSB-first reader of fields of at most 16 bits (bytes past the end read as 0).
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
    acc: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Bits { bytes, at: 0, acc: 0, n: 0 }
    }
    #[inline]
    fn take(&mut self, width: u32) -> u32 {
        while self.n < width {
            self.acc |= u64::from(self.bytes.get(self.at).copied().unwrap_or(0)) << self.n;
            self.at += 1;
            self.n += 8;
        }
        let v = (self.acc & ((1u64 << width) - 1)) as u32;
        self.acc >>= width;
        self.n -= width;
        v
    }
}

impl SignSplitVq {
    /// A quantizer for `dim`-vectors with sub-vectors of `ds` coordinates and the codebook
    /// `centroids` (`2^nbits · ds` non-negative floats, row-major).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=65536`, `ds ∉ 2..=8`, `ds ∤ dim`,
    /// `nbits ∉ 1..=12`, the codebook has the wrong length or a negative centroid coordinate;
    /// [`Error::NonFinite`] for NaN/inf centroids.
    pub fn new(dim: usize, ds: usize, nbits: u32, centroids: Vec<f32>) -> Result<Self> {
        check_shape(dim, ds, nbits)?;
        let k = 1usize << nbits;
        if centroids.len() != k * ds {
            return Err(Error::InvalidParameter("SSVQ: centroids must hold 2^nbits · ds floats"));
        }
        if !centroids.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        if centroids.iter().any(|&v| v < 0.0) {
            return Err(Error::InvalidParameter("SSVQ: centroids must be non-negative"));
        }
        let mut blocks = vec![0f32; k.div_ceil(LANES) * LANES * ds];
        transpose_blocks(&centroids, k, ds, &mut blocks);
        Ok(SignSplitVq { dim, ds, nbits, k, centroids, blocks })
    }

    /// Trains the shared codebook of `2^nbits` centroids on the magnitudes of the row-major
    /// `data` (`n · dim` floats): k-means (`cfg`) on the `n · dim/ds` sub-vectors `|x_m|`.
    ///
    /// # Errors
    /// As [`new`](Self::new); [`Error::NonFinite`] for NaN/inf data; [`Error::NotEnoughData`]
    /// with fewer than `2^nbits` sub-vectors; [`Error::DimensionMismatch`] if `data.len()` is
    /// not a multiple of `dim`.
    pub fn train(data: &[f32], dim: usize, ds: usize, nbits: u32, cfg: &KMeansConfig) -> Result<Self> {
        check_shape(dim, ds, nbits)?;
        crate::codec::batch_rows(data.len(), dim)?;
        if !data.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let k = 1usize << nbits;
        let npts = data.len() / ds;
        if npts < k {
            return Err(Error::NotEnoughData { needed: k, got: npts });
        }
        let mags: Vec<f32> = data.iter().map(|v| v.abs()).collect();
        let km = kmeans(&mags, ds, k, cfg, None, None)?;
        // Means of non-negative points are non-negative; clamp the −0.0/rounding corner anyway.
        let c = km.centroids.iter().map(|&v| v.max(0.0)).collect();
        Self::new(dim, ds, nbits, c)
    }

    /// Sub-vector length `d_s`.
    pub fn ds(&self) -> usize {
        self.ds
    }
    /// Sub-vectors per vector, `M = d / d_s`.
    pub fn m(&self) -> usize {
        self.dim / self.ds
    }
    /// Bits per centroid index.
    pub fn nbits(&self) -> u32 {
        self.nbits
    }
    /// Centroids `k = 2^nbits`.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The shared codebook, `[k][d_s]` row-major, every value `≥ 0`.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }
    /// Bytes of shared parameters (the codebook as stored, `f32`).
    pub fn param_bytes(&self) -> usize {
        4 * self.centroids.len()
    }
    /// Bytes of sign bits at the front of each code, `⌈d/8⌉`.
    pub fn sign_len(&self) -> usize {
        self.dim.div_ceil(8)
    }
    /// Index of sub-vector `m` in `code` (no length check; out of range reads as 0).
    #[inline]
    pub fn index(&self, code: &[u8], m: usize) -> usize {
        let idx = code.get(self.sign_len()..).unwrap_or(&[]);
        usize::from(crate::bits::get(idx, m, self.nbits).unwrap_or(0))
    }
    /// The `d_s` sign bits of sub-vector `m` (bit `i` set iff coordinate `m·d_s + i` is positive).
    #[inline]
    pub fn signs(&self, code: &[u8], m: usize) -> u32 {
        u32::from(crate::bits::get(code, m, self.ds as u32).unwrap_or(0))
    }

    fn centroid(&self, j: usize) -> &[f32] {
        &self.centroids[j * self.ds..(j + 1) * self.ds]
    }

    /// Quantizes one sub-vector `x` (`d_s` floats, finite): its sign bits and centroid index.
    #[inline]
    pub fn quantize_sub(&self, x: &[f32]) -> (u32, usize) {
        let mut mag = [0f32; 8];
        let mut s = 0u32;
        for (i, (&v, m)) in x.iter().zip(mag.iter_mut()).enumerate() {
            if v > 0.0 {
                s |= 1 << i;
            }
            *m = v.abs();
        }
        (s, nearest(&mag[..x.len()], &self.blocks, self.k).0)
    }

    /// Writes `s ⊙ c_j` for sign bits `s` into `out` (`d_s` floats).
    #[inline]
    pub fn reconstruct_sub(&self, s: u32, j: usize, out: &mut [f32]) {
        for (i, (o, &c)) in out.iter_mut().zip(self.centroid(j)).enumerate() {
            *o = if s >> i & 1 == 1 { c } else { -c };
        }
    }

    /// Writes the sign-aware table of `q` into `out` ([`query_scratch_len`](Score::query_scratch_len)
    /// floats; layout in [`SsvqQuery::table`]).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::BufferTooSmall`]; [`Error::NonFinite`].
    pub fn compute_table(&self, q: &[f32], out: &mut [f32]) -> Result<()> {
        check_dim(self.dim, q.len())?;
        let per = table_per_sub(self.ds, self.k);
        check_scratch(self.m() * per, out.len())?;
        if !q.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite);
        }
        for (m, t) in out.chunks_exact_mut(per).take(self.m()).enumerate() {
            let qm = &q[m * self.ds..(m + 1) * self.ds];
            let mut at = 0;
            let mut off = 0;
            while at < self.ds {
                let len = CHUNK.min(self.ds - at);
                let np = 1usize << len;
                let tc = &mut t[off..off + np * self.k];
                for j in 0..self.k {
                    let c = &self.centroid(j)[at..at + len];
                    let mut prod = [0f32; CHUNK];
                    let mut base = 0f32;
                    for i in 0..len {
                        prod[i] = qm[at + i] * c[i];
                        base -= prod[i];
                    }
                    tc[j] = base;
                    for p in 1..np {
                        let hi = (usize::BITS - 1 - p.leading_zeros()) as usize;
                        tc[p * self.k + j] = tc[(p & !(1 << hi)) * self.k + j] + 2.0 * prod[hi];
                    }
                }
                off += np * self.k;
                at += len;
            }
        }
        Ok(())
    }

    fn score_lut(&self, lut: &[f32], code: &[u8]) -> f32 {
        let per = table_per_sub(self.ds, self.k);
        let (signs, idx) = code.split_at(self.sign_len().min(code.len()));
        let (mut sr, mut ir) = (Bits::new(signs), Bits::new(idx));
        let mut s = 0f32;
        if self.ds <= CHUNK {
            for t in lut.chunks_exact(per).take(self.m()) {
                let p = sr.take(self.ds as u32) as usize;
                let j = ir.take(self.nbits) as usize;
                s += t[p * self.k + j];
            }
            return s;
        }
        for t in lut.chunks_exact(per).take(self.m()) {
            let p = sr.take(self.ds as u32) as usize;
            let j = ir.take(self.nbits) as usize;
            let mut at = 0;
            let mut off = 0;
            while at < self.ds {
                let len = CHUNK.min(self.ds - at);
                let pc = (p >> at) & ((1 << len) - 1);
                s += t[off + pc * self.k + j];
                off += (1usize << len) * self.k;
                at += len;
            }
        }
        s
    }

    /// Mean squared reconstruction error `‖x − x̂‖²` per vector over the rows of `data`.
    ///
    /// # Errors
    /// As [`Codec::encode_into`].
    pub fn mse(&self, data: &[f32]) -> Result<f64> {
        crate::codec::mean_sq_error(self, data)
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
}

impl Codec for SignSplitVq {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        self.sign_len() + (self.m() * self.nbits as usize).div_ceil(8)
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
        let (signs, idx) = code.split_at_mut(self.sign_len());
        for (m, xm) in x.chunks_exact(self.ds).enumerate() {
            let (s, j) = self.quantize_sub(xm);
            put_bits(signs, m * self.ds, self.ds, s);
            put_bits(idx, m * self.nbits as usize, self.nbits as usize, j as u32);
        }
        Ok(())
    }
}

/// ORs the low `width` bits of `v` in at bit offset `off` (LSB-first; the bytes must be zeroed).
fn put_bits(bytes: &mut [u8], off: usize, width: usize, v: u32) {
    for b in 0..width {
        if v >> b & 1 == 1 {
            let at = off + b;
            if let Some(byte) = bytes.get_mut(at / 8) {
                *byte |= 1 << (at % 8);
            }
        }
    }
}

impl Decode for SignSplitVq {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim, out.len())?;
        let (signs, idx) = code.split_at(self.sign_len());
        let (mut sr, mut ir) = (Bits::new(signs), Bits::new(idx));
        for o in out.chunks_exact_mut(self.ds) {
            let s = sr.take(self.ds as u32);
            let j = ir.take(self.nbits) as usize;
            let c = &self.centroids[j * self.ds..(j + 1) * self.ds];
            for (i, (o, &c)) in o.iter_mut().zip(c).enumerate() {
                // c ≥ 0 (or −0.0): flip its sign bit where the stored sign is negative.
                *o = f32::from_bits(c.to_bits() ^ ((!(s >> i) & 1) << 31));
            }
        }
        Ok(())
    }
}

impl Score for SignSplitVq {
    type Query<'s> = SsvqQuery<'s>;

    /// `M · Σ_chunks 2^len · k` floats: `16·k·d/d_s` for `d_s ≤ 4`, `32·k·d/d_s` above.
    fn query_scratch_len(&self) -> usize {
        self.m() * table_per_sub(self.ds, self.k)
    }
    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<SsvqQuery<'s>> {
        check_dim(self.dim, q.len())?;
        let n = self.query_scratch_len();
        check_scratch(n, scratch.len())?;
        let lut = &mut scratch[..n];
        self.compute_table(q, lut)?;
        Ok(SsvqQuery { lut })
    }
    fn score(&self, q: &SsvqQuery<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        Ok(self.score_lut(q.lut, code))
    }
}

impl ScoreSymmetric for SignSplitVq {
    /// `⟨x̂, ŷ⟩`, summed in coordinate order.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32> {
        check_code(self.code_len(), a.len())?;
        check_code(self.code_len(), b.len())?;
        let mut s = 0f32;
        for m in 0..self.m() {
            let (ca, cb) = (self.centroid(self.index(a, m)), self.centroid(self.index(b, m)));
            let flip = self.signs(a, m) ^ self.signs(b, m);
            for (i, (&x, &y)) in ca.iter().zip(cb).enumerate() {
                s += if flip >> i & 1 == 1 { -(x * y) } else { x * y };
            }
        }
        Ok(s)
    }
}

/// The `M` centroid indices as symbols (alphabet `2^nbits`); the sign bytes are the side bytes.
impl Symbols for SignSplitVq {
    fn symbols_per_vector(&self) -> usize {
        self.m()
    }
    fn alphabet_size(&self) -> u32 {
        self.k as u32
    }
    fn side_len(&self) -> usize {
        self.sign_len()
    }
    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_scratch(self.m(), symbols.len())?;
        check_scratch(self.sign_len(), side.len())?;
        side[..self.sign_len()].copy_from_slice(&code[..self.sign_len()]);
        for (m, s) in symbols.iter_mut().take(self.m()).enumerate() {
            *s = self.index(code, m) as u16;
        }
        Ok(())
    }
    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_scratch(self.m(), symbols.len())?;
        check_scratch(self.sign_len(), side.len())?;
        if symbols[..self.m()].iter().any(|&s| usize::from(s) >= self.k) {
            return Err(Error::Corrupt("SSVQ: symbol above 2^nbits"));
        }
        code.fill(0);
        let (signs, idx) = code.split_at_mut(self.sign_len());
        signs.copy_from_slice(&side[..self.sign_len()]);
        // Padding bits of the sign part are ignored by every reader; clear them so that the code
        // is canonical.
        if !self.dim.is_multiple_of(8) {
            let last = signs.len() - 1;
            signs[last] &= (1u8 << (self.dim % 8)) - 1;
        }
        for (m, &s) in symbols[..self.m()].iter().enumerate() {
            put_bits(idx, m * self.nbits as usize, self.nbits as usize, u32::from(s));
        }
        Ok(())
    }
}

/// Fields: `u32` dim, `u8` d_s, `u8` nbits, then the `2^nbits · d_s` centroids as `f32`
/// (finite, `≥ 0`).
impl Persist for SignSplitVq {
    fn persist(&self, w: &mut Writer) {
        w.u32(self.dim as u32).u8(self.ds as u8).u8(self.nbits as u8);
        w.f32s(&self.centroids);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let dim = r.u32()? as usize;
        let ds = usize::from(r.u8()?);
        let nbits = u32::from(r.u8()?);
        check_shape(dim, ds, nbits).map_err(|_| Error::Corrupt("SSVQ: invalid dimension, d_s or nbits"))?;
        let c = r.finite_f32_vec((1usize << nbits) * ds, "SSVQ: non-finite centroid")?;
        if c.iter().any(|&v| v < 0.0) {
            return Err(Error::Corrupt("SSVQ: negative centroid"));
        }
        Self::new(dim, ds, nbits, c)
    }
}
