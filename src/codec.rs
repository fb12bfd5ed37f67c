//! The core traits every codec of the crate implements, and that downstream crates compose.
//!
//! A codec is an immutable value holding its trained parameters. After construction (training
//! needs the `alloc` feature), everything works on caller buffers with no allocator:
//!
//! * [`Codec`] — fixed-rate encoding: a `dim()`-vector becomes exactly `code_len()` bytes, so `n`
//!   codes are one contiguous `&[u8]` of `n * code_len()` bytes.
//! * [`Decode`] — reconstruction `x̂` from a code.
//! * [`Score`] — asymmetric scoring: a float query is prepared once (into caller scratch) and
//!   then scored against any number of codes, one at a time or as a batch.
//! * [`ScoreSymmetric`] — code-vs-code scoring where the codec allows it.
//! * [`Symbols`] — a view of a code as a sequence of small-alphabet symbols plus raw side bytes,
//!   which is what the entropy coders need to make any fixed-rate codec variable-rate.
//!
//! # How compositions are written
//!
//! The traits are chosen so that compound codecs are *generic wrappers*, not copies:
//!
//! * **rotation ∘ scalar codec** (TurboQuant-MSE): `Rotated<T: Transform, C: Codec>` encodes
//!   `C.encode(T.forward(x))`, decodes `T.inverse(C.decode(code))`, and prepares a query as
//!   `C.prepare(T.forward(q))` — an orthogonal `T` preserves inner products, so `C`'s scorer is
//!   reused unchanged. Scratch for the rotated query is split off the caller's scratch.
//! * **residual of two codecs** (TurboQuant-prod = MSE at b−1 bits + QJL of the residual; multi-
//!   stage binary): `Residual<A: Decode, B: Codec>` stores `A.code ‖ B.code(x − A.decode(A.code))`;
//!   its score is `A.score + B.score`, each from its own prepared query.
//! * **sign split ∘ VQ** (SSVQ): a wrapper stores the sign bits and hands `|x|` to the inner VQ.
//! * **entropy-coded X**: any `C: Symbols` is pushed through a static rANS model per symbol
//!   position (see `entropy`), giving a variable-rate code with exact bits-per-dimension.
//!
//! # Scoring convention
//!
//! [`Score::score`] returns an estimate of the inner product `⟨q, x⟩` (larger = more similar).
//! [`Score::estimator`] says whether that estimate is exact on the reconstruction, unbiased for
//! the true inner product, or biased.

use crate::error::{Error, Result, check_code, check_dim};

/// What a codec's score estimates, and with what bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Estimator {
    /// The score equals `⟨q, x̂⟩` — the inner product with the decoded reconstruction — up to
    /// float rounding. It is biased for `⟨q, x⟩` only by the quantization error itself.
    Reconstruction,
    /// `E[score] = ⟨q, x⟩` over the codec's randomness (rotation, projection seed).
    Unbiased,
    /// A consistent but biased estimate (e.g. a quantized query or a ratio estimator); the
    /// codec's documentation says how.
    Biased,
}

/// A fixed-rate vector encoder: `dim()` floats in, exactly `code_len()` bytes out.
pub trait Codec {
    /// The vector dimension `d` this codec accepts.
    fn dim(&self) -> usize;

    /// The number of bytes of one code. Everything stored per vector (scales, norms, signs)
    /// is inside these bytes.
    fn code_len(&self) -> usize;

    /// Bits stored per dimension: `8 · code_len() / dim()`, i.e. everything stored per vector.
    /// Shared parameters (codebooks, per-dimension ranges) are not counted; they are amortised
    /// over the collection and reported by the codec's own `param_bytes` where it has them.
    fn bits_per_dim(&self) -> f64 {
        if self.dim() == 0 { 0.0 } else { (self.code_len() * 8) as f64 / self.dim() as f64 }
    }

    /// Encodes one vector into `code`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `x.len() != dim()`, [`Error::CodeLength`] if
    /// `code.len() != code_len()`, and [`Error::NonFinite`] where the codec cannot represent
    /// NaN or infinity (each codec documents its mapping).
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()>;

