//! Exact re-ranking of the 4-bit fast-scan PQ (issue 11 part 3): the typed
//! (`ProductQuantizer::scan_layout_topk`, `rerank::scan_layout_topk`) and the dynamic
//! (`PQ{M}x4fs-rr{R}`) top-k scans against brute-force exact ADC, the `R = 1` identity with the
//! plain fast scan, the exact score against decode-then-dot, and the saved factor.
//!
//! Synthetic data only (plus the shipped subset in the ignored corpus generator), no
//! `vector_codecs::io`: this test also runs with `--no-default-features --features alloc`.

mod common;

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::factory;
use vector_codecs::format::{Reader, fnv1a32};
use vector_codecs::metric::Metric;
use vector_codecs::persist::Persist;
use vector_codecs::pq::ProductQuantizer;
use vector_codecs::rerank::Rerank;
use vector_codecs::topk::TopK;
use vector_codecs::train::KMeansConfig;
use vector_codecs::{Codec, Decode, Score};

const D: usize = 32;
const M: usize = 16;

fn data(n: usize, seed: u64) -> Vec<f32> {
    common::gauss(n * D, seed, 1.0)
}

fn fast_pq(train: &[f32], dim: usize, m: usize) -> ProductQuantizer {
    let cfg = KMeansConfig { niter: 8, seed: 5, ..KMeansConfig::default() };
    ProductQuantizer::train(train, dim, m, 4, &cfg).unwrap().with_scan(ScanMode::I8).unwrap()
}

/// The `k` best `(id, score)` of `scores`, larger first, ties to the smaller id.
fn brute_topk(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

#[test]
fn typed_rerank_over_all_codes_is_the_exact_adc_topk() {
    let train = data(600, 1);
    let pq = fast_pq(&train, D, M);
    let float = pq.clone().with_scan(ScanMode::Float).unwrap();
    for n in [1usize, 31, 77, 300] {
        let xs = data(n, 2 + n as u64);
        let mut codes = vec![0u8; n * pq.code_len()];
        pq.encode_batch(&xs, &mut codes).unwrap();
        let mut layout = vec![0u8; vector_codecs::codec::layout_len(pq.layout_block(), n).unwrap()];
        pq.to_layout(&codes, &mut layout).unwrap();
        for (qi, q) in data(4, 99).chunks_exact(D).enumerate() {
            let mut sf = float.scratch();
            let fq = float.prepare(q, &mut sf).unwrap();
            let mut exact = vec![0f32; n];
            float.score_batch(&fq, &codes, &mut exact).unwrap();
            let mut s = pq.scratch();
            let pqq = pq.prepare(q, &mut s).unwrap();
            for k in [1usize, 10] {
                let r = n.div_ceil(k).max(2); // R·k ≥ n, and a re-rank (R > 1)
                let got = pq.scan_layout_topk(&pqq, &layout, n, k, r).unwrap();
                let want = brute_topk(&exact, k);
                let bits = |v: &[(u32, f32)]| v.iter().map(|&(i, s)| (i, s.to_bits())).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "n {n} query {qi} k {k}");
            }
        }
    }
}

#[test]
fn factor_one_is_the_plain_fast_scan() {
    let train = data(600, 3);
    let xs = data(500, 4);
    let plain = factory::build("PQ16x4fs", D, Metric::InnerProduct, 7, &train).unwrap();
    let rr1 = factory::build("PQ16x4fs-rr1", D, Metric::InnerProduct, 7, &train).unwrap();
    assert_eq!(rr1.rerank_factor(), 1);
    let mut codes = vec![0u8; 500 * plain.code_len()];
    plain.encode_batch(&xs, &mut codes).unwrap();
    let mut again = vec![0u8; codes.len()];
    rr1.encode_batch(&xs, &mut again).unwrap();
    assert_eq!(codes, again);
    let layout = plain.layout(&codes).unwrap();
    // The typed scan with R = 1 too.
    let pq = fast_pq(&train, D, M);
    let mut c2 = vec![0u8; 500 * pq.code_len()];
    pq.encode_batch(&xs, &mut c2).unwrap();
    let mut l2 = vec![0u8; layout.len()];
    pq.to_layout(&c2, &mut l2).unwrap();
    for q in data(5, 40).chunks_exact(D) {
        let a = plain.scan_layout_topk(q, &layout, 500, 10).unwrap();
        assert_eq!(a, rr1.scan_layout_topk(q, &layout, 500, 10).unwrap());
        assert_eq!(plain.scan_topk(q, &codes, 10).unwrap(), rr1.scan_topk(q, &codes, 10).unwrap());
        let mut s = pq.scratch();
        let pqq = pq.prepare(q, &mut s).unwrap();
        let mut scores = vec![0f32; 500];
        pq.score_layout(&pqq, &l2, &mut scores).unwrap();
        assert_eq!(pq.scan_layout_topk(&pqq, &l2, 500, 10, 1).unwrap(), brute_topk(&scores, 10));
    }
}

