//! The PVQ gain–shape codec: a vector is split into groups, each group coded as a PVQ direction
//! (a point of `P(D, K)`, its index) and a quantized gain, all relative to the vector's RMS.
//!
//! Code layout (`code_len()` bytes):
//!
//! * bytes `0..2`: the vector's RMS `s = ‖x‖/√d` as `bf16` (rounded to nearest; the
//!   gains are chosen against the rounded value, so the rounding costs nothing but range);
//! * then, group after group: the gain level number `∈ [0, L)` (omitted for groups with
//!   `K = 0`) and the pulse index `∈ [0, V(D_g, K_g))`, either
//!   [`IndexCoding::Fixed`] — LSB-first bit fields of `⌈log2 L⌉` and `⌈log2 V⌉` bits — or
//!   [`IndexCoding::Range`] — one range-coder stream (SPECS §12, [`crate::entropy::range`]) at
//!   `log2 L + log2 V` bits per group, zero padded to the fixed length.
//!
//! Reconstruction of group `g`: `x̂_g = s · level[gain_g] · √D_g · y_g / ‖y_g‖`.
//!
//! Bits per dimension: `8·code_len()/d`, everything counted. With the range coder the
//! payload is `Σ_g (log2 L + log2 V(D_g, K_g))` plus at most [`range_margin_bits`] for the
//! coder's termination, so rates such as 2.25 or 3.25 bits per dimension are real.

use alloc::vec::Vec;

use super::count::{PulseTable, WideTable, log2_v};
use super::gain::GainQuantizer;
use super::search::{Search, projection};
use super::stream::{BitReader, BitWriter, Plan, Sink, Source, coder_ops, field_bits};
use crate::codec::{Codec, Decode, Estimator, Score};
use crate::entropy::range::{RangeDecoder, RangeEncoder};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::format::Reader;
use crate::persist::{MAX_DIM, Persist};

/// The longest group (`D ≤ 256`).
pub const MAX_GROUP: usize = 256;

/// The most pulses per group (`K ≤ 1024`; bounds the pulse table at `257 × 1026` entries).
pub const MAX_K: u32 = 1024;

/// Lloyd iterations when fitting gain levels ([`PvqCodec::train`]).
pub const TRAIN_ITERS: usize = 25;

/// Bytes of the per-vector scale (`bf16`).
const SCALE_BYTES: usize = 2;

/// How the gain numbers and pulse indexes are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IndexCoding {
    /// Fixed-length fields: `⌈log2 V⌉` bits per index, `⌈log2 L⌉` per gain.
    Fixed,
    /// The range coder: `log2 V` and `log2 L` bits, fractional rates.
    #[default]
    Range,
}

impl IndexCoding {
    fn tag(self) -> u8 {
        match self {
            IndexCoding::Fixed => 0,
            IndexCoding::Range => 1,
        }
    }
}

/// The bits [`IndexCoding::Range`] reserves for the coder's termination and interval rounding
/// with `symbols` range-coder operations: `12 + ⌈symbols / 8192⌉`.
///
/// Why it suffices: with no raw bits, the flushed stream holds `8·shifts + 8·⌈l/8⌉` bits with
/// `l ≤ 33 − ilog(rng)`, i.e. at most `tell() + 7`; `tell()` exceeds the information coded by
/// at most 2 bits plus the division loss, under `2^−15·log2 e / (1 − 2^−15)` bits per
/// operation (totals ≤ 256 against a range above `2^23`): at most `info + 9 + symbols/8192`
/// bits. A value in `[0, n)` costs `1 + ⌈(⌈log2 n⌉ − 8)⁺ / 8⌉` operations. Tested on random
/// inputs of every scale (`tests/pvq.rs`, the fuzz targets).
pub fn range_margin_bits(symbols: usize) -> u64 {
    16 + symbols.div_ceil(8192) as u64
}

/// Pulse tables in the narrowest integer that holds `V(D, K_max)`.
#[derive(Clone, Debug, PartialEq)]
enum Table {
    U64(PulseTable<u64>),
    U128(WideTable),
}

