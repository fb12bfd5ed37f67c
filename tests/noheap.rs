//! No-heap loading (issue 15 part 1): every borrowed loader (`restore_in`, `from_bytes_in`,
//! `ModelView::decoder_from_bytes_in`, `persist::open_saved`) gives the same codec as the owned
//! `alloc` path (same codes, decodes and scores, bit for bit), returns the same `Err` for corrupt
//! bytes, and works with exactly the storage its `storage_len` reports.

use vector_codecs::binary::{BinaryCodec, BinaryConfig, CenteredBinary, ScaleFormat};
use vector_codecs::compose::Centered;
use vector_codecs::entropy::model::{Model, ModelView};
use vector_codecs::entropy::word::Lanes;
use vector_codecs::entropy::{rans, word};
use vector_codecs::format::{Reader, fnv1a32};
use vector_codecs::metric::Metric;
use vector_codecs::persist::{Persist, open_saved};
use vector_codecs::scalar::uniform::{PerDim, PerDimUniform, RangeEstimator};
use vector_codecs::{Codec, Decode, Error, ScanMode, ScanModes, Score, factory};

fn data(n: usize, d: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n * d)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 20_001) as f32 / 10_000.0 - 1.0 + ((s >> 7) % 3) as f32 * 0.1
        })
        .collect()
}

/// Recomputes the container checksum after a payload edit (so that field validation is reached).
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let sum = fnv1a32(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
}

