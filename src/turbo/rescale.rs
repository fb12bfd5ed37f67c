//! Cosine-optimal encoding for a fixed per-coordinate codebook (the extended-RaBitQ idea of a
//! per-vector rescale, for non-uniform Lloyd–Max levels).
//!
//! Nearest-level quantization of a unit vector `u` minimizes `‖u − û‖²`. Under a ratio estimator
//! ([`IpNormalized`](crate::compose::IpNormalized): score `‖x‖·⟨q, û⟩/⟨u, û⟩`) the scale of `û`
//! cancels, and the error of the score is proportional to `√(1 − x0²)/x0` with
//! `x0 = ⟨u, û⟩/‖û‖` the cosine between `u` and its code: the right objective is the **cosine**.
//! [`CosineRescaled`] encodes `t*·u` to the nearest levels, with the per-vector `t* > 0` that
//! maximizes that cosine. `t*` is not stored (the code has the inner codec's layout and size).
//!
//! **The search is exact** for codebooks symmetric about 0 with an even number of levels (the
//! Beta / Gaussian TurboQuant codebooks): as `t` grows from `0⁺`, coordinate `j` leaves the cell
//! of positive level `c_k` for `c_{k+1}` at `t = θ_k/|u_j|` (`θ_k` the threshold between them).
//! With `|u|` sorted in decreasing order, the events of threshold `θ_k` come in that same order,
//! so the `K/2 − 1` event streams are merged without another buffer, updating
//! `⟨|u|, |û|⟩` and `‖û‖²` in `O(1)` per event: `O(d log d + d·K)` per vector, `d` floats of
//! stack scratch (heap beyond [`STACK_DIM`](crate::compose::STACK_DIM) under `alloc`). Other
//! codebooks are encoded to the nearest level (`t = 1`).

use crate::codec::{Codec, Decode, Estimator, Score};
use crate::compose::{Split, with_buf};
use crate::error::{Result, check_code, check_dim};
use crate::scalar::lloyd::Codebook;

use super::split::CodebookScalar;

/// A codec that quantizes each coordinate with a fixed 1-D codebook, with no scale of its own:
/// what [`CosineRescaled`] can search over.
pub trait CoordinateCodebooks: Decode + Score {
    /// The codebook of coordinates `0..k`, `k`, and the codebook of coordinates `k..dim` (`None`
    /// when `k == dim`).
    fn codebook_runs(&self) -> (&Codebook, usize, Option<&Codebook>);
}

impl CoordinateCodebooks for CodebookScalar {
    fn codebook_runs(&self) -> (&Codebook, usize, Option<&Codebook>) {
        (self.codebook(), self.dim(), None)
    }
}

impl CoordinateCodebooks for Split<CodebookScalar, CodebookScalar> {
    fn codebook_runs(&self) -> (&Codebook, usize, Option<&Codebook>) {
        (self.first.codebook(), self.first.dim(), Some(self.second.codebook()))
    }
}

/// `C` with cosine-optimal encoding (module docs): code = `C.code(t*·u)`. Decode and score are
/// `C`'s, so they return the code's levels at the arbitrary scale `t*`
/// ([`Estimator::Biased`]); use it under a scale-free estimator such as
/// [`IpNormalized`](crate::compose::IpNormalized). Bits per dimension: `C`'s.
#[derive(Clone, Debug, PartialEq)]
pub struct CosineRescaled<C> {
    /// The per-coordinate codebook codec.
    pub inner: C,
}

/// Positive half of a symmetric codebook with an even number `K ≤ 16` of levels:
/// `(levels c_{K/2..}, thresholds θ_{K/2..})`, or `None` if the codebook is not symmetric about 0
/// (tolerance `1e-5` of the largest level), `K` is odd or above 16.
fn positive_half(cb: &Codebook) -> Option<(&[f32], &[f32])> {
    let (lv, th) = (cb.levels(), cb.thresholds());
    let k = lv.len();
    if k % 2 != 0 || k > 16 {
        return None;
    }
    let tol = 1e-5 * lv[k - 1].abs().max(lv[0].abs());
    if lv.iter().zip(lv.iter().rev()).any(|(a, b)| (a + b).abs() > tol) {
        return None;
    }
    Some((&lv[k / 2..], &th[k / 2..]))
}

/// One group of coordinates in the sweep: its `|u|` sorted decreasingly and its codebook half.
struct Group<'a> {
    abs: &'a [f32],
    levels: &'a [f32],
    thresholds: &'a [f32],
}

/// Most event streams: 2 groups × 7 positive thresholds (16 levels).
const MAX_STREAMS: usize = 14;

