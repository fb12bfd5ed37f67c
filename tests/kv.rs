//! KV-cache codecs (`kv`): block scoring against decode-then-dot, appending against block
//! encoding, the outlier wrapper against its inner codec, rates, persistence, bad input, and
//! thresholds on the real MiniLM keys when the shared data is present.
mod common;

use vector_codecs::kv::{Basis, ChannelKeys, KvCache, Outliers, TokenBlock, TokenValues};
use vector_codecs::rng::Rng;
use vector_codecs::scalar::side::SideFormat;
use vector_codecs::{Codec, Decode, Error, Score};

fn gauss(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.gaussian() as f32).collect()
}

/// Keys with per-channel offsets and scales (the structure per-channel codecs exploit).
fn keys(tokens: usize, d: usize, seed: u64) -> Vec<f32> {
    let g = gauss(tokens * d, seed);
    g.iter().enumerate().map(|(i, &v)| v * (0.2 + (i % d) as f32 * 0.1) + ((i % d) as f32 - 7.0) * 0.5).collect()
}

fn decode_dot<C: TokenBlock>(c: &C, q: &[f32], code: &[u8]) -> Vec<f32> {
    let mut x = vec![0f32; c.dim()];
    c.decode_into(code, &mut x).unwrap();
    x.chunks_exact(c.head_dim()).map(|k| k.iter().zip(q).map(|(a, b)| f64::from(a * b)).sum::<f64>() as f32).collect()
}

fn decode_attend<C: TokenBlock>(c: &C, p: &[f32], code: &[u8]) -> Vec<f32> {
    let mut x = vec![0f32; c.dim()];
    c.decode_into(code, &mut x).unwrap();
    let d = c.head_dim();
    let mut o = vec![0f64; d];
    for (v, &pt) in x.chunks_exact(d).zip(p) {
        o.iter_mut().zip(v).for_each(|(o, &x)| *o += f64::from(pt) * f64::from(x));
    }
    o.iter().map(|&v| v as f32).collect()
}

/// Block scoring equals decode-then-dot within float rounding (relative to Σ|q_c·k̂_c|).
fn check_block_scoring<C: TokenBlock>(c: &C, x: &[f32], seed: u64) {
    let (d, b) = (c.head_dim(), c.block_tokens());
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(x, &mut code).unwrap();
    let mut dec = vec![0f32; c.dim()];
    c.decode_into(&code, &mut dec).unwrap();
    for s in 0..3 {
        let q = gauss(d, seed + s);
        let mut got = vec![0f32; b];
        c.logits(&q, &code, &mut got).unwrap();
        let want = decode_dot(c, &q, &code);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            let mag: f32 = dec[t * d..(t + 1) * d].iter().zip(&q).map(|(a, b)| (a * b).abs()).sum::<f32>() + 1.0;
            assert!((g - w).abs() <= 2e-5 * mag, "logit {t}: {g} vs {w}");
        }
        let mut p: Vec<f32> = gauss(b, seed + 10 + s).iter().map(|v| v.abs()).collect();
        let sum: f32 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= sum);
        let mut got = vec![0.5f32; d];
        c.attend(&p, &code, &mut got).unwrap();
        let want = decode_attend(c, &p, &code);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - 0.5 - w).abs() <= 1e-4 * (1.0 + w.abs()), "attend: {g} vs {w}");
        }
    }
}

#[test]
fn channel_keys_block_scoring_equals_decode_then_dot() {
    for (d, b, bits, side) in [
        (32usize, 128usize, 3.0f32, SideFormat::F16),
        (32, 64, 2.5, SideFormat::Bf16),
        (24, 16, 4.0, SideFormat::F32),
        (7, 8, 1.0 / 7.0, SideFormat::F16),
        (128, 32, 3.5, SideFormat::F16),
    ] {
        let x = keys(b, d, d as u64);
        let c = ChannelKeys::new(d, b, bits, side).unwrap();
        check_block_scoring(&c, &x, 1);
        let c = c.with_clip(false);
        check_block_scoring(&c, &x, 2);
        if d >= 8 {
            let cal = keys(4 * d, d, 99);
            let q = gauss(4 * d * d, 5);
            let c = ChannelKeys::new(d, b, bits, side).unwrap().calibrate(&cal, Some(&q)).unwrap();
            check_block_scoring(&c, &x, 3);
        }
    }
}

#[test]
fn channel_keys_rate_and_error_bound() {
    let (d, b) = (32usize, 128usize);
    for (bits, side) in [(3.0f32, SideFormat::F16), (2.5, SideFormat::Bf16), (4.0, SideFormat::F32)] {
        let c = ChannelKeys::new(d, b, bits, side).unwrap().with_clip(false);
        let total = (bits * d as f32).round() as usize;
        assert_eq!(c.total_bits(), total);
        assert_eq!(c.code_len(), d / 2 + 2 * d * side.bytes() + b * total / 8);
        let want = 8.0 * (d / 2 + 2 * d * side.bytes()) as f64 / (b * d) as f64 + f64::from(bits);
        assert!((c.bits_per_dim() - want).abs() < 1e-9);
        let x = keys(b, d, 7);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; x.len()];
        c.decode_into(&code, &mut y).unwrap();
        // Without clipping every coordinate is within half a step (plus the side rounding of the
        // offset and step) of its input; the step of channel c is its range / (2^w − 1).
        for ch in 0..d {
            let col: Vec<f32> = (0..b).map(|t| x[t * d + ch]).collect();
            let range = col.iter().cloned().fold(f32::MIN, f32::max) - col.iter().cloned().fold(f32::MAX, f32::min);
            let w = (code[ch / 2] >> (4 * (ch % 2))) & 0xF;
            let bound = if w == 0 { range } else { 0.5 * range / ((1u32 << w) - 1) as f32 * 1.02 + 0.01 * range };
            for t in 0..b {
                assert!((y[t * d + ch] - x[t * d + ch]).abs() <= bound + 1e-3, "channel {ch} width {w}");
            }
        }
    }
}

#[test]
fn channel_keys_allocation_follows_variance() {
    // Channel c has standard deviation 2^(c/4): the greedy allocation gives wider channels
    // more bits, and every block's widths add up to the codec's bits.
    let (d, b) = (16usize, 64usize);
    let x: Vec<f32> = gauss(b * d, 3).iter().enumerate().map(|(i, &v)| v * 2f32.powf((i % d) as f32 / 4.0)).collect();
    let c = ChannelKeys::new(d, b, 3.0, SideFormat::F16).unwrap();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let w: Vec<u8> = (0..d).map(|ch| (code[ch / 2] >> (4 * (ch % 2))) & 0xF).collect();
    assert_eq!(w.iter().map(|&v| usize::from(v)).sum::<usize>(), 48);
    assert!(w[d - 1] > w[0], "{w:?}");
    assert!(w.windows(2).all(|p| p[1] + 1 >= p[0]), "{w:?}");
}

