//! Codecs chosen by name at run time: [`build`] from a configuration string, [`DynCodec::save`] /
//! [`load`] through bytes, all as [`Box<dyn DynCodec>`](crate::dynamic::DynCodec).
//!
//! Names are parsed in one place, the table [`entries`]: one [`Entry`] per configuration
//! pattern, where `{N}` stands for an unsigned integer parameter (`tq{N}-ip` matches `tq3-ip`).
//! FAISS `index_factory` spellings are used where the family exists in FAISS (`SQ8`, `SQ4`,
//! `SQfp16`, `RaBitQ`, …); the crate's own short names cover the rest. `cargo run --example
//! evaluate -- --list` prints the table; `FORMAT.md` documents the saved bytes.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use vector_codecs::factory;
//! use vector_codecs::metric::Metric;
//! let dim = 8;
//! let data: Vec<f32> = (0..64 * dim).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
//! let codecs: Vec<Box<dyn vector_codecs::dynamic::DynCodec>> = ["SQ8", "f16", "tq4"]
//!     .iter()
//!     .map(|name| factory::build(name, dim, Metric::InnerProduct, 7, &data).unwrap())
//!     .collect();
//! for codec in &codecs {
//!     let mut codes = vec![0u8; 64 * codec.code_len()];
//!     codec.encode_batch(&data, &mut codes).unwrap();
//!     let saved = codec.save().unwrap();
//!     let loaded = factory::load(&saved).unwrap();
//!     let mut again = vec![0u8; codes.len()];
//!     loaded.encode_batch(&data, &mut again).unwrap();
//!     assert_eq!(codes, again);
//!     let top = loaded.scan_topk(&data[..dim], &codes, 3).unwrap();
//!     assert_eq!(top.len(), 3);
//! }
//! # }
//! ```

use alloc::boxed::Box;

use crate::codec::{Decode, Score};
use crate::dynamic::{DynCodec, Erased};
use crate::error::{Error, Result};
use crate::format::Reader;
use crate::metric::{Metric, WithNorm};
use crate::persist::Persist;

mod binary;
mod entropy;
mod float;
mod lloyd;
mod pq;
mod pvq;
mod qjl;
mod rabitq;
mod ssvq;
mod turbo;
mod uniform;

/// The container kind tag of a saved codec.
pub const KIND: u16 = crate::format::kind::CODEC;

/// The largest dimension a saved codec may declare (every codec of the crate bounds its own
/// dimension at or below this).
pub const MAX_DIM: usize = crate::persist::MAX_DIM;

/// Where a codec's parameters come from: training data (or nothing, for codecs that need none),
/// or a saved codec being loaded.
pub enum Source<'r, 'b> {
    /// Row-major training vectors (`n · dim` floats); may be empty for untrained codecs.
    Train(&'r [f32]),
    /// The parameter bytes of a saved codec.
    Load(&'r mut Reader<'b>),
}

/// The parsed arguments of one configuration name.
#[derive(Clone, Copy, Debug)]
pub struct Args<'n> {
    /// The full name.
    pub name: &'n str,
    /// The `{N}` parameters of the pattern, in order (unused slots are 0).
    pub params: [u32; 4],
    /// The vector dimension.
    pub dim: usize,
    /// The metric scores are computed in.
    pub metric: Metric,
    /// The seed of every random choice (rotations, projections, k-means initialisation).
    pub seed: u64,
    /// The table line of the entry.
    pub about: &'static str,
}

impl Args<'_> {
    /// Parameter `i` of the pattern.
    pub fn p(&self, i: usize) -> u32 {
        self.params[i]
    }
}

/// A constructor: builds (trains, or restores from a [`Source::Load`]) the codec.
pub type BuildFn = fn(&Args<'_>, Source<'_, '_>) -> Result<Box<dyn DynCodec>>;

/// One configuration pattern of the table.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The name pattern; `{N}` matches an unsigned decimal integer.
    pub pattern: &'static str,
    /// The codec family (its module).
    pub family: &'static str,
    /// One line on what the configuration is.
    pub about: &'static str,
    /// Whether it needs training data.
    pub trained: bool,
    /// Whether `evaluate --quick` runs it.
    pub quick: bool,
    /// Concrete names `evaluate` lists and the tests build (empty: the pattern itself, which
    /// then has no `{N}`).
    pub examples: &'static [&'static str],
    /// The constructor.
    pub build: BuildFn,
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Entry").field("pattern", &self.pattern).field("family", &self.family).finish()
    }
}

