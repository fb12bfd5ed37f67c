//! Factory entries of TurboQuant ([`crate::turbo`]): the seeded codecs (`tq…`, `tqp…`; the
//! randomized Hadamard rotation and the exact Beta codebook of the coordinate density, saved as
//! kind + sizes + seed and re-derived on load) and the codecs trained on data (`ctq…`, `pca…`;
//! their means, scales, PCA matrix and codebooks are saved).
//!
//! A name means one codec everywhere: the codebook is always the Beta codebook and `-orth` is
//! always a Haar rotation; the builders take both kinds explicitly and fail where a kind is not
//! available, never substituting another.

use super::{Args, Entry, Source, make, make_checked, need_rows};
use crate::codec::{Codec, ScanMode, ScanModes};
use crate::dynamic::DynCodec;
use crate::error::Result;
use crate::turbo::calibrated::{CalibratedIp, Calibration, train_ip, train_ip_split};
use crate::turbo::pca::{train_pca, train_pca_low};
use crate::turbo::{
    CodebookKind, RotationKind, turbo_mse, turbo_mse_h16, turbo_mse_half, turbo_mse_ip, turbo_prod, turbo_prod_half,
    turbo_prod_ortho,
};
use alloc::boxed::Box;

const H: RotationKind = RotationKind::Hadamard;
const BETA: CodebookKind = CodebookKind::Beta;

fn tq(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse(a.dim, a.p(0), a.seed, H, BETA))
}

fn tq_i8(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse(a.dim, a.p(0), a.seed, H, BETA)?.with_scan(ScanMode::I8))
}

fn tq_half(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse_half(a.dim, a.p(0), a.seed, H, BETA))
}

fn tq_h16(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse_h16(a.dim, a.p(0), a.seed, H, BETA))
}

fn tq_ip(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse_ip(a.dim, a.p(0), a.seed, H, BETA))
}

fn tq_ip_i8(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse_ip(a.dim, a.p(0), a.seed, H, BETA)?.with_scan(ScanMode::I8))
}

fn tqp(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_prod(a.dim, a.p(0), a.seed, H, BETA))
}

fn tqp_half(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_prod_half(a.dim, a.p(0), a.seed, H, BETA))
}

fn tqp_orth(a: &Args<'_>, s: Source<'_, '_>, qjl: RotationKind) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_prod_ortho(a.dim, a.p(0), a.seed, H, BETA, qjl))
}

/// `ctq…`: centred on the training mean, Hadamard rotation, Beta codebook.
const CENTRED: Calibration =
    Calibration { center: true, per_coordinate: false, trained_codebook: false, rotation: RotationKind::Hadamard };

/// Whether restored calibrated parameters are of the kind the name says: the Hadamard rotation
/// of the build seed, and per-coordinate shifts and scales only with `per_coordinate` (else 0
/// and 1).
fn calibrated_named<C: crate::Decode>(c: &CalibratedIp<C>, a: &Args<'_>, per_coordinate: bool) -> bool {
    let rot = &c.inner.transform;
    let cal = &c.inner.inner.normalized.inner;
    rot.kind() == H
        && rot.seed() == a.seed
        && (per_coordinate || (cal.mean().iter().all(|&m| m == 0.0) && cal.inner.scales().iter().all(|&s| s == 1.0)))
}

fn ctq(a: &Args<'_>, s: Source<'_, '_>, cal: Calibration) -> Result<Box<dyn DynCodec>> {
    let bits = a.p(0);
    make_checked(
        a,
        s,
        |data| {
            need_rows(data, a.dim, 2)?;
            train_ip(data, a.dim, bits, a.seed, cal)
        },
        |c| calibrated_named(c, a, cal.per_coordinate) && c.inner.inner.normalized.inner.inner.inner.bits() == bits,
    )
}

fn ctq_split(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    let (bits, k) = (a.p(0), a.p(1) as usize);
    make_checked(
        a,
        s,
        |data| {
            need_rows(data, a.dim, 2)?;
            train_ip_split(data, a.dim, k, bits, a.seed, CENTRED)
        },
        |c| {
            let parts = &c.inner.inner.normalized.inner.inner.inner;
            calibrated_named(c, a, false)
                && parts.first.bits() == bits + 1
                && parts.first.dim() == k
                && parts.second.bits() == bits
        },
    )
}

fn pca(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    let bits = a.p(0);
    // The allocation puts the bytes of `tq{N}-ip` per vector (`⌈N·d/8⌉` and the scale).
    make_checked(
        a,
        s,
        |data| {
            need_rows(data, a.dim, 2)?;
            train_pca(data, a.dim, bits)
        },
        |c| c.code_len() == (bits as usize * a.dim).div_ceil(8) + 4,
    )
}

fn pca_low(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |data| {
        need_rows(data, a.dim, 2)?;
        train_pca_low(data, a.dim, a.dim + 32)
    })
}

const fn seeded(
    pattern: &'static str,
    about: &'static str,
    quick: bool,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "turbo", about, trained: false, quick, examples, build }
}

const fn trained(
    pattern: &'static str,
    about: &'static str,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "turbo-trained", about, trained: true, quick: false, examples, build }
}

