//! Our side of the speed comparison with faiss (`benches/peers.py` runs both in one invocation).
//!
//! ```sh
//! cargo bench --bench throughput [-- --small] [--data X.npy] [--reps 5] [--only a,b]
//! ```
//!
//! Workloads (the same as the peers script, single thread):
//!
//! * **encode / decode**: `n = 100,000` vectors of `d = 768`, Gaussian with a per-vector scale
//!   `2^(4u − 2)`, `u` uniform in `[0, 1)` (so norms vary 16×). `--data X.npy` reads the exact
//!   matrix the peers script generated instead (then both sides code identical bytes).
//! * **scan**: the `n` codes repeated 10× = 1,000,000 codes, one Gaussian query, prepare +
//!   `score_batch` in blocks of 4,096 codes + top-10 selection; reported as GB/s of codes. The
//!   binary rows use the codec's own top-k scans instead: `bin1` = `hamming_scan_topk` of the
//!   query's sign code over `bin1` codes (96 bytes), `bin1-bitsliced` =
//!   `BitslicedScorer::scan_topk` (4-bit query) over the same codes.
//! * RaBitQ 1-bit rows: `rabitq1` (dense Haar rotation), `rabitq1-had` (randomized Hadamard),
//!   `rabitq1-id` (no rotation, as faiss IndexRaBitQ), `rabitq1q-had` (4-bit quantized query).
//!
//! * TurboQuant-MSE rows `tq2`, `tq2-ip`, `tq2.5`, `tq4`, `tq4-ip` (randomized Hadamard rotation),
//!   and `tq2-ip-i8`, `tq4-ip-i8`, `tq4-i8` (the same codes, quantized-query fast scan).
//!
//! `--only kernel` adds the raw foundation-kernel rows (`kernel-hamming96`, `kernel-dot-u8i8`).
//!
//! `--codecs a;b;…` adds one row per factory name (trained on the first 20,000 vectors, built
//! and scanned through [`DynCodec`](vector_codecs::DynCodec) exactly as a downstream crate would:
//! the query prepared once per scan with `with_query`, as a search over many codes prepares it,
//! then `score_batch` in blocks of 4,096 codes + top-10), and the `f32` row is the plain scan of the
//! uncompressed vectors (`simd::dot` per row) that the compressed scans are compared against —
//! issue 14's per-byte and per-vector scan rates of every scoring codec on codes that do not fit
//! in cache.
//!
//! `--small` divides both sizes by 10 (smoke runs). Each figure is the median of `--reps`
//! repetitions. Output: one JSON object on stdout.

use std::hint::black_box;
use std::time::Instant;
use vector_codecs::rng::Rng;
use vector_codecs::topk::TopK;
use vector_codecs::{Decode, Score};

const D: usize = 768;
const BLOCK: usize = 4096;