/// The family tables, in the order `--list` prints them.
const TABLES: &[&[Entry]] = &[
    uniform::ENTRIES,
    float::ENTRIES,
    lloyd::ENTRIES,
    pq::ENTRIES,
    pvq::ENTRIES,
    ssvq::ENTRIES,
    turbo::ENTRIES,
    qjl::ENTRIES,
    rabitq::ENTRIES,
    binary::ENTRIES,
    entropy::ENTRIES,
];

/// Every configuration pattern, family by family.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    TABLES.iter().flat_map(|t| t.iter())
}

impl Entry {
    /// The concrete names of this entry: [`examples`](Entry::examples), or the pattern.
    pub fn names(&'static self) -> impl Iterator<Item = &'static str> {
        let own: &'static [&'static str] =
            if self.examples.is_empty() { core::slice::from_ref(&self.pattern) } else { self.examples };
        own.iter().copied()
    }
}

/// Every concrete configuration name of the table (see [`Entry::names`]).
pub fn names() -> impl Iterator<Item = &'static str> {
    entries().flat_map(|e| e.names())
}

/// Matches `name` against `pattern`, returning the `{N}` parameters.
fn matches(pattern: &str, name: &str) -> Option<[u32; 4]> {
    let (mut p, mut n) = (pattern.as_bytes(), name.as_bytes());
    let mut params = [0u32; 4];
    let mut k = 0;
    while !p.is_empty() {
        if p.starts_with(b"{N}") {
            let digits = n.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 || k == params.len() {
                return None;
            }
            params[k] = core::str::from_utf8(&n[..digits]).ok()?.parse().ok()?;
            k += 1;
            p = &p[3..];
            n = &n[digits..];
        } else {
            if n.first() != p.first() {
                return None;
            }
            p = &p[1..];
            n = &n[1..];
        }
    }
    n.is_empty().then_some(params)
}

/// The table entry and parameters of `name`.
///
/// # Errors
/// [`Error::InvalidParameter`] for a name no pattern matches.
pub fn lookup(name: &str) -> Result<(&'static Entry, [u32; 4])> {
    entries()
        .find_map(|e| matches(e.pattern, name).map(|p| (e, p)))
        .ok_or(Error::InvalidParameter("unknown codec configuration name"))
}

/// Splits a comma-separated list of configuration names, keeping names that contain a comma
/// themselves (faiss's `OPQ48_384,PQ48`) whole: a piece that is no name but joins the next piece
/// into one is joined. Empty pieces are dropped.
///
/// ```
/// let v: Vec<_> = vector_codecs::factory::split_names("sq8,OPQ48_384,PQ48,bin1").collect();
/// assert_eq!(v, ["sq8", "OPQ48_384,PQ48", "bin1"]);
/// ```
pub fn split_names(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    core::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let mut cuts = rest.match_indices(',').map(|(i, _)| i).chain(core::iter::once(rest.len()));
            let first = cuts.next().unwrap_or(rest.len());
            let mut end = first;
            if lookup(&rest[..first]).is_err()
                && let Some(second) = cuts.next()
                && lookup(&rest[..second]).is_ok()
            {
                end = second;
            }
            let name = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
            if !name.is_empty() {
                return Some(name);
            }
        }
    })
}

fn dispatch(name: &str, dim: usize, metric: Metric, seed: u64, src: Source<'_, '_>) -> Result<Box<dyn DynCodec>> {
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::InvalidParameter("dimension must be 1..=65536"));
    }
    let (entry, params) = lookup(name)?;
    let args = Args { name, params, dim, metric, seed, about: entry.about };
    (entry.build)(&args, src)
}

/// Builds the codec `name` for `dim`-vectors scoring in `metric`, training it on `train`
/// (row-major, `n · dim` floats; may be empty for codecs that need no training) with `seed`.
///
/// The same name, seed and training data give the same codec — the same codes and the same saved
/// bytes — on every SIMD backend, target and feature set.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name or a dimension outside `1..=65536`;
/// [`Error::DimensionMismatch`] if `train.len()` is not a multiple of `dim`;
/// [`Error::NotEnoughData`] for a trained codec with too few rows; the codec's own errors.
pub fn build(name: &str, dim: usize, metric: Metric, seed: u64, train: &[f32]) -> Result<Box<dyn DynCodec>> {
    if dim != 0 && !train.len().is_multiple_of(dim) {
        return Err(Error::DimensionMismatch { expected: train.len() / dim * dim, got: train.len() });
    }
    dispatch(name, dim, metric, seed, Source::Train(train))
}