impl Table {
    fn new(n: u32, k: u32) -> Result<Self> {
        match PulseTable::<u64>::new(n, k) {
            Ok(t) => Ok(Table::U64(t)),
            Err(Error::Overflow) => WideTable::new(n, k).map(Table::U128),
            Err(e) => Err(e),
        }
    }

    fn index(&self, y: &[i32]) -> Result<u128> {
        match self {
            Table::U64(t) => t.index(y).map(u128::from),
            Table::U128(t) => t.wide().index(y),
        }
    }

    fn decode(&self, k: u32, i: u128, y: &mut [i32]) -> Result<u64> {
        match self {
            Table::U64(t) => t.decode(k, u64::try_from(i).map_err(|_| Error::Corrupt("pvq index >= V(N, K)"))?, y),
            Table::U128(t) => t.decode(k, i, y),
        }
    }
}

/// The cost in bits of one group's index: `log2 V` (range) or `⌈log2 V⌉` (fixed); `None` if
/// `V` does not fit 128 bits or `K > MAX_K`.
fn index_cost(coding: IndexCoding, n: u32, k: u32) -> Option<f64> {
    if k > MAX_K {
        return None;
    }
    let v = super::count::v_count::<u128>(n, k).ok()?;
    Some(match coding {
        IndexCoding::Fixed => f64::from(field_bits(v)),
        IndexCoding::Range => log2_v(n, k),
    })
}

fn gain_cost(coding: IndexCoding, levels: usize) -> f64 {
    match coding {
        IndexCoding::Fixed => f64::from(field_bits(levels as u128)),
        IndexCoding::Range => libm::log2(levels as f64),
    }
}

/// The PVQ gain–shape codec (see the [module docs](self) for the code layout).
///
/// Score: [`Estimator::Reconstruction`] — `⟨q, x̂⟩ = Σ_g s·level_g·√D_g·⟨q_g, y_g⟩/‖y_g‖`,
/// computed from the decoded pulses (integer `y`, one multiply-add per coordinate and one
/// square root per group) without writing the float reconstruction.
///
/// Encoding NaN/inf is [`Error::NonFinite`]; a vector whose RMS is above
/// [`MAX_NORM`](crate::MAX_NORM)`/√d` is [`Error::Overflow`] (gain levels reach a few times the
/// stored RMS, so a code whose RMS is near that bound can decode to a vector past it, which
/// then does not re-encode: `Overflow`, found by `cargo fuzz`). Decoding checks every field:
/// a non-finite, negative or too large scale, a gain number `≥ L` or an index `≥ V` is
/// [`Error::Corrupt`].
#[derive(Clone, Debug, PartialEq)]
pub struct PvqCodec {
    dim: usize,
    group: usize,
    ks: Vec<u32>,
    gain: GainQuantizer,
    coding: IndexCoding,
    search: Search,
    table: Table,
    vs: Vec<u128>,
    /// `vs` and the gain level count prepared for the range decoder.
    plans: Vec<Plan>,
    gain_plan: Plan,
    payload_bits: f64,
    code_len: usize,
}

