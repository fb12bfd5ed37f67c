//! The pyramid codebook `P(N, K) = {y ∈ ℤ^N : Σ|y_i| = K}`: exact counts `V(N, K)` and
//! `U(N, K)` with checked arithmetic, and the enumeration of its points in Opus order
//! (SPECS §5, `celt/cwrs.c`).
//!
//! * [`v_count`] / [`u_count`] compute `V` and `U` in any [`PvqInt`] (`u32`, `u64`, `u128`) and
//!   return [`Error::Overflow`] exactly when the value does not fit — never a wrapped value. They
//!   use the closed form `V(N,K)/2 = Σ_{j=1}^{min(N,K)} 2^{j−1}·C(N,j)·C(K−1,j−1)` with the
//!   binomials built by gcd-reduced exact multiplication, so every intermediate is at most the
//!   result: `O(min(N, K))` steps, no allocation, any `N, K ≤ 2^32 − 1`.
//! * [`icwrs`] maps a point to its index in `[0, V(N, K))`, [`cwrsi`] maps an index back
//!   (both exact, on the closed-form counts; no allocation).
//! * [`PulseTable`] (feature `alloc`) holds `U(n, k)` for `n ≤ N, k ≤ K + 1` so that the
//!   codecs index and decode in `O(N + K)` table look-ups.

use crate::error::{Error, Result};

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
    impl Sealed for u128 {}
}

/// An unsigned integer type the pyramid counts and indexes can be computed in: `u32`, `u64` or
/// `u128`. Every operation used by this module is checked.
pub trait PvqInt: sealed::Sealed + Copy + Ord + core::fmt::Debug + Send + Sync + 'static {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Width in bits.
    const BITS: u32;
    /// Checked addition.
    fn c_add(self, o: Self) -> Option<Self>;
    /// Checked subtraction.
    fn c_sub(self, o: Self) -> Option<Self>;
    /// Checked multiplication.
    fn c_mul(self, o: Self) -> Option<Self>;
    /// Wrapping subtraction (used where `o ≤ self` is known).
    fn w_sub(self, o: Self) -> Self;
    /// Division (`o ≠ 0`).
    fn div(self, o: Self) -> Self;
    /// Remainder (`o ≠ 0`).
    fn rem(self, o: Self) -> Self;
    /// `v` if it fits.
    fn from_u64(v: u64) -> Option<Self>;
    /// The value as `u128`.
    fn to_u128(self) -> u128;
    /// The value as `f64` (rounded).
    fn to_f64(self) -> f64;
    /// `self` if it fits, from a `u128`.
    fn from_u128(v: u128) -> Option<Self>;
}

macro_rules! pvq_int {
    ($t:ty) => {
        impl PvqInt for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const BITS: u32 = <$t>::BITS;
            #[inline]
            fn c_add(self, o: Self) -> Option<Self> {
                self.checked_add(o)
            }
            #[inline]
            fn c_sub(self, o: Self) -> Option<Self> {
                self.checked_sub(o)
            }
            #[inline]
            fn c_mul(self, o: Self) -> Option<Self> {
                self.checked_mul(o)
            }
            #[inline]
            fn w_sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline]
            fn div(self, o: Self) -> Self {
                self / o
            }
            #[inline]
            fn rem(self, o: Self) -> Self {
                self % o
            }
            #[inline]
            fn from_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            #[inline]
            fn to_u128(self) -> u128 {
                self as u128
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_u128(v: u128) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    };
}
pvq_int!(u32);
pvq_int!(u64);
pvq_int!(u128);

fn gcd<T: PvqInt>(mut a: T, mut b: T) -> T {
    while b != T::ZERO {
        let r = a.rem(b);
        a = b;
        b = r;
    }
    a
}

/// `c · num / den` where the result is known to be an integer: reduced by `gcd(c, den)` first,
/// so no intermediate exceeds the result.
fn mul_div_exact<T: PvqInt>(c: T, num: u64, den: u64) -> Option<T> {
    let den = T::from_u64(den)?;
    let num = T::from_u64(num)?;
    let g = gcd(c, den);
    let (c, d) = (c.div(g), den.div(g));
    // `d` divides `num` because the result is an integer and gcd(c/g, d) = 1.
    c.c_mul(num.div(d))
}

