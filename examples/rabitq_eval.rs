//! RaBitQ recall@10 on an embedding set, to compare with faiss / turbovec (`benches/peers_turbo.py`)
//! at equal bytes per vector.
//!
//! ```sh
//! cargo run --release --example rabitq_eval [-- --data DIR] [--queries N] [--csv FILE] [--seed N] [--only CONFIG] [--haar]
//! ```
//!
//! `DIR` defaults to `../shared/data/wordnet-minilm-l6` (`wordnet_base.fvecs`,
//! `wordnet_query.fvecs`, `wordnet_groundtruth.ivecs`). For each configuration it encodes the base
//! set (a seeded randomized Hadamard rotation, or with `--haar` a Haar rotation; centroid = the base mean, as faiss's `IndexRaBitQ` does), scores
//! every query against every code and reports bytes per vector, bits per dimension, recall@10
//! (the fraction of the exact top-10 found in the estimated top-10) and encode / scan rates.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use vector_codecs::compose::Centered;
use vector_codecs::rabitq::{QueryMode, RaBitQ};
use vector_codecs::topk::TopK;
use vector_codecs::transform::{HaarRotation, RandomizedHadamard, Transform};
use vector_codecs::{Codec, Score};

fn default_dir() -> PathBuf {
    if let Some(base) = std::env::var_os("VECTOR_CODECS_DATA") {
        return PathBuf::from(base).join("wordnet-minilm-l6");
    }
    let rel = PathBuf::from("../shared/data/wordnet-minilm-l6");
    if rel.is_dir() {
        return rel;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/wordnet-minilm-l6")
}

fn main() {
    let mut dir = default_dir();
    let mut nq = usize::MAX;
    let mut csv: Option<PathBuf> = None;
    let mut seed = 0x5EED_0001u64;
    let mut only: Option<String> = None;
    let mut haar = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => dir = PathBuf::from(args.next().expect("--data DIR")),
            "--queries" => nq = args.next().expect("--queries N").parse().expect("number"),
            "--csv" => csv = Some(PathBuf::from(args.next().expect("--csv FILE"))),
            "--seed" => seed = args.next().expect("--seed N").parse().expect("number"),
            "--only" => only = Some(args.next().expect("--only NAME")),
            "--haar" => haar = true,
            _ => {
                println!(
                    "usage: rabitq_eval [--data DIR] [--queries N] [--csv FILE] [--seed N] [--only CONFIG] [--haar]"
                );
                return;
            }
        }
    }
    let base_path = dir.join("wordnet_base.fvecs");
    if !base_path.is_file() {
        println!("rabitq_eval: {} not found; pass --data DIR. Nothing to do.", base_path.display());
        return;
    }
    let base = vector_codecs::io::read_fvecs(&base_path).expect("base");
    let mut queries = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")).expect("queries");
    queries.truncate(nq);
    let (gt_k, gt) = vector_codecs::io::read_ivecs(dir.join("wordnet_groundtruth.ivecs")).expect("groundtruth");
    let (d, n, nq) = (base.dim, base.rows(), queries.rows());
    println!("base {n}x{d}, {nq} queries");
    if haar {
        run(&HaarRotation::new(d, seed).expect("rotation"), &base, &queries, &gt, gt_k, only.as_deref(), csv);
    } else {
        run(&RandomizedHadamard::new(d, seed).expect("rotation"), &base, &queries, &gt, gt_k, only.as_deref(), csv);
    }
}

#[allow(clippy::too_many_arguments)]
fn run<T: Transform + Clone>(
    rot: &T,
    base: &vector_codecs::io::Matrix,
    queries: &vector_codecs::io::Matrix,
    gt: &[i32],
    gt_k: usize,
    only: Option<&str>,
    csv: Option<PathBuf>,
) {
    let (n, nq) = (base.rows(), queries.rows());
    let mut out = String::from("config,bytes_per_vector,bits_per_dim,recall_at_10,encode_vec_per_s,scan_codes_per_s\n");
    let configs: &[(&str, u8, QueryMode, bool)] = &[
        ("rabitq1", 1, QueryMode::Float, true),
        ("rabitq1-q4", 1, QueryMode::Quantized4, true),
        ("rabitq1-nocentroid", 1, QueryMode::Float, false),
        ("rabitq2", 2, QueryMode::Float, true),
        ("rabitq3", 3, QueryMode::Float, true),
        ("rabitq4", 4, QueryMode::Float, true),
        ("rabitq4-q4", 4, QueryMode::Quantized4, true),
        ("rabitq5", 5, QueryMode::Float, true),
        ("rabitq8", 8, QueryMode::Float, true),
    ];
    println!(
        "{:<20} {:>6} {:>8} {:>10} {:>12} {:>14}",
        "config", "bytes", "bits/dim", "recall@10", "encode v/s", "scan codes/s"
    );
    for &(name, bits, mode, centered) in configs {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let inner = RaBitQ::new(rot.clone(), bits).expect("new").with_query_mode(mode, 17);
        // Centred on the base mean, or on 0 (the same composition, so one code path).
        let mean = if centered { None } else { Some(vec![0.0f32; base.dim]) };
        let codec = match mean {
            None => Centered::train_mean(inner, &base.data).expect("train"),
            Some(m) => Centered::new(inner, m).expect("new"),
        };
        let c = codec.code_len();
        let mut codes = vec![0u8; n * c];
        let t0 = Instant::now();
        codec.encode_batch(&base.data, &mut codes).expect("encode");
        let enc = n as f64 / t0.elapsed().as_secs_f64();
        let mut scratch = codec.scratch();
        let mut scores = vec![0f32; n];
        let mut hits = 0usize;
        let t1 = Instant::now();
        for qi in 0..nq {
            let q = queries.row(qi).expect("row");
            let p = codec.prepare(q, &mut scratch).expect("prepare");
            codec.score_batch(&p, &codes, &mut scores).expect("score");
            let mut top = TopK::<10>::new(10);
            top.push_batch(&scores, 0);
            let mut res = [(0f32, 0u32); 10];
            let k = top.drain_sorted(&mut res);
            let truth = &gt[qi * gt_k..qi * gt_k + 10];
            hits += res[..k].iter().filter(|(_, id)| truth.contains(&(*id as i32))).count();
        }
        let scan = (n * nq) as f64 / t1.elapsed().as_secs_f64();
        let recall = hits as f64 / (10 * nq) as f64;
        println!("{name:<20} {c:>6} {:>8.3} {recall:>10.4} {enc:>12.0} {scan:>14.0}", codec.bits_per_dim());
        let _ = writeln!(out, "{name},{c},{:.4},{recall:.4},{enc:.0},{scan:.0}", codec.bits_per_dim());
    }
    if let Some(p) = csv {
        std::fs::write(&p, out).expect("write csv");
        println!("wrote {}", p.display());
    }
}