/// Every single-byte edit of the payload (resealed) and every payload truncation (length field
/// and checksum fixed up), for comparing two loaders' results.
fn corruptions(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 12..bytes.len() - 4 {
        for v in [0u8, 1, 2, 0x7F, 0x80, 0xFF, bytes[i] ^ 1, bytes[i] ^ 0x40] {
            let mut b = bytes.to_vec();
            b[i] = v;
            reseal(&mut b);
            out.push(b);
        }
    }
    let payload = bytes.len() - 16;
    for cut in 0..payload {
        let mut b = bytes[..12 + cut].to_vec();
        b[8..12].copy_from_slice(&(cut as u32).to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        reseal(&mut b);
        out.push(b);
    }
    out
}

fn scores<C: Score>(c: &C, q: &[f32], codes: &[u8]) -> Vec<u32> {
    let mut scratch = vec![0f32; c.query_scratch_len()];
    let p = c.prepare(q, &mut scratch).unwrap();
    codes.chunks_exact(c.code_len()).map(|code| c.score(&p, code).unwrap().to_bits()).collect()
}

fn decodes<C: Decode>(c: &C, codes: &[u8]) -> Vec<u32> {
    let mut out = vec![0f32; c.dim()];
    let mut all = Vec::new();
    for code in codes.chunks_exact(c.code_len()) {
        c.decode_into(code, &mut out).unwrap();
        all.extend(out.iter().map(|v| v.to_bits()));
    }
    all
}

fn encode<C: Codec>(c: &C, x: &[f32]) -> Vec<u8> {
    let mut codes = vec![0u8; x.len() / c.dim() * c.code_len()];
    c.encode_batch(x, &mut codes).unwrap();
    codes
}

#[test]
fn per_dim_uniform_borrowed_equals_owned() {
    let d = 37;
    let x = data(50, d, 1);
    for (bits, scan) in [(8, ScanMode::Float), (8, ScanMode::I8), (4, ScanMode::I16), (3, ScanMode::Float)] {
        let owned = PerDim::train(&x, d, bits, RangeEstimator::MinMax, bits == 3).unwrap().with_scan(scan).unwrap();
        let bytes = owned.to_bytes().unwrap();
        let r = vector_codecs::format::open(&bytes, vector_codecs::scalar::uniform::KIND_PER_DIM).unwrap();
        let need = PerDimUniform::<&[f32]>::storage_len(&r).unwrap();
        assert_eq!(need, 2 * d);
        // Exactly the storage it says (and one less is BufferTooSmall).
        let mut storage = vec![0f32; need];
        let b = PerDimUniform::from_bytes_in(&bytes, &mut storage).unwrap();
        assert_eq!(b.scan_mode(), scan);
        let codes = encode(&owned, &x);
        assert_eq!(encode(&b, &x), codes);
        assert_eq!(decodes(&b, &codes), decodes(&owned, &codes));
        assert_eq!(scores(&b, &x[..d], &codes), scores(&owned, &x[..d], &codes));
        let mut short = vec![0f32; need - 1];
        assert!(matches!(PerDimUniform::from_bytes_in(&bytes, &mut short), Err(Error::BufferTooSmall { .. })));
        for c in corruptions(&bytes) {
            let mut big = vec![0f32; 4 * d + 8];
            let o = PerDim::from_bytes(&c).map(|v| (v.base().to_vec(), v.step().to_vec(), v.scan_mode()));
            let n = PerDimUniform::from_bytes_in(&c, &mut big)
                .map(|v| (v.base().to_vec(), v.step().to_vec(), v.scan_mode()));
            assert_eq!(o, n);
        }
    }
}

#[test]
fn binary_borrowed_equals_owned() {
    let d = 45;
    let x = data(40, d, 2);
    // Uncentred parameters hold no array: `from_bytes` itself allocates nothing.
    let plain = BinaryCodec::train(&x, d, &BinaryConfig { stages: 1, centred: false, scales: ScaleFormat::Shared })
        .unwrap()
        .with_scan(ScanMode::Bitsliced)
        .unwrap();
    assert_eq!(BinaryCodec::from_bytes(&plain.to_bytes().unwrap()).unwrap(), plain);
    // Centred: `Centered`'s no-heap loader over caller storage.
    for (stages, scales, scan) in [(1, ScaleFormat::Shared, ScanMode::Float), (3, ScaleFormat::F32, ScanMode::Float)] {
        let owned = BinaryCodec::train_centred(&x, d, &BinaryConfig { stages, centred: true, scales })
            .unwrap()
            .with_scan(scan)
            .unwrap();
        let bytes = owned.to_bytes().unwrap();
        let r = vector_codecs::format::open(&bytes, vector_codecs::binary::CENTRED_KIND).unwrap();
        let need = CenteredBinary::<&[f32]>::storage_len(&r).unwrap();
        assert_eq!(need, d);
        let mut storage = vec![0f32; need];
        let b = CenteredBinary::from_bytes_in(&bytes, &mut storage).unwrap();
        assert_eq!(b, owned.view());
        let codes = encode(&owned, &x);
        assert_eq!(encode(&b, &x), codes);
        assert_eq!(decodes(&b, &codes), decodes(&owned, &codes));
        assert_eq!(scores(&b, &x[..d], &codes), scores(&owned, &x[..d], &codes));
        let mut short = vec![0f32; need - 1];
        assert!(matches!(CenteredBinary::from_bytes_in(&bytes, &mut short), Err(Error::BufferTooSmall { .. })));
        for c in corruptions(&bytes) {
            let mut big = vec![0f32; d + 8];
            let o = CenteredBinary::from_bytes(&c).map(|v| (v.inner, v.mean().to_vec()));
            let n = CenteredBinary::from_bytes_in(&c, &mut big).map(|v| (v.inner, v.mean().to_vec()));
            assert_eq!(o, n);
        }
    }
}

#[test]
fn saved_codecs_load_without_heap() {
    let d = 48;
    let x = data(60, d, 3);
    // sq8 (inner product: the parameters are the codec's fields) and L2 (metric tag first).
    for metric in [Metric::InnerProduct, Metric::L2] {
        let saved = factory::build("sq8", d, metric, 5, &x).unwrap().save().unwrap();
        let mut s = open_saved(&saved).unwrap();
        assert_eq!((s.name, s.dim, s.metric, s.seed), ("sq8", d, metric, 5));
        if metric != Metric::InnerProduct {
            assert_eq!(Metric::restore(&mut s.params).unwrap(), metric);
        }
        let mut storage = vec![0f32; PerDimUniform::<&[f32]>::storage_len(&s.params).unwrap()];
        let b = PerDimUniform::restore_in(&mut s.params, &mut storage).unwrap();
        s.params.finish().unwrap();
        let owned = PerDim::train(&x, d, 8, RangeEstimator::MinMax, false).unwrap();
        assert_eq!(b.base(), owned.base());
        assert_eq!(b.step(), owned.step());
    }
    // bin1-centred.
    let saved = factory::build("bin1-centred", d, Metric::InnerProduct, 5, &x).unwrap().save().unwrap();
    let mut s = open_saved(&saved).unwrap();
    let mut storage = vec![0f32; CenteredBinary::<&[f32]>::storage_len(&s.params).unwrap()];
    let b = CenteredBinary::restore_in(&mut s.params, &mut storage).unwrap();
    s.params.finish().unwrap();
    let owned =
        BinaryCodec::train_centred(&x, d, &BinaryConfig { stages: 1, centred: true, scales: ScaleFormat::Shared })
            .unwrap();
    assert_eq!(b, owned.view());
    // The header parser reports the same errors as factory::load on broken containers.
    for cut in [0, 5, 12, saved.len() - 1] {
        assert_eq!(open_saved(&saved[..cut]).err(), factory::load(&saved[..cut]).err());
    }
}

#[test]
fn turbo_loads_without_heap() {
    use vector_codecs::scalar::codebook::coordinate_codebook;
    use vector_codecs::turbo::{CodebookKind, Rotation, RotationKind, TurboMse};
    let d = 64;
    let x = data(30, d, 4);
    // The factory's tq4 (Beta codebook, re-derived on restore: the derivation needs `alloc`).
    let saved = factory::build("tq4", d, Metric::InnerProduct, 9, &[]).unwrap().save().unwrap();
    let mut s = open_saved(&saved).unwrap();
    let derived = TurboMse::restore(&mut s.params).unwrap();
    s.params.finish().unwrap();
    // The same codec with its levels stored (codebook tag 0): loads with no allocator at all.
    let cb = coordinate_codebook(d, 4, CodebookKind::Beta).unwrap();
    let stored = TurboMse::new(
        Rotation::new(RotationKind::Hadamard, d, 9).unwrap(),
        vector_codecs::turbo::norm_scalar(d, cb).unwrap(),
    )
    .unwrap();
    let mut w = vector_codecs::format::Writer::new(0x05FF);
    stored.persist(&mut w);
    let bytes = w.finish().unwrap();
    let mut r = vector_codecs::format::open(&bytes, 0x05FF).unwrap();
    let loaded = TurboMse::restore(&mut r).unwrap();
    r.finish().unwrap();
    let codes = encode(&derived, &x);
    assert_eq!(encode(&loaded, &x), codes);
    assert_eq!(decodes(&loaded, &codes), decodes(&derived, &codes));
    assert_eq!(scores(&loaded, &x[..d], &codes), scores(&derived, &x[..d], &codes));
}

#[test]
fn model_compact_decoder_equals_owned() {
    let mut syms = Vec::new();
    let mut s = 7u32;
    for _ in 0..3001 {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let v = (s >> 16) % 97;
        syms.push(((v * v) / 97) as u16);
    }
    for (k, n) in [(97usize, 12u32), (97, 15), (97, 16), (2, 1)] {
        let syms: Vec<u16> = syms.iter().map(|&v| v % k as u16).collect();
        let model = Model::from_symbols(&syms, k, n).unwrap();
        let bytes = model.to_bytes().unwrap();
        let r = vector_codecs::format::open(&bytes, vector_codecs::entropy::model::KIND_STATIC_MODEL).unwrap();
        let need = ModelView::decoder_storage_len(&r).unwrap();
        assert_eq!((need.freqs, need.slots), (k, 1 << n));
        let (mut f, mut t) = (vec![0u32; need.freqs], vec![0u32; need.slots]);
        let v = ModelView::decoder_from_bytes_in(&bytes, &mut f, &mut t).unwrap();
        assert!(v.is_compact());
        assert_eq!(v.alphabet_size(), k);
        assert!(v.sym(0).is_err(), "a decode-only view cannot encode");
        for s in 0..k {
            assert_eq!(v.freq(s), model.view().freq(s));
        }
        let mv = model.view();
        let mut out = vec![0u16; syms.len()];
        let e = rans::rans32::encode_vec(&[mv], &syms).unwrap();
        rans::rans32::decode(&v, &e, &mut out).unwrap();
        assert_eq!(out, syms);
        let e = rans::rans64::encode_vec(&[mv], &syms).unwrap();
        rans::rans64::decode(&v, &e, &mut out).unwrap();
        assert_eq!(out, syms);
        for lanes in [Lanes::L4, Lanes::L8, Lanes::L32] {
            if n <= 15 {
                let e = word::encode_vec(&[mv], lanes, &syms).unwrap();
                word::decode(&v, lanes, &e, &mut out).unwrap();
                assert_eq!(out, syms);
                word::decode_multi(&[v, v], lanes, &e, &mut out).unwrap();
                assert_eq!(out, syms);
                // Corrupt streams: the same error from both tables.
                for i in (0..e.len()).step_by(7) {
                    let mut b = e.clone();
                    b[i] ^= 0x5A;
                    let mut o1 = vec![0u16; syms.len()];
                    let mut o2 = vec![0u16; syms.len()];
                    let r1 = word::decode(&mv, lanes, &b, &mut o1);
                    let r2 = word::decode(&v, lanes, &b, &mut o2);
                    assert_eq!(r1, r2);
                    if r1.is_ok() {
                        assert_eq!(o1, o2);
                    }
                }
            }
        }
        let (mut f1, mut t1) = (vec![0u32; k - 1], vec![0u32; 1 << n]);
        assert!(matches!(
            ModelView::decoder_from_bytes_in(&bytes, &mut f1, &mut t1),
            Err(Error::BufferTooSmall { .. })
        ));
        for c in corruptions(&bytes) {
            let (mut f, mut t) = (vec![0u32; 1 << 16], vec![0u32; 1 << 16]);
            let o = Model::from_bytes(&c).map(|m| (m.scale_bits(), m.freqs().to_vec()));
            let b = ModelView::decoder_from_bytes_in(&c, &mut f, &mut t)
                .map(|v| (v.scale_bits(), (0..v.alphabet_size()).map(|s| v.freq(s)).collect::<Vec<_>>()));
            assert_eq!(o, b);
        }
    }
}

#[test]
fn compact_decoder_view_is_validated() {
    let freqs = [3u32, 1, 4];
    let mut t = [0u32; 8];
    vector_codecs::entropy::model::fill_compact_table(&freqs, 3, &mut t).unwrap();
    assert!(ModelView::decoder(3, &freqs, &t).is_ok());
    let mut bad = t;
    bad[2] ^= 1 << 16;
    assert!(ModelView::decoder(3, &freqs, &bad).is_err());
    assert!(ModelView::decoder(3, &[3, 1, 3], &t).is_err());
    assert!(ModelView::decoder(2, &freqs, &t).is_err());
    let _ = Reader::new(&[]);
}

#[test]
fn binary_float_layouts_score_identically_with_exact_scratch() {
    use vector_codecs::binary::FloatLayout;
    for d in [1usize, 7, 8, 9, 31, 45, 100, 768] {
        let x = data(12, d, d as u32);
        for (stages, centred, scales) in
            [(1, false, ScaleFormat::Shared), (1, true, ScaleFormat::Shared), (3, true, ScaleFormat::F32)]
        {
            // Uncentred codecs centred on 0 (an exact `+ 0`): one type for both.
            let c = if centred {
                BinaryCodec::train_centred(&x, d, &BinaryConfig { stages, centred, scales }).unwrap()
            } else {
                let c = BinaryCodec::train(&x, d, &BinaryConfig { stages, centred, scales }).unwrap();
                Centered::new(c, vec![0.0; d]).unwrap()
            };
            let codes = encode(&c, &x);
            let mut want: Option<Vec<u32>> = None;
            for layout in [FloatLayout::Byte, FloatLayout::Nibble, FloatLayout::Direct] {
                let cl = c.view().with_float_layout(layout);
                assert_eq!(cl.inner.float_layout(), layout);
                let need = cl.query_scratch_len();
                assert_eq!(need, layout.words(d.div_ceil(8)));
                // Exactly the scratch it reports suffices; one word less is refused.
                let mut scratch = vec![0f32; need];
                let p = cl.prepare(&x[..d], &mut scratch).unwrap();
                let got: Vec<u32> =
                    codes.chunks_exact(c.code_len()).map(|k| cl.score(&p, k).unwrap().to_bits()).collect();
                let mut short = vec![0f32; need - 1];
                assert!(matches!(cl.prepare(&x[..d], &mut short), Err(Error::BufferTooSmall { .. })));
                match &want {
                    None => want = Some(got),
                    Some(w) => assert_eq!(&got, w, "d {d} stages {stages} {layout:?}"),
                }
            }
            // And the scores are ⟨q, x̂⟩ up to float rounding.
            let w = want.unwrap();
            let mut xh = vec![0f32; d];
            for (k, code) in codes.chunks_exact(c.code_len()).enumerate() {
                c.decode_into(code, &mut xh).unwrap();
                let exact: f64 = x[..d].iter().zip(&xh).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
                let mag: f64 = x[..d].iter().zip(&xh).map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs()).sum();
                let got = f64::from(f32::from_bits(w[k]));
                assert!((got - exact).abs() <= 1e-5 * (mag + 1.0), "d {d}: {got} vs {exact}");
            }
        }
    }
}