/// `V(n, k) / 2` for `n, k ≥ 1`: `Σ_{j=1}^{min(n,k)} 2^{j−1} C(n, j) C(k−1, j−1)`.
fn half_v<T: PvqInt>(n: u32, k: u32) -> Option<T> {
    debug_assert!(n >= 1 && k >= 1);
    let m = n.min(k);
    let (mut cn, mut ck, mut pow) = (T::from_u64(u64::from(n))?, T::ONE, T::ONE);
    let mut sum = cn; // j = 1: 1 · C(n,1) · C(k−1,0)
    for j in 2..=u64::from(m) {
        cn = mul_div_exact(cn, u64::from(n) + 1 - j, j)?;
        ck = mul_div_exact(ck, u64::from(k) + 1 - j, j - 1)?;
        pow = pow.c_add(pow)?;
        sum = sum.c_add(pow.c_mul(cn)?.c_mul(ck)?)?;
    }
    Some(sum)
}

/// `V(N, K) = |P(N, K)|`, the number of integer `N`-vectors with `Σ|y_i| = K`.
///
/// `V(N, 0) = 1`, `V(0, K > 0) = 0`; e.g. `V(2, K) = 4K`, `V(9, 9) = 864146`.
///
/// # Errors
/// [`Error::Overflow`] if the value does not fit in `T` (exactly then).
///
/// ```
/// use vector_codecs::pvq::count::v_count;
/// assert_eq!(v_count::<u32>(9, 9), Ok(864_146));
/// assert!(v_count::<u32>(8, 37).is_err()); // 36 is the largest K for N = 8 in u32
/// ```
pub fn v_count<T: PvqInt>(n: u32, k: u32) -> Result<T> {
    if k == 0 {
        return Ok(T::ONE);
    }
    if n == 0 {
        return Ok(T::ZERO);
    }
    half_v::<T>(n, k).and_then(|h| h.c_add(h)).ok_or(Error::Overflow)
}

/// `U(N, K) = (V(N−1, K−1) + V(N, K−1)) / 2` for `K > 0`; `U(0, 0) = 1`, `U(0, K > 0) = 0`,
/// `U(N > 0, 0) = 0`. Symmetric: `U(N, K) = U(K, N)`; `V(N, K) = U(N, K) + U(N, K + 1)`.
///
/// # Errors
/// [`Error::Overflow`] if the value does not fit in `T` (exactly then: it is computed as
/// `V(N−1, K−1)/2 + V(N, K−1)/2` from the halved closed form).
pub fn u_count<T: PvqInt>(n: u32, k: u32) -> Result<T> {
    match (n, k) {
        (0, 0) => Ok(T::ONE),
        (0, _) | (_, 0) => Ok(T::ZERO),
        (_, 1) => Ok(T::ONE),
        _ => {
            let a = if n >= 2 { half_v::<T>(n - 1, k - 1) } else { Some(T::ZERO) };
            let b = half_v::<T>(n, k - 1);
            a.zip(b).and_then(|(a, b)| a.c_add(b)).ok_or(Error::Overflow)
        }
    }
}

/// `log2 V(N, K)`: the bits of an index of `P(N, K)` coded at its exact rate (range coder), as
/// `f64` for any size (`0` for `V = 1`; `-inf` for `V = 0`).
pub fn log2_v(n: u32, k: u32) -> f64 {
    if let Ok(v) = v_count::<u128>(n, k) {
        return log2_u128(v);
    }
    // Beyond 2^128: the closed form summed in f64 (relative error ~1e-15).
    let m = n.min(k);
    let (mut cn, mut ck, mut pow, mut sum) = (f64::from(n), 1.0f64, 1.0f64, 0.0f64);
    sum += cn;
    for j in 2..=m {
        let jf = f64::from(j);
        cn *= (f64::from(n) + 1.0 - jf) / jf;
        ck *= (f64::from(k) + 1.0 - jf) / (jf - 1.0);
        pow *= 2.0;
        sum += pow * cn * ck;
        if !sum.is_finite() {
            break;
        }
    }
    libm::log2(sum) + 1.0
}

/// `log2 v` of a `u128` without losing precision for values above 2^53.
pub(crate) fn log2_u128(v: u128) -> f64 {
    if v == 0 {
        return f64::NEG_INFINITY;
    }
    let lz = v.leading_zeros();
    if lz >= 64 {
        return libm::log2(v as u64 as f64);
    }
    let sh = 64 - lz;
    libm::log2((v >> sh) as u64 as f64) + f64::from(sh)
}

