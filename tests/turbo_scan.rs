//! TurboQuant scoring modes: the quantized-query (`ScanMode::I8`) fast scan against the exact float
//! scan — error small next to the quantization error itself and centred, `score_batch` equal to
//! `score`, recall on real embeddings within 0.01 of the float scan, bad configurations refused.
#![cfg(feature = "std")] // reads data through `vector_codecs::io` (std)

mod common;

use vector_codecs::rng::Rng;
use vector_codecs::topk::TopK;
use vector_codecs::turbo::{
    CodebookKind, RotationKind, TurboMse, TurboMseIp, TurboMseSplit, turbo_mse, turbo_mse_half, turbo_mse_ip,
};
use vector_codecs::{Codec, Estimator, ScanMode, ScanModes, Score};

/// The TurboQuant-MSE codecs of the factory names `tqN`, `tqN-ip`, `tqN.5` (Hadamard, Beta).
#[allow(clippy::large_enum_variant)] // a handful per test
enum Configured {
    Mse(TurboMse),
    MseIp(TurboMseIp),
    MseSplit(TurboMseSplit),
}

fn from_config(name: &str, d: usize, seed: u64) -> vector_codecs::Result<Configured> {
    let (h, beta) = (RotationKind::Hadamard, CodebookKind::Beta);
    let bits = |s: &str| s.parse::<u32>().unwrap();
    Ok(if let Some(b) = name.strip_prefix("tq").and_then(|b| b.strip_suffix("-ip")) {
        Configured::MseIp(turbo_mse_ip(d, bits(b), seed, h, beta)?)
    } else if let Some(b) = name.strip_prefix("tq").and_then(|b| b.strip_suffix(".5")) {
        Configured::MseSplit(turbo_mse_half(d, bits(b), seed, h, beta)?)
    } else {
        Configured::Mse(turbo_mse(d, bits(&name[2..]), seed, h, beta)?)
    })
}

impl Configured {
    fn with_scan(self, mode: ScanMode) -> vector_codecs::Result<Self> {
        Ok(match self {
            Configured::Mse(c) => Configured::Mse(c.with_scan(mode)?),
            Configured::MseIp(c) => Configured::MseIp(c.with_scan(mode)?),
            Configured::MseSplit(c) => Configured::MseSplit(c.with_scan(mode)?),
        })
    }
}

fn gaussian(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    Rng::new(seed).fill_gaussian(&mut v);
    v
}

/// Scores of every query against every code with `c`.
fn scores<C: Score>(c: &C, codes: &[u8], qs: &[f32]) -> Vec<f32> {
    let d = c.dim();
    let n = codes.len() / c.code_len();
    let mut out = vec![0f32; n * (qs.len() / d)];
    let mut scratch = c.scratch();
    for (q, o) in qs.chunks_exact(d).zip(out.chunks_exact_mut(n)) {
        let p = c.prepare(q, &mut scratch).unwrap();
        c.score_batch(&p, codes, o).unwrap();
        for (code, &s) in codes.chunks_exact(c.code_len()).zip(o.iter()) {
            assert_eq!(c.score(&p, code).unwrap().to_bits(), s.to_bits());
        }
    }
    out
}

/// [`scores`] for any TurboQuant-MSE configuration.
fn score_all(cfg: &Configured, codes: &[u8], qs: &[f32]) -> Vec<f32> {
    match cfg {
        Configured::Mse(c) => scores(c, codes, qs),
        Configured::MseIp(c) => scores(c, codes, qs),
        Configured::MseSplit(c) => scores(c, codes, qs),
    }
}

fn encode(cfg: &Configured, xs: &[f32]) -> Vec<u8> {
    fn run<C: Codec>(c: &C, xs: &[f32]) -> Vec<u8> {
        let mut codes = vec![0u8; xs.len() / c.dim() * c.code_len()];
        c.encode_batch(xs, &mut codes).unwrap();
        codes
    }
    match cfg {
        Configured::Mse(c) => run(c, xs),
        Configured::MseIp(c) => run(c, xs),
        Configured::MseSplit(c) => run(c, xs),
    }
}

/// On Gaussian data (d = 100 and 384, awkward and round), the i8 scan's deviation from the exact
/// float scan is centred and its RMS is under 20% of the RMS error of the float scan against the
/// true inner products (the 1–4-bit quantization error).
#[test]
fn i8_scan_error_is_small_and_centred() {
    for d in [100usize, 384] {
        let (n, nq) = (300, 20);
        let xs = gaussian(n * d, 1);
        let qs = gaussian(nq * d, 2);
        for name in ["tq1", "tq2", "tq4", "tq2-ip", "tq4-ip", "tq1.5"] {
            let f = from_config(name, d, 7).unwrap();
            let i = from_config(name, d, 7).unwrap().with_scan(ScanMode::I8).unwrap();
            let codes = encode(&f, &xs);
            let sf = score_all(&f, &codes, &qs);
            let si = score_all(&i, &codes, &qs);
            let (mut dev, mut dev2, mut err2) = (0.0f64, 0.0f64, 0.0f64);
            for qi in 0..nq {
                for xi in 0..n {
                    let truth: f64 = (0..d).map(|j| f64::from(qs[qi * d + j]) * f64::from(xs[xi * d + j])).sum();
                    let (a, b) = (f64::from(sf[qi * n + xi]), f64::from(si[qi * n + xi]));
                    dev += b - a;
                    dev2 += (b - a) * (b - a);
                    err2 += (a - truth) * (a - truth);
                }
            }
            let m = (n * nq) as f64;
            let (rms_dev, rms_err) = ((dev2 / m).sqrt(), (err2 / m).sqrt());
            assert!(rms_dev < 0.2 * rms_err, "{name} d={d}: i8 deviation {rms_dev} vs quantization error {rms_err}");
            assert!((dev / m).abs() < 4.0 * rms_dev / m.sqrt() + 1e-6, "{name} d={d}: mean deviation {}", dev / m);
        }
    }
}

