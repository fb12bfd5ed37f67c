//! Replays the checked-in seed corpora of the KV fuzz targets (`kv_params`, `kv_codes`), checks
//! that exactly the `valid_*` parameter seeds parse, runs random mutations of every seed, and
//! (ignored) regenerates the corpora.
// `kv_codes` and `kv_entropy` each include the shared `kv_support.rs` (each body also builds
// alone in the fuzz crate); here that module is compiled once per body.
#![allow(clippy::duplicate_mod)]
mod common;

#[path = "../fuzz/targets/kv_params.rs"]
mod kv_params;

#[path = "../fuzz/targets/kv_codes.rs"]
mod kv_codes;

#[path = "../fuzz/targets/kv_entropy.rs"]
mod kv_entropy;

#[path = "../fuzz/targets/kv_shared_step.rs"]
mod kv_shared_step;

use vector_codecs::kv::{ChannelKeys, Outliers, TokenValues};

#[test]
fn kv_params_corpus() {
    assert!(common::replay_corpus("kv_params", kv_params::run) >= 8);
}

#[test]
fn kv_codes_corpus() {
    assert!(common::replay_corpus("kv_codes", kv_codes::run) >= 8);
}

#[test]
fn kv_entropy_corpus() {
    assert!(common::replay_corpus("kv_entropy", kv_entropy::run) >= 8);
    // Exactly the `params_valid_*` parameter seeds parse.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kv_entropy");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("params_") {
            let b = std::fs::read(&p).unwrap();
            let ok = vector_codecs::kv::EntropyBlock::from_bytes(&b[1..]).is_ok();
            assert_eq!(ok, name.starts_with("params_valid_"), "{name}");
        }
    }
}

#[test]
fn kv_shared_step_corpus() {
    assert!(common::replay_corpus("kv_shared_step", kv_shared_step::run) >= 8);
    // The seeds meant to fit are coded, the refused ones are not.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kv_shared_step");
    for (name, want) in [
        ("fit_4heads", true),
        ("fit_scaled", true),
        ("generous_3heads", true),
        ("short_values", true),
        ("zero_budget", false),
        ("tiny_budget", false),
        ("nan_value", false),
        ("inf_value", false),
    ] {
        let b = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(kv_shared_step::check(&b), Some(want), "{name}");
    }
}

/// Mutations of the `kv_shared_step` seeds (heads, budget, step and block values).
#[test]
fn kv_shared_step_mutations_never_panic() {
    common::mutate_corpora(&[("kv_shared_step", kv_shared_step::run)], 83, 40);
}

/// Writes the `kv_shared_step` seeds: budgets that fit, zero and too small budgets, NaN, inf
/// and huge values, odd steps.
#[test]
#[ignore = "regenerates fuzz/corpus/kv_shared_step"]
fn generate_shared_step_corpus() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kv_shared_step");
    std::fs::create_dir_all(&dir).unwrap();
    let vals = |n: usize, scale: f32, poke: Option<(usize, f32)>| -> Vec<u8> {
        let mut v: Vec<f32> =
            (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03 * scale + (i % 8) as f32 * 0.1).collect();
        if let Some((i, x)) = poke {
            v[i] = x;
        }
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    };
    let seed = |heads: u8, budget: u8, step: u16, body: Vec<u8>| -> Vec<u8> {
        let mut b = vec![heads, budget];
        b.extend_from_slice(&step.to_le_bytes());
        b.extend(body);
        b
    };
    let one = 0x3C00u16; // f16 1.0
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("fit_4heads", seed(3, 48, 0x2E66, vals(4 * 128, 1.0, None))),
        ("fit_scaled", seed(3, 60, one, vals(4 * 128, 4.0, None))),
        ("generous_3heads", seed(2, 255, 0x2000, vals(3 * 128, 1.0, None))),
        ("zero_budget", seed(0, 0, one, vals(128, 1.0, None))),
        ("tiny_budget", seed(1, 5, one, vals(2 * 128, 1.0, None))),
        ("nan_value", seed(1, 80, one, vals(2 * 128, 1.0, Some((130, f32::NAN))))),
        ("inf_value", seed(0, 80, one, vals(128, 1.0, Some((3, f32::INFINITY))))),
        ("huge_value", seed(2, 90, one, vals(3 * 128, 1.0, Some((7, 1e30))))),
        ("short_values", seed(3, 40, 0x7BFF, vals(20, 1.0, None))),
        ("nan_step", seed(0, 60, 0x7E00, vals(128, 1.0, None))),
        ("tiny_step", seed(0, 60, 0x0001, vals(128, 1.0, None))),
        ("negative_step", seed(0, 60, 0xBC00, vals(128, 1.0, None))),
    ];
    for (name, b) in seeds {
        std::fs::write(dir.join(name), b).unwrap();
    }
}

/// Mutations of the `kv_entropy` seeds (parameters and codes of `EntropyBlock`).
#[test]
fn kv_entropy_mutations_never_panic() {
    common::mutate_corpora(&[("kv_entropy", kv_entropy::run)], 79, 60);
}

