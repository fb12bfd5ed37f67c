//! The object-safe view of a codec that the harness measures.
//!
//! Every type implementing the crate's [`Decode`] + [`Score`] traits is an [`EvalCodec`] through
//! the blanket impl below, so registering a fixed-rate codec is one `Box::new(codec)`. Two
//! wrappers cover the other shapes:
//!
//! * [`ScoreOnly`] — a pure scorer (e.g. a QJL sketch) that implements [`Score`] but not
//!   [`Decode`]: its relative MSE is reported as NaN (an empty CSV cell).
//! * [`VariableRate`] — a fixed-rate codec whose stored form is further compressed (entropy
//!   coding, e.g. `sq4+rans`): bits per dimension come from the *actual* compressed size of all
//!   the base codes, measured by a closure, while decoding and scanning run on the fixed-rate
//!   codes (what a searcher holds in memory after decompressing once).
//!
//! A codec with a shape none of these fits implements [`EvalCodec`] on a local wrapper struct
//! (a direct impl on a foreign type would overlap with the blanket impl).

// Parts of this module are used only by the families registered so far.
#![allow(dead_code)]

use vector_codecs::{Decode, Error, Estimator, Result, Score};

/// The training set handed to every codec constructor: the base vectors (or, for very large
/// base sets, a seeded sample of at most [`TrainData::MAX_ROWS`] of them), row-major.
pub struct TrainData<'a> {
    /// Vector dimension.
    pub dim: usize,
    /// Training vectors, `rows() · dim` floats.
    pub vectors: &'a [f32],
    /// A seed for codecs with randomness (rotations, projections).
    pub seed: u64,
}

impl TrainData<'_> {
    /// The most rows the harness hands to training.
    pub const MAX_ROWS: usize = 65_536;

    /// Number of training vectors.
    pub fn rows(&self) -> usize {
        self.vectors.len().checked_div(self.dim).unwrap_or(0)
    }
}

/// What the harness needs from a codec, object-safe.
///
/// `encode_batch`, `decode_batch` and `scan` work on contiguous buffers of `n` vectors / codes,
/// exactly like the crate's batch methods.
pub trait EvalCodec {
    /// A human-readable description (defaults to the Rust type).
    fn describe(&self) -> String {
        std::any::type_name::<Self>().replace("vector_codecs::", "")
    }

    /// Vector dimension.
    fn dim(&self) -> usize;

    /// Bytes of one fixed-rate code.
    fn code_len(&self) -> usize;

    /// Bits per dimension of the fixed-rate code (everything stored per vector).
    fn bits_per_dim(&self) -> f64;

    /// Bits per dimension actually stored for these `n` codes. Fixed-rate codecs return
    /// [`bits_per_dim`](EvalCodec::bits_per_dim); variable-rate ones compress `codes` and
    /// measure. The harness counts this call as part of the encode time.
    ///
    /// # Errors
    /// Whatever the compressor returns.
    fn stored_bits_per_dim(&self, codes: &[u8], n: usize) -> Result<f64> {
        let _ = (codes, n);
        Ok(self.bits_per_dim())
    }

    /// What the scan's score estimates, where the codec says.
    fn estimator(&self) -> Option<Estimator>;

    /// Whether [`decode_batch`](EvalCodec::decode_batch) is available.
    fn can_decode(&self) -> bool;

    /// Encodes `xs.len() / dim()` vectors into `codes`.
    ///
    /// # Errors
    /// The codec's errors.
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()>;

    /// Decodes `codes.len() / code_len()` codes into `out`.
    ///
    /// # Errors
    /// The codec's errors; [`Error::InvalidParameter`] for codecs that cannot decode.
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()>;

    /// Prepares `q` and scores every code of `codes` into `out` (one score per code: an estimate
    /// of `⟨q, x⟩`, larger is more similar).
    ///
    /// # Errors
    /// The codec's errors.
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()>;
}

fn scan_with<C: Score + ?Sized>(c: &C, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
    let mut scratch = vec![0.0f32; c.query_scratch_len()];
    let prepared = c.prepare(q, &mut scratch)?;
    c.score_batch(&prepared, codes, out)
}