pub(super) const ENTRIES: &[Entry] = &[
    seeded("tq4", "TurboQuant-MSE 4-bit + f32 norm (Hadamard rotation, Beta codebook)", true, &[], tq_fixed::<4>),
    seeded(
        "tq{N}",
        "TurboQuant-MSE N-bit (1..=8) + f32 norm (Hadamard rotation, Beta codebook)",
        false,
        &["tq1", "tq2", "tq3", "tq8"],
        tq,
    ),
    seeded(
        "tq{N}.5",
        "TurboQuant-MSE N.5-bit: half the rotated coords at N+1 bits, half at N, + norm (N = 1..=7)",
        false,
        &["tq1.5", "tq2.5", "tq3.5"],
        tq_half,
    ),
    seeded(
        "tq{N}-h16",
        "tqN codes + f16 norm (16/d bits per dimension instead of 32/d)",
        false,
        &["tq2-h16", "tq3-h16", "tq4-h16"],
        tq_h16,
    ),
    seeded(
        "tq2-ip",
        "tq2 codes, inner-product-corrected norm ‖x‖/⟨u,û⟩ (ratio estimator, biased)",
        true,
        &[],
        tq_ip_fixed::<2>,
    ),
    seeded(
        "tq{N}-ip",
        "tqN codes, inner-product-corrected norm ‖x‖/⟨u,û⟩ (ratio estimator, biased)",
        false,
        &["tq1-ip", "tq3-ip", "tq4-ip"],
        tq_ip,
    ),
    seeded(
        "tq{N}-ip-i8",
        "tqN-ip codes, i8 quantized-query fast scan (N = 1, 2, 4)",
        false,
        &["tq1-ip-i8", "tq2-ip-i8", "tq4-ip-i8"],
        tq_ip_i8,
    ),
    seeded("tq{N}-i8", "tqN codes, i8 quantized-query fast scan (N = 1, 2, 4)", false, &["tq2-i8", "tq4-i8"], tq_i8),
    seeded(
        "tqp3",
        "TurboQuant-prod 3-bit: 2-bit MSE + QJL (m = d) of the residual, unbiased",
        true,
        &[],
        tqp_fixed::<3>,
    ),
    seeded(
        "tqp{N}",
        "TurboQuant-prod N-bit (2..=9): (N-1)-bit MSE + QJL (m = d) of the residual, unbiased",
        false,
        &["tqp2", "tqp4"],
        tqp,
    ),
    seeded(
        "tqp{N}.5",
        "TurboQuant-prod N.5-bit: (N-0.5)-bit MSE + QJL (m = d) of the residual, unbiased",
        false,
        &["tqp2.5", "tqp3.5"],
        tqp_half,
    ),
    seeded(
        "tqp{N}-orth",
        "TurboQuant-prod N-bit, residual signs through a Haar rotation (orthogonal QJL), unbiased",
        false,
        &["tqp2-orth", "tqp3-orth", "tqp4-orth"],
        |a, s| tqp_orth(a, s, RotationKind::Haar),
    ),
    seeded(
        "tqp{N}-orth-h",
        "TurboQuant-prod N-bit, residual signs through a Hadamard rotation (O(d log d), biased)",
        false,
        &["tqp2-orth-h", "tqp4-orth-h"],
        |a, s| tqp_orth(a, s, RotationKind::Hadamard),
    ),
    trained(
        "ctq{N}-ip",
        "tqN-ip on x - mean (training mean, exact <q, mean>), Beta codebook",
        &["ctq1-ip", "ctq2-ip", "ctq3-ip", "ctq4-ip"],
        |a, s| ctq(a, s, CENTRED),
    ),
    trained(
        "ctq{N}-ip-cal",
        "ctqN-ip + per-coordinate shift/scale in the rotated domain (TQ+-style)",
        &["ctq2-ip-cal"],
        |a, s| ctq(a, s, Calibration { per_coordinate: true, ..CENTRED }),
    ),
    trained(
        "ctq{N}+{N}-ip",
        "ctqN+K-ip: ctqN-ip with the first K rotated coords at N+1 bits (ctq1+32-ip: 56 B at d = 384)",
        &["ctq1+32-ip"],
        ctq_split,
    ),
    trained(
        "pca{N}-ip",
        "PCA rotation, 4/3/2/1-bit allocation (5/4/3/2 at N = 4), N = 2..=4 bits/dim avg + scale",
        &["pca2-ip", "pca3-ip", "pca4-ip"],
        pca,
    ),
    trained(
        "pca1+-ip",
        "PCA rotation, 3/2/1/0-bit allocation, d + 32 bits + scale (= RaBitQ 1-bit size)",
        &[],
        pca_low,
    ),
];

fn tq_fixed<const B: u32>(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse(a.dim, B, a.seed, H, BETA))
}

fn tq_ip_fixed<const B: u32>(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_mse_ip(a.dim, B, a.seed, H, BETA))
}

fn tqp_fixed<const B: u32>(a: &Args<'_>, s: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, s, |_| turbo_prod(a.dim, B, a.seed, H, BETA))
}