#[test]
fn scan_modes_are_reported_and_checked() {
    let Configured::Mse(c) = from_config("tq4", 64, 1).unwrap().with_scan(ScanMode::I8).unwrap() else { panic!() };
    assert_eq!(c.scan_mode(), ScanMode::I8);
    assert_eq!(c.estimator(), Estimator::Biased);
    let Configured::Mse(c) = from_config("tq4", 64, 1).unwrap() else { panic!() };
    assert_eq!(c.scan_mode(), ScanMode::Float);
    assert_eq!(c.estimator(), Estimator::Reconstruction);
    // 3-bit codebooks (and the 3-bit half of tq2.5) have no i8 scan; nothing has I16 or
    // bit-sliced scans.
    for name in ["tq3", "tq3-ip", "tq2.5"] {
        assert!(from_config(name, 64, 1).unwrap().with_scan(ScanMode::I8).is_err(), "{name}");
    }
    for mode in [ScanMode::I16, ScanMode::Bitsliced] {
        assert!(from_config("tq4", 64, 1).unwrap().with_scan(mode).is_err(), "{mode:?}");
    }
    // Going back to F32 always works for MSE codecs.
    assert!(from_config("tq3", 64, 1).unwrap().with_scan(ScanMode::Float).is_ok());
    // A NaN query is refused in both modes.
    let Configured::Mse(c) = from_config("tq2", 64, 1).unwrap().with_scan(ScanMode::I8).unwrap() else { panic!() };
    let mut s = c.scratch();
    let mut q = vec![0.5f32; 64];
    q[3] = f32::NAN;
    assert!(c.prepare(&q, &mut s).is_err());
    // Too little scratch is an error, not a panic.
    assert!(c.prepare(&[0.5; 64], &mut s[..1]).is_err());
}

/// recall@10 of the i8 scan on the shipped real subset (MiniLM embeddings, brute-force truth
/// from the f32 vectors) is within 0.01 of the float scan's.
#[test]
fn i8_scan_recall_on_shipped_subset() {
    let dir = common::shipped_dir();
    let Ok(base) = vector_codecs::io::read_fvecs(dir.join("wordnet_base.fvecs")) else {
        eprintln!("SKIPPED: shipped subset not found in {}", dir.display());
        return;
    };
    let Ok(queries) = vector_codecs::io::read_fvecs(dir.join("wordnet_query.fvecs")) else { return };
    let d = base.dim;
    let nq = 100.min(queries.rows());
    let n = base.rows();
    let qs = &queries.data[..nq * d];
    let truth: Vec<Vec<u32>> = qs
        .chunks_exact(d)
        .map(|q| {
            let mut t = TopK::<10>::new(10);
            let s: Vec<f32> = base.data.chunks_exact(d).map(|x| q.iter().zip(x).map(|(a, b)| a * b).sum()).collect();
            t.push_batch(&s, 0);
            let mut r = [(0f32, 0u32); 10];
            let k = t.drain_sorted(&mut r);
            r[..k].iter().map(|p| p.1).collect()
        })
        .collect();
    let recall = |s: &[f32]| {
        let mut hits = 0;
        for (qi, t) in truth.iter().enumerate() {
            let mut top = TopK::<10>::new(10);
            top.push_batch(&s[qi * n..(qi + 1) * n], 0);
            let mut r = [(0f32, 0u32); 10];
            let k = top.drain_sorted(&mut r);
            hits += r[..k].iter().filter(|p| t.contains(&p.1)).count();
        }
        hits as f64 / (10 * nq) as f64
    };
    for name in ["tq2-ip", "tq4-ip", "tq4"] {
        let f = from_config(name, d, 7).unwrap();
        let i = from_config(name, d, 7).unwrap().with_scan(ScanMode::I8).unwrap();
        let codes = encode(&f, &base.data);
        let rf = recall(&score_all(&f, &codes, qs));
        let ri = recall(&score_all(&i, &codes, qs));
        eprintln!("{name}: recall@10 f32 {rf:.4}, i8 {ri:.4}");
        assert!(ri >= rf - 0.01, "{name}: i8 recall {ri} vs f32 {rf}");
    }
}
