//! [`ChannelKeys`]: keys quantized per channel across a block of tokens.

use alloc::vec::Vec;

use super::{TokenBlock, check_attend, check_logits, check_shape, pack};
use crate::buf::with_buf;
use crate::codec::{Codec, Decode};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::scalar::side::SideFormat;
use crate::transform::{Pca, Transform};

/// Range shrink factors tried per channel when clipping is on (1 = the block's min–max range).
const CLIP: [f32; 6] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5];

/// A calibrated orthonormal basis for the keys of one head: `y = P·(k − μ)`, with `P` the
/// principal axes of calibration keys (a [`Pca`]) and `μ` their mean. Logits are
/// `⟨q, k̂⟩ = ⟨q, μ⟩ + ⟨P·q, ŷ⟩`.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    /// The mean `μ` subtracted before the rotation (`d` values).
    pub mean: Vec<f32>,
    /// The rotation `P` (`d × d`, orthonormal rows).
    pub pca: Pca,
}

impl Basis {
    /// The PCA basis of calibration keys `keys` (`n × d`, `n ≥ 2`) about their mean.
    ///
    /// # Errors
    /// As [`Pca::train`]: too few rows, NaN/inf, `keys.len()` not a multiple of `d`.
    pub fn train(keys: &[f32], d: usize) -> Result<Self> {
        let n = crate::codec::batch_rows(keys.len(), d)?;
        if n < 2 {
            return Err(Error::NotEnoughData { needed: 2, got: n });
        }
        check_finite(keys)?;
        let mean = crate::train::column_mean(keys, d);
        let pca = Pca::train(keys, d, &mean)?;
        Ok(Basis { mean, pca })
    }
}

/// Keys of one head, quantized per channel over a block of `B` tokens (KIVI / KVQuant style).
///
/// **Code of a block** (`B` tokens × `d` channels, `dim() = B·d`):
///
/// 1. the width `w_c ∈ 0..=8` of every channel, a nibble each (`⌈d/2⌉` bytes, low nibble
///    first); the widths sum to the codec's `total_bits` in every block;
/// 2. every channel's offset `lo_c` and step `Δ_c` in the [`SideFormat`] (`2·d` values);
/// 3. the codes, channel by channel: the `B` codes of channel `c` packed LSB-first at `w_c` bits
///    (`B·w_c/8` bytes; `B` is a multiple of 8).
///
/// Coordinate `t, c` decodes to `lo_c + Δ_c·code_{t,c}` (a width-0 channel to `lo_c`, its
/// block mean); with a [`Basis`] those are coordinates of `y = P·(k − μ)` and the key is
/// `μ + Pᵀ·ŷ`. The encoder spreads the block's `total_bits = round(bits·d)` over the channels
/// greedily by `weight_c · var_c / 4^{w_c}` (the distortion each extra bit removes; ties to the
/// lowest channel), so `bits = 2.5` is exactly 2.5 bits per coordinate of codes. Each
/// channel's range is the block's `[min, max]`, shrunk about its centre by the factor among
/// 1, 0.9, …, 0.5 of least squared error when clipping is on (codes are clamped).
///
/// **Bits per dimension** (stored, everything in the block):
/// `8·(⌈d/2⌉ + 2·d·s + B·total_bits/8) / (B·d)` with `s` the side format's bytes; e.g.
/// `d = 32, B = 128, bits = 3, f16`: `3 + 0.031 + 0.25 = 3.28`. The estimator of
/// [`logits`](TokenBlock::logits) is exact on the reconstruction.
///
/// Encoding needs no allocator beyond the codec (working buffers are on the stack for blocks
/// up to 4,096 values); the codec's parameters (weights, basis) are `alloc`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelKeys {
    d: usize,
    tokens: usize,
    total_bits: usize,
    side: SideFormat,
    clip: bool,
    weights: Vec<f32>,
    basis: Option<Basis>,
}

impl ChannelKeys {
    /// Keys of head dimension `d` in blocks of `tokens` tokens at `bits` code bits per
    /// coordinate on average (`total_bits = round(bits·d)` per token), side values in `side`,
    /// clipping on, unit channel weights, no basis.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `1 ≤ d ≤ 1024`, `tokens` is a positive multiple of 8
    /// with `tokens·d ≤ 65536`, and `1 ≤ round(bits·d) ≤ 8·d`.
    pub fn new(d: usize, tokens: usize, bits: f32, side: SideFormat) -> Result<Self> {
        check_shape(d, tokens)?;
        if !tokens.is_multiple_of(8) {
            return Err(Error::InvalidParameter("ChannelKeys: block tokens must be a multiple of 8"));
        }
        let t = bits * d as f32;
        if !(t >= 0.5 && t <= (8 * d) as f32 + 0.49) {
            return Err(Error::InvalidParameter("ChannelKeys: bits must give 1..=8·d code bits per token"));
        }
        let total_bits = libm::floorf(t + 0.5) as usize;
        Ok(ChannelKeys { d, tokens, total_bits, side, clip: true, weights: alloc::vec![1.0; d], basis: None })
    }