#[test]
fn lossless_view_decodes_like_owned() {
    use vector_codecs::entropy::lossless::{LosslessConfig, LosslessFloats, LosslessView, compress, compress_f32};
    let vals: Vec<f32> = data(3000, 1, 11).iter().map(|v| v * 3.0).collect();
    let bf: Vec<u16> = vals.iter().map(|v| (v.to_bits() >> 16) as u16).collect();
    for (lanes, scale_bits) in [(Lanes::L4, 12), (Lanes::L32, 14), (Lanes::L8, 16)] {
        let cfg = LosslessConfig { block_len: 1000, top_bits: 2, scale_bits, lanes };
        let b32 = compress_f32(&vals, &cfg).unwrap();
        let b16 = compress(vector_codecs::entropy::lossless::FloatKind::Bf16, &bf, &cfg).unwrap();
        let need = LosslessView::storage_len(&b32).unwrap();
        let (mut f, mut t) = (vec![0u32; need.freqs], vec![0u32; need.slots]);
        let v = LosslessView::open_in(&b32, &mut f, &mut t).unwrap();
        let mut scratch = vec![0u16; need.scratch];
        let mut out = vec![0u32; vals.len()];
        v.decode_all(&mut out, &mut scratch).unwrap();
        assert!(out.iter().zip(&vals).all(|(&a, b)| a == b.to_bits()));
        let need = LosslessView::storage_len(&b16).unwrap();
        let (mut f, mut t) = (vec![0u32; need.freqs], vec![0u32; need.slots]);
        let v = LosslessView::open_in(&b16, &mut f, &mut t).unwrap();
        let mut scratch = vec![0u16; need.scratch];
        let mut out = vec![0u16; bf.len()];
        v.decode_all(&mut out, &mut scratch).unwrap();
        assert_eq!(out, bf);
        // Corrupt containers: the same error (or the same values) as the owned reader.
        for i in (0..b16.len()).step_by(3) {
            let mut c = b16.clone();
            c[i] ^= 0x24;
            let owned = LosslessFloats::open(&c).and_then(|o| {
                let mut out = vec![0u16; o.len()];
                o.decode_all(&mut out).map(|_| out)
            });
            let (mut f, mut t) = (vec![0u32; 1 << 16], vec![0u32; 1 << 16]);
            let borrowed = LosslessView::open_in(&c, &mut f, &mut t).and_then(|o| {
                let mut out = vec![0u16; o.len()];
                let mut s = vec![0u16; o.block_len().min(o.len())];
                o.decode_all(&mut out, &mut s).map(|_| out)
            });
            assert_eq!(owned, borrowed, "byte {i}");
        }
    }
}

