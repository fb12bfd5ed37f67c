//! Shared by the KV fuzz bodies that score block codes (`kv_codes`, `kv_entropy`): included by
//! each with `#[path]`, so that every body still builds alone in the fuzz crate.

use vector_codecs::Error;
use vector_codecs::kv::TokenBlock;

/// Arbitrary `code` bytes for the block codec `c`: decode, logits and attend return `Err` (for a
/// wrong length: `CodeLength`; for a bad code: an error a corrupt code may give) or finite
/// results, and where decode and logits both succeed the logits equal decode-then-dot within
/// `tol` relative to `Σ|k_i·q_i| + 1`.
pub fn check_block<C: TokenBlock>(c: &C, code: &[u8], tol: f64) {
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
    // Decoding may overflow where the logits do not (or the reverse): either may fail alone, but
    // only with an error that describes the code.
    let corrupt = |r: &Result<(), Error>| {
        matches!(r, Ok(()) | Err(Error::Corrupt(_) | Error::Truncated | Error::Overflow | Error::NonFinite))
    };
    assert!(corrupt(&dec) && corrupt(&lg), "{dec:?} / {lg:?}");
    if let (Ok(()), Ok(())) = (&dec, &lg) {
        assert!(y.iter().all(|v| v.is_finite()));
        for (t, &lt) in l.iter().enumerate() {
            let k = &y[t * d..(t + 1) * d];
            let want: f64 = k.iter().zip(&q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let mag: f64 = k.iter().zip(&q).map(|(a, b)| f64::from((a * b).abs())).sum();
            assert!((f64::from(lt) - want).abs() <= tol * (mag + 1.0), "{lt} vs {want}");
        }
    }
    let p = vec![1.0 / b as f32; b];
    let mut o = vec![0f32; d];
    if c.attend(&p, code, &mut o).is_ok() {
        assert!(o.iter().all(|v| v.is_finite()));
    }
}
