//! Factory entries of pyramid vector quantization ([`crate::pvq`]): gain–shape codes of groups
//! of 32 coordinates, a `bf16` RMS per vector, everything counted in the rate.
//!
//! The rate is in the name: `pvq3` is 3 bits per dimension, `pvq3.25` is 3.25 (the range coder
//! makes fractional rates real; `code_len` is `⌊rate·d/8⌋` bytes at most). Saved: the
//! codec's dimension, group, coding, search, gain levels and pulses per group.
//!
//! `pvq{N}-split` / `pvq{N}.{N}-split` are the Opus-style recursive split
//! ([`SplitCodec`]): one `bf16` RMS per vector, then coded split angles and leaf pulse indexes
//! in one range-coder stream, leaves of at most 32 coordinates indexed in `u128`, greedy
//! search; `code_len` is exactly `⌊rate·d/8⌋` bytes. Untrained (the name fixes everything).

use super::{Args, Entry, Source, make, make_checked, need_rows};
use crate::dynamic::DynCodec;
use crate::error::{Error, Result};
use crate::pvq::{GainQuantizer, IndexCoding, PvqCodec, Search, SplitCodec};
use alloc::boxed::Box;

/// Coordinates per PVQ group.
const GROUP: usize = 32;
/// Gain bits with fitted levels.
const FITTED_GAIN_BITS: u32 = 2;
/// Gain bits with log-uniform levels (no training).
const LOG_GAIN_BITS: u32 = 4;

/// The longest leaf of the `-split` names.
const SPLIT_LEAF: usize = 32;
/// The integer width of a leaf index of the `-split` names.
const SPLIT_LEAF_BITS: u32 = 128;

/// The rate of a name `pvq{N}` / `pvq{N}.{F}…`: the integer part, then the decimal digits of
/// the fraction as written.
fn rate(a: &Args<'_>) -> Result<f64> {
    let body = a.name.strip_prefix("pvq").ok_or(Error::InvalidParameter("pvq name"))?;
    let num: &str = body.split('-').next().unwrap_or("");
    let r: f64 = num.parse().map_err(|_| Error::InvalidParameter("pvq rate"))?;
    if !(0.5..=16.0).contains(&r) {
        return Err(Error::InvalidParameter("pvq rate must be in 0.5..=16 bits per dimension"));
    }
    Ok(r)
}

fn fitted(a: &Args<'_>, src: Source<'_, '_>, coding: IndexCoding) -> Result<Box<dyn DynCodec>> {
    let group = GROUP.min(a.dim);
    // What the name fixes: group, pulses per group, coding and search (the gain levels are
    // trained; the pulses follow from the rate and the gain bits).
    let named = PvqCodec::for_rate(
        a.dim,
        group,
        rate(a)?,
        GainQuantizer::default_for(FITTED_GAIN_BITS, a.dim, group)?,
        coding,
        Search::Greedy,
    )?;
    make_checked(
        a,
        src,
        |data| {
            need_rows(data, a.dim, 1)?;
            PvqCodec::train(a.dim, group, rate(a)?, FITTED_GAIN_BITS, coding, Search::Greedy, data)
        },
        |c: &PvqCodec| {
            c.group() == named.group()
                && c.pulses() == named.pulses()
                && c.coding() == coding
                && c.search() == Search::Greedy
                && crate::codec::Codec::code_len(c) == crate::codec::Codec::code_len(&named)
        },
    )
}

fn log_uniform(a: &Args<'_>, src: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, src, |_| {
        let group = GROUP.min(a.dim);
        let gain = GainQuantizer::default_for(LOG_GAIN_BITS, a.dim, group)?;
        PvqCodec::for_rate(a.dim, group, rate(a)?, gain, IndexCoding::Range, Search::Greedy)
    })
}

fn split(a: &Args<'_>, src: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    make(a, src, |_| SplitCodec::new(a.dim, rate(a)?, SPLIT_LEAF, SPLIT_LEAF_BITS, Search::Greedy))
}

const fn entry(
    pattern: &'static str,
    about: &'static str,
    trained: bool,
    quick: bool,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "pvq", about, trained, quick, examples, build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry(
        "pvq{N}",
        "PVQ gain-shape, N bits/dim all counted: bf16 RMS, per 32 dims a 2-bit fitted gain + range-coded pulse index",
        true,
        true,
        &["pvq2", "pvq3", "pvq4"],
        |a, s| fitted(a, s, IndexCoding::Range),
    ),
    entry(
        "pvq{N}.{N}",
        "PVQ as pvqN at a fractional rate N.F bits/dim (e.g. pvq2.25, pvq3.25)",
        true,
        false,
        &["pvq2.25", "pvq3.25"],
        |a, s| fitted(a, s, IndexCoding::Range),
    ),
    entry(
        "pvq{N}-fixed",
        "PVQ as pvqN with fixed-length fields (ceil(log2 V) bits per index, 2 bits per gain)",
        true,
        false,
        &["pvq3-fixed"],
        |a, s| fitted(a, s, IndexCoding::Fixed),
    ),
    entry(
        "pvq{N}-log",
        "PVQ as pvqN with untrained gains: 4-bit log-uniform levels (2^-6 .. 5 x RMS)",
        false,
        false,
        &["pvq3-log"],
        log_uniform,
    ),
    entry(
        "pvq{N}-split",
        "PVQ with Opus-style recursive splitting, N bits/dim all counted: bf16 RMS, range-coded split angles + leaf indexes (leaves <= 32 dims)",
        false,
        false,
        &["pvq3-split"],
        split,
    ),
    entry(
        "pvq{N}.{N}-split",
        "PVQ recursive split as pvqN-split at a fractional rate N.F bits/dim (e.g. pvq3.25-split)",
        false,
        false,
        &["pvq3.25-split"],
        split,
    ),
];
