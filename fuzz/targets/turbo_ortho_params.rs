//! Fuzz body: parameter containers of the orthogonal QJL sketch (`OrthoQjlParams`, kind
//! 0x0412) and of TurboQuant-prod with it (`ProdOrthoParams`, kind 0x0515). `from_bytes` must
//! accept or reject any bytes without panicking or over-allocating; accepted parameters must
//! re-serialize to the same bytes, build a codec (for small dimensions), and encode, decode and
//! score a vector derived from the input with finite results; a corrupt code (its norm field
//! replaced by bytes of the input) must give `Err` or finite values.

use vector_codecs::qjl::ortho::OrthoQjl;
use vector_codecs::turbo::params::{OrthoQjlParams, ProdOrthoParams};
#[path = "turbo_support.rs"]
mod support;
use support::small;
use vector_codecs::turbo::TurboProdOrtho;
use vector_codecs::{Codec, Decode, Score};

/// The shared checks, then hostile tail bytes (norm fields): `Err` or finite.
fn exercise<C: Codec + Decode + Score>(c: &C, data: &[u8]) {
    let mut code = support::exercise(c, data);
    let x = support::vector(data, c.dim());
    let mut scratch = c.scratch();
    let q = c.prepare(&x, &mut scratch).expect("finite query prepares");
    let mut y = vec![0.0f32; c.dim()];
    let n = code.len();
    for (i, b) in code[n.saturating_sub(4)..].iter_mut().enumerate() {
        *b = data.get(i).copied().unwrap_or(0xff);
    }
    if let Ok(s) = c.score(&q, &code) {
        assert!(s.is_finite());
    }
    if c.decode_into(&code, &mut y).is_ok() {
        assert!(y.iter().all(|v| v.is_finite()));
    }
}

pub fn run(data: &[u8]) {
    if let Ok(p) = OrthoQjlParams::from_bytes(data) {
        assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        if small(p.dim, p.rotation) {
            let c = p.build().expect("validated parameters build");
            assert_eq!(OrthoQjl::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c, data);
        }
    }
    if let Ok(p) = ProdOrthoParams::from_bytes(data) {
        assert_eq!(p.to_bytes().unwrap(), data, "accepted parameters must re-serialize identically");
        if small(p.mse.dim, p.mse.rotation) && small(p.sketch.dim, p.sketch.rotation) {
            let c = p.build().expect("validated parameters build");
            assert_eq!(TurboProdOrtho::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
            exercise(&c, data);
        }
    }
}
