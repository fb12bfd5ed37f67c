//! Shared helpers for integration tests: locating the real data and replaying fuzz corpora.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared real-data folder: `$VECTOR_CODECS_DATA`, else `../shared/data` beside the crate.
/// Returns `None` (and prints why) when it is absent, so tests can skip.
pub fn data_dir(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("VECTOR_CODECS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: real data folder {} not found (set VECTOR_CODECS_DATA)", dir.display());
        None
    }
}

/// The data subset shipped in the repository (`data/`).
pub fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Runs `body` on every file of `fuzz/corpus/<target>/` and returns how many it replayed.
///
/// Under Miri (`ci/miri.sh`), where one large input can take minutes, only the
/// `$VECTOR_CODECS_REPLAY_MAX` (default 3) smallest files of the corpus are replayed, and the
/// count returned is the corpus's (so that the callers' size checks still hold).
pub fn replay_corpus(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let total = entries.len();
    if cfg!(miri) {
        let max = std::env::var("VECTOR_CODECS_REPLAY_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
        entries.sort_by_key(|p| (std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX), p.clone()));
        entries.truncate(max);
    }
    for p in entries {
        let bytes = std::fs::read(&p).unwrap();
        body(&bytes);
        // Every prefix too: truncation is the commonest corruption.
        for cut in [0, 1, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            body(&bytes[..cut.min(bytes.len())]);
        }
        n += 1;
    }
    if cfg!(miri) { total } else { n }
}

/// A fuzz target's body: takes arbitrary bytes, panics only on a broken invariant.
pub type FuzzBody = fn(&[u8]);

/// `rounds` random mutations of every seed of each target's corpus (1–4 edits each: a flipped
/// bit, a replaced byte or a truncation), fed to the target's body with an RNG seeded by `seed`:
/// a cheap stand-in for a fuzzing run under plain `cargo test`. The bodies assert their own
/// invariants; this only has to reach them.
pub fn mutate_corpora(targets: &[(&str, FuzzBody)], seed: u64, rounds: usize) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut rng = vector_codecs::rng::Rng::new(seed);
    for &(target, body) in targets {
        let mut seeds: Vec<_> = std::fs::read_dir(root.join(target)).unwrap().map(|e| e.unwrap().path()).collect();
        seeds.sort();
        for p in seeds {
            let b = std::fs::read(&p).unwrap();
            for _ in 0..rounds {
                let mut m = b.clone();
                for _ in 0..1 + rng.below(4) {
                    if m.is_empty() {
                        break;
                    }
                    let i = rng.below(m.len() as u64) as usize;
                    match rng.below(3) {
                        0 => m[i] ^= 1 << rng.below(8),
                        1 => m[i] = rng.next_u32() as u8,
                        _ => m.truncate(i),
                    }
                }
                body(&m);
            }
        }
    }
}

/// A row-major matrix read by [`read_fvecs`].
pub struct Rows {
    /// Row length.
    pub dim: usize,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// Reads a TEXMEX `.fvecs` file without the crate's `io` module (which needs `std`), so the tests
/// that use it also run in the `--no-default-features --features alloc` pass. Panics on a bad
/// file (test data only).
pub fn read_fvecs(path: impl AsRef<std::path::Path>) -> Rows {
    let bytes = std::fs::read(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()));
    let dim = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    let data = bytes
        .chunks_exact(4 + 4 * dim)
        .flat_map(|r| r[4..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())))
        .collect();
    Rows { dim, data }
}

/// `n` draws of `N(0, scale²)` from the crate's seeded generator.
pub fn gauss(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut r = vector_codecs::rng::Rng::new(seed);
    (0..n).map(|_| r.gaussian() as f32 * scale).collect()
}

/// Inputs with strongly correlated coordinates: an AR(1) process (ρ = 0.9) plus two shared
/// factors, and one channel 20× larger (an outlier channel like the real layers').
pub fn correlated_inputs(n: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut r = vector_codecs::rng::Rng::new(seed);
    let mut x = vec![0f32; n * cols];
    for row in x.chunks_exact_mut(cols) {
        let (f1, f2) = (r.gaussian() as f32, r.gaussian() as f32);
        let mut prev = 0f32;
        for (j, v) in row.iter_mut().enumerate() {
            prev = 0.9 * prev + 0.44 * r.gaussian() as f32;
            *v = prev + 0.5 * f1 * ((j % 7) as f32 - 3.0) / 3.0 + 0.3 * f2;
        }
        row[cols / 3] *= 20.0;
    }
    x
}

/// A real layer from the shared data folder: its weights (`rows × cols`) and its inputs split
/// as in `examples/weights` — windows 0 and 2 (one of each text) calibrate, windows 1 and 3
/// evaluate (windows of 128 tokens). `None` (the test skips) without the data.
pub fn real_layer(name: &str) -> Option<(Rows, Vec<f32>, Vec<f32>)> {
    let wd = data_dir("weights-minilm-l6")?;
    let ad = data_dir("act-minilm-l6")?;
    let w = read_fvecs(wd.join(format!("{name}.fvecs")));
    let x = read_fvecs(ad.join(format!("{name}_in.fvecs")));
    let win = 128 * w.dim;
    let pick = |odd: usize| -> Vec<f32> {
        x.data.chunks_exact(win).enumerate().filter(|(i, _)| i % 2 == odd).flat_map(|(_, c)| c.to_vec()).collect()
    };
    let (cal, eval) = (pick(0), pick(1));
    Some((w, cal, eval))
}
