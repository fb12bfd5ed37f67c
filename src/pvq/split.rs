//! Opus-style recursive splitting (`celt/bands.c`, `quant_partition`): a long vector is cut in
//! halves, the split of its energy between the halves is coded as a quantized angle
//! `θ = atan2(‖x₂‖, ‖x₁‖) ∈ [0, π/2]`, the remaining bits are divided between the halves by that
//! angle, and each half is coded the same way until it is short enough (and its pulse count
//! small enough) for one PVQ index in the chosen integer width (`u32`, `u64` or `u128`). An
//! option beside fixed groups
//! ([`PvqCodec`](super::PvqCodec)): one gain per vector, the energy distribution inside it
//! coded by the angles, and the bits follow the energy.
//!
//! Code layout of [`SplitCodec`] (`code_len()` bytes): the vector's RMS `s` as `bf16`, then
//! one range-coder stream (SPECS §12, zero padded) holding, in depth-first order, each split's
//! angle number `∈ [0, q]` (`log2(q + 1)` bits) and each leaf's pulse index `∈ [0, V(n, K))`.
//!
//! The tree is a function of `(dim, budget)` and the decoded angles only, computed with
//! integer budgets in eighths of a bit ("eighths"):
//!
//! * a node of `n` coordinates and `b` eighths is a **leaf** if `n ≤ max_leaf` and its
//!   largest pulse count `K ≤ kcap` (the largest with `V(max_leaf, K) < 2^leaf_bits`, at most
//!   1024) can spend `b`:
//!   `K` = the largest with `⌈8·log2 V(n, K)⌉ ≤ b` (`K = 0`: nothing coded, the leaf is zero);
//! * otherwise, for `n ≥ 2`, a **split** into `n₁ = ⌊n/2⌋` and `n₂ = n − n₁` with an angle of
//!   `q` steps, `q = clamp(round(2^(a/8)), 2, 255)`, `a = b/n + round(4·log2 n) − 12 + `
//!   [`ANGLE_OFFSET`] eighths (the angle's distortion `(π/2q)²/12` about `D/n`, the slope of
//!   the rest at `b/n` eighths per coordinate); the angle costs `c = ⌈8·log2(q + 1)⌉`; if
//!   `b < c + 8` the node is zero instead;
//! * after the angle `θ̂ = i·π/(2q)`, the first half gets
//!   `b₁ = round(n₁·b'/n + 8·(n₁n₂/n)·(log2 cot θ̂ + ½·log2(n₂/n₁)))` clamped to `[0, b']`
//!   of the `b' = b − c` left (reverse water-filling: bits per coordinate differ by the log of
//!   the halves' RMS ratio), the second `b' − b₁` plus whatever the first half left unspent
//!   (a leaf spends `⌈8·log2 V(n, K)⌉`, a zero node nothing).
//!
//! Reconstruction: a leaf's direction `y/‖y‖` times the product of the `cos θ̂` / `sin θ̂`
//! on its path times `s·√d`. Total information `≤ budget` eighths, so with the range coder's
//! margin the code never exceeds `code_len()`.

use super::codec::{PvqQuery, range_margin_bits, write_scale};
use super::count::{WideTable, log2_u128, v_count};
use super::search::Search;
use super::stream::{Sink, Source};
use crate::codec::{Codec, Decode, Estimator, Score};
use crate::entropy::range::{RangeDecoder, RangeEncoder};
use crate::error::{Error, Result, check_code, check_dim, check_finite};
use crate::format::{Reader, Writer};
use crate::persist::{MAX_DIM, Persist};
use alloc::vec::Vec;
use core::f64::consts::FRAC_PI_2;

/// The longest leaf [`SplitCodec`] allows (`max_leaf ≤ 64`).
pub const MAX_LEAF: usize = 64;

/// Eighths of a bit added to the angle resolution rule (see the [module docs](self)).
pub const ANGLE_OFFSET: i64 = 0;

/// Bytes of the per-vector scale (`bf16`).
const SCALE_BYTES: usize = 2;

