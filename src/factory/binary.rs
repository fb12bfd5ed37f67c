//! Factory entries of the binary codes ([`crate::binary`]): sign bits or residual binarization,
//! scanned with the float query ([`ScanMode::Float`]), the 4-bit bit-sliced query
//! ([`ScanMode::Bitsliced`], `-bs`) or with the query encoded too (code × code, `-sym`);
//! `-centred` names are [`CenteredBinary`] = `Centered<BinaryCodec>` (saved as the mean, then
//! the binary codec's fields).

use super::{Args, Entry, Source, make_checked, need_rows};
use crate::binary::{BinaryCodec, BinaryConfig, CenteredBinary, ScaleFormat};
use crate::codec::{Codec, Decode, Estimator, ScanMode, ScanModes, Score, check_scratch};
use crate::dynamic::DynCodec;
use crate::error::{Error, Result};
use crate::format::{Reader, Writer};
use crate::persist::Persist;
use alloc::boxed::Box;
use alloc::vec::Vec;

fn config(stages: usize, centred: bool) -> BinaryConfig {
    let scales = if stages == 1 { ScaleFormat::Shared } else { ScaleFormat::F32 };
    BinaryConfig { stages, centred, scales }
}

fn train(a: &Args<'_>, data: &[f32], stages: usize) -> Result<BinaryCodec> {
    need_rows(data, a.dim, 1)?;
    BinaryCodec::train(data, a.dim, &config(stages, false))
}

fn binary(a: &Args<'_>, src: Source<'_, '_>, stages: usize, mode: ScanMode) -> Result<Box<dyn DynCodec>> {
    make_checked(a, src, |d| train(a, d, stages)?.with_scan(mode), |c: &BinaryCodec| named(c, stages, mode))
}

fn centred(a: &Args<'_>, src: Source<'_, '_>, stages: usize, mode: ScanMode) -> Result<Box<dyn DynCodec>> {
    make_checked(
        a,
        src,
        |d| {
            need_rows(d, a.dim, 1)?;
            BinaryCodec::train_centred(d, a.dim, &config(stages, true))?.with_scan(mode)
        },
        |c: &CenteredBinary<Vec<f32>>| named(&c.inner, stages, mode),
    )
}

/// Whether restored parameters are the configuration of the name: stages, scale format and
/// scan mode (centring is the type).
fn named(c: &BinaryCodec, stages: usize, mode: ScanMode) -> bool {
    let cfg = config(stages, false);
    c.stages() == stages && c.scale_format() == cfg.scales && c.scan_mode() == mode
}

fn symmetric(a: &Args<'_>, src: Source<'_, '_>, stages: usize) -> Result<Box<dyn DynCodec>> {
    make_checked(a, src, |d| Ok(Symmetric(train(a, d, stages)?)), |c: &Symmetric| named(&c.0, stages, ScanMode::Float))
}

/// A binary codec whose query is encoded too: scores are code × code,
/// `⟨x̂_q, x̂⟩` through XOR-popcounts ([`BinaryCodec::score_codes_batch`]).
#[derive(Clone, Debug)]
struct Symmetric(BinaryCodec);

impl Codec for Symmetric {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        self.0.encode_into(x, code)
    }
}

impl Decode for Symmetric {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.decode_into(code, out)
    }
}

impl Score for Symmetric {
    type Query<'s> = &'s [u8];
    fn query_scratch_len(&self) -> usize {
        self.0.code_len().div_ceil(4)
    }
    /// [`Estimator::Biased`]: exact `⟨x̂_q, x̂⟩`, the query's own quantization error included.
    fn estimator(&self) -> Estimator {
        Estimator::Biased
    }
    fn prepare<'s>(&'s self, q: &[f32], scratch: &'s mut [f32]) -> Result<&'s [u8]> {
        check_scratch(self.query_scratch_len(), scratch.len())?;
        let c = self.0.code_len();
        let words = &mut scratch[..c.div_ceil(4)];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
        self.0.encode_into(q, &mut bytes[..c])?;
        let bytes: &'s [u8] = bytemuck::cast_slice(&scratch[..c.div_ceil(4)]);
        Ok(&bytes[..c])
    }
    fn score(&self, q: &&[u8], code: &[u8]) -> Result<f32> {
        let mut out = [0f32];
        self.0.score_codes_batch(q, code, &mut out)?;
        Ok(out[0])
    }
    fn score_batch(&self, q: &&[u8], codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.score_codes_batch(q, codes, out)
    }
}

impl Persist for Symmetric {
    fn persist(&self, w: &mut Writer) {
        self.0.persist(w);
    }
    fn restore(r: &mut Reader<'_>) -> Result<Self> {
        let c = BinaryCodec::restore(r)?;
        if c.scan_mode() != ScanMode::Float {
            return Err(Error::Corrupt("symmetric binary codec with a query scan mode"));
        }
        Ok(Symmetric(c))
    }
}

const fn entry(pattern: &'static str, about: &'static str, quick: bool, build: super::BuildFn) -> Entry {
    Entry { pattern, family: "binary", about, trained: true, quick, examples: &[], build }
}

pub(super) const ENTRIES: &[Entry] = &[
    entry("bin1", "sign bits, one trained shared scale (d/8 bytes)", true, |a, s| binary(a, s, 1, ScanMode::Float)),
    entry("bin1-centred", "sign bits of x - mean, shared scale", false, |a, s| centred(a, s, 1, ScanMode::Float)),
    entry("bin2", "2-stage residual binarization, f32 scales", false, |a, s| binary(a, s, 2, ScanMode::Float)),
    entry("bin4", "4-stage residual binarization, f32 scales", false, |a, s| binary(a, s, 4, ScanMode::Float)),
    entry("bin1-sym", "bin1, query encoded too: code × code (Hamming)", false, |a, s| symmetric(a, s, 1)),
    entry("bin4-sym", "bin4, query encoded too: 4×4-stage code × code", false, |a, s| symmetric(a, s, 4)),
    entry("bin1-bs", "bin1 scanned with a 4-bit bit-sliced query (popcount)", false, |a, s| {
        binary(a, s, 1, ScanMode::Bitsliced)
    }),
    entry("bin4-bs", "bin4 scanned with a 4-bit bit-sliced query (popcount)", false, |a, s| {
        binary(a, s, 4, ScanMode::Bitsliced)
    }),
];