struct Cfg {
    n: usize,
    copies: usize,
    reps: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Median seconds of `reps` runs of `f`.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// One result row (printed as JSON).
struct Row {
    name: String,
    code_len: usize,
    fields: Vec<(&'static str, f64)>,
}

/// Replicates `codes` `copies` times (the 1 M-code scan set).
fn replicate(codes: &[u8], copies: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(codes.len() * copies);
    for _ in 0..copies {
        all.extend_from_slice(codes);
    }
    all
}

/// Scans `codes` (of `code_len` bytes each) with `score_block` in blocks of [`BLOCK`] codes and
/// keeps the top-10; returns GB/s of codes (median of `reps`).
fn scan_gbps(codes: &[u8], code_len: usize, reps: usize, mut score_block: impl FnMut(&[u8], &mut [f32])) -> f64 {
    let mut scores = vec![0f32; BLOCK];
    let t = time(reps, || {
        let mut top = TopK::<10>::new(10);
        for (b, block) in codes.chunks(BLOCK * code_len).enumerate() {
            let m = block.len() / code_len;
            score_block(block, &mut scores[..m]);
            top.push_batch(&scores[..m], (b * BLOCK) as u32);
        }
        let mut out = [(0f32, 0u32); 10];
        black_box(top.drain_sorted(&mut out));
    });
    codes.len() as f64 / t / 1e9
}

/// The three timings of a codec row: seconds per batch encode of the workload (`encode`
/// writes the codes of the workload's `n` vectors), per batch decode, and the scan rate in GB/s
/// of codes over the workload's codes replicated `cfg.copies` times (out of cache): `scan`
/// gets the codes and runs [`scan_gbps`] with the query prepared once (as a search does).
fn measure(
    n: usize,
    cl: usize,
    cfg: &Cfg,
    mut encode: impl FnMut(&mut [u8]),
    mut decode: impl FnMut(&[u8], &mut [f32]),
    scan: impl FnOnce(&[u8]) -> f64,
) -> (f64, f64, f64) {
    let mut codes = vec![0u8; n * cl];
    let t_enc = time(cfg.reps, || encode(&mut codes));
    let mut out = vec![0f32; n * D];
    let t_dec = time(cfg.reps, || decode(&codes, &mut out));
    drop(out);
    let all = replicate(&codes, cfg.copies);
    (t_enc, t_dec, scan(&all))
}

/// Encode, decode and scan of a fixed-rate codec on the workload.
fn codec_row<C: Decode + Score>(name: &str, c: &C, xs: &[f32], q: &[f32], cfg: &Cfg) -> Row {
    codec_row_with(name, c, c, xs, q, cfg)
}

/// As [`codec_row`], but scanning with `scorer` (e.g. an integer-query scorer of `c`'s codes).
fn codec_row_with<C: Decode, S: Score>(name: &str, c: &C, scorer: &S, xs: &[f32], q: &[f32], cfg: &Cfg) -> Row {
    let n = xs.len() / D;
    let cl = c.code_len();
    let mut scratch = scorer.scratch();
    let pq = scorer.prepare(q, &mut scratch).expect("prepare");
    let (t_enc, t_dec, gbps) = measure(
        n,
        cl,
        cfg,
        |codes| c.encode_batch(xs, codes).expect("encode"),
        |codes, out| c.decode_batch(codes, out).expect("decode"),
        |all| scan_gbps(all, cl, cfg.reps, |block, s| scorer.score_batch(&pq, block, s).expect("scan")),
    );
    Row {
        name: name.into(),
        code_len: cl,
        fields: vec![
            ("encode_vps", n as f64 / t_enc),
            ("encode_gbps_f32_in", (n * D * 4) as f64 / t_enc / 1e9),
            ("decode_vps", n as f64 / t_dec),
            ("decode_gbps_f32_out", (n * D * 4) as f64 / t_dec / 1e9),
            ("scan_gbps", gbps),
            ("scan_codes_per_s", gbps * 1e9 / cl as f64),
        ],
    }
}

/// Encode, decode and scan of the factory codec `name` through `DynCodec` (trained on the
/// first 20,000 vectors, inner-product metric, seed 7).
fn factory_row(name: &str, xs: &[f32], q: &[f32], cfg: &Cfg) -> Result<Row, String> {
    let e = |e: vector_codecs::Error| format!("{name}: {e}");
    let train = &xs[..xs.len().min(20_000 * D)];
    let c = vector_codecs::factory::build(name, D, vector_codecs::metric::Metric::InnerProduct, 7, train).map_err(e)?;
    let n = xs.len() / D;
    let cl = c.code_len();
    let mut scratch = vec![0f32; c.query_scratch_len()];
    let (t_enc, t_dec, gbps) = measure(
        n,
        cl,
        cfg,
        |codes| c.encode_batch(xs, codes).expect("encode"),
        |codes, out| c.decode_batch(codes, out).expect("decode"),
        |all| {
            let mut gbps = f64::NAN;
            c.with_query(q, &mut scratch, &mut |p| {
                gbps = scan_gbps(all, cl, cfg.reps, |block, s| p.score_batch(block, s).expect("scan"));
                Ok(())
            })
            .expect("prepare");
            gbps
        },
    );
    Ok(Row {
        name: name.into(),
        code_len: cl,
        fields: vec![
            ("encode_vps", n as f64 / t_enc),
            ("decode_vps", n as f64 / t_dec),
            ("scan_gbps", gbps),
            ("scan_codes_per_s", gbps * 1e9 / cl as f64),
        ],
    })
}

/// Median GB/s of `reps` runs of a whole-array top-10 scan `f` over `bytes` bytes of codes.
fn topk_scan_gbps(bytes: usize, reps: usize, mut f: impl FnMut(&mut TopK<10>)) -> f64 {
    let t = time(reps, || {
        let mut top = TopK::<10>::new(10);
        f(&mut top);
        let mut out = [(0f32, 0u32); 10];
        black_box(top.drain_sorted(&mut out));
    });
    bytes as f64 / t / 1e9
}

/// The binary codec's own scans on `bin1` sign codes (96 bytes at d = 768): the fused Hamming
/// top-k scan against the query's sign code (`bin1`, the IndexBinaryFlat workload) and the
/// 4-bit bit-sliced query scan (`bin1-bitsliced`, compared with faiss IndexRaBitQ's scan).
fn binary_rows(xs: &[f32], q: &[f32], cfg: &Cfg, want: &dyn Fn(&str) -> bool) -> Result<Vec<Row>, String> {
    use vector_codecs::Codec;
    use vector_codecs::binary::{BinaryCodec, hamming_scan_topk};
    let mut rows = Vec::new();
    let (ham, sliced) = (want("bin1"), want("bin1-bitsliced"));
    if !ham && !sliced {
        return Ok(rows);
    }
    let n = xs.len() / D;
    let cfg1 = vector_codecs::binary::config("bin1").expect("known name");
    let c = BinaryCodec::train(xs, D, &cfg1).map_err(|e| e.to_string())?;
    let cl = c.code_len();
    let mut codes = vec![0u8; n * cl];
    let t_enc = time(cfg.reps, || c.encode_batch(xs, &mut codes).expect("encode"));
    let mut out = vec![0f32; n * D];
    let t_dec = time(cfg.reps, || c.decode_batch(&codes, &mut out).expect("decode"));
    drop(out);
    let all = replicate(&codes, cfg.copies);
    let mut qc = vec![0u8; cl];
    c.encode_into(q, &mut qc).map_err(|e| e.to_string())?;
    if ham {
        let g = topk_scan_gbps(all.len(), cfg.reps, |t| hamming_scan_topk(&qc, &all, 0, t).expect("scan"));
        rows.push(Row {
            name: "bin1".into(),
            code_len: cl,
            fields: vec![
                ("encode_vps", n as f64 / t_enc),
                ("encode_gbps_f32_in", (n * D * 4) as f64 / t_enc / 1e9),
                ("decode_vps", n as f64 / t_dec),
                ("scan_gbps", g),
                ("scan_codes_per_s", g * 1e9 / cl as f64),
            ],
        });
    }
    if sliced {
        let s = c.bitsliced();
        let mut scratch = s.scratch();
        let pq = s.prepare(q, &mut scratch).map_err(|e| e.to_string())?;
        let g = topk_scan_gbps(all.len(), cfg.reps, |t| s.scan_topk(&pq, &all, 0, t).expect("scan"));
        rows.push(Row {
            name: "bin1-bitsliced".into(),
            code_len: cl,
            fields: vec![("scan_gbps", g), ("scan_codes_per_s", g * 1e9 / cl as f64)],
        });
    }
    Ok(rows)
}

/// Foundation kernels on raw codes (what a codec's scan is built from): sign bits + Hamming
/// (96-byte codes, the IndexBinaryFlat workload) and u8 × i8 integer dot (768-byte codes).
fn kernel_rows(xs: &[f32], q: &[f32], cfg: &Cfg) -> Vec<Row> {
    let n = xs.len() / D;
    let mut rows = Vec::new();

    // Sign bits, Hamming distance to the query's sign bits; score = −distance.
    let sign = |x: &[f32], out: &mut [u8]| {
        out.fill(0);
        for (i, &v) in x.iter().enumerate() {
            if v > 0.0 {
                out[i / 8] |= 1 << (i % 8);
            }
        }
    };
    let mut bits = vec![0u8; n * D / 8];
    let t_enc = time(cfg.reps, || {
        for (x, o) in xs.chunks_exact(D).zip(bits.chunks_exact_mut(D / 8)) {
            sign(x, o);
        }
    });
    let mut qb = [0u8; D / 8];
    sign(q, &mut qb);
    let all = replicate(&bits, cfg.copies);
    let g = scan_gbps(&all, D / 8, cfg.reps, |block, s| {
        for (c, o) in block.chunks_exact(D / 8).zip(s.iter_mut()) {
            *o = -(vector_codecs::simd::hamming(c, &qb) as f32);
        }
    });
    rows.push(Row {
        name: "kernel-hamming96".into(),
        code_len: D / 8,
        fields: vec![
            ("encode_vps", n as f64 / t_enc),
            ("scan_gbps", g),
            ("scan_codes_per_s", g * 1e9 / (D / 8) as f64),
        ],
    });

    // u8 codes × i8 query, exact integer dot.
    let codes8: Vec<u8> = xs.iter().map(|&v| (v * 32.0 + 128.0).clamp(0.0, 255.0) as u8).collect();
    let q8: Vec<i8> = q.iter().map(|&v| (v * 32.0).clamp(-127.0, 127.0) as i8).collect();
    let all = replicate(&codes8, cfg.copies);
    let g = scan_gbps(&all, D, cfg.reps, |block, s| {
        for (c, o) in block.chunks_exact(D).zip(s.iter_mut()) {
            *o = vector_codecs::simd::dot_u8_i8(c, &q8) as f32;
        }
    });
    rows.push(Row {
        name: "kernel-dot-u8i8".into(),
        code_len: D,
        fields: vec![("scan_gbps", g), ("scan_codes_per_s", g * 1e9 / D as f64)],
    });
    rows
}

/// The workload matrix: Gaussian rows with per-row scale `2^(4u − 2)`.
fn generate(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut xs = vec![0f32; n * D];
    for row in xs.chunks_exact_mut(D) {
        let s = (4.0 * r.next_f64() - 2.0).exp2() as f32;
        r.fill_gaussian(row);
        row.iter_mut().for_each(|v| *v *= s);
    }
    xs
}

fn main() -> Result<(), String> {
    let mut cfg = Cfg { n: 100_000, copies: 10, reps: 5 };
    let mut data: Option<String> = None;
    let mut only: Option<Vec<String>> = None;
    let mut codecs: Vec<String> = Vec::new();
    let mut args = std::env::args().filter(|a| a != "--bench").skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--small" => cfg.n = 10_000,
            "--data" => data = Some(args.next().ok_or("--data needs a file")?),
            "--reps" => cfg.reps = args.next().and_then(|s| s.parse().ok()).ok_or("--reps needs a number")?,
            "--codecs" => {
                let list = args.next().ok_or("--codecs needs factory names")?;
                codecs = vector_codecs::factory::split_names(&list).map(String::from).collect();
            }
            "--only" => only = Some(args.next().ok_or("--only needs names")?.split(',').map(String::from).collect()),
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    let xs = match &data {
        Some(p) => {
            let m = vector_codecs::io::read_npy_f32(p).map_err(|e| format!("{p}: {e}"))?;
            if m.dim != D {
                return Err(format!("{p}: dimension {} ≠ {D}", m.dim));
            }
            m.data
        }
        None => generate(cfg.n, 1),
    };
    cfg.n = xs.len() / D;
    let mut q = vec![0f32; D];
    Rng::new(2).fill_gaussian(&mut q);
    let want = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| name.starts_with(s.as_str())));