/// Recursive-split PVQ of `dim`-vectors at a fixed code length (see the [module docs](self)).
///
/// Scores from the pulses ([`Score`], no float decode of the whole vector), persists
/// ([`Persist`]: dimension, code length, leaf length and width, search; everything else is
/// re-derived) and is the factory's `pvq{N}-split` / `pvq{N}.{N}-split` (leaf 32, `u128`,
/// greedy).
///
/// Encoding NaN/inf is [`Error::NonFinite`]; an RMS above `MAX_NORM/√d` is
/// [`Error::Overflow`]. Decoding checks every field: a bad scale, an angle number `> q` or an
/// index `≥ V` is [`Error::Corrupt`].
#[derive(Clone, Debug, PartialEq)]
pub struct SplitCodec {
    dim: usize,
    max_leaf: usize,
    kcap: u32,
    budget: i64,
    code_len: usize,
    search: Search,
    leaf_bits: u32,
    table: WideTable,
    /// `⌈8·log2 V(n, K)⌉` for `n ≤ max_leaf`, `K ≤ kcap`, row-major `(max_leaf + 1) × (kcap + 1)`.
    cost: Vec<i64>,
}

/// Node kinds of the tree.
enum Node {
    Zero,
    Leaf(u32),
    Split { q: u32, cost: i64 },
}