impl PvqCodec {
    /// A codec for `dim`-vectors in groups of `group` coordinates (the last group holds the
    /// remaining `dim mod group` if not zero) with `ks[g]` pulses in group `g`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=2^16`, `group ∉ 1..=256`,
    /// `ks.len() ≠ ⌈dim/group⌉` or any `K > 1024`; [`Error::Overflow`] if a `V(D, K)` exceeds
    /// `2^128 − 1`.
    pub fn new(
        dim: usize,
        group: usize,
        ks: &[u32],
        gain: GainQuantizer,
        coding: IndexCoding,
        search: Search,
    ) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("pvq: dim must be in 1..=65536"));
        }
        if group == 0 || group > MAX_GROUP {
            return Err(Error::InvalidParameter("pvq: group must be in 1..=256"));
        }
        if ks.len() != dim.div_ceil(group) {
            return Err(Error::InvalidParameter("pvq: one K per group"));
        }
        if ks.iter().any(|&k| k > MAX_K) {
            return Err(Error::InvalidParameter("pvq: K must be <= 1024"));
        }
        let kmax = ks.iter().copied().max().unwrap_or(0);
        let table = Table::new(group.min(dim) as u32, kmax)?;
        let mut vs = Vec::with_capacity(ks.len());
        let (mut payload, mut fixed_bits, mut symbols) = (0.0f64, 0u64, 0usize);
        for (g, &k) in ks.iter().enumerate() {
            let n = group_len(dim, group, g) as u32;
            let v = super::count::v_count::<u128>(n, k)?;
            vs.push(v);
            if k > 0 {
                payload += libm::log2(gain.len() as f64) + super::count::log2_u128(v);
                fixed_bits += u64::from(field_bits(gain.len() as u128) + field_bits(v));
                symbols += coder_ops(gain.len() as u128) + coder_ops(v);
            }
        }
        let body = match coding {
            IndexCoding::Fixed => fixed_bits.div_ceil(8),
            IndexCoding::Range => (libm::ceil(payload) as u64 + range_margin_bits(symbols)).div_ceil(8),
        };
        let code_len = SCALE_BYTES + usize::try_from(body).map_err(|_| Error::Overflow)?;
        let plans = vs.iter().map(|&v| Plan::new(v)).collect();
        let gain_plan = Plan::new(gain.len() as u128);
        Ok(PvqCodec {
            dim,
            group,
            ks: ks.to_vec(),
            gain,
            coding,
            search,
            table,
            vs,
            plans,
            gain_plan,
            payload_bits: payload,
            code_len,
        })
    }

    /// The codec with the most pulses that fits `bits_per_dim` (everything counted: scale,
    /// gains, indexes and, for the range coder, its termination margin): `code_len() ≤
    /// ⌊bits_per_dim·dim/8⌋` bytes. Pulses are spread evenly: every group gets the largest `K`
    /// whose cost fits its share of the budget, then leftover bits raise `K` by one group by
    /// group, in order.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the rate does not even pay for the scale and gains, or as
    /// [`new`](Self::new).
    pub fn for_rate(
        dim: usize,
        group: usize,
        bits_per_dim: f64,
        gain: GainQuantizer,
        coding: IndexCoding,
        search: Search,
    ) -> Result<Self> {
        let ks = allocate(dim, group, bits_per_dim, gain.len(), coding)?;
        Self::new(dim, group, &ks, gain, coding, search)
    }

    /// The group length `D`.
    pub fn group(&self) -> usize {
        self.group
    }

    /// Pulses per group.
    pub fn pulses(&self) -> &[u32] {
        &self.ks
    }

    /// The gain quantizer.
    pub fn gain(&self) -> &GainQuantizer {
        &self.gain
    }

    /// How indexes are written.
    pub fn coding(&self) -> IndexCoding {
        self.coding
    }

    /// The pulse search used by the encoder.
    pub fn search(&self) -> Search {
        self.search
    }

    /// The same codec encoding with another pulse search (the codes stay decodable by both).
    pub fn with_search(mut self, search: Search) -> Self {
        self.search = search;
        self
    }

    /// The information in one code: `16 + Σ_g (log2 L + log2 V(D_g, K_g))` bits (the range
    /// coder's payload before its termination margin; the fixed-length layout rounds each
    /// field up).
    pub fn information_bits(&self) -> f64 {
        16.0 + self.payload_bits
    }

    pub(crate) fn groups(&self) -> impl Iterator<Item = (usize, core::ops::Range<usize>)> + '_ {
        (0..self.ks.len()).map(move |g| (g, g * self.group..((g + 1) * self.group).min(self.dim)))
    }

    /// Encodes the groups of `x` (RMS `s > 0`, or `s = 0` for the zero vector) into `sink`.
    pub(crate) fn encode_groups<S: Sink>(&self, x: &[f32], s: f32, sink: &mut S) -> Result<()> {
        let mut y = [0i32; MAX_GROUP];
        let l = self.gain.len() as u128;
        for (g, r) in self.groups() {
            let k = self.ks[g];
            if k == 0 {
                continue;
            }
            let y = &mut y[..r.len()];
            let yy = self.search.run(&x[r.clone()], k, y)?;
            let c = projection(&x[r.clone()], y, yy);
            let t = if s > 0.0 { c / (f64::from(s) * libm::sqrt(r.len() as f64)) } else { 0.0 };
            sink.put(self.gain.index(t as f32) as u128, l)?;
            sink.put(self.table.index(y)?, self.vs[g])?;
        }
        Ok(())
    }

    /// Quantizes group `g` (`x.len()` = its length) of a vector of RMS `s` in place to its
    /// reconstruction; returns the group's information bits `log2 L + log2 V(D_g, K_g)` (0 for
    /// `K_g = 0`, which reconstructs to zero).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `g` past the last group, [`Error::DimensionMismatch`]
    /// for a wrong slice length, [`Error::NonFinite`] for NaN/inf.
    pub fn quantize_group(&self, g: usize, x: &mut [f32], s: f32) -> Result<f64> {
        if g >= self.ks.len() {
            return Err(Error::InvalidParameter("pvq: group number past the last group"));
        }
        let d = group_len(self.dim, self.group, g);
        check_dim(d, x.len())?;
        let k = self.ks[g];
        if k == 0 {
            x.fill(0.0);
            return Ok(0.0);
        }
        let mut y = [0i32; MAX_GROUP];
        let y = &mut y[..d];
        let yy = self.search.run(x, k, y)?;
        let c = projection(x, y, yy);
        let t = if s > 0.0 { c / (f64::from(s) * libm::sqrt(d as f64)) } else { 0.0 };
        let level = self.gain.level(self.gain.index(t as f32));
        let scale = s * level * libm::sqrtf(d as f32) / libm::sqrtf(yy as f32);
        for (o, &v) in x.iter_mut().zip(y.iter()) {
            *o = v as f32 * scale;
        }
        Ok(libm::log2(self.gain.len() as f64) + super::count::log2_u128(self.vs[g]))
    }

    /// Decodes group after group, calling `f(range, y, scale)` with the pulses and the factor
    /// `s·level·√D/‖y‖` of each group with `K > 0`.
    pub(crate) fn decode_groups<R: Source>(
        &self,
        s: f32,
        src: &mut R,
        mut f: impl FnMut(core::ops::Range<usize>, &[i32], f32),
    ) -> Result<()> {
        let mut y = [0i32; MAX_GROUP];
        for (g, r) in self.groups() {
            let k = self.ks[g];
            if k == 0 {
                continue;
            }
            let gi = src.get_plan(&self.gain_plan)? as usize;
            let idx = src.get_plan(&self.plans[g])?;
            let y = &mut y[..r.len()];
            let yy = self.table.decode(k, idx, y)?;
            let scale = s * self.gain.level(gi) * libm::sqrtf(r.len() as f32) / libm::sqrtf(yy as f32);
            f(r, y, scale);
        }
        Ok(())
    }

    /// The code's scale, checked so that every decoded coordinate is finite.
    fn scale(&self, code: &[u8]) -> Result<f32> {
        read_scale(code, self.dim)
    }

    fn with_source(&self, code: &[u8], f: impl FnMut(core::ops::Range<usize>, &[i32], f32)) -> Result<()> {
        check_code(self.code_len, code.len())?;
        let s = self.scale(code)?;
        let body = &code[SCALE_BYTES..];
        match self.coding {
            IndexCoding::Fixed => self.decode_groups(s, &mut BitReader { buf: body, pos: 0 }, f),
            IndexCoding::Range => {
                let mut dec = RangeDecoder::new(body);
                self.decode_groups(s, &mut dec, f)?;
                dec.check()
            }
        }
    }
}