/// Every metric through the factory: with `R·k ≥ n` the dynamic top-k (codes and layout, one
/// query and many) is the top-k of the float-table scores of the same codes (`PQ16x4`, trained
/// identically: the scan mode does not change training).
#[test]
fn dynamic_rerank_over_all_codes_is_the_exact_topk() {
    let train = data(600, 5);
    let n = 200;
    let xs = data(n, 6);
    let queries = data(9, 7);
    for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
        let rr = factory::build("PQ16x4fs-rr20", D, metric, 11, &train).unwrap();
        let float = factory::build("PQ16x4", D, metric, 11, &train).unwrap();
        assert_eq!(rr.rerank_factor(), 20);
        let mut codes = vec![0u8; n * rr.code_len()];
        rr.encode_batch(&xs, &mut codes).unwrap();
        let mut fc = vec![0u8; codes.len()];
        float.encode_batch(&xs, &mut fc).unwrap();
        // Same training, same PQ codes. (Cosine stores a norm after them: `‖x‖` for the biased
        // fast scan, `‖x̂‖` for the float scan; the float codec scores `codes` with their norms.)
        if metric != Metric::Cosine {
            assert_eq!(codes, fc, "{metric:?}: same training, same codes");
        }
        let layout = rr.layout(&codes).unwrap();
        let many = rr.scan_layout_topk_many(&queries, &layout, n, 10).unwrap();
        for (qi, q) in queries.chunks_exact(D).enumerate() {
            let mut exact = vec![0f32; n];
            float.scan(q, &codes, &mut exact).unwrap();
            let want = brute_topk(&exact, 10);
            assert_eq!(rr.scan_topk(q, &codes, 10).unwrap(), want, "{metric:?} codes q{qi}");
            assert_eq!(rr.scan_layout_topk(q, &layout, n, 10).unwrap(), want, "{metric:?} layout q{qi}");
            assert_eq!(many[qi], want, "{metric:?} many q{qi}");
        }
    }
}

/// With a small factor the re-ranked ids are among the fast scan's `R·k` best, and the scores are
/// their exact ones; 40,000 codes also take the `parallel` range split (ranges of 16,384).
#[test]
fn rerank_reorders_the_fast_scan_candidates() {
    for n in [2000, 40_000] {
        rerank_reorders(n);
    }
}

fn rerank_reorders(n: usize) {
    let train = data(600, 8);
    let xs = data(n, 9);
    let rr = factory::build("PQ16x4fs-rr2", D, Metric::InnerProduct, 3, &train).unwrap();
    let plain = factory::build("PQ16x4fs", D, Metric::InnerProduct, 3, &train).unwrap();
    let float = factory::build("PQ16x4", D, Metric::InnerProduct, 3, &train).unwrap();
    let mut codes = vec![0u8; n * rr.code_len()];
    rr.encode_batch(&xs, &mut codes).unwrap();
    let layout = rr.layout(&codes).unwrap();
    for q in data(6, 10).chunks_exact(D) {
        let cand: Vec<u32> = plain.scan_layout_topk(q, &layout, n, 20).unwrap().iter().map(|p| p.0).collect();
        let mut exact = vec![0f32; n];
        float.scan(q, &codes, &mut exact).unwrap();
        let got = rr.scan_layout_topk(q, &layout, n, 10).unwrap();
        assert_eq!(rr.scan_topk(q, &codes, 10).unwrap(), got);
        let mut want: Vec<(u32, f32)> = cand.iter().map(|&i| (i, exact[i as usize])).collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(10);
        assert_eq!(got, want);
    }
}