/// `⌈log2 V(N, K)⌉`: the bits of an index written at fixed length.
///
/// # Errors
/// [`Error::Overflow`] if `V(N, K) > 2^128 − 1`.
pub fn index_bits(n: u32, k: u32) -> Result<u32> {
    let v = v_count::<u128>(n, k)?;
    Ok(if v <= 1 { 0 } else { 128 - (v - 1).leading_zeros() })
}

/// Sum of `|y_i|` and the dimension as `u32`, checked.
fn pulses(y: &[i32]) -> Result<(u32, u32)> {
    let n = u32::try_from(y.len()).map_err(|_| Error::InvalidParameter("pvq: dimension above 2^32 - 1"))?;
    let mut k: u32 = 0;
    for &v in y {
        k = k.checked_add(v.unsigned_abs()).ok_or(Error::Overflow)?;
    }
    if k > i32::MAX as u32 {
        return Err(Error::Overflow);
    }
    Ok((n, k))
}

/// The index of `y ∈ P(N, K)` (`N = y.len()`, `K = Σ|y_i|`) in Opus order (`icwrs`), in
/// `[0, V(N, K))`.
///
/// Order: `N = 2, K = 1`: `(1,0) → 0, (0,1) → 1, (0,−1) → 2, (−1,0) → 3`.
///
/// # Errors
/// [`Error::Overflow`] if `V(N, K)` does not fit in `T`; [`Error::InvalidParameter`] for an
/// empty `y`.
pub fn icwrs<T: PvqInt>(y: &[i32]) -> Result<T> {
    let (n, k_total) = pulses(y)?;
    if n == 0 {
        return Err(Error::InvalidParameter("pvq: empty vector"));
    }
    // Every U below is at most V(N, K): check it once so that the sums cannot overflow.
    v_count::<T>(n, k_total)?;
    index_with(y, |n, k| u_count::<T>(n, k))
}

/// `icwrs` over any `U(n, k)` source (closed form or table); `U` must be exact.
fn index_with<T: PvqInt>(y: &[i32], u: impl Fn(u32, u32) -> Result<T>) -> Result<T> {
    let n = y.len();
    let last = y[n - 1];
    let mut i = if last < 0 { T::ONE } else { T::ZERO };
    let mut k = last.unsigned_abs();
    for j in (0..n - 1).rev() {
        let m = (n - j) as u32;
        i = i.c_add(u(m, k)?).ok_or(Error::Overflow)?;
        k += y[j].unsigned_abs();
        if y[j] < 0 {
            i = i.c_add(u(m, k + 1)?).ok_or(Error::Overflow)?;
        }
    }
    Ok(i)
}

/// Decodes index `i` of `P(N, K)` (`N = y.len()`) into `y` (`cwrsi`, the inverse of [`icwrs`]),
/// and returns `Σ y_j²`.
///
/// # Errors
/// [`Error::Corrupt`] if `i ≥ V(N, K)`; [`Error::Overflow`] if `V(N, K)` does not fit in `T`;
/// [`Error::InvalidParameter`] for an empty `y`.
pub fn cwrsi<T: PvqInt>(k: u32, i: T, y: &mut [i32]) -> Result<u64> {
    let n = u32::try_from(y.len()).map_err(|_| Error::InvalidParameter("pvq: dimension above 2^32 - 1"))?;
    if n == 0 {
        return Err(Error::InvalidParameter("pvq: empty vector"));
    }
    if k > i32::MAX as u32 {
        return Err(Error::InvalidParameter("pvq: K above 2^31 - 1"));
    }
    if i >= v_count::<T>(n, k)? {
        return Err(Error::Corrupt("pvq index >= V(N, K)"));
    }
    decode_with(k, i, y, |n, k| u_count::<T>(n, k))
}

