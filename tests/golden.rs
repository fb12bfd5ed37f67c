//! Determinism: for a fixed seed and fixed training data, every factory name writes the same
//! parameter bytes and the same codes on every SIMD backend, feature set and target.
//!
//! The expected hashes live in `tests/golden/codes.txt` (`name metric hash` per line). CI runs
//! this test once per backend the machine has (`VECTOR_CODECS_SIMD=portable|avx2`, and the
//! detected default, AVX-512 where present) and with `--no-default-features --features alloc`.
//! After an intended format change, regenerate the file with
//! `VECTOR_CODECS_BLESS=1 cargo test --test golden` and say why in the commit.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use vector_codecs::factory;
use vector_codecs::metric::Metric;

fn fnv1a64(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

fn golden_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/codes.txt")
}

#[test]
fn codes_and_parameters_match_the_golden_hashes() {
    let dir = common::shipped_dir();
    // Read here, not with `vector_codecs::io` (std-only): this test also runs without `std`.
    let bytes = std::fs::read(dir.join("wordnet_base.fvecs")).expect("shipped base");
    let full = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    // d = 96 keeps the test fast and exercises a non-power-of-two dimension.
    let dim = 96;
    let rows: Vec<f32> = bytes
        .chunks_exact(4 + 4 * full)
        .take(1200)
        .flat_map(|r| r[4..4 + 4 * dim].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())))
        .collect();
    let (train, sample) = rows.split_at(1000 * dim);
    let mut got = BTreeMap::new();
    for name in factory::names() {
        for metric in [Metric::InnerProduct, Metric::L2] {
            let codec = factory::build(name, dim, metric, 0xC0DE, train).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut codes = vec![0u8; sample.len() / dim * codec.code_len()];
            codec.encode_batch(sample, &mut codes).unwrap();
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            fnv1a64(&mut h, &codec.save().unwrap());
            fnv1a64(&mut h, &codes);
            got.insert(format!("{name} {}", metric.name()), format!("{h:016x}"));
        }
    }
    let path = golden_path();
    if std::env::var_os("VECTOR_CODECS_BLESS").is_some() {
        let mut s = String::new();
        for (k, v) in &got {
            writeln!(s, "{k} {v}").unwrap();
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, s).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).expect("tests/golden/codes.txt (bless with VECTOR_CODECS_BLESS=1)");
    let want: BTreeMap<String, String> =
        text.lines().filter_map(|l| l.rsplit_once(' ').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    let mut bad = Vec::new();
    for (k, v) in &got {
        match want.get(k) {
            Some(w) if w == v => {}
            Some(w) => bad.push(format!("{k}: {v} (golden {w})")),
            None => bad.push(format!("{k}: not in the golden file")),
        }
    }
    let backend = vector_codecs::simd::backend();
    assert!(bad.is_empty(), "backend {backend:?}: codes or parameters changed:\n{}", bad.join("\n"));
}
