//! Speed-up of the `parallel` feature: the same work on a rayon pool of 1 thread and of every
//! core (`vector_codecs::par::with_threads`), in the same process, so the ratio is not skewed by
//! other load that changes between runs.
//!
//! * batch encode of 16,384 Gaussian vectors at d = 384 (`sq8`, `tq4-ip-i8`, `pca2-ip`);
//! * top-k (k = 10) scans over 1 M codes at d = 384 (`tq4-ip-i8`, `bin1`, `pca2-ip`): the codes
//!   of 16,384 vectors repeated;
//! * k-means (`k = 256`, d = 32, 65,536 points, 8 iterations) and PCA (d = 128, 100,000 rows;
//!   the covariance is parallel, the eigensolver is not).
//!
//! Run: `cargo bench --features parallel --bench parallel -- --warm-up-time 1 --measurement-time 3`
//! (without the feature both pools run the same single-threaded code). Thread count of the
//! "all" pool: `available_parallelism` (limit it with `taskset`).
//!
//! On a shared machine, prefer the interleaved mode, which alternates the two pools round by
//! round and prints medians and the median per-round ratio (and `/proc/loadavg`):
//! `VECTOR_CODECS_PAR_ROUNDS=7 cargo bench --features parallel --bench parallel`.

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;
use vector_codecs::par::with_threads;
use vector_codecs::rng::Rng;
use vector_codecs::train::{KMeansConfig, kmeans};
use vector_codecs::transform::pca::Pca;

const D: usize = 384;
const N_ENC: usize = 16_384;
const N_SCAN: usize = 1 << 20;

fn all_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n * d).map(|_| r.gaussian() as f32).collect()
}

/// Times `iters` runs of `work` on a pool of `t` threads (the pool is built once per sample).
fn on_pool(t: usize, iters: u64, work: &(dyn Fn() + Sync)) -> Duration {
    with_threads(t, || {
        let start = Instant::now();
        for _ in 0..iters {
            work();
        }
        start.elapsed()
    })
    .unwrap()
}

/// One workload: a name, its element count (for rates) and the work.
struct Work {
    name: String,
    elems: u64,
    run: Box<dyn Fn() + Sync>,
}

fn build(name: &str, train: &[f32]) -> Box<dyn DynCodec> {
    factory::build(name, D, Metric::InnerProduct, 7, train).unwrap()
}

fn workloads() -> Vec<Work> {
    let mut w = Vec::new();
    let data = std::sync::Arc::new(gaussian(N_ENC, D, 1));
    for name in ["sq8", "tq4-ip-i8", "pca2-ip"] {
        let codec = build(name, &data[..4096 * D]);
        let codes = std::sync::Mutex::new(vec![0u8; N_ENC * codec.code_len()]);
        let data = data.clone();
        w.push(Work {
            name: format!("par_encode_16k_d384/{name}"),
            elems: N_ENC as u64,
            run: Box::new(move || {
                let mut out = codes.lock().unwrap();
                codec.encode_batch(black_box(&data), &mut out).unwrap();
            }),
        });
    }
    let q = gaussian(1, D, 3);
    for name in ["tq4-ip-i8", "bin1", "pca2-ip"] {
        let codec = build(name, &data[..4096 * D]);
        let mut block = vec![0u8; N_ENC * codec.code_len()];
        codec.encode_batch(&data, &mut block).unwrap();
        let codes: Vec<u8> = block.iter().copied().cycle().take(N_SCAN * codec.code_len()).collect();
        let q = q.clone();
        w.push(Work {
            name: format!("par_topk10_1M_d384/{name}"),
            elems: N_SCAN as u64,
            run: Box::new(move || {
                black_box(codec.scan_topk(&q, black_box(&codes), 10).unwrap());
            }),
        });
    }
    let pts = gaussian(65_536, 32, 4);
    let cfg = KMeansConfig { niter: 8, ..KMeansConfig::default() };
    w.push(Work {
        name: "par_kmeans/k256_d32_n65536_8iter".into(),
        elems: 65_536,
        run: Box::new(move || {
            black_box(kmeans(black_box(&pts), 32, 256, &cfg, None, None).unwrap());
        }),
    });
    let rows = gaussian(100_000, 128, 5);
    w.push(Work {
        name: "par_pca/d128_n100000".into(),
        elems: 100_000,
        run: Box::new(move || {
            black_box(Pca::train(black_box(&rows), 128, &[0.0; 128]).unwrap());
        }),
    });
    w
}

