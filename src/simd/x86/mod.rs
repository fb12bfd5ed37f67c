//! x86-64 arch paths, chosen at run time.
//!
//! CPU features are detected once per process (with `std`; without it only compile-time target
//! features count) and cached in an atomic. Each wrapper here returns `Some(result)` when an arch
//! kernel exists for the detected features and `None` to fall back to the portable kernel.
//! This module (and its children) is the only place in the crate where `unsafe` is allowed;
//! every `unsafe` block carries a `// SAFETY:` comment.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

use super::Backend;

pub mod dot;
pub mod fwht;
pub mod gemm;
pub mod half;
pub mod lut;
pub mod lut_i8;
pub mod packed;
pub mod popcnt;
pub mod pq;
pub(crate) mod rans;
pub mod widen;

/// Feature bits cached by [`features`].
pub mod feature {
    /// AVX2 and FMA.
    pub const AVX2: u32 = 1 << 0;
    /// AVX-512 F and BW.
    pub const AVX512: u32 = 1 << 1;
    /// AVX-512 VNNI (`vpdpbusd`).
    pub const AVX512_VNNI: u32 = 1 << 2;
    /// AVX-512 VPOPCNTDQ.
    pub const AVX512_VPOPCNTDQ: u32 = 1 << 3;
    /// POPCNT.
    pub const POPCNT: u32 = 1 << 4;
    /// AVX-512 VBMI (`vpermb`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub const AVX512_VBMI: u32 = 1 << 5;
    /// F16C (`vcvtph2ps`), with AVX2.
    pub const F16C: u32 = 1 << 6;
    /// Set once detection has run.
    pub const DETECTED: u32 = 1 << 31;
}

static FEATURES: AtomicU32 = AtomicU32::new(0);

fn detect() -> u32 {
    let mut f = feature::DETECTED;
    #[cfg(feature = "std")]
    {
        extern crate std;
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            f |= feature::AVX2;
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw") {
            f |= feature::AVX512;
            if std::is_x86_feature_detected!("avx512vnni") {
                f |= feature::AVX512_VNNI;
            }
            if std::is_x86_feature_detected!("avx512vpopcntdq") {
                f |= feature::AVX512_VPOPCNTDQ;
            }
            if std::is_x86_feature_detected!("avx512vbmi") {
                f |= feature::AVX512_VBMI;
            }
        }
        if std::is_x86_feature_detected!("popcnt") {
            f |= feature::POPCNT;
        }
        if std::is_x86_feature_detected!("f16c") {
            f |= feature::F16C;
        }
    }
    #[cfg(not(feature = "std"))]
    {
        if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
            f |= feature::AVX2;
        }
        if cfg!(all(target_feature = "avx512f", target_feature = "avx512bw")) {
            f |= feature::AVX512;
        }
        if cfg!(target_feature = "popcnt") {
            f |= feature::POPCNT;
        }
        if cfg!(target_feature = "f16c") {
            f |= feature::F16C;
        }
    }
    if let Ok(v) = env_override() {
        f &= v;
    }
    f
}

/// Lets tests force a lower backend: `VECTOR_CODECS_SIMD=portable|avx2` (read once, with
/// `std`).
fn env_override() -> Result<u32, ()> {
    #[cfg(feature = "std")]
    {
        extern crate std;
        match std::env::var("VECTOR_CODECS_SIMD").as_deref() {
            Ok("portable") => return Ok(feature::DETECTED),
            Ok("avx2") => return Ok(feature::DETECTED | feature::AVX2 | feature::POPCNT | feature::F16C),
            _ => {}
        }
    }
    Err(())
}

/// The detected feature bits (see [`feature`]), detected on first call and cached.
#[inline]
pub fn features() -> u32 {
    let f = FEATURES.load(Ordering::Relaxed);
    if f != 0 {
        return f;
    }
    let f = detect();
    FEATURES.store(f, Ordering::Relaxed);
    f
}