#[test]
fn exact_score_is_decode_then_dot_and_reads_the_layout_in_place() {
    // Odd M (15 sub-quantizers: a padding row in the fast-scan pairs) and a partial block.
    for (dim, m, n) in [(30usize, 15usize, 77usize), (D, M, 64)] {
        let train = common::gauss(600 * dim, 12, 1.0);
        let pq = fast_pq(&train, dim, m);
        let xs = common::gauss(n * dim, 13, 1.0);
        let mut codes = vec![0u8; n * pq.code_len()];
        pq.encode_batch(&xs, &mut codes).unwrap();
        let mut layout = vec![0u8; vector_codecs::codec::layout_len(pq.layout_block(), n).unwrap()];
        pq.to_layout(&codes, &mut layout).unwrap();
        let q = common::gauss(dim, 14, 1.0);
        let mut s = pq.scratch();
        let pqq = pq.prepare(&q, &mut s).unwrap();
        let mut xhat = vec![0f32; dim];
        for (i, code) in codes.chunks_exact(pq.code_len()).enumerate() {
            let e = pq.score_exact(&pqq, code).unwrap();
            pq.decode_into(code, &mut xhat).unwrap();
            let dot: f64 = q.iter().zip(&xhat).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            assert!((f64::from(e) - dot).abs() < 1e-4 * dot.abs().max(1.0), "m {m} code {i}: {e} vs {dot}");
            assert_eq!(pq.score_exact_layout(&pqq, &layout, i).unwrap().to_bits(), e.to_bits(), "m {m} code {i}");
        }
        // Past the layout: an error, not a panic.
        let past = layout.len() / pq.layout_block().1 * pq.layout_block().0;
        assert!(pq.score_exact_layout(&pqq, &layout, past).is_err());
        assert!(pq.score_exact_layout(&pqq, &layout, usize::MAX).is_err());
        assert!(pq.score_exact(&pqq, &codes[..pq.code_len() - 1]).is_err());
    }
}

/// Offset of the factor in a saved `PQ16x4fs-rr{R}`: container header (12), name length (1),
/// name, metric (1), dimension (4), seed (8).
fn factor_at(name: &str) -> usize {
    12 + 1 + name.len() + 1 + 4 + 8
}

fn reseal(b: &mut [u8]) {
    let n = b.len() - 4;
    let h = fnv1a32(&b[..n]);
    b[n..].copy_from_slice(&h.to_le_bytes());
}

#[test]
fn saved_codec_keeps_the_factor() {
    let train = data(600, 15);
    let xs = data(300, 16);
    for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
        let name = "PQ16x4fs-rr4";
        let c = factory::build(name, D, metric, 21, &train).unwrap();
        let saved = c.save().unwrap();
        let back = factory::load(&saved).unwrap();
        assert_eq!(back.name(), name);
        assert_eq!(back.rerank_factor(), 4);
        assert_eq!(back.save().unwrap(), saved);
        let mut codes = vec![0u8; 300 * c.code_len()];
        c.encode_batch(&xs, &mut codes).unwrap();
        let q = &xs[..D];
        assert_eq!(c.scan_topk(q, &codes, 10).unwrap(), back.scan_topk(q, &codes, 10).unwrap());
        if metric == Metric::Cosine {
            continue; // the metric byte of `WithNorm` comes first
        }
        let at = factor_at(name);
        assert_eq!(saved[at..at + 4], 4u32.to_le_bytes(), "{metric:?}: factor field");
        // Corrupt factors (re-sealed, so the checksum passes): out of range, or not the name's.
        for bad in [0u32, 3, 5, 65, u32::MAX] {
            let mut b = saved.clone();
            b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
            reseal(&mut b);
            assert!(factory::load(&b).is_err(), "{metric:?}: factor {bad} loaded");
        }
        let mut b = saved.clone();
        b[at] ^= 0x40;
        assert!(factory::load(&b).is_err(), "{metric:?}: checksum");
    }
}

#[test]
fn typed_rerank_persists_the_factor() {
    let pq = fast_pq(&data(600, 17), D, M);
    let rr = Rerank::new(pq.clone(), 8).unwrap();
    assert_eq!(rr.rerank_factor(), 8);
    let mut w = vector_codecs::format::Writer::new(0);
    rr.persist(&mut w);
    let full = w.finish().unwrap();
    let body = &full[12..full.len() - 4];
    let back = Rerank::<ProductQuantizer>::restore(&mut Reader::new(body)).unwrap();
    assert_eq!(back, rr);
    for bad in [0u32, 65, u32::MAX] {
        let mut b = body.to_vec();
        b[..4].copy_from_slice(&bad.to_le_bytes());
        assert!(Rerank::<ProductQuantizer>::restore(&mut Reader::new(&b)).is_err(), "factor {bad}");
    }
    assert!(Rerank::<ProductQuantizer>::restore(&mut Reader::new(&body[..3])).is_err());
    assert!(Rerank::new(pq.clone(), 0).is_err());
    assert!(Rerank::new(pq, 65).is_err());
}