    /// Encodes the vector `s · x`: how [`Normalized`](crate::compose::Normalized) hands the
    /// direction `x/‖x‖` (`s = 1/‖x‖`) to its inner codec without a temporary vector.
    ///
    /// The default writes `s · x_i` (one `f32` multiplication per coordinate) into a stack buffer
    /// and calls [`encode_into`](Codec::encode_into); codecs that can fold the factor into their
    /// own search (the per-coordinate codebooks) override it, with exactly the same codes.
    ///
    /// # Errors
    /// As [`encode_into`](Codec::encode_into) for the vector `s · x`.
    fn encode_scaled_into(&self, x: &[f32], s: f32, code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        crate::buf::with_buf(x.len(), |u| {
            for (o, &v) in u.iter_mut().zip(x) {
                *o = v * s;
            }
            self.encode_into(u, code)
        })
    }

    /// A fused batch kernel for [`Normalized`](crate::compose::Normalized): encodes the
    /// direction of every row of `xs` into the first `code_len()` bytes of each `stride`-byte
    /// slot of `codes`, computing the rows' sums of squares itself (exactly as
    /// [`simd::sum_sq_f64`](crate::simd::sum_sq_f64)) and calling `norm(sum, rest of the slot)`
    /// for each row, which writes the norm field and returns the `f32` norm to divide by. The
    /// codes must equal `encode_scaled_into(x, 1/norm)` row by row (0 for a zero norm).
    ///
    /// `None` (nothing written) where the codec has no such kernel: the default, and the
    /// wrapper then encodes row by row.
    fn encode_normalized_rows(
        &self,
        xs: &[f32],
        codes: &mut [u8],
        stride: usize,
        norm: &mut dyn FnMut(f64, &mut [u8]) -> Result<f32>,
    ) -> Option<Result<()>> {
        let _ = (xs, codes, stride, norm);
        None
    }

    /// Encodes `n = xs.len() / dim()` vectors stored row-major into `codes` (`n · code_len()`
    /// bytes). On error, codes of earlier rows may already be written.
    ///
    /// # Errors
    /// As [`encode_into`](Codec::encode_into); also if `xs.len()` is not a multiple of `dim()`
    /// or `codes.len() != n · code_len()`.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = batch_rows(xs.len(), d)?;
        check_code(n * c, codes.len())?;
        if c == 0 {
            return Ok(());
        }
        for (x, code) in xs.chunks_exact(d).zip(codes.chunks_exact_mut(c)) {
            self.encode_into(x, code)?;
        }
        Ok(())
    }
}

/// The argument check of [`Score::score_batch_strided`]: `codes` holds `n` codes of `stride`
/// bytes and a sub-code of `code_len` bytes at `at` fits in each. Returns `code_len`.
///
/// # Errors
/// [`Error::CodeLength`] otherwise.
#[inline]
pub fn check_strided(code_len: usize, len: usize, stride: usize, at: usize, n: usize) -> Result<usize> {
    check_code(n.checked_mul(stride).ok_or(Error::Overflow)?, len)?;
    if at.checked_add(code_len).is_none_or(|end| end > stride) {
        return Err(Error::CodeLength { expected: stride, got: at.saturating_add(code_len) });
    }
    Ok(code_len)
}

/// A codec whose codes can be decoded to a reconstruction `x̂`.
pub trait Decode: Codec {
    /// Decodes one code into `out` (`dim()` floats).
    ///
    /// # Errors
    /// [`Error::CodeLength`] or [`Error::DimensionMismatch`] on wrong buffer lengths;
    /// [`Error::Corrupt`] where a code's bytes are not a valid code (e.g. a NaN scale).
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()>;

    /// Decodes `n = codes.len() / code_len()` codes into `out` (`n · dim()` floats).
    ///
    /// # Errors
    /// As [`decode_into`](Decode::decode_into), plus lengths that are not whole rows.
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let (d, c) = (self.dim(), self.code_len());
        let n = batch_rows(codes.len(), c)?;
        check_dim(n * d, out.len())?;
        if d == 0 {
            return Ok(());
        }
        for (code, o) in codes.chunks_exact(c).zip(out.chunks_exact_mut(d)) {
            self.decode_into(code, o)?;
        }
        Ok(())
    }
}