#[test]
fn rotated_with_scratch_equals_trait_methods() {
    use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse};
    for d in [48usize, 100] {
        let c = turbo_mse(d, 3, 7, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap();
        let x = data(5, d, 21);
        let need = c.work_scratch_len();
        let mut scratch = vec![0f32; need];
        let mut short = vec![0f32; need - 1];
        for row in x.chunks_exact(d) {
            let mut a = vec![0u8; c.code_len()];
            let mut b = vec![0u8; c.code_len()];
            c.encode_into(row, &mut a).unwrap();
            c.encode_with_scratch(row, &mut b, &mut scratch).unwrap();
            assert_eq!(a, b);
            assert!(matches!(c.encode_with_scratch(row, &mut b, &mut short), Err(Error::BufferTooSmall { .. })));
            let (mut ya, mut yb) = (vec![0f32; d], vec![0f32; d]);
            c.decode_into(&a, &mut ya).unwrap();
            c.decode_with_scratch(&a, &mut yb, &mut scratch).unwrap();
            assert_eq!(ya, yb);
        }
        // Gaussian codebooks are derived without alloc: the saved bytes load through Persist.
        let mut w = vector_codecs::format::Writer::new(0x05FE);
        c.persist(&mut w);
        let bytes = w.finish().unwrap();
        let mut r = vector_codecs::format::open(&bytes, 0x05FE).unwrap();
        let l = vector_codecs::turbo::TurboMse::restore(&mut r).unwrap();
        assert_eq!(encode(&l, &x), encode(&c, &x));
    }
}