#[test]
fn token_values_round_trip_and_block_scoring() {
    for (d, b, bits, g, sym, side) in [
        (32usize, 16usize, 3u32, 32usize, true, SideFormat::F16),
        (32, 8, 2, 16, false, SideFormat::F16),
        (64, 5, 4, 8, false, SideFormat::Bf16),
        (16, 1, 8, 4, true, SideFormat::F32),
    ] {
        let c = TokenValues::new(d, b, bits, g, sym, side).unwrap();
        let k = if sym { 1 } else { 2 };
        assert_eq!(c.code_len(), b * (d / g * k * side.bytes() + d * bits as usize / 8));
        let x = gauss(b * d, bits.into());
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; x.len()];
        c.decode_into(&code, &mut y).unwrap();
        for (xs, ys) in x.chunks_exact(g).zip(y.chunks_exact(g)) {
            let (mn, mx) = xs.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            let range = if sym { 2.0 * mn.abs().max(mx.abs()) } else { mx - mn };
            let half = 0.5 * range / ((1u32 << bits) - 1) as f32;
            for (a, b) in xs.iter().zip(ys) {
                assert!((a - b).abs() <= half * 1.01 + range * 0.01 + 1e-6, "{a} vs {b}");
            }
        }
        check_block_scoring(&c, &x, 4);
    }
}

/// Value attention from codes (the packed-row kernel for groups of a multiple of 8 channels,
/// the token loop otherwise) equals decode-then-weighted-sum at every width, for head
/// dimensions from 8 to 1,024, block lengths that split into several kernel calls (the weight
/// buffer holds 512 / (d/8) tokens), groups from 8 channels to the whole head, both kinds of
/// scale; `attend_batch` equals `attend` per row, bit for bit.
#[test]
fn token_values_attend_every_width_equals_decode_then_sum() {
    for bits in 1..=8u32 {
        for (d, b, g, sym, side) in [
            (8usize, 3usize, 8usize, true, SideFormat::F16),
            (32, 128, 32, true, SideFormat::F16),
            (40, 17, 8, false, SideFormat::Bf16),
            (128, 37, 32, true, SideFormat::F16),
            (128, 70, 64, false, SideFormat::F32),
            (136, 9, 136, true, SideFormat::F16),
            (1024, 6, 32, true, SideFormat::F16),
            (24, 5, 12, false, SideFormat::F16),
        ] {
            let c = TokenValues::new(d, b, bits, g, sym, side).unwrap();
            let x = keys(b, d, u64::from(bits) + d as u64);
            check_block_scoring(&c, &x, 40 + u64::from(bits));
            let mut code = vec![0u8; c.code_len()];
            c.encode_into(&x, &mut code).unwrap();
            let ps: Vec<f32> = gauss(3 * b, 9).iter().map(|v| v.abs() / b as f32).collect();
            let mut outs = vec![0.25f32; 3 * d];
            c.attend_batch(&ps, &code, &mut outs).unwrap();
            for j in 0..3 {
                let mut o = vec![0.25f32; d];
                c.attend(&ps[j * b..(j + 1) * b], &code, &mut o).unwrap();
                assert_eq!(&o[..], &outs[j * d..(j + 1) * d], "bits {bits} d {d}");
            }
        }
    }
}

#[test]
fn outliers_exact_on_outliers_and_inner_elsewhere() {
    let (d, b) = (32usize, 64usize);
    let mut x = keys(b, d, 11);
    // Plant large values.
    for (i, v) in [(5usize, 40.0f32), (300, -35.0), (1999, 60.0), (777, 25.0)] {
        x[i] = v;
    }
    let inner = ChannelKeys::new(d, b, 3.0, SideFormat::F16).unwrap();
    let c = Outliers::with_fraction(inner.clone(), 0.01, d).unwrap();
    assert_eq!(c.count(), 21);
    assert_eq!(c.code_len(), inner.code_len() + 4 * 21);
    assert!((c.bits_per_dim() - inner.bits_per_dim() - 32.0 * 21.0 / 2048.0).abs() < 1e-9);
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0f32; x.len()];
    c.decode_into(&code, &mut y).unwrap();
    let idx: Vec<usize> =
        code[inner.code_len()..].chunks_exact(4).map(|p| usize::from(u16::from_le_bytes([p[0], p[1]]))).collect();
    for i in [5usize, 300, 1999, 777] {
        assert!(idx.contains(&i), "planted outlier {i} not chosen: {idx:?}");
    }
    // The inner codec on the cleaned vector (outliers at their channel mean).
    let mut clean = x.clone();
    for &i in &idx {
        let ch = i % d;
        clean[i] = (0..b).map(|t| x[t * d + ch]).sum::<f32>() / b as f32;
    }
    let mut ic = vec![0u8; inner.code_len()];
    inner.encode_into(&clean, &mut ic).unwrap();
    assert_eq!(&code[..inner.code_len()], &ic[..]);
    let mut iy = vec![0f32; x.len()];
    inner.decode_into(&ic, &mut iy).unwrap();
    for i in 0..x.len() {
        if idx.contains(&i) {
            let r = (x[i] - iy[i]).abs();
            assert!((y[i] - x[i]).abs() <= r * 2f32.powi(-11) + 1e-6, "outlier {i}: {} vs {}", y[i], x[i]);
        } else {
            assert_eq!(y[i], iy[i], "coordinate {i}");
        }
    }
    check_block_scoring(&c, &x, 8);
}

#[test]
fn outliers_wrap_any_codec() {
    use vector_codecs::scalar::uniform::{BlockUniform, ScaleFormat};
    let d = 64;
    let inner = BlockUniform::with_scales(d, 4, None, false, ScaleFormat::F16).unwrap();
    let c = Outliers::new(inner, 2, 0).unwrap();
    let mut x = gauss(d, 21);
    x[10] = 30.0;
    x[50] = -20.0;
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0f32; d];
    c.decode_into(&code, &mut y).unwrap();
    let mut clean = x.clone();
    clean[10] = 0.0;
    clean[50] = 0.0;
    let mut iy = vec![0f32; d];
    let mut ic = vec![0u8; inner.code_len()];
    inner.encode_into(&clean, &mut ic).unwrap();
    inner.decode_into(&ic, &mut iy).unwrap();
    for i in 0..d {
        if i == 10 || i == 50 {
            assert!((y[i] - x[i]).abs() <= (x[i] - iy[i]).abs() * 2f32.powi(-11) + 1e-6);
        } else {
            assert_eq!(y[i], iy[i]);
        }
    }
    // The per-vector interface: the score is the inner score plus the sparse part.
    let q = gauss(d, 9);
    let mut s = c.scratch();
    let p = c.prepare(&q, &mut s).unwrap();
    let got = c.score(&p, &code).unwrap();
    let want: f64 = y.iter().zip(&q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
    assert!((f64::from(got) - want).abs() < 1e-3 * (1.0 + want.abs()), "{got} vs {want}");
}