/// Asymmetric scoring: a float query, prepared once, against codes.
///
/// The prepared query lives in caller-provided `f32` scratch (length
/// [`query_scratch_len`](Score::query_scratch_len)), so scoring needs no allocator. Under
/// `alloc`, [`scratch`](Score::scratch) returns a buffer of the right size.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use vector_codecs::{Codec, Score};
/// use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
/// let codec = FloatCodec::new(4, FloatFormat::F16).unwrap();
/// let mut code = vec![0u8; codec.code_len()];
/// codec.encode_into(&[1.0, 2.0, 3.0, 4.0], &mut code).unwrap();
/// let mut scratch = codec.scratch();
/// let q = codec.prepare(&[1.0, 0.0, 0.0, 1.0], &mut scratch).unwrap();
/// assert_eq!(codec.score(&q, &code).unwrap(), 5.0);
/// # }
/// ```
pub trait Score: Codec {
    /// A prepared query. It may borrow the codec and the scratch buffer.
    type Query<'s>
    where
        Self: 's;

    /// Number of `f32` words of scratch [`prepare`](Score::prepare) needs.
    fn query_scratch_len(&self) -> usize;

    /// What the score estimates (see [`Estimator`]).
    fn estimator(&self) -> Estimator;

    /// Prepares a query (rescaling, rotating, quantizing or building lookup tables) into
    /// `scratch`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `q.len() != dim()`, [`Error::BufferTooSmall`] if
    /// `scratch` is shorter than `query_scratch_len()`, [`Error::NonFinite`] on NaN/inf.
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>>;

    /// Scores one code: an estimate of `⟨q, x⟩`.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `code.len() != code_len()`; [`Error::Corrupt`] for codes whose
    /// bytes are invalid.
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32>;

