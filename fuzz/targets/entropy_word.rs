//! Fuzz body: the interleaved rANS decoder (`entropy::word`: 4/8/32 lanes, single and
//! per-position models, AVX2 path where available) must be total on arbitrary bytes. Byte 0: lanes (low 2 bits) and
//! model mode (bit 2); byte 1: symbol count / 4; the rest is the stream.

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::model::Model;
    use vector_codecs::entropy::word::{self, Lanes};
    let (Ok(a), Ok(b)) = (Model::from_counts(&[40, 3, 17, 1, 0, 9, 30, 2], 12), Model::from_counts(&[1, 1, 5], 15))
    else {
        return;
    };
    let sel = data.first().copied().unwrap_or(0);
    let lanes = [Lanes::L4, Lanes::L8, Lanes::L32, Lanes::L8][usize::from(sel & 3)];
    let n = data.get(1).map_or(0, |&b| usize::from(b) * 4);
    let mut out = vec![0u16; n];
    let stream = data.get(2..).unwrap_or(&[]);
    if sel & 4 == 0 {
        let _ = word::decode(&a.view(), lanes, stream, &mut out);
    } else {
        let _ = word::decode_multi(&[a.view(), b.view()], lanes, stream, &mut out);
    }
}