#[test]
fn rabitq_uncentred_restores() {
    use vector_codecs::rabitq::RaBitQ;
    use vector_codecs::transform::RandomizedHadamard;
    let d = 40;
    let c = RaBitQ::new(RandomizedHadamard::new(d, 3).unwrap(), 1).unwrap();
    let mut w = vector_codecs::format::Writer::new(0x05FD);
    c.persist(&mut w);
    let bytes = w.finish().unwrap();
    let mut r = vector_codecs::format::open(&bytes, 0x05FD).unwrap();
    let l = RaBitQ::<RandomizedHadamard>::restore(&mut r).unwrap();
    let x = data(4, d, 5);
    assert_eq!(encode(&l, &x), encode(&c, &x));
    assert_eq!(scores(&l, &x[..d], &encode(&c, &x)), scores(&c, &x[..d], &encode(&c, &x)));
}

/// `prepare` succeeds with exactly `query_scratch_len()` words and refuses one fewer.
fn exact_query_scratch<C: Score>(c: &C, q: &[f32]) {
    let n = c.query_scratch_len();
    let mut s = vec![0f32; n];
    assert!(c.prepare(q, &mut s).is_ok());
    if n > 0 {
        let mut short = vec![0f32; n - 1];
        assert!(matches!(c.prepare(q, &mut short), Err(Error::BufferTooSmall { .. })));
    }
}