/// Length of group `g`.
fn group_len(dim: usize, group: usize, g: usize) -> usize {
    ((g + 1) * group).min(dim) - g * group
}

/// Pulses per group for a rate (see [`PvqCodec::for_rate`]).
pub(crate) fn allocate(
    dim: usize,
    group: usize,
    bits_per_dim: f64,
    levels: usize,
    coding: IndexCoding,
) -> Result<Vec<u32>> {
    if dim == 0 || dim > MAX_DIM || group == 0 || group > MAX_GROUP {
        return Err(Error::InvalidParameter("pvq: dim must be in 1..=65536 and group in 1..=256"));
    }
    if !(bits_per_dim.is_finite() && bits_per_dim > 0.0 && bits_per_dim <= 64.0) {
        return Err(Error::InvalidParameter("pvq: bits per dimension must be in (0, 64]"));
    }
    let groups = dim.div_ceil(group);
    let total = libm::floor(bits_per_dim * dim as f64 / 8.0) * 8.0 - (8 * SCALE_BYTES) as f64;
    let mut budget = total;
    if coding == IndexCoding::Range {
        // The payload is rounded up to whole bits before the margin is added.
        // At most 2 + 16 coder operations per group (gain ≤ 256 levels, index < 2^128).
        budget -= range_margin_bits(18 * groups) as f64 + 1.0;
    }
    allocate_budget(dim, group, budget, levels, coding)
}

