//! Scratch buffers: temporary vectors on the stack up to [`STACK_DIM`] floats, cache-line
//! aligned, and (with `alloc`) 64-byte aligned heap vectors above it.

#[cfg(not(feature = "alloc"))]
use crate::error::Error;
use crate::error::Result;

/// Dimension up to which temporary vectors live on the stack (4096 floats = 16 KiB).
pub const STACK_DIM: usize = 4096;

/// A heap buffer of `f32` whose contents start on a 64-byte boundary (the allocator only
/// promises the alignment of `f32`), so whole 32-byte SIMD vectors of it never straddle two
/// cache lines. Cloning re-aligns; equality and `Debug` look at the contents only.
#[cfg(feature = "alloc")]
pub(crate) struct AlignedVec {
    buf: alloc::vec::Vec<f32>,
    off: usize,
    len: usize,
}

#[cfg(feature = "alloc")]
impl AlignedVec {
    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> Self {
        let buf = alloc::vec![0.0f32; len + 15];
        // Floats to skip to the next 64-byte boundary (addresses of f32 are multiples of 4).
        let off = ((64 - buf.as_ptr() as usize % 64) % 64) / 4;
        AlignedVec { buf, off, len }
    }
    /// The contents.
    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buf[self.off..self.off + self.len]
    }
    /// The contents, mutable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.off..self.off + self.len]
    }
}

#[cfg(feature = "alloc")]
impl Clone for AlignedVec {
    fn clone(&self) -> Self {
        let mut c = AlignedVec::zeroed(self.len);
        c.as_mut_slice().copy_from_slice(self.as_slice());
        c
    }
}

#[cfg(feature = "alloc")]
impl PartialEq for AlignedVec {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for AlignedVec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// A cache-line (64-byte) aligned array.
#[repr(C, align(64))]
struct Aligned<const N: usize>([f32; N]);

/// Floats of stack that a batched encode of a composition uses for a block of rows (more rows
/// per block amortize a batched inner kernel): [`STACK_DIM`] on 64-bit targets, 1,024 (4 KiB)
/// on smaller ones, so a microcontroller never gets a 16 KiB frame from `encode_batch`. Codes
/// do not depend on it.
pub(crate) const BATCH_STACK_FLOATS: usize = if cfg!(target_pointer_width = "64") { STACK_DIM } else { 1024 };

/// Stack size classes of the compositions' temporary vectors (floats): a call for `n` floats uses the smallest class
/// `≥ n`, in its own stack frame, so the stack it costs is at most `4·class + 64` bytes plus the
/// caller's frame (d = 768: 3 KiB), not the largest class.
pub const STACK_CLASSES: [usize; 7] = [32, 128, 512, 768, 1024, 2048, STACK_DIM];

/// One stack class: a zeroed, cache-line aligned array of `N` floats handed to `g` (a trait
/// object, so the callers' closures are compiled once, not once per class).
#[inline(never)]
fn on_stack<const N: usize>(n: usize, g: &mut dyn FnMut(&mut [f32])) {
    let mut buf = Aligned([0.0f32; N]);
    g(&mut buf.0[..n.min(N)]);
}

/// Runs `f` with a zeroed temporary buffer of `n` floats: on the stack up to [`STACK_DIM`]
/// (in the smallest of [`STACK_CLASSES`] that holds it), above it on the heap with `alloc`.
///
/// Working memory of the compositions (rotations, residual stages, normalization, metrics)
/// comes from here: a decode or score of a `d`-dimensional vector costs at most one such buffer
/// per nesting level (see the RAM table in the README's embedded section).
pub(crate) fn with_buf<R>(n: usize, f: impl FnOnce(&mut [f32]) -> Result<R>) -> Result<R> {
    // Both are cache-line aligned: the SIMD kernels load and store whole 32-byte vectors, and
    // one that straddles two cache lines costs two accesses.
    if n <= STACK_DIM {
        let mut f = Some(f);
        let mut out = None;
        let mut g = |b: &mut [f32]| {
            if let Some(f) = f.take() {
                out = Some(f(b));
            }
        };
        match n {
            0..=32 => on_stack::<32>(n, &mut g),
            33..=128 => on_stack::<128>(n, &mut g),
            129..=512 => on_stack::<512>(n, &mut g),
            513..=768 => on_stack::<768>(n, &mut g),
            769..=1024 => on_stack::<1024>(n, &mut g),
            1025..=2048 => on_stack::<2048>(n, &mut g),
            _ => on_stack::<STACK_DIM>(n, &mut g),
        }
        return out.unwrap_or(Err(crate::error::Error::InvalidParameter("scratch buffer unavailable")));
    }
    #[cfg(feature = "alloc")]
    {
        let mut v = AlignedVec::zeroed(n);
        f(v.as_mut_slice())
    }
    #[cfg(not(feature = "alloc"))]
    {
        Err(Error::InvalidParameter("dimension above STACK_DIM (4096) needs the alloc feature"))
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn aligned_vec_is_aligned_and_compares_by_contents() {
        for len in [0usize, 1, 7, 16, 100, 4097] {
            let mut a = AlignedVec::zeroed(len);
            assert_eq!(a.as_slice().len(), len);
            assert_eq!(a.as_slice().as_ptr() as usize % 64, 0, "len {len}");
            for (i, v) in a.as_mut_slice().iter_mut().enumerate() {
                *v = i as f32 * 0.5;
            }
            let b = a.clone();
            assert_eq!(b.as_slice().as_ptr() as usize % 64, 0);
            assert_eq!(a, b);
            assert_eq!(b.as_slice(), a.as_slice());
            if len > 0 {
                let mut c = b.clone();
                c.as_mut_slice()[len - 1] = -1.0;
                assert_ne!(a, c);
            }
        }
        // Heap buffers of `with_buf` (above STACK_DIM) and the stack ones are aligned too.
        for n in [0usize, 10, 32, 33, 700, 768, 769, 1025, 2049, STACK_DIM, STACK_DIM + 1] {
            with_buf(n, |b| {
                assert_eq!(b.len(), n);
                assert_eq!(b.as_ptr() as usize % 64, 0, "n {n}");
                assert!(b.iter().all(|&v| v == 0.0));
                Ok(())
            })
            .unwrap();
        }
    }
}