#[test]
fn query_scratch_len_is_exact() {
    use vector_codecs::scalar::uniform::BlockUniform;
    use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse};
    for d in [5usize, 64, 768] {
        let x = data(20, d, 33);
        let q = &x[..d];
        for (bits, scan) in [(8, ScanMode::Float), (8, ScanMode::I8), (4, ScanMode::I16), (4, ScanMode::I8)] {
            let c = PerDim::train(&x, d, bits, RangeEstimator::MinMax, false).unwrap().with_scan(scan).unwrap();
            exact_query_scratch(&c, q);
        }
        for block in [None, Some(32)] {
            exact_query_scratch(&BlockUniform::new(d, 4, block, false).unwrap(), q);
        }
        exact_query_scratch(&turbo_mse(d, 3, 1, RotationKind::Hadamard, CodebookKind::Gaussian).unwrap(), q);
        let b = BinaryCodec::train_centred(&x, d, &BinaryConfig { stages: 2, centred: true, scales: ScaleFormat::F32 })
            .unwrap();
        exact_query_scratch(&b.bitsliced(), q);
    }
}

/// Timing of the float-query layouts (run with `cargo test --test noheap -- --ignored --nocapture
/// layout_timing`; the test profile is optimized).
#[test]
#[ignore]
fn layout_timing() {
    use vector_codecs::binary::FloatLayout;
    let d = 768;
    let n = 20_000;
    let x = data(n, d, 44);
    let c =
        BinaryCodec::train(&x, d, &BinaryConfig { stages: 1, centred: false, scales: ScaleFormat::Shared }).unwrap();
    let codes = encode(&c, &x);
    for layout in [FloatLayout::Byte, FloatLayout::Nibble, FloatLayout::Direct] {
        let cl = c.with_float_layout(layout);
        let mut scratch = vec![0f32; cl.query_scratch_len()];
        let p = cl.prepare(&x[..d], &mut scratch).unwrap();
        let mut out = vec![0f32; n];
        let t = std::time::Instant::now();
        for _ in 0..5 {
            cl.score_batch(&p, &codes, &mut out).unwrap();
        }
        let ns = t.elapsed().as_nanos() as f64 / (5 * n) as f64;
        println!("d={d} {layout:?}: scratch {} KiB, {ns:.1} ns/code", cl.query_scratch_len() * 4 / 1024);
    }
}

