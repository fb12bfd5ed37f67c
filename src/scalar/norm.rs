//! [`NormScalar`]: one coordinate codebook on every coordinate of the direction `y/‖y‖`, plus
//! the norm — the inner codec of TurboQuant-MSE ([`TurboMse`](crate::turbo::TurboMse)) and of
//! orthogonal QJL. [`norm_f64`] is the norm it stores.

use super::codebook::scan::{I8Query, i8_scratch_words};
use super::codebook::{CodebookKind, CodebookScalar, cells_pack};
use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, check_scratch};
use crate::error::{Error, Result, check_code, check_dim};
use crate::scalar::lloyd::Codebook;

/// Per-coordinate scalar codec of the direction plus the norm: code = `b`-bit indices of
/// `y_i/‖y‖` (packed LSB-first, `⌈b·d/8⌉` bytes) ‖ `‖y‖` as `f32` (4 bytes).
/// Decode: `‖y‖ · c[idx_i]`. Score: `⟨q, ŷ⟩` exactly ([`Estimator::Reconstruction`]).
/// A zero vector stores norm 0 and decodes to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct NormScalar {
    /// The indices of the direction: dimension, codebook, scan mode and the codebook's origin
    /// are held (and saved) once, by the [`CodebookScalar`] of the same codebook.
    idx: CodebookScalar,
}

/// A prepared [`NormScalar`] query: the query itself.
#[derive(Clone, Copy, Debug)]
pub struct NormScalarQuery<'s> {
    q: &'s [f32],
    i8: Option<I8Query<'s>>,
}

impl NormScalar {
    /// A codec for `dim`-vectors using `codebook` (indices of `codebook.bits()` bits).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim ∉ 1..=`[`MAX_DIM`](crate::persist::MAX_DIM).
    pub fn new(dim: usize, codebook: Codebook) -> Result<Self> {
        Ok(NormScalar { idx: CodebookScalar::new(dim, codebook)? })
    }

    /// The TurboQuant codec of `dim`-vectors: [`coordinate_codebook`](super::codebook::coordinate_codebook)`(dim, bits, kind)`, saved
    /// as its kind, bits and dimension (re-derived on load).
    ///
    /// # Errors
    /// As [`coordinate_codebook`](super::codebook::coordinate_codebook).
    pub fn coordinate(dim: usize, bits: u32, kind: CodebookKind) -> Result<Self> {
        Ok(NormScalar { idx: CodebookScalar::coordinate(dim, dim, bits, kind)? })
    }

    /// The coordinate codebook.
    pub fn codebook(&self) -> &Codebook {
        &self.idx.codebook
    }

    fn idx_bytes(&self) -> usize {
        (self.idx.dim * self.idx.bits as usize).div_ceil(8)
    }

    fn norm_of(&self, code: &[u8]) -> Result<f32> {
        let nb = self.idx_bytes();
        let b = code.get(nb..nb + 4).ok_or(Error::CodeLength { expected: nb + 4, got: code.len() })?;
        let n = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        crate::error::stored_norm(n, "TurboQuant: norm is negative, not finite or above MAX_NORM")
    }
}

