//! [`KvCache`]: a growing KV cache of one head with KIVI's residual block.

use alloc::vec::Vec;

use super::TokenBlock;
use crate::error::{Error, Result, check_dim, check_finite};
use crate::scalar::side::SideFormat;

/// The KV cache of one attention head: full blocks of `B` tokens are stored as codes of the key
/// codec `K` and the value codec `V`; the newest `< B` tokens wait in a residual block at the
/// residual precision (`f16` or `f32`) until the block fills and is encoded (KIVI).
///
/// Appending tokens one at a time gives exactly the codes of encoding each full block at once
/// (of the inputs rounded to the residual precision; with `SideFormat::F32` of the inputs
/// themselves). [`attention`](KvCache::attention) computes `softmax(s·q·K̂ᵀ)·V̂` over all tokens
/// from the codes (and the residual block's stored floats) without decoding a block.
///
/// **Stored bits**: [`stored_bits`](KvCache::stored_bits) counts every code byte and the
/// residual tokens at their precision.
#[derive(Clone, Debug)]
pub struct KvCache<K, V> {
    keys: K,
    values: V,
    residual: SideFormat,
    key_codes: Vec<u8>,
    value_codes: Vec<u8>,
    res_keys: Vec<f32>,
    res_values: Vec<f32>,
    blocks: usize,
}

impl<K: TokenBlock, V: TokenBlock> KvCache<K, V> {
    /// An empty cache. `residual` is the precision of the residual block (`F16` or `Bf16`
    /// round each appended coordinate; `F32` keeps it).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `K` and `V` have the same head dimension and block
    /// tokens.
    pub fn new(keys: K, values: V, residual: SideFormat) -> Result<Self> {
        if keys.head_dim() != values.head_dim() || keys.block_tokens() != values.block_tokens() {
            return Err(Error::InvalidParameter("KvCache: key and value codecs must share d and B"));
        }
        Ok(KvCache {
            keys,
            values,
            residual,
            key_codes: Vec::new(),
            value_codes: Vec::new(),
            res_keys: Vec::new(),
            res_values: Vec::new(),
            blocks: 0,
        })
    }

    /// Head dimension `d`.
    pub fn head_dim(&self) -> usize {
        self.keys.head_dim()
    }
    /// Tokens in the cache.
    pub fn len(&self) -> usize {
        self.blocks * self.keys.block_tokens() + self.res_keys.len() / self.head_dim()
    }
    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Full (encoded) blocks.
    pub fn blocks(&self) -> usize {
        self.blocks
    }
    /// The key codes of the full blocks (`blocks() · K::code_len()` bytes).
    pub fn key_codes(&self) -> &[u8] {
        &self.key_codes
    }
    /// The value codes of the full blocks.
    pub fn value_codes(&self) -> &[u8] {
        &self.value_codes
    }
    /// The key codec.
    pub fn key_codec(&self) -> &K {
        &self.keys
    }
    /// The value codec.
    pub fn value_codec(&self) -> &V {
        &self.values
    }

    /// Bits stored for keys and for values: the codes plus the residual tokens at their
    /// precision.
    pub fn stored_bits(&self) -> (usize, usize) {
        let r = self.res_keys.len() * self.residual.bits();
        (8 * self.key_codes.len() + r, 8 * self.value_codes.len() + r)
    }

    /// Appends one token's key and value (`d` floats each); encodes the residual block when it
    /// fills.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::NonFinite`]; [`Error::Overflow`] where the
    /// residual precision cannot hold a value; the codecs' errors when a block is encoded (the
    /// cache is then unchanged but for the token, which stays in the residual block).
    pub fn append(&mut self, k: &[f32], v: &[f32]) -> Result<()> {
        let d = self.head_dim();
        check_dim(d, k.len())?;
        check_dim(d, v.len())?;
        check_finite(k)?;
        check_finite(v)?;
        for &x in k.iter().chain(v) {
            self.residual.round(x)?;
        }
        let f = self.residual;
        self.res_keys.extend(k.iter().map(|&x| f.round(x).unwrap_or(x)));
        self.res_values.extend(v.iter().map(|&x| f.round(x).unwrap_or(x)));
        if self.res_keys.len() == self.keys.dim() {
            let (kl, vl) = (self.keys.code_len(), self.values.code_len());
            let (k0, v0) = (self.key_codes.len(), self.value_codes.len());
            self.key_codes.resize(k0 + kl, 0);
            self.value_codes.resize(v0 + vl, 0);
            let r = self
                .keys
                .encode_into(&self.res_keys, &mut self.key_codes[k0..])
                .and_then(|_| self.values.encode_into(&self.res_values, &mut self.value_codes[v0..]));
            if let Err(e) = r {
                self.key_codes.truncate(k0);
                self.value_codes.truncate(v0);
                self.res_keys.truncate(self.res_keys.len() - d);
                self.res_values.truncate(self.res_values.len() - d);
                return Err(e);
            }
            self.res_keys.clear();
            self.res_values.clear();
            self.blocks += 1;
        }
        Ok(())
    }

    /// The logits `⟨q, k̂_t⟩` of every token (`out.len() == len()`), from the codes of the full
    /// blocks and the stored residual keys.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::NonFinite`]; the codec's errors.
    pub fn logits(&self, q: &[f32], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.head_dim(), self.keys.block_tokens());
        check_dim(d, q.len())?;
        check_dim(self.len(), out.len())?;
        let kl = self.keys.code_len();
        let (full, rest) = out.split_at_mut(self.blocks * b);
        for (code, o) in self.key_codes.chunks_exact(kl.max(1)).zip(full.chunks_exact_mut(b)) {
            self.keys.logits(q, code, o)?;
        }
        for (k, o) in self.res_keys.chunks_exact(d).zip(rest.iter_mut()) {
            *o = crate::simd::dot(q, k);
        }
        Ok(())
    }

    /// Attention of one query: `out = softmax(scale·q·K̂ᵀ)·V̂` over every token, from the codes.
    /// `logits` is caller scratch of `len()` floats (it holds the attention weights on return).
    /// An empty cache gives `out = 0`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::NonFinite`] for a NaN/inf query or scale; the
    /// codecs' errors.
    pub fn attention(&self, q: &[f32], scale: f32, logits: &mut [f32], out: &mut [f32]) -> Result<()> {
        let (d, b) = (self.head_dim(), self.keys.block_tokens());
        check_dim(d, out.len())?;
        if !scale.is_finite() {
            return Err(Error::NonFinite);
        }
        self.logits(q, logits)?;
        out.fill(0.0);
        if logits.is_empty() {
            return Ok(());
        }
        let m = logits.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v * scale));
        let mut s = 0f32;
        for l in logits.iter_mut() {
            *l = libm::expf(*l * scale - m);
            s += *l;
        }
        let inv = 1.0 / s;
        logits.iter_mut().for_each(|l| *l *= inv);
        let vl = self.values.code_len();
        let (full, rest) = logits.split_at(self.blocks * b);
        for (code, p) in self.value_codes.chunks_exact(vl.max(1)).zip(full.chunks_exact(b)) {
            self.values.attend(p, code, out)?;
        }
        for (v, &p) in self.res_values.chunks_exact(d).zip(rest) {
            out.iter_mut().zip(v).for_each(|(o, &x)| *o += p * x);
        }
        Ok(())
    }
}
