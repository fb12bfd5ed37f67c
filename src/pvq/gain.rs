//! Quantization of a group's gain (its amplitude along the PVQ direction).
//!
//! A gain is coded relative to the vector's scale: `t = c / (s·√D)` where `c = ⟨x_g, y⟩/‖y‖`
//! is the projection of the group on its pulse direction (the gain that minimises the group's
//! squared error for that direction), `s` the vector's RMS and `D` the group's length. `t` is
//! replaced by the nearest of `L ≤ 256` sorted levels and the level's number is coded
//! (`log2 L` bits with the range coder, `⌈log2 L⌉` at fixed length).
//!
//! * [`GainQuantizer::log_uniform`] — level 0 is exactly 0, levels `1 … L−1` are geometric
//!   (uniform in the log domain) from `lo` to `hi`: no training, any distribution.
//! * [`GainQuantizer::fitted`] (feature `alloc`) — levels fitted to samples of `t` by 1-D
//!   k-means (Lloyd; [`crate::scalar::lloyd::Codebook::train`]): minimum gain MSE for the data.

use crate::error::{Error, Result};
use crate::format::Reader;
use crate::persist::Persist;

/// The most gain levels.
pub const MAX_LEVELS: usize = 256;

/// The largest level: gains are relative to the vector's RMS, and `t ≤ √(d/D) ≤ 256` for
/// every group of a vector of dimension `d ≤ 2^16`.
pub const MAX_LEVEL: f32 = 256.0;

/// Sorted gain levels (at most [`MAX_LEVELS`], each in `[0, MAX_LEVEL]`, strictly increasing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainQuantizer {
    levels: [f32; MAX_LEVELS],
    len: u16,
}

impl GainQuantizer {
    /// Quantizer with the given levels.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless there are `1..=256` finite levels in `[0, 256]`,
    /// strictly increasing.
    pub fn new(levels: &[f32]) -> Result<Self> {
        if levels.is_empty() || levels.len() > MAX_LEVELS {
            return Err(Error::InvalidParameter("pvq gain: 1..=256 levels"));
        }
        if !levels.iter().all(|l| (0.0..=MAX_LEVEL).contains(l)) || levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidParameter("pvq gain: levels must increase within [0, 256]"));
        }
        let mut l = [0.0; MAX_LEVELS];
        l[..levels.len()].copy_from_slice(levels);
        Ok(GainQuantizer { levels: l, len: levels.len() as u16 })
    }

    /// `2^bits` levels: 0, then `2^bits − 1` levels uniform in the log domain from `lo` to `hi`
    /// (`lo·(hi/lo)^(j/(2^bits − 2))`, `j = 0 … 2^bits − 2`). With `bits = 1` the levels are
    /// `{0, lo}`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `bits ∈ 1..=8` and `0 < lo < hi ≤ 256`.
    pub fn log_uniform(bits: u32, lo: f32, hi: f32) -> Result<Self> {
        if !((1..=8).contains(&bits) && lo > 0.0 && lo < hi && hi <= MAX_LEVEL) {
            return Err(Error::InvalidParameter("pvq gain: bits 1..=8 and 0 < lo < hi <= 256"));
        }
        let n = 1usize << bits;
        let mut l = [0.0f32; MAX_LEVELS];
        let steps = (n - 2).max(1) as f64;
        let ratio = f64::from(hi) / f64::from(lo);
        for (j, v) in l[1..n].iter_mut().enumerate() {
            *v = (f64::from(lo) * libm::pow(ratio, j as f64 / steps)) as f32;
        }
        for v in l[1..n].iter_mut() {
            *v = v.min(MAX_LEVEL);
        }
        Self::new(&l[..n])
    }

    /// The default for groups of `group` coordinates in vectors of `dim`: `bits` levels
    /// log-uniform from `2^−6` to `min(√(dim/group), 4)·1.25` (beyond that a group holds more
    /// than the whole vector's energy share by a factor of 16).
    ///
    /// # Errors
    /// As [`log_uniform`](Self::log_uniform).
    pub fn default_for(bits: u32, dim: usize, group: usize) -> Result<Self> {
        let top = libm::sqrt(dim as f64 / group.max(1) as f64).clamp(1.0, 4.0) * 1.25;
        Self::log_uniform(bits, 1.0 / 64.0, top as f32)
    }

    /// Levels fitted to samples of the relative gain `t` by 1-D k-means (`2^bits` levels,
    /// `iters` Lloyd iterations); fewer levels if the samples have fewer distinct values.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `bits ∉ 1..=8`; [`Error::NotEnoughData`] for no
    /// samples; [`Error::NonFinite`] for non-finite samples.
    #[cfg(feature = "alloc")]
    pub fn fitted(samples: &[f32], bits: u32, iters: usize) -> Result<Self> {
        if !(1..=8).contains(&bits) {
            return Err(Error::InvalidParameter("pvq gain: bits 1..=8"));
        }
        let clipped: alloc::vec::Vec<f32> = samples.iter().map(|t| t.clamp(0.0, MAX_LEVEL)).collect();
        let book = crate::scalar::lloyd::Codebook::train(&clipped, 1 << bits, iters)?;
        let mut lv: alloc::vec::Vec<f32> = book.levels().iter().map(|v| v.clamp(0.0, MAX_LEVEL)).collect();
        lv.dedup();
        Self::new(&lv)
    }

    /// The number of levels `L`.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false (a quantizer has at least one level).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The levels.
    pub fn levels(&self) -> &[f32] {
        &self.levels[..self.len()]
    }

    /// The largest level.
    pub fn max_level(&self) -> f32 {
        self.levels[self.len() - 1]
    }

    /// The number of the level nearest to `t` (ties and NaN to the lower level).
    pub fn index(&self, t: f32) -> usize {
        let l = self.levels();
        // Number of midpoints strictly below t.
        let mut lo = 0usize;
        let mut hi = l.len() - 1;
        while lo < hi {
            let mid = (lo + hi) / 2;
            if t > 0.5 * (l[mid] + l[mid + 1]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Level `i` (`i < L`).
    #[inline]
    pub fn level(&self, i: usize) -> f32 {
        self.levels[i.min(self.len() - 1)]
    }
}

impl Persist for GainQuantizer {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u16(self.len).f32s(self.levels());
    }

    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let n = usize::from(r.u16()?);
        if n == 0 || n > MAX_LEVELS {
            return Err(Error::Corrupt("pvq gain level count"));
        }
        let mut l = [0.0f32; MAX_LEVELS];
        r.f32_into(n, &mut l[..n])?;
        GainQuantizer::new(&l[..n]).map_err(|_| Error::Corrupt("pvq gain levels"))
    }
}
