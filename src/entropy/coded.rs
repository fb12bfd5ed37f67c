//! Entropy-coded codes: any fixed-rate codec `C: Symbols` made variable-rate.
//!
//! [`EntropyCoded`] trains static rANS models from sample codes — one per symbol position
//! (default when the table count `positions · alphabet ≤ 2^20`) or one shared model — and
//! stores vectors in blocks of `block_vectors` vectors. A block is the vectors' raw side bytes
//! followed by one [interleaved rANS](super::word) stream (4 lanes) of all their symbols; a table of byte
//! offsets gives random access to every block. Models are smoothed (every symbol of the
//! alphabet keeps frequency ≥ 1, a pseudo-count of ½ against the sample counts), so codes never
//! seen in training still encode.
//!
//! Bits per dimension ([`CodedBlocks::bits_per_dim`]) count everything stored per collection:
//! payload, side bytes and offsets; the models are reported separately
//! ([`EntropyCoded::model_bytes`]).
//!
//! `EntropyCoded<C>` is itself a fixed-rate codec over `C`'s codes ([`Codec`](crate::Codec),
//! [`Decode`](crate::Decode), [`Score`](crate::Score) and [`ScanModes`](crate::codec::ScanModes)
//! forward to `C`): codes in memory are `C`'s, scans run on them, and the entropy-coded form is
//! what is stored ([`EntropyCoded::compress`] / [`EntropyCoded::decompress`]). Its
//! [`Persist`](crate::persist::Persist) form is `C`'s parameters followed by the models.

use super::model::ModelView;
use super::word::{self, Lanes};
use crate::codec::Symbols;
use crate::error::{Error, Result};

const LANES: Lanes = Lanes::L4;

/// Largest alphabet an [`EntropyCoded`] codec may have (`2^15`): every symbol keeps a frequency
/// ≥ 1 in a model of scale ≤ [`word::MAX_SCALE_BITS`], the limit of the interleaved coder.
pub const MAX_CODED_ALPHABET: usize = 1 << word::MAX_SCALE_BITS;

/// Largest `block_vectors` accepted by [`EntropyCoded::train_with`] and by the decoders
/// (`2^16`): a [`CodedBlocks`] declaring more is [`Error::Corrupt`].
pub const MAX_BLOCK_VECTORS: usize = 1 << 16;

/// Largest number of symbols in one block, `block_vectors · symbols_per_vector` (`2^22`): the
/// decoders' symbol scratch is at most 8 MiB, whatever a [`CodedBlocks`] declares.
pub const MAX_BLOCK_SYMBOLS: usize = 1 << 22;

/// Checks `block_vectors` against [`MAX_BLOCK_VECTORS`] and [`MAX_BLOCK_SYMBOLS`] for a codec of
/// `spv` symbols per vector; `Ok(block_vectors · spv)`.
#[cfg(feature = "alloc")]
fn block_symbols(block_vectors: usize, spv: usize) -> Option<usize> {
    if block_vectors == 0 || block_vectors > MAX_BLOCK_VECTORS {
        return None;
    }
    block_vectors.checked_mul(spv).filter(|&s| s <= MAX_BLOCK_SYMBOLS)
}