    let mut rows = Vec::new();
    // Raw foundation kernels only on request (`--only kernel`): the codec rows below replace them.
    if only.as_ref().is_some_and(|o| o.iter().any(|s| s.starts_with("kernel"))) {
        rows.extend(kernel_rows(&xs, &q, &cfg).into_iter().filter(|r| want(&r.name)));
    }
    rows.extend(binary_rows(&xs, &q, &cfg, &want)?);
    // RaBitQ 1-bit: over a dense Haar rotation (`rabitq1`, O(d²) per vector), the randomized
    // Hadamard rotation (`-had`, O(d log d)) and no rotation (`-id`, what faiss IndexRaBitQ
    // does); `q` = 4-bit quantized query.
    {
        use vector_codecs::rabitq::from_config;
        use vector_codecs::transform::{HaarRotation, Identity, RandomizedHadamard};
        let e = |e: vector_codecs::Error| e.to_string();
        if want("rabitq1") {
            let c = from_config("rabitq1", HaarRotation::new(D, 7).map_err(e)?, &xs, 7).map_err(e)?;
            rows.push(codec_row("rabitq1", &c, &xs, &q, &cfg));
        }
        if want("rabitq1-had") {
            let c = from_config("rabitq1", RandomizedHadamard::new(D, 7).map_err(e)?, &xs, 7).map_err(e)?;
            rows.push(codec_row("rabitq1-had", &c, &xs, &q, &cfg));
        }
        if want("rabitq1-id") {
            let c = from_config("rabitq1", Identity(D), &xs, 7).map_err(e)?;
            rows.push(codec_row("rabitq1-id", &c, &xs, &q, &cfg));
        }
        if want("rabitq1q-had") {
            let c = from_config("rabitq1q", RandomizedHadamard::new(D, 7).map_err(e)?, &xs, 7).map_err(e)?;
            rows.push(codec_row("rabitq1q-had", &c, &xs, &q, &cfg));
        }
    }
    // TurboQuant-MSE (randomized Hadamard rotation, Beta codebook): plain (`tqN`), split rate
    // (`tq2.5`) and inner-product-corrected norm (`tqN-ip`). The scan includes the query rotation
    // once per query and the table-lookup kernel per code.
    // `-i8`: the same codes through the quantized-query fast scan.
    for name in ["tq2", "tq2-ip", "tq2.5", "tq4", "tq4-ip", "tq2-ip-i8", "tq4-ip-i8", "tq4-i8"] {
        use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_mse_half, turbo_mse_ip};
        use vector_codecs::{ScanMode, ScanModes};
        if !want(name) {
            continue;
        }
        // The factory's codecs of these names, built directly (concrete types, no dispatch).
        let (h, beta) = (RotationKind::Hadamard, CodebookKind::Beta);
        let e = |e: vector_codecs::Error| format!("{name}: {e}");
        let (base, scan) = name.strip_suffix("-i8").map_or((name, ScanMode::Float), |b| (b, ScanMode::I8));
        let bits = u32::from(base.as_bytes()[2] - b'0');
        let row = if base.ends_with(".5") {
            let c = turbo_mse_half(D, bits, 7, h, beta).and_then(|c| c.with_scan(scan)).map_err(e)?;
            codec_row(name, &c, &xs, &q, &cfg)
        } else if base.ends_with("-ip") {
            let c = turbo_mse_ip(D, bits, 7, h, beta).and_then(|c| c.with_scan(scan)).map_err(e)?;
            codec_row(name, &c, &xs, &q, &cfg)
        } else {
            let c = turbo_mse(D, bits, 7, h, beta).and_then(|c| c.with_scan(scan)).map_err(e)?;
            codec_row(name, &c, &xs, &q, &cfg)
        };
        rows.push(row);
    }
    {
        use vector_codecs::codec::{ScanMode, ScanModes};
        use vector_codecs::scalar::uniform::{PerDimUniform, RangeEstimator};
        for bits in [8u32, 4] {
            let name = format!("sq{bits}");
            if want(&name) {
                let c = PerDimUniform::train(&xs, D, bits, RangeEstimator::MinMax, false).map_err(|e| e.to_string())?;
                rows.push(codec_row(&name, &c, &xs, &q, &cfg));
                let s = c.clone().with_scan(ScanMode::I8).map_err(|e| e.to_string())?;
                rows.push(codec_row_with(&format!("{name}-i8"), &c, &s, &xs, &q, &cfg));
            }
        }
    }
    if want("f32") {
        let all = replicate(bytemuck::cast_slice(&xs), cfg.copies);
        let gbps = scan_gbps(&all, 4 * D, cfg.reps, |block, s| {
            for (row, o) in block.chunks_exact(4 * D).zip(s.iter_mut()) {
                let v: &[f32] = bytemuck::cast_slice(row);
                *o = vector_codecs::simd::dot(v, &q);
            }
        });
        let fields = vec![("scan_gbps", gbps), ("scan_codes_per_s", gbps * 1e9 / (4 * D) as f64)];
        rows.push(Row { name: "f32".into(), code_len: 4 * D, fields });
    }
    for name in &codecs {
        rows.push(factory_row(name, &xs, &q, &cfg)?);
    }

    let mut s = format!(
        "{{\"d\": {D}, \"n_encode\": {}, \"n_scan\": {}, \"reps\": {}, \"backend\": \"{:?}\", \"results\": [",
        cfg.n,
        cfg.n * cfg.copies,
        cfg.reps,
        vector_codecs::simd::backend()
    );
    for (i, r) in rows.iter().enumerate() {
        s.push_str(if i == 0 { "\n  " } else { ",\n  " });
        s.push_str(&format!("{{\"name\": \"{}\", \"code_len\": {}", r.name, r.code_len));
        for (k, v) in &r.fields {
            s.push_str(&format!(", \"{k}\": {v:.4e}"));
        }
        s.push('}');
    }
    s.push_str("\n]}");
    println!("{s}");
    Ok(())
}