    /// The same codec with the MSE clipping search on or off (off: each channel's full range).
    pub fn with_clip(mut self, clip: bool) -> Self {
        self.clip = clip;
        self
    }

    /// The same codec with channel weights for the bit allocation (e.g. the mean `q_c²` of
    /// calibration queries, in the basis if there is one: the logit error is `Σ_c q_c² e_c²`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `weights.len() == d`; [`Error::InvalidParameter`]
    /// for a negative or non-finite weight.
    pub fn with_weights(mut self, weights: &[f32]) -> Result<Self> {
        check_dim(self.d, weights.len())?;
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(Error::InvalidParameter("ChannelKeys: weights must be finite and non-negative"));
        }
        self.weights = weights.to_vec();
        Ok(self)
    }

    /// The same codec quantizing in `basis`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless the basis has dimension `d`; [`Error::Corrupt`] for a
    /// non-finite mean.
    pub fn with_basis(mut self, basis: Basis) -> Result<Self> {
        check_dim(self.d, basis.mean.len())?;
        check_dim(self.d, basis.pca.dim_in())?;
        check_finite(&basis.mean).map_err(|_| Error::Corrupt("ChannelKeys: non-finite basis mean"))?;
        self.basis = Some(basis);
        Ok(self)
    }

    /// Calibrates on a prefix: a PCA [`Basis`] of the calibration keys (`n × d`) and, if
    /// `queries` (`m × d`) are given, allocation weights `mean((P·q)_c²)` over them.
    ///
    /// # Errors
    /// As [`Basis::train`]; a query length that is not a multiple of `d`; NaN/inf queries.
    pub fn calibrate(self, keys: &[f32], queries: Option<&[f32]>) -> Result<Self> {
        let d = self.d;
        let basis = Basis::train(keys, d)?;
        let mut s = self;
        if let Some(q) = queries {
            let m = crate::codec::batch_rows(q.len(), d)?;
            check_finite(q)?;
            let mut w = alloc::vec![0f64; d];
            let mut y = alloc::vec![0f32; d];
            for r in q.chunks_exact(d) {
                basis.pca.forward(r, &mut y)?;
                w.iter_mut().zip(&y).for_each(|(a, &v)| *a += f64::from(v) * f64::from(v));
            }
            let w: Vec<f32> = w.iter().map(|&a| (a / m.max(1) as f64) as f32).collect();
            s = s.with_weights(&w)?;
        }
        s.with_basis(basis)
    }

    /// Code bits per token (the widths of all channels add up to this in every block).
    pub fn total_bits(&self) -> usize {
        self.total_bits
    }

    /// The side format of offsets and steps.
    pub fn side(&self) -> SideFormat {
        self.side
    }

    /// Whether the clipping search is on.
    pub fn clip(&self) -> bool {
        self.clip
    }

    /// The allocation weights.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The basis, if any.
    pub fn basis(&self) -> Option<&Basis> {
        self.basis.as_ref()
    }

    /// Bytes of the per-head parameters an engine must keep besides the codes (the basis
    /// matrix and mean as `f32`; the weights are only needed to encode and are not counted).
    pub fn param_bytes(&self) -> usize {
        self.basis.as_ref().map_or(0, |_| 4 * (self.d * self.d + self.d))
    }

    fn header_len(&self) -> usize {
        self.d.div_ceil(2) + 2 * self.d * self.side.bytes()
    }

    /// Reads and checks the widths, offsets and steps of a block code into the caller's arrays
    /// (`w`: `d` widths; `lo`, `step`: `d` values).
    fn params(&self, code: &[u8], w: &mut [u8], lo: &mut [f32], step: &mut [f32]) -> Result<()> {
        let d = self.d;
        let mut sum = 0usize;
        for (c, wc) in w.iter_mut().enumerate().take(d) {
            let nib = (code[c / 2] >> (4 * (c % 2))) & 0xF;
            if nib > 8 {
                return Err(Error::Corrupt("ChannelKeys: channel width above 8"));
            }
            *wc = nib;
            sum += usize::from(nib);
        }
        if d % 2 == 1 && code[d / 2] >> 4 != 0 {
            return Err(Error::Corrupt("ChannelKeys: padding nibble not zero"));
        }
        if sum != self.total_bits {
            return Err(Error::Corrupt("ChannelKeys: channel widths do not add up to the codec's bits"));
        }
        let s = self.side.bytes();
        let mut at = d.div_ceil(2);
        for c in 0..d {
            let l = self.side.read(&code[at..])?;
            let st = self.side.read(&code[at + s..])?;
            at += 2 * s;
            if !l.is_finite() || !st.is_finite() || st < 0.0 {
                return Err(Error::Corrupt("ChannelKeys: offset or step not finite, or negative step"));
            }
            // Keep every decoded value finite: |lo| + Δ·255 must not overflow.
            if !(libm::fabsf(l) + st * 255.0).is_finite() {
                return Err(Error::Corrupt("ChannelKeys: offset and step overflow"));
            }
            lo[c] = l;
            step[c] = st;
        }
        Ok(())
    }

    /// Encodes one block given its coordinates `y` (`B × d`, in the basis if any).
    fn encode_coords(&self, y: &[f32], code: &mut [u8]) -> Result<()> {
        let (d, b) = (self.d, self.tokens);
        let mut w = [0u8; super::MAX_HEAD_DIM];
        let w = &mut w[..d];
        with_buf(2 * d, |stats| {
            let (mean, var) = stats.split_at_mut(d);
            for c in 0..d {
                let (mut s, mut s2) = (0f64, 0f64);
                for t in 0..b {
                    let v = f64::from(y[t * d + c]);
                    s += v;
                    s2 += v * v;
                }
                let m = s / b as f64;
                mean[c] = m as f32;
                var[c] = ((s2 / b as f64 - m * m).max(0.0) * f64::from(self.weights[c])) as f32;
            }
            // Greedy allocation: each bit to the channel whose distortion it reduces most.
            for _ in 0..self.total_bits {
                let mut best = usize::MAX;
                let mut gain = -1f64;
                for c in 0..d {
                    if w[c] < 8 {
                        let g = f64::from(var[c]) / f64::from(1u32 << (2 * u32::from(w[c])));
                        if g > gain {
                            gain = g;
                            best = c;
                        }
                    }
                }
                w[best] += 1;
            }
            code.fill(0);
            for (c, &wc) in w.iter().enumerate() {
                code[c / 2] |= wc << (4 * (c % 2));
            }
            let s = self.side.bytes();
            let hdr = self.header_len();
            let (head, payload) = code.split_at_mut(hdr);
            let mut at = 0usize;
            let mut codes = [0u8; 8];
            for c in 0..d {
                let wc = usize::from(w[c]);
                let pside = &mut head[d.div_ceil(2) + 2 * s * c..];
                if wc == 0 {
                    self.side.write(self.side.round(mean[c])?, pside)?;
                    self.side.write(0.0, &mut pside[s..])?;
                    continue;
                }
                let (mut mn, mut mx) = (f32::INFINITY, f32::NEG_INFINITY);
                for t in 0..b {
                    mn = mn.min(y[t * d + c]);
                    mx = mx.max(y[t * d + c]);
                }
                let levels = ((1u32 << wc) - 1) as f32;
                let (centre, half) = (0.5 * mn + 0.5 * mx, 0.5 * mx - 0.5 * mn);
                let mut best = (f64::INFINITY, 0f32, 0f32);
                let n_try = if self.clip && half > 0.0 { CLIP.len() } else { 1 };
                for &f in &CLIP[..n_try] {
                    let h = half * f;
                    let lo = self.side.round(centre - h)?;
                    let st = if h > 0.0 { self.side.round(2.0 * h / levels)? } else { 0.0 };
                    let mut err = 0f64;
                    for t in 0..b {
                        let v = y[t * d + c];
                        let q = quantize(v, lo, st, levels);
                        let e = f64::from(lo + st * q - v);
                        err += e * e;
                    }
                    if err < best.0 {
                        best = (err, lo, st);
                    }
                }
                let (_, lo, st) = best;
                self.side.write(lo, pside)?;
                self.side.write(st, &mut pside[s..])?;
                let bytes = b / 8 * wc;
                let out = &mut payload[at..at + bytes];
                for (g, o) in out.chunks_exact_mut(wc).enumerate() {
                    for (j, q) in codes.iter_mut().enumerate() {
                        *q = quantize(y[(8 * g + j) * d + c], lo, st, levels) as u8;
                    }
                    pack::pack(&codes, wc, o);
                }
                at += bytes;
            }
            Ok(())
        })
    }

    /// Decodes one block into its coordinates (in the basis if any).
    fn decode_coords(&self, code: &[u8], y: &mut [f32]) -> Result<()> {
        let (d, b) = (self.d, self.tokens);
        let mut w = [0u8; super::MAX_HEAD_DIM];
        with_buf(2 * d, |ls| {
            let (lo, step) = ls.split_at_mut(d);
            self.params(code, &mut w[..d], lo, step)?;
            let mut at = self.header_len();
            let mut codes = [0u8; 8];
            for c in 0..d {
                let wc = usize::from(w[c]);
                if wc == 0 {
                    (0..b).for_each(|t| y[t * d + c] = lo[c]);
                    continue;
                }
                for (g, grp) in code[at..at + b / 8 * wc].chunks_exact(wc).enumerate() {
                    pack::unpack(grp, wc, &mut codes);
                    for (j, &q) in codes.iter().enumerate() {
                        y[(8 * g + j) * d + c] = lo[c] + step[c] * f32::from(q);
                    }
                }
                at += b / 8 * wc;
            }
            Ok(())
        })
    }

    /// Saves the parameters (kind [`super::KIND`], sub-tag 1).
    ///
    /// # Errors
    /// Never in practice (the container's size limits).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(1), self)
    }

    /// Reads parameters saved by [`to_bytes`](ChannelKeys::to_bytes).
    ///
    /// # Errors
    /// Container errors; [`Error::Corrupt`] for a wrong sub-tag or invalid fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((1, "KV: not ChannelKeys parameters")))
    }
}