#[test]
fn appending_one_token_at_a_time_equals_block_encoding() {
    let (d, b) = (32usize, 16usize);
    let n = 3 * b + 5;
    let k = keys(n, d, 31);
    let v = gauss(n * d, 32);
    let kc = Outliers::with_fraction(ChannelKeys::new(d, b, 2.5, SideFormat::F16).unwrap(), 0.005, d).unwrap();
    let vc = TokenValues::new(d, b, 3, 32, true, SideFormat::F16).unwrap();
    let mut cache = KvCache::new(kc.clone(), vc.clone(), SideFormat::F32).unwrap();
    for t in 0..n {
        cache.append(&k[t * d..(t + 1) * d], &v[t * d..(t + 1) * d]).unwrap();
    }
    assert_eq!(cache.len(), n);
    assert_eq!(cache.blocks(), 3);
    let mut kcodes = vec![0u8; 3 * kc.code_len()];
    kc.encode_batch(&k[..3 * b * d], &mut kcodes).unwrap();
    let mut vcodes = vec![0u8; 3 * vc.code_len()];
    vc.encode_batch(&v[..3 * b * d], &mut vcodes).unwrap();
    assert_eq!(cache.key_codes(), &kcodes[..]);
    assert_eq!(cache.value_codes(), &vcodes[..]);
    assert_eq!(cache.stored_bits(), (8 * kcodes.len() + 5 * d * 32, 8 * vcodes.len() + 5 * d * 32));
    // Attention from the cache against decoded keys and values.
    let q = gauss(d, 33);
    let scale = 1.0 / (d as f32).sqrt();
    let mut kd = vec![0f32; 3 * b * d];
    kc.decode_batch(&kcodes, &mut kd).unwrap();
    let mut vd = vec![0f32; 3 * b * d];
    vc.decode_batch(&vcodes, &mut vd).unwrap();
    kd.extend_from_slice(&k[3 * b * d..]);
    vd.extend_from_slice(&v[3 * b * d..]);
    let l: Vec<f64> = kd
        .chunks_exact(d)
        .map(|r| r.iter().zip(&q).map(|(a, b)| f64::from(a * b)).sum::<f64>() * f64::from(scale))
        .collect();
    let m = l.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = l.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    let mut want = vec![0f64; d];
    for (r, p) in vd.chunks_exact(d).zip(&e) {
        want.iter_mut().zip(r).for_each(|(o, &x)| *o += p / s * f64::from(x));
    }
    let mut logits = vec![0f32; n];
    let mut out = vec![0f32; d];
    cache.attention(&q, scale, &mut logits, &mut out).unwrap();
    for (g, w) in out.iter().zip(&want) {
        assert!((f64::from(*g) - w).abs() < 1e-4, "{g} vs {w}");
    }
    // f16 residual: the codes of the f16-rounded inputs.
    let mut c16 = KvCache::new(kc.clone(), vc.clone(), SideFormat::F16).unwrap();
    for t in 0..b {
        c16.append(&k[t * d..(t + 1) * d], &v[t * d..(t + 1) * d]).unwrap();
    }
    let kr: Vec<f32> = k[..b * d].iter().map(|&x| SideFormat::F16.round(x).unwrap()).collect();
    let mut one = vec![0u8; kc.code_len()];
    kc.encode_into(&kr, &mut one).unwrap();
    assert_eq!(c16.key_codes(), &one[..]);
}

#[test]
fn persistence_round_trips() {
    let (d, b) = (16usize, 8usize);
    let cal = keys(64, d, 41);
    let q = gauss(64 * d, 42);
    let c = ChannelKeys::new(d, b, 2.5, SideFormat::Bf16).unwrap().calibrate(&cal, Some(&q)).unwrap();
    let back = ChannelKeys::from_bytes(&c.to_bytes().unwrap()).unwrap();
    assert_eq!(back, c);
    let v = TokenValues::new(d, b, 2, 8, false, SideFormat::F16).unwrap();
    assert_eq!(TokenValues::from_bytes(&v.to_bytes().unwrap()).unwrap(), v);
    let o = Outliers::new(c.clone(), 3, d).unwrap();
    assert_eq!(Outliers::<ChannelKeys>::from_bytes(&o.to_bytes().unwrap()).unwrap(), o);
    assert!(TokenValues::from_bytes(&c.to_bytes().unwrap()).is_err());
    assert!(Basis::train(&cal[..d], d).is_err());
}

#[test]
fn bad_input_is_an_error() {
    let (d, b) = (8usize, 8usize);
    assert!(ChannelKeys::new(0, 8, 3.0, SideFormat::F16).is_err());
    assert!(ChannelKeys::new(8, 12, 3.0, SideFormat::F16).is_err());
    assert!(ChannelKeys::new(8, 8, 9.0, SideFormat::F16).is_err());
    assert!(ChannelKeys::new(8, 8, 0.0, SideFormat::F16).is_err());
    assert!(ChannelKeys::new(8, 8, f32::NAN, SideFormat::F16).is_err());
    assert!(ChannelKeys::new(1024, 128, 3.0, SideFormat::F16).is_err());
    assert!(TokenValues::new(12, 8, 3, 4, true, SideFormat::F16).is_err());
    assert!(TokenValues::new(16, 8, 9, 4, true, SideFormat::F16).is_err());
    assert!(TokenValues::new(16, 8, 3, 5, true, SideFormat::F16).is_err());
    let c = ChannelKeys::new(d, b, 3.0, SideFormat::F16).unwrap();
    assert!(Outliers::new(c.clone(), 65, 0).is_err());
    let mut x = keys(b, d, 51);
    let mut code = vec![0u8; c.code_len()];
    assert!(c.encode_into(&x[1..], &mut code).is_err());
    assert!(c.encode_into(&x, &mut code[1..]).is_err());
    x[3] = f32::NAN;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = 1e6;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::Overflow));
    x[3] = 0.5;
    c.encode_into(&x, &mut code).unwrap();
    let mut out = vec![0f32; b];
    assert!(c.logits(&[f32::NAN; 8], &code, &mut out).is_err());
    assert!(c.logits(&[0.0; 7], &code, &mut out).is_err());
    let mut bad = code.clone();
    bad[0] = 0x9F; // width 15
    assert!(matches!(c.logits(&[1.0; 8], &bad, &mut out), Err(Error::Corrupt(_))));
    let mut bad = code.clone();
    bad[0] ^= 0x01; // widths no longer add up
    let mut y = vec![0f32; c.dim()];
    assert!(matches!(c.decode_into(&bad, &mut y), Err(Error::Corrupt(_))));
    let mut bad = code.clone();
    bad[4..6].copy_from_slice(&0x7E00u16.to_le_bytes()); // NaN offset
    assert!(matches!(c.decode_into(&bad, &mut y), Err(Error::Corrupt(_))));
    let o = Outliers::new(c.clone(), 2, d).unwrap();
    let mut oc = vec![0u8; o.code_len()];
    o.encode_into(&x, &mut oc).unwrap();
    let n = c.code_len();
    let mut bad = oc.clone();
    let first = [bad[n], bad[n + 1]];
    bad[n + 4..n + 6].copy_from_slice(&first); // repeated index
    assert!(matches!(o.decode_into(&bad, &mut y), Err(Error::Corrupt(_))));
    let mut bad = oc.clone();
    bad[n..n + 2].copy_from_slice(&1000u16.to_le_bytes());
    assert!(matches!(o.decode_into(&bad, &mut y), Err(Error::Corrupt(_))));
    let mut cache =
        KvCache::new(c.clone(), TokenValues::new(d, b, 3, 8, true, SideFormat::F16).unwrap(), SideFormat::F16).unwrap();
    assert!(cache.append(&[1e6; 8], &[0.0; 8]).is_err());
    assert!(cache.append(&[0.0; 7], &[0.0; 8]).is_err());
    assert!(cache.is_empty());
    assert!(KvCache::new(c, TokenValues::new(d, 16, 3, 8, true, SideFormat::F16).unwrap(), SideFormat::F16).is_err());
}