impl Codec for NormScalar {
    fn dim(&self) -> usize {
        self.idx.dim
    }
    fn code_len(&self) -> usize {
        self.idx_bytes() + 4
    }
    /// Norm (`f64` partial sums in 8 lanes, see [`norm_f64`]), then for `b ≤ 4` a branch-free
    /// binary search of the `2^b − 1` thresholds for `y_i/‖y‖` ([`cells_pack`]), packed
    /// directly; wider codebooks use the per-coordinate search.
    ///
    /// # Errors
    /// Wrong lengths; [`Error::NonFinite`] on NaN/inf input or an overflowing norm;
    /// [`Error::Overflow`] for a norm above [`MAX_NORM`](crate::MAX_NORM).
    fn encode_into(&self, y: &[f32], code: &mut [u8]) -> Result<()> {
        check_dim(self.idx.dim, y.len())?;
        check_code(self.code_len(), code.len())?;
        if let Some(r) = self.encode_rows_arch(y, code) {
            return r;
        }
        // NaN or ±inf anywhere makes the f64 sum of squares NaN or +inf (squares are ≥ 0 and
        // cannot overflow f64), so one finiteness test of the norm covers the input check.
        let norm = crate::error::encode_norm(norm_f64(y) as f32)?;
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        let nb = self.idx_bytes();
        let (idx, tail) = code.split_at_mut(nb);
        tail.copy_from_slice(&norm.to_le_bytes());
        let b = self.idx.bits as usize;
        if b <= 4 {
            cells_pack(y, inv, self.idx.codebook.thresholds(), self.idx.bits, idx);
            return Ok(());
        }
        idx.fill(0);
        for (i, &v) in y.iter().enumerate() {
            let idx_v = u32::from(self.idx.codebook.index(v * inv));
            let bit = i * b;
            let word = idx_v << (bit % 8);
            for k in 0..3 {
                if let Some(c) = idx.get_mut(bit / 8 + k) {
                    *c |= (word >> (8 * k)) as u8;
                }
            }
        }
        Ok(())
    }

    /// For `b ≤ 4` on x86-64 with AVX2: the cell search and packing of row `r − 1` run
    /// interleaved with the sum of squares of row `r` (which otherwise waits on its dependency
    /// chain), the search tables are built once per call. Same codes as
    /// [`encode_into`](Codec::encode_into) row by row (tested); on error, every earlier row is
    /// written.
    ///
    /// # Errors
    /// As [`encode_into`](Codec::encode_into), and wrong batch lengths.
    fn encode_batch(&self, ys: &[f32], codes: &mut [u8]) -> Result<()> {
        let (d, c) = (self.idx.dim, self.code_len());
        let n = crate::codec::batch_rows(ys.len(), d)?;
        check_code(n * c, codes.len())?;
        if let Some(r) = self.encode_rows_arch(ys, codes) {
            return r;
        }
        for (y, code) in ys.chunks_exact(d).zip(codes.chunks_exact_mut(c)) {
            self.encode_into(y, code)?;
        }
        Ok(())
    }
}

impl NormScalar {
    /// The AVX2 batch kernel (`simd::norm_cells_rows`) on whole rows; `None`
    /// where it does not apply (`b > 4`, no AVX2).
    fn encode_rows_arch(&self, ys: &[f32], codes: &mut [u8]) -> Option<Result<()>> {
        let norm = |ss: f64| crate::error::encode_norm(libm::sqrt(ss) as f32);
        crate::simd::norm_cells_rows(
            ys,
            self.idx.dim,
            self.idx.codebook.thresholds(),
            self.idx.bits,
            codes,
            self.code_len(),
            norm,
        )
    }
}

/// `√(Σ y_i²)` with the squares of the `f32` inputs (exact in `f64`) accumulated in 8 `f64`
/// lanes (lane `i mod 8`), combined pairwise, then the tail in order. Non-finite inputs give a
/// non-finite result. Rounded to `f32`, this agrees with a sequential `f64` sum except, rarely,
/// in the last bit.
pub fn norm_f64(y: &[f32]) -> f64 {
    libm::sqrt(crate::simd::sum_sq_f64(y))
}

impl Decode for NormScalar {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        check_code(self.code_len(), code.len())?;
        check_dim(self.idx.dim, out.len())?;
        let norm = self.norm_of(code)?;
        crate::simd::lut_expand_f32(&code[..self.idx_bytes()], self.idx.bits, self.idx.codebook.levels(), norm, out);
        Ok(())
    }
}

impl Score for NormScalar {
    type Query<'s> = NormScalarQuery<'s>;