/// Restricts the cached feature bits to those of `max` and below (never adds a feature the CPU
/// lacks) and returns the backend now in effect; see [`super::limit_backend`].
pub fn limit(max: Backend) -> Backend {
    let keep = match max {
        Backend::Portable => feature::DETECTED,
        Backend::Avx2 => feature::DETECTED | feature::AVX2 | feature::POPCNT | feature::F16C,
        Backend::Avx512 => u32::MAX,
    };
    FEATURES.store(detect() & keep, Ordering::Relaxed);
    backend()
}

/// Whether every bit of `mask` was detected.
#[inline]
pub fn has(mask: u32) -> bool {
    features() & mask == mask
}

/// The best backend for this CPU.
pub fn backend() -> Backend {
    if has(feature::AVX512) {
        Backend::Avx512
    } else if has(feature::AVX2) {
        Backend::Avx2
    } else {
        Backend::Portable
    }
}

/// Arch `dot`, if one exists for this CPU.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> Option<f32> {
    let f = features();
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F was detected (or compiled in) on this CPU.
        return Some(unsafe { dot::dot_f32_avx512(a, b) });
    }
    if f & feature::AVX2 != 0 {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return Some(unsafe { dot::dot_f32_avx2(a, b) });
    }
    None
}

/// Arch `l2sq`, if one exists for this CPU.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> Option<f32> {
    let f = features();
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F was detected (or compiled in) on this CPU.
        return Some(unsafe { dot::l2sq_f32_avx512(a, b) });
    }
    if f & feature::AVX2 != 0 {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return Some(unsafe { dot::l2sq_f32_avx2(a, b) });
    }
    None
}

/// Arch `dot_u8_i8`, if one exists for this CPU.
#[inline]
pub fn dot_u8_i8(a: &[u8], b: &[i8]) -> Option<i64> {
    let f = features();
    if f & (feature::AVX512 | feature::AVX512_VNNI) == feature::AVX512 | feature::AVX512_VNNI {
        // SAFETY: AVX-512F/BW and VNNI were detected on this CPU.
        return Some(unsafe { dot::dot_u8_i8_vnni(a, b) });
    }
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F/BW were detected (or compiled in) on this CPU.
        return Some(unsafe { dot::dot_u8_i8_avx512(a, b) });
    }
    if f & feature::AVX2 != 0 {
        // SAFETY: AVX2 was detected on this CPU.
        return Some(unsafe { dot::dot_u8_i8_avx2(a, b) });
    }
    None
}

/// Arch `dot_i8_i8`, if one exists for this CPU.
#[inline]
pub fn dot_i8_i8(a: &[i8], b: &[i8]) -> Option<i64> {
    let f = features();
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F/BW were detected (or compiled in) on this CPU.
        return Some(unsafe { dot::dot_i8_i8_avx512(a, b) });
    }
    if f & feature::AVX2 != 0 {
        // SAFETY: AVX2 was detected on this CPU.
        return Some(unsafe { dot::dot_i8_i8_avx2(a, b) });
    }
    None
}

/// Arch `dot_u8_i16`, if one exists for this CPU.
#[inline]
pub fn dot_u8_i16(a: &[u8], b: &[i16]) -> Option<i64> {
    let f = features();
    if f & feature::AVX512 != 0 {
        // SAFETY: AVX-512F/BW were detected (or compiled in) on this CPU.
        return Some(unsafe { dot::dot_u8_i16_avx512(a, b) });
    }
    if f & feature::AVX2 != 0 {
        // SAFETY: AVX2 was detected on this CPU.
        return Some(unsafe { dot::dot_u8_i16_avx2(a, b) });
    }
    None
}

/// Arch `popcount`, if one exists for this CPU.
#[inline]
pub fn popcount(a: &[u8]) -> Option<u64> {
    popcnt::popcount(a)
}

/// Arch `hamming`, if one exists for this CPU.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> Option<u64> {
    popcnt::hamming(a, b)
}

/// Arch `and_popcount`, if one exists for this CPU.
#[inline]
pub fn and_popcount(a: &[u8], b: &[u8]) -> Option<u64> {
    popcnt::and_popcount(a, b)
}
