//! `Score::score_batch_strided`: a codec's code read in place inside wider codes (the scan of a
//! part of a composition). For leaves that read in place (`CodebookScalar`), the default gather
//! (a `FloatCodec`), and compositions that pass it on (`Normalized`, `Split`, `Centered`,
//! `Rotated`, `Scaled`, the PCA and split TurboQuant codecs): the same scores, bit for bit, as
//! `score_batch` on the contiguous codes and as `score` code by code; bad strides are `Err`.

use vector_codecs::compose::{Normalized, Split};
use vector_codecs::rng::Rng;
use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
use vector_codecs::turbo::{CodebookKind, CodebookScalar, RotationKind, turbo_mse_half, turbo_mse_ip};
use vector_codecs::{Codec, Error, Score};

fn gauss(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.gaussian() as f32).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Checks `c` on `n` vectors of `gauss` data: strided (several offsets and paddings) = batch =
/// one by one.
fn check<C: Codec + Score>(c: &C, n: usize, seed: u64) {
    let d = c.dim();
    let cl = c.code_len();
    let xs = gauss(n * d, seed);
    let mut codes = vec![0u8; n * cl];
    c.encode_batch(&xs, &mut codes).unwrap();
    let q = gauss(d, seed + 1);
    let mut scratch = c.scratch();
    let p = c.prepare(&q, &mut scratch).unwrap();
    let mut batch = vec![0f32; n];
    c.score_batch(&p, &codes, &mut batch).unwrap();
    let one: Vec<f32> = codes.chunks_exact(cl).map(|code| c.score(&p, code).unwrap()).collect();
    assert_eq!(bits(&batch), bits(&one), "batch vs one by one");
    let mut r = Rng::new(seed + 2);
    for (at, pad) in [(0usize, 0usize), (0, 5), (3, 0), (7, 9), (1, 200)] {
        let stride = at + cl + pad;
        let mut wide: Vec<u8> = (0..n * stride).map(|_| r.next_u32() as u8).collect();
        for (w, code) in wide.chunks_exact_mut(stride).zip(codes.chunks_exact(cl)) {
            w[at..at + cl].copy_from_slice(code);
        }
        let mut got = vec![0f32; n];
        c.score_batch_strided(&p, &wide, stride, at, &mut got).unwrap();
        assert_eq!(bits(&got), bits(&batch), "at {at} pad {pad}");
        // Wrong lengths and a sub-code that does not fit are errors.
        if n > 0 {
            assert!(matches!(
                c.score_batch_strided(&p, &wide[..wide.len() - 1], stride, at, &mut got),
                Err(Error::CodeLength { .. })
            ));
            assert!(matches!(
                c.score_batch_strided(&p, &wide, stride, stride - cl + 1, &mut got),
                Err(Error::CodeLength { .. })
            ));
        }
    }
}

#[test]
fn strided_scans_equal_the_contiguous_scan() {
    for (d, n) in [(8usize, 1usize), (37, 33), (128, 300), (384, 70)] {
        for b in [1u32, 2, 3, 4, 8] {
            let cb = vector_codecs::scalar::codebook::coordinate_codebook(d, b, CodebookKind::Beta).unwrap();
            let leaf = CodebookScalar::new(d, cb).unwrap();
            check(&leaf, n, 10 + u64::from(b));
            check(&Normalized::new(leaf.clone()), n, 20 + u64::from(b));
        }
        let f = FloatCodec::new(d, FloatFormat::Bf16).unwrap();
        check(&f, n, 30);
        let left = d / 3 + 1;
        let cb3 = vector_codecs::scalar::codebook::coordinate_codebook(d, 3, CodebookKind::Beta).unwrap();
        let cb1 = vector_codecs::scalar::codebook::coordinate_codebook(d, 1, CodebookKind::Beta).unwrap();
        let split = Split::new(
            CodebookScalar::new(left, cb3).unwrap(),
            Split::new(CodebookScalar::new(d - left - 1, cb1).unwrap(), FloatCodec::new(1, FloatFormat::F16).unwrap())
                .unwrap(),
        )
        .unwrap();
        check(&split, n, 40);
        check(&Normalized::new(split), n, 41);
        if d.is_power_of_two() || d % 64 == 0 {
            check(&turbo_mse_ip(d, 2, 5, RotationKind::Hadamard, CodebookKind::Beta).unwrap(), n, 50);
            check(&turbo_mse_half(d, 2, 5, RotationKind::Hadamard, CodebookKind::Beta).unwrap(), n, 51);
        }
        if d >= 32 && d % 8 == 0 {
            let train = gauss(400 * d, 60);
            check(&vector_codecs::turbo::pca::train_pca(&train, d, 2).unwrap(), n, 61);
        }
    }
}