#[test]
fn bad_names_and_arguments_are_errors() {
    let train = data(600, 18);
    for name in ["PQ16x4fs-rr0", "PQ16x4fs-rr65", "PQ16x4fs-rr", "PQ16x4fs-rrx", "PQ16x8-rr4", "PQ5x4fs-rr4"] {
        assert!(factory::build(name, D, Metric::InnerProduct, 1, &train).is_err(), "{name}");
    }
    let rr = factory::build("PQ16x4fs-rr4", D, Metric::InnerProduct, 1, &train).unwrap();
    let codes = vec![0u8; 40 * rr.code_len()];
    let layout = rr.layout(&codes).unwrap();
    let q = &train[..D];
    assert!(rr.scan_layout_topk(q, &layout[..layout.len() - 1], 40, 10).is_err());
    assert!(rr.scan_layout_topk(q, &layout, 40, 2000).is_err());
    assert!(rr.scan_topk(q, &codes[..codes.len() - 1], 10).is_err());
    // k = 0 and n = 0: empty, not errors.
    assert!(rr.scan_layout_topk(q, &layout, 40, 0).unwrap().is_empty());
    assert!(rr.scan_layout_topk(q, &layout, 0, 10).unwrap().is_empty());
    // The typed scan: a k·R above the candidates' capacity is clamped, k above it an error.
    let pq = fast_pq(&train, D, M);
    let mut s = pq.scratch();
    let pqq = pq.prepare(q, &mut s).unwrap();
    let mut top = TopK::<8192>::new(5000);
    assert!(vector_codecs::rerank::scan_layout_topk(&pq, &pqq, &layout, 40, 2, &mut top).is_err());
    let mut top = TopK::<1024>::new(1000);
    vector_codecs::rerank::scan_layout_topk(&pq, &pqq, &layout, 40, 64, &mut top).unwrap();
    assert_eq!(top.len(), 40);
}

/// Writes the re-rank fuzz seeds: saved `PQ24x4fs-rr4` codecs for `codec_load` (the same recipe
/// as `tests/factory.rs`'s generator) and raw `Rerank<ProductQuantizer>` blocks for `pq_params`.
#[test]
#[ignore = "writes fuzz seeds"]
fn write_fuzz_seeds() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let base = common::read_fvecs(common::shipped_dir().join("wordnet_base.fvecs"));
    let small: Vec<f32> = base.data.chunks_exact(base.dim).take(600).flat_map(|r| r[..24].to_vec()).collect();
    for metric in [Metric::InnerProduct, Metric::L2] {
        let c = factory::build("PQ24x4fs-rr4", 24, metric, 3, &small).unwrap();
        std::fs::write(dir.join("codec_load").join(format!("PQ24x4fs-rr4-{}", metric.name())), c.save().unwrap())
            .unwrap();
    }
    let x = common::gauss(300 * 8, 3, 1.0);
    let cfg = KMeansConfig { niter: 5, ..KMeansConfig::default() };
    let pq = ProductQuantizer::train(&x, 8, 4, 4, &cfg).unwrap().with_scan(ScanMode::I8).unwrap();
    let raw = |f: u32| {
        let mut w = vector_codecs::format::Writer::new(0);
        w.u32(f);
        pq.persist(&mut w);
        let full = w.finish().unwrap();
        full[12..full.len() - 4].to_vec()
    };
    let t = dir.join("pq_params");
    std::fs::write(t.join("raw_rerank_r4"), raw(4)).unwrap();
    std::fs::write(t.join("raw_rerank_factor0"), raw(0)).unwrap();
    std::fs::write(t.join("raw_rerank_factor65"), raw(65)).unwrap();
}

/// A re-ranking codec seen only through `DynCodec`'s required methods: its many-query scans take
/// the trait's default `scan_layout_many` / `scan_layout_many_then` (one query per pass).
struct DefaultPaths(Box<dyn vector_codecs::dynamic::DynCodec>);

