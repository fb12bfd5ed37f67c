//! Fuzz body: parameter containers of the fractional-rate TurboQuant codecs (`MseSplitParams`,
//! `ProdSplitParams`) and of TurboQuant-MSE with the inner-product-corrected norm
//! (`MseIpParams`). `from_bytes` must accept or reject any bytes without panicking or
//! over-allocating; accepted parameters must re-serialize to the same bytes, build a codec (for
//! small dimensions), and encode, decode and score a vector derived from the input with finite
//! results.

use vector_codecs::turbo::params::{MseIpParams, MseSplitParams, ProdSplitParams};
use vector_codecs::turbo::{TurboMseIp, TurboMseSplit, TurboProdSplit};
#[path = "turbo_support.rs"]
mod support;
use support::{exercise, small};

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
