//! Codecs picked by name at run time, held as `Box<dyn DynCodec>` in one `Vec`, saved, loaded
//! back, and checked for identical codes, scores and top-k on the shipped real data — for every
//! factory name and every metric.

mod common;

use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;

const SEED: u64 = 0x5EED_2026;

fn shipped() -> (common::Rows, common::Rows) {
    let dir = common::shipped_dir();
    let base = common::read_fvecs(dir.join("wordnet_base.fvecs"));
    let query = common::read_fvecs(dir.join("wordnet_query.fvecs"));
    (base, query)
}

/// Builds every name for `metric`, saves, loads, and checks codes, decodes, scores and top-k
/// are identical; returns the codecs.
fn round_trip_all(metric: Metric, train: &[f32], base: &[f32], queries: &[f32], dim: usize) -> Vec<Box<dyn DynCodec>> {
    let n = base.len() / dim;
    let mut kept = Vec::new();
    for name in factory::names() {
        let codec = factory::build(name, dim, metric, SEED, train).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(codec.name(), name);
        assert_eq!(codec.metric(), metric);
        assert_eq!(codec.dim(), dim);
        let mut codes = vec![0u8; n * codec.code_len()];
        codec.encode_batch(base, &mut codes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let saved = codec.save().unwrap();
        let loaded = factory::load(&saved).unwrap_or_else(|e| panic!("{name} load: {e}"));
        assert_eq!(loaded.save().unwrap(), saved, "{name}: save(load(save)) differs");
        assert_eq!(loaded.code_len(), codec.code_len(), "{name}");
        let mut again = vec![0u8; codes.len()];
        loaded.encode_batch(base, &mut again).unwrap();
        assert!(codes == again, "{name} ({metric:?}): codes differ after load");
        let (mut a, mut b) = (vec![0f32; base.len()], vec![0f32; base.len()]);
        codec.decode_batch(&codes, &mut a).unwrap();
        loaded.decode_batch(&codes, &mut b).unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{name}: decodes differ");
        // The search layout (blocked for fast-scan PQ, the codes otherwise) scores the same.
        let layout = loaded.layout(&codes).unwrap();
        assert_eq!(layout.len(), loaded.layout_len(n).unwrap(), "{name}");
        let mut scratch = vec![0f32; loaded.query_scratch_len()];
        for q in queries.chunks_exact(dim).take(5) {
            let (mut s1, mut s2) = (vec![0f32; n], vec![0f32; n]);
            codec.scan(q, &codes, &mut s1).unwrap();
            loaded.scan(q, &codes, &mut s2).unwrap();
            assert!(s1.iter().zip(&s2).all(|(x, y)| x.to_bits() == y.to_bits()), "{name}: scores differ");
            let mut s3 = vec![0f32; n];
            loaded.scan_layout_into(q, &mut scratch, &layout, &mut s3).unwrap();
            assert!(s1.iter().zip(&s3).all(|(x, y)| x.to_bits() == y.to_bits()), "{name}: layout scores differ");
            let t1 = codec.scan_topk(q, &codes, 10).unwrap();
            assert_eq!(t1, loaded.scan_topk(q, &codes, 10).unwrap(), "{name}: top-k differs");
            // scan_topk agrees with the full scan; a re-ranked codec (`-rr{R}`) returns the
            // best exact scores among the scan's R·k best, best first (tests/pq_rerank.rs checks
            // them against brute force).
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_by(|&i, &j| s1[j as usize].total_cmp(&s1[i as usize]).then(i.cmp(&j)));
            let ids: Vec<u32> = t1.iter().map(|t| t.0).collect();
            let r = codec.rerank_factor();
            if r > 1 {
                assert!(
                    ids.iter().all(|i| order[..r * 10].contains(i)),
                    "{name}: re-ranked ids outside the candidates"
                );
                assert!(t1.windows(2).all(|w| w[0].1 >= w[1].1), "{name}: re-ranked scores not best first");
            } else {
                assert_eq!(ids, order[..10], "{name}: scan_topk differs from the sorted scan");
            }
        }
        // Hostile bytes: every truncation and a few flipped bytes are errors, never panics.
        for cut in [0, 1, 12, saved.len() / 2, saved.len() - 1] {
            assert!(factory::load(&saved[..cut]).is_err(), "{name}: truncated load succeeded");
        }
        kept.push(loaded);
    }
    kept
}

#[test]
fn every_name_round_trips_on_real_data_for_every_metric() {
    let (base, query) = shipped();
    let dim = base.dim;
    let train = &base.data[..1000 * dim];
    let sample = &base.data[1000 * dim..1400 * dim];
    for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
        let codecs = round_trip_all(metric, train, sample, &query.data, dim);
        assert!(codecs.len() >= 10);
    }
}

#[test]
fn metrics_are_exact_on_the_reconstruction_for_f16() {
    let (base, query) = shipped();
    let dim = base.dim;
    let xs = &base.data[..300 * dim];
    for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
        let c = factory::build("f16", dim, metric, 1, &[]).unwrap();
        let mut codes = vec![0u8; 300 * c.code_len()];
        c.encode_batch(xs, &mut codes).unwrap();
        let mut dec = vec![0f32; xs.len()];
        c.decode_batch(&codes, &mut dec).unwrap();
        let q = &query.data[..dim];
        let mut s = vec![0f32; 300];
        c.scan(q, &codes, &mut s).unwrap();
        for (x, &got) in dec.chunks_exact(dim).zip(&s) {
            let want = metric.exact(q, x).unwrap();
            assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "{metric:?}: {got} vs {want}");
        }
    }
}

