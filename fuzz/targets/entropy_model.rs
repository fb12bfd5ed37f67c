//! Fuzz body: static model deserialization must be total; a model it accepts must have
//! frequencies summing to 2^n and decode/encode consistently.

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::model::Model;
    use vector_codecs::entropy::rans::rans32;
    if let Ok(m) = Model::from_bytes(data) {
        let sum: u64 = m.freqs().iter().map(|&f| u64::from(f)).sum();
        assert_eq!(sum, 1u64 << m.scale_bits());
        let syms: Vec<u16> =
            m.freqs().iter().enumerate().filter(|(_, f)| **f > 0).map(|(s, _)| s as u16).take(64).collect();
        let bytes = rans32::encode_vec(&[m.view()], &syms).expect("present symbols encode");
        let mut back = vec![0u16; syms.len()];
        rans32::decode(&m.view(), &bytes, &mut back).expect("round trip");
        assert_eq!(back, syms);
    }
}