/// Reads a codec saved with [`DynCodec::save`].
///
/// Total on arbitrary bytes: validates the container (magic, version, kind, length, checksum),
/// the name, metric and dimension, then every parameter of the codec; allocates at most what the
/// input's length justifies (seeded blocks such as rotations are re-derived, bounded by
/// [`MAX_DIM`]).
///
/// # Errors
/// The container's errors ([`Error::BadMagic`], [`Error::Checksum`], …), [`Error::Corrupt`] for
/// an invalid field or trailing bytes, [`Error::InvalidParameter`] for an unknown name.
pub fn load(bytes: &[u8]) -> Result<Box<dyn DynCodec>> {
    // The header is read by the no-heap opener (same validation and errors).
    let crate::persist::SavedCodec { name, metric, dim, seed, params: mut r } = crate::persist::open_saved(bytes)?;
    // What would be a caller's mistake when building is the file's when loading.
    let as_corrupt = |e: Error| match e.when_loading() {
        Error::DimensionMismatch { .. } => Error::Corrupt("parameter dimensions differ from the configuration's"),
        e => e,
    };
    // A codec that needs no training is fully named by (name, dim, metric, seed): its saved
    // parameters must be exactly the ones the name builds (a `sq8-b32` file cannot hold 4-bit
    // parameters), and the codec built from the name is the loaded one — its parameters are
    // not restored a second time (a derived Beta codebook costs a 200,000-point solve).
    let (entry, _) = lookup(name)?;
    if !entry.trained {
        let fresh = dispatch(name, dim, metric, seed, Source::Train(&[])).map_err(as_corrupt)?;
        if fresh.save()? != bytes {
            return Err(Error::Corrupt("parameters differ from what the configuration name builds"));
        }
        return Ok(fresh);
    }
    let codec = dispatch(name, dim, metric, seed, Source::Load(&mut r)).map_err(as_corrupt)?;
    r.finish()?;
    if codec.dim() != dim {
        return Err(Error::Corrupt("saved dimension differs from the codec's"));
    }
    Ok(codec)
}

/// Builds a codec from `src`: trains it with `train` (given the training rows) or restores it,
/// wraps it in [`WithNorm`] for the L2 and cosine metrics, and erases its type.
///
/// This is what every table entry calls; a family entry only says how to train its codec.
///
/// # Errors
/// As `train` and [`Persist::restore`].
pub fn make<C, F>(args: &Args<'_>, src: Source<'_, '_>, train: F) -> Result<Box<dyn DynCodec>>
where
    C: Decode + Score + Persist + Send + Sync + 'static,
    F: FnOnce(&[f32]) -> Result<C>,
{
    make_checked(args, src, train, |_| true)
}

/// [`make`] for a trained codec whose restored parameters must be the configuration the name
/// says: `named(&codec)` tells whether they are (bits, scan mode, flags — what the name fixes and
/// the training does not), checked on every load.
///
/// # Errors
/// As [`make`]; [`Error::Corrupt`] when `named` refuses loaded parameters.
pub fn make_checked<C, F, K>(args: &Args<'_>, src: Source<'_, '_>, train: F, named: K) -> Result<Box<dyn DynCodec>>
where
    C: Decode + Score + Persist + Send + Sync + 'static,
    F: FnOnce(&[f32]) -> Result<C>,
    K: Fn(&C) -> bool,
{
    let refuse = || Error::Corrupt("parameters differ from what the configuration name builds");
    if args.metric == Metric::InnerProduct {
        let codec = match src {
            Source::Train(data) => train(data)?,
            Source::Load(r) => C::restore(r).and_then(|c| if named(&c) { Ok(c) } else { Err(refuse()) })?,
        };
        erase(args, codec)
    } else {
        let codec = match src {
            Source::Train(data) => WithNorm::new(train(data)?, args.metric),
            Source::Load(r) => {
                WithNorm::<C>::restore(r).and_then(|c| if named(&c.inner) { Ok(c) } else { Err(refuse()) })?
            }
        };
        if codec.metric != args.metric {
            return Err(Error::Corrupt("metric of the parameters differs from the header's"));
        }
        erase(args, codec)
    }
}

fn erase<C>(args: &Args<'_>, codec: C) -> Result<Box<dyn DynCodec>>
where
    C: Decode + Score + Persist + Send + Sync + 'static,
{
    if codec.dim() != args.dim {
        return Err(Error::DimensionMismatch { expected: args.dim, got: codec.dim() });
    }
    Ok(Box::new(Erased::new(args.name, args.about, args.metric, args.seed, codec)?))
}

/// Checks that training data has at least `min` rows of `dim` floats.
///
/// # Errors
/// [`Error::NotEnoughData`].
pub fn need_rows(data: &[f32], dim: usize, min: usize) -> Result<()> {
    let got = data.len() / dim.max(1);
    if got < min { Err(Error::NotEnoughData { needed: min, got }) } else { Ok(()) }
}