    /// [`ScanMode::Float`]: `dim` words (a copy of the query); [`ScanMode::I8`]: the blocked `i8`
    /// query.
    fn query_scratch_len(&self) -> usize {
        match self.idx.i8 {
            None => self.idx.dim,
            Some(_) => i8_scratch_words(self.idx_bytes(), self.idx.bits),
        }
    }
    /// [`Estimator::Reconstruction`]; [`Estimator::Biased`] with [`ScanMode::I8`].
    fn estimator(&self) -> Estimator {
        if self.idx.i8.is_some() { Estimator::Biased } else { Estimator::Reconstruction }
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<Self::Query<'s>> {
        check_dim(self.idx.dim, q.len())?;
        check_scratch(self.query_scratch_len(), scratch.len())?;
        if q.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        if let Some(lv) = self.idx.i8 {
            let i8 = I8Query::prepare(q, lv, self.idx.bits, self.idx_bytes(), scratch)?;
            return Ok(NormScalarQuery { q: &[], i8: Some(i8) });
        }
        let s = &mut scratch[..self.idx.dim];
        s.copy_from_slice(q);
        Ok(NormScalarQuery { q: s, i8: None })
    }
    fn score(&self, q: &Self::Query<'_>, code: &[u8]) -> Result<f32> {
        check_code(self.code_len(), code.len())?;
        let norm = self.norm_of(code)?;
        let idx = &code[..self.idx_bytes()];
        if let Some(i8) = &q.i8 {
            return Ok(norm * i8.score(idx));
        }
        Ok(norm * crate::simd::dot_lut_f32(idx, self.idx.bits, self.idx.codebook.levels(), q.q))
    }
}

/// [`ScanMode::Float`] (exact) and [`ScanMode::I8`] (1-, 2- and 4-bit codebooks; see [`scan`](super::codebook::scan)).
impl ScanModes for NormScalar {
    fn scan_mode(&self) -> ScanMode {
        self.idx.scan_mode()
    }
    fn with_scan(self, mode: ScanMode) -> Result<Self> {
        Ok(NormScalar { idx: self.idx.with_scan(mode)? })
    }
}