/// On the real MiniLM keys (when present; window 0 of every head, calibrated on its first 128
/// tokens, measured on the other 384): per-channel keys at 3.5 code bits in the calibrated basis
/// (3.78 stored bits/dim) have a relative logit error under 0.06 (measured 0.033 / 0.054 for
/// L0 / L5; per-token 4-bit uniform, 5 stored bits/dim, has 0.044 in `kv_cache.md`).
#[test]
fn real_keys_channel_codec_thresholds() {
    let Some(dir) = common::data_dir("kv-minilm-l6") else { return };
    let (d, t, cal) = (32usize, 512usize, 128usize);
    for layer in [0, 5] {
        let k = common::read_fvecs(dir.join(format!("L{layer}_key.fvecs"))).data;
        let q = common::read_fvecs(dir.join(format!("L{layer}_query.fvecs"))).data;
        let (mut e2, mut r2) = (0f64, 0f64);
        for h in 0..12usize {
            let r0 = (h * 2048) * d;
            let (kw, qw) = (&k[r0..r0 + t * d], &q[r0..r0 + t * d]);
            let c = ChannelKeys::new(d, 128, 3.5, SideFormat::F16)
                .unwrap()
                .calibrate(&kw[..cal * d], Some(&qw[..cal * d]))
                .unwrap();
            let mut logits = vec![0f32; 128];
            for blk in 1..4 {
                let x = &kw[blk * 128 * d..(blk + 1) * 128 * d];
                let mut code = vec![0u8; c.code_len()];
                c.encode_into(x, &mut code).unwrap();
                for qr in qw[cal * d..].chunks_exact(d) {
                    c.logits(qr, &code, &mut logits).unwrap();
                    for (kr, &l) in x.chunks_exact(d).zip(&logits) {
                        let e: f32 = kr.iter().zip(qr).map(|(a, b)| a * b).sum();
                        e2 += f64::from(e - l).powi(2);
                        r2 += f64::from(e).powi(2);
                    }
                }
            }
        }
        let rel = (e2 / r2).sqrt();
        eprintln!("L{layer}: rel. logit error {rel:.4}");
        assert!(rel < 0.06, "L{layer}: {rel}");
    }
}

/// `compose::Normalized` with a 16-bit norm: 2 bytes instead of 4, the reconstruction and the
/// score are those of the `f32` layout scaled by the rounded norm's ratio, and `NormF32` (the
/// default) writes the historical bytes.
#[test]
fn normalized_half_norms() {
    use vector_codecs::compose::{NormBf16, NormF16, NormF32, Normalized};
    use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
    let d = 32;
    let inner = FloatCodec::new(d, FloatFormat::E4M3).unwrap();
    let full = Normalized::new(inner);
    let explicit = Normalized::<_, NormF32>::with_norm(inner);
    let h = Normalized::<_, NormF16>::with_norm(inner);
    let b = Normalized::<_, NormBf16>::with_norm(inner);
    assert_eq!(h.code_len(), full.code_len() - 2);
    assert_eq!(b.code_len(), full.code_len() - 2);
    assert!((full.bits_per_dim() - h.bits_per_dim() - 0.5).abs() < 1e-12);
    let x: Vec<f32> = gauss(d, 61).iter().map(|v| v * 3.0).collect();
    let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt();
    let mut cf = vec![0u8; full.code_len()];
    full.encode_into(&x, &mut cf).unwrap();
    let mut ce = vec![0u8; explicit.code_len()];
    explicit.encode_into(&x, &mut ce).unwrap();
    assert_eq!(cf, ce);
    let mut yf = vec![0f32; d];
    full.decode_into(&cf, &mut yf).unwrap();
    for (fmt, c) in [(SideFormat::F16, &h as &dyn Decode), (SideFormat::Bf16, &b as &dyn Decode)] {
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        assert_eq!(&code[..inner.code_len()], &cf[..inner.code_len()]);
        let stored = fmt.read(&code[inner.code_len()..]).unwrap();
        assert_eq!(stored, fmt.round(norm).unwrap());
        let mut y = vec![0f32; d];
        c.decode_into(&code, &mut y).unwrap();
        for (a, f) in y.iter().zip(&yf) {
            assert!((a - f * stored / norm).abs() <= 1e-5 * (1.0 + f.abs()), "{a} vs {f}");
        }
    }
    let mut s = h.scratch();
    let q = gauss(d, 62);
    let p = h.prepare(&q, &mut s).unwrap();
    let mut code = vec![0u8; h.code_len()];
    h.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0f32; d];
    h.decode_into(&code, &mut y).unwrap();
    let want: f32 = y.iter().zip(&q).map(|(a, b)| a * b).sum();
    assert!((h.score(&p, &code).unwrap() - want).abs() < 1e-3 * (1.0 + want.abs()));
    // f16 cannot hold a norm above 65504.
    let big: Vec<f32> = x.iter().map(|v| v * 1e5).collect();
    assert_eq!(h.encode_into(&big, &mut code), Err(Error::Overflow));
    assert!(b.encode_into(&big, &mut vec![0u8; b.code_len()]).is_ok());
    // A NaN norm in the code is corrupt.
    let n = inner.code_len();
    code[n..n + 2].copy_from_slice(&0x7E00u16.to_le_bytes());
    assert!(matches!(h.decode_into(&code, &mut y), Err(Error::Corrupt(_))));
}

/// The factory's `tqN-h16` writes the codes of `tqN` with the norm in 2 bytes.
#[test]
fn tq_h16_is_tq_with_an_f16_norm() {
    use vector_codecs::factory;
    use vector_codecs::metric::Metric;
    let d = 32;
    let x = gauss(20 * d, 71);
    for bits in [2u32, 3, 4] {
        let a = factory::build(&format!("tq{bits}"), d, Metric::InnerProduct, 5, &[]).unwrap();
        let h = factory::build(&format!("tq{bits}-h16"), d, Metric::InnerProduct, 5, &[]).unwrap();
        assert_eq!(h.code_len() + 2, a.code_len());
        let (mut ca, mut ch) = (vec![0u8; 20 * a.code_len()], vec![0u8; 20 * h.code_len()]);
        a.encode_batch(&x, &mut ca).unwrap();
        h.encode_batch(&x, &mut ch).unwrap();
        for (p, q) in ca.chunks_exact(a.code_len()).zip(ch.chunks_exact(h.code_len())) {
            let n = h.code_len() - 2;
            assert_eq!(&p[..n], &q[..n]);
            let nf = f32::from_le_bytes(p[n..].try_into().unwrap());
            let nh = SideFormat::F16.read(&q[n..]).unwrap();
            assert_eq!(nh, SideFormat::F16.round(nf).unwrap());
        }
        let back = factory::load(&h.save().unwrap()).unwrap();
        let mut again = vec![0u8; ch.len()];
        back.encode_batch(&x, &mut again).unwrap();
        assert_eq!(again, ch);
    }
}

