//! Fuzz body: static model deserialization must be total; a model it accepts must have
//! frequencies summing to 2^n and decode/encode consistently; the no-heap compact decoder view
//! (`ModelView::decoder_from_bytes_in`) must agree with it. The same bytes also build tables
//! by hand (the public `EncSym` fields, one field then overwritten): `ModelView::new` must refuse
//! inconsistent tables, and a view it accepts must code without panicking.

pub fn run(data: &[u8]) {
    use vector_codecs::entropy::model::{Model, ModelView};
    use vector_codecs::entropy::rans::rans32;
    // The no-heap compact decoder: the same frequencies (or the same error) as the owned model.
    let (mut f, mut t) = (vec![0u32; 1 << 16], vec![0u32; 1 << 16]);
    let compact = ModelView::decoder_from_bytes_in(data, &mut f, &mut t);
    let owned = Model::from_bytes(data);
    assert_eq!(
        compact
            .as_ref()
            .map(|v| (v.scale_bits(), (0..v.alphabet_size()).map(|s| v.freq(s)).collect::<Vec<_>>()))
            .map_err(|e| *e),
        owned.as_ref().map(|m| (m.scale_bits(), m.freqs().to_vec())).map_err(|e| *e),
        "no-heap and owned model loaders differ"
    );
    if let Ok(m) = Model::from_bytes(data) {
        let sum: u64 = m.freqs().iter().map(|&f| u64::from(f)).sum();
        assert_eq!(sum, 1u64 << m.scale_bits());
        let syms: Vec<u16> =
            m.freqs().iter().enumerate().filter(|(_, f)| **f > 0).map(|(s, _)| s as u16).take(64).collect();
        let bytes = rans32::encode_vec(&[m.view()], &syms).expect("present symbols encode");
        let mut back = vec![0u16; syms.len()];
        rans32::decode(&m.view(), &bytes, &mut back).expect("round trip");
        assert_eq!(back, syms);
        if let Ok(v) = &compact {
            back.fill(0);
            rans32::decode(v, &bytes, &mut back).expect("compact round trip");
            assert_eq!(back, syms);
        }
    }
    hand_built(data);
}

fn hand_built(data: &[u8]) {
    use vector_codecs::entropy::model::{EncSym, ModelView, fill_tables};
    use vector_codecs::entropy::rans::rans32;
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let n = 4;
    let k = usize::from(byte(0) % 6) + 1;
    // Frequencies from the bytes, the last one completing 2^n when it can.
    let mut freqs: Vec<u32> = (0..k).map(|i| u32::from(byte(1 + i) % 5)).collect();
    let partial: u32 = freqs[..k - 1].iter().sum();
    freqs[k - 1] = (1u32 << n).saturating_sub(partial);
    let mut enc = vec![EncSym::default(); k];
    let mut dec = vec![0u64; 1 << n];
    let _ = fill_tables(&freqs, n, &mut enc, &mut dec);
    // One field overwritten with a hostile value.
    let v = u32::from_le_bytes([byte(8), byte(9), byte(10), byte(11)]);
    let s = usize::from(byte(7)) % k;
    match byte(12) % 4 {
        0 => enc[s].freq = v,
        1 => enc[s].cum = v,
        2 => enc[s].bias = v,
        _ => dec[usize::from(byte(13)) % (1 << n)] = u64::from(v) | (u64::from(byte(14)) << 32),
    }
    if let Ok(view) = ModelView::new(n, &enc, &dec) {
        let syms: Vec<u16> = (0..k).filter(|&i| enc[i].freq > 0).map(|i| i as u16).collect();
        if let Ok(bytes) = rans32::encode_vec(&[view], &syms) {
            let mut back = vec![0u16; syms.len()];
            let _ = rans32::decode(&view, &bytes, &mut back);
        }
    }
}