/// Pulses per group so that `Σ_g (gain cost + index cost) ≤ budget` bits (see
/// [`PvqCodec::for_rate`]).
pub(crate) fn allocate_budget(
    dim: usize,
    group: usize,
    budget: f64,
    levels: usize,
    coding: IndexCoding,
) -> Result<Vec<u32>> {
    if dim == 0 || dim > MAX_DIM || group == 0 || group > MAX_GROUP {
        return Err(Error::InvalidParameter("pvq: dim must be in 1..=65536 and group in 1..=256"));
    }
    let groups = dim.div_ceil(group);
    let budget = budget - groups as f64 * gain_cost(coding, levels);
    if budget.is_nan() || budget < 0.0 {
        return Err(Error::InvalidParameter("pvq: rate too low for the scale and gains"));
    }
    let share = budget / dim as f64;
    let mut ks = alloc::vec![0u32; groups];
    let mut used = 0.0;
    for (g, k) in ks.iter_mut().enumerate() {
        let n = group_len(dim, group, g) as u32;
        let own = share * f64::from(n);
        while index_cost(coding, n, *k + 1).is_some_and(|c| c <= own) {
            *k += 1;
        }
        used += index_cost(coding, n, *k).unwrap_or(0.0);
    }
    // Leftover bits: one more pulse group by group while it fits.
    let mut changed = true;
    while changed {
        changed = false;
        for (g, k) in ks.iter_mut().enumerate() {
            let n = group_len(dim, group, g) as u32;
            let (Some(now), Some(next)) = (index_cost(coding, n, *k), index_cost(coding, n, *k + 1)) else {
                continue;
            };
            if used + next - now <= budget {
                used += next - now;
                *k += 1;
                changed = true;
            }
        }
    }
    if ks.iter().all(|&k| k == 0) {
        return Err(Error::InvalidParameter("pvq: rate too low for one pulse"));
    }
    Ok(ks)
}

/// Writes the per-vector scale of a PVQ code (the RMS of `x`, rounded to `bf16`) into the first
/// [`SCALE_BYTES`] of `code` and returns it (shared by [`PvqCodec`] and the split codec).
///
/// # Errors
/// [`Error::Overflow`] for an RMS above [`MAX_NORM`](crate::MAX_NORM)`/√d` (NaN included).
pub(crate) fn write_scale(x: &[f32], code: &mut [u8]) -> Result<f32> {
    let n = x.len().max(1);
    let ss: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let h = crate::scalar::float::bf16_from_f32(libm::sqrt(ss / n as f64) as f32);
    let s = crate::scalar::float::bf16_to_f32(h);
    if s.is_nan() || s > crate::MAX_NORM / libm::sqrtf(n as f32) {
        return Err(Error::Overflow);
    }
    code[..SCALE_BYTES].copy_from_slice(&h.to_le_bytes());
    Ok(s)
}

/// Reads the scale [`write_scale`] wrote for a `dim`-vector.
///
/// # Errors
/// [`Error::Corrupt`] unless `0 ≤ s ≤ MAX_NORM/√dim`.
pub(crate) fn read_scale(code: &[u8], dim: usize) -> Result<f32> {
    let s = crate::scalar::float::bf16_to_f32(u16::from_le_bytes([code[0], code[1]]));
    let top = crate::MAX_NORM / libm::sqrtf(dim as f32);
    if (0.0..=top).contains(&s) { Ok(s) } else { Err(Error::Corrupt("pvq scale")) }
}