/// `clamp(round((v − lo)/Δ), 0, L)` as a float (0 for `Δ = 0`).
#[inline]
fn quantize(v: f32, lo: f32, st: f32, levels: f32) -> f32 {
    if st > 0.0 { libm::floorf((v - lo) / st + 0.5).clamp(0.0, levels) } else { 0.0 }
}

impl Codec for ChannelKeys {
    /// `B·d`: one code per block of tokens.
    fn dim(&self) -> usize {
        self.tokens * self.d
    }
    fn code_len(&self) -> usize {
        self.header_len() + self.tokens / 8 * self.total_bits
    }
    /// Encodes one block (`B` tokens, row-major).
    ///
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf; [`Error::Overflow`] if an offset or step
    /// does not fit the side format (|values| beyond 65504 with `F16`).
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), x.len())?;
        check_code(self.code_len(), code.len())?;
        check_finite(x)?;
        match &self.basis {
            None => self.encode_coords(x, code),
            Some(basis) => with_buf(x.len(), |y| {
                let d = self.d;
                with_buf(d, |tmp| {
                    for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
                        tmp.iter_mut().zip(xr).zip(&basis.mean).for_each(|((t, &v), &m)| *t = v - m);
                        basis.pca.forward(tmp, yr)?;
                    }
                    Ok(())
                })?;
                check_finite(y)?;
                self.encode_coords(y, code)
            }),
        }
    }
}