impl SplitCodec {
    /// A codec for `dim`-vectors at `bits_per_dim` (everything counted: `code_len() =
    /// ⌊bits_per_dim·dim/8⌋` bytes) with leaves of at most `max_leaf` coordinates whose
    /// `V(n, K)` fits `leaf_bits` bits (32, 64 or 128: the integer width of a leaf index).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=65536`, `max_leaf ∉ 2..=64`,
    /// `leaf_bits ∉ {32, 64, 128}`, or the rate is not in `(0, 64]` or does not pay for the
    /// scale and the coder's termination.
    pub fn new(dim: usize, bits_per_dim: f64, max_leaf: usize, leaf_bits: u32, search: Search) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("pvq split: dim must be in 1..=65536"));
        }
        if !(2..=MAX_LEAF).contains(&max_leaf) {
            return Err(Error::InvalidParameter("pvq split: max_leaf must be in 2..=64"));
        }
        if !(bits_per_dim.is_finite() && bits_per_dim > 0.0 && bits_per_dim <= 64.0) {
            return Err(Error::InvalidParameter("pvq split: bits per dimension must be in (0, 64]"));
        }
        let code_len = libm::floor(bits_per_dim * dim as f64 / 8.0) as usize;
        Self::with_code_len(dim, code_len, max_leaf, leaf_bits, search)
    }

    /// [`new`](Self::new) with the code length in bytes given directly (everything counted:
    /// `8·code_len/dim` bits per dimension): what [`Persist`] stores.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=65536`, `code_len > 8·dim` (more than 64 bits
    /// per dimension), `max_leaf ∉ 2..=64`, `leaf_bits ∉ {32, 64, 128}`, or `code_len` does not
    /// pay for the scale and the coder's termination.
    pub fn with_code_len(dim: usize, code_len: usize, max_leaf: usize, leaf_bits: u32, search: Search) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidParameter("pvq split: dim must be in 1..=65536"));
        }
        if !(2..=MAX_LEAF).contains(&max_leaf) {
            return Err(Error::InvalidParameter("pvq split: max_leaf must be in 2..=64"));
        }
        if code_len > 8 * dim {
            return Err(Error::InvalidParameter("pvq split: more than 64 bits per dimension"));
        }
        if ![32, 64, 128].contains(&leaf_bits) {
            return Err(Error::InvalidParameter("pvq split: leaf_bits must be 32, 64 or 128"));
        }
        // Range-coder operations: at most 1 per split and 16 per leaf (u128 index), < 17·dim.
        let spare = 8 * code_len as i64 - 8 * SCALE_BYTES as i64 - range_margin_bits(17 * dim) as i64 - 1;
        if spare <= 0 {
            return Err(Error::InvalidParameter("pvq split: rate too low for the scale and coder"));
        }
        let mut kcap = 0u32;
        let fits =
            |k: u32| v_count::<u128>(max_leaf as u32, k).is_ok_and(|v| leaf_bits == 128 || v < 1u128 << leaf_bits);
        while kcap < super::codec::MAX_K && fits(kcap + 1) {
            kcap += 1;
        }
        let table = WideTable::new(max_leaf as u32, kcap)?;
        let cols = kcap as usize + 1;
        let mut cost = alloc::vec![0i64; (max_leaf + 1) * cols];
        for n in 1..=max_leaf {
            for k in 0..=kcap {
                let v = table.wide().v(n as u32, k);
                cost[n * cols + k as usize] = libm::ceil(8.0 * log2_u128(v)) as i64;
            }
        }
        Ok(SplitCodec { dim, max_leaf, kcap, budget: 8 * spare, code_len, search, leaf_bits, table, cost })
    }

    /// The pulse search used by the encoder.
    pub fn search(&self) -> Search {
        self.search
    }

    /// The longest leaf.
    pub fn max_leaf(&self) -> usize {
        self.max_leaf
    }

    /// The integer width of a leaf index.
    pub fn leaf_bits(&self) -> u32 {
        self.leaf_bits
    }

    /// The most pulses in a leaf.
    pub fn kcap(&self) -> u32 {
        self.kcap
    }

    /// The information budget of the tree in eighths of a bit (what the angles and indexes
    /// may spend; the scale and the coder's margin are outside it).
    pub fn budget_eighths(&self) -> i64 {
        self.budget
    }

    fn cost(&self, n: usize, k: u32) -> i64 {
        self.cost[n * (self.kcap as usize + 1) + k as usize]
    }

    /// What a node of `n` coordinates and `b` eighths is.
    fn node(&self, n: usize, b: i64) -> Node {
        if n == 1 {
            return if b >= 8 { Node::Leaf(1) } else { Node::Zero };
        }
        if n <= self.max_leaf && b <= self.cost(n, self.kcap) {
            let mut k = 0;
            while k < self.kcap && self.cost(n, k + 1) <= b {
                k += 1;
            }
            return if k == 0 { Node::Zero } else { Node::Leaf(k) };
        }
        let a = b / n as i64 + libm::round(4.0 * libm::log2(n as f64)) as i64 - 12 + ANGLE_OFFSET;
        let q = (libm::round(libm::exp2(a as f64 / 8.0)) as i64).clamp(2, 255) as u32;
        let cost = libm::ceil(8.0 * libm::log2(f64::from(q) + 1.0)) as i64;
        if b < cost + 8 { Node::Zero } else { Node::Split { q, cost } }
    }

    /// The first half's share of `rest` eighths after angle number `i` of `q`.
    fn share(n1: usize, n2: usize, rest: i64, i: u32, q: u32) -> i64 {
        if i == 0 {
            return rest;
        }
        if i == q {
            return 0;
        }
        let th = f64::from(i) * FRAC_PI_2 / f64::from(q);
        let (a, b, n) = (n1 as f64, n2 as f64, (n1 + n2) as f64);
        let d = a * rest as f64 / n + 8.0 * (a * b / n) * (-libm::log2(libm::tan(th)) + 0.5 * libm::log2(b / a));
        (libm::round(d) as i64).clamp(0, rest)
    }

    /// Encodes `x` (a node of `b` eighths) into `sink`; returns the eighths it left unspent
    /// (they go to the next sibling).
    fn encode_node<S: Sink>(&self, x: &[f32], b: i64, sink: &mut S) -> Result<i64> {
        match self.node(x.len(), b) {
            Node::Zero => Ok(b),
            Node::Leaf(k) => {
                let mut y = [0i32; MAX_LEAF];
                let y = &mut y[..x.len()];
                self.search.run(x, k, y)?;
                let v = self.table.wide().v(x.len() as u32, k);
                sink.put(self.table.wide().index(y)?, v)?;
                Ok(b - self.cost(x.len(), k))
            }
            Node::Split { q, cost } => {
                let (x1, x2) = x.split_at(x.len() / 2);
                let e = |h: &[f32]| libm::sqrt(h.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>());
                let th = libm::atan2(e(x2), e(x1));
                let i = (libm::round(th / FRAC_PI_2 * f64::from(q)) as u32).min(q);
                sink.put(u128::from(i), u128::from(q) + 1)?;
                let rest = b - cost;
                let b1 = Self::share(x1.len(), x2.len(), rest, i, q);
                let left = self.encode_node(x1, b1, sink)?;
                self.encode_node(x2, rest - b1 + left, sink)
            }
        }
    }

    /// Decodes a node of `len` coordinates starting at `at`, gain `g`, calling
    /// `f(range, y, scale)` for every leaf with pulses.
    fn decode_node<R: Source>(
        &self,
        at: usize,
        len: usize,
        b: i64,
        g: f32,
        src: &mut R,
        f: &mut impl FnMut(core::ops::Range<usize>, &[i32], f32),
    ) -> Result<i64> {
        match self.node(len, b) {
            Node::Zero => Ok(b),
            Node::Leaf(k) => {
                let v = self.table.wide().v(len as u32, k);
                let i = src.get(v)?;
                let mut y = [0i32; MAX_LEAF];
                let y = &mut y[..len];
                let yy = self.table.decode(k, i, y)?;
                f(at..at + len, y, g / libm::sqrtf(yy as f32));
                Ok(b - self.cost(len, k))
            }
            Node::Split { q, cost } => {
                let i = src.get(u128::from(q) + 1)? as u32;
                let (n1, n2) = (len / 2, len - len / 2);
                let rest = b - cost;
                let b1 = Self::share(n1, n2, rest, i, q);
                let th = f64::from(i) * FRAC_PI_2 / f64::from(q);
                let (g1, g2) = (g * libm::cos(th) as f32, g * libm::sin(th) as f32);
                let left = self.decode_node(at, n1, b1, g1, src, f)?;
                self.decode_node(at + n1, n2, rest - b1 + left, g2, src, f)
            }
        }
    }

    fn scale(&self, code: &[u8]) -> Result<f32> {
        super::codec::read_scale(code, self.dim)
    }

    /// Decodes `code`, calling `f(range, y, scale)` for every leaf with pulses
    /// (`x̂[range] = scale·y`).
    ///
    /// # Errors
    /// [`Error::InvalidCodeLength`](crate::Error) for a wrong length, [`Error::Corrupt`] for a
    /// bad scale, angle number, index or stream.
    pub fn decode_leaves(&self, code: &[u8], mut f: impl FnMut(core::ops::Range<usize>, &[i32], f32)) -> Result<()> {
        check_code(self.code_len, code.len())?;
        let s = self.scale(code)?;
        let mut dec = RangeDecoder::new(&code[SCALE_BYTES..]);
        let g = s * libm::sqrtf(self.dim as f32);
        self.decode_node(0, self.dim, self.budget, g, &mut dec, &mut f)?;
        dec.check()
    }

    /// The number of splits and of leaves with pulses in the tree of `code`, and the
    /// information it spends in bits (angles `log2(q + 1)`, indexes `log2 V`).
    ///
    /// # Errors
    /// As [`decode_leaves`](Self::decode_leaves).
    pub fn tree_stats(&self, code: &[u8]) -> Result<(usize, usize, f64)> {
        check_code(self.code_len, code.len())?;
        self.scale(code)?;
        let mut dec = RangeDecoder::new(&code[SCALE_BYTES..]);
        let mut st = (0, 0, 0.0);
        self.stats_node(self.dim, self.budget, &mut dec, &mut st)?;
        Ok(st)
    }

    fn stats_node<R: Source>(&self, len: usize, b: i64, src: &mut R, st: &mut (usize, usize, f64)) -> Result<i64> {
        match self.node(len, b) {
            Node::Zero => Ok(b),
            Node::Leaf(k) => {
                let v = self.table.wide().v(len as u32, k);
                src.get(v)?;
                st.1 += 1;
                st.2 += log2_u128(v);
                Ok(b - self.cost(len, k))
            }
            Node::Split { q, cost } => {
                let i = src.get(u128::from(q) + 1)? as u32;
                st.0 += 1;
                st.2 += libm::log2(f64::from(q) + 1.0);
                let (n1, n2) = (len / 2, len - len / 2);
                let b1 = Self::share(n1, n2, b - cost, i, q);
                let left = self.stats_node(n1, b1, src, st)?;
                self.stats_node(n2, b - cost - b1 + left, src, st)
            }
        }
    }
}