/// Saved as its [`CodebookScalar`]: `u32` dimension, the codebook (`u8` tag; derived by
/// [`coordinate_codebook`](super::codebook::coordinate_codebook): tag 1 Gaussian / 2 Beta, `u8` bits, `u32` sphere dimension,
/// re-derived on load; else tag 0, `u16` count and the `f32` levels), then `u8` scan mode
/// (0 `Float`, 1 `I8`).
impl crate::persist::Persist for NormScalar {
    #[cfg(feature = "alloc")]
    fn persist(&self, w: &mut crate::format::Writer) {
        self.idx.persist(w);
    }
    fn restore(r: &mut crate::format::Reader<'_>) -> Result<Self> {
        Ok(NormScalar { idx: CodebookScalar::restore(r)? })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::codebook::{cells_pack_portable, coordinate_codebook};
    use super::*;
    use std::vec;

    /// The pre-optimization binary search (upper bound, ties to the upper cell).
    fn index_ref(cb: &Codebook, x: f32) -> u8 {
        let t = cb.thresholds();
        let mut c = 0usize;
        while c < t.len() && t[c] <= x {
            c += 1;
        }
        c as u8
    }

    /// Per-coordinate reference of [`cells_pack`]: `Codebook::index` and LSB-first packing.
    fn cells_pack_ref(cb: &Codebook, y: &[f32], inv: f32) -> std::vec::Vec<u8> {
        let b = cb.bits();
        let idx: std::vec::Vec<u8> = y.iter().map(|&v| cb.index(v * inv)).collect();
        let mut out = vec![0u8; (y.len() * b as usize).div_ceil(8)];
        crate::bits::pack(&idx, b, &mut out).unwrap();
        out
    }

    #[test]
    fn cells_pack_matches_reference_on_awkward_lengths() {
        let mut rng = crate::rng::Rng::new(17);
        let mut lens = vec![0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 63, 64, 65, 1023];
        lens.extend((0..6).map(|_| (rng.next_u64() % 3000) as usize));
        for kind in [CodebookKind::Gaussian, CodebookKind::Beta] {
            for bits in 1..=4u32 {
                let cb = coordinate_codebook(64, bits, kind).unwrap();
                for &n in &lens {
                    let mut y = vec![0.0f32; n];
                    rng.fill_gaussian(&mut y);
                    // Exact thresholds, their neighbours, zeros and non-finite values.
                    for (i, v) in y.iter_mut().enumerate() {
                        let t = cb.thresholds()[i % cb.thresholds().len()] * 8.0;
                        match i % 11 {
                            1 => *v = t,
                            2 => *v = f32::from_bits(t.to_bits() + 1),
                            3 => *v = -0.0,
                            4 if i % 3 == 0 => *v = f32::NAN,
                            5 if i % 3 == 0 => *v = f32::INFINITY,
                            6 if i % 3 == 0 => *v = f32::NEG_INFINITY,
                            _ => {}
                        }
                    }
                    let inv = 0.125f32;
                    let want = cells_pack_ref(&cb, &y, inv);
                    let mut got = vec![0xA5u8; want.len()];
                    cells_pack(&y, inv, cb.thresholds(), bits, &mut got);
                    assert_eq!(got, want, "{kind:?} bits {bits} n {n}");
                    let mut got = vec![0x5Au8; want.len()];
                    let full = match bits {
                        1 => cells_pack_portable::<1>(&y, inv, cb.thresholds(), &mut got),
                        2 => cells_pack_portable::<2>(&y, inv, cb.thresholds(), &mut got),
                        3 => cells_pack_portable::<3>(&y, inv, cb.thresholds(), &mut got),
                        _ => cells_pack_portable::<4>(&y, inv, cb.thresholds(), &mut got),
                    };
                    assert_eq!(full, n / 8 * 8);
                    let nb = n / 8 * bits as usize;
                    assert_eq!(got[..nb], want[..nb], "portable {kind:?} bits {bits} n {n}");
                }
            }
        }
    }

    #[test]
    fn norm_kernels_bit_identical() {
        let mut rng = crate::rng::Rng::new(8);
        for n in [0usize, 1, 7, 8, 9, 31, 1023, 4097] {
            let mut y = vec![0.0f32; n];
            rng.fill_gaussian(&mut y);
            if n > 2 {
                y[1] = 3.0e38;
            }
            // The dispatched kernel (AVX2 where the CPU has it) against the portable one.
            let want = libm::sqrt(crate::simd::portable::sum_sq_f64(&y));
            assert_eq!(norm_f64(&y).to_bits(), want.to_bits(), "n {n}");
            let seq = libm::sqrt(y.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>());
            assert!((want - seq).abs() <= 1e-12 * seq, "n {n}");
        }
    }

    /// The pre-optimization encoder (sequential f64 norm, per-coordinate index).
    fn encode_ref(c: &NormScalar, y: &[f32]) -> Result<std::vec::Vec<u8>> {
        if y.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let norm = libm::sqrt(y.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()) as f32;
        if !norm.is_finite() {
            return Err(Error::NonFinite);
        }
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        let mut out = cells_pack_ref(c.codebook(), y, inv);
        out.extend_from_slice(&norm.to_le_bytes());
        Ok(out)
    }

    #[test]
    fn norm_scalar_encode_decode_match_reference() {
        let mut rng = crate::rng::Rng::new(3);
        for d in [1usize, 2, 7, 8, 9, 31, 64, 384, 768, 1023] {
            for bits in 1..=5u32 {
                let kind = if bits == 5 { CodebookKind::Beta } else { CodebookKind::Gaussian };
                let cb = coordinate_codebook(d.max(2), bits, kind).unwrap();
                let c = NormScalar::new(d, cb).unwrap();
                let mut code = vec![0u8; c.code_len()];
                for trial in 0..20 {
                    let mut y = vec![0.0f32; d];
                    rng.fill_gaussian(&mut y);
                    if trial == 0 {
                        y.fill(0.0);
                    }
                    c.encode_into(&y, &mut code).unwrap();
                    assert_eq!(code, encode_ref(&c, &y).unwrap(), "d {d} bits {bits} trial {trial}");
                    let mut out = vec![0.0f32; d];
                    c.decode_into(&code, &mut out).unwrap();
                    let norm = f32::from_le_bytes(code[code.len() - 4..].try_into().unwrap());
                    for (i, &o) in out.iter().enumerate() {
                        let idx = crate::bits::get(&code, i, bits).unwrap() as u8;
                        assert_eq!(o.to_bits(), (norm * c.codebook().level(idx)).to_bits());
                    }
                }
                let mut y = vec![1.0f32; d];
                y[d / 2] = f32::NAN;
                assert_eq!(c.encode_into(&y, &mut code), Err(Error::NonFinite));
                y[d / 2] = f32::NEG_INFINITY;
                assert_eq!(c.encode_into(&y, &mut code), Err(Error::NonFinite));
                y[d / 2] = f32::MAX;
                y[0] = f32::MAX;
                let want = if d > 1 { Error::NonFinite } else { Error::Overflow };
                assert_eq!(c.encode_into(&y, &mut code), Err(want), "overflowing norm");
                y.fill(1.0);
                y[0] = 1e30;
                assert_eq!(c.encode_into(&y, &mut code), Err(Error::Overflow), "norm above MAX_NORM");
            }
        }
    }

    /// The pipelined batch (norm of row r with the cells of row r − 1) equals row-by-row
    /// encoding, and a bad row stops it with every earlier row written.
    #[test]
    fn norm_scalar_batch_pipeline_matches_rows_and_stops_at_bad_row() {
        let mut rng = crate::rng::Rng::new(21);
        for d in [1usize, 5, 8, 33, 100, 768] {
            for bits in 1..=4u32 {
                let c =
                    NormScalar::new(d, coordinate_codebook(d.max(2), bits, CodebookKind::Gaussian).unwrap()).unwrap();
                let (n, cl) = (9usize, c.code_len());
                let mut ys = vec![0.0f32; n * d];
                rng.fill_gaussian(&mut ys);
                ys[2 * d..3 * d].fill(0.0);
                let mut want = vec![0u8; n * cl];
                for (y, code) in ys.chunks_exact(d).zip(want.chunks_exact_mut(cl)) {
                    code.copy_from_slice(&encode_ref(&c, y).unwrap());
                }
                let mut got = vec![0xEEu8; n * cl];
                c.encode_batch(&ys, &mut got).unwrap();
                assert_eq!(got, want, "d {d} bits {bits}");
                ys[6 * d + d / 2] = f32::INFINITY;
                let mut got = vec![0xEEu8; n * cl];
                assert_eq!(c.encode_batch(&ys, &mut got), Err(Error::NonFinite));
                assert_eq!(got[..6 * cl], want[..6 * cl], "rows before the bad one, d {d} bits {bits}");
            }
        }
    }

    #[test]
    fn linear_index_matches_reference_including_thresholds() {
        for bits in 1..=4 {
            let cb = coordinate_codebook(768, bits, CodebookKind::Gaussian).unwrap();
            let mut vals = vec![f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0];
            for &t in cb.thresholds() {
                vals.extend([
                    t,
                    f32::from_bits(t.to_bits().wrapping_add(1)),
                    f32::from_bits(t.to_bits().wrapping_sub(1)),
                ]);
            }
            for i in -20000..=20000 {
                vals.push(i as f32 * 1e-5);
            }
            for &x in &vals {
                assert_eq!(cb.index(x), index_ref(&cb, x), "bits {bits} x {x}");
            }
        }
    }
}
