//! `pq::PqView` (a product quantizer read in place from its saved bytes, no allocator) against
//! the owned `ProductQuantizer`: the same codes, reconstructions and float-ADC scores bit for bit
//! over widths 1–16, both metrics and awkward shapes; the same accept/refuse decision on
//! truncated and corrupted containers; the same range check at `prepare`.
//!
//! Synthetic data only: this test also runs with `--no-default-features --features alloc`.

mod common;

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::pq::{PqMetric, PqView, ProductQuantizer};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error, Score};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn random_pq(dim: usize, m: usize, nbits: u32, metric: PqMetric, seed: u64) -> ProductQuantizer {
    let c = common::gauss((1usize << nbits) * dim, seed, 1.0);
    ProductQuantizer::new(dim, m, nbits, c, metric).unwrap()
}

#[test]
fn view_codes_decodes_and_scores_equal_the_owned_quantizer() {
    let shapes = [
        (1usize, 1usize, 1u32),
        (6, 3, 2),
        (12, 4, 3),
        (16, 8, 4),
        (15, 5, 5),
        (24, 3, 8),
        (10, 10, 4),
        (8, 2, 12),
        (4, 2, 16),
    ];
    for (si, &(dim, m, nbits)) in shapes.iter().enumerate() {
        for metric in [PqMetric::InnerProduct, PqMetric::L2] {
            let pq = random_pq(dim, m, nbits, metric, 10 + si as u64);
            let bytes = pq.to_bytes().unwrap();
            let v = PqView::from_bytes(&bytes).unwrap();
            assert_eq!((v.dim(), v.code_len(), v.m(), v.nbits(), v.metric()), (dim, pq.code_len(), m, nbits, metric));
            assert_eq!(v.estimator(), pq.estimator());
            let n = 37;
            let xs = common::gauss(n * dim, 100 + si as u64, 1.3);
            let mut owned = vec![0u8; n * pq.code_len()];
            pq.encode_batch(&xs, &mut owned).unwrap();
            let mut mine = vec![0u8; n * pq.code_len()];
            for (x, c) in xs.chunks_exact(dim).zip(mine.chunks_exact_mut(pq.code_len())) {
                v.encode_into(x, c).unwrap();
            }
            assert_eq!(owned, mine, "codes, shape {:?} {metric:?}", (dim, m, nbits));
            let (mut da, mut db) = (vec![0f32; n * dim], vec![0f32; n * dim]);
            pq.decode_batch(&owned, &mut da).unwrap();
            v.decode_batch(&owned, &mut db).unwrap();
            assert_eq!(bits(&da), bits(&db));
            let mut fast = None;
            if nbits == 4 {
                fast = Some(pq.clone().with_scan(ScanMode::I8).unwrap());
            }
            for q in common::gauss(3 * dim, 200 + si as u64, 0.8).chunks_exact(dim) {
                let (mut sa, mut sb) = (pq.scratch(), v.scratch());
                let (qa, qb) = (pq.prepare(q, &mut sa).unwrap(), v.prepare(q, &mut sb).unwrap());
                let (mut oa, mut ob) = (vec![0f32; n], vec![0f32; n]);
                pq.score_batch(&qa, &owned, &mut oa).unwrap();
                v.score_batch(&qb, &owned, &mut ob).unwrap();
                assert_eq!(bits(&oa), bits(&ob), "scores, shape {:?} {metric:?}", (dim, m, nbits));
                if let Some(f) = &fast {
                    // Saved in fast-scan mode, the view scores the exact float table.
                    let fb = f.to_bytes().unwrap();
                    let fv = PqView::from_bytes(&fb).unwrap();
                    let mut sf = f.scratch();
                    let qf = f.prepare(q, &mut sf).unwrap();
                    let mut sv = fv.scratch();
                    let qv = fv.prepare(q, &mut sv).unwrap();
                    for c in owned.chunks_exact(pq.code_len()) {
                        assert_eq!(f.score_exact(&qf, c).unwrap().to_bits(), fv.score(&qv, c).unwrap().to_bits());
                    }
                }
            }
        }
    }
}

/// Rewrites the checksum of a container whose length field still fits.
fn reseal(b: &mut [u8]) {
    let len = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
    if let Some(end) = len.checked_add(12).filter(|e| e + 4 <= b.len()) {
        let sum = vector_codecs::format::fnv1a32(&b[..end]);
        b[end..end + 4].copy_from_slice(&sum.to_le_bytes());
    }
}

#[test]
fn view_refuses_exactly_what_the_owned_loader_refuses() {
    let pq = random_pq(12, 4, 3, PqMetric::L2, 7);
    let good = pq.to_bytes().unwrap();
    for cut in 0..good.len() {
        assert!(PqView::from_bytes(&good[..cut]).is_err());
        assert!(ProductQuantizer::from_bytes(&good[..cut]).is_err());
    }
    let mut rng = Rng::new(3);
    for round in 0..3000 {
        let mut b = good.clone();
        for _ in 0..1 + round % 3 {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        // The checksum guards the payload; re-seal some mutations so the parser sees them.
        if round % 2 == 0 {
            reseal(&mut b);
        }
        let owned = ProductQuantizer::from_bytes(&b);
        let view = PqView::from_bytes(&b);
        assert_eq!(owned.is_ok(), view.is_ok(), "round {round}: {owned:?} vs {view:?}");
        if let (Ok(o), Ok(v)) = (owned, view) {
            let x = common::gauss(12, round as u64, 1.0);
            let (mut ca, mut cb) = (vec![0u8; o.code_len()], vec![0u8; v.code_len()]);
            assert_eq!(o.encode_into(&x, &mut ca).is_ok(), v.encode_into(&x, &mut cb).is_ok());
            assert_eq!(ca, cb);
        }
    }
}

#[test]
fn view_bad_input_is_an_error() {
    let pq = random_pq(8, 2, 4, PqMetric::InnerProduct, 9);
    let bytes = pq.to_bytes().unwrap();
    let v = PqView::from_bytes(&bytes).unwrap();
    let mut code = vec![0u8; v.code_len()];
    assert!(matches!(v.encode_into(&[0.0; 7], &mut code), Err(Error::DimensionMismatch { .. })));
    assert!(matches!(v.encode_into(&[f32::NAN; 8], &mut code), Err(Error::NonFinite)));
    assert!(matches!(v.encode_into(&[0.0; 8], &mut code[..0]), Err(Error::CodeLength { .. })));
    let mut out = [0f32; 8];
    assert!(v.decode_into(&code[..0], &mut out).is_err());
    let mut small = vec![0f32; v.query_scratch_len() - 1];
    assert!(matches!(v.prepare(&[0.0; 8], &mut small), Err(Error::BufferTooSmall { .. })));
    let mut s = v.scratch();
    assert!(matches!(v.prepare(&[f32::INFINITY; 8], &mut s), Err(Error::NonFinite)));
    // Centroids near f32::MAX: the table's sums could leave the f32 range.
    let big = ProductQuantizer::new(2, 2, 1, vec![3e38; 4], PqMetric::InnerProduct).unwrap();
    let bb = big.to_bytes().unwrap();
    let bv = PqView::from_bytes(&bb).unwrap();
    let (mut s1, mut s2) = (big.scratch(), bv.scratch());
    assert!(matches!(big.prepare(&[1.0, 1.0], &mut s1), Err(Error::NonFinite)));
    assert!(matches!(bv.prepare(&[1.0, 1.0], &mut s2), Err(Error::NonFinite)));
}
