//! Regression tests of the hostile-input sweep: constructors and `from_bytes` refuse what would
//! allocate gigabytes, overflow, or decode to non-finite values (an `Err`, never a panic).
use vector_codecs::format::Writer;
use vector_codecs::{Codec, Decode, Error, Score};

#[test]
fn qjl_gaussian_binary_allocation_bounds() {
    use vector_codecs::binary::BinaryCodec;
    use vector_codecs::qjl::Qjl;
    use vector_codecs::transform::GaussianProjection;
    assert!(Qjl::new(4096, 65536, 1).is_err()); // 1 GiB
    assert!(GaussianProjection::new(1 << 14, 1 << 14, 1).is_err()); // 1 GiB once materialized
    assert!(GaussianProjection::new(1 << 12, 1 << 12, 1).is_ok());
    // 16 parameter bytes asking for a 64 MiB projection.
    use vector_codecs::format::Reader;
    use vector_codecs::persist::Persist;
    let raw = |dim: u32, m: u32| {
        let mut b = dim.to_le_bytes().to_vec();
        b.extend_from_slice(&m.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b
    };
    assert!(matches!(Qjl::restore(&mut Reader::new(&raw(1024, 16384))), Err(Error::Corrupt(_))));
    assert!(Qjl::restore(&mut Reader::new(&raw(1024, 4096))).is_ok());
    // A 23-byte binary container declaring d = 2^24.
    let mut w = Writer::new(vector_codecs::binary::KIND);
    w.u32(1 << 24).u8(1).u8(0).f32(1.0).u8(0);
    assert!(BinaryCodec::from_bytes(&w.finish().unwrap()).is_err());
    assert!(BinaryCodec::sign((1 << 16) + 1).is_err());
}

#[test]
fn constructors_refuse_dimensions_beyond_max_dim() {
    use vector_codecs::persist::MAX_DIM;
    use vector_codecs::scalar::codebook::CodebookScalar;
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    use vector_codecs::scalar::lloyd::{Codebook, LloydCodec};
    use vector_codecs::scalar::uniform::BlockUniform;
    use vector_codecs::turbo::norm_scalar;
    for dim in [MAX_DIM + 1, (1 << 61) + 1, usize::MAX / 2 + 1, usize::MAX] {
        assert!(BlockUniform::new(dim, 4, None, false).is_err(), "{dim}");
        assert!(BlockUniform::new(dim, 8, Some(32), true).is_err(), "{dim}");
        assert!(FloatCodec::new(dim, FloatFormat::F16).is_err(), "{dim}");
        assert!(FloatCodec::new(dim, FloatFormat::NvFp4).is_err(), "{dim}");
        assert!(LloydCodec::gaussian(dim, 4).is_err(), "{dim}");
        assert!(norm_scalar(dim, Codebook::gaussian(2).unwrap()).is_err(), "{dim}");
        assert!(CodebookScalar::new(dim, Codebook::gaussian(2).unwrap()).is_err(), "{dim}");
    }
    assert!(BlockUniform::new(MAX_DIM, 4, Some(32), false).is_ok());
    assert!(FloatCodec::new(MAX_DIM, FloatFormat::E4M3).is_ok());
}

#[cfg(feature = "std")]
#[test]
fn matrix_row_does_not_wrap() {
    let m = vector_codecs::io::Matrix { dim: 2, data: vec![1.0, 2.0, 3.0, 4.0] };
    assert_eq!(m.row(1), Some(&[3.0f32, 4.0][..]));
    assert_eq!(m.row(usize::MAX / 2 + 1), None);
    assert_eq!(m.row(usize::MAX), None);
}

#[test]
fn model_view_refuses_inconsistent_encoder_constants() {
    use vector_codecs::entropy::model::{EncSym, ModelView, fill_tables};
    let mut enc = [EncSym::default(); 3];
    let mut dec = [0u64; 4];
    fill_tables(&[2, 2], 2, &mut enc[..2], &mut dec).unwrap();
    assert!(ModelView::new(2, &enc[..2], &dec).is_ok());
    // A third symbol with a frequency above 2^n that no decode slot names.
    enc[2] = EncSym { freq: u32::MAX, cum: 4, ..EncSym::default() };
    assert!(ModelView::new(2, &enc, &dec).is_err());
    enc[2] = EncSym { freq: 5, cum: 0, ..EncSym::default() };
    assert!(ModelView::new(2, &enc, &dec).is_err());
    // Frequencies right, reciprocals wrong.
    let mut bad = enc;
    bad[1].rcp32 ^= 1;
    assert!(ModelView::new(2, &bad[..2], &dec).is_err());
    // Decode slots naming the right symbol with the wrong offset.
    let mut d2 = dec;
    d2.swap(0, 1);
    assert!(ModelView::new(2, &enc[..2], &d2).is_err());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn proj_signs_huge_stride_is_refused() {
    use vector_codecs::simd::proj_signs;
    let s = [1.0f32; 16];
    let xs = [1.0f32; 16];
    let mut codes = [0u8; 8];
    assert!(!proj_signs(&s, 8, &xs, &mut codes, usize::MAX));
    assert!(!proj_signs(&s, 8, &xs, &mut codes, usize::MAX / 2 + 1));
}

/// Decode and score of `code` must both be `Err`.
fn refused<C: Decode + Score>(c: &C, code: &[u8], what: &str) {
    let mut out = vec![0f32; c.dim()];
    assert!(c.decode_into(code, &mut out).is_err(), "decode {what}: {out:?}");
    let q = vec![0.5f32; c.dim()];
    let mut scratch = vec![0f32; c.query_scratch_len()];
    let p = c.prepare(&q, &mut scratch).unwrap();
    assert!(c.score(&p, code).is_err(), "score {what}");
}

/// Encode of `x` is `Err`, or its code decodes finite.
fn finite_or_refused<C: Decode>(c: &C, x: &[f32], what: &str) {
    let mut code = vec![0u8; c.code_len()];
    if c.encode_into(x, &mut code).is_ok() {
        let mut out = vec![0f32; c.dim()];
        c.decode_into(&code, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "{what}: {out:?}");
    }
}

#[test]
fn float_codes_with_nonfinite_parts_are_corrupt() {
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    let d = 32;
    let x: Vec<f32> = (0..d).map(|i| (i as f32 - 15.5) * 0.1).collect();
    for f in FloatFormat::ALL {
        let c = FloatCodec::new(d, f).unwrap();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let side = c.code_len()
            - match f {
                FloatFormat::F16 | FloatFormat::Bf16 => 2 * d,
                FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::MxFp8 => d,
                _ => d / 2,
            };
        let mut bad: Vec<Vec<u8>> = Vec::new();
        let mut with = |at: usize, bytes: &[u8]| {
            let mut b = code.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            bad.push(b);
        };
        match f {
            FloatFormat::F16 => {
                with(side + 6, &0x7C00u16.to_le_bytes());
                with(side, &0xFE00u16.to_le_bytes());
            }
            FloatFormat::Bf16 => {
                with(side + 6, &0x7F80u16.to_le_bytes());
                with(side, &0xFFC0u16.to_le_bytes());
            }
            FloatFormat::E4M3 | FloatFormat::E5M2 | FloatFormat::E2M1 | FloatFormat::NvFp4 => {
                with(0, &f32::MAX.to_le_bytes());
                with(0, &1e38f32.to_le_bytes());
                with(0, &f32::INFINITY.to_le_bytes());
                with(0, &f32::NAN.to_le_bytes());
                if f == FloatFormat::E4M3 {
                    with(side + 3, &[0x7F]);
                }
                if f == FloatFormat::E5M2 {
                    with(side + 3, &[0x7C]);
                    with(side + 3, &[0xFD]);
                }
            }
            FloatFormat::MxFp4 => {
                with(0, &[0xFF]);
                with(0, &[253]);
            }
            FloatFormat::MxFp8 => {
                with(0, &[0xFF]);
                with(0, &[247]);
                with(side + 3, &[0x7F]);
            }
        }
        for (i, b) in bad.iter().enumerate() {
            refused(&c, b, &format!("{f:?} case {i}"));
        }
        for big in [f32::MAX, -f32::MAX, 3e38, 1e38] {
            let mut y = x.clone();
            y[5] = big;
            finite_or_refused(&c, &y, &format!("{f:?} {big}"));
            finite_or_refused(&c, &vec![big; d], &format!("{f:?} all {big}"));
        }
    }
}

/// `code` with bytes `at..` replaced.
fn patched(code: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut b = code.to_vec();
    b[at..at + bytes.len()].copy_from_slice(bytes);
    b
}

fn encoded<C: Codec>(c: &C, x: &[f32]) -> Vec<u8> {
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(x, &mut code).unwrap();
    code
}

fn ramp(d: usize) -> Vec<f32> {
    (0..d).map(|i| (i as f32 - 15.5) * 0.1).collect()
}

#[test]
fn block_uniform_scales_and_levels_beyond_the_grid_are_corrupt() {
    use vector_codecs::Symbols;
    use vector_codecs::scalar::uniform::BlockUniform;
    let d = 32;
    let c = BlockUniform::new(d, 4, None, false).unwrap();
    let code = encoded(&c, &ramp(d));
    refused(&c, &patched(&code, 4, &1e38f32.to_le_bytes()), "huge step");
    refused(&c, &patched(&patched(&code, 0, &3e38f32.to_le_bytes()), 4, &1e37f32.to_le_bytes()), "base + top");
    // Symmetric 2-bit: levels 0..=2, alphabet 3; the packed code 3 is not a level.
    let s = BlockUniform::new(d, 2, Some(16), true).unwrap();
    assert_eq!(s.alphabet_size(), 3);
    let code = encoded(&s, &ramp(d));
    let bad = patched(&code, s.scale_len(), &[0xFF]);
    refused(&s, &bad, "symmetric level 3");
    let mut syms = vec![0u16; d];
    let mut side = vec![0u8; s.side_len()];
    assert!(s.split_symbols(&bad, &mut syms, &mut side).is_err());
    s.split_symbols(&code, &mut syms, &mut side).unwrap();
    assert!(syms.iter().all(|&v| v < 3));
    for bits in [4, 8] {
        let s = BlockUniform::new(d, bits, None, true).unwrap();
        let code = encoded(&s, &ramp(d));
        refused(&s, &patched(&code, s.scale_len() + 3, &[0xFF]), "symmetric top code");
    }
    for (bits, sym) in [(2, true), (4, false), (8, true), (1, false)] {
        let c = BlockUniform::new(d, bits, Some(16), sym).unwrap();
        for big in [f32::MAX, 3e38, 1.7e38] {
            let mut y = ramp(d);
            y[3] = big;
            y[20] = -big;
            finite_or_refused(&c, &y, &format!("uniform {bits} {sym} {big}"));
        }
    }
}

#[test]
fn lloyd_and_binary_huge_scales_are_corrupt() {
    use vector_codecs::binary::BinaryCodec;
    use vector_codecs::scalar::lloyd::LloydCodec;
    let d = 32;
    let l = LloydCodec::gaussian(d, 4).unwrap();
    let code = encoded(&l, &ramp(d));
    refused(&l, &patched(&code, 4, &2e38f32.to_le_bytes()), "lloyd sd");
    refused(&l, &patched(&patched(&code, 0, &f32::MAX.to_le_bytes()), 4, &1e37f32.to_le_bytes()), "lloyd mu + sd");
    for big in [f32::MAX, 3e38] {
        let mut y = ramp(d);
        y[0] = big;
        finite_or_refused(&l, &y, "lloyd");
    }
    let b = BinaryCodec::residual(d, 2).unwrap();
    let code = encoded(&b, &ramp(d));
    let at = b.code_len() - 8;
    refused(&b, &patched(&code, at, &[2e38f32.to_le_bytes(), 2e38f32.to_le_bytes()].concat()), "binary scales");
    refused(&b, &patched(&code, at, &f32::MAX.to_le_bytes()), "binary scale");
    for big in [f32::MAX, 3e38] {
        let mut y = ramp(d);
        y[0] = big;
        y[1] = -big;
        finite_or_refused(&b, &y, "binary");
    }
}

#[test]
fn rabitq_factors_bounded_and_decode_agrees_with_score() {
    use vector_codecs::rabitq::RaBitQ;
    use vector_codecs::transform::RandomizedHadamard;
    let d = 64;
    for bits in [1u8, 3] {
        let c = RaBitQ::new(RandomizedHadamard::new(d, 1).unwrap(), bits).unwrap();
        let code = encoded(&c, &ramp(d));
        let at = c.code_len() - 8;
        refused(&c, &patched(&code, at, &1e38f32.to_le_bytes()), "huge r");
        refused(&c, &patched(&code, at, &f32::MAX.to_le_bytes()), "max r");
        for w in [1e-30f32, 1e-3, 2.0e3, f32::MAX, -1.0, 0.0] {
            let bad = patched(&code, at + 4, &w.to_le_bytes());
            let mut out = vec![0f32; d];
            let dec = c.decode_into(&bad, &mut out).is_ok();
            let q = vec![0.5f32; d];
            let mut scratch = vec![0f32; c.query_scratch_len()];
            let p = c.prepare(&q, &mut scratch).unwrap();
            let sc = c.score(&p, &bad);
            assert_eq!(dec, sc.is_ok(), "bits {bits} w {w}");
            if dec {
                assert!(out.iter().all(|v| v.is_finite()) && sc.unwrap().is_finite());
            }
        }
        let mut spike = vec![0f32; d];
        spike[7] = 3e38;
        finite_or_refused(&c, &spike, "rabitq spike");
        spike[7] = f32::MAX;
        finite_or_refused(&c, &spike, "rabitq spike");
    }
}

#[test]
fn compositions_never_decode_nonfinite() {
    use vector_codecs::compose::{Centered, IpNormalized, Normalized, Scaled, Split};
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    use vector_codecs::scalar::uniform::BlockUniform;
    let d = 32;
    let n = Normalized::new(BlockUniform::new(d, 4, None, false).unwrap());
    let code = encoded(&n, &ramp(d));
    // A legal inner grid far from unit norm, times a legal norm.
    let inner = patched(&patched(&code, 0, &1e30f32.to_le_bytes()), 4, &0f32.to_le_bytes());
    let big = patched(&inner, n.code_len() - 4, &vector_codecs::MAX_NORM.to_le_bytes());
    refused(&n, &big, "normalized");
    let ip = IpNormalized::new(BlockUniform::new(d, 4, None, false).unwrap());
    refused(&ip, &big, "ip-normalized");
    let s = Split::new(BlockUniform::new(16, 4, None, false).unwrap(), BlockUniform::new(16, 4, None, false).unwrap())
        .unwrap();
    let code = encoded(&s, &ramp(d));
    let half = s.code_len() / 2;
    let bad = patched(&patched(&code, 0, &3e38f32.to_le_bytes()), half, &3e38f32.to_le_bytes());
    let mut out = vec![0f32; d];
    if s.decode_into(&bad, &mut out).is_ok() {
        assert!(out.iter().all(|v| v.is_finite()));
    }
    let c = Centered::new(FloatCodec::new(d, FloatFormat::Bf16).unwrap(), vec![-1e38f32; d]).unwrap();
    let mut y = ramp(d);
    y[0] = 3.3e38;
    let mut code = vec![0u8; c.code_len()];
    if c.encode_into(&y, &mut code).is_ok() {
        let r = c.decode_into(&code, &mut out);
        assert!(r.is_err() || out.iter().all(|v| v.is_finite()));
    }
    let sc = Scaled::new(FloatCodec::new(d, FloatFormat::Bf16).unwrap(), vec![0.5f32; d]).unwrap();
    let mut code = vec![0u8; sc.code_len()];
    let mut y = ramp(d);
    y[0] = f32::MAX;
    if sc.encode_into(&y, &mut code).is_ok() {
        let r = sc.decode_into(&code, &mut out);
        assert!(r.is_err() || out.iter().all(|v| v.is_finite()));
    }
}
