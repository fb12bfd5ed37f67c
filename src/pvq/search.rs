//! Pulse search: the point `y ∈ P(N, K)` whose direction is closest to `x`, i.e. that
//! (approximately) maximises `⟨x, y⟩ / ‖y‖` (SPECS §5, Opus `op_pvq_search_c`).
//!
//! * [`Search::Greedy`] — projection then greedy pulses: when `K > N/2`, a first allocation
//!   `y_j = ⌊(K + 0.8)·|x_j| / Σ|x|⌋` (at most `K` pulses), then the remaining pulses one at a
//!   time where they raise `⟨|x|, y⟩² / ‖y‖²` most (first index wins ties). `O(N·K)` worst case.
//! * [`Search::Refined`] — the greedy result, then pulse moves: while moving one pulse from
//!   coordinate `a` to `b` raises `⟨|x|, y⟩ / ‖y‖`, do the best such move (at most
//!   [`MAX_MOVES`] moves, `O(N²)` each). Never worse than greedy; see `tests/pvq.rs` and the
//!   module docs of [`crate::pvq`] for what it gains.
//!
//! Both always return exactly `K` pulses; signs follow `x` (a pulse on `x_j = 0` is positive).
//! The zero vector (or one whose `Σ|x|` is not a normal positive float) gives `y = (K, 0, …)`.

use crate::error::{Error, Result};

/// The most pulse moves [`Search::Refined`] makes after the greedy search.
pub const MAX_MOVES: usize = 64;

/// Which pulse search to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Search {
    /// Projection + greedy pulses (Opus).
    #[default]
    Greedy,
    /// Greedy, then the best single-pulse moves while they improve the direction.
    Refined,
}

impl Search {
    /// Writes into `y` (`y.len() == x.len()`) the point of `P(N, K)` found for `x`, and returns
    /// `Σ y_j²`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the lengths differ; [`Error::InvalidParameter`] if
    /// `x` is empty or `K > 2^31 − 1`; [`Error::NonFinite`] for NaN/inf in `x`.
    pub fn run(self, x: &[f32], k: u32, y: &mut [i32]) -> Result<u64> {
        crate::error::check_dim(x.len(), y.len())?;
        if x.is_empty() {
            return Err(Error::InvalidParameter("pvq: empty vector"));
        }
        if k > i32::MAX as u32 {
            return Err(Error::InvalidParameter("pvq: K above 2^31 - 1"));
        }
        crate::error::check_finite(x)?;
        greedy(x, k, y);
        if self == Search::Refined {
            refine(x, y);
        }
        sign_and_energy(x, y)
    }
}

/// Greedy search on `|x|` into `y` (magnitudes only, ≥ 0).
fn greedy(x: &[f32], k: u32, y: &mut [i32]) {
    let n = x.len();
    y.fill(0);
    if k == 0 {
        return;
    }
    let s: f64 = x.iter().map(|v| f64::from(v.abs())).sum();
    if !(s.is_normal() && s > 0.0) {
        y[0] = k as i32;
        return;
    }
    let mut left = i64::from(k);
    let (mut xy, mut yy) = (0.0f64, 0.0f64);
    if k as usize > n / 2 {
        let rcp = (f64::from(k) + 0.8) / s;
        let mut used = 0i64;
        for (yj, &xj) in y.iter_mut().zip(x) {
            let v = libm::floor(rcp * f64::from(xj.abs())) as i64;
            *yj = v as i32;
            used += v;
        }
        if used > i64::from(k) {
            // Float rounding went past K: start over from zero (never happens in practice).
            y.fill(0);
            used = 0;
        }
        left -= used;
        for (&yj, &xj) in y.iter().zip(x) {
            xy += f64::from(yj) * f64::from(xj.abs());
            yy += f64::from(yj) * f64::from(yj);
        }
    }
    if left > n as i64 + 3 {
        // Far too few pulses placed (a tiny Σ|x| relative to one coordinate): Opus's fallback.
        let l = left as i32;
        xy += f64::from(l) * f64::from(x[0].abs());
        yy += f64::from(l) * f64::from(l) + 2.0 * f64::from(l) * f64::from(y[0]);
        y[0] += l;
        left = 0;
    }
    for _ in 0..left {
        let mut best = 0usize;
        let (mut bn, mut bd) = (-1.0f64, 1.0f64);
        for (j, (&yj, &xj)) in y.iter().zip(x).enumerate() {
            let rxy = xy + f64::from(xj.abs());
            let ryy = yy + 2.0 * f64::from(yj) + 1.0;
            let num = rxy * rxy;
            // num / ryy > bn / bd, cross-multiplied; strict: first index wins ties.
            if num * bd > bn * ryy {
                best = j;
                bn = num;
                bd = ryy;
            }
        }
        xy += f64::from(x[best].abs());
        yy += 2.0 * f64::from(y[best]) + 1.0;
        y[best] += 1;
    }
}

/// Best single-pulse moves on magnitudes `y` while they raise `⟨|x|, y⟩ / ‖y‖`.
fn refine(x: &[f32], y: &mut [i32]) {
    let mut xy: f64 = y.iter().zip(x).map(|(&a, &b)| f64::from(a) * f64::from(b.abs())).sum();
    let mut yy: f64 = y.iter().map(|&a| f64::from(a) * f64::from(a)).sum();
    if yy == 0.0 {
        return;
    }
    for _ in 0..MAX_MOVES {
        // Current objective xy² / yy (xy ≥ 0), compared by cross-multiplication.
        let (mut bn, mut bd) = (xy * xy, yy);
        let mut mv = None;
        for (a, &ya) in y.iter().enumerate() {
            if ya == 0 {
                continue;
            }
            let xa = f64::from(x[a].abs());
            let (xy1, yy1) = (xy - xa, yy - 2.0 * f64::from(ya) + 1.0);
            for (b, (&yb, &xb)) in y.iter().zip(x).enumerate() {
                if b == a {
                    continue;
                }
                let rxy = xy1 + f64::from(xb.abs());
                let ryy = yy1 + 2.0 * f64::from(yb) + 1.0;
                let num = rxy * rxy;
                // Improve by a relative margin so that float noise cannot cycle.
                if rxy > 0.0 && num * bd > bn * ryy * (1.0 + 1e-12) {
                    bn = num;
                    bd = ryy;
                    mv = Some((a, b, rxy, ryy));
                }
            }
        }
        match mv {
            Some((a, b, rxy, ryy)) => {
                y[a] -= 1;
                y[b] += 1;
                xy = rxy;
                yy = ryy;
            }
            None => break,
        }
    }
}

/// Applies the signs of `x` to the magnitudes `y`; returns `Σ y²`.
fn sign_and_energy(x: &[f32], y: &mut [i32]) -> Result<u64> {
    let mut yy: u64 = 0;
    for (yj, &xj) in y.iter_mut().zip(x) {
        let m = u64::from(yj.unsigned_abs());
        yy = yy.checked_add(m * m).ok_or(Error::Overflow)?;
        if xj < 0.0 {
            *yj = -*yj;
        }
    }
    Ok(yy)
}

/// `⟨x, y⟩ / ‖y‖`: the gain that minimises `‖x − g·y/‖y‖‖²` for a found `y` (0 for `y = 0`).
pub fn projection(x: &[f32], y: &[i32], yy: u64) -> f64 {
    if yy == 0 {
        return 0.0;
    }
    let xy: f64 = x.iter().zip(y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    xy / libm::sqrt(yy as f64)
}
