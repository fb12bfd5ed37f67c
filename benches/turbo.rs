//! Rotations, QJL and TurboQuant at d = 384 and 768: randomized Hadamard, Haar and Gaussian
//! projection apply; QJL (m = d) encode and score; TurboQuant-MSE 4-bit and TurboQuant-prod
//! 3-bit (randomized Hadamard, Beta codebook) encode (one vector and a batch of N), decode and a
//! batch scan of N codes; QJL with 0 and 8 exact outlier channels (d = 128, m = 256) encode and
//! scan.
//!
//! Short sanity run: `cargo bench --bench turbo -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::ortho::OrthoQjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::rng::Rng;
use vector_codecs::transform::{GaussianProjection, HaarRotation, RandomizedHadamard, Transform};
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_prod, turbo_prod_ortho};
use vector_codecs::{Codec, Decode, Score};

const N: usize = 2048;

fn transforms(c: &mut Criterion) {
    for d in [384usize, 768] {
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
        let mut y = vec![0f32; d];
        let mut g = c.benchmark_group(format!("transform_d{d}"));
        g.throughput(Throughput::Elements(1));
        let h = RandomizedHadamard::new(d, 3).unwrap();
        g.bench_function("hadamard", |b| b.iter(|| h.forward(black_box(&x), &mut y).unwrap()));
        let q = HaarRotation::new(d, 3).unwrap();
        g.bench_function("haar", |b| b.iter(|| q.forward(black_box(&x), &mut y).unwrap()));
        let s = GaussianProjection::new(d, d, 3).unwrap().materialize();
        g.bench_function("gaussian_stored", |b| b.iter(|| s.forward(black_box(&x), &mut y).unwrap()));
        g.finish();
    }
}

fn codecs(c: &mut Criterion) {
    for d in [384usize, 768] {
        let mut rng = Rng::new(2);
        let data: Vec<f32> = (0..N * d).map(|_| rng.gaussian() as f32).collect();
        let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
        let x = &data[..d];
        let mut out = vec![0f32; d];
        let mut scores = vec![0f32; N];

        let qjl = Qjl::new(d, d, 5).unwrap();
        let mut code = vec![0u8; qjl.code_len()];
        let mut codes = vec![0u8; N * qjl.code_len()];
        qjl.encode_batch(&data, &mut codes).unwrap();
        let mut g = c.benchmark_group(format!("qjl_d{d}_m{d}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("encode", |b| b.iter(|| qjl.encode_into(black_box(x), &mut code).unwrap()));
        let mut scratch = qjl.scratch();
        g.bench_function("prepare", |b| b.iter(|| qjl.prepare(black_box(&q), &mut scratch).map(|_| ()).unwrap()));
        let p = qjl.prepare(&q, &mut scratch).unwrap();
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("scan", |b| b.iter(|| qjl.score_batch(&p, black_box(&codes), &mut scores).unwrap()));
        g.finish();

        let mse = turbo_mse(d, 4, 7, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        let prod = turbo_prod(d, 3, 7, RotationKind::Hadamard, CodebookKind::Beta).unwrap();
        macro_rules! tq {
            ($name:expr, $c:expr) => {{
                let cd = $c;
                let mut code = vec![0u8; cd.code_len()];
                let mut codes = vec![0u8; N * cd.code_len()];
                cd.encode_batch(&data, &mut codes).unwrap();
                cd.encode_into(x, &mut code).unwrap();
                let mut g = c.benchmark_group(format!("{}_d{d}", $name));
                g.throughput(Throughput::Elements(1));
                g.bench_function("encode", |b| b.iter(|| cd.encode_into(black_box(x), &mut code).unwrap()));
                g.throughput(Throughput::Elements(N as u64));
                g.bench_function("encode_batch", |b| b.iter(|| cd.encode_batch(black_box(&data), &mut codes).unwrap()));
                g.throughput(Throughput::Elements(1));
                g.bench_function("decode", |b| b.iter(|| cd.decode_into(black_box(&code), &mut out).unwrap()));
                let mut scratch = cd.scratch();
                let p = cd.prepare(&q, &mut scratch).unwrap();
                g.throughput(Throughput::Elements(N as u64));
                g.bench_function("scan", |b| b.iter(|| cd.score_batch(&p, black_box(&codes), &mut scores).unwrap()));
                g.finish();
            }};
        }
        tq!("tq_mse4", &mse);
        tq!("tq_prod3", &prod);
        // Orthogonal QJL (Haar and Hadamard) and TurboQuant-prod with it.
        tq!("qjl_orth_haar", &OrthoQjl::new(d, RotationKind::Haar, 7).unwrap());
        tq!("qjl_orth_hadamard", &OrthoQjl::new(d, RotationKind::Hadamard, 7).unwrap());
        let h = RotationKind::Hadamard;
        tq!("tq_prod3_orth", &turbo_prod_ortho(d, 3, 7, h, CodebookKind::Beta, RotationKind::Haar).unwrap());
        tq!("tq_prod3_orth_h", &turbo_prod_ortho(d, 3, 7, h, CodebookKind::Beta, h).unwrap());
    }
}

/// QJL with 8 exact outlier channels at the reference KV-cache shape (d = 128, m = 256).
fn outliers(c: &mut Criterion) {
    let (d, m) = (128usize, 256usize);
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * d).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..d).map(|_| rng.gaussian() as f32).collect();
    let mut scores = vec![0f32; N];
    for o in [0usize, 8] {
        let cd = QjlOutlier::new(d, m, 5, o).unwrap();
        let mut code = vec![0u8; cd.code_len()];
        let mut codes = vec![0u8; N * cd.code_len()];
        cd.encode_batch(&data, &mut codes).unwrap();
        let mut g = c.benchmark_group(format!("qjl_outlier_d{d}_m{m}_o{o}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("encode", |b| b.iter(|| cd.encode_into(black_box(&data[..d]), &mut code).unwrap()));
        let mut scratch = cd.scratch();
        let p = cd.prepare(&q, &mut scratch).unwrap();
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("scan", |b| b.iter(|| cd.score_batch(&p, black_box(&codes), &mut scores).unwrap()));
        g.finish();
    }
}

criterion_group!(benches, transforms, codecs, outliers);
criterion_main!(benches);
