//! Transform coding for inner-product search (trained; needs `alloc`): a trained PCA rotation, a per-coordinate bit
//! allocation (reverse water-filling over the principal variances), per-coordinate scaling to the
//! Gaussian Lloyd–Max codebooks, and the ratio-corrected norm of
//! [`IpNormalized`].
//!
//! A random rotation makes every coordinate's variance `‖x‖²/d`, so equal bits per coordinate are
//! optimal *after* it — but the distortion is then the arithmetic mean of the data's principal
//! variances times `D(b)`. Rotating to the principal axes instead and giving coordinate `j`
//! `b_j` bits with `Σ b_j = B·d` reaches, for Gaussian coordinates, the geometric mean: a gain of
//! AM/GM of the spectrum at the same bytes per vector (classical transform coding).
//!
//! The codec is a composition of the crate's parts:
//! `Centered<Rotated<Pca, IpNormalized<Scaled<Groups>>>>` where `Groups` is a [`Split`] of four
//! [`CodebookScalar`]s at 4, 3, 2 and 1 bits over consecutive principal coordinates (sorted by
//! decreasing variance), each group a multiple of 8 coordinates so that no code byte is padded.
//! Code: the four groups' indices, then one `f32` (`‖x − μ‖/⟨u, û⟩`); bits per dimension
//! `B + 32/d`. Score: `⟨q, μ⟩ + s·⟨P q ⊘ σ, c[idx]⟩` — exact float query, one table lookup per
//! coordinate. Estimator: [`Estimator::Biased`] (ratio estimator).
//!
//! [`TurboPcaLow`] uses the widths 3, 2, 1 and 0 ([`Dropped`] coordinates store nothing) for rates
//! around 1 bit per coordinate.
//!
//! The codecs save and load through [`Persist`](crate::persist::Persist): the mean, the PCA
//! matrix and variances ([`Pca`]), the scales, then each group's codebook levels. Factory names:
//! `pcaN-ip`, `pca1+-ip`.
//!
//! Measured on `wordnet-minilm-l6` (50,000 × 384 base, 1,000 queries, recall@10 by inner product,
//! `evaluate` rows `pca2-ip`, `pca3-ip`, `pca1+-ip`): 0.8860 at 100 B per vector (plain `tq2-ip`
//! 0.8638; turbovec 1.1.2 2-bit calibrated 0.8697), 0.9314 at 148 B (`tq3-ip` 0.9237), and
//! 0.7856 at 56 B (faiss 1.15.1 `IndexRaBitQ` 1-bit 0.7415). At 196 B (`pca4-ip`, widths
//! 5/4/3/2) the reconstruction error halves against `tq4-ip` (relative MSE 5.0e-3 vs 9.5e-3) but
//! recall@10 does not move (0.9597 vs 0.9601): at 4 bits the ranking is no longer limited by it. The price is encoding and decoding
//! through a dense `d × d` matrix (`O(d²)` per vector instead of `O(d log d)`), `d² + 2d`
//! parameter floats, and a training pass (covariance of up to 8,192 rows, Jacobi eigensolver:
//! about a second at `d = 384`).

use alloc::vec::Vec;

use crate::codec::{Codec, Decode, Estimator, Score};
use crate::compose::norm_f64;
use crate::compose::{Centered, IpNormalized, Rotated, Scaled, Split};
use crate::error::{Error, Result, check_dim};
use crate::scalar::codebook::CodebookScalar;
use crate::scalar::lloyd::Codebook;
use crate::transform::{Pca, Transform};

/// Four consecutive groups of principal coordinates at 4, 3, 2 and 1 bits (5, 4, 3, 2 for
/// `pca4-ip`).
pub type Groups = Split<CodebookScalar, Split<CodebookScalar, Split<CodebookScalar, CodebookScalar>>>;

/// The PCA transform-coding codec (module docs).
pub type TurboPca = Centered<Rotated<Pca, IpNormalized<Scaled<Groups, Vec<f32>>>>, Vec<f32>>;

/// Coordinates given 0 bits: nothing stored, decoded and scored as 0
/// ([`Estimator::Reconstruction`]: exact on that reconstruction). Used for the least-variance
/// principal coordinates at low rates ([`TurboPcaLow`]); under the ratio estimator the kept
/// coordinates then carry the projection of the query on the kept subspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    dim: usize,
}

impl Dropped {
    /// Drops `dim` coordinates.
    pub fn new(dim: usize) -> Self {
        Dropped { dim }
    }
}

impl Codec for Dropped {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        0
    }
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input.
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.dim, x.len())?;
        crate::error::check_code(0, code.len())?;
        crate::error::check_finite(x)
    }
}

impl Decode for Dropped {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        crate::error::check_code(0, code.len())?;
        check_dim(self.dim, out.len())?;
        out.fill(0.0);
        Ok(())
    }
}