    /// Scores `out.len()` contiguous codes. Codecs override this with their fast scan.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `codes.len() != out.len() · code_len()`.
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        let c = self.code_len();
        check_code(out.len() * c, codes.len())?;
        if c == 0 {
            out.fill(0.0);
            return Ok(());
        }
        for (code, o) in codes.chunks_exact(c).zip(out.iter_mut()) {
            *o = self.score(q, code)?;
        }
        Ok(())
    }

    /// Appends to `segs` this codec's code, stored at byte `at` of a wider code, as segments of
    /// a fused lookup scan ([`crate::simd::dot_lut_segs_rows`]) whose sum is this codec's
    /// score up to float rounding: codebook scalar codes with a float query, and the
    /// compositions that only add their parts' scores ([`Split`](crate::compose::Split)) or
    /// only change the query ([`Rotated`](crate::compose::Rotated),
    /// [`Scaled`](crate::compose::Scaled)). `false` (the default) when the codec is not made of
    /// such parts or `segs` is full; `segs` is then unspecified. A composition whose parts all
    /// give segments scans them in one pass per row instead of one row kernel call per part.
    #[doc(hidden)]
    fn lut_segments<'q>(&self, q: &'q Self::Query<'_>, at: usize, segs: &mut crate::simd::LutSegs<'q>) -> bool {
        let _ = (q, at, segs);
        false
    }

    /// Scores, for each of the `out.len()` codes of `stride` bytes in `codes`, this codec's code
    /// stored at bytes `at .. at + code_len()` of it: the scan of a composition whose code holds
    /// this codec's code at offset `at` (a part of a [`Split`](crate::compose::Split), the
    /// direction code of [`Normalized`](crate::compose::Normalized)). The same values as
    /// [`score_batch`](Score::score_batch) on the gathered sub-codes, bit for bit.
    ///
    /// The default gathers up to 4 KiB of sub-codes at a time into a stack buffer and scans them
    /// with `score_batch` (one code at a time with [`score`](Score::score) when two do not fit);
    /// codecs whose scan reads codes in place override it (the codebook scalar codes of
    /// TurboQuant), and compositions pass it on to their parts, so nested compositions read
    /// their leaves' codes where they are.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `codes.len() != out.len() · stride` or the sub-code does not fit
    /// in `stride`; as `score_batch`.
    fn score_batch_strided(
        &self,
        q: &Self::Query<'_>,
        codes: &[u8],
        stride: usize,
        at: usize,
        out: &mut [f32],
    ) -> Result<()> {
        /// Bytes of the stack buffer sub-codes are gathered into.
        const GATHER: usize = 4096;
        let ic = check_strided(self.code_len(), codes.len(), stride, at, out.len())?;
        if stride == 0 {
            for o in out.iter_mut() {
                *o = self.score(q, &[])?;
            }
            return Ok(());
        }
        let per = GATHER / ic.max(1);
        if per < 2 || ic == 0 {
            for (code, o) in codes.chunks_exact(stride).zip(out.iter_mut()) {
                *o = self.score(q, &code[at..at + ic])?;
            }
            return Ok(());
        }
        let mut buf = [0u8; GATHER];
        for (block, ob) in codes.chunks(per * stride).zip(out.chunks_mut(per)) {
            for (src, dst) in block.chunks_exact(stride).zip(buf.chunks_exact_mut(ic)) {
                dst.copy_from_slice(&src[at..at + ic]);
            }
            self.score_batch(q, &buf[..ob.len() * ic], ob)?;
        }
        Ok(())
    }

    /// The codec's **search layout**, in blocks: `(vectors, bytes)` per block. The layout of
    /// `n` codes is `⌈n / vectors⌉` blocks of `bytes` bytes, block `b` holding vectors
    /// `b·vectors ..` (the last block padded). The default `(1, code_len())` is the codes
    /// themselves; 4-bit fast-scan PQ re-lays 32 codes per block for its byte-shuffle kernel
    /// (what FAISS's `IndexPQFastScan` stores). A layout is an index format: the same for every
    /// backend, built once ([`to_layout`](Score::to_layout)) and scanned many times
    /// ([`score_layout`](Score::score_layout)).
    fn layout_block(&self) -> (usize, usize) {
        (1, self.code_len())
    }

    /// Writes the search layout of the `n = codes.len() / code_len()` codes into `out`
    /// (`⌈n / vectors⌉ · bytes` bytes, see [`layout_block`](Score::layout_block)).
    ///
    /// # Errors
    /// [`Error::CodeLength`] for partial codes or a wrong `out` length.
    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> Result<()> {
        let c = self.code_len();
        let n = codes.len().checked_div(c).unwrap_or(0);
        check_code(n * c, codes.len())?;
        check_code(layout_len(self.layout_block(), n)?, out.len())?;
        out.copy_from_slice(codes);
        Ok(())
    }

    /// Scores the first `out.len()` vectors of a search layout (at least
    /// `⌈out.len() / vectors⌉` blocks): the same values as [`score_batch`](Score::score_batch)
    /// on the codes.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `layout` is too short; as `score_batch`.
    fn score_layout(&self, q: &Self::Query<'_>, layout: &[u8], out: &mut [f32]) -> Result<()> {
        let c = self.code_len();
        let len = out.len().checked_mul(c).ok_or(Error::Overflow)?;
        let codes = layout.get(..len).ok_or(Error::CodeLength { expected: len, got: layout.len() })?;
        self.score_batch(q, codes, out)
    }

    /// Scores the first `n` vectors of a search layout against each of the queries `qs`:
    /// `out[i·n + v]` is what [`score_layout`](Score::score_layout) writes for query `i` and
    /// vector `v`, bit for bit (`out.len()` must be `qs.len()·n`). Codecs whose kernels read each
    /// layout block once for several queries override it (4-bit fast-scan PQ serves 4 queries
    /// per pass over the codes); the default scores one query at a time.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out.len() != qs.len()·n`; as
    /// [`score_layout`](Score::score_layout).
    fn score_layout_many(&self, qs: &[&Self::Query<'_>], layout: &[u8], n: usize, out: &mut [f32]) -> Result<()> {
        if Some(out.len()) != qs.len().checked_mul(n) {
            return Err(Error::BufferTooSmall { needed: qs.len().saturating_mul(n), got: out.len() });
        }
        for (q, o) in qs.iter().zip(out.chunks_exact_mut(n.max(1))) {
            self.score_layout(q, layout, o)?;
        }
        Ok(())
    }

    /// The codec's most exact score of one code for a prepared query, for re-ranking the
    /// candidates of an approximate scan (see [`rerank_factor`](Score::rerank_factor)). The
    /// default is [`score`](Score::score); codecs whose scan is approximate override it (4-bit
    /// fast-scan PQ: the float-table ADC sum `Σ_m T[m][c_m]`, exact on the reconstruction, from
    /// the same prepared query as its `u8`-table scan).
    ///
    /// # Errors
    /// As [`score`](Score::score).
    fn score_exact(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        self.score(q, code)
    }

    /// [`score_exact`](Score::score_exact) of vector `i` of a search layout
    /// ([`to_layout`](Score::to_layout)), read in place. The default reads code `i` of the
    /// default layout (the codes themselves); a codec that overrides
    /// [`layout_block`](Score::layout_block) overrides this too.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if `layout` does not hold vector `i`; as `score_exact`.
    fn score_exact_layout(&self, q: &Self::Query<'_>, layout: &[u8], i: usize) -> Result<f32> {
        let c = self.code_len();
        let (at, end) = i.checked_mul(c).and_then(|a| Some((a, a.checked_add(c)?))).ok_or(Error::Overflow)?;
        let code = layout.get(at..end).ok_or(Error::CodeLength { expected: end, got: layout.len() })?;
        self.score_exact(q, code)
    }

    /// Candidates per result that a top-k scan takes with [`score`](Score::score) before
    /// re-scoring them with [`score_exact`](Score::score_exact): a top-k scan of a codec with
    /// factor `R > 1` keeps the `R·k` best approximate scores, then returns the `k` best exact
    /// scores among them ([`crate::rerank`]). 1 (no re-rank) by default;
    /// [`Rerank`](crate::rerank::Rerank) sets it.
    fn rerank_factor(&self) -> usize {
        1
    }

    /// A zeroed scratch buffer of [`query_scratch_len`](Score::query_scratch_len) words.
    #[cfg(feature = "alloc")]
    fn scratch(&self) -> alloc::vec::Vec<f32> {
        alloc::vec![0.0; self.query_scratch_len()]
    }
}

