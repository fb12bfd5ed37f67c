//! Entropy-coded codes over a small `Symbols` codec defined here: round trips, random access,
//! honest bits per dimension against the empirical entropy, bad input.
use vector_codecs::entropy::coded::{CodedConfig, EntropyCoded, decode_block_with};
use vector_codecs::rng::Rng;
use vector_codecs::{Codec, Decode, Error, Result, Symbols};

/// 4-bit uniform scalar codec on [-2, 2) with a 1-byte side field (a vector "tag" = sign of
/// the first coordinate): code = side byte, then one nibble-symbol per byte (unpacked, simple).
#[derive(Clone, Debug)]
struct Q4 {
    dim: usize,
}
impl Codec for Q4 {
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_len(&self) -> usize {
        self.dim + 1
    }
    fn encode_into(&self, x: &[f32], code: &mut [u8]) -> Result<()> {
        if x.len() != self.dim || code.len() != self.dim + 1 {
            return Err(Error::DimensionMismatch { expected: self.dim, got: x.len() });
        }
        code[0] = u8::from(x[0] > 0.0);
        for (c, &v) in code[1..].iter_mut().zip(x) {
            *c = ((v + 2.0) * 4.0).floor().clamp(0.0, 15.0) as u8;
        }
        Ok(())
    }
}
impl Decode for Q4 {
    fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        for (o, &c) in out.iter_mut().zip(&code[1..]) {
            *o = (f32::from(c) + 0.5) / 4.0 - 2.0;
        }
        Ok(())
    }
}
impl Symbols for Q4 {
    fn symbols_per_vector(&self) -> usize {
        self.dim
    }
    fn alphabet_size(&self) -> u32 {
        16
    }
    fn side_len(&self) -> usize {
        1
    }
    fn split_symbols(&self, code: &[u8], symbols: &mut [u16], side: &mut [u8]) -> Result<()> {
        if code.len() != self.dim + 1 || symbols.len() != self.dim || side.len() != 1 {
            return Err(Error::CodeLength { expected: self.dim + 1, got: code.len() });
        }
        side[0] = code[0];
        for (s, &c) in symbols.iter_mut().zip(&code[1..]) {
            *s = u16::from(c);
        }
        Ok(())
    }
    fn join_symbols(&self, symbols: &[u16], side: &[u8], code: &mut [u8]) -> Result<()> {
        if code.len() != self.dim + 1 || symbols.len() != self.dim || side.len() != 1 {
            return Err(Error::CodeLength { expected: self.dim + 1, got: code.len() });
        }
        code[0] = side[0];
        for (c, &s) in code[1..].iter_mut().zip(symbols) {
            if s > 15 {
                return Err(Error::Corrupt("symbol"));
            }
            *c = s as u8;
        }
        Ok(())
    }
}

fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    // Per-dimension scales so per-position models help.
    (0..n * dim).map(|i| rng.gaussian() as f32 * (0.2 + 0.6 * ((i % dim) as f32 / dim as f32))).collect()
}

#[test]
fn roundtrip_random_access_and_rate() {
    let (dim, n) = (32, 3000);
    let q = Q4 { dim };
    let xs = data(n, dim, 1);
    let mut codes = vec![0u8; n * q.code_len()];
    q.encode_batch(&xs, &mut codes).unwrap();
    for per_position in [Some(true), Some(false)] {
        let cfg = CodedConfig { per_position, scale_bits: 14, block_vectors: 64 };
        let ec = EntropyCoded::train_with(q.clone(), &codes[..1000 * q.code_len()], &cfg).unwrap();
        let blocks = ec.encode_batch(&xs).unwrap();
        let mut back = vec![0u8; codes.len()];
        ec.decode_codes(&blocks, &mut back).unwrap();
        assert_eq!(back, codes);
        // Random access to single vectors.
        let mut x = vec![0f32; dim];
        let mut want = vec![0f32; dim];
        for i in [0, 63, 64, 1234, n - 1] {
            ec.decode_vector(&blocks, i, &mut x).unwrap();
            q.decode_into(&codes[i * q.code_len()..(i + 1) * q.code_len()], &mut want).unwrap();
            assert_eq!(x, want);
        }
        assert!(ec.decode_vector(&blocks, n, &mut x).is_err());
        // Honest rate: payload within 1% + block overheads of the per-position empirical entropy
        // (+ 8 side bits per vector).
        let mut h = 0.0;
        for p in 0..dim {
            let mut c = [0f64; 16];
            for v in 0..n {
                c[codes[v * (dim + 1) + 1 + p] as usize] += 1.0;
            }
            h += c.iter().filter(|&&k| k > 0.0).map(|&k| -k * (k / n as f64).log2()).sum::<f64>();
        }
        let h_bpd = (h + 8.0 * n as f64) / (n * dim) as f64;
        let bpd = blocks.bits_per_dim();
        println!(
            "per_position={per_position:?}: {bpd:.4} bits/dim (entropy bound {h_bpd:.4}), models {} B",
            ec.model_bytes()
        );
        assert!(bpd < 4.0 + 8.0 / dim as f64);
        if per_position == Some(true) {
            let overhead = (blocks.n_blocks() * (32 + 4 + 4)) as f64 * 8.0 / (n * dim) as f64;
            assert!(bpd <= h_bpd * 1.01 + overhead, "{bpd} vs {h_bpd}");
        }
    }
}

