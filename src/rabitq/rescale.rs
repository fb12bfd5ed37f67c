//! The extended-RaBitQ rescale search: the scale `t` that maximizes the cosine between the
//! magnitudes `a = |o'|` of a unit vector and their `(B−1)`-bit grid code. Every function
//! here reads `|a_i|`, so signed coordinates can be passed as they are.
//!
//! For a scale `t > 0` the code of coordinate `i` is `u_i(t) = min(⌊t·a_i⌋, 2^{B−1} − 1)` and
//! its reconstruction level is `ū_i = u_i + ½` (so `±ū_i` with the sign bit gives the symmetric
//! `2^B`-level grid `±½, ±1½, …`). The quantity maximized is
//!
//! ```text
//! cos(t) = ⟨ū(t), a⟩ / (‖ū(t)‖·‖a‖),
//! ```
//!
//! the cosine between the original direction and the direction the code reconstructs, which is
//! exactly the `x0 = ⟨ō, o'⟩` factor of the estimator: a larger `x0` means a smaller error bound.
//!
//! `cos(t)` is piecewise constant in `t`, changing only at the breakpoints `t = k / a_i`. Between
//! `t = 0` (every `u_i = 0`: the 1-bit code) and a scale where the typical coordinate saturates,
//! the search evaluates the cosine on a geometric grid of [`GRID`] scales, then twice zooms into
//! the bracket around the best point with [`ZOOM`] evenly spaced scales. That is
//! `GRID + 2·ZOOM` cosine evaluations of `O(D)` each, no allocation, and a fixed evaluation order,
//! so the chosen scale is the same on every target. The result is a lower bound on the exact
//! optimum over all breakpoints; tests compare it with exhaustive enumeration.

/// Number of geometric grid points of the first search pass.
pub const GRID: usize = 24;
/// Number of evenly spaced points of each zoom pass.
pub const ZOOM: usize = 12;

/// `cos(t)` as defined in the module docs, for finite magnitudes `|a_i|` (0 for a non-finite `t`) and `ex_bits ∈ 1..=7`
/// bits per magnitude code. Returns 0 when `a` is all zero. Does not normalize by `‖a‖`
/// (callers pass unit vectors; the arg-max is the same either way).
pub fn cosine(a: &[f32], ex_bits: u32, t: f32) -> f32 {
    use wide::f32x8;
    if !t.is_finite() {
        return 0.0;
    }
    let max = ((1u32 << ex_bits.min(7)) - 1) as f32;
    // Eight independent lanes in a fixed summation order (separate multiply and add, no FMA),
    // so results are identical on every target and with or without SIMD.
    let (tv, mv, half) = (f32x8::splat(t), f32x8::splat(max), f32x8::splat(0.5));
    let (mut dot, mut nn) = (f32x8::ZERO, f32x8::ZERO);
    let mut chunks = a.chunks_exact(8);
    for c in &mut chunks {
        let v = f32x8::from([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]).abs();
        // t·v ∈ [0, max] after the clamp, so truncation is the floor and cannot overflow.
        let u = (tv * v).fast_min(mv).fast_trunc_int().round_float() + half;
        dot += u * v;
        nn += u * u;
    }
    let (mut dot, mut nn) = (dot.to_array(), nn.to_array());
    for (l, &v) in chunks.remainder().iter().enumerate() {
        let v = v.abs();
        let u = ((t * v).min(max) as i32) as f32 + 0.5;
        dot[l] += u * v;
        nn[l] += u * u;
    }
    let (dot, nn) = (dot.iter().sum::<f32>(), nn.iter().sum::<f32>());
    if nn > 0.0 { dot / libm::sqrtf(nn) } else { 0.0 }
}

/// `min(⌊y⌋, max)` for `y ≥ 0` (a saturating float-to-int cast truncates, which is the floor
/// for non-negative values; NaN maps to 0). No `libm` call: this is the search's inner loop.
#[inline]
fn floor_level(y: f32, max: u32) -> u32 {
    (y as u32).min(max)
}

/// The code `min(⌊t·|v|⌋, 2^{ex_bits} − 1)` of one magnitude.
#[inline]
pub fn level(v: f32, ex_bits: u32, t: f32) -> u8 {
    floor_level(t * v.abs(), (1u32 << ex_bits.min(7)) - 1) as u8
}

/// The scale `t ≥ 0` found by the grid-and-zoom search (module docs) for magnitudes `a`, with
/// `ex_bits ∈ 1..=7`. Returns 0 when `a` has no positive finite value.
pub fn best_scale(a: &[f32], ex_bits: u32) -> f32 {
    let amax = a.iter().fold(0.0f32, |m, &v| if v.abs() > m { v.abs() } else { m });
    if !(amax > 0.0 && amax.is_finite()) || a.is_empty() {
        return 0.0;
    }
    let levels = ((1u32 << ex_bits.min(7)) as f32).max(2.0);
    let norm = libm::sqrtf(a.iter().map(|v| v * v).sum::<f32>());
    let rms = norm / libm::sqrtf(a.len() as f32);
    // Below t_lo every code is 0; beyond t_hi the RMS coordinate is saturated.
    let t_lo = 1.0 / amax;
    let t_hi = (levels / rms).max(t_lo * levels);
    if !(t_hi.is_finite() && t_lo.is_finite()) {
        return 0.0;
    }
    let ratio = t_hi / t_lo;
    let mut best_t = 0.0f32;
    let mut best = cosine(a, ex_bits, 0.0);
    let grid = |k: usize| t_lo * libm::powf(ratio, k as f32 / (GRID - 1) as f32);
    let mut best_k = None;
    for k in 0..GRID {
        let t = grid(k);
        let c = cosine(a, ex_bits, t);
        if c > best {
            best = c;
            best_t = t;
            best_k = Some(k);
        }
    }
    let Some(k) = best_k else { return best_t };
    let (mut lo, mut hi) = (if k == 0 { 0.0 } else { grid(k - 1) }, grid((k + 1).min(GRID - 1)));
    for _ in 0..2 {
        let step = (hi - lo) / (ZOOM + 1) as f32;
        let mut bi = None;
        for j in 1..=ZOOM {
            let t = lo + step * j as f32;
            let c = cosine(a, ex_bits, t);
            if c > best {
                best = c;
                best_t = t;
                bi = Some(j);
            }
        }
        if let Some(j) = bi {
            lo += step * (j - 1) as f32;
            hi = lo + step * 2.0;
        } else {
            // Best is still the bracket's centre: zoom around it.
            lo = best_t - step;
            hi = best_t + step;
        }
    }
    best_t
}