impl Codec for PvqCodec {
    fn dim(&self) -> usize {
        self.dim
    }

    fn code_len(&self) -> usize {
        self.code_len
    }

    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        check_code(self.code_len, code.len())?;
        check_finite(x)?;
        code.fill(0);
        let s = write_scale(x, code)?;
        let body = &mut code[SCALE_BYTES..];
        match self.coding {
            IndexCoding::Fixed => self.encode_groups(x, s, &mut BitWriter { buf: body, pos: 0 }),
            IndexCoding::Range => {
                let mut enc = RangeEncoder::new(body);
                self.encode_groups(x, s, &mut enc)?;
                enc.finish()?;
                Ok(())
            }
        }
    }
}

impl Decode for PvqCodec {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, out.len())?;
        out.fill(0.0);
        self.with_source(code, |r, y, scale| {
            for (o, &v) in out[r].iter_mut().zip(y) {
                *o = v as f32 * scale;
            }
        })
    }
}

/// A query prepared for [`PvqCodec`] and [`super::SplitCodec`]: the query itself.
#[derive(Debug)]
pub struct PvqQuery<'s> {
    q: &'s [f32],
}

impl<'s> PvqQuery<'s> {
    /// The query prepared in `scratch` for a codec of dimension `dim`.
    pub(super) fn prepare(dim: usize, q: &[f32], scratch: &'s mut [f32]) -> Result<Self> {
        let (qs, _) = crate::codec::copy_query(dim, q, dim, scratch)?;
        Ok(PvqQuery { q: qs })
    }

    /// `⟨q, x̂⟩` from leaves (or groups) of pulses: `Σ scale·⟨q_r, y⟩` over the `(r, y, scale)`
    /// that `leaves` hands to its callback (integer pulses `y` of the coordinates `r`; zero
    /// pulses skipped).
    pub(super) fn score_pulses(
        &self,
        dim: usize,
        leaves: impl FnOnce(&mut dyn FnMut(core::ops::Range<usize>, &[i32], f32)) -> Result<()>,
    ) -> Result<f32> {
        check_dim(dim, self.q.len())?;
        let mut acc = 0.0f32;
        leaves(&mut |r, y, scale| {
            let mut dot = 0.0f32;
            for (&qj, &v) in self.q[r].iter().zip(y) {
                if v != 0 {
                    dot += qj * v as f32;
                }
            }
            acc += scale * dot;
        })?;
        Ok(acc)
    }
}

impl Score for PvqCodec {
    type Query<'s> = PvqQuery<'s>;

    fn query_scratch_len(&self) -> usize {
        self.dim
    }

    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }

    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<PvqQuery<'s>> {
        PvqQuery::prepare(self.dim, q, scratch)
    }

    fn score(&self, q: &PvqQuery<'_>, code: &[u8]) -> Result<f32> {
        q.score_pulses(self.dim, |f| self.with_source(code, f))
    }
}

impl Persist for PvqCodec {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32).u32(self.group as u32).u8(self.coding.tag()).u8(match self.search {
            Search::Greedy => 0,
            Search::Refined => 1,
        });
        self.gain.persist(w);
        for &k in &self.ks {
            w.u32(k);
        }
    }

    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, MAX_DIM, "pvq dimension too large")?;
        let group = r.u32()? as usize;
        if dim == 0 || group == 0 || group > MAX_GROUP {
            return Err(Error::Corrupt("pvq dimension or group"));
        }
        let coding = match r.u8()? {
            0 => IndexCoding::Fixed,
            1 => IndexCoding::Range,
            _ => return Err(Error::Corrupt("pvq index coding")),
        };
        let search = match r.u8()? {
            0 => Search::Greedy,
            1 => Search::Refined,
            _ => return Err(Error::Corrupt("pvq search")),
        };
        let gain = GainQuantizer::restore(r)?;
        let groups = dim.div_ceil(group);
        if r.remaining() < 4 * groups {
            return Err(Error::Truncated);
        }
        let mut ks = Vec::with_capacity(groups);
        for _ in 0..groups {
            ks.push(r.u32()?);
        }
        PvqCodec::new(dim, group, &ks, gain, coding, search).map_err(Error::when_loading)
    }
}