#[test]
fn unseen_symbols_and_bad_input() {
    let q = Q4 { dim: 8 };
    let xs = vec![0.1f32; 8 * 10];
    let mut codes = vec![0u8; 10 * 9];
    q.encode_batch(&xs, &mut codes).unwrap();
    let ec = EntropyCoded::train(q.clone(), &codes).unwrap();
    // Values never seen in training still encode (smoothing).
    let other = data(50, 8, 3);
    let blocks = ec.encode_batch(&other).unwrap();
    let mut back = vec![0u8; 50 * 9];
    ec.decode_codes(&blocks, &mut back).unwrap();
    let mut want = vec![0u8; 50 * 9];
    q.encode_batch(&other, &mut want).unwrap();
    assert_eq!(back, want);
    assert!(EntropyCoded::train(q.clone(), &codes[..5]).is_err());
    assert!(ec.encode_codes(&codes[..5]).is_err());
    // Corrupt a block: decoding errors (or yields different codes), never panics.
    let views: Vec<_> = ec.models().iter().map(|m| m.view()).collect();
    let (bytes, nb) = blocks.block(0).unwrap();
    let mut syms = vec![0u16; nb * 8];
    let mut out = vec![0u8; nb * 9];
    for cut in 0..bytes.len() {
        assert!(decode_block_with(&q, &views, &bytes[..cut], nb, &mut syms, &mut out).is_err());
    }
    let mut tiny = vec![0u16; 3];
    assert!(decode_block_with(&q, &views, bytes, nb, &mut tiny, &mut out).is_err());
}

#[test]
fn hostile_coded_blocks_fields_are_corrupt_not_abort() {
    let (dim, n) = (8, 100);
    let q = Q4 { dim };
    let xs = data(n, dim, 3);
    let mut codes = vec![0u8; n * q.code_len()];
    q.encode_batch(&xs, &mut codes).unwrap();
    let ec = EntropyCoded::train(q.clone(), &codes).unwrap();
    let blocks = ec.encode_batch(&xs).unwrap();
    let mut back = vec![0u8; codes.len()];
    let mut x = vec![0f32; dim];
    for bv in [0usize, 1, 63, 65, 1 << 17, 1 << 40, usize::MAX] {
        let mut bad = blocks.clone();
        bad.block_vectors = bv;
        assert!(ec.decode_codes(&bad, &mut back).is_err(), "block_vectors {bv}");
        assert!(ec.decode_block(&bad, 0, &mut back).is_err(), "block_vectors {bv}");
        assert!(ec.decode_vector(&bad, 0, &mut x).is_err(), "block_vectors {bv}");
    }
    for nn in [0usize, 1, 129, 1 << 40, usize::MAX] {
        let mut bad = blocks.clone();
        bad.n = nn;
        let mut out = vec![0u8; 16];
        assert!(ec.decode_codes(&bad, &mut out).is_err(), "n {nn}");
        assert!(ec.decode_vector(&bad, 0, &mut x).is_err(), "n {nn}");
    }
    let mut big = blocks.clone();
    big.dim = usize::MAX;
    big.n = usize::MAX;
    let _ = big.bits_per_dim();
    // Untrusted configurations are refused up front.
    for bv in [0usize, 1 << 17, 1 << 40, usize::MAX] {
        let cfg = CodedConfig { block_vectors: bv, ..CodedConfig::default() };
        assert!(EntropyCoded::train_with(q.clone(), &codes, &cfg).is_err(), "block_vectors {bv}");
    }
    ec.decode_codes(&blocks, &mut back).unwrap();
    assert_eq!(back, codes);
}

