//! The Gaussian rate–distortion reference ("ideal channel"): reverse water-filling over
//! independent Gaussian components and a simulation of its optimal test channel.
//!
//! This is a **reference, not a codec**: it stores nothing. For components with variances
//! `σ_i²` and a rate of `R` bits in all, the rate–distortion function of independent Gaussians
//! is reached by reverse water-filling: component `i` gets distortion `D_i = min(θ, σ_i²)` and
//! rate `max(0, ½·log2(σ_i²/θ))`, with the water level `θ` chosen so that the rates sum to `R`
//! (Cover & Thomas, *Elements of Information Theory*, theorem 10.3.3). The optimal test channel
//! is the backward channel `x = x̂ + z`, `x̂ ~ N(μ, σ² − D)`, `z ~ N(0, D)` independent; run
//! forward on a given `x` it is `x̂ = μ + a·(x − μ) + √(a·D)·g` with `a = 1 − D/σ²` and `g`
//! standard normal. [`GaussianRd::simulate`] applies it to real data (whose distribution is
//! not Gaussian and whose variances may differ from the model's), so that any metric can be
//! measured at the rate a codec would need under a Gaussian model.

use alloc::vec::Vec;

use crate::error::{Error, Result, check_dim, check_finite};
use crate::rng::Rng;

/// The water level `θ` of reverse water-filling: `Σ_i max(0, ½·log2(σ_i²/θ)) = bits` for the
/// component variances `variances` and a total rate of `bits` bits (closed form over the
/// components sorted by variance: with the `k` largest active,
/// `log θ = (Σ_{i<k} log σ_i² − 2·bits·ln 2)/k`). With `bits = 0` it is the largest variance
/// (every component at distortion `σ_i²`); zero variances never receive rate, and if every
/// variance is zero the level is 0.
///
/// # Errors
/// [`Error::InvalidParameter`] for no variances, a negative or non-finite variance, or a
/// negative or non-finite `bits`.
pub fn water_level(variances: &[f64], bits: f64) -> Result<f64> {
    if variances.is_empty() || variances.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::InvalidParameter("water_level: variances must be finite and ≥ 0, at least one"));
    }
    if !bits.is_finite() || bits < 0.0 {
        return Err(Error::InvalidParameter("water_level: bits must be finite and ≥ 0"));
    }
    let mut v: Vec<f64> = variances.iter().copied().filter(|&x| x > 0.0).collect();
    if v.is_empty() {
        return Ok(0.0);
    }
    v.sort_by(|a, b| b.total_cmp(a));
    let mut log_sum = 0.0;
    let mut theta = 0.0;
    let shift = 2.0 * bits * core::f64::consts::LN_2;
    for k in 1..=v.len() {
        log_sum += libm::log(v[k - 1]);
        theta = libm::exp((log_sum - shift) / k as f64);
        // With the k largest active the level must not fall below the next variance.
        if k == v.len() || theta >= v[k] {
            break;
        }
    }
    Ok(theta)
}

/// The ideal (Gaussian rate–distortion) channel for `d` components with given means and
/// variances at a water level `θ`. **A reference, not a codec**: it stores nothing.
///
/// For components with variances `σ_i²` and `R` bits in all, the rate–distortion function of
/// independent Gaussians is reached by reverse water-filling: component `i` gets distortion
/// `D_i = min(θ, σ_i²)` and rate `max(0, ½·log2(σ_i²/θ))`, with `θ` such that the rates sum to
/// `R` ([`water_level`]; Cover & Thomas, *Elements of Information Theory*, theorem 10.3.3).
/// The optimal test channel is the backward channel `x = x̂ + z`, `x̂ ~ N(μ, σ² − D)`,
/// `z ~ N(0, D)` independent; run forward on a given `x` it is
/// `x̂ = μ + a·(x − μ) + √(a·D)·g` with `a = 1 − D/σ²` and `g` standard normal
/// ([`simulate`](Self::simulate)), so that any metric can be measured on real data at the rate
/// a codec would need under a Gaussian model.
///
/// ```
/// use vector_codecs::kv::GaussianRd;
/// // Two components of variance 4 and 1 at 1 bit in all: θ = 1 (only the first gets rate).
/// let rd = GaussianRd::new(&[0.0, 0.0], &[4.0, 1.0], 1.0)?;
/// assert!((rd.theta() - 1.0).abs() < 1e-12);
/// assert!((rd.total_distortion() - 2.0).abs() < 1e-12);
/// # Ok::<(), vector_codecs::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianRd {
    mean: Vec<f64>,
    var: Vec<f64>,
    theta: f64,
}

