//! Fuzz body: arbitrary block code bytes for fixed KV codecs (the first byte picks one). Decode,
//! logits and attend must return `Err` (for a wrong length or a corrupt header) or finite
//! results, and agree with each other: logits equal decode-then-dot within float rounding.

use vector_codecs::Error;
use vector_codecs::kv::{ChannelKeys, Outliers, TokenBlock, TokenValues};
use vector_codecs::scalar::side::SideFormat;

fn check<C: TokenBlock>(c: &C, code: &[u8]) {
    let (n, d, b) = (c.dim(), c.head_dim(), c.block_tokens());
    let mut y = vec![0f32; n];
    let q: Vec<f32> = (0..d).map(|i| (i as f32 * 0.7).sin()).collect();
    let mut l = vec![0f32; b];
    let dec = c.decode_into(code, &mut y);
    let lg = c.logits(&q, code, &mut l);
    if code.len() != c.code_len() {
        assert!(matches!(dec, Err(Error::CodeLength { .. })));
        assert!(lg.is_err());
        return;
    }
    match (dec, lg) {
        (Ok(()), Ok(())) => {
            assert!(y.iter().all(|v| v.is_finite()));
            for (t, &lt) in l.iter().enumerate() {
                let k = &y[t * d..(t + 1) * d];
                let want: f64 = k.iter().zip(&q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                let mag: f64 = k.iter().zip(&q).map(|(a, b)| f64::from((a * b).abs())).sum();
                assert!((f64::from(lt) - want).abs() <= 1e-4 * (mag + 1.0), "{lt} vs {want}");
            }
        }
        (Err(Error::Corrupt(_)), Err(_)) | (Err(_), Err(Error::Corrupt(_))) => {}
        (a, b) => {
            // Decoding may overflow where the logits do not (or the reverse); both are `Corrupt`.
            assert!(matches!(a, Err(Error::Corrupt(_)) | Ok(())) && matches!(b, Err(Error::Corrupt(_)) | Ok(())));
        }
    }
    let p = vec![1.0 / b as f32; b];
    let mut o = vec![0f32; d];
    if c.attend(&p, code, &mut o).is_ok() {
        assert!(o.iter().all(|v| v.is_finite()));
    }
}

pub fn run(data: &[u8]) {
    let Some((&sel, code)) = data.split_first() else { return };
    match sel % 5 {
        0 => check(&ChannelKeys::new(8, 8, 3.0, SideFormat::F16).unwrap(), code),
        1 => check(&ChannelKeys::new(5, 16, 2.4, SideFormat::F32).unwrap(), code),
        2 => check(&TokenValues::new(16, 4, 3, 8, sel & 0x80 != 0, SideFormat::Bf16).unwrap(), code),
        3 => check(&Outliers::new(ChannelKeys::new(8, 8, 2.5, SideFormat::Bf16).unwrap(), 3, 8).unwrap(), code),
        _ => check(&TokenValues::new(8, 2, 2, 4, false, SideFormat::F16).unwrap(), code),
    }
}