impl Codec for SplitCodec {
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
        write_scale(x, code)?;
        let mut enc = RangeEncoder::new(&mut code[SCALE_BYTES..]);
        self.encode_node(x, self.budget, &mut enc)?;
        enc.finish()?;
        Ok(())
    }
}

impl Decode for SplitCodec {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len, code.len())?;
        check_dim(self.dim, out.len())?;
        out.fill(0.0);
        self.decode_leaves(code, |r, y, scale| {
            for (o, &v) in out[r].iter_mut().zip(y) {
                *o = v as f32 * scale;
            }
        })
    }
}

/// Score: [`Estimator::Reconstruction`] — `⟨q, x̂⟩ = Σ_leaves g_leaf·⟨q_leaf, y⟩/‖y‖` with
/// `g_leaf = s·√d·Π cos θ̂ / sin θ̂` along the leaf's path, computed from the decoded pulses
/// (integer `y`; one multiply-add per pulse-carrying coordinate and one square root per leaf)
/// without writing the float reconstruction. Equal to decode-then-dot up to float rounding.
impl Score for SplitCodec {
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
        q.score_pulses(self.dim, |f| self.decode_leaves(code, f))
    }
}

/// Saved as `u32 dim`, `u32 code_len`, `u8 max_leaf`, `u8 leaf_bits`, `u8 search` (0 greedy,
/// 1 refined); the tree and tables are re-derived (see `FORMAT.md`).
impl Persist for SplitCodec {
    fn persist(&self, w: &mut Writer) {
        w.u32(self.dim as u32).u32(self.code_len as u32).u8(self.max_leaf as u8).u8(self.leaf_bits as u8).u8(
            match self.search {
                Search::Greedy => 0,
                Search::Refined => 1,
            },
        );
    }

    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let dim = crate::persist::read_dim(r, MAX_DIM, "pvq split dimension too large")?;
        let code_len = r.u32()? as usize;
        let max_leaf = usize::from(r.u8()?);
        let leaf_bits = u32::from(r.u8()?);
        let search = match r.u8()? {
            0 => Search::Greedy,
            1 => Search::Refined,
            _ => return Err(Error::Corrupt("pvq split search")),
        };
        SplitCodec::with_code_len(dim, code_len, max_leaf, leaf_bits, search).map_err(Error::when_loading)
    }
}

impl SplitCodec {
    /// The codec's parameters in the crate's container (kind [`KIND`](super::KIND), sub-tag
    /// [`SPLIT_TAG`](super::SPLIT_TAG)).
    ///
    /// # Errors
    /// Never in practice ([`Error::Overflow`] above the container's 4 GiB).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::to_container(super::KIND, Some(super::SPLIT_TAG), self)
    }

    /// Reads [`to_bytes`](Self::to_bytes) output, validating every field (total on arbitrary
    /// bytes; the dimension is bounded by 2^16 and the code length by 64 bits per dimension).
    ///
    /// # Errors
    /// The container's errors; [`Error::Corrupt`] for another sub-tag, invalid fields or
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::from_container(bytes, super::KIND, Some((super::SPLIT_TAG, "pvq: not SplitCodec parameters")))
    }
}