/// The interleaved coder holds models of scale ≤ 15, so every symbol of an alphabet above
/// `2^15` cannot keep a frequency: such codecs (f16/bf16 codes) are refused at training, and
/// a saved form whose model declares scale 16 is corrupt.
#[test]
fn alphabet_and_scale_limits() {
    use vector_codecs::entropy::coded::MAX_CODED_ALPHABET;
    use vector_codecs::persist::Persist;
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    let f16 = FloatCodec::new(4, FloatFormat::F16).unwrap();
    assert!(f16.alphabet_size() as usize > MAX_CODED_ALPHABET);
    let codes = vec![0u8; f16.code_len() * 3];
    assert!(matches!(EntropyCoded::train(f16, &codes), Err(Error::InvalidParameter(_))));
    let e4m3 = FloatCodec::new(4, FloatFormat::E4M3).unwrap();
    let codes = vec![0u8; e4m3.code_len() * 3];
    // A requested scale above 15 is lowered to 15.
    let cfg = CodedConfig { per_position: Some(false), scale_bits: 16, block_vectors: 8 };
    let ec = EntropyCoded::train_with(e4m3, &codes, &cfg).unwrap();
    assert_eq!(ec.models()[0].scale_bits(), 15);
    let blocks = ec.encode_codes(&codes).unwrap();
    let mut back = vec![0u8; codes.len()];
    ec.decode_codes(&blocks, &mut back).unwrap();
    assert_eq!(back, codes);
    // The saved form ends with the model (u8 scale, u32 alphabet, LEB128 frequencies): rewrite
    // it as a scale-16 model of the same alphabet.
    let mut w = vector_codecs::format::Writer::new(0);
    ec.persist(&mut w);
    let bytes = w.finish().unwrap();
    let body = &bytes[vector_codecs::format::HEADER_LEN..bytes.len() - 4];
    // A model's container is a header, its payload and a 4-byte checksum.
    let payload = |b: &[u8]| b[vector_codecs::format::HEADER_LEN..b.len() - 4].to_vec();
    let model_len = payload(&ec.models()[0].to_bytes().unwrap()).len();
    let mut hostile = body[..body.len() - model_len].to_vec();
    let k = ec.inner().alphabet_size() as usize;
    let m16 = vector_codecs::entropy::model::Model::from_counts(&vec![1u64; k], 16).unwrap();
    hostile.extend_from_slice(&payload(&m16.to_bytes().unwrap()));
    let mut r = vector_codecs::format::Reader::new(&hostile);
    assert!(matches!(EntropyCoded::<FloatCodec>::restore(&mut r), Err(Error::Corrupt(_))));
    let mut r = vector_codecs::format::Reader::new(body);
    assert_eq!(EntropyCoded::<FloatCodec>::restore(&mut r).unwrap().models()[0].freqs(), ec.models()[0].freqs());
}

/// The wrapper scores exactly as its inner codec, search layout and re-rank included: over a
/// 4-bit fast-scan PQ it keeps the 32-vector blocked layout, the `u8`-table scan of that layout
/// and the exact (float-table) scores of re-ranking, bit for bit.
#[test]
fn entropy_coded_pq_keeps_the_fast_scan_layout_and_exact_scores() {
    use vector_codecs::Score;
    use vector_codecs::codec::{ScanMode, ScanModes, layout_len};
    use vector_codecs::pq::ProductQuantizer;
    use vector_codecs::train::KMeansConfig;
    let (d, m, n) = (16usize, 8usize, 77usize);
    let mut rng = Rng::new(31);
    let mut xs = vec![0f32; (n + 300) * d];
    xs.iter_mut().for_each(|v| *v = rng.next_f32() * 2.0 - 1.0);
    let cfg = KMeansConfig { niter: 6, seed: 2, ..KMeansConfig::default() };
    let pq = ProductQuantizer::train(&xs[n * d..], d, m, 4, &cfg).unwrap().with_scan(ScanMode::I8).unwrap();
    let mut codes = vec![0u8; n * pq.code_len()];
    pq.encode_batch(&xs[..n * d], &mut codes).unwrap();
    let ec = EntropyCoded::train(pq.clone(), &codes).unwrap();
    assert_eq!(ec.layout_block(), pq.layout_block());
    assert_ne!(ec.layout_block(), (1, pq.code_len()), "fast-scan PQ re-lays 32 codes per block");
    assert_eq!(ec.rerank_factor(), pq.rerank_factor());
    let len = layout_len(pq.layout_block(), n).unwrap();
    let (mut la, mut lb) = (vec![0u8; len], vec![0u8; len]);
    pq.to_layout(&codes, &mut la).unwrap();
    ec.to_layout(&codes, &mut lb).unwrap();
    assert_eq!(la, lb);
    let q: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
    let (mut sa, mut sb) = (pq.scratch(), ec.scratch());
    let (qa, qb) = (pq.prepare(&q, &mut sa).unwrap(), ec.prepare(&q, &mut sb).unwrap());
    let (mut oa, mut ob) = (vec![0f32; n], vec![0f32; n]);
    pq.score_layout(&qa, &la, &mut oa).unwrap();
    ec.score_layout(&qb, &lb, &mut ob).unwrap();
    assert_eq!(oa.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), ob.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    for i in [0usize, 31, 32, n - 1] {
        let a = pq.score_exact_layout(&qa, &la, i).unwrap();
        let b = ec.score_exact_layout(&qb, &lb, i).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        let code = &codes[i * pq.code_len()..(i + 1) * pq.code_len()];
        assert_eq!(pq.score_exact(&qa, code).unwrap().to_bits(), ec.score_exact(&qb, code).unwrap().to_bits());
    }
}