impl Decode for ChannelKeys {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.dim(), out.len())?;
        match &self.basis {
            None => self.decode_coords(code, out),
            Some(basis) => {
                let d = self.d;
                self.decode_coords(code, out)?;
                with_buf(2 * d, |tmp| {
                    let (y, k) = tmp.split_at_mut(d);
                    for row in out.chunks_exact_mut(d) {
                        y.copy_from_slice(row);
                        basis.pca.transpose(y, k)?;
                        row.iter_mut().zip(k.iter()).zip(&basis.mean).for_each(|((o, &v), &m)| *o = v + m);
                    }
                    Ok(())
                })?;
                check_finite(out).map_err(|_| Error::Corrupt("ChannelKeys: decoded value not finite"))
            }
        }
    }
}

impl TokenBlock for ChannelKeys {
    fn head_dim(&self) -> usize {
        self.d
    }
    fn block_tokens(&self) -> usize {
        self.tokens
    }
    /// `out[t] = ⟨q, μ⟩ + Σ_c (q'_c·lo_c) + Σ_c (q'_c·Δ_c)·code_{t,c}` with `q' = P·q` (or `q`):
    /// one multiply-add per code, channel by channel over the block.
    fn logits(&self, q: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_logits(self, q, code, out)?;
        let d = self.d;
        let mut w = [0u8; super::MAX_HEAD_DIM];
        with_buf(3 * d, |buf| {
            let (qp, rest) = buf.split_at_mut(d);
            let (lo, step) = rest.split_at_mut(d);
            self.params(code, &mut w[..d], lo, step)?;
            let mut base = 0f32;
            match &self.basis {
                None => qp.copy_from_slice(q),
                Some(b) => {
                    b.pca.forward(q, qp)?;
                    base = crate::simd::dot_fixed(q, &b.mean);
                }
            }
            for c in 0..d {
                base += qp[c] * lo[c];
            }
            out.fill(base);
            let mut at = self.header_len();
            for c in 0..d {
                let wc = usize::from(w[c]);
                if wc == 0 {
                    continue;
                }
                let bytes = self.tokens / 8 * wc;
                pack::axpy(&code[at..at + bytes], wc, qp[c] * step[c], out);
                at += bytes;
            }
            super::finite_result(out, "ChannelKeys: logit not finite")
        })
    }

