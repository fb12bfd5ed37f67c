//! [`TokenValues`]: values quantized per token with grouped scales.

use alloc::vec::Vec;

use super::{TokenBlock, check_attend, check_logits, check_shape, pack};
use crate::codec::{Codec, Decode};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::scalar::side::SideFormat;

/// Values of one head quantized per token: every group of `g` consecutive channels of a token
/// has its own scale, and each coordinate a `b`-bit code (KIVI's per-token value quantization).
///
/// **Code of one token**: for each of the `d/g` groups its parameters in the [`SideFormat`] —
/// asymmetric: offset `lo` and step `Δ` (range `[min, max]` of the group); symmetric: the step
/// only, `lo = −Δ·(2^b − 1)/2` (range `±absmax`) — then the `d` codes packed LSB-first at `b`
/// bits. Coordinate `c` decodes to `lo + Δ·code_c`. A block is `B` token codes one after the
/// other (`dim() = B·d`); tokens are independent, so any `B ≥ 1` works and `B = 1` is a
/// per-vector codec.
///
/// **Bits per dimension**: `b + k·8·s/g` with `k` = 2 (asymmetric) or 1 (symmetric) side values
/// of `s` bytes per group: `b = 2, g = 32`, symmetric `f16`: 2.5; asymmetric: 3.0.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenValues {
    d: usize,
    tokens: usize,
    bits: usize,
    group: usize,
    symmetric: bool,
    side: SideFormat,
}

impl TokenValues {
    /// Values of head dimension `d`, `tokens` tokens per block, `bits ∈ 1..=8`, groups of
    /// `group` channels, symmetric (absmax, one scale) or asymmetric (min/max, offset + step).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `d` is a multiple of 8 in `8..=1024`, `tokens·d ≤
    /// 65536`, `bits ∈ 1..=8`, and `group` divides `d`.
    pub fn new(d: usize, tokens: usize, bits: u32, group: usize, symmetric: bool, side: SideFormat) -> Result<Self> {
        check_shape(d, tokens)?;
        if !d.is_multiple_of(8) {
            return Err(Error::InvalidParameter("TokenValues: head dimension must be a multiple of 8"));
        }
        if !(1..=8).contains(&bits) {
            return Err(Error::InvalidParameter("TokenValues: bits must be in 1..=8"));
        }
        if group == 0 || !d.is_multiple_of(group) {
            return Err(Error::InvalidParameter("TokenValues: group must divide the head dimension"));
        }
        Ok(TokenValues { d, tokens, bits: bits as usize, group, symmetric, side })
    }

    /// Code bits per coordinate.
    pub fn bits(&self) -> u32 {
        self.bits as u32
    }
    /// Channels per scale group.
    pub fn group(&self) -> usize {
        self.group
    }
    /// Whether groups are symmetric (absmax).
    pub fn symmetric(&self) -> bool {
        self.symmetric
    }
    /// The side format of the scales.
    pub fn side(&self) -> SideFormat {
        self.side
    }

    fn per_group(&self) -> usize {
        if self.symmetric { 1 } else { 2 }
    }

    /// Bytes of one token's code.
    pub fn token_len(&self) -> usize {
        self.d / self.group * self.per_group() * self.side.bytes() + self.d / 8 * self.bits
    }

    fn levels(&self) -> f32 {
        ((1u32 << self.bits) - 1) as f32
    }

    /// Offset and step of group `g` of a token code.
    fn group_params(&self, tok: &[u8], g: usize) -> Result<(f32, f32)> {
        let s = self.side.bytes();
        let at = g * self.per_group() * s;
        let (lo, st) = if self.symmetric {
            let st = self.side.read(&tok[at..])?;
            (-st * self.levels() * 0.5, st)
        } else {
            (self.side.read(&tok[at..])?, self.side.read(&tok[at + s..])?)
        };
        if !lo.is_finite() || !st.is_finite() || st < 0.0 || !(libm::fabsf(lo) + st * 255.0).is_finite() {
            return Err(Error::Corrupt("TokenValues: offset or step not finite, or negative step"));
        }
        Ok((lo, st))
    }

    fn encode_token(&self, x: &[f32], tok: &mut [u8]) -> Result<()> {
        let (s, b, levels) = (self.side.bytes(), self.bits, self.levels());
        let hdr = self.d / self.group * self.per_group() * s;
        let (head, payload) = tok.split_at_mut(hdr);
        let mut codes = [0u8; 8];
        for (g, xs) in x.chunks_exact(self.group).enumerate() {
            if self.symmetric {
                let a = xs.iter().fold(0f32, |m, v| m.max(libm::fabsf(*v)));
                let st = self.side.round(2.0 * a / levels)?;
                self.side.write(st, &mut head[g * s..])?;
            } else {
                let mn = xs.iter().fold(f32::INFINITY, |m, &v| m.min(v));
                let mx = xs.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let lo = self.side.round(mn)?;
                let st = self.side.round((mx - lo) / levels)?;
                self.side.write(lo, &mut head[2 * g * s..])?;
                self.side.write(st, &mut head[2 * g * s + s..])?;
            }
        }
        // The codes, 8 at a time, against the stored (rounded) offsets and steps.
        for (i, (xs, o)) in x.chunks_exact(8).zip(payload.chunks_exact_mut(b)).enumerate() {
            for (j, (q, &v)) in codes.iter_mut().zip(xs).enumerate() {
                let (lo, st) = self.group_params(head, (8 * i + j) / self.group)?;
                *q = if st > 0.0 { libm::floorf((v - lo) / st + 0.5).clamp(0.0, levels) as u8 } else { 0 };
            }
            pack::pack(&codes, b, o);
        }
        Ok(())
    }