/// Criterion: each workload on a 1-thread pool and on an all-core pool, in one group.
fn benches(c: &mut Criterion) {
    for w in workloads() {
        let mut g = c.benchmark_group(&w.name);
        g.throughput(Throughput::Elements(w.elems));
        g.sample_size(10);
        for t in [1, all_threads()] {
            g.bench_function(format!("{t} threads"), |b| b.iter_custom(|iters| on_pool(t, iters, &*w.run)));
        }
        g.finish();
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time (ns) each thread of this process has run so far (`/proc/self/task/*/schedstat`;
/// empty where that file does not exist).
fn task_cpu() -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat"))
                && let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok())
            {
                m.insert(e.file_name().to_string_lossy().into_owned(), ns);
            }
        }
    }
    m
}

/// One run of `work` on a pool of `t` threads: (wall seconds, CPU seconds of all threads, CPU
/// seconds of the busiest thread). The CPU times do not depend on how much of the machine other
/// processes take: `total / busiest` of a pool is the speed-up its threads would get on cores of
/// their own (idle threads' spinning counts as busy, so the estimate is low, not high).
fn run_measured(t: usize, work: &(dyn Fn() + Sync)) -> (f64, f64, f64) {
    with_threads(t, || {
        let before = task_cpu();
        let start = Instant::now();
        work();
        let wall = start.elapsed().as_secs_f64();
        let after = task_cpu();
        let deltas: Vec<u64> = after.iter().map(|(k, v)| v - before.get(k).copied().unwrap_or(0)).collect();
        let total = deltas.iter().sum::<u64>() as f64 * 1e-9;
        let busiest = deltas.iter().copied().max().unwrap_or(0) as f64 * 1e-9;
        (wall, total, busiest)
    })
    .unwrap()
}

/// Interleaved: `rounds` rounds of (1 thread, all threads) per workload, adjacent in time so
/// that changing load from other processes hits both; prints medians of the wall times, the
/// median of the per-round wall ratios, and two CPU-time speed-ups that do not need idle cores:
/// `cpu x` (one thread's CPU time over the busiest pool thread's: low when other load starves
/// one pool thread) and `bal x` (`t ·` one thread's CPU time over the pool's total: the speed-up
/// with perfect balance, i.e. the parallel overhead only).
fn interleaved(rounds: usize) {
    let t = all_threads();
    println!("# loadavg at start: {}", loadavg());
    println!(
        "{:<36} {:>10} {:>10} {:>7} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "workload",
        "wall 1 ms",
        format!("wall {t} ms"),
        "wall x",
        "cpu 1 ms",
        format!("cpu {t} ms"),
        "busiest ms",
        "cpu x",
        "bal x"
    );
    for w in workloads() {
        run_measured(1, &*w.run);
        run_measured(t, &*w.run);
        let mut v: [Vec<f64>; 6] = Default::default();
        for _ in 0..rounds {
            let (w1, c1, _) = run_measured(1, &*w.run);
            let (w2, c2, b2) = run_measured(t, &*w.run);
            for (i, x) in [w1, w2, w1 / w2, c1, c2, c1 / b2].into_iter().enumerate() {
                v[i].push(x);
            }
        }
        let m: Vec<f64> = v.iter_mut().map(|x| median(x)).collect();
        let busiest = m[3] / m[5];
        println!(
            "{:<36} {:>10.2} {:>10.2} {:>6.2}x {:>10.2} {:>10.2} {:>10.2} {:>7.2}x {:>7.2}x",
            w.name,
            m[0] * 1e3,
            m[1] * 1e3,
            m[2],
            m[3] * 1e3,
            m[4] * 1e3,
            busiest * 1e3,
            m[5],
            t as f64 * m[3] / m[4]
        );
    }
    println!("# loadavg at end: {}", loadavg());
}

fn main() {
    match std::env::var("VECTOR_CODECS_PAR_ROUNDS") {
        Ok(r) => interleaved(r.parse().expect("VECTOR_CODECS_PAR_ROUNDS: a number of rounds")),
        Err(_) => {
            let mut c = Criterion::default().configure_from_args();
            benches(&mut c);
            c.final_summary();
        }
    }
}