/// Mean squared reconstruction error `‖x − decode(encode(x))‖²` per vector over the row-major
/// rows of `data` (0 for no rows), accumulated in `f64`.
///
/// # Errors
/// [`Error::DimensionMismatch`] if `data.len()` is not a multiple of `dim()`; the codec's
/// encode and decode errors.
#[cfg(feature = "alloc")]
pub fn mean_sq_error<C: Decode>(c: &C, data: &[f32]) -> Result<f64> {
    let d = c.dim();
    let n = batch_rows(data.len(), d)?;
    let mut code = alloc::vec![0u8; c.code_len()];
    let mut y = alloc::vec![0f32; d];
    let mut tot = 0f64;
    for x in data.chunks_exact(d.max(1)).take(n) {
        c.encode_into(x, &mut code)?;
        c.decode_into(&code, &mut y)?;
        tot += x.iter().zip(&y).map(|(a, b)| f64::from(a - b) * f64::from(a - b)).sum::<f64>();
    }
    Ok(if n == 0 { 0.0 } else { tot / n as f64 })
}

/// Bytes of the search layout of `n` codes with blocks of `(vectors, bytes)` (see
/// [`Score::layout_block`]): `⌈n / vectors⌉ · bytes`.
///
/// # Errors
/// [`Error::Overflow`] if it does not fit `usize`; [`Error::InvalidParameter`] for 0 vectors per
/// block.
pub fn layout_len((vectors, bytes): (usize, usize), n: usize) -> Result<usize> {
    if vectors == 0 {
        return Err(Error::InvalidParameter("a layout block holds at least one vector"));
    }
    n.div_ceil(vectors).checked_mul(bytes).ok_or(Error::Overflow)
}

/// The largest vector norm that the norm-carrying codecs (TurboQuant's `NormScalar`,
/// `compose::Normalized`, QJL) store: 2^96 ≈ 7.9·10^28.
///
/// Encoding a vector whose norm exceeds it returns [`Error::Overflow`];
/// a stored norm above it is [`Error::Corrupt`]. The bound keeps every
/// decoded coordinate and every intermediate of the inverse rotation finite for any valid code
/// (levels are bounded and `d ≤ 2^16`), so decoders never return ±inf from corrupt bytes.
pub const MAX_NORM: f32 = 79_228_162_514_264_337_593_543_950_336.0;

/// Which scorer a codec uses for its codes against a float query. The codes are the same in
/// every mode; only the query side and the scan kernel change.
///
/// This is the crate's one mechanism for "another scorer over the same codes": a codec that
/// offers more than one implements [`ScanModes`], and every wrapper of [`crate::compose`]
/// forwards the choice to the codec inside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ScanMode {
    /// The float query: exact on the reconstruction where the codec says so.
    #[default]
    Float,
    /// The query rounded to `i8` and an integer (byte-shuffle or `u8×i8`) scan: fastest,
    /// [`Estimator::Biased`] by the query rounding.
    I8,
    /// The query rounded to `i16`: slower than `I8`, 256× less query rounding.
    I16,
    /// The query split into bit planes and scored with popcounts (binary codes).
    Bitsliced,
}

