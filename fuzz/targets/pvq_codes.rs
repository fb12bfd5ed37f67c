//! Fuzz body: arbitrary code bytes for four PVQ codecs (range / fixed coding, groups of 8 and
//! 32, d = 40 with a short last group): decode and score return `Ok` with finite values or
//! `Err`, never panic; a decoded vector re-encodes (or, past the encoder's RMS bound, is
//! `Overflow`). The first byte picks the codec; the rest is the code, zero padded or cut
//! to `code_len`.
use vector_codecs::pvq::{GainQuantizer, IndexCoding, PvqCodec, Search};
use vector_codecs::{Codec, Decode, Score};

pub fn codecs() -> Vec<PvqCodec> {
    let d = 40;
    let mut out = Vec::new();
    for coding in [IndexCoding::Range, IndexCoding::Fixed] {
        for (group, bits) in [(8usize, 3u32), (32, 2)] {
            let gain = GainQuantizer::default_for(bits, d, group).unwrap();
            out.push(PvqCodec::for_rate(d, group, 3.0, gain, coding, Search::Greedy).unwrap());
        }
    }
    out
}

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let all = codecs();
    let c = &all[usize::from(sel) % all.len()];
    let mut code = rest.to_vec();
    code.resize(c.code_len(), 0);
    let mut out = vec![0f32; c.dim()];
    if c.decode_into(&code, &mut out).is_ok() {
        assert!(out.iter().all(|v| v.is_finite()));
        let q: Vec<f32> = (0..c.dim()).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut s = c.scratch();
        let p = c.prepare(&q, &mut s).unwrap();
        let score = c.score(&p, &code).unwrap();
        assert!(score.is_finite());
        // Re-encoding the decoded vector succeeds, except that a reconstruction whose RMS is
        // beyond the encoder's documented bound (`MAX_NORM/√d`: decoded gains reach a few times
        // the stored RMS, so a code near the bound decodes past it) is refused as `Overflow`.
        let mut again = vec![0u8; c.code_len()];
        match c.encode_into(&out, &mut again) {
            Ok(()) => {}
            Err(vector_codecs::Error::Overflow) => {
                let n = out.len() as f64;
                let rms = (out.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / n).sqrt();
                assert!(rms > f64::from(vector_codecs::MAX_NORM) / n.sqrt() * 0.99, "Overflow at RMS {rms}");
            }
            Err(e) => panic!("re-encoding a decoded vector: {e:?}"),
        }
    } else {
        let q = vec![1.0f32; c.dim()];
        let mut s = c.scratch();
        let p = c.prepare(&q, &mut s).unwrap();
        assert!(c.score(&p, &code).is_err());
    }
    // Wrong lengths are errors.
    assert!(c.decode_into(rest, &mut out).is_err() || rest.len() == c.code_len());
}
