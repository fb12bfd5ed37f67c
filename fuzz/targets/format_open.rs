//! Fuzz body: the parameter container must reject or accept arbitrary bytes without panicking,
//! and a container it accepts must yield a reader that never reads out of bounds.

pub fn run(data: &[u8]) {
    let kind = vector_codecs::format::peek_kind(data).unwrap_or(0);
    if let Ok(mut r) = vector_codecs::format::open(data, kind) {
        // Walk the payload with lying counts: must never panic or over-allocate.
        while let Ok(n) = r.count(1 << 20, "n") {
            if r.f32_vec(n).is_err() {
                break;
            }
        }
    }
}