/// A codec with more than one scorer over the same codes (see [`ScanMode`]).
pub trait ScanModes: Score + Sized {
    /// The mode scores are computed in.
    fn scan_mode(&self) -> ScanMode;
    /// The same codec (same codes) scoring in `mode`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the codec has no such scorer (e.g. `I8` on a 3-bit table).
    fn with_scan(self, mode: ScanMode) -> Result<Self>;
}

/// Symmetric scoring: an estimate of `⟨x, y⟩` from two codes, with no float query.
pub trait ScoreSymmetric: Codec {
    /// Estimates `⟨x, y⟩` from the codes of `x` and `y`.
    ///
    /// # Errors
    /// [`Error::CodeLength`] if either code has the wrong length.
    fn score_codes(&self, a: &[u8], b: &[u8]) -> Result<f32>;
}

/// A view of a fixed-rate code as `symbols_per_vector()` symbols plus `side_len()` raw bytes.
///
/// Entropy coders use it to compress the symbols of any codec (see `entropy`), while the side
/// bytes (scales, norms) are stored as they are. `split_symbols` followed by `join_symbols` must
/// reproduce the code exactly.
pub trait Symbols: Codec {
    /// Number of symbols per vector.
    fn symbols_per_vector(&self) -> usize;
    /// Size of the symbol alphabet: every symbol is `< alphabet_size()` (at most 65,536).
    fn alphabet_size(&self) -> u32;
    /// Number of raw side bytes per vector (not entropy coded).
    fn side_len(&self) -> usize;
    /// Splits a code into symbols and side bytes.
    ///
    /// # Errors
    /// [`Error::CodeLength`] / [`Error::BufferTooSmall`] on wrong buffer lengths.
    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()>;
    /// Joins symbols and side bytes back into a code.
    ///
    /// # Errors
    /// As [`split_symbols`](Symbols::split_symbols); [`Error::Corrupt`] if a symbol is out of range.
    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()>;
}

/// Number of whole rows of `row` elements in `len` elements.
///
/// # Errors
/// [`Error::DimensionMismatch`] if `len` is not a multiple of `row` (or `row == 0 < len`).
pub fn batch_rows(len: usize, row: usize) -> Result<usize> {
    if row == 0 {
        return if len == 0 { Ok(0) } else { Err(Error::DimensionMismatch { expected: 0, got: len }) };
    }
    if !len.is_multiple_of(row) {
        return Err(Error::DimensionMismatch { expected: (len / row + 1) * row, got: len });
    }
    Ok(len / row)
}

/// Checks the scratch length for [`Score::prepare`].
///
/// # Errors
/// [`Error::BufferTooSmall`] if `got < needed`.
#[inline]
pub fn check_scratch(needed: usize, got: usize) -> Result<()> {
    if got >= needed { Ok(()) } else { Err(Error::BufferTooSmall { needed, got }) }
}

/// The checks every [`Score::prepare`] makes on its query, in order: `q.len() == dim`,
/// `scratch_len ≥ needed`, every value finite.
///
/// # Errors
/// [`Error::DimensionMismatch`], [`Error::BufferTooSmall`], [`Error::NonFinite`].
#[inline]
pub fn check_query(dim: usize, q: &[f32], needed: usize, scratch_len: usize) -> Result<()> {
    crate::error::check_dim(dim, q.len())?;
    check_scratch(needed, scratch_len)?;
    crate::error::check_finite(q)
}

/// [`check_query`], then a copy of `q` in the first `dim` words of `scratch`: the prepared
/// query of the codecs that score against the query itself. Returns the copy and the rest of
/// `scratch` (for tables built beside it).
///
/// # Errors
/// As [`check_query`].
#[inline]
pub fn copy_query<'s>(
    dim: usize,
    q: &[f32],
    needed: usize,
    scratch: &'s mut [f32],
) -> Result<(&'s mut [f32], &'s mut [f32])> {
    check_query(dim, q, needed.max(dim), scratch.len())?;
    let (qs, rest) = scratch.split_at_mut(dim);
    qs.copy_from_slice(q);
    Ok((qs, rest))
}

