//! Single-state rANS coders (Duda's asymmetric numeral systems, range variant; SPECS §11).
//!
//! * [`rans32`]: 32-bit state `x ∈ [2^23, 2^31)`, byte-wise renormalisation, flushed as 4 bytes.
//! * [`rans64`]: 64-bit state `x ∈ [2^31, 2^63)`, 32-bit word renormalisation (at most one word
//!   per symbol), flushed as 8 bytes.
//!
//! Symbol `s` with frequency `f_s` and cumulative `c_s` (scale `M = 2^n`) maps the state `x` to
//! `⌊x/f_s⌋·M + (x mod f_s) + c_s`, computed division-free with the reciprocals of
//! [`EncSym`](super::model::EncSym). The encoder runs backwards over the symbols and writes the
//! stream from the end of the caller's buffer; the result is moved to the buffer's front. The
//! decoder reads forwards, needs no allocator, and checks at the end that the state is back at
//! `L` and every byte was consumed (so most corruption is detected).
//!
//! Output size: `Σ −log2(f_s/M)` bits plus at most the flushed state (4 resp. 8 bytes) and one
//! partially used renormalisation unit.
//!
//! Every symbol `i` is coded with `models[i % models.len()]`, so a slice of one model is a
//! static coder and a slice of `d` models is a per-position coder.

use super::model::{ModelView, unpack_slot};
use crate::error::{Error, Result};

#[inline]
fn check_models(models: &[ModelView<'_>]) -> Result<()> {
    if models.is_empty() { Err(Error::InvalidParameter("no model given")) } else { Ok(()) }
}

/// Moves `out[pos..]` to the front and returns its length.
#[inline]
pub(crate) fn move_to_front(out: &mut [u8], pos: usize) -> usize {
    let len = out.len() - pos;
    out.copy_within(pos.., 0);
    len
}

macro_rules! rans_impl {
    ($name:ident, $doc:literal, $state:ty, $word:ty, $lbits:expr, $step:ident) => {
        #[doc = $doc]
        pub mod $name {
            use super::*;

            /// Lower bound `L` of the normalized state interval.
            pub const L: $state = 1 << $lbits;
            const WBITS: u32 = <$word>::BITS;
            const WBYTES: usize = (<$word>::BITS / 8) as usize;
            const SBYTES: usize = (<$state>::BITS / 8) as usize;

            /// An upper bound on the encoded size of `n` symbols (any models with `n ≤ 16`).
            pub const fn max_encoded_len(n: usize) -> usize {
                n * (16usize.div_ceil(WBITS as usize / 8 * 8) * WBYTES) + SBYTES
            }

            /// Encodes `symbols` (symbol `i` with `models[i % models.len()]`) into the front of
            /// `out` and returns the number of bytes written.
            ///
            /// # Errors
            /// [`Error::InvalidParameter`] if `models` is empty or a symbol has zero frequency;
            /// [`Error::BufferTooSmall`] if `out` is too short (see [`max_encoded_len`]).
            pub fn encode_multi(models: &[ModelView<'_>], symbols: &[u16], out: &mut [u8]) -> Result<usize> {
                check_models(models)?;
                let too_small = Error::BufferTooSmall { needed: max_encoded_len(symbols.len()), got: out.len() };
                let mut x: $state = L;
                let mut pos = out.len();
                let p = models.len();
                for (i, &s) in symbols.iter().enumerate().rev() {
                    let m = &models[i % p];
                    let e = m.sym(s)?;
                    let x_max: u128 = (u128::from(L >> m.scale_bits()) << WBITS) * u128::from(e.freq);
                    while u128::from(x) >= x_max {
                        if pos < WBYTES {
                            return Err(too_small);
                        }
                        pos -= WBYTES;
                        out[pos..pos + WBYTES].copy_from_slice(&(x as $word).to_le_bytes());
                        x >>= WBITS;
                    }
                    x = e.$step(x);
                }
                if pos < SBYTES {
                    return Err(too_small);
                }
                pos -= SBYTES;
                out[pos..pos + SBYTES].copy_from_slice(&x.to_le_bytes());
                Ok(move_to_front(out, pos))
            }

            /// Encodes with one static model. See [`encode_multi`].
            ///
            /// # Errors
            /// As [`encode_multi`].
            pub fn encode(model: &ModelView<'_>, symbols: &[u16], out: &mut [u8]) -> Result<usize> {
                encode_multi(core::slice::from_ref(model), symbols, out)
            }

            /// Encodes into a new `Vec` (feature `alloc`).
            ///
            /// # Errors
            /// As [`encode_multi`].
            #[cfg(feature = "alloc")]
            pub fn encode_vec(models: &[ModelView<'_>], symbols: &[u16]) -> Result<alloc::vec::Vec<u8>> {
                let mut out = alloc::vec![0u8; max_encoded_len(symbols.len())];
                let n = encode_multi(models, symbols, &mut out)?;
                out.truncate(n);
                Ok(out)
            }

            /// Decodes `out.len()` symbols from `input` (symbol `i` with `models[i % len]`).
            /// Needs no allocator; total on arbitrary bytes.
            ///
            /// # Errors
            /// [`Error::Truncated`] if the stream ends early; [`Error::Corrupt`] for an initial
            /// state outside `[L, L·2^w)`, a final state `≠ L` or unread trailing bytes;
            /// [`Error::InvalidParameter`] if `models` is empty.
            pub fn decode_multi(models: &[ModelView<'_>], input: &[u8], out: &mut [u16]) -> Result<()> {
                check_models(models)?;
                let head = input.get(..SBYTES).ok_or(Error::Truncated)?;
                let mut b = [0u8; SBYTES];
                b.copy_from_slice(head);
                let mut x = <$state>::from_le_bytes(b);
                if x < L || (x >> WBITS) >= L {
                    return Err(Error::Corrupt("rANS initial state out of range"));
                }
                let mut pos = SBYTES;
                let p = models.len();
                for (i, o) in out.iter_mut().enumerate() {
                    let m = &models[i % p];
                    let n = m.scale_bits();
                    let (s, bias, f) = unpack_slot(m.entry(x as usize));
                    *o = s;
                    x = <$state>::from(f) * (x >> n) + <$state>::from(bias);
                    while x < L {
                        let w = input.get(pos..pos + WBYTES).ok_or(Error::Truncated)?;
                        let mut wb = [0u8; WBYTES];
                        wb.copy_from_slice(w);
                        x = (x << WBITS) | <$state>::from(<$word>::from_le_bytes(wb));
                        pos += WBYTES;
                    }
                }
                if x != L {
                    return Err(Error::Corrupt("rANS final state is not L"));
                }
                if pos != input.len() {
                    return Err(Error::Corrupt("rANS stream has trailing bytes"));
                }
                Ok(())
            }

            /// Decodes with one static model. See [`decode_multi`].
            ///
            /// # Errors
            /// As [`decode_multi`].
            pub fn decode(model: &ModelView<'_>, input: &[u8], out: &mut [u16]) -> Result<()> {
                decode_multi(core::slice::from_ref(model), input, out)
            }
        }
    };
}

rans_impl!(
    rans32,
    "rANS with a 32-bit state in `[2^23, 2^31)` and byte-wise renormalisation (`rans_byte`).",
    u32,
    u8,
    23,
    step32
);
rans_impl!(
    rans64,
    "rANS with a 64-bit state in `[2^31, 2^63)` and 32-bit word renormalisation (`rans64`).",
    u64,
    u32,
    31,
    step64
);
