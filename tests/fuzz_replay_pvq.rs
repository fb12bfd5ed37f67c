//! Replays the checked-in seed corpora of the PVQ fuzz targets (indexes, codes, parameters).
//! `cargo test --test fuzz_replay_pvq -- --ignored write_pvq_corpus` regenerates them.
mod common;

#[path = "../fuzz/targets/pvq_indexes.rs"]
mod pvq_indexes;

#[path = "../fuzz/targets/pvq_codes.rs"]
mod pvq_codes;

#[path = "../fuzz/targets/pvq_params.rs"]
mod pvq_params;

#[path = "../fuzz/targets/pvq_split.rs"]
mod pvq_split;

#[path = "../fuzz/targets/pvq_split_params.rs"]
mod pvq_split_params;

#[test]
fn pvq_indexes_corpus() {
    assert!(common::replay_corpus("pvq_indexes", pvq_indexes::run) >= 4);
}

#[test]
fn pvq_codes_corpus() {
    assert!(common::replay_corpus("pvq_codes", pvq_codes::run) >= 4);
}

#[test]
fn pvq_params_corpus() {
    assert!(common::replay_corpus("pvq_params", pvq_params::run) >= 3);
}

#[test]
fn pvq_split_corpus() {
    assert!(common::replay_corpus("pvq_split", pvq_split::run) >= 8);
}

#[test]
fn pvq_split_params_corpus() {
    assert!(common::replay_corpus("pvq_split_params", pvq_split_params::run) >= 6);
}

#[test]
#[ignore]
fn write_pvq_corpus() {
    use vector_codecs::Codec;
    use vector_codecs::persist::Persist;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |t: &str, name: &str, b: &[u8]| {
        std::fs::create_dir_all(root.join(t)).unwrap();
        std::fs::write(root.join(t).join(name), b).unwrap();
    };
    // Indexes: (N, K, index) — valid, last valid, past V, wide counts.
    let mut v = vec![4u8, 3];
    v.extend_from_slice(&22u128.to_le_bytes());
    write("pvq_indexes", "n4_k3_i22", &v);
    let mut v = vec![7u8, 9]; // N = 8, K = 9: V = 1 341 640 (nothing above is valid)
    v.extend_from_slice(&1_341_639u128.to_le_bytes());
    write("pvq_indexes", "n8_k9_last", &v);
    let mut v = vec![7u8, 9];
    v.extend_from_slice(&1_341_640u128.to_le_bytes());
    write("pvq_indexes", "n8_k9_past_v", &v);
    let mut v = vec![31u8, 44];
    v.extend_from_slice(&u128::MAX.to_le_bytes());
    write("pvq_indexes", "n32_k44_max", &v);
    write("pvq_indexes", "wide_counts", &[1, 2, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]);
    // Codes: a valid code of each codec, and corrupt ones.
    let x: Vec<f32> = (0..40).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
    for (j, c) in pvq_codes::codecs().iter().enumerate() {
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x, &mut code).unwrap();
        let mut v = vec![j as u8];
        v.extend_from_slice(&code);
        write("pvq_codes", &format!("valid_{j}"), &v);
        let mut bad = v.clone();
        for b in bad[3..].iter_mut() {
            *b = 0xff;
        }
        write("pvq_codes", &format!("all_ones_{j}"), &bad);
    }
    // Split codes: a valid code of each codec, all ones, and a truncated one.
    let x97: Vec<f32> = (0..97).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0 * if i < 30 { 4.0 } else { 1.0 }).collect();
    for (j, c) in pvq_split::codecs().iter().enumerate() {
        let mut code = vec![0u8; c.code_len()];
        c.encode_into(&x97[..c.dim()], &mut code).unwrap();
        let mut v = vec![j as u8];
        v.extend_from_slice(&code);
        write("pvq_split", &format!("valid_{j}"), &v);
        let mut bad = v.clone();
        for b in bad[3..].iter_mut() {
            *b = 0xff;
        }
        write("pvq_split", &format!("all_ones_{j}"), &bad);
        write("pvq_split", &format!("truncated_{j}"), &v[..v.len() / 2]);
    }
    // Parameters: each codec's persisted fields, and a corrupt copy.
    for (j, c) in pvq_codes::codecs().iter().enumerate().take(2) {
        let mut w = vector_codecs::format::Writer::new(0x0700);
        c.persist(&mut w);
        let bytes = w.finish().unwrap();
        let mut r = vector_codecs::format::open(&bytes, 0x0700).unwrap();
        let body = r.bytes(r.remaining()).unwrap();
        write("pvq_params", &format!("valid_{j}"), body);
        let mut bad = body.to_vec();
        let n = bad.len();
        bad[n - 1] = 0xff;
        write("pvq_params", &format!("corrupt_k_{j}"), &bad);
    }
    write("pvq_params", "huge_group", &[8, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0]);
    // Split parameters: each split codec's bare block and container, and hostile fields.
    for (j, c) in pvq_split::codecs().iter().enumerate() {
        let mut w = vector_codecs::format::Writer::new(0x0700);
        c.persist(&mut w);
        let bytes = w.finish().unwrap();
        let mut r = vector_codecs::format::open(&bytes, 0x0700).unwrap();
        write("pvq_split_params", &format!("valid_{j}"), r.bytes(r.remaining()).unwrap());
        write("pvq_split_params", &format!("container_{j}"), &c.to_bytes().unwrap());
    }
    let block = |dim: u32, len: u32, leaf: u8, bits: u8, search: u8| {
        let mut v = dim.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&[leaf, bits, search]);
        v
    };
    write("pvq_split_params", "huge_dim", &block(1 << 20, 100, 32, 128, 0));
    write("pvq_split_params", "max_dim_max_len", &block(1 << 16, 1 << 19, 64, 128, 1));
    write("pvq_split_params", "len_over_64_bits", &block(96, 8 * 96 + 1, 32, 128, 0));
    write("pvq_split_params", "leaf_65", &block(96, 36, 65, 128, 0));
    write("pvq_split_params", "leaf_bits_48", &block(96, 36, 32, 48, 0));
    write("pvq_split_params", "tiny_rate", &block(96, 4, 32, 128, 0));
    write("pvq_split_params", "dim_1", &block(1, 8, 2, 32, 0));
}
