//! Fuzz body: arbitrary code bytes for four recursive-split PVQ codecs
//! ([`SplitCodec`](vector_codecs::pvq::SplitCodec): d = 40 and 97, leaves of 8/16/32
//! coordinates, u32/u64/u128 leaf indexes): decode returns `Ok` with finite values or `Err`,
//! never panics; every leaf stays within its bounds; a decoded vector re-encodes. The first
//! byte picks the codec; the rest is the code, zero padded or cut to `code_len`.
use vector_codecs::pvq::{Search, SplitCodec};
use vector_codecs::{Codec, Decode};

pub fn codecs() -> Vec<SplitCodec> {
    [(40usize, 3.0, 8usize, 32u32), (40, 4.0, 16, 64), (97, 3.25, 32, 128), (97, 2.0, 16, 64)]
        .iter()
        .map(|&(d, r, leaf, bits)| SplitCodec::new(d, r, leaf, bits, Search::Greedy).unwrap())
        .collect()
}

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let all = codecs();
    let c = &all[usize::from(sel) % all.len()];
    let mut code = rest.to_vec();
    code.resize(c.code_len(), 0);
    let mut out = vec![0f32; c.dim()];
    if c.decode_into(&code, &mut out).is_ok() {
        assert!(out.iter().all(|v| v.is_finite()));
        c.decode_leaves(&code, |r, y, scale| {
            assert!(r.len() <= c.max_leaf() && r.end <= c.dim());
            let k: u32 = y.iter().map(|v| v.unsigned_abs()).sum();
            assert!(k >= 1 && k <= c.kcap() && scale.is_finite());
        })
        .unwrap();
        let (_, _, info) = c.tree_stats(&code).unwrap();
        assert!(info <= c.budget_eighths() as f64 / 8.0 + 1e-9);
        let mut again = vec![0u8; c.code_len()];
        c.encode_into(&out, &mut again).unwrap();
    } else {
        assert!(c.tree_stats(&code).is_err());
    }
    // Wrong lengths are errors.
    assert!(c.decode_into(rest, &mut out).is_err() || rest.len() == c.code_len());
}
