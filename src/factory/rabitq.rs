//! Factory entries of RaBitQ ([`crate::rabitq`]): `B`-bit codes over a randomized Hadamard
//! rotation seeded with the build seed, centred on the training mean
//! ([`CenteredRaBitQ`] = `Centered<RaBitQ>`), 8 bytes of factors per vector; saved as the
//! centroid, then the rotation's seed and RaBitQ's parameters.

use super::{Args, Entry, Source, make_checked, need_rows};
use crate::codec::{ScanMode, ScanModes};
use crate::compose::Centered;
use crate::dynamic::DynCodec;
use crate::error::{Error, Result};
use crate::rabitq::{CenteredRaBitQ, RaBitQ};
use crate::transform::RandomizedHadamard;
use alloc::boxed::Box;

fn rabitq(a: &Args<'_>, src: Source<'_, '_>, bits: u32, mode: ScanMode) -> Result<Box<dyn DynCodec>> {
    make_checked(
        a,
        src,
        |d| {
            let bits = u8::try_from(bits).map_err(|_| Error::InvalidParameter("RaBitQ bits must be 1..=8"))?;
            need_rows(d, a.dim, 1)?;
            let rot = RandomizedHadamard::new(a.dim, a.seed)?;
            let inner =
                RaBitQ::new(rot, bits)?.with_query_mode(crate::rabitq::QueryMode::Float, a.seed).with_scan(mode)?;
            Centered::train_mean(inner, d)
        },
        |c: &CenteredRaBitQ<RandomizedHadamard>| {
            u32::from(c.inner.bits()) == bits && c.inner.scan_mode() == mode && c.inner.transform().seed() == a.seed
        },
    )
}

const fn entry(
    pattern: &'static str,
    about: &'static str,
    quick: bool,
    examples: &'static [&'static str],
    build: super::BuildFn,
) -> Entry {
    Entry { pattern, family: "rabitq", about, trained: true, quick, examples, build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry("rabitq1", "RaBitQ 1-bit + 8 B factors, float query (unbiased)", true, &[], |a, s| {
        rabitq(a, s, 1, ScanMode::Float)
    }),
    entry("rabitq1q", "RaBitQ 1-bit, 4-bit randomized-rounding query", false, &[], |a, s| {
        rabitq(a, s, 1, ScanMode::Bitsliced)
    }),
    entry(
        "rabitq{N}",
        "extended RaBitQ N-bit (N = 2..=8) + 8 B factors, float query",
        false,
        &["rabitq2", "rabitq3", "rabitq4", "rabitq5", "rabitq8"],
        |a, s| rabitq(a, s, a.p(0), ScanMode::Float),
    ),
    entry("RaBitQ", "FAISS spelling of rabitq1 (1-bit RaBitQ, as faiss IndexRaBitQ)", false, &[], |a, s| {
        rabitq(a, s, 1, ScanMode::Float)
    }),
];
