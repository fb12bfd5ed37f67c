//! The object-safe interface costs nothing measurable on a scan: `sq8`, `tq4-ip-i8` and `bin1`
//! scanned through `Box<dyn DynCodec>` (built by name with the factory: one virtual call per
//! batch of 256 codes through `scan_into`, and `scan_topk_into`) against the same concrete codec
//! through the generic `Score::score_batch`, in the same run, at d = 768 on 16,384 codes of
//! Gaussian data (L2/L3-resident: the kernel rate, where overhead would show).
//!
//! Run: `cargo bench --bench dyn_scan -- --warm-up-time 1 --measurement-time 3`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vector_codecs::binary::{BinaryCodec, BinaryConfig, ScaleFormat};
use vector_codecs::metric::Metric;
use vector_codecs::rng::Rng;
use vector_codecs::scalar::uniform::{PerDim, RangeEstimator};
use vector_codecs::topk::TopK;
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse_ip};
use vector_codecs::{Codec, ScanMode, ScanModes, Score, factory};

const D: usize = 768;
const N: usize = 16_384;
const SEED: u64 = 11;

fn pair<C: Codec + Score>(c: &mut Criterion, name: &str, generic: &C, data: &[f32], q: &[f32]) {
    let dynamic = factory::build(name, D, Metric::InnerProduct, SEED, data).unwrap();
    let mut codes = vec![0u8; N * generic.code_len()];
    generic.encode_batch(data, &mut codes).unwrap();
    let mut check = vec![0u8; codes.len()];
    dynamic.encode_batch(data, &mut check).unwrap();
    assert!(codes == check, "{name}: the factory codec differs from the generic one");
    let mut scores = vec![0f32; N];
    let mut g = c.benchmark_group(format!("dyn_scan_d768/{name}"));
    g.throughput(Throughput::Bytes(codes.len() as u64));
    let mut scratch = generic.scratch();
    g.bench_function("generic score_batch", |b| {
        b.iter(|| {
            let p = generic.prepare(q, &mut scratch).unwrap();
            generic.score_batch(&p, black_box(&codes), &mut scores).unwrap();
        })
    });
    let mut dscratch = vec![0f32; dynamic.query_scratch_len()];
    g.bench_function("dyn scan_into", |b| {
        b.iter(|| dynamic.scan_into(q, &mut dscratch, black_box(&codes), &mut scores).unwrap())
    });
    g.bench_function("dyn scan_topk_into k=10", |b| {
        b.iter(|| {
            let mut top = TopK::<16>::new(10);
            dynamic.scan_topk_into(q, &mut dscratch, black_box(&codes), &mut top).unwrap();
            top.len()
        })
    });
    g.finish();
}

fn scans(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let data: Vec<f32> = (0..N * D).map(|_| rng.gaussian() as f32).collect();
    let q: Vec<f32> = (0..D).map(|_| rng.gaussian() as f32).collect();
    let sq8 = PerDim::train(&data, D, 8, RangeEstimator::MinMax, false).unwrap();
    pair(c, "sq8", &sq8, &data, &q);
    let tq =
        turbo_mse_ip(D, 4, SEED, RotationKind::Hadamard, CodebookKind::Beta).unwrap().with_scan(ScanMode::I8).unwrap();
    pair(c, "tq4-ip-i8", &tq, &data, &q);
    let cfg = BinaryConfig { stages: 1, centred: false, scales: ScaleFormat::Shared };
    let bin1 = BinaryCodec::train(&data, D, &cfg).unwrap();
    pair(c, "bin1", &bin1, &data, &q);
    // Centred: `CenteredBinary` = `Centered<BinaryCodec>`, the inner batch kernel forwarded.
    let cfg = BinaryConfig { stages: 1, centred: true, scales: ScaleFormat::Shared };
    let bin1c = BinaryCodec::train_centred(&data, D, &cfg).unwrap();
    pair(c, "bin1-centred", &bin1c, &data, &q);
}

criterion_group!(benches, scans);
criterion_main!(benches);