/// `cwrsi` over any exact `U(n, k)` source, for `i < V(N, K)` (checked by the caller).
fn decode_with<T: PvqInt>(mut k: u32, mut i: T, y: &mut [i32], u: impl Fn(u32, u32) -> Result<T>) -> Result<u64> {
    let n = y.len();
    let mut yy: u64 = 0;
    for (j, out) in y.iter_mut().enumerate() {
        let m = (n - j) as u32;
        if m == 1 {
            // Last coordinate: the remaining pulses, sign from the index (0 or 1).
            let neg = i != T::ZERO;
            *out = if neg { -(k as i32) } else { k as i32 };
            yy += u64::from(k) * u64::from(k);
            break;
        }
        let p = u(m, k + 1)?;
        let neg = i >= p;
        if neg {
            i = i.c_sub(p).ok_or(Error::Corrupt("pvq index"))?;
        }
        // Largest k' ≤ k with U(m, k') ≤ i (U increases with k; U(m, 0) = 0 ≤ i).
        let mut kp = k;
        let mut uk = u(m, kp)?;
        while uk > i {
            kp -= 1;
            uk = u(m, kp)?;
        }
        i = i.c_sub(uk).ok_or(Error::Corrupt("pvq index"))?;
        let mag = k - kp;
        *out = if neg { -(mag as i32) } else { mag as i32 };
        yy += u64::from(mag) * u64::from(mag);
        k = kp;
    }
    Ok(yy)
}

#[cfg(feature = "alloc")]
pub(crate) use table::WideTable;
#[cfg(feature = "alloc")]
pub use table::{MAX_ENTRIES, PulseTable};

#[cfg(feature = "alloc")]
mod table {
    use super::*;
    use alloc::vec::Vec;

