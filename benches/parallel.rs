//! Speed-up of the `parallel` feature: the same work on a rayon pool of 1 thread and of every
//! core (`vector_codecs::par::with_threads`), in the same process, so the ratio is not skewed by
//! other load that changes between runs.
//!
//! * batch encode of 16,384 Gaussian vectors at d = 384 (`sq8`, `tq4-ip-i8`, `pca2-ip`);
//! * top-k (k = 10) scans over 1 M codes at d = 384 (`tq4-ip-i8`, `bin1`, `pca2-ip`): the codes
//!   of 16,384 vectors repeated;
//! * k-means (`k = 256`, d = 32, 65,536 points, 8 iterations) and PCA (d = 128, 20,000 rows).
//!
//! Run: `cargo bench --features parallel --bench parallel -- --warm-up-time 1 --measurement-time 3`
//! (without the feature both pools run the same single-threaded code). Thread count of the
//! "all" pool: `available_parallelism`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

/// Benches `work` on a 1-thread pool and on an all-core pool, in one group.
fn pools(c: &mut Criterion, group: &str, throughput: Throughput, work: &(dyn Fn() + Sync)) {
    let mut g = c.benchmark_group(group);
    g.throughput(throughput);
    g.sample_size(10);
    for t in [1, all_threads()] {
        g.bench_function(format!("{t} threads"), |b| b.iter_custom(|iters| on_pool(t, iters, work)));
    }
    g.finish();
}

fn build(name: &str, train: &[f32]) -> Box<dyn DynCodec> {
    factory::build(name, D, Metric::InnerProduct, 7, train).unwrap()
}

fn encode(c: &mut Criterion) {
    let data = gaussian(N_ENC, D, 1);
    for name in ["sq8", "tq4-ip-i8", "pca2-ip"] {
        let codec = build(name, &data[..4096 * D]);
        let codes = std::sync::Mutex::new(vec![0u8; N_ENC * codec.code_len()]);
        pools(c, &format!("par_encode_d384/{name}"), Throughput::Elements(N_ENC as u64), &|| {
            let mut out = codes.lock().unwrap();
            codec.encode_batch(black_box(&data), &mut out).unwrap();
        });
    }
}

fn scan(c: &mut Criterion) {
    let data = gaussian(16_384, D, 2);
    let q = gaussian(1, D, 3);
    for name in ["tq4-ip-i8", "bin1", "pca2-ip"] {
        let codec = build(name, &data[..4096 * D]);
        let mut block = vec![0u8; 16_384 * codec.code_len()];
        codec.encode_batch(&data, &mut block).unwrap();
        let codes: Vec<u8> = block.iter().copied().cycle().take(N_SCAN * codec.code_len()).collect();
        pools(c, &format!("par_topk_1M_d384/{name}"), Throughput::Elements(N_SCAN as u64), &|| {
            black_box(codec.scan_topk(&q, black_box(&codes), 10).unwrap());
        });
    }
}

fn train(c: &mut Criterion) {
    let pts = gaussian(65_536, 32, 4);
    let cfg = KMeansConfig { niter: 8, ..KMeansConfig::default() };
    pools(c, "par_kmeans/k256_d32_n65536_8iter", Throughput::Elements(65_536), &|| {
        black_box(kmeans(black_box(&pts), 32, 256, &cfg, None, None).unwrap());
    });
    let rows = gaussian(20_000, 128, 5);
    let mean = vec![0f32; 128];
    pools(c, "par_pca/d128_n20000", Throughput::Elements(20_000), &|| {
        black_box(Pca::train(black_box(&rows), 128, &mean).unwrap());
    });
}

criterion_group!(benches, encode, scan, train);
criterion_main!(benches);
