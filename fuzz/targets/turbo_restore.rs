//! Fuzz body: [`Persist::restore`] of every TurboQuant and QJL codec type on arbitrary bytes.
//! The first byte picks the type, the rest are its saved parameters (no container). Restore must
//! return `Err` or a codec, never panic, hang or over-allocate; a restored codec must persist back
//! to exactly the bytes it consumed, and (when small) encode, decode and score.
//!
//! Haar rotations above [`MAX_HAAR_RESTORE_DIM`](vector_codecs::transform::MAX_HAAR_RESTORE_DIM)
//! are rejected by restore, so every accepted input derives in bounded time.

use vector_codecs::format::Reader;
use vector_codecs::persist::Persist;
use vector_codecs::qjl::Qjl;
use vector_codecs::qjl::ortho::OrthoQjl;
use vector_codecs::qjl::outlier::QjlOutlier;
use vector_codecs::turbo::calibrated::{TurboIpCal, TurboIpCalSplit};
use vector_codecs::turbo::pca::{TurboPca, TurboPcaLow};
use vector_codecs::turbo::{TurboMse, TurboMseIp, TurboMseSplit, TurboProd, TurboProdOrtho, TurboProdSplit};
use vector_codecs::{Codec, Decode, Score};

/// The number of types `run` selects from (the first byte modulo this).
pub const TYPES: u8 = 13;

fn one<C: Codec + Decode + Score + Persist>(bytes: &[u8]) {
    let mut r = Reader::new(bytes);
    let Ok(c) = C::restore(&mut r) else { return };
    let used = bytes.len() - r.remaining();
    let mut w = vector_codecs::format::Writer::new(0);
    c.persist(&mut w);
    let saved = w.finish().expect("small parameters save");
    // The container adds a header in front and a 4-byte checksum behind the parameters.
    let params = &saved[vector_codecs::format::HEADER_LEN..saved.len() - 4];
    assert_eq!(params, &bytes[..used], "persist(restore(b)) == b");
    let d = c.dim();
    if d == 0 || d > 4096 {
        return;
    }
    let x: Vec<f32> = (0..d).map(|i| ((i * 7919 % 113) as f32 - 56.0) / 37.0).collect();
    let mut code = vec![0u8; c.code_len()];
    if c.encode_into(&x, &mut code).is_ok() {
        let mut y = vec![0f32; d];
        let _ = c.decode_into(&code, &mut y);
        let mut s = c.scratch();
        if let Ok(q) = c.prepare(&x, &mut s) {
            let _ = c.score(&q, &code);
        }
    }
}

pub fn run(data: &[u8]) {
    let Some((&sel, b)) = data.split_first() else { return };
    match sel % TYPES {
        0 => one::<TurboMse>(b),
        1 => one::<TurboProd>(b),
        2 => one::<TurboMseSplit>(b),
        3 => one::<TurboProdSplit>(b),
        4 => one::<TurboMseIp>(b),
        5 => one::<TurboProdOrtho>(b),
        6 => one::<Qjl>(b),
        7 => one::<OrthoQjl>(b),
        8 => one::<QjlOutlier>(b),
        9 => one::<TurboIpCal>(b),
        10 => one::<TurboIpCalSplit>(b),
        11 => one::<TurboPca>(b),
        _ => one::<TurboPcaLow>(b),
    }
}
