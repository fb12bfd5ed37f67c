//! Factory entries of the Lloyd–Max codecs ([`crate::scalar::lloyd`]): Gaussian tables with a
//! per-vector mean/RMS in the code (saved: the codebook), and codebooks trained by 1-D k-means
//! on the raw coordinates, shared or one per dimension (saved: the codebooks).

use super::{Args, Entry, Source, make, make_checked, need_rows};
use crate::dynamic::DynCodec;
use crate::error::{Error, Result};
use crate::scalar::lloyd::{LloydCodec, TrainedLloydCodec};
use alloc::boxed::Box;

/// Lloyd iterations of the trained codebooks.
const ITERS: usize = 25;

fn gaussian(a: &Args<'_>, src: Source<'_, '_>, bits: u32) -> Result<Box<dyn DynCodec>> {
    make(a, src, |_| LloydCodec::gaussian(a.dim, bits))
}

fn trained(a: &Args<'_>, src: Source<'_, '_>, per_dim: bool) -> Result<Box<dyn DynCodec>> {
    let bits = a.p(0);
    make_checked(
        a,
        src,
        |data| {
            if !(1..=8).contains(&bits) {
                return Err(Error::InvalidParameter("trained Lloyd codebooks have 1..=8 bits"));
            }
            // Each codebook needs at least 2^bits values: rows (per dimension) or coordinates.
            let levels = 1usize << bits;
            need_rows(data, a.dim, if per_dim { levels } else { levels.div_ceil(a.dim) })?;
            TrainedLloydCodec::train(a.dim, bits, per_dim, data, ITERS)
        },
        |c: &TrainedLloydCodec| {
            c.per_dim() == per_dim && crate::codec::Codec::code_len(c) == (bits as usize * a.dim).div_ceil(8)
        },
    )
}

const fn entry(
    pattern: &'static str,
    about: &'static str,
    trained: bool,
    quick: bool,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "scalar-lloyd", about, trained, quick, examples, build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry(
        "lloyd4",
        "Gaussian Lloyd–Max 4-bit, f32 mean/RMS per vector (4 + 64/d bits/dim)",
        false,
        true,
        &[],
        |a, s| gaussian(a, s, 4),
    ),
    entry(
        "lloyd{N}",
        "Gaussian Lloyd–Max N-bit (1..=4), f32 mean/RMS per vector (N + 64/d bits/dim)",
        false,
        false,
        &["lloyd1", "lloyd2", "lloyd3"],
        |a, s| gaussian(a, s, a.p(0)),
    ),
    entry(
        "lloyd{N}-trained",
        "N-bit (1..=8) k-means codebook shared by all dimensions (25 iterations)",
        true,
        false,
        &["lloyd4-trained"],
        |a, s| trained(a, s, false),
    ),
    entry(
        "lloyd{N}-trained-dim",
        "N-bit (1..=8) k-means codebook per dimension (25 iterations)",
        true,
        false,
        &["lloyd4-trained-dim", "lloyd2-trained-dim"],
        |a, s| trained(a, s, true),
    ),
];