// ---------------------------------------------------------------------------------------------
// EntropyBlock: transform coding with range-coded uniform quantization.

use vector_codecs::kv::EntropyBlock;

fn entropy_codec(d: usize, b: usize, bits: f32, seed: u64) -> EntropyBlock {
    let cal = keys(4 * d, d, seed);
    let q = gauss(4 * d * d, seed + 1);
    EntropyBlock::new(d, b, bits).unwrap().calibrate(&cal, Some(&q)).unwrap()
}

#[test]
fn entropy_block_scoring_equals_decode_then_dot() {
    for (d, b, bits) in [(32usize, 128usize, 3.5f32), (32, 64, 2.0), (7, 16, 4.0), (16, 32, 2.5), (128, 32, 3.0)] {
        let x = keys(b, d, d as u64 + 3);
        check_block_scoring(&EntropyBlock::new(d, b, bits).unwrap(), &x, 4);
        check_block_scoring(&entropy_codec(d, b, bits, 7), &x, 5);
        let probes = gauss(5 * d, 9);
        check_block_scoring(&entropy_codec(d, b, bits, 7).with_importance(&probes, b / 4).unwrap(), &x, 7);
        let cal = keys(4 * d, d, 8);
        check_block_scoring(&EntropyBlock::new(d, b, bits).unwrap().calibrate(&cal, None).unwrap(), &x, 6);
    }
}

#[test]
fn entropy_block_batches_equal_single_calls() {
    let (d, b) = (32usize, 64usize);
    let c = entropy_codec(d, b, 3.0, 11);
    let x = keys(b, d, 12);
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let qs = gauss(5 * d, 13);
    let mut all = vec![0f32; 5 * b];
    c.logits_batch(&qs, &code, &mut all).unwrap();
    let mut ps: Vec<f32> = gauss(5 * b, 14).iter().map(|v| v.abs() / b as f32).collect();
    ps[3] = 0.0;
    let mut outs = vec![0.25f32; 5 * d];
    c.attend_batch(&ps, &code, &mut outs).unwrap();
    for j in 0..5 {
        let mut one = vec![0f32; b];
        c.logits(&qs[j * d..(j + 1) * d], &code, &mut one).unwrap();
        assert_eq!(&one[..], &all[j * b..(j + 1) * b]);
        let mut o = vec![0.25f32; d];
        c.attend(&ps[j * b..(j + 1) * b], &code, &mut o).unwrap();
        assert_eq!(&o[..], &outs[j * d..(j + 1) * d]);
    }
    // The trait's default batch (ChannelKeys) is the per-query loop too.
    let ck = ChannelKeys::new(d, b, 3.0, SideFormat::F16).unwrap();
    let mut kc = vec![0u8; ck.code_len()];
    ck.encode_into(&x, &mut kc).unwrap();
    ck.logits_batch(&qs, &kc, &mut all).unwrap();
    let mut one = vec![0f32; b];
    ck.logits(&qs[d..2 * d], &kc, &mut one).unwrap();
    assert_eq!(&one[..], &all[b..2 * b]);
}

#[test]
fn entropy_block_rate_and_error() {
    let (d, b) = (32usize, 128usize);
    let x = keys(b, d, 21);
    let mut prev = f64::INFINITY;
    for bits in [1.0f32, 2.0, 2.5, 3.0, 4.0, 6.0] {
        let c = entropy_codec(d, b, bits, 22);
        // Everything stored is in the fixed budget: ⌊bits·B·d/8⌋ bytes.
        assert_eq!(c.code_len(), (bits as f64 * (b * d) as f64 / 8.0).floor() as usize);
        assert!(c.bits_per_dim() <= f64::from(bits) + 1e-12);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut y = vec![0f32; b * d];
        c.decode_into(&code, &mut y).unwrap();
        let e: f64 = x.iter().zip(&y).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
        let r: f64 = x.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>();
        let rel = (e / r).sqrt();
        assert!(rel < prev, "bits {bits}: {rel} ≥ {prev}");
        prev = rel;
    }
    // At 6 bits/dim the identity codec is accurate to well under 1 %.
    assert!(prev < 0.01, "{prev}");
    // Deterministic: the same block gives the same code.
    let c = entropy_codec(d, b, 3.0, 22);
    let (mut a, mut a2) = (vec![0u8; c.code_len()], vec![0u8; c.code_len()]);
    c.encode_into(&x, &mut a).unwrap();
    c.encode_into(&x, &mut a2).unwrap();
    assert_eq!(a, a2);
}

#[test]
fn entropy_block_persist_and_cache() {
    let (d, b) = (16usize, 32usize);
    let c = entropy_codec(d, b, 3.0, 31).with_importance(&gauss(3 * d, 35), 5).unwrap();
    assert_eq!(c.fine_tokens(), 5);
    let back = EntropyBlock::from_bytes(&c.to_bytes().unwrap()).unwrap();
    assert_eq!(back, c);
    let bytes = c.to_bytes().unwrap();
    for n in 0..bytes.len() {
        assert!(EntropyBlock::from_bytes(&bytes[..n]).is_err(), "truncated at {n}");
    }
    assert!(ChannelKeys::from_bytes(&bytes).is_err());
    // Appending one token at a time gives the codes of encoding the blocks at once.
    let n = 2 * b + 3;
    let (k, v) = (keys(n, d, 32), gauss(n * d, 33));
    let vc = EntropyBlock::new(d, b, 2.5).unwrap().calibrate(&gauss(4 * d * d, 34), None).unwrap();
    let mut cache = KvCache::new(c.clone(), vc.clone(), SideFormat::F32).unwrap();
    for t in 0..n {
        cache.append(&k[t * d..(t + 1) * d], &v[t * d..(t + 1) * d]).unwrap();
    }
    let mut kcodes = vec![0u8; 2 * c.code_len()];
    c.encode_batch(&k[..2 * b * d], &mut kcodes).unwrap();
    let mut vcodes = vec![0u8; 2 * vc.code_len()];
    vc.encode_batch(&v[..2 * b * d], &mut vcodes).unwrap();
    assert_eq!(cache.key_codes(), &kcodes[..]);
    assert_eq!(cache.value_codes(), &vcodes[..]);
}

/// Fine tokens: the flagged tokens are the top `fine` by probe score, and their error is
/// smaller than the others'.
#[test]
fn entropy_block_fine_tokens() {
    let (d, b) = (16usize, 64usize);
    let x = gauss(b * d, 41);
    let probe: Vec<f32> = (0..d).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    let c = EntropyBlock::new(d, b, 3.0).unwrap().with_importance(&probe, 16).unwrap();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut order: Vec<usize> = (0..b).collect();
    order.sort_by(|&a, &bb| x[bb * d].partial_cmp(&x[a * d]).unwrap().then(a.cmp(&bb)));
    let flags = &code[2 + 4 * d..2 + 4 * d + b / 8];
    for (r, &t) in order.iter().enumerate() {
        assert_eq!(flags[t / 8] >> (t % 8) & 1 == 1, r < 16, "token {t} rank {r}");
    }
    let mut y = vec![0f32; b * d];
    c.decode_into(&code, &mut y).unwrap();
    let err = |ts: &[usize]| -> f64 {
        ts.iter().map(|&t| (0..d).map(|j| f64::from(x[t * d + j] - y[t * d + j]).powi(2)).sum::<f64>()).sum::<f64>()
            / ts.len() as f64
    };
    let (fine, coarse) = order.split_at(16);
    assert!(err(fine) < 0.5 * err(coarse), "{} vs {}", err(fine), err(coarse));
    assert!(EntropyBlock::new(d, b, 3.0).unwrap().with_importance(&probe, b + 1).is_err());
    assert!(EntropyBlock::new(d, b, 3.0).unwrap().with_importance(&[], 4).is_err());
    assert!(EntropyBlock::new(d, b, 3.0).unwrap().with_importance(&[f32::NAN; 16], 4).is_err());
}