/// Writes the `kv_entropy` seeds: valid parameters and codes, truncations, lies and corruptions.
#[test]
#[ignore = "regenerates fuzz/corpus/kv_entropy"]
fn generate_entropy_corpus() {
    use vector_codecs::format::Writer;
    use vector_codecs::kv::{EntropyBlock, KIND};
    use vector_codecs::{Codec, rng::Rng};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kv_entropy");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, sel: u8, b: &[u8]| {
        let mut v = vec![sel];
        v.extend_from_slice(b);
        std::fs::write(dir.join(name), v).unwrap()
    };
    let c = kv_entropy::fixed();
    write("params_valid_fixed", 0, &c.to_bytes().unwrap());
    write("params_valid_identity", 0, &EntropyBlock::new(4, 32, 2.5).unwrap().to_bytes().unwrap());
    let probes: Vec<f32> = (0..3 * 8).map(|i| (i as f32 * 0.37).sin()).collect();
    let ci = kv_entropy::fixed().with_importance(&probes, 4).unwrap();
    write("params_valid_importance", 0, &ci.to_bytes().unwrap());
    let mut x: Vec<f32> = (0..ci.dim()).map(|i| (i as f32 * 0.13).cos()).collect();
    x[17] = 9.0;
    let mut code = vec![0u8; ci.code_len()];
    ci.encode_into(&x, &mut code).unwrap();
    write("code_importance_for_plain_codec", 1, &code[..c.code_len().min(code.len())]);
    let raw = |d: u32, t: u32, bytes: u32, v: f32| {
        let mut w = Writer::new(KIND);
        w.u8(4).u32(d).u32(t).u32(bytes);
        w.f32s(&vec![v; (d.min(16) * (2 * d.min(16) + 1)) as usize]);
        w.u32(2).u32(1).f32s(&vec![v; d.min(16) as usize]);
        w.finish().unwrap()
    };
    let lying_probes = {
        let mut w = Writer::new(KIND);
        w.u8(4).u32(8).u32(16).u32(60).f32s(&[0.5; 8 * 17]).u32(2).u32(u32::MAX);
        w.finish().unwrap()
    };
    write("params_lying_probes", 0, &lying_probes);
    write("params_lying_dim", 0, &raw(u32::MAX, 8, 100, 1.0));
    write("params_huge_block", 0, &raw(1024, 4096, 100, 1.0));
    write("params_small_budget", 0, &raw(8, 8, 10, 1.0));
    write("params_nan", 0, &raw(8, 8, 60, f32::NAN));
    let mut b = c.to_bytes().unwrap();
    b.truncate(b.len() - 5);
    write("params_truncated", 0, &b);
    let mut r = Rng::new(11);
    for (i, scale) in [0.01f32, 1.0, 100.0, 3e4].iter().enumerate() {
        let x: Vec<f32> = (0..c.dim()).map(|_| r.gaussian() as f32 * scale).collect();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        write(&format!("code_valid_{i}"), 1, &code);
        let mut short = code.clone();
        short.pop();
        write(&format!("code_short_{i}"), 1, &short);
        let mut bad = code.clone();
        bad[0] = 0xff;
        bad[1] = 0x7f;
        write(&format!("code_nan_step_{i}"), 1, &bad);
    }
    let rnd: Vec<u8> = (0..c.code_len()).map(|_| r.next_u32() as u8).collect();
    write("code_random", 1, &rnd);
}

#[test]
fn valid_parameter_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kv_params");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let b = std::fs::read(&p).unwrap();
        let ok = ChannelKeys::from_bytes(&b).is_ok()
            || TokenValues::from_bytes(&b).is_ok()
            || Outliers::<ChannelKeys>::from_bytes(&b).is_ok();
        assert_eq!(ok, name.starts_with("valid_"), "{name}");
        n += 1;
    }
    assert!(n >= 8);
}

/// A few thousand random mutations (byte flips, truncations) of every seed through both bodies.
#[test]
fn random_mutations_never_panic() {
    common::mutate_corpora(&[("kv_params", kv_params::run), ("kv_codes", kv_codes::run)], 78, 150);
}