impl<C: Decode + Score> EvalCodec for C {
    fn dim(&self) -> usize {
        vector_codecs::Codec::dim(self)
    }
    fn code_len(&self) -> usize {
        vector_codecs::Codec::code_len(self)
    }
    fn bits_per_dim(&self) -> f64 {
        vector_codecs::Codec::bits_per_dim(self)
    }
    fn estimator(&self) -> Option<Estimator> {
        Some(Score::estimator(self))
    }
    fn can_decode(&self) -> bool {
        true
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        vector_codecs::Codec::encode_batch(self, xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        Decode::decode_batch(self, codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        scan_with(self, q, codes, out)
    }
}

/// A scorer without a decoder: relative MSE is not available.
pub struct ScoreOnly<C>(pub C);

impl<C: Score> EvalCodec for ScoreOnly<C> {
    fn describe(&self) -> String {
        std::any::type_name::<C>().replace("vector_codecs::", "")
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn bits_per_dim(&self) -> f64 {
        self.0.bits_per_dim()
    }
    fn estimator(&self) -> Option<Estimator> {
        Some(self.0.estimator())
    }
    fn can_decode(&self) -> bool {
        false
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        self.0.encode_batch(xs, codes)
    }
    fn decode_batch(&self, _codes: &[u8], _out: &mut [f32]) -> Result<()> {
        Err(Error::InvalidParameter("this codec has no decoder"))
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        scan_with(&self.0, q, codes, out)
    }
}

/// The size in bytes of the compressed form of `n` fixed-rate codes.
pub type CompressedSize = Box<dyn Fn(&[u8], usize) -> Result<usize>>;

/// A fixed-rate codec `inner` whose stored form is compressed further; bits per dimension are
/// `8 · compressed_size(codes, n) / (n · dim)`. Decode and scan run on the fixed-rate codes.
///
/// The closure should do the real work (compress, and ideally check the round trip), since its
/// time is counted in the encode throughput.
pub struct VariableRate {
    /// The fixed-rate codec whose codes are compressed.
    pub inner: Box<dyn EvalCodec>,
    /// Compresses `n` codes and returns the compressed size in bytes.
    pub compressed_size: CompressedSize,
    /// A description of the compressor (for `--list` and the progress line).
    pub what: String,
}

impl EvalCodec for VariableRate {
    fn describe(&self) -> String {
        format!("{} + {}", self.inner.describe(), self.what)
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len()
    }
    fn bits_per_dim(&self) -> f64 {
        self.inner.bits_per_dim()
    }
    fn stored_bits_per_dim(&self, codes: &[u8], n: usize) -> Result<f64> {
        let bytes = (self.compressed_size)(codes, n)?;
        let dims = n * self.dim();
        Ok(if dims == 0 { 0.0 } else { 8.0 * bytes as f64 / dims as f64 })
    }
    fn estimator(&self) -> Option<Estimator> {
        self.inner.estimator()
    }
    fn can_decode(&self) -> bool {
        self.inner.can_decode()
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        self.inner.encode_batch(xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.decode_batch(codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.scan(q, codes, out)
    }
}

/// Code-versus-code scanning: the query is encoded with the codec itself and every base code is
/// scored with [`ScoreSymmetric::score_codes`](vector_codecs::ScoreSymmetric::score_codes). The
/// rest (encode, decode, bits) is the inner codec's.
pub struct Symmetric<C>(pub C);

impl<C: Decode + vector_codecs::ScoreSymmetric> EvalCodec for Symmetric<C> {
    fn describe(&self) -> String {
        format!("{} (symmetric: code × code)", std::any::type_name::<C>().replace("vector_codecs::", ""))
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn bits_per_dim(&self) -> f64 {
        self.0.bits_per_dim()
    }
    fn estimator(&self) -> Option<Estimator> {
        Some(Estimator::Reconstruction)
    }
    fn can_decode(&self) -> bool {
        true
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        self.0.encode_batch(xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.decode_batch(codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let len = self.0.code_len();
        let mut qc = vec![0u8; len];
        self.0.encode_into(q, &mut qc)?;
        if len == 0 || codes.len() != out.len() * len {
            return Err(Error::CodeLength { expected: out.len() * len, got: codes.len() });
        }
        for (o, c) in out.iter_mut().zip(codes.chunks_exact(len)) {
            *o = self.0.score_codes(&qc, c)?;
        }
        Ok(())
    }
}