#[test]
fn entropy_block_bad_input() {
    let (d, b) = (8usize, 16usize);
    assert!(EntropyBlock::new(0, 16, 3.0).is_err());
    assert!(EntropyBlock::new(8, 0, 3.0).is_err());
    assert!(EntropyBlock::new(8, 2048, 3.0).is_err()); // B·d > 8192
    assert!(EntropyBlock::new(8, 16, f32::NAN).is_err());
    assert!(EntropyBlock::new(8, 16, -1.0).is_err());
    assert!(EntropyBlock::new(8, 4, 3.0).is_err()); // budget below the header
    let c = EntropyBlock::new(d, b, 3.0).unwrap();
    assert!(c.clone().calibrate(&gauss(d, 1), None).is_err());
    assert!(c.clone().calibrate(&gauss(7 * d + 1, 1), None).is_err());
    let mut nan = gauss(4 * d, 1);
    nan[5] = f32::NAN;
    assert_eq!(c.clone().calibrate(&nan, None), Err(Error::NonFinite));
    assert_eq!(c.clone().calibrate(&gauss(4 * d, 1), Some(&nan)), Err(Error::NonFinite));
    assert!(c.clone().with_transform(&[0.0; 7], &[0.0; 64], &[0.0; 64]).is_err());
    let mut x = gauss(b * d, 2);
    let mut code = vec![0u8; c.code_len()];
    assert!(c.encode_into(&x[1..], &mut code).is_err());
    assert!(c.encode_into(&x, &mut code[1..]).is_err());
    x[3] = f32::INFINITY;
    assert_eq!(c.encode_into(&x, &mut code), Err(Error::NonFinite));
    x[3] = 1e6; // mean beyond f16
    let big = vec![1e6f32; b * d];
    assert_eq!(c.encode_into(&big, &mut code), Err(Error::Overflow));
    c.encode_into(&gauss(b * d, 3), &mut code).unwrap();
    let mut out = vec![0f32; b * d];
    assert!(c.decode_into(&code[1..], &mut out).is_err());
    let mut l = vec![0f32; b];
    assert!(c.logits(&[f32::NAN; 8], &code, &mut l).is_err());
    assert!(c.logits(&[1.0; 7], &code, &mut l).is_err());
    assert!(c.logits_batch(&[1.0; 16], &code, &mut l).is_err());
    assert!(c.attend(&[f32::NAN; 16], &code, &mut [0f32; 8]).is_err());
    let mut bad = code.clone();
    bad[0] = 0xff;
    bad[1] = 0x7f; // NaN step
    assert!(matches!(c.decode_into(&bad, &mut out), Err(Error::Corrupt(_))));
    bad[1] = 0x80; // −0 step
    bad[0] = 0;
    assert!(matches!(c.logits(&[1.0; 8], &bad, &mut l), Err(Error::Corrupt(_))));
    // Arbitrary bytes: Err or finite, never a panic.
    let mut r = Rng::new(5);
    for _ in 0..200 {
        let junk: Vec<u8> = (0..c.code_len()).map(|_| r.next_u32() as u8).collect();
        if c.decode_into(&junk, &mut out).is_ok() {
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }
}

/// Real MiniLM keys (skipped without the shared data): the query-weighted KLT fitted on window
/// 0's first 128 tokens of head 0, keys 128..511 of window 1 at 3.5 bits.
#[test]
fn entropy_block_real_keys() {
    let Some(dir) = common::data_dir("kv-minilm-l6") else {
        return;
    };
    let (d, b) = (32usize, 128usize);
    for layer in [0, 5] {
        let k = common::read_fvecs(dir.join(format!("L{layer}_key.fvecs"))).data;
        let q = common::read_fvecs(dir.join(format!("L{layer}_query.fvecs"))).data;
        let c = EntropyBlock::new(d, b, 3.5).unwrap().calibrate(&k[..128 * d], Some(&q[..128 * d])).unwrap();
        let w1 = 512 * d;
        let (km, qm) = (&k[w1 + 128 * d..w1 + 512 * d], &q[w1 + 128 * d..w1 + 512 * d]);
        let (mut e2, mut r2) = (0f64, 0f64);
        let mut code = vec![0u8; c.code_len()];
        let mut l = vec![0f32; 384 * b];
        for (blk, kb) in km.chunks_exact(b * d).enumerate() {
            c.encode_into(kb, &mut code).unwrap();
            c.logits_batch(qm, &code, &mut l).unwrap();
            for (qr, lr) in qm.chunks_exact(d).zip(l.chunks_exact(b)) {
                for (t, &est) in lr.iter().enumerate() {
                    let kt = &km[(blk * b + t) * d..(blk * b + t + 1) * d];
                    let ex: f32 = kt.iter().zip(qr).map(|(a, b)| a * b).sum();
                    e2 += f64::from(est - ex).powi(2);
                    r2 += f64::from(ex).powi(2);
                }
            }
        }
        let rel = (e2 / r2).sqrt();
        // Measured 0.109 (L0, a head whose window-1 keys drift from window 0's prefix) and
        // 0.039 (L5); all heads and windows: examples/kv_cache.md (`ek3.5-w0`).
        let bound = if layer == 0 { 0.13 } else { 0.05 };
        assert!(rel < bound, "L{layer}: rel. logit error {rel}");
    }
}

/// A corrupt group scale (negative, NaN, infinite) is refused by decoding and by attention from
/// codes alike, on the packed-row path (groups of 8k channels) and the token loop, for every
/// side format.
#[test]
fn token_values_attend_refuses_corrupt_scales() {
    for (g, sym, side) in [
        (16usize, true, SideFormat::F16),
        (16, false, SideFormat::Bf16),
        (8, false, SideFormat::F32),
        (4, true, SideFormat::F16),
        (4, false, SideFormat::F32),
    ] {
        let (d, b) = (16usize, 10usize);
        let c = TokenValues::new(d, b, 3, g, sym, side).unwrap();
        let x = keys(b, d, 3);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let p = vec![0.1f32; b];
        let s = side.bytes();
        let neg: Vec<u8> = match side {
            SideFormat::F32 => (-1.0f32).to_le_bytes().to_vec(),
            SideFormat::F16 => vec![0x00, 0xBC],
            SideFormat::Bf16 => vec![0x80, 0xBF],
        };
        let nan: Vec<u8> = match side {
            SideFormat::F32 => f32::NAN.to_le_bytes().to_vec(),
            SideFormat::F16 => vec![0x01, 0x7F],
            SideFormat::Bf16 => vec![0xC0, 0x7F],
        };
        let inf: Vec<u8> = match side {
            SideFormat::F32 => f32::INFINITY.to_le_bytes().to_vec(),
            SideFormat::F16 => vec![0x00, 0x7C],
            SideFormat::Bf16 => vec![0x80, 0x7F],
        };
        let tl = c.code_len() / b;
        for bad in [&neg, &nan, &inf] {
            // The step of the last group of token 7.
            let at = 7 * tl + (d / g - 1) * if sym { s } else { 2 * s } + if sym { 0 } else { s };
            let mut bc = code.clone();
            bc[at..at + s].copy_from_slice(bad);
            let mut o = vec![0f32; d];
            assert!(c.attend(&p, &bc, &mut o).is_err(), "g {g} sym {sym} {side:?} {bad:?}");
            let mut y = vec![0f32; c.dim()];
            assert!(c.decode_into(&bc, &mut y).is_err(), "decode g {g} sym {sym} {side:?} {bad:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EntropyBlock at a caller's step, one step shared by several heads, and the Gaussian R-D
// reference.

use vector_codecs::kv::{GaussianRd, encode_shared_step, water_level};

/// The f16 step an `EntropyBlock` code stores (its first two bytes).
fn stored_step(code: &[u8]) -> f32 {
    vector_codecs::scalar::float::f16_to_f32(u16::from_le_bytes([code[0], code[1]]))
}

#[test]
fn encode_at_step_equals_the_rate_path_at_its_own_step() {
    let (d, b) = (32usize, 128usize);
    let probes = gauss(5 * d, 9);
    for (i, c) in [
        EntropyBlock::new(d, b, 3.5).unwrap(),
        entropy_codec(d, b, 3.5, 7),
        entropy_codec(d, b, 2.5, 8).with_importance(&probes, b / 4).unwrap(),
        entropy_codec(16, 32, 4.0, 9),
    ]
    .into_iter()
    .enumerate()
    {
        let x = keys(c.block_tokens(), c.head_dim(), 40 + i as u64);
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut again = vec![0xAAu8; c.code_len()];
        let n = c.encode_at_step(&x, stored_step(&code), &mut again).unwrap();
        assert_eq!(code, again, "codec {i}");
        assert!(n <= c.code_len());
        assert!(again[n..].iter().all(|&v| v == 0), "codec {i}: padding after the coded bytes");
        // The rate path picks the smallest step that fits: one f16 step below does not.
        let below = vector_codecs::scalar::float::f16_to_f32(u16::from_le_bytes([code[0], code[1]]) - 1);
        assert_eq!(c.encode_at_step(&x, below, &mut again), Err(Error::Overflow), "codec {i}");
    }
}

#[test]
fn encode_at_step_round_trip() {
    let (d, b) = (16usize, 64usize);
    let c = EntropyBlock::new(d, b, 4.0).unwrap(); // identity transform: y = x
    let x = keys(b, d, 21);
    let mut code = vec![0u8; c.code_len()];
    let mut out = vec![0f32; b * d];
    c.encode_into(&x, &mut code).unwrap();
    let s0 = stored_step(&code);
    let f16 = |v: f32| vector_codecs::scalar::float::f16_to_f32(vector_codecs::scalar::float::f16_from_f32(v));
    for step in [s0, f16(1.5 * s0), f16(2.0 * s0), f16(4.0 * s0)] {
        let n = c.encode_at_step(&x, step, &mut code).unwrap();
        assert!(n <= c.code_len() && code[n..].iter().all(|&v| v == 0));
        assert_eq!(stored_step(&code), step);
        c.decode_into(&code, &mut out).unwrap();
        for (a, e) in x.iter().zip(&out) {
            assert!((a - e).abs() <= 0.5 * step * (1.0 + 1e-5), "step {step}: {a} vs {e}");
        }
        // A coarser step never needs more bytes here.
        let n2 = c.encode_at_step(&x, 2.0 * step, &mut vec![0u8; c.code_len()]).unwrap();
        assert!(n2 <= n, "step {step}: {n2} > {n}");
    }
    // Bad steps are errors, never a panic.
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY, 1e6, 1e-9] {
        assert!(matches!(c.encode_at_step(&x, bad, &mut code), Err(Error::InvalidParameter(_))), "{bad}");
    }
    assert_eq!(c.encode_at_step(&x, 1e-7, &mut code), Err(Error::Overflow)); // far beyond the budget
    assert!(c.encode_at_step(&x[1..], 1.0, &mut code).is_err());
    assert!(c.encode_at_step(&x, 1.0, &mut code[1..]).is_err());
    let mut nan = x.clone();
    nan[4] = f32::NAN;
    assert_eq!(c.encode_at_step(&nan, 1.0, &mut code), Err(Error::NonFinite));
}

#[test]
fn shared_step_meets_the_budget_and_codes_decode() {
    let (d, b) = (32usize, 64usize);
    let nominal = 3.0f32;
    // Four heads whose blocks differ in scale: a shared step gives the wide ones more bytes.
    let codecs: Vec<EntropyBlock> = (0..4).map(|h| entropy_codec(d, b, 2.0 * nominal, 60 + h)).collect();
    let blocks: Vec<Vec<f32>> =
        (0..4).map(|h| keys(b, d, 70 + h).iter().map(|v| v * (0.25 + h as f32)).collect()).collect();
    let refs: Vec<&EntropyBlock> = codecs.iter().collect();
    let brefs: Vec<&[f32]> = blocks.iter().map(|v| v.as_slice()).collect();
    let cl = codecs[0].code_len();
    let budget = 4 * (nominal as usize * b * d / 8);
    let mut codes = vec![0u8; 4 * cl];
    let r = encode_shared_step(&refs, &brefs, budget, &mut codes).unwrap();
    assert_eq!(r.bytes.len(), 4);
    let used: usize = r.bytes.iter().sum();
    assert!(used <= budget, "{used} > {budget}");
    assert!(used as f64 >= 0.9 * budget as f64, "budget badly under-used: {used} of {budget}");
    // The wider blocks take more bytes than an even share, the narrow ones fewer.
    assert!(r.bytes[3] > budget / 4 && r.bytes[0] < budget / 4, "{:?}", r.bytes);
    let mut out = vec![0f32; b * d];
    for (i, c) in codecs.iter().enumerate() {
        let code = &codes[i * cl..(i + 1) * cl];
        let st = stored_step(code);
        assert!(st >= r.step, "block {i}: {st} < shared {}", r.step);
        assert!(code[r.bytes[i]..].iter().all(|&v| v == 0));
        // Each code is the block encoded at its stored step.
        let mut again = vec![0u8; cl];
        assert_eq!(c.encode_at_step(&blocks[i], st, &mut again).unwrap(), r.bytes[i]);
        assert_eq!(code, &again[..]);
        c.decode_into(code, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
    }
    assert!((0..4).any(|i| stored_step(&codes[i * cl..]) == r.step));
    // One step coarser than the shared one would also fit; one finer would not.
    let finer = vector_codecs::scalar::float::f16_to_f32(vector_codecs::scalar::float::f16_from_f32(r.step) - 1);
    let over: usize = codecs
        .iter()
        .zip(&blocks)
        .enumerate()
        .map(|(i, (c, x))| {
            // Blocks above the shared step are at their minimum and stay there.
            let stored = stored_step(&codes[i * cl..]);
            let st = if stored > r.step { stored } else { finer };
            c.encode_at_step(x, st, &mut vec![0u8; cl]).unwrap_or(usize::MAX / 8)
        })
        .sum();
    assert!(over > budget, "a finer shared step also fits: {over} ≤ {budget}");
}

#[test]
fn shared_step_bad_input_is_an_error() {
    let (d, b) = (8usize, 16usize);
    let c = EntropyBlock::new(d, b, 4.0).unwrap();
    let x = gauss(b * d, 3);
    let mut codes = vec![0u8; 2 * c.code_len()];
    let two = [&c, &c];
    let ok = [x.as_slice(), x.as_slice()];
    assert!(encode_shared_step(&two, &ok, 2 * c.code_len(), &mut codes).is_ok());
    assert!(matches!(encode_shared_step(&[], &[], 100, &mut []), Err(Error::InvalidParameter(_))));
    assert!(matches!(encode_shared_step(&two, &ok, 0, &mut codes), Err(Error::InvalidParameter(_))));
    assert!(matches!(encode_shared_step(&two, &ok[..1], 100, &mut codes), Err(Error::InvalidParameter(_))));
    assert!(encode_shared_step(&two, &ok, 100, &mut codes[1..]).is_err());
    assert!(encode_shared_step(&two, &[&x[1..], &x], 100, &mut codes).is_err());
    let mut nan = x.clone();
    nan[7] = f32::NAN;
    assert_eq!(encode_shared_step(&two, &[&x, &nan], 2 * c.code_len(), &mut codes), Err(Error::NonFinite));
    let mut inf = x.clone();
    inf[0] = f32::INFINITY;
    assert_eq!(encode_shared_step(&two, &[&inf, &x], 2 * c.code_len(), &mut codes), Err(Error::NonFinite));
    // A budget below the headers: nothing fits even at the largest step.
    assert_eq!(encode_shared_step(&two, &ok, 10, &mut codes), Err(Error::Overflow));
    let big = vec![1e6f32; b * d]; // mean beyond f16
    assert_eq!(encode_shared_step(&two, &[&x, &big], 2 * c.code_len(), &mut codes), Err(Error::Overflow));
}

#[test]
fn water_level_closed_form() {
    let v = [4.0f64, 1.0, 0.25];
    // 1 bit: only the first component is active, θ = 4·2^−2 = 1, D = 1 + 1 + 0.25.
    // 2 bits: two active, θ = √(4·1)·2^−2 = 0.5, D = 0.5 + 0.5 + 0.25.
    // 6 bits: all active, θ = (4·1·0.25)^{1/3}·2^−4 = 1/16, D = 3/16.
    for (bits, theta, dist) in [(0.0, 4.0, 5.25), (1.0, 1.0, 2.25), (2.0, 0.5, 1.25), (6.0, 0.0625, 0.1875)] {
        let t = water_level(&v, bits).unwrap();
        assert!((t - theta).abs() < 1e-12, "{bits} bits: θ = {t}");
        let rd = GaussianRd::new(&[0.0; 3], &v, bits).unwrap();
        assert!((rd.total_distortion() - dist).abs() < 1e-12, "{bits} bits: D = {}", rd.total_distortion());
        assert!((rd.rate_bits() - bits).abs() < 1e-9, "{bits} bits: rate {}", rd.rate_bits());
    }
    // Equal variances: D(R) = d·σ²·2^(−2R/d).
    let rd = GaussianRd::new(&[0.0; 8], &[2.0; 8], 12.0).unwrap();
    assert!((rd.total_distortion() - 8.0 * 2.0 * 2f64.powf(-3.0)).abs() < 1e-12);
    // Zero variances get no rate; all zero: level 0.
    assert_eq!(water_level(&[0.0, 0.0], 3.0).unwrap(), 0.0);
    let t = water_level(&[1.0, 0.0], 2.0).unwrap();
    assert!((t - 0.0625).abs() < 1e-12);
    // The rate is continuous and decreasing in θ: a finer rate grid brackets the level.
    let mut last = f64::INFINITY;
    for i in 0..50 {
        let t = water_level(&v, 0.2 * i as f64).unwrap();
        assert!(t <= last);
        last = t;
    }
    for bad in [&[][..], &[f64::NAN][..], &[-1.0][..], &[f64::INFINITY][..]] {
        assert!(water_level(bad, 1.0).is_err());
    }
    assert!(water_level(&v, -1.0).is_err());
    assert!(water_level(&v, f64::NAN).is_err());
    assert!(GaussianRd::from_theta(&[0.0; 2], &[1.0; 3], 0.5).is_err());
    assert!(GaussianRd::from_theta(&[], &[], 0.5).is_err());
    assert!(GaussianRd::from_theta(&[0.0], &[1.0], -0.5).is_err());
    assert!(GaussianRd::from_theta(&[f64::NAN], &[1.0], 0.5).is_err());
}

#[test]
fn ideal_channel_simulation_has_the_rd_distortion() {
    // Gaussian source with these variances: the test channel's squared error per component
    // is D_i = min(θ, σ_i²) (empirically, 40,000 samples), and x̂'s variance is σ_i² − D_i.
    let (mean, var) = ([1.0f64, -2.0, 0.5, 0.0], [9.0f64, 1.0, 0.3, 0.01]);
    let rd = GaussianRd::new(&mean, &var, 5.0).unwrap();
    let n = 40_000;
    let mut r = Rng::new(77);
    let x: Vec<f32> = (0..n * 4).map(|i| (mean[i % 4] + var[i % 4].sqrt() * r.gaussian()) as f32).collect();
    let mut xh = vec![0f32; x.len()];
    rd.simulate(&x, &mut Rng::new(78), &mut xh).unwrap();
    for i in 0..4 {
        let err: f64 = (0..n).map(|t| f64::from(x[4 * t + i] - xh[4 * t + i]).powi(2)).sum::<f64>() / n as f64;
        let di = rd.distortion(i);
        assert!((err - di).abs() <= 0.05 * di + 1e-6, "component {i}: {err} vs D = {di}");
        let m: f64 = (0..n).map(|t| f64::from(xh[4 * t + i])).sum::<f64>() / n as f64;
        let v: f64 = (0..n).map(|t| (f64::from(xh[4 * t + i]) - m).powi(2)).sum::<f64>() / n as f64;
        assert!((v - (var[i] - di)).abs() <= 0.05 * var[i] + 1e-6, "component {i}: var(x̂) {v}");
    }
    // Deterministic for a seed; bad shapes are errors.
    let mut again = vec![0f32; x.len()];
    rd.simulate(&x, &mut Rng::new(78), &mut again).unwrap();
    assert_eq!(xh, again);
    assert!(rd.simulate(&x[1..], &mut Rng::new(1), &mut again[1..]).is_err());
    assert!(rd.simulate(&x, &mut Rng::new(1), &mut again[4..]).is_err());
    assert_eq!(rd.simulate(&[f32::NAN; 4], &mut Rng::new(1), &mut [0f32; 4]), Err(Error::NonFinite));
}