impl Score for Dropped {
    type Query<'s> = ();
    /// None.
    fn query_scratch_len(&self) -> usize {
        0
    }
    fn estimator(&self) -> Estimator {
        Estimator::Reconstruction
    }
    fn prepare<'s>(&'s self, q: &[f32], _scratch: &'s mut [f32]) -> Result<()> {
        check_dim(self.dim, q.len())?;
        crate::error::check_finite(q)
    }
    fn score(&self, _q: &(), code: &[u8]) -> Result<f32> {
        crate::error::check_code(0, code.len())?;
        Ok(0.0)
    }
}

/// Saved as `u32` dimension.
impl crate::persist::Persist for Dropped {
    fn persist(&self, w: &mut crate::format::Writer) {
        w.u32(self.dim as u32);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        Ok(Dropped::new(crate::persist::read_dim(r, crate::persist::MAX_DIM, "dropped coordinates: too many")?))
    }
}

/// Four consecutive groups of principal coordinates at 3, 2, 1 and 0 bits.
pub type GroupsLow = Split<CodebookScalar, Split<CodebookScalar, Split<CodebookScalar, Dropped>>>;

/// The low-rate PCA codec: as [`TurboPca`] with widths 3, 2, 1 and 0 (about 1 bit per
/// coordinate; [`train_pca_low`]).
pub type TurboPcaLow = Centered<Rotated<Pca, IpNormalized<Scaled<GroupsLow, Vec<f32>>>>, Vec<f32>>;

/// Lloyd–Max distortion of a unit-variance Gaussian at 0..=5 bits (0 bits: the variance).
const DIST: [f64; 6] = [1.0, 0.3634, 0.1175, 0.03455, 0.009501, 0.002499];