impl vector_codecs::dynamic::DynCodec for DefaultPaths {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn about(&self) -> &str {
        self.0.about()
    }
    fn metric(&self) -> Metric {
        self.0.metric()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn estimator(&self) -> vector_codecs::codec::Estimator {
        self.0.estimator()
    }
    fn rerank_factor(&self) -> usize {
        self.0.rerank_factor()
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> vector_codecs::Result<()> {
        self.0.encode_batch(xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> vector_codecs::Result<()> {
        self.0.decode_batch(codes, out)
    }
    fn layout_block(&self) -> (usize, usize) {
        self.0.layout_block()
    }
    fn to_layout(&self, codes: &[u8], out: &mut [u8]) -> vector_codecs::Result<()> {
        self.0.to_layout(codes, out)
    }
    fn query_scratch_len(&self) -> usize {
        self.0.query_scratch_len()
    }
    fn with_query(
        &self,
        q: &[f32],
        scratch: &mut [f32],
        f: &mut dyn FnMut(&dyn vector_codecs::dynamic::PreparedQuery) -> vector_codecs::Result<()>,
    ) -> vector_codecs::Result<()> {
        self.0.with_query(q, scratch, f)
    }
    fn save(&self) -> vector_codecs::Result<Vec<u8>> {
        self.0.save()
    }
}

/// The many-query re-ranked top-k (one preparation per query, candidate selectors reused across
/// groups of 8 queries and reset to each query's `k`) gives, bit for bit, the one-query re-ranked
/// top-k of every query, through the `Erased` kernel path and the trait's default path; with
/// `n = 0` every selector stays empty.
#[test]
fn many_query_rerank_reuses_one_preparation_and_its_selectors() {
    use vector_codecs::dynamic::{DynCodec, MANY_QUERIES};
    let train = data(600, 12);
    let n = 3000;
    let xs = data(n, 13);
    let nq = 19; // three groups: 8, 8, 3
    let queries = data(nq, 14);
    let rr = factory::build("PQ16x4fs-rr3", D, Metric::InnerProduct, 7, &train).unwrap();
    let mut codes = vec![0u8; n * rr.code_len()];
    rr.encode_batch(&xs, &mut codes).unwrap();
    let layout = rr.layout(&codes).unwrap();
    let ks: Vec<usize> = (0..nq).map(|i| [10, 1, 37, 5][i % 4]).collect();
    let mut scratch = vec![0f32; MANY_QUERIES * rr.query_scratch_len()];
    let mut want = Vec::new();
    for (q, &k) in queries.chunks_exact(D).zip(&ks) {
        let mut t = Box::new(TopK::<64>::new(k));
        rr.scan_layout_topk_into(q, &mut scratch[..rr.query_scratch_len()], &layout, n, &mut t).unwrap();
        want.push(t.entries().iter().map(|&(s, i)| (s.to_bits(), i)).collect::<std::collections::BTreeSet<_>>());
    }
    let default = DefaultPaths(factory::build("PQ16x4fs-rr3", D, Metric::InnerProduct, 7, &train).unwrap());
    for (label, codec) in [("erased", &*rr), ("default", &default as &dyn DynCodec)] {
        let mut tops: Vec<TopK<64>> = ks.iter().map(|&k| TopK::new(k)).collect();
        codec.scan_layout_topk_many_into(&queries, &mut scratch, &layout, n, &mut tops).unwrap();
        for (qi, t) in tops.iter().enumerate() {
            let got: std::collections::BTreeSet<_> = t.entries().iter().map(|&(s, i)| (s.to_bits(), i)).collect();
            assert_eq!(t.len(), ks[qi], "{label} q{qi}");
            assert_eq!(got, want[qi], "{label} q{qi}");
        }
        let mut empty: Vec<TopK<64>> = ks.iter().map(|&k| TopK::new(k)).collect();
        codec.scan_layout_topk_many_into(&queries, &mut scratch, &layout, 0, &mut empty).unwrap();
        assert!(empty.iter().all(|t| t.is_empty()), "{label}: n = 0");
        // `then` sees every query once, after its scores.
        let mut seen = vec![0usize; nq];
        let mut scored = vec![0usize; nq];
        codec
            .scan_layout_many_then(
                &queries,
                &mut scratch,
                &layout,
                n,
                &mut |qi, _, s| scored[qi] += s.len(),
                &mut |qi, _| {
                    seen[qi] += 1;
                    Ok(())
                },
            )
            .unwrap();
        assert!(seen.iter().all(|&c| c == 1), "{label}: {seen:?}");
        assert!(scored.iter().all(|&c| c == n), "{label}: {scored:?}");
    }
}

#[test]
fn topk_reset_is_a_fresh_selector() {
    let mut t = TopK::<8>::new(3);
    for (i, s) in [0.5f32, 2.0, -1.0, 7.0, 3.0].iter().enumerate() {
        t.push(*s, i as u32);
    }
    t.reset(5);
    assert!(t.is_empty());
    assert_eq!(t.k(), 5);
    assert_eq!(t.threshold(), f32::NEG_INFINITY);
    let mut fresh = TopK::<8>::new(5);
    for (i, s) in [1.0f32, 4.0, 4.0, -2.0, 0.0, 9.0].iter().enumerate() {
        t.push(*s, i as u32);
        fresh.push(*s, i as u32);
    }
    assert_eq!(t.entries(), fresh.entries());
    t.reset(100);
    assert_eq!(t.k(), 8);
}
