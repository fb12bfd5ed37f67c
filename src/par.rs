//! Data parallelism on demand: the one place the crate touches threads.
//!
//! With the `parallel` feature (which implies `std` and pulls in `rayon`), the heavy loops of
//! the crate run on rayon's **global pool**:
//!
//! * batch encode and decode of every [`DynCodec`](crate::dynamic::DynCodec) built by the
//!   factory (chunks of rows, each encoded by the codec's own single-threaded batch code);
//! * scans to top-k (`scan_topk`, `scan_topk_into`, `scan_layout_topk`, `scan_layout_topk_into`
//!   on `dyn DynCodec`): contiguous ranges of codes, each into its own top-k, merged in range
//!   order;
//! * training: the assignment and update steps of [`kmeans`](crate::train::kmeans()) (and its k-means++
//!   seeding), the covariance of [`crate::transform::pca::Pca::train`], and the per-dimension
//!   codebooks of `TrainedLloydCodec::train`.
//!
//! The number of threads is rayon's: the `RAYON_NUM_THREADS` environment variable, or the pool
//! a caller runs inside (`rayon::ThreadPool::install`, or [`with_threads`] here). **Results do
//! not depend on it**: work is split at boundaries that depend only on the sizes of the input
//! (never on the thread count or on scheduling), every floating-point sum is added in the same
//! order as in the single-threaded build, and per-range results are combined in range order
//! (top-k keeps the `k` best under the total order "larger score, then smaller id", which no
//! merge order changes). The same codes, ids, scores and centroids come out, bit for bit, of
//! the default build, of one thread and of many. Errors are the single-threaded ones too: the
//! error of the first failing row or range.
//!
//! Without the feature every helper here is a plain loop (the default build stays
//! single-threaded, `no_std`-clean and free of the dependency), and [`threads`] is 1.

use crate::error::Result;

/// Whether the crate was built with the `parallel` feature.
pub const ENABLED: bool = cfg!(feature = "parallel");

/// The number of threads the parallel paths may use: the current rayon pool's size with the
/// `parallel` feature (`RAYON_NUM_THREADS` for the global pool), 1 without it.
pub fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// Runs `f` with the crate's parallel paths on a dedicated pool of `n` threads (`n = 0`: rayon's
/// default), e.g. to compare one thread with many in one process, or to keep a batch job off
/// the global pool. Without the `parallel` feature it simply runs `f` (on the calling thread).
///
/// # Errors
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) if the pool's threads cannot be
/// started.
#[cfg(feature = "std")]
pub fn with_threads<R: Send>(n: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    #[cfg(feature = "parallel")]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|_| crate::Error::InvalidParameter("parallel: cannot start the thread pool"))?;
        Ok(pool.install(f))
    }
    #[cfg(not(feature = "parallel"))]
    {
        let _ = n;
        Ok(f())
    }
}

/// Whether work of `units` items in pieces of `grain` is worth splitting: the feature is on,
/// the pool has more than one thread and there are at least two pieces.
#[inline]
pub(crate) fn split(units: usize, grain: usize) -> bool {
    ENABLED && grain > 0 && units > grain && threads() > 1
}

/// Runs `f(i, a_chunk, b_chunk)` on the pieces of `a` in chunks of `ac` and `b` in chunks of
/// `bc` (the same number of chunks; the last ones may be shorter), in parallel when
/// [`split`] says so. Returns the error of the first failing piece in index order (all pieces
/// run). `ac` and `bc` must be positive.
pub(crate) fn zip_chunks<A: Sync, B: Send>(
    a: &[A],
    ac: usize,
    b: &mut [B],
    bc: usize,
    f: impl Fn(usize, &[A], &mut [B]) -> Result<()> + Sync + Send,
) -> Result<()> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if split(a.len(), ac) {
            let results: alloc::vec::Vec<Result<()>> =
                a.par_chunks(ac).zip(b.par_chunks_mut(bc)).enumerate().map(|(i, (x, y))| f(i, x, y)).collect();
            return results.into_iter().collect();
        }
    }
    for (i, (x, y)) in a.chunks(ac).zip(b.chunks_mut(bc)).enumerate() {
        f(i, x, y)?;
    }
    Ok(())
}

/// `f(i, chunk)` on the chunks of `b` of `bc` items (the last one may be shorter), in parallel
/// when [`split`] says so; the first error in index order. `bc` must be positive.
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
pub(crate) fn for_each_chunk_mut<B: Send>(
    b: &mut [B],
    bc: usize,
    f: impl Fn(usize, &mut [B]) -> Result<()> + Sync + Send,
) -> Result<()> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if split(b.len(), bc) {
            let results: alloc::vec::Vec<Result<()>> = b.par_chunks_mut(bc).enumerate().map(|(i, y)| f(i, y)).collect();
            return results.into_iter().collect();
        }
    }
    for (i, y) in b.chunks_mut(bc).enumerate() {
        f(i, y)?;
    }
    Ok(())
}

/// `f(i)` for `i in 0..n`, collected in index order (in parallel when the feature is on and the
/// pool has more than one thread: use it for a few coarse, independent jobs).
#[cfg(feature = "alloc")]
pub(crate) fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> alloc::vec::Vec<T> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if split(n, 1) {
            return (0..n).into_par_iter().map(f).collect();
        }
    }
    (0..n).map(f).collect()
}

/// The ranges `0..n` split into pieces of `grain` (the last shorter), as `f(range)` results in
/// range order, computed in parallel when [`split`] says so. `grain` must be positive.
#[cfg(feature = "alloc")]
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) fn map_ranges<T: Send>(
    n: usize,
    grain: usize,
    f: impl Fn(core::ops::Range<usize>) -> T + Sync + Send,
) -> alloc::vec::Vec<T> {
    let pieces = n.div_ceil(grain);
    map(pieces, |i| f(i * grain..((i + 1) * grain).min(n)))
}

/// Sorts `v` by [`f32::total_cmp`] (in parallel for long slices with the `parallel` feature).
/// Values equal under `total_cmp` have the same bits, so the result is the same either way.
#[cfg(feature = "alloc")]
pub(crate) fn sort_total(v: &mut [f32]) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if split(v.len(), 1 << 16) {
            v.par_sort_unstable_by(f32::total_cmp);
            return;
        }
    }
    v.sort_unstable_by(f32::total_cmp);
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn ranges_cover_in_order() {
        let r = map_ranges(10, 4, |r| r);
        assert_eq!(r, [0..4, 4..8, 8..10]);
        assert!(map_ranges(0, 4, |r| r).is_empty());
    }

    #[test]
    fn first_error_in_order() {
        let a: Vec<u32> = (0..100).collect();
        let mut b = alloc::vec![0u32; 100];
        let e = zip_chunks(&a, 7, &mut b, 7, |i, x, y| {
            y.copy_from_slice(x);
            if i == 3 || i == 9 { Err(crate::Error::InvalidParameter(if i == 3 { "3" } else { "9" })) } else { Ok(()) }
        });
        assert_eq!(e, Err(crate::Error::InvalidParameter("3")));
        let mut c = alloc::vec![0u32; 100];
        for_each_chunk_mut(&mut c, 9, |i, y| {
            y.fill(i as u32);
            Ok(())
        })
        .unwrap();
        assert!(c.iter().enumerate().all(|(j, &v)| v as usize == j / 9));
    }
}