    /// The table `U(n, k)` for `0 ≤ n ≤ N`, `0 ≤ k ≤ K + 1` in `T`, built with the recurrence
    /// `U(n,k) = U(n−1,k) + U(n,k−1) + U(n−1,k−1)` in `O(N·K)` checked additions. Every entry
    /// is at most `V(N, K)`, so the table exists exactly when `V(N, K)` fits in `T`.
    ///
    /// It indexes and decodes points of `P(n, k)` for any `n ≤ N`, `k ≤ K` in `O(n + k)` look-ups
    /// with no allocation (this is what the codecs use).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PulseTable<T: PvqInt> {
        n: u32,
        k: u32,
        /// Row-major `(N + 1) × (K + 2)`.
        u: Vec<T>,
    }

    /// The largest table a [`PulseTable`] may hold (`(N+1)·(K+2)` entries): 2^22.
    pub const MAX_ENTRIES: usize = 1 << 22;

    impl<T: PvqInt> PulseTable<T> {
        /// The table for `n ≤ max_n`, `k ≤ max_k`.
        ///
        /// # Errors
        /// [`Error::Overflow`] if `V(max_n, max_k)` does not fit in `T`;
        /// [`Error::InvalidParameter`] if `max_n == 0` or the table would exceed
        /// [`MAX_ENTRIES`] entries.
        pub fn new(max_n: u32, max_k: u32) -> Result<Self> {
            if max_n == 0 {
                return Err(Error::InvalidParameter("pvq: N must be >= 1"));
            }
            let cols = (max_k as usize).checked_add(2).ok_or(Error::Overflow)?;
            let entries = (max_n as usize + 1).checked_mul(cols).ok_or(Error::Overflow)?;
            if entries > MAX_ENTRIES {
                return Err(Error::InvalidParameter("pvq: pulse table above 2^22 entries"));
            }
            v_count::<T>(max_n, max_k)?;
            let mut u = alloc::vec![T::ZERO; entries];
            u[0] = T::ONE;
            for n in 1..=max_n as usize {
                for k in 1..cols {
                    let v = u[(n - 1) * cols + k]
                        .c_add(u[n * cols + k - 1])
                        .and_then(|s| s.c_add(u[(n - 1) * cols + k - 1]));
                    // U(n, K+1) ≤ V(n, K) fits; a failure here would be a logic error, reported
                    // as overflow rather than a wrong value.
                    u[n * cols + k] = v.ok_or(Error::Overflow)?;
                }
            }
            Ok(PulseTable { n: max_n, k: max_k, u })
        }

        /// The largest `N` of the table.
        pub fn max_n(&self) -> u32 {
            self.n
        }

        /// The largest `K` of the table.
        pub fn max_k(&self) -> u32 {
            self.k
        }

        /// `U(n, k)` for `n ≤ N`, `k ≤ K + 1`.
        #[inline]
        pub fn u(&self, n: u32, k: u32) -> T {
            self.u[n as usize * (self.k as usize + 2) + k as usize]
        }

        /// `V(n, k) = U(n, k) + U(n, k + 1)` for `n ≤ N`, `k ≤ K` (`V(0,0) = 1`).
        #[inline]
        pub fn v(&self, n: u32, k: u32) -> T {
            // Fits: V(n, k) ≤ V(N, K) was checked at construction.
            self.u(n, k).c_add(self.u(n, k + 1)).unwrap_or(T::ZERO)
        }

        fn check(&self, n: usize, k: u32) -> Result<u32> {
            let n32 = u32::try_from(n).map_err(|_| Error::InvalidParameter("pvq: N above table"))?;
            if n == 0 || n32 > self.n || k > self.k {
                return Err(Error::InvalidParameter("pvq: (N, K) outside the pulse table"));
            }
            Ok(n32)
        }

        /// The index of `y` in `P(y.len(), Σ|y_i|)` (same as [`icwrs`]).
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] if `y.len()` or `Σ|y_i|` exceed the table.
        pub fn index(&self, y: &[i32]) -> Result<T> {
            let (_, k) = pulses(y)?;
            self.check(y.len(), k)?;
            index_with(y, |n, k| Ok(self.u(n, k)))
        }

        /// Decodes index `i` of `P(y.len(), k)` into `y` (same as [`cwrsi`]); returns `Σ y_j²`.
        ///
        /// # Errors
        /// [`Error::InvalidParameter`] if `(y.len(), k)` exceeds the table, [`Error::Corrupt`]
        /// if `i ≥ V(y.len(), k)`.
        pub fn decode(&self, k: u32, i: T, y: &mut [i32]) -> Result<u64> {
            let n = self.check(y.len(), k)?;
            if i >= self.v(n, k) {
                return Err(Error::Corrupt("pvq index >= V(N, K)"));
            }
            Ok(self.decode_rows(k as usize, i, y))
        }

        /// One step of `cwrsi` at coordinate `m` (coordinates left, `m ≥ 2`) with `k` pulses
        /// left, index `i < V(m, k)` and `p = U(m, k + 1)`: returns the signed value, the pulses
        /// and index left, and `U(m − 1, k' + 1)` for the next step.
        ///
        /// Branch-light: the sign by a compare and a select; the magnitude by counting the
        /// entries `U(m, k − d), d < 4` above `i` (rows increase with `k`, so the count is the
        /// magnitude when it is below 4; larger ones continue the scan), and the entries to
        /// subtract and to compare next are selected from loads that depend only on `k`.
        #[inline(always)]
        fn step(&self, m: usize, k: usize, i: T, p: T) -> (i32, usize, T, T) {
            let cols = self.k as usize + 2;
            let row = &self.u[m * cols..(m + 1) * cols];
            let next = &self.u[(m - 1) * cols..m * cols];
            let neg = i >= p;
            let i = i.w_sub(if neg { p } else { T::ZERO });
            let r = [row[k], row[k.saturating_sub(1)], row[k.saturating_sub(2)], row[k.saturating_sub(3)]];
            let q = [next[k + 1], next[k], next[k.saturating_sub(1)], next[k.saturating_sub(2)]];
            let c = usize::from(r[0] > i) + usize::from(r[1] > i) + usize::from(r[2] > i) + usize::from(r[3] > i);
            let (kp, sub, p_next) = if c < 4 {
                (k - c, r[c], q[c])
            } else {
                let mut kp = k - 4;
                while row[kp] > i {
                    kp -= 1;
                }
                (kp, row[kp], next[kp + 1])
            };
            let mag = (k - kp) as i32;
            (if neg { -mag } else { mag }, kp, i.w_sub(sub), p_next)
        }

        /// The loop of `cwrsi` on table rows for `i < V(y.len(), k)` (checked by the caller);
        /// returns `Σ y_j²`.
        #[inline]
        pub(crate) fn decode_rows(&self, mut k: usize, mut i: T, y: &mut [i32]) -> u64 {
            let len = y.len();
            let Some((last, head)) = y.split_last_mut() else {
                return 0;
            };
            let cols = self.k as usize + 2;
            let mut p = self.u[len * cols + k + 1];
            let mut yy: u64 = 0;
            for (j, out) in head.iter_mut().enumerate() {
                let (v, kp, ni, np) = self.step(len - j, k, i, p);
                *out = v;
                yy += u64::from(v.unsigned_abs()).pow(2);
                (k, i, p) = (kp, ni, np);
            }
            // Last coordinate: the remaining pulses, sign from the index (0 or 1).
            let v = k as i32;
            *last = if i != T::ZERO { -v } else { v };
            yy + (k as u64) * (k as u64)
        }
    }

    /// A `u128` pulse table with a `u64` copy (entries above `2^64 − 1` saturated) for the
    /// tail of a decode: once `V(m, k)` of what is left fits 64 bits, every entry the rest of
    /// the decode reads fits too (`U` grows with `n` and `k`), and the walk continues in `u64`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) struct WideTable {
        wide: PulseTable<u128>,
        narrow: PulseTable<u64>,
    }

    impl WideTable {
        /// The table for `n ≤ max_n`, `k ≤ max_k` (as [`PulseTable::new`]).
        pub(crate) fn new(max_n: u32, max_k: u32) -> Result<Self> {
            let wide = PulseTable::<u128>::new(max_n, max_k)?;
            let u = wide.u.iter().map(|&v| u64::try_from(v).unwrap_or(u64::MAX)).collect();
            let narrow = PulseTable { n: max_n, k: max_k, u };
            Ok(WideTable { wide, narrow })
        }

        /// The exact `u128` table.
        pub(crate) fn wide(&self) -> &PulseTable<u128> {
            &self.wide
        }

        /// As [`PulseTable::decode`].
        pub(crate) fn decode(&self, k: u32, i: u128, y: &mut [i32]) -> Result<u64> {
            let n = self.wide.check(y.len(), k)?;
            if i >= self.wide.v(n, k) {
                return Err(Error::Corrupt("pvq index >= V(N, K)"));
            }
            let (len, mut k, mut i) = (y.len(), k as usize, i);
            let mut yy = 0u64;
            let mut j = 0;
            while j + 1 < len {
                let m = len - j;
                if self.wide.v(m as u32, k as u32) <= u128::from(u64::MAX) {
                    break;
                }
                let (v, kp, ni, _) = self.wide.step(m, k, i, self.wide.u(m as u32, k as u32 + 1));
                y[j] = v;
                yy += u64::from(v.unsigned_abs()).pow(2);
                (k, i) = (kp, ni);
                j += 1;
            }
            // `i < V(m, k) ≤ 2^64 − 1` here, or `j` is the last coordinate and `i ∈ {0, 1}`.
            Ok(yy + self.narrow.decode_rows(k, i as u64, &mut y[j..]))
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    /// The table walks (u64, u128 and the u128 → u64 hybrid, magnitudes above 3 included)
    /// against the closed-form `cwrsi`, at the ends of the index range and at random indexes.
    #[test]
    fn table_decodes_match_closed_form() {
        let mut rng = crate::rng::Rng::new(3);
        for (n, k) in [(32u32, 44u32), (24, 40), (64, 30), (16, 60), (8, 36), (4, 300), (3, 1000), (2, 7), (1, 5)] {
            let wide = WideTable::new(n, k).unwrap();
            let narrow = PulseTable::<u64>::new(n, k).ok();
            let v = v_count::<u128>(n, k).unwrap();
            let mut idx = alloc::vec![0, 1, v - 1, v / 2, v / 3];
            for _ in 0..300 {
                let r = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                idx.push(r % v);
            }
            let (mut a, mut b, mut c) =
                (alloc::vec![0i32; n as usize], alloc::vec![0i32; n as usize], alloc::vec![0i32; n as usize]);
            for &i in &idx {
                let yy = cwrsi::<u128>(k, i, &mut a).unwrap();
                assert_eq!(wide.decode(k, i, &mut b).unwrap(), yy);
                assert_eq!(a, b, "wide ({n},{k}) i={i}");
                assert_eq!(wide.wide().decode(k, i, &mut b).unwrap(), yy);
                assert_eq!(a, b, "u128 ({n},{k}) i={i}");
                if let Some(t) = &narrow {
                    assert_eq!(t.decode(k, i as u64, &mut c).unwrap(), yy);
                    assert_eq!(a, c, "u64 ({n},{k}) i={i}");
                }
                assert_eq!(icwrs::<u128>(&a).unwrap(), i);
            }
            assert_eq!(wide.decode(k, v, &mut b), Err(Error::Corrupt("pvq index >= V(N, K)")));
        }
    }
}