    fn decode_token(&self, tok: &[u8], out: &mut [f32]) -> Result<()> {
        let b = self.bits;
        let hdr = self.d / self.group * self.per_group() * self.side.bytes();
        let mut codes = [0u8; super::MAX_HEAD_DIM];
        pack::unpack(&tok[hdr..], b, &mut codes[..self.d]);
        for (g, (o, c)) in out.chunks_exact_mut(self.group).zip(codes.chunks_exact(self.group)).enumerate() {
            let (lo, st) = self.group_params(tok, g)?;
            o.iter_mut().zip(c).for_each(|(o, &q)| *o = lo + st * f32::from(q));
        }
        Ok(())
    }

    /// Saves the parameters (kind [`super::KIND`], sub-tag 2).
    ///
    /// # Errors
    /// Never in practice.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(2), self)
    }

    /// Reads parameters saved by [`to_bytes`](TokenValues::to_bytes).
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for a wrong sub-tag or invalid fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((2, "KV: not TokenValues parameters")))
    }
}

impl Codec for TokenValues {
    /// `B·d`.
    fn dim(&self) -> usize {
        self.tokens * self.d
    }
    fn code_len(&self) -> usize {
        self.tokens * self.token_len()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf; [`Error::Overflow`] if a scale does not
    /// fit the side format.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        for (xt, tok) in x.chunks_exact(self.d).zip(code.chunks_exact_mut(self.token_len())) {
            self.encode_token(xt, tok)?;
        }
        Ok(())
    }
}

impl Decode for TokenValues {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        for (tok, o) in code.chunks_exact(self.token_len()).zip(out.chunks_exact_mut(self.d)) {
            self.decode_token(tok, o)?;
        }
        Ok(())
    }
}

impl TokenBlock for TokenValues {
    fn head_dim(&self) -> usize {
        self.d
    }
    fn block_tokens(&self) -> usize {
        self.tokens
    }
    /// Per token: `Σ_g (lo_g·Σ_{c∈g} q_c + Δ_g·Σ_{c∈g} q_c·code_c)`.
    fn logits(&self, q: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_logits(self, q, code, out)?;
        let (b, gsz) = (self.bits, self.group);
        let hdr = self.d / gsz * self.per_group() * self.side.bytes();
        let mut qs = [0f32; super::MAX_HEAD_DIM];
        for (s, g) in qs.iter_mut().zip(q.chunks_exact(gsz)) {
            *s = g.iter().sum();
        }
        let mut codes = [0f32; super::MAX_HEAD_DIM];
        for (tok, o) in code.chunks_exact(self.token_len()).zip(out.iter_mut()) {
            pack::unpack_f32(&tok[hdr..], b, &mut codes[..self.d]);
            let mut acc = 0f32;
            for (g, (qg, cg)) in q.chunks_exact(gsz).zip(codes.chunks_exact(gsz)).enumerate() {
                let (lo, st) = self.group_params(tok, g)?;
                let dot: f32 = qg.iter().zip(cg).map(|(a, b)| a * b).sum();
                acc += lo * qs[g] + st * dot;
            }
            *o = acc;
        }
        Ok(())
    }

    /// Per token: `out_c += (p_t·Δ_g)·code_c + p_t·lo_g`.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_attend(self, p, code, out)?;
        let (b, gsz) = (self.bits, self.group);
        let hdr = self.d / gsz * self.per_group() * self.side.bytes();
        let mut codes = [0f32; super::MAX_HEAD_DIM];
        for (tok, &pt) in code.chunks_exact(self.token_len()).zip(p) {
            pack::unpack_f32(&tok[hdr..], b, &mut codes[..self.d]);
            for (g, (og, cg)) in out.chunks_exact_mut(gsz).zip(codes.chunks_exact(gsz)).enumerate() {
                let (lo, st) = self.group_params(tok, g)?;
                let (a, c0) = (pt * st, pt * lo);
                og.iter_mut().zip(cg).for_each(|(o, &c)| *o += a * c + c0);
            }
        }
        if out.iter().all(|v| v.is_finite()) { Ok(()) } else { Err(Error::Corrupt("TokenValues: output not finite")) }
    }
}

/// Saved as `u32 d, u32 tokens, u8 bits, u32 group, u8 symmetric, u8 side`.
impl crate::persist::Persist for TokenValues {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.d as u32).u32(self.tokens as u32).u8(self.bits as u8).u32(self.group as u32);
        w.u8(u8::from(self.symmetric)).u8(self.side.tag());
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let d = crate::persist::read_dim(r, super::MAX_HEAD_DIM, "TokenValues: head dimension too large")?;
        let tokens = crate::persist::read_dim(r, crate::persist::MAX_DIM, "TokenValues: too many tokens")?;
        let bits = u32::from(r.u8()?);
        let group = crate::persist::read_dim(r, super::MAX_HEAD_DIM, "TokenValues: group too large")?;
        let symmetric = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Error::Corrupt("TokenValues: symmetric flag")),
        };
        let side = SideFormat::from_tag(r.u8()?)?;
        TokenValues::new(d, tokens, bits, group, symmetric, side).map_err(|_| Error::Corrupt("TokenValues: parameters"))
    }
}