/// Bit allocation over blocks of 8 coordinates (block variances `block_var`, in principal order)
/// with the widths `top, top − 1, top − 2, top − 3` (`3 ≤ top ≤ 5`): the counts `c` of blocks at
/// each width, each at least 1, with `Σ c = blocks` and `Σ width·c = budget`, given to
/// consecutive blocks (widest first) so as to minimize `Σ var·D(width)` (`D` the Gaussian
/// Lloyd–Max distortions) — exhaustive over the `O(n²)` feasible counts. `None` if no count is
/// feasible.
fn allocate(block_var: &[f64], budget: usize, top: usize) -> Option<[usize; 4]> {
    let nb = block_var.len();
    // The same problem with widths 4, 3, 2, 1.
    let budget = (budget + 4 * nb).checked_sub(top * nb)?;
    let mut prefix = Vec::with_capacity(nb + 1);
    let mut acc = 0.0f64;
    prefix.push(0.0);
    for &v in block_var {
        acc += v;
        prefix.push(acc);
    }
    let mut best: Option<(f64, [usize; 4])> = None;
    for c4 in 1..nb {
        for c3 in 1..nb - c4 {
            // c2 + c1 = nb − c4 − c3 and 2·c2 + c1 = budget − 4·c4 − 3·c3.
            let rest = nb - c4 - c3;
            let Some(bits_left) = budget.checked_sub(4 * c4 + 3 * c3) else { continue };
            let Some(c2) = bits_left.checked_sub(rest) else { continue };
            if c2 == 0 || c2 >= rest {
                continue;
            }
            let c = [c4, c3, c2, rest - c2];
            let mut start = 0;
            let mut dist = 0.0;
            for (i, &k) in c.iter().enumerate() {
                dist += DIST[top - i] * (prefix[start + k] - prefix[start]);
                start += k;
            }
            if best.is_none_or(|(b, _)| dist < b) {
                best = Some((dist, c));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// What both trainers fit: mean, axes, per-coordinate scales `1/σ_j`, block counts.
struct Fitted {
    mean: Vec<f32>,
    pca: Pca,
    scales: Vec<f32>,
    counts: [usize; 4],
}

fn fit(data: &[f32], dim: usize, budget: usize, top: usize) -> Result<Fitted> {
    if !dim.is_multiple_of(8) || dim < 32 {
        return Err(Error::InvalidParameter("PCA TurboQuant: dim must be a multiple of 8, at least 32"));
    }
    let n = crate::codec::batch_rows(data.len(), dim)?;
    if n < 2 {
        return Err(Error::NotEnoughData { needed: 2, got: n });
    }
    crate::error::check_finite(data)?;
    let mean = crate::train::column_mean(data, dim);
    let step = n.div_ceil(super::calibrated::SAMPLE_ROWS);
    let sample: Vec<f32> = data.chunks_exact(dim).step_by(step).flatten().copied().collect();
    let pca = Pca::train(&sample, dim, &mean)?;
    // Per-coordinate spread of the unit directions u = P(x − μ)/‖x − μ‖ on the sample.
    let (mut s2, mut r, mut y) = (alloc::vec![0.0f64; dim], alloc::vec![0.0f32; dim], alloc::vec![0.0f32; dim]);
    let mut used = 0usize;
    for row in sample.chunks_exact(dim) {
        for ((o, &v), &m) in r.iter_mut().zip(row).zip(&mean) {
            *o = v - m;
        }
        pca.forward(&r, &mut y)?;
        let norm = norm_f64(&y);
        if norm > 0.0 {
            for (a, &v) in s2.iter_mut().zip(&y) {
                let u = f64::from(v) / norm;
                *a += u * u;
            }
            used += 1;
        }
    }
    if used < 2 {
        return Err(Error::NotEnoughData { needed: 2, got: used });
    }
    let var: Vec<f64> = s2.iter().map(|&v| v / used as f64).collect();
    let block_var: Vec<f64> = var.chunks_exact(8).map(|c| c.iter().sum()).collect();
    let counts = allocate(&block_var, budget / 8, top)
        .ok_or(Error::InvalidParameter("PCA TurboQuant: no allocation of four bit widths fits the budget"))?;
    let scales = var
        .iter()
        .map(|&v| {
            let s = (1.0 / libm::sqrt(v)) as f32;
            if v > 0.0 && s.is_finite() { s.min(1e6) } else { 1.0 }
        })
        .collect();
    Ok(Fitted { mean, pca, scales, counts })
}

/// The unit-variance Gaussian Lloyd–Max codebook: the tables for 1..=4 bits, solved for 5.
fn gaussian_codebook(bits: u32) -> Result<Codebook> {
    if bits <= 4 {
        return Codebook::gaussian(bits);
    }
    let pdf = |t: f64| libm::exp(-0.5 * t * t);
    Codebook::lloyd_max_density(pdf, -8.0, 8.0, 1usize << bits, 200_000, 1000)
}

fn group(blocks: usize, bits: u32) -> Result<CodebookScalar> {
    CodebookScalar::new(8 * blocks, gaussian_codebook(bits)?)
}

/// Trains [`TurboPca`] at exactly `bits` (2, 3 or 4) bits per coordinate on average on `data`
/// (`n × dim`, `dim` a multiple of 8): the mean, the principal axes (on at most
/// [`SAMPLE_ROWS`](super::calibrated::SAMPLE_ROWS) evenly strided rows), the spread `σ_j` of each
/// principal coordinate of the unit directions `u = P(x − μ)/‖x − μ‖` (the codec scales
/// coordinate `j` by `1/σ_j` onto the unit-variance Gaussian Lloyd–Max codebooks), and the bit
/// allocation over widths 4, 3, 2, 1 (5, 4, 3, 2 at `bits = 4`; each gets at least one block
/// of 8 coordinates). The 5-bit codebook is solved by Lloyd–Max on the Gaussian density.
///
/// # Errors
/// [`Error::InvalidParameter`] unless `dim` is a multiple of 8 with enough blocks for four widths
/// at the budget (`dim ≥ 48` for 2 bits, `dim ≥ 64` for 3 and 4) and `bits ∈ 2..=4`;
/// [`Error::NotEnoughData`] for fewer than 2 rows; [`Error::NonFinite`] for NaN/inf data.
pub fn train_pca(data: &[f32], dim: usize, bits: u32) -> Result<TurboPca> {
    if !(2..=4).contains(&bits) {
        return Err(Error::InvalidParameter("PCA TurboQuant: bits must be 2, 3 or 4"));
    }
    // Widths 4/3/2/1 at 2 and 3 bits on average, 5/4/3/2 at 4.
    let top = if bits == 4 { 5 } else { 4 };
    let f = fit(data, dim, dim * bits as usize, top)?;
    let c = f.counts;
    let w = |i: usize| (top - i) as u32;
    let groups = Split::new(
        group(c[0], w(0))?,
        Split::new(group(c[1], w(1))?, Split::new(group(c[2], w(2))?, group(c[3], w(3))?)?)?,
    )?;
    let inner = IpNormalized::new(Scaled::new(groups, f.scales)?);
    Centered::new(Rotated::new(f.pca, inner)?, f.mean)
}

/// Trains [`TurboPcaLow`]: as [`train_pca`] with widths 3, 2, 1 and 0 and `index_bits` bits of
/// indices per vector (a multiple of 8; the code is `index_bits/8 + 4` bytes). For example
/// `index_bits = 416` at `d = 384` is 56 bytes per vector, faiss RaBitQ 1-bit's size.
///
/// # Errors
/// As [`train_pca`]; [`Error::InvalidParameter`] unless `index_bits` is a multiple of 8 that
/// four widths can meet (`d + 8 ≤ index_bits ≤ 3d − 24` or so).
pub fn train_pca_low(data: &[f32], dim: usize, index_bits: usize) -> Result<TurboPcaLow> {
    if !index_bits.is_multiple_of(8) {
        return Err(Error::InvalidParameter("PCA TurboQuant: index bits must be a multiple of 8"));
    }
    let f = fit(data, dim, index_bits, 3)?;
    let c = f.counts;
    let groups = Split::new(
        group(c[0], 3)?,
        Split::new(group(c[1], 2)?, Split::new(group(c[2], 1)?, Dropped::new(8 * c[3]))?)?,
    )?;
    let inner = IpNormalized::new(Scaled::new(groups, f.scales)?);
    Centered::new(Rotated::new(f.pca, inner)?, f.mean)
}
