//! Fuzz body: the 32-bit byte-wise rANS decoder must be total on arbitrary bytes.
//! Byte 0 picks the symbol count; the rest is the stream (fixed model).

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::model::Model;
    use vector_codecs::entropy::rans::rans32;
    let Ok(m) = Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 12) else { return };
    let n = data.first().map_or(0, |&b| usize::from(b) * 4);
    let mut out = vec![0u16; n];
    let _ = rans32::decode(&m.view(), data.get(1..).unwrap_or(&[]), &mut out);
}