#[test]
#[ignore = "regenerates fuzz/corpus/kv_*"]
fn generate_corpora() {
    use vector_codecs::format::Writer;
    use vector_codecs::kv::KIND;
    use vector_codecs::rng::Rng;
    use vector_codecs::scalar::side::SideFormat;
    use vector_codecs::{Codec, Decode};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| std::fs::write(dir.join(t).join(name), b).unwrap();
    let t = "kv_params";
    let mut rng = Rng::new(4);
    let cal: Vec<f32> = (0..32 * 8).map(|_| rng.gaussian() as f32).collect();
    let ck = ChannelKeys::new(8, 8, 2.5, SideFormat::F16).unwrap();
    write(t, "valid_ck_plain", &ck.to_bytes().unwrap());
    let ckb = ChannelKeys::new(8, 16, 3.0, SideFormat::Bf16).unwrap().calibrate(&cal, Some(&cal)).unwrap();
    write(t, "valid_ck_basis", &ckb.to_bytes().unwrap());
    write(t, "valid_tv", &TokenValues::new(16, 4, 3, 8, true, SideFormat::F16).unwrap().to_bytes().unwrap());
    write(t, "valid_outliers", &Outliers::new(ck.clone(), 3, 8).unwrap().to_bytes().unwrap());
    let raw_ck = |d: u32, tokens: u32, total: u32, side: u8, clip: u8, w: f32, basis: u8| {
        let mut wr = Writer::new(KIND);
        wr.u8(1).u32(d).u32(tokens).u32(total).u8(side).u8(clip);
        wr.f32s(&vec![w; d.min(64) as usize]).u8(basis);
        wr.finish().unwrap()
    };
    write(t, "ck_tokens_not_multiple_of_8", &raw_ck(8, 12, 24, 1, 1, 1.0, 0));
    write(t, "ck_zero_bits", &raw_ck(8, 8, 0, 1, 1, 1.0, 0));
    write(t, "ck_too_many_bits", &raw_ck(8, 8, 65, 1, 1, 1.0, 0));
    write(t, "ck_lying_dim", &raw_ck(u32::MAX, 8, 24, 1, 1, 1.0, 0));
    write(t, "ck_huge_block", &raw_ck(1024, 4096, 24, 1, 1, 1.0, 0));
    write(t, "ck_bad_side", &raw_ck(8, 8, 24, 7, 1, 1.0, 0));
    write(t, "ck_bad_clip", &raw_ck(8, 8, 24, 1, 2, 1.0, 0));
    write(t, "ck_nan_weight", &raw_ck(8, 8, 24, 1, 1, f32::NAN, 0));
    write(t, "ck_negative_weight", &raw_ck(8, 8, 24, 1, 1, -1.0, 0));
    write(t, "ck_missing_basis", &raw_ck(8, 8, 24, 1, 1, 1.0, 1));
    let mut b = ckb.to_bytes().unwrap();
    let n = b.len();
    b[n - 40..n - 36].copy_from_slice(&7.0f32.to_le_bytes());
    write(t, "ck_basis_corrupt", &b);
    let raw_tv = |d: u32, tokens: u32, bits: u8, group: u32, sym: u8, side: u8| {
        let mut wr = Writer::new(KIND);
        wr.u8(2).u32(d).u32(tokens).u8(bits).u32(group).u8(sym).u8(side);
        wr.finish().unwrap()
    };
    write(t, "tv_group_not_dividing", &raw_tv(16, 4, 3, 5, 1, 1));
    write(t, "tv_bits_9", &raw_tv(16, 4, 9, 8, 1, 1));
    write(t, "tv_d_not_multiple_of_8", &raw_tv(12, 4, 3, 4, 1, 1));
    write(t, "tv_bad_sym", &raw_tv(16, 4, 3, 8, 3, 1));
    write(t, "tv_lying_tokens", &raw_tv(16, u32::MAX, 3, 8, 1, 1));
    let mut o = Outliers::new(ck.clone(), 3, 8).unwrap().to_bytes().unwrap();
    let n = o.len();
    o[n - 12..n - 8].copy_from_slice(&1000u32.to_le_bytes());
    write(t, "outliers_too_many", &o);
    let mut bad = ck.to_bytes().unwrap();
    bad[14] ^= 1;
    write(t, "bad_checksum", &bad);
    write(t, "wrong_kind", &Writer::new(0x0100).finish().unwrap());

    let t = "kv_codes";
    let block = |c: &dyn Codec, seed: u64| {
        let mut r = Rng::new(seed);
        let x: Vec<f32> = (0..c.dim()).map(|_| r.gaussian() as f32).collect();
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        code
    };
    let cfgs: Vec<(u8, Box<dyn Codec>)> = vec![
        (0, Box::new(ChannelKeys::new(8, 8, 3.0, SideFormat::F16).unwrap())),
        (1, Box::new(ChannelKeys::new(5, 16, 2.4, SideFormat::F32).unwrap())),
        (2, Box::new(TokenValues::new(16, 4, 3, 8, false, SideFormat::Bf16).unwrap())),
        (0x82, Box::new(TokenValues::new(16, 4, 3, 8, true, SideFormat::Bf16).unwrap())),
        (3, Box::new(Outliers::new(ChannelKeys::new(8, 8, 2.5, SideFormat::Bf16).unwrap(), 3, 8).unwrap())),
        (4, Box::new(TokenValues::new(8, 2, 2, 4, false, SideFormat::F16).unwrap())),
    ];
    for (sel, c) in &cfgs {
        let mut v = vec![*sel];
        v.extend(block(c.as_ref(), u64::from(*sel)));
        write(t, &format!("valid_sel{sel:02x}"), &v);
        let mut short = v.clone();
        short.pop();
        write(t, &format!("short_sel{sel:02x}"), &short);
    }
    for sel in [0u8, 1, 2, 3, 4] {
        let mut v = vec![sel];
        v.extend((0..120).map(|_| rng.next_u32() as u8));
        write(t, &format!("random_sel{sel:02x}"), &v);
    }
    let _ = <ChannelKeys as Decode>::decode_into;
}
