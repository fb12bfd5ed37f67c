//! [`TokenValues`]: values quantized per token with grouped scales.

use alloc::vec::Vec;

use super::{TokenBlock, check_attend, check_logits, check_shape, pack};
use crate::codec::{Codec, Decode};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::scalar::side::SideFormat;

/// Weights per call of the attention kernel (`tokens × d/8`, on the stack: 2 KiB).
const ATTEND_WEIGHTS: usize = 512;

/// Groups whose parameters are read at a time when decoding a token.
const PARAMS: usize = 64;

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

    /// Offsets and steps of groups `g0 .. g0 + lo.len()` of a token code into `lo` and `st`
    /// (the values and checks of [`group_params`](Self::group_params), with the side format
    /// matched once and one branch for the checks).
    #[inline(always)]
    fn params_into(&self, tok: &[u8], g0: usize, lo: &mut [f32], st: &mut [f32]) -> Result<()> {
        let (s, k) = (self.side.bytes(), self.per_group());
        let head = &tok[g0 * k * s..];
        if self.symmetric {
            self.side.read_strided(head, s, st);
            let levels = self.levels();
            lo.iter_mut().zip(st.iter()).for_each(|(l, &st)| *l = -st * levels * 0.5);
        } else {
            self.side.read_strided(head, 2 * s, lo);
            self.side.read_strided(&head[s..], 2 * s, st);
        }
        // `|lo| + 255·Δ` finite implies both finite (NaN and ±inf propagate).
        let ok = lo
            .iter()
            .zip(st.iter())
            .fold(true, |ok, (&l, &st)| ok & (st >= 0.0) & (libm::fabsf(l) + st * 255.0).is_finite());
        if ok { Ok(()) } else { Err(Error::Corrupt("TokenValues: offset or step not finite, or negative step")) }
    }

    /// The kernel weights of a run of token codes `toks` with attention weights `ps`:
    /// `w[t·d/8 + j] = p_t·Δ_{t,g}` for the 8-channel groups `j` of scale group `g`, and
    /// `offsets[g] += p_t·lo_{t,g}`; `false` if any group's parameters fail the checks of
    /// [`group_params`](Self::group_params). `SYM` and the side-value reader `read` (`S`
    /// bytes) are fixed per copy, so the loop has no format branch.
    #[inline(always)]
    fn weights<const SYM: bool, const S: usize>(
        &self,
        toks: &[u8],
        ps: &[f32],
        w: &mut [f32],
        offsets: &mut [f32],
        read: impl Fn(&[u8]) -> f32,
    ) -> bool {
        let (k, per, levels) = (self.d / 8, self.group / 8, self.levels());
        let head = offsets.len() * if SYM { S } else { 2 * S };
        let mut ok = true;
        for ((tok, &pt), wt) in toks.chunks_exact(self.token_len()).zip(ps).zip(w.chunks_exact_mut(k)) {
            let params = &tok[..head];
            for (g, (wg, c)) in wt.chunks_exact_mut(per).zip(offsets.iter_mut()).enumerate() {
                let (lo, st) = if SYM {
                    let st = read(&params[g * S..]);
                    (-st * levels * 0.5, st)
                } else {
                    (read(&params[2 * g * S..]), read(&params[2 * g * S + S..]))
                };
                ok &= (st >= 0.0) & (libm::fabsf(lo) + st * 255.0).is_finite();
                // Groups of 32 channels (4 weights) as one store, not a loop of four.
                match <&mut [f32; 4]>::try_from(&mut *wg) {
                    Ok(w4) => *w4 = [pt * st; 4],
                    Err(_) => wg.fill(pt * st),
                }
                *c += pt * lo;
            }
        }
        ok
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
        // The codes as floats straight into `out`, then `lo + Δ·code` in place per group.
        pack::unpack_f32(&tok[hdr..], b, &mut out[..self.d]);
        let (mut lo, mut st) = ([0f32; PARAMS], [0f32; PARAMS]);
        for (i, os) in out[..self.d].chunks_mut(PARAMS * self.group).enumerate() {
            let n = os.len() / self.group;
            self.params_into(tok, i * PARAMS, &mut lo[..n], &mut st[..n])?;
            for ((o, &lo), &st) in os.chunks_exact_mut(self.group).zip(&lo).zip(&st) {
                o.iter_mut().for_each(|o| *o = lo + st * *o);
            }
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
        // A corrupt code's finite values (bf16 scales near `f32::MAX`) can still overflow the
        // sum; report it like the other block codecs (fuzz target `kv_codes`).
        super::finite_result(out, "TokenValues: logit not finite")
    }

    /// `out_c += Σ_t (p_t·Δ_{t,g})·code_{t,c} + Σ_t p_t·lo_{t,g}` for channel `c` of group `g`:
    /// the offsets are summed once per group, and the codes of up to `512/(d/8)`
    /// tokens at a time go to [`crate::simd::axpy_packed_rows`] with weights `p_t·Δ_{t,g}` (one
    /// per 8 channels), which keeps the output sums in registers across the tokens. Groups of
    /// other than a multiple of 8 channels take the token-by-token loop.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_attend(self, p, code, out)?;
        let (b, gsz, d, tl) = (self.bits, self.group, self.d, self.token_len());
        let hdr = d / gsz * self.per_group() * self.side.bytes();
        if gsz.is_multiple_of(8) {
            let k = d / 8;
            let rows = (ATTEND_WEIGHTS / k).max(1);
            let mut w = [0f32; ATTEND_WEIGHTS];
            let mut offsets = [0f32; super::MAX_HEAD_DIM / 8];
            for (toks, ps) in code.chunks(rows * tl).zip(p.chunks(rows)) {
                use crate::scalar::float::{bf16_to_f32, f16_to_f32};
                let (w, o) = (&mut w[..ps.len() * k], &mut offsets[..d / gsz]);
                let f16 = |b: &[u8]| f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                let bf16 = |b: &[u8]| bf16_to_f32(u16::from_le_bytes([b[0], b[1]]));
                let f32le = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let ok = match (self.symmetric, self.side) {
                    (true, SideFormat::F16) => self.weights::<true, 2>(toks, ps, w, o, f16),
                    (true, SideFormat::Bf16) => self.weights::<true, 2>(toks, ps, w, o, bf16),
                    (true, SideFormat::F32) => self.weights::<true, 4>(toks, ps, w, o, f32le),
                    (false, SideFormat::F16) => self.weights::<false, 2>(toks, ps, w, o, f16),
                    (false, SideFormat::Bf16) => self.weights::<false, 2>(toks, ps, w, o, bf16),
                    (false, SideFormat::F32) => self.weights::<false, 4>(toks, ps, w, o, f32le),
                };
                if !ok {
                    return Err(Error::Corrupt("TokenValues: offset or step not finite, or negative step"));
                }
                crate::simd::axpy_packed_rows(&toks[hdr..], tl, b as u32, &w[..ps.len() * k], out);
            }
            for (og, &c) in out.chunks_exact_mut(gsz).zip(&offsets) {
                og.iter_mut().for_each(|o| *o += c);
            }
        } else {
            let mut codes = [0f32; super::MAX_HEAD_DIM];
            for (tok, &pt) in code.chunks_exact(tl).zip(p) {
                pack::unpack_f32(&tok[hdr..], b, &mut codes[..d]);
                for (g, (og, cg)) in out.chunks_exact_mut(gsz).zip(codes.chunks_exact(gsz)).enumerate() {
                    let (lo, st) = self.group_params(tok, g)?;
                    let (a, c0) = (pt * st, pt * lo);
                    og.iter_mut().zip(cg).for_each(|(o, &c)| *o += a * c + c0);
                }
            }
        }
        super::finite_result(out, "TokenValues: output not finite")
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