/// Sizes of the loaded codec values (what a firmware keeps in RAM besides parameter storage);
/// `cargo test --test noheap -- --ignored --nocapture value_sizes`.
#[test]
#[ignore]
fn value_sizes() {
    use std::mem::size_of;
    println!("PerDimUniform<&[f32]> {}", size_of::<PerDimUniform<&[f32]>>());
    println!("BlockUniform {}", size_of::<vector_codecs::scalar::uniform::BlockUniform>());
    println!("BinaryCodec {}", size_of::<BinaryCodec>());
    println!("CenteredBinary<&[f32]> {}", size_of::<CenteredBinary<&[f32]>>());
    println!("ModelView {}", size_of::<ModelView<'_>>());
    println!("LosslessView {}", size_of::<vector_codecs::entropy::lossless::LosslessView<'_>>());
    println!("TurboMse {}", size_of::<vector_codecs::turbo::TurboMse>());
    println!("LloydCodec {}", size_of::<vector_codecs::scalar::lloyd::LloydCodec>());
    println!(
        "RaBitQ<Hadamard> {}",
        size_of::<vector_codecs::rabitq::RaBitQ<vector_codecs::transform::RandomizedHadamard>>()
    );
}

#[test]
fn trained_lloyd_borrowed_equals_owned() {
    use vector_codecs::scalar::lloyd::{Codebook, TRAINED_KIND, TrainedLloyd, TrainedLloydCodec};
    let d = 12;
    let x = data(200, d, 8);
    for (bits, per_dim) in [(2, false), (3, true)] {
        let owned = TrainedLloydCodec::train(d, bits, per_dim, &x, 20).unwrap();
        let bytes = owned.to_bytes().unwrap();
        let r = vector_codecs::format::open(&bytes, TRAINED_KIND).unwrap();
        let need = TrainedLloyd::<&[Codebook]>::storage_len(&r).unwrap();
        assert_eq!(need, if per_dim { d } else { 1 });
        let mut books = vec![Codebook::gaussian(1).unwrap(); need];
        let b = TrainedLloyd::from_bytes_in(&bytes, &mut books).unwrap();
        let codes = encode(&owned, &x);
        assert_eq!(encode(&b, &x), codes);
        assert_eq!(decodes(&b, &codes), decodes(&owned, &codes));
        assert_eq!(scores(&b, &x[..d], &codes), scores(&owned, &x[..d], &codes));
        let mut short = vec![Codebook::gaussian(1).unwrap(); need - 1];
        assert!(matches!(TrainedLloyd::from_bytes_in(&bytes, &mut short), Err(Error::BufferTooSmall { .. })));
        for c in corruptions(&bytes) {
            let mut big = vec![Codebook::gaussian(1).unwrap(); d + 1];
            let o = TrainedLloydCodec::from_bytes(&c);
            let n = TrainedLloyd::from_bytes_in(&c, &mut big);
            match (&o, &n) {
                (Ok(o), Ok(n)) => {
                    assert_eq!((o.dim(), o.per_dim()), (n.dim(), n.per_dim()));
                    let z: Vec<f32> = (0..o.dim()).map(|i| (i as f32 * 0.3).sin()).collect();
                    assert_eq!(encode(o, &z), encode(n, &z));
                    assert_eq!(decodes(o, &encode(o, &z)), decodes(n, &encode(o, &z)));
                }
                (Err(e), Err(f)) => assert_eq!(e, f),
                _ => panic!("loaders differ: {:?} vs {:?}", o.is_ok(), n.is_ok()),
            }
        }
    }
}

/// `bytes` copied into 4-byte aligned memory at the offset that makes byte `floats_at` of it
/// aligned (`aligned = true`) or misaligned by one; the storage and the copy's range.
fn placed(bytes: &[u8], floats_at: usize, aligned: bool) -> (Vec<u32>, std::ops::Range<usize>) {
    let mut words = vec![0u32; bytes.len() / 4 + 2];
    let o = (4 - floats_at % 4) % 4 + usize::from(!aligned);
    let all: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    all[o..o + bytes.len()].copy_from_slice(bytes);
    (words, o..o + bytes.len())
}

#[test]
fn per_dim_uniform_view_equals_owned() {
    let d = 37;
    let x = data(50, d, 5);
    for (bits, scan) in [(8, ScanMode::Float), (4, ScanMode::I16), (3, ScanMode::Float)] {
        let owned = PerDim::train(&x, d, bits, RangeEstimator::MinMax, bits == 3).unwrap().with_scan(scan).unwrap();
        let bytes = owned.to_bytes().unwrap();
        let at = PerDimUniform::<&[f32]>::VIEW_FLOATS_AT;
        let first = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(first, owned.base()[0], "VIEW_FLOATS_AT names the first base");
        let (words, range) = placed(&bytes, at, true);
        let mem: &[u8] = bytemuck::cast_slice(&words);
        let v = PerDimUniform::view_from_bytes(&mem[range]).unwrap();
        // Zero-copy: the parameters are the bytes themselves.
        assert_eq!(v.base().as_ptr() as usize, mem.as_ptr() as usize + (4 - at % 4) % 4 + at);
        assert_eq!(v.scan_mode(), scan);
        let codes = encode(&owned, &x);
        assert_eq!(encode(&v, &x), codes);
        assert_eq!(decodes(&v, &codes), decodes(&owned, &codes));
        assert_eq!(scores(&v, &x[..d], &codes), scores(&owned, &x[..d], &codes));
        // Misaligned: a clear error, never a wrong codec.
        let (words, range) = placed(&bytes, at, false);
        let mem: &[u8] = bytemuck::cast_slice(&words);
        assert!(matches!(PerDimUniform::view_from_bytes(&mem[range]), Err(Error::InvalidParameter(_))));
        for c in corruptions(&bytes) {
            let (words, range) = placed(&c, at, true);
            let mem: &[u8] = bytemuck::cast_slice(&words);
            let o = PerDim::from_bytes(&c).map(|v| (v.base().to_vec(), v.step().to_vec(), v.scan_mode()));
            let n = PerDimUniform::view_from_bytes(&mem[range])
                .map(|v| (v.base().to_vec(), v.step().to_vec(), v.scan_mode()));
            // A corrupt dimension can move the arrays off the aligned offset; otherwise the view
            // gives exactly the owned result.
            if !matches!(n, Err(Error::InvalidParameter(_))) || o.is_ok() {
                assert_eq!(o, n);
            }
        }
    }
}

#[test]
fn binary_view_equals_owned() {
    let d = 45;
    let x = data(40, d, 6);
    for (stages, scales) in [(1, ScaleFormat::Shared), (3, ScaleFormat::F32)] {
        let owned = BinaryCodec::train_centred(&x, d, &BinaryConfig { stages, centred: true, scales }).unwrap();
        let bytes = owned.to_bytes().unwrap();
        let at = CenteredBinary::<&[f32]>::VIEW_FLOATS_AT;
        let first = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(first, owned.mean()[0], "VIEW_FLOATS_AT names the first mean value");
        let (words, range) = placed(&bytes, at, true);
        let mem: &[u8] = bytemuck::cast_slice(&words);
        let v = CenteredBinary::view_from_bytes(&mem[range]).unwrap();
        assert_eq!(v, owned.view());
        let codes = encode(&owned, &x);
        assert_eq!(encode(&v, &x), codes);
        assert_eq!(decodes(&v, &codes), decodes(&owned, &codes));
        assert_eq!(scores(&v, &x[..d], &codes), scores(&owned, &x[..d], &codes));
        let (words, range) = placed(&bytes, at, false);
        let mem: &[u8] = bytemuck::cast_slice(&words);
        assert!(matches!(CenteredBinary::view_from_bytes(&mem[range]), Err(Error::InvalidParameter(_))));
        for c in corruptions(&bytes) {
            let (words, range) = placed(&c, at, true);
            let mem: &[u8] = bytemuck::cast_slice(&words);
            let o = CenteredBinary::from_bytes(&c).map(|v| (v.inner, v.mean().to_vec()));
            let n = CenteredBinary::view_from_bytes(&mem[range]).map(|v| (v.inner, v.mean().to_vec()));
            assert_eq!(o, n);
        }
    }
}
