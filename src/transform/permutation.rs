//! Coordinate permutation: `y_i = x_{π(i)}`, an exactly orthogonal transform that costs no
//! arithmetic. Composed with [`Split`](crate::compose::Split) it routes a chosen set of
//! channels to one codec and the rest to another — e.g. a group's outlier channels stored
//! exactly next to a QJL sketch of the others ([`crate::qjl::outlier::group_outlier`]).

use crate::error::{Error, Result, check_dim};

use super::Transform;

/// The permutation `π` of `0..d` stored as `P` (`π(i)` = `perm[i]`): `forward` gathers
/// `y_i = x_{π(i)}`, `transpose` scatters back. Needs no allocator (`P` may be a borrowed or
/// fixed-size slice); exactly orthogonal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permutation<P = alloc_vec::Vec<u32>> {
    perm: P,
}

#[cfg(feature = "alloc")]
mod alloc_vec {
    pub use alloc::vec::Vec;
}
#[cfg(not(feature = "alloc"))]
mod alloc_vec {
    /// Without `alloc` the default storage is a borrowed slice.
    pub type Vec<T> = &'static [T];
}

impl<P: AsRef<[u32]>> Permutation<P> {
    /// Wraps `perm`, which must list every index of `0..perm.len()` exactly once.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `perm` is empty, longer than `2^32`, or not a permutation.
    pub fn new(perm: P) -> Result<Self> {
        let p = perm.as_ref();
        let d = p.len();
        if d == 0 || u32::try_from(d).is_err() {
            return Err(Error::InvalidParameter("Permutation: length must be in 1..=2^32"));
        }
        // Every index is in range and seen once: one pass per window of 4096 values with a
        // 512-byte bitmap on the stack (no allocator).
        if p.iter().any(|&v| v as usize >= d) {
            return Err(Error::InvalidParameter("Permutation: index out of range"));
        }
        const W: usize = 4096;
        for base in (0..d).step_by(W) {
            let mut seen = [0u64; W / 64];
            for &v in p {
                let v = v as usize;
                if (base..base + W).contains(&v) {
                    let (word, bit) = ((v - base) / 64, (v - base) % 64);
                    if seen[word] >> bit & 1 == 1 {
                        return Err(Error::InvalidParameter("Permutation: repeated index"));
                    }
                    seen[word] |= 1 << bit;
                }
            }
        }
        Ok(Permutation { perm })
    }

    /// `π` as a slice: output coordinate `i` is input coordinate `π(i)`.
    pub fn as_slice(&self) -> &[u32] {
        self.perm.as_ref()
    }
}

#[cfg(feature = "alloc")]
impl Permutation<alloc::vec::Vec<u32>> {
    /// The `k` channels of largest mean `|x_i|` over the rows of `sample` (`dim` columns) first,
    /// in increasing index order, then the other channels in increasing order. With
    /// [`Split`](crate::compose::Split) at `k` this separates a group's outlier channels (as
    /// the QJL reference design does per layer and head from the prefill keys). Ties go to the
    /// lower index; non-finite values count as `+∞`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim == 0`, `k > dim` or `sample` is empty or not whole
    /// rows.
    pub fn largest_first(sample: &[f32], dim: usize, k: usize) -> Result<Self> {
        if dim == 0 || k > dim || sample.is_empty() || !sample.len().is_multiple_of(dim) {
            return Err(Error::InvalidParameter("Permutation::largest_first: need k ≤ dim and whole sample rows"));
        }
        let mut mag = alloc::vec![0f64; dim];
        for row in sample.chunks_exact(dim) {
            for (m, &v) in mag.iter_mut().zip(row) {
                *m += if v.is_finite() { f64::from(v.abs()) } else { f64::INFINITY };
            }
        }
        let mut order: alloc::vec::Vec<u32> = (0..dim as u32).collect();
        order.sort_by(|&a, &b| mag[b as usize].total_cmp(&mag[a as usize]).then(a.cmp(&b)));
        let (top, rest) = order.split_at_mut(k);
        top.sort_unstable();
        rest.sort_unstable();
        Permutation::new(order)
    }
}

impl<P: AsRef<[u32]>> Transform for Permutation<P> {
    fn dim_in(&self) -> usize {
        self.perm.as_ref().len()
    }
    fn dim_out(&self) -> usize {
        self.perm.as_ref().len()
    }
    fn is_orthogonal(&self) -> bool {
        true
    }
    fn forward(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        let p = self.perm.as_ref();
        check_dim(p.len(), x.len())?;
        check_dim(p.len(), out.len())?;
        for (o, &i) in out.iter_mut().zip(p) {
            *o = x.get(i as usize).copied().unwrap_or(0.0);
        }
        Ok(())
    }
    fn transpose(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        let p = self.perm.as_ref();
        check_dim(p.len(), y.len())?;
        check_dim(p.len(), out.len())?;
        for (&v, &i) in y.iter().zip(p) {
            if let Some(o) = out.get_mut(i as usize) {
                *o = v;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn validates_and_round_trips() {
        assert!(Permutation::new(vec![0u32, 2, 1]).is_ok());
        assert!(Permutation::new(vec![0u32, 0, 1]).is_err());
        assert!(Permutation::new(vec![0u32, 3, 1]).is_err());
        assert!(Permutation::new(alloc::vec::Vec::<u32>::new()).is_err());
        // Repeats far apart (different bitmap windows) and a large valid one.
        let mut big: alloc::vec::Vec<u32> = (0..10_000).rev().collect();
        assert!(Permutation::new(big.clone()).is_ok());
        big[9_999] = 9_999;
        assert!(Permutation::new(big).is_err());
        let p = Permutation::new([2u32, 0, 1]).unwrap();
        let mut y = [0f32; 3];
        p.forward(&[10.0, 20.0, 30.0], &mut y).unwrap();
        assert_eq!(y, [30.0, 10.0, 20.0]);
        let mut x = [0f32; 3];
        p.transpose(&y, &mut x).unwrap();
        assert_eq!(x, [10.0, 20.0, 30.0]);
        assert!(p.forward(&[1.0], &mut y).is_err());
    }

    #[test]
    fn largest_first_orders_channels() {
        // Channel 3 is largest, then 1; k = 2 puts {1, 3} first.
        let sample = [0.1f32, -5.0, 0.2, 9.0, 0.3, 0.1, -4.0, 0.0, 8.0, 0.2];
        let p = Permutation::largest_first(&sample, 5, 2).unwrap();
        assert_eq!(p.as_slice(), &[1, 3, 0, 2, 4]);
        assert!(Permutation::largest_first(&sample, 5, 6).is_err());
        assert!(Permutation::largest_first(&sample[..3], 5, 1).is_err());
    }
}