impl PvqCodec {
    /// The codec's parameters in the crate's container (kind [`KIND`](super::KIND), sub-tag
    /// [`GROUPS_TAG`](super::GROUPS_TAG)).
    ///
    /// # Errors
    /// [`Error::Overflow`] above the container's 4 GiB.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(super::GROUPS_TAG), self)
    }

    /// Reads [`to_bytes`](Self::to_bytes) output, validating every field.
    ///
    /// # Errors
    /// The container's errors; [`Error::Corrupt`] for another sub-tag, invalid fields or
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((super::GROUPS_TAG, "pvq: not PvqCodec parameters")))
    }

    /// Samples of the relative gain `t = ⟨x_g, y_g⟩/‖y_g‖ / (s·√D_g)` of every group (with
    /// `K > 0`) of the rows of `data`, with this codec's pulses and search: what a fitted gain
    /// quantizer is trained on.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `data` is not whole rows; [`Error::NonFinite`].
    pub fn gain_samples(&self, data: &[f32]) -> Result<Vec<f32>> {
        let n = crate::codec::batch_rows(data.len(), self.dim)?;
        check_finite(data)?;
        let mut out = Vec::with_capacity(n * self.ks.len());
        let mut y = [0i32; MAX_GROUP];
        for x in data.chunks_exact(self.dim) {
            let ss: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            let h = crate::scalar::float::bf16_from_f32(libm::sqrt(ss / self.dim as f64) as f32);
            let s = f64::from(crate::scalar::float::bf16_to_f32(h));
            if !(s > 0.0 && s.is_finite()) {
                continue;
            }
            for (g, r) in self.groups() {
                let k = self.ks[g];
                if k == 0 {
                    continue;
                }
                let y = &mut y[..r.len()];
                let yy = self.search.run(&x[r.clone()], k, y)?;
                let c = projection(&x[r.clone()], y, yy);
                out.push((c / (s * libm::sqrt(r.len() as f64))) as f32);
            }
        }
        Ok(out)
    }

    /// [`for_rate`](Self::for_rate) with gain levels fitted to `data` (row-major training
    /// vectors): `2^gain_bits` levels by 1-D k-means ([`TRAIN_ITERS`] Lloyd iterations) on the
    /// relative gains of the training groups ([`gain_samples`](Self::gain_samples)).
    ///
    /// # Errors
    /// As [`for_rate`](Self::for_rate) and [`GainQuantizer::fitted`]
    /// ([`Error::NotEnoughData`] without usable rows).
    pub fn train(
        dim: usize,
        group: usize,
        bits_per_dim: f64,
        gain_bits: u32,
        coding: IndexCoding,
        search: Search,
        data: &[f32],
    ) -> Result<Self> {
        let first = Self::for_rate(
            dim,
            group,
            bits_per_dim,
            GainQuantizer::default_for(gain_bits, dim, group)?,
            coding,
            search,
        )?;
        let samples = first.gain_samples(data)?;
        let gain = GainQuantizer::fitted(&samples, gain_bits, TRAIN_ITERS)?;
        Self::for_rate(dim, group, bits_per_dim, gain, coding, search)
    }
}

/// The configuration for i.i.d. Gaussian-like data used by the tests and benches: groups of
/// 32, 2 gain bits fitted to 64 Gaussian training vectors (seed 0), range coded, greedy search.
///
/// # Errors
/// As [`PvqCodec::train`].
pub fn gaussian_codec(dim: usize, bits_per_dim: f64) -> Result<PvqCodec> {
    let group = 32.min(dim);
    let mut rng = crate::rng::Rng::new(0);
    let mut data = alloc::vec![0f32; 64 * dim];
    rng.fill_gaussian(&mut data);
    PvqCodec::train(dim, group, bits_per_dim, 2, IndexCoding::Range, Search::Greedy, &data)
}