/// The [`Codec`] methods of a wrapper that encodes exactly as the codec in its field `$f`
/// (`dim`, `code_len` and every encoder, including the batch and fused kernels, so that a
/// wrapper never loses a kernel of the codec it wraps). Crate-internal; expands to method items
/// inside an `impl Codec for …` block.
macro_rules! forward_codec {
    ($f:tt) => {
        fn dim(&self) -> usize {
            self.$f.dim()
        }
        fn code_len(&self) -> usize {
            self.$f.code_len()
        }
        fn encode_into(&self, x: &[f32], code: &mut [u8]) -> $crate::error::Result<()> {
            self.$f.encode_into(x, code)
        }
        fn encode_scaled_into(&self, x: &[f32], s: f32, code: &mut [u8]) -> $crate::error::Result<()> {
            self.$f.encode_scaled_into(x, s, code)
        }
        fn encode_normalized_rows(
            &self,
            xs: &[f32],
            codes: &mut [u8],
            stride: usize,
            norm: &mut dyn FnMut(f64, &mut [u8]) -> $crate::error::Result<f32>,
        ) -> Option<$crate::error::Result<()>> {
            self.$f.encode_normalized_rows(xs, codes, stride, norm)
        }
        fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> $crate::error::Result<()> {
            self.$f.encode_batch(xs, codes)
        }
    };
}
pub(crate) use forward_codec;

/// The [`Decode`] methods of a wrapper that decodes exactly as the codec in its field `$f`
/// (one code and batches). Crate-internal, as [`forward_codec`].
macro_rules! forward_decode {
    ($f:tt) => {
        fn decode_into(&self, code: &[u8], out: &mut [f32]) -> $crate::error::Result<()> {
            self.$f.decode_into(code, out)
        }
        fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> $crate::error::Result<()> {
            self.$f.decode_batch(codes, out)
        }
    };
}
pub(crate) use forward_decode;

/// The [`Score`] methods of a wrapper that scores exactly as the codec in its field `$f`, whose
/// `Query` type it shares: scratch, `prepare`, `score`, the batch scans (contiguous and strided), the search layout and
/// its scans, and the exact scores of re-ranking. Not [`Score::estimator`] and
/// [`Score::rerank_factor`]: wrappers that change what a score means or how a top-k scan
/// re-ranks write those two, the others forward them with `forward_score!($f; estimator,
/// rerank_factor)`. Crate-internal, as [`forward_codec`].
macro_rules! forward_score {
    ($f:tt) => {
        fn query_scratch_len(&self) -> usize {
            self.$f.query_scratch_len()
        }
        fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> $crate::error::Result<Self::Query<'s>> {
            self.$f.prepare(q, scratch)
        }
        fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> $crate::error::Result<f32> {
            self.$f.score(q, code)
        }
        fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> $crate::error::Result<()> {
            self.$f.score_batch(q, codes, out)
        }
        fn score_batch_strided(
            &self,
            q: &Self::Query<'_>,
            codes: &[u8],
            stride: usize,
            at: usize,
            out: &mut [f32],
        ) -> $crate::error::Result<()> {
            self.$f.score_batch_strided(q, codes, stride, at, out)
        }
        fn layout_block(&self) -> (usize, usize) {
            self.$f.layout_block()
        }
        fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> $crate::error::Result<()> {
            self.$f.to_layout(codes, out)
        }
        fn score_layout(&self, q: &Self::Query<'_>, layout: &[u8], out: &mut [f32]) -> $crate::error::Result<()> {
            self.$f.score_layout(q, layout, out)
        }
        fn score_layout_many(
            &self,
            qs: &[&Self::Query<'_>],
            layout: &[u8],
            n: usize,
            out: &mut [f32],
        ) -> $crate::error::Result<()> {
            self.$f.score_layout_many(qs, layout, n, out)
        }
        fn score_exact(&self, q: &Self::Query<'_>, code: &[u8]) -> $crate::error::Result<f32> {
            self.$f.score_exact(q, code)
        }
        fn score_exact_layout(&self, q: &Self::Query<'_>, layout: &[u8], i: usize) -> $crate::error::Result<f32> {
            self.$f.score_exact_layout(q, layout, i)
        }
    };
    ($f:tt; estimator, rerank_factor) => {
        $crate::codec::forward_score!($f);
        fn estimator(&self) -> $crate::codec::Estimator {
            self.$f.estimator()
        }
        fn rerank_factor(&self) -> usize {
            self.$f.rerank_factor()
        }
    };
}
pub(crate) use forward_score;