#[test]
fn unknown_names_and_bad_dimensions_are_errors() {
    assert!(factory::build("no-such-codec", 8, Metric::L2, 0, &[]).is_err());
    assert!(factory::build("f16", 0, Metric::L2, 0, &[]).is_err());
    assert!(factory::build("f16", 8, Metric::L2, 0, &[0.0; 7]).is_err());
    assert!(factory::load(b"VCDC").is_err());
}

#[path = "../fuzz/targets/codec_load.rs"]
mod codec_load;

#[test]
fn fuzz_corpus_replays() {
    let n = common::replay_corpus("codec_load", codec_load::run);
    assert!(n >= factory::names().count(), "corpus lacks names: run `cargo test --test factory -- --ignored`");
}

/// Writes one saved codec per factory name (d = 24, or 64 where 24 is too small; IP and L2)
/// into the fuzz seed corpus.
#[test]
#[ignore]
fn write_fuzz_corpus() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/codec_load");
    std::fs::create_dir_all(&dir).unwrap();
    let (base, _) = shipped();
    let train = |dim: usize| -> Vec<f32> {
        base.data.chunks_exact(base.dim).take(600).flat_map(|r| r[..dim].to_vec()).collect()
    };
    let (small, large) = (train(24), train(64));
    for name in factory::names() {
        for metric in [Metric::InnerProduct, Metric::L2] {
            // d = 24, or d = 64 for names that need more (the PCA codecs: four bit widths over
            // blocks of 8 coordinates).
            let c = factory::build(name, 24, metric, 3, &small)
                .or_else(|_| factory::build(name, 64, metric, 3, &large))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let file = format!("{}-{}", name.replace(['+', '.', '{', '}'], "_"), metric.name());
            std::fs::write(dir.join(file), c.save().unwrap()).unwrap();
        }
    }
}

/// The batch scans of the wrappers (inner batch kernels on gathered sub-codes) give exactly the
/// per-code scores, for batch sizes around the gather blocks and codes too wide to gather.
#[test]
fn wrapper_batch_scores_equal_per_code_scores() {
    use vector_codecs::Score;
    use vector_codecs::compose::{Normalized, Residual, Split};
    use vector_codecs::metric::WithNorm;
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    fn check<C: Score>(c: &C, xs: &[f32], n: usize) {
        let d = c.dim();
        let mut codes = vec![0u8; n * c.code_len()];
        c.encode_batch(&xs[..n * d], &mut codes).unwrap();
        let mut scratch = c.scratch();
        let q = c.prepare(&xs[d..2 * d], &mut scratch).unwrap();
        let mut batch = vec![0f32; n];
        c.score_batch(&q, &codes, &mut batch).unwrap();
        for (i, code) in codes.chunks_exact(c.code_len()).enumerate() {
            assert_eq!(batch[i].to_bits(), c.score(&q, code).unwrap().to_bits(), "row {i} of {n}");
        }
    }
    let f = |d, fmt| FloatCodec::new(d, fmt).unwrap();
    for d in [7usize, 384, 3000] {
        let xs: Vec<f32> = (0..600 * d).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 300.0).collect();
        for n in [1, 2, 255, 256, 257, 600] {
            check(&Normalized::new(f(d, FloatFormat::E4M3)), &xs, n);
            check(&Residual::new(f(d, FloatFormat::E2M1), f(d, FloatFormat::E4M3)).unwrap(), &xs, n);
            check(&Split::new(f(d / 2, FloatFormat::F16), f(d - d / 2, FloatFormat::MxFp4)).unwrap(), &xs, n);
            for m in [Metric::L2, Metric::Cosine] {
                check(&WithNorm::new(f(d, FloatFormat::NvFp4), m), &xs, n);
            }
        }
    }
}

/// Batch decode through the blocked transposed product (`Rotated::decode_batch` →
/// `Transform::transpose_batch` → `simd::matmul_t`) gives the bits of decoding each code on its
/// own, for codecs over stored dense rotations (PCA, Haar, Gaussian) and a Hadamard one, with
/// batch sizes around the 4-vector tiles and the row blocks.
#[test]
fn dense_rotation_batch_decode_equals_per_code_decode() {
    let (base, _) = shipped();
    let d = 64;
    let train: Vec<f32> = base.data.chunks_exact(base.dim).take(400).flat_map(|r| r[..d].to_vec()).collect();
    for name in ["pca2-ip", "pca4-ip", "pca1+-ip", "tqp3-orth", "qjl-orth", "qjl", "tq4"] {
        let c = factory::build(name, d, Metric::InnerProduct, 5, &train).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cl = c.code_len();
        for n in [1usize, 3, 4, 5, 67, 130] {
            let xs = &train[..n * d];
            let mut codes = vec![0u8; n * cl];
            c.encode_batch(xs, &mut codes).unwrap();
            let mut batch = vec![0f32; n * d];
            c.decode_batch(&codes, &mut batch).unwrap();
            for (i, code) in codes.chunks_exact(cl).enumerate() {
                let mut one = vec![0f32; d];
                c.decode_batch(code, &mut one).unwrap();
                let a: Vec<u32> = batch[i * d..(i + 1) * d].iter().map(|v| v.to_bits()).collect();
                let b: Vec<u32> = one.iter().map(|v| v.to_bits()).collect();
                assert_eq!(a, b, "{name}: row {i} of {n}");
            }
        }
    }
}