/// Decodes one block's bytes (`nb` vectors) into `nb` codes of `inner`, given the models.
/// Needs no allocator: `symbols` is scratch of at least `nb · symbols_per_vector` entries.
///
/// # Errors
/// [`Error::BufferTooSmall`] / [`Error::CodeLength`] on buffer lengths, rANS errors on corrupt
/// streams, the inner codec's `join_symbols` errors.
pub fn decode_block_with<C: Symbols>(
    inner: &C,
    models: &[ModelView<'_>],
    block: &[u8],
    nb: usize,
    symbols: &mut [u16],
    codes: &mut [u8],
) -> Result<()> {
    let spv = inner.symbols_per_vector();
    let side = inner.side_len();
    let cl = inner.code_len();
    let ns = nb.checked_mul(spv).ok_or(Error::Overflow)?;
    let got = symbols.len();
    let syms = symbols.get_mut(..ns).ok_or(Error::BufferTooSmall { needed: ns, got })?;
    let expected = nb.checked_mul(cl).ok_or(Error::Overflow)?;
    if codes.len() != expected {
        return Err(Error::CodeLength { expected, got: codes.len() });
    }
    let side_bytes = nb.checked_mul(side).ok_or(Error::Overflow)?;
    let (sides, stream) = block.split_at_checked(side_bytes).ok_or(Error::Truncated)?;
    word::decode_multi(models, LANES, stream, syms)?;
    if cl == 0 {
        return Ok(());
    }
    for (i, code) in codes.chunks_exact_mut(cl).enumerate() {
        inner.join_symbols(&syms[i * spv..(i + 1) * spv], &sides[i * side..(i + 1) * side], code)?;
    }
    Ok(())
}

#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use crate::codec::{Codec, Decode, ScanMode, ScanModes, Score};
    use crate::entropy::model::Model;
    use crate::format::Reader;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Training settings for [`EntropyCoded`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CodedConfig {
        /// One model per symbol position (`true`) or one shared model (`false`); `None` picks
        /// per-position when `positions · alphabet ≤ 2^20` and the decode tables fit
        /// [`MAX_TABLE_ENTRIES`] (`positions · 2^scale_bits ≤ 2^24`).
        pub per_position: Option<bool>,
        /// Model scale `n` (`M = 2^n`); raised automatically to fit the alphabet, at most
        /// [`word::MAX_SCALE_BITS`] (15).
        pub scale_bits: u32,
        /// Vectors per block (random-access granularity; default 64).
        pub block_vectors: usize,
    }

    impl Default for CodedConfig {
        fn default() -> Self {
            CodedConfig { per_position: None, scale_bits: 14, block_vectors: 64 }
        }
    }

    /// A fixed-rate codec `C` whose symbols are entropy coded with static rANS models.
    #[derive(Clone, Debug)]
    pub struct EntropyCoded<C: Symbols> {
        inner: C,
        models: Vec<Model>,
        block_vectors: usize,
    }

    /// A collection of entropy-coded vectors: blocks with byte offsets for random access.
    ///
    /// The fields are public and untrusted: the decoders check them ([`CodedBlocks::check`])
    /// and answer [`Error::Corrupt`] for inconsistent values.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct CodedBlocks {
        /// Number of vectors.
        pub n: usize,
        /// Dimension of the vectors (for bits per dimension).
        pub dim: usize,
        /// Vectors per block.
        pub block_vectors: usize,
        /// End offset of each block in `data`.
        pub offsets: Vec<u32>,
        /// The blocks.
        pub data: Vec<u8>,
    }

    /// The most decode-table entries (`Σ 2^scale_bits` over the models, about 12 bytes each) an
    /// [`EntropyCoded`] may hold: `2^24`. Training picks per-position models only within it
    /// (one shared model otherwise); restoring checks it before building any model.
    pub const MAX_TABLE_ENTRIES: usize = 1 << 24;

    impl CodedBlocks {
        /// The stored form: `u32 n`, `u32` end offset of each of the `⌈n / block_vectors⌉`
        /// blocks, then the blocks' bytes.
        ///
        /// # Errors
        /// [`Error::Overflow`] for more than `u32::MAX` vectors.
        pub fn to_bytes(&self) -> Result<Vec<u8>> {
            let n = u32::try_from(self.n).map_err(|_| Error::Overflow)?;
            let mut out = Vec::with_capacity(4 + 4 * self.offsets.len() + self.data.len());
            out.extend_from_slice(&n.to_le_bytes());
            for o in &self.offsets {
                out.extend_from_slice(&o.to_le_bytes());
            }
            out.extend_from_slice(&self.data);
            Ok(out)
        }

        /// Reads the stored form written by [`to_bytes`](Self::to_bytes) for vectors of `dim`
        /// dimensions in blocks of `block_vectors`. Checks the block count against the bytes
        /// before allocating, and that offsets increase and end at the data's end.
        ///
        /// # Errors
        /// [`Error::Truncated`], [`Error::Corrupt`] for bad offsets, [`Error::InvalidParameter`]
        /// for `block_vectors == 0`.
        pub fn from_bytes(bytes: &[u8], dim: usize, block_vectors: usize) -> Result<Self> {
            if block_vectors == 0 {
                return Err(Error::InvalidParameter("block_vectors must be positive"));
            }
            let mut r = Reader::new(bytes);
            let n = r.u32()? as usize;
            let nblocks = n.div_ceil(block_vectors);
            if nblocks > r.remaining() / 4 {
                return Err(Error::Truncated);
            }
            let mut offsets = Vec::with_capacity(nblocks);
            let mut last = 0u32;
            for _ in 0..nblocks {
                let o = r.u32()?;
                if o < last {
                    return Err(Error::Corrupt("block offsets decrease"));
                }
                offsets.push(o);
                last = o;
            }
            let data = r.bytes(r.remaining())?.to_vec();
            if last as usize != data.len() {
                return Err(Error::Corrupt("block offsets do not end at the data's end"));
            }
            Ok(CodedBlocks { n, dim, block_vectors, offsets, data })
        }

        /// Stored bytes: data plus 4 bytes per block offset.
        pub fn stored_bytes(&self) -> usize {
            self.data.len() + 4 * self.offsets.len()
        }
        /// Honest bits per dimension: `8 · stored_bytes / (n · dim)` (models not included).
        pub fn bits_per_dim(&self) -> f64 {
            if self.n == 0 || self.dim == 0 {
                0.0
            } else {
                self.stored_bytes() as f64 * 8.0 / (self.n as f64 * self.dim as f64)
            }
        }
        /// Number of blocks.
        pub fn n_blocks(&self) -> usize {
            self.offsets.len()
        }
        /// Checks the declared sizes: `1 ≤ block_vectors ≤ MAX_BLOCK_VECTORS` and one offset per
        /// `block_vectors` vectors (`n_blocks = ⌈n / block_vectors⌉`, which bounds `n` by the
        /// stored offsets).
        ///
        /// # Errors
        /// [`Error::Corrupt`] naming the inconsistent field.
        pub fn check(&self) -> Result<()> {
            if self.block_vectors == 0 || self.block_vectors > MAX_BLOCK_VECTORS {
                return Err(Error::Corrupt("entropy-coded blocks: block_vectors out of range"));
            }
            if self.n.div_ceil(self.block_vectors) != self.offsets.len() {
                return Err(Error::Corrupt("entropy-coded blocks: vector count does not match the offsets"));
            }
            Ok(())
        }
        /// Bytes of block `b` and its vector count.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] for an index out of range, [`Error::Corrupt`] for offsets
        /// that are not increasing or exceed the data.
        pub fn block(&self, b: usize) -> Result<(&[u8], usize)> {
            let end = *self.offsets.get(b).ok_or(Error::InvalidParameter("block index"))? as usize;
            let start = if b == 0 { 0 } else { self.offsets[b - 1] as usize };
            let bytes = self.data.get(start..end).ok_or(Error::Corrupt("block offsets"))?;
            let nb = self.n.saturating_sub(b.saturating_mul(self.block_vectors)).min(self.block_vectors);
            Ok((bytes, nb))
        }
    }

    impl<C: Symbols> EntropyCoded<C> {
        /// Trains models from `sample_codes` (a whole number of `inner.code_len()`-byte codes)
        /// with [`CodedConfig::default`].
        ///
        /// # Errors
        /// As [`train_with`](Self::train_with).
        pub fn train(inner: C, sample_codes: &[u8]) -> Result<Self> {
            Self::train_with(inner, sample_codes, &CodedConfig::default())
        }

        /// Trains models from `sample_codes` with explicit settings.
        ///
        /// # Errors
        /// [`Error::DimensionMismatch`] if `sample_codes` is not whole codes,
        /// [`Error::InvalidParameter`] for an alphabet above [`MAX_CODED_ALPHABET`] (`2^15`),
        /// `block_vectors` outside
        /// `1..=`[`MAX_BLOCK_VECTORS`] or above [`MAX_BLOCK_SYMBOLS`] symbols, per-position
        /// models above [`MAX_TABLE_ENTRIES`], or a codec with no symbols; the inner codec's `split_symbols` errors.
        pub fn train_with(inner: C, sample_codes: &[u8], cfg: &CodedConfig) -> Result<Self> {
            let cl = inner.code_len();
            let spv = inner.symbols_per_vector();
            let k = inner.alphabet_size() as usize;
            if k == 0
                || k > MAX_CODED_ALPHABET
                || spv == 0
                || block_symbols(cfg.block_vectors, spv).is_none()
                || cfg.block_vectors.checked_mul(inner.side_len()).is_none()
            {
                return Err(Error::InvalidParameter("entropy-coded codec parameters"));
            }
            let n = crate::codec::batch_rows(sample_codes.len(), cl)?;
            let min_bits = (usize::BITS - (k - 1).leading_zeros()).max(1);
            let scale = cfg.scale_bits.clamp(min_bits, word::MAX_SCALE_BITS);
            let fits = |groups: usize| groups.checked_shl(scale).is_some_and(|t| t <= MAX_TABLE_ENTRIES);
            let per_pos = cfg.per_position.unwrap_or(spv.saturating_mul(k) <= 1 << 20 && fits(spv));
            let groups = if per_pos { spv } else { 1 };
            if !fits(groups) {
                return Err(Error::InvalidParameter("entropy models: decode tables above MAX_TABLE_ENTRIES"));
            }
            let mut counts = vec![0u64; groups.checked_mul(k).ok_or(Error::Overflow)?];
            let mut syms = vec![0u16; spv];
            let mut side = vec![0u8; inner.side_len()];
            if cl > 0 {
                for code in sample_codes.chunks_exact(cl).take(n) {
                    inner.split_symbols(code, &mut syms, &mut side)?;
                    for (p, &s) in syms.iter().enumerate() {
                        let g = if per_pos { p } else { 0 };
                        let c = counts
                            .get_mut(g * k + s as usize)
                            .ok_or(Error::Corrupt("symbol outside the codec's alphabet"))?;
                        *c += 2;
                    }
                }
            }
            let mut models = Vec::with_capacity(groups);
            for g in counts.chunks_exact_mut(k) {
                for c in g.iter_mut() {
                    *c += 1;
                }
                models.push(Model::from_counts(g, scale)?);
            }
            Ok(EntropyCoded { inner, models, block_vectors: cfg.block_vectors })
        }

        /// The inner fixed-rate codec.
        pub fn inner(&self) -> &C {
            &self.inner
        }
        /// The trained models (one per position, or one shared).
        pub fn models(&self) -> &[Model] {
            &self.models
        }
        /// Serialized size of the models in bytes (reported apart from bits per dimension).
        pub fn model_bytes(&self) -> usize {
            self.models.iter().map(Model::serialized_len).sum()
        }
        fn views(&self) -> Vec<ModelView<'_>> {
            self.models.iter().map(Model::view).collect()
        }

        /// Entropy codes `n` fixed-rate codes (`codes.len() = n · code_len()`).
        ///
        /// # Errors
        /// [`Error::DimensionMismatch`] for partial codes; inner `split_symbols` errors;
        /// [`Error::Overflow`] for more than 4 GiB of data.
        pub fn encode_codes(&self, codes: &[u8]) -> Result<CodedBlocks> {
            let cl = self.inner.code_len();
            let spv = self.inner.symbols_per_vector();
            let side = self.inner.side_len();
            let n = crate::codec::batch_rows(codes.len(), cl)?;
            let views = self.views();
            let bv = self.block_vectors;
            // `train_with` bounded `bv · spv` and `bv · side`; only a block's worth is allocated.
            let nb_max = bv.min(n);
            let mut syms = vec![0u16; nb_max * spv];
            let mut sides = vec![0u8; nb_max * side];
            let mut stream = vec![0u8; word::max_encoded_len(nb_max * spv, LANES)];
            let mut out =
                CodedBlocks { n, dim: self.inner.dim(), block_vectors: bv, offsets: Vec::new(), data: Vec::new() };
            let mut start = 0;
            while start < n {
                let nb = (n - start).min(bv);
                for i in 0..nb {
                    let code = &codes[(start + i) * cl..(start + i + 1) * cl];
                    self.inner.split_symbols(
                        code,
                        &mut syms[i * spv..(i + 1) * spv],
                        &mut sides[i * side..(i + 1) * side],
                    )?;
                }
                out.data.extend_from_slice(&sides[..nb * side]);
                let len = word::encode_multi(&views, LANES, &syms[..nb * spv], &mut stream)?;
                out.data.extend_from_slice(&stream[..len]);
                out.offsets.push(u32::try_from(out.data.len()).map_err(|_| Error::Overflow)?);
                start += nb;
            }
            Ok(out)
        }

        /// Encodes `xs` (row-major vectors) with the inner codec and entropy codes the codes.
        ///
        /// # Errors
        /// The inner codec's `encode_batch` errors; as [`encode_codes`](Self::encode_codes).
        pub fn encode_batch(&self, xs: &[f32]) -> Result<CodedBlocks> {
            let n = crate::codec::batch_rows(xs.len(), self.inner.dim())?;
            let mut codes = vec![0u8; n * self.inner.code_len()];
            self.inner.encode_batch(xs, &mut codes)?;
            self.encode_codes(&codes)
        }

        /// Decodes block `b` into its fixed-rate codes (`nb · code_len()` bytes).
        ///
        /// # Errors
        /// As [`decode_block_with`].
        pub fn decode_block(&self, blocks: &CodedBlocks, b: usize, codes: &mut [u8]) -> Result<()> {
            blocks.check()?;
            let (bytes, nb) = blocks.block(b)?;
            let ns = block_symbols(blocks.block_vectors, self.inner.symbols_per_vector())
                .ok_or(Error::Corrupt("entropy-coded blocks: block too large"))?;
            let mut syms = vec![0u16; ns];
            decode_block_with(&self.inner, &self.views(), bytes, nb, &mut syms, codes)
        }

        /// Decodes every code of the collection (`n · code_len()` bytes).
        ///
        /// # Errors
        /// As [`decode_block`](Self::decode_block).
        pub fn decode_codes(&self, blocks: &CodedBlocks, codes: &mut [u8]) -> Result<()> {
            blocks.check()?;
            let cl = self.inner.code_len();
            let expected = blocks.n.checked_mul(cl).ok_or(Error::Overflow)?;
            if codes.len() != expected {
                return Err(Error::CodeLength { expected, got: codes.len() });
            }
            let ns = block_symbols(blocks.block_vectors, self.inner.symbols_per_vector())
                .ok_or(Error::Corrupt("entropy-coded blocks: block too large"))?;
            let views = self.views();
            let mut syms = vec![0u16; ns];
            let mut at = 0;
            for b in 0..blocks.n_blocks() {
                let (bytes, nb) = blocks.block(b)?;
                let end = at + nb * cl; // ≤ n · cl: `check` bounds the blocks by `n`
                let dst = codes.get_mut(at..end).ok_or(Error::Corrupt("block vector counts"))?;
                decode_block_with(&self.inner, &views, bytes, nb, &mut syms, dst)?;
                at = end;
            }
            Ok(())
        }

        /// Decodes vector `i` to floats (decodes its block).
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] for `i ≥ n`; as [`decode_block`](Self::decode_block) and
        /// the inner codec's `decode_into`.
        pub fn decode_vector(&self, blocks: &CodedBlocks, i: usize, out: &mut [f32]) -> Result<()>
        where
            C: Decode,
        {
            blocks.check()?;
            if i >= blocks.n {
                return Err(Error::InvalidParameter("vector index out of range"));
            }
            let b = i / blocks.block_vectors;
            let (_, nb) = blocks.block(b)?;
            let cl = self.inner.code_len();
            let mut codes = vec![0u8; nb * cl];
            self.decode_block(blocks, b, &mut codes)?;
            let j = i - b * blocks.block_vectors;
            self.inner.decode_into(&codes[j * cl..(j + 1) * cl], out)
        }
    }

    impl<C: Symbols> EntropyCoded<C> {
        /// Vectors per block of the stored form.
        pub fn block_vectors(&self) -> usize {
            self.block_vectors
        }

        /// The stored (entropy-coded) form of `codes` (`n · code_len()` bytes of the inner codec):
        /// [`encode_codes`](Self::encode_codes) written with [`CodedBlocks::to_bytes`].
        ///
        /// # Errors
        /// As [`encode_codes`](Self::encode_codes).
        pub fn compress(&self, codes: &[u8]) -> Result<Vec<u8>> {
            self.encode_codes(codes)?.to_bytes()
        }

        /// The fixed-rate codes of a stored form written by [`compress`](Self::compress). Total
        /// on arbitrary bytes. Every block needs a 4-byte offset, so the codes allocated are at
        /// most `block_vectors · code_len` bytes per 4 input bytes.
        ///
        /// # Errors
        /// As [`CodedBlocks::from_bytes`] and [`decode_codes`](Self::decode_codes).
        pub fn decompress(&self, stored: &[u8]) -> Result<Vec<u8>> {
            let blocks = CodedBlocks::from_bytes(stored, self.inner.dim(), self.block_vectors)?;
            let cl = self.inner.code_len();
            let mut codes = vec![0u8; blocks.n.checked_mul(cl).ok_or(Error::Overflow)?];
            self.decode_codes(&blocks, &mut codes)?;
            Ok(codes)
        }
    }

    /// `C`'s encoders (the fixed-rate codes; [`encode_codes`](EntropyCoded::encode_codes)
    /// entropy-codes them).
    impl<C: Symbols> Codec for EntropyCoded<C> {
        crate::codec::forward_codec!(inner);
    }

    impl<C: Symbols + Decode> Decode for EntropyCoded<C> {
        crate::codec::forward_decode!(inner);
    }

    /// `C`'s scorer on `C`'s (fixed-rate) codes, including its search layout and re-rank.
    impl<C: Symbols + Score> Score for EntropyCoded<C> {
        type Query<'s>
            = C::Query<'s>
        where
            Self: 's;
        crate::codec::forward_score!(inner; estimator, rerank_factor);
    }

    impl<C: Symbols + ScanModes> ScanModes for EntropyCoded<C> {
        fn scan_mode(&self) -> ScanMode {
            self.inner.scan_mode()
        }
        fn with_scan(self, mode: ScanMode) -> Result<Self> {
            Ok(EntropyCoded { inner: self.inner.with_scan(mode)?, ..self })
        }
    }

    /// `C`'s parameters, then `u32 block_vectors`, `u32` model count (1 or
    /// `symbols_per_vector`) and each model's payload (`u8 scale_bits, u32 alphabet`, LEB128
    /// frequencies). Restore checks every model's alphabet against `C`'s and the decode tables
    /// against [`MAX_TABLE_ENTRIES`] before building them.
    impl<C: Symbols + crate::persist::Persist> crate::persist::Persist for EntropyCoded<C> {
        fn persist(&self, w: &mut crate::format::Writer) {
            self.inner.persist(w);
            w.u32(self.block_vectors as u32).u32(self.models.len() as u32);
            for m in &self.models {
                m.write_payload(w);
            }
        }
        fn restore(r: &mut Reader<'_>) -> Result<Self> {
            let inner = C::restore(r)?;
            let block_vectors = r.count(MAX_BLOCK_VECTORS, "entropy block_vectors above 2^16")?;
            let spv = inner.symbols_per_vector();
            if block_vectors == 0 || block_vectors.saturating_mul(spv) > MAX_BLOCK_SYMBOLS {
                return Err(Error::Corrupt("entropy block_vectors outside 1..=2^24 / symbols_per_vector"));
            }
            let k = inner.alphabet_size() as usize;
            let count = r.u32()? as usize;
            if spv == 0 || (count != 1 && count != spv) {
                return Err(Error::Corrupt("entropy model count is neither 1 nor symbols_per_vector"));
            }
            // A model payload is at least 5 + alphabet bytes.
            if count > r.remaining() / (5 + k) {
                return Err(Error::Truncated);
            }
            let mut models = Vec::with_capacity(count);
            let mut entries = 0usize;
            for _ in 0..count {
                let scale = u32::from(r.clone().u8()?).min(31);
                entries = entries.saturating_add(1usize << scale);
                if entries > MAX_TABLE_ENTRIES {
                    return Err(Error::Corrupt("entropy models: decode tables above MAX_TABLE_ENTRIES"));
                }
                if scale > word::MAX_SCALE_BITS {
                    return Err(Error::Corrupt("entropy model scale above 15"));
                }
                let m = Model::read_payload(r)?;
                if m.alphabet_size() != k {
                    return Err(Error::Corrupt("entropy model alphabet differs from the codec's"));
                }
                models.push(m);
            }
            Ok(EntropyCoded { inner, models, block_vectors })
        }
    }

    /// The norm of [`WithNorm`](crate::metric::WithNorm) is one more side field: `C`'s symbols,
    /// then `C`'s side bytes and the 4 norm bytes, stored raw.
    impl<C: Symbols + Decode + Score> Symbols for crate::metric::WithNorm<C> {
        fn symbols_per_vector(&self) -> usize {
            self.inner.symbols_per_vector()
        }
        fn alphabet_size(&self) -> u32 {
            self.inner.alphabet_size()
        }
        fn side_len(&self) -> usize {
            self.inner.side_len() + 4
        }
        fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
            crate::error::check_code(self.code_len(), code.len())?;
            crate::error::check_code(self.side_len(), side.len())?;
            let c = self.inner.code_len();
            let s = self.inner.side_len();
            self.inner.split_symbols(&code[..c], symbols, &mut side[..s])?;
            side[s..].copy_from_slice(&code[c..]);
            Ok(())
        }
        fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
            crate::error::check_code(self.code_len(), code.len())?;
            crate::error::check_code(self.side_len(), side.len())?;
            let c = self.inner.code_len();
            let s = self.inner.side_len();
            self.inner.join_symbols(symbols, &side[..s], &mut code[..c])?;
            code[c..].copy_from_slice(&side[s..]);
            Ok(())
        }
    }
}
