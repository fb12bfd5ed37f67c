//! Fuzz body: parameter containers of the fractional-rate TurboQuant codecs (`MseSplitParams`,
//! `ProdSplitParams`) and of TurboQuant-MSE with the inner-product-corrected norm
//! (`MseIpParams`). `from_bytes` must accept or reject any bytes without panicking or
//! over-allocating; accepted parameters must re-serialize to the same bytes, build a codec (for
//! small dimensions), and encode, decode and score a vector derived from the input with finite
//! results.

use vector_codecs::turbo::params::{MseIpParams, MseSplitParams, ProdSplitParams};
use vector_codecs::turbo::{RotationKind, TurboMseIp, TurboMseSplit, TurboProdSplit};
use vector_codecs::{Codec, Decode, Score};

/// Larger dimensions are valid but too slow to build on every fuzz input (Haar is `O(d³)`).
fn small(dim: usize, rotation: RotationKind) -> bool {
    match rotation {
        RotationKind::Hadamard => dim <= 2048,
        RotationKind::Haar => dim <= 96,
    }
}

fn vector(data: &[u8], dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| f32::from(data.get(i % data.len().max(1)).copied().unwrap_or(1)) - 127.5 + i as f32 * 0.01)
        .collect()
}

fn exercise<C: Codec + Decode + Score>(c: &C, data: &[u8]) {
    let x = vector(data, c.dim());
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).expect("finite input encodes");
    let mut y = vec![0.0f32; c.dim()];
    c.decode_into(&code, &mut y).expect("own code decodes");
    assert!(y.iter().all(|v| v.is_finite()));
    let mut scratch = c.scratch();
    let q = c.prepare(&x, &mut scratch).expect("finite query prepares");
    assert!(c.score(&q, &code).expect("own code scores").is_finite());
    // Wrong lengths are errors.
    assert!(c.decode_into(&code[1..], &mut y).is_err());
    assert!(c.score(&q, &code[1..]).is_err());
}

pub fn run(data: &[u8]) {
    if let Ok(p) = MseSplitParams::from_bytes(data) {
        assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        if small(p.dim, p.rotation) {
            let c = p.build().expect("validated parameters build");
            assert_eq!(TurboMseSplit::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c, data);
        }
    }
    if let Ok(p) = ProdSplitParams::from_bytes(data) {
        assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        if small(p.mse.dim, p.mse.rotation) && p.qjl.m * p.qjl.dim <= 1 << 20 {
            let c = p.build().expect("validated parameters build");
            assert_eq!(TurboProdSplit::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c, data);
        }
    }
    if let Ok(p) = MseIpParams::from_bytes(data) {
        assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        if small(p.mse.dim, p.mse.rotation) {
            let c = p.build().expect("validated parameters build");
            assert_eq!(TurboMseIp::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c, data);
        }
    }
}