impl GaussianRd {
    /// The channel at `bits` bits in all over the components (`bits / d` per component):
    /// `θ = `[`water_level`]`(variances, bits)`.
    ///
    /// # Errors
    /// As [`from_theta`](Self::from_theta) and [`water_level`].
    pub fn new(mean: &[f64], variances: &[f64], bits: f64) -> Result<Self> {
        let theta = water_level(variances, bits)?;
        Self::from_theta(mean, variances, theta)
    }

    /// The channel at a given water level `θ` (e.g. one level shared by several heads, found
    /// by [`water_level`] over all their variances).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `mean.len() == variances.len() ≥ 1`;
    /// [`Error::NonFinite`] for NaN/inf; [`Error::InvalidParameter`] for a negative variance or
    /// `θ`.
    pub fn from_theta(mean: &[f64], variances: &[f64], theta: f64) -> Result<Self> {
        check_dim(mean.len(), variances.len())?;
        if mean.is_empty() {
            return Err(Error::InvalidParameter("GaussianRd: at least one component"));
        }
        if mean.iter().chain(variances).any(|v| !v.is_finite()) || !theta.is_finite() {
            return Err(Error::NonFinite);
        }
        if theta < 0.0 || variances.iter().any(|&v| v < 0.0) {
            return Err(Error::InvalidParameter("GaussianRd: variances and θ must be ≥ 0"));
        }
        Ok(GaussianRd { mean: mean.to_vec(), var: variances.to_vec(), theta })
    }

    /// The number of components `d`.
    pub fn dim(&self) -> usize {
        self.var.len()
    }

    /// The water level `θ`.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// Component `i`'s distortion `D_i = min(θ, σ_i²)` (`i < d`).
    pub fn distortion(&self, i: usize) -> f64 {
        self.theta.min(self.var[i])
    }

    /// `Σ_i D_i`: the expected squared error of a Gaussian source through the channel.
    pub fn total_distortion(&self) -> f64 {
        (0..self.dim()).map(|i| self.distortion(i)).sum()
    }

    /// `Σ_i max(0, ½·log2(σ_i²/θ))`: the rate in bits of one vector (equal to the `bits` of
    /// [`new`](Self::new)).
    pub fn rate_bits(&self) -> f64 {
        self.var
            .iter()
            .map(
                |&v| {
                    if v > self.theta && v > 0.0 {
                        0.5 * libm::log2(v / self.theta.max(f64::MIN_POSITIVE))
                    } else {
                        0.0
                    }
                },
            )
            .sum()
    }

    /// Passes the vectors `x` (`n × d`, row-major) through the test channel into `out`:
    /// `x̂_i = μ_i + a_i·(x_i − μ_i) + √(a_i·D_i)·g` with `a_i = 1 − D_i/σ_i²` (0 where
    /// `σ_i² = 0`) and `g` drawn from `rng` (one standard normal per coordinate, in order).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `x.len()` is a multiple of `d` equal to
    /// `out.len()`; [`Error::NonFinite`] for NaN/inf input.
    pub fn simulate(&self, x: &[f32], rng: &mut Rng, out: &mut [f32]) -> Result<()> {
        let d = self.dim();
        crate::codec::batch_rows(x.len(), d)?;
        check_dim(x.len(), out.len())?;
        check_finite(x)?;
        for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for (i, (&xi, o)) in xr.iter().zip(or.iter_mut()).enumerate() {
                let (mu, v) = (self.mean[i], self.var[i]);
                let dist = self.distortion(i);
                let a = if v > 0.0 { 1.0 - dist / v } else { 0.0 };
                let g = rng.gaussian();
                *o = (mu + a * (f64::from(xi) - mu) + libm::sqrt(a * dist) * g) as f32;
            }
        }
        Ok(())
    }
}
