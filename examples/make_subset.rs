//! Derives the real-data subset shipped in `data/` from `wordnet-minilm-l6`.
//!
//! ```sh
//! cargo run --release --example make_subset -- [SOURCE_DIR] [OUT_DIR]
//! ```
//!
//! `SOURCE_DIR` defaults to `$VECTOR_CODECS_DATA/wordnet-minilm-l6`, else
//! `../shared/data/wordnet-minilm-l6`; `OUT_DIR` defaults to `data`. It writes:
//!
//! * `wordnet_base.fvecs` — `BASE` = 4,000 base vectors, a seeded uniform sample without
//!   replacement (the crate's [`Rng`] with seed [`SEED`], Fisher–Yates shuffle of all row numbers,
//!   the first `BASE` taken, then sorted ascending so that the file keeps the source order);
//! * `wordnet_base_ids.txt` — the source row number of each subset row, one per line;
//! * `wordnet_query.fvecs` — the first `QUERIES` = 200 in-distribution queries;
//! * `wordnet_groundtruth.ivecs` / `wordnet_groundtruth_ip.fvecs` — the exact top-100 by inner
//!   product against the subset (f64 accumulation, ties broken by the lower row number), best
//!   first, and the matching inner products.
//!
//! The output is a pure function of the source files; running it twice gives identical bytes.

use std::path::PathBuf;
use vector_codecs::io::{read_fvecs, write_fvecs, write_ivecs};
use vector_codecs::rng::Rng;

/// Seed of the base-row sample.
const SEED: u64 = 20_261_123;
/// Number of base vectors shipped.
const BASE: usize = 4_000;
/// Number of queries shipped.
const QUERIES: usize = 200;
/// Ground-truth depth.
const K: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let src = match args.first() {
        Some(s) => PathBuf::from(s),
        None => std::env::var_os("VECTOR_CODECS_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared/data"))
            .join("wordnet-minilm-l6"),
    };
    let out = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("data"));
    std::fs::create_dir_all(&out)?;

    let base = read_fvecs(src.join("wordnet_base.fvecs"))?;
    let queries = read_fvecs(src.join("wordnet_query.fvecs"))?;
    let d = base.dim;
    if queries.dim != d || base.rows() < BASE || queries.rows() < QUERIES {
        return Err("source files are smaller than the subset or have different dimensions".into());
    }

    let mut ids: Vec<usize> = (0..base.rows()).collect();
    Rng::new(SEED).shuffle(&mut ids);
    ids.truncate(BASE);
    ids.sort_unstable();
    let mut sub = Vec::with_capacity(BASE * d);
    for &i in &ids {
        sub.extend_from_slice(base.row(i).ok_or("row out of range")?);
    }
    let q = &queries.data[..QUERIES * d];

    let mut gt = Vec::with_capacity(QUERIES * K);
    let mut gt_ip = Vec::with_capacity(QUERIES * K);
    for qi in q.chunks_exact(d) {
        let mut scored: Vec<(f64, usize)> = sub
            .chunks_exact(d)
            .enumerate()
            .map(|(j, x)| (qi.iter().zip(x).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum::<f64>(), j))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(s, j) in &scored[..K] {
            gt.push(j as i32);
            gt_ip.push(s as f32);
        }
    }

    write_fvecs(out.join("wordnet_base.fvecs"), d, &sub)?;
    write_fvecs(out.join("wordnet_query.fvecs"), d, q)?;
    write_ivecs(out.join("wordnet_groundtruth.ivecs"), K, &gt)?;
    write_fvecs(out.join("wordnet_groundtruth_ip.fvecs"), K, &gt_ip)?;
    let id_text: String = ids.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(out.join("wordnet_base_ids.txt"), id_text)?;
    for lic in ["LICENSE-WordNet-3.0.txt", "LICENSE-model-Apache-2.0.txt"] {
        // Read and write (not `fs::copy`) so that the copy does not inherit read-only permissions.
        let text = std::fs::read(src.join(lic))?;
        std::fs::write(out.join(lic), text)?;
    }
    eprintln!("wrote {BASE} base × {d}, {QUERIES} queries, top-{K} ground truth to {}", out.display());
    Ok(())
}
