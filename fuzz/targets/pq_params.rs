//! Fuzz body: arbitrary bytes as a saved product quantizer (`ProductQuantizer::from_bytes`, and
//! `Persist::restore` on the raw bytes so that mutations reach the field checks without a valid
//! checksum), as a re-ranked quantizer block (`Rerank::<ProductQuantizer>::restore`, then a
//! re-ranked top-k), as the no-heap view of the same bytes (`PqView::view_in` / `from_bytes`,
//! which must accept exactly what the owned loader accepts and give the same codes,
//! reconstructions and float-ADC scores bit for bit) and as an OPQ rotation block
//! (`Rotation::restore`). Parsing must return `Err` or a value that encodes, decodes and scores
//! without panicking, with finite results.

use vector_codecs::codec::{ScanMode, ScanModes};
use vector_codecs::format::Reader;
use vector_codecs::persist::Persist;
use vector_codecs::pq::opq::Rotation;
use vector_codecs::pq::{PqView, ProductQuantizer};
use vector_codecs::rerank::{self, Rerank};
use vector_codecs::topk::TopK;
use vector_codecs::transform::Transform;
use vector_codecs::{Codec, Decode, Score, ScoreSymmetric};

pub fn run(data: &[u8]) {
    let raw = ProductQuantizer::restore(&mut Reader::new(data)).ok();
    let boxed = ProductQuantizer::from_bytes(data).ok();
    let raw_view = PqView::view_in(&mut Reader::new(data)).ok();
    let boxed_view = PqView::from_bytes(data).ok();
    assert_eq!(raw.is_some(), raw_view.is_some());
    assert_eq!(boxed.is_some(), boxed_view.is_some());
    for (pq, v) in raw.iter().zip(&raw_view).chain(boxed.iter().zip(&boxed_view)) {
        same_as_view(pq, v);
    }
    for pq in raw.into_iter().chain(boxed) {
        // Bounded by the input: the centroids alone are 4·2^nbits·d bytes of it.
        let d = pq.dim();
        let x: Vec<f32> = (0..d).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
        let mut code = vec![0u8; pq.code_len()];
        pq.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; d];
        pq.decode_into(&code, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        let mut scratch = pq.scratch();
        // A query whose tables leave the f32 range (hostile centroids) is refused.
        let q = match pq.prepare(&x, &mut scratch) {
            Ok(q) => q,
            Err(vector_codecs::Error::NonFinite) => continue,
            Err(e) => panic!("prepare: {e}"),
        };
        let s = pq.score(&q, &code).unwrap();
        let mut b = [0f32; 1];
        pq.score_batch(&q, &code, &mut b).unwrap();
        assert_eq!(s.to_bits(), b[0].to_bits());
        assert!(s.is_finite(), "score {s}");
        let _ = pq.score_codes(&code, &code).unwrap();
        assert_eq!(ProductQuantizer::from_bytes(&pq.to_bytes().unwrap()).unwrap(), pq);
    }
    if let Ok(rr) = Rerank::<ProductQuantizer>::restore(&mut Reader::new(data)) {
        assert!((1..=rerank::MAX_FACTOR).contains(&rr.factor()));
        let d = rr.dim();
        let xs: Vec<f32> = (0..3 * d).map(|i| ((i * 11) % 9) as f32 - 4.0).collect();
        let mut codes = vec![0u8; 3 * rr.code_len()];
        rr.encode_batch(&xs, &mut codes).unwrap();
        let (vectors, bytes) = rr.layout_block();
        let mut layout = vec![0u8; 3usize.div_ceil(vectors) * bytes];
        rr.to_layout(&codes, &mut layout).unwrap();
        let mut scratch = rr.scratch();
        let q = match rr.prepare(&xs[..d], &mut scratch) {
            Ok(q) => q,
            Err(vector_codecs::Error::NonFinite) => return,
            Err(e) => panic!("prepare: {e}"),
        };
        let mut top = TopK::<4>::new(2);
        rerank::scan_layout_topk(&rr, &q, &layout, 3, rr.factor(), &mut top).unwrap();
        assert_eq!(top.len(), 2);
        for i in 0..3 {
            let e = rr.score_exact_layout(&q, &layout, i).unwrap();
            assert!(e.is_finite());
            assert_eq!(
                e.to_bits(),
                rr.score_exact(&q, &codes[i * rr.code_len()..][..rr.code_len()]).unwrap().to_bits()
            );
        }
    }
    let mut r = Reader::new(data);
    if let Ok(rot) = Rotation::restore(&mut r) {
        let x = vec![1.0f32; rot.dim_in()];
        let mut y = vec![0f32; rot.dim_out()];
        rot.forward(&x, &mut y).unwrap();
        let mut z = vec![0f32; rot.dim_in()];
        rot.transpose(&y, &mut z).unwrap();
        assert!(y.iter().chain(&z).all(|v| v.is_finite()));
    }
}

/// The view of a quantizer's bytes encodes, decodes and scores (float ADC) as the quantizer.
fn same_as_view(pq: &ProductQuantizer, v: &PqView<'_>) {
    assert_eq!((pq.dim(), pq.code_len()), (v.dim(), v.code_len()));
    let d = pq.dim();
    let x: Vec<f32> = (0..d).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
    let (mut a, mut b) = (vec![0u8; pq.code_len()], vec![0u8; v.code_len()]);
    pq.encode_into(&x, &mut a).unwrap();
    v.encode_into(&x, &mut b).unwrap();
    assert_eq!(a, b);
    let (mut ya, mut yb) = (vec![0f32; d], vec![0f32; d]);
    pq.decode_into(&a, &mut ya).unwrap();
    v.decode_into(&a, &mut yb).unwrap();
    assert!(ya.iter().zip(&yb).all(|(p, q)| p.to_bits() == q.to_bits()));
    let (mut sa, mut sb) = (pq.scratch(), v.scratch());
    match (pq.prepare(&x, &mut sa), v.prepare(&x, &mut sb)) {
        (Ok(qa), Ok(qb)) => {
            let (ea, eb) = (pq.score_exact(&qa, &a).unwrap(), v.score(&qb, &a).unwrap());
            assert_eq!(ea.to_bits(), eb.to_bits());
        }
        (Err(ea), Err(eb)) => assert_eq!(ea, eb),
        // The fast-scan mode also refuses tables whose quantized estimates leave the f32 range;
        // the view scores the float table only.
        (Err(vector_codecs::Error::NonFinite), Ok(_)) if pq.scan_mode() == ScanMode::I8 => {}
        (ra, rb) => panic!("prepare: {:?} vs {:?}", ra.map(|_| ()), rb.map(|_| ())),
    }
}