/// The cosine-optimal scale over the groups (module docs), or 1 if no event applies.
fn sweep(groups: &[Group<'_>]) -> f32 {
    let (mut dot, mut sq) = (0.0f64, 0.0f64);
    // Stream s = (group g, threshold i) with its position p in the sorted |u| of g.
    let mut streams = [(0usize, 0usize, 0usize); MAX_STREAMS];
    let mut ns = 0;
    for (g, gr) in groups.iter().enumerate() {
        let l0 = f64::from(gr.levels[0]);
        dot += l0 * gr.abs.iter().map(|&a| f64::from(a)).sum::<f64>();
        sq += l0 * l0 * gr.abs.len() as f64;
        for i in 0..gr.thresholds.len() {
            if ns < MAX_STREAMS {
                streams[ns] = (g, i, 0);
                ns += 1;
            }
        }
    }
    let next_t = |s: &(usize, usize, usize)| -> f32 {
        let gr = &groups[s.0];
        match gr.abs.get(s.2) {
            Some(&a) if a > 0.0 => gr.thresholds[s.1] / a,
            _ => f32::INFINITY,
        }
    };
    let pick = |streams: &[(usize, usize, usize)]| -> (usize, f32) {
        let mut best = (usize::MAX, f32::INFINITY);
        for (k, s) in streams.iter().enumerate() {
            let t = next_t(s);
            if t < best.1 {
                best = (k, t);
            }
        }
        best
    };
    let (mut cur, mut t_next) = pick(&streams[..ns]);
    if !t_next.is_finite() || sq <= 0.0 {
        return 1.0;
    }
    let mut best_cos = dot / libm::sqrt(sq);
    let mut best_t = 0.5 * t_next;
    while cur != usize::MAX {
        let t_event = t_next;
        let (g, i, p) = streams[cur];
        let gr = &groups[g];
        let (lo, hi) = (f64::from(gr.levels[i]), f64::from(gr.levels[i + 1]));
        dot += f64::from(gr.abs[p]) * (hi - lo);
        sq += hi * hi - lo * lo;
        streams[cur].2 += 1;
        (cur, t_next) = pick(&streams[..ns]);
        let cos = dot / libm::sqrt(sq);
        if cos > best_cos {
            best_cos = cos;
            best_t = if t_next.is_finite() { 0.5 * (t_event + t_next) } else { 2.0 * t_event };
        }
    }
    if best_t.is_finite() && best_t > 0.0 { best_t } else { 1.0 }
}

impl<C: CoordinateCodebooks> CosineRescaled<C> {
    /// Wraps `inner`.
    pub fn new(inner: C) -> Self {
        CosineRescaled { inner }
    }

    /// The cosine-optimal scale `t*` for `u` (1 where the search does not apply), with `abs` a
    /// scratch of `u.len()` floats.
    pub fn best_scale(&self, u: &[f32], abs: &mut [f32]) -> f32 {
        let (ca, k, cb) = self.inner.codebook_runs();
        let Some((la, ta)) = positive_half(ca) else { return 1.0 };
        let hb = match cb {
            Some(c) => match positive_half(c) {
                Some(h) => Some(h),
                None => return 1.0,
            },
            None => None,
        };
        if abs.len() != u.len() || k > u.len() {
            return 1.0;
        }
        for (a, &v) in abs.iter_mut().zip(u) {
            *a = v.abs();
        }
        let (aa, ab) = abs.split_at_mut(k);
        aa.sort_unstable_by(|x, y| y.total_cmp(x));
        ab.sort_unstable_by(|x, y| y.total_cmp(x));
        let ga = Group { abs: aa, levels: la, thresholds: ta };
        match hb {
            Some((lb, tb)) => sweep(&[ga, Group { abs: ab, levels: lb, thresholds: tb }]),
            None => sweep(&[ga]),
        }
    }
}

impl<C: CoordinateCodebooks> Codec for CosineRescaled<C> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn code_len(&self) -> usize {
        self.inner.code_len()
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`](crate::Error::NonFinite) on NaN/inf input; whatever
    /// `C` returns.
    fn encode_into(&self, u: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim(), u.len())?;
        check_code(self.code_len(), code.len())?;
        crate::error::check_finite(u)?;
        with_buf(self.dim(), |y| {
            let t = self.best_scale(u, y);
            for (o, &v) in y.iter_mut().zip(u) {
                *o = v * t;
            }
            self.inner.encode_into(y, code)
        })
    }
}

impl<C: CoordinateCodebooks> Decode for CosineRescaled<C> {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.decode_into(code, out)
    }
}

impl<C: CoordinateCodebooks> Score for CosineRescaled<C> {
    type Query<'s>
        = C::Query<'s>
    where
        Self: 's;

    /// `C`'s scratch.
    fn query_scratch_len(&self) -> usize {
        self.inner.query_scratch_len()
    }
    /// [`Estimator::Biased`]: the code's scale `t*` is not stored.
    fn estimator(&self) -> Estimator {
        Estimator::Biased
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        self.inner.prepare(q, scratch)
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        self.inner.score(q, code)
    }
    fn score_batch(&self, q: &Self::Query<'_>, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.inner.score_batch(q, codes, out)
    }
}
