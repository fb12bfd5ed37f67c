//! Fuzz body: the codec loader ([`vector_codecs::factory::load`]) must accept or reject
//! arbitrary bytes without panicking, hanging or over-allocating; a codec it accepts must encode,
//! decode and score without panicking, and save back to the same bytes.

pub fn run(data: &[u8]) {
    let Ok(codec) = vector_codecs::factory::load(data) else { return };
    let saved = codec.save().expect("a loaded codec saves");
    assert_eq!(saved, data, "save(load(bytes)) must reproduce the bytes");
    let d = codec.dim();
    if d > 4096 {
        return;
    }
    let x: Vec<f32> = (0..d).map(|i| ((i * 7919 % 113) as f32 - 56.0) / 37.0).collect();
    let mut code = vec![0u8; codec.code_len()];
    if codec.encode_batch(&x, &mut code).is_ok() {
        let mut out = vec![0f32; d];
        let _ = codec.decode_batch(&code, &mut out);
        let mut s = [0f32; 1];
        let _ = codec.scan(&x, &code, &mut s);
    }
    // Arbitrary code bytes: decode and score are total.
    let junk: Vec<u8> = (0..codec.code_len()).map(|i| (i as u8).wrapping_mul(167) ^ 0x5A).collect();
    let mut out = vec![0f32; d];
    let _ = codec.decode_batch(&junk, &mut out);
    let mut s = [0f32; 1];
    let _ = codec.scan(&x, &junk, &mut s);
}