    /// `Σ_t p_t·k̂_t = μ·Σp + Pᵀ·(lo·Σp + Δ ⊙ Σ_t p_t·code_t)`, channel by channel.
    fn attend(&self, p: &[f32], code: &[u8], out: &mut [f32]) -> Result<()> {
        check_attend(self, p, code, out)?;
        let d = self.d;
        let mut w = [0u8; super::MAX_HEAD_DIM];
        with_buf(4 * d, |buf| {
            let (lo, rest) = buf.split_at_mut(d);
            let (step, rest) = rest.split_at_mut(d);
            let (y, k) = rest.split_at_mut(d);
            self.params(code, &mut w[..d], lo, step)?;
            let ps: f32 = p.iter().sum();
            let mut at = self.header_len();
            for c in 0..d {
                let wc = usize::from(w[c]);
                y[c] = lo[c] * ps;
                if wc == 0 {
                    continue;
                }
                let bytes = self.tokens / 8 * wc;
                y[c] += step[c] * pack::dot(&code[at..at + bytes], wc, p);
                at += bytes;
            }
            match &self.basis {
                None => out.iter_mut().zip(y.iter()).for_each(|(o, &v)| *o += v),
                Some(b) => {
                    b.pca.transpose(y, k)?;
                    for ((o, &v), &m) in out.iter_mut().zip(k.iter()).zip(&b.mean) {
                        *o += v + m * ps;
                    }
                }
            }
            super::finite_result(out, "ChannelKeys: output not finite")
        })
    }
}

/// Saved as `u32 d, u32 tokens, u32 total_bits, u8 side, u8 clip, d × f32 weights, u8 has_basis`
/// and, with a basis, `d × f32 mean` and the [`Pca`]. Restore goes through the checked
/// constructors.
impl crate::persist::Persist for ChannelKeys {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.d as u32).u32(self.tokens as u32).u32(self.total_bits as u32);
        w.u8(self.side.tag()).u8(u8::from(self.clip)).f32s(&self.weights);
        match &self.basis {
            None => {
                w.u8(0);
            }
            Some(b) => {
                w.u8(1).f32s(&b.mean);
                b.pca.persist(w);
            }
        }
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        let d = crate::persist::read_dim(r, super::MAX_HEAD_DIM, "ChannelKeys: head dimension too large")?;
        let tokens = crate::persist::read_dim(r, crate::persist::MAX_DIM, "ChannelKeys: too many tokens")?;
        let total = crate::persist::read_dim(r, 8 * super::MAX_HEAD_DIM, "ChannelKeys: too many bits")?;
        let side = SideFormat::from_tag(r.u8()?)?;
        let clip = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Error::Corrupt("ChannelKeys: clip flag")),
        };
        if d == 0 {
            return Err(Error::Corrupt("ChannelKeys: zero head dimension"));
        }
        let c = ChannelKeys::new(d, tokens, total as f32 / d as f32, side)
            .map_err(|_| Error::Corrupt("ChannelKeys: shape"))?;
        if c.total_bits != total {
            return Err(Error::Corrupt("ChannelKeys: bits"));
        }
        let weights = r.finite_f32_vec(d, "ChannelKeys: non-finite weight")?;
        let mut c = c.with_clip(clip).with_weights(&weights).map_err(|_| Error::Corrupt("ChannelKeys: weights"))?;
        match r.u8()? {
            0 => {}
            1 => {
                let mean = r.finite_f32_vec(d, "ChannelKeys: non-finite basis mean")?;
                let pca = <Pca as crate::persist::Persist>::restore(r)?;
                c = c.with_basis(Basis { mean, pca }).map_err(|_| Error::Corrupt("ChannelKeys: basis dimension"))?;
            }
            _ => return Err(Error::Corrupt("ChannelKeys: basis flag")),
        }
        Ok(c)
    }
}
