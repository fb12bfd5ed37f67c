//! Fuzz body: QJL parameter containers (plain and with outliers). `QjlParams::from_bytes` must accept or reject any bytes
//! without panicking or allocating; accepted parameters must re-serialize to the same bytes and
//! (for small sizes) build a codec that encodes, decodes and scores with finite results.

use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::qjl::params::QjlParams;
use vector_codecs::{Codec, Decode, Score};

pub fn run(data: &[u8]) {
    if let Ok(c) = QjlOutlier::from_bytes(data) {
        assert_eq!(c.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
    }
    let Ok(p) = QjlParams::from_bytes(data) else { return };
    assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
    if p.m * p.dim > 1 << 18 {
        return;
    }
    let c = p.build().expect("validated parameters build");
    assert_eq!(c.params(), p);
    assert_eq!(Qjl::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
    let x: Vec<f32> = (0..p.dim).map(|i| f32::from(data[i % data.len()]) - 100.0).collect();
    let mut code = vec![0u8; c.code_len()];
    c.encode_into(&x, &mut code).unwrap();
    let mut y = vec![0.0f32; p.dim];
    c.decode_into(&code, &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_finite()));
    let mut scratch = c.scratch();
    let q = c.prepare(&x, &mut scratch).unwrap();
    assert!(c.score(&q, &code).unwrap().is_finite());
}
