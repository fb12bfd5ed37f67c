//! Every dispatched kernel on every backend this CPU has, timed in one process: the evidence
//! for the dispatch table in `src/simd/mod.rs` (issue 14: "the default choice ≥ 95% of the
//! fastest backend on the same CPU").
//!
//! ```sh
//! cargo bench --bench dispatch [-- --reps 7] [--only dot,hamming] [--cold-mib 256] [--no-cold]
//! ```
//!
//! Each kernel runs on a *hot* working set (about 192 KiB, cache resident: the compute rate)
//! and, unless `--no-cold`, on a *cold* one (`--cold-mib`, default 256 MiB, far beyond the
//! last-level cache: the memory-bound rate a large scan sees). The backends are switched
//! in-process with `simd::limit_backend` and **interleaved** (round `r` times portable, AVX2,
//! AVX-512, then round `r + 1` …), so a load change on a shared machine hits them alike; each
//! figure is the median of `--reps` rounds, in GB/s of the kernel's main input (codes for the
//! scans, decoded `u16` symbols for rANS). `default/best` is the rate of the backend the dispatcher picks without a limit,
//! over the fastest backend's. Output: a Markdown table on stdout.

use std::hint::black_box;
use std::time::Instant;
use vector_codecs::entropy::model::Model;
use vector_codecs::entropy::word::{self, Lanes};
use vector_codecs::rng::Rng;
use vector_codecs::simd::{self, Backend};
use vector_codecs::transform::RandomizedHadamard;

const D: usize = 768;

struct Opts {
    reps: usize,
    only: Option<Vec<String>>,
    cold_bytes: usize,
    cold: bool,
}

fn opts() -> Opts {
    let mut o = Opts { reps: 7, only: None, cold_bytes: 256 << 20, cold: true };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--reps" => {
                o.reps = args[i + 1].parse().expect("--reps N");
                i += 1;
            }
            "--only" => {
                o.only = Some(args[i + 1].split(',').map(str::to_owned).collect());
                i += 1;
            }
            "--cold-mib" => {
                o.cold_bytes = args[i + 1].parse::<usize>().expect("--cold-mib N") << 20;
                i += 1;
            }
            "--no-cold" => o.cold = false,
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    o
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One kernel over one working set: `run()` processes `bytes` bytes of main input.
struct Case<'a> {
    name: String,
    bytes: usize,
    run: Box<dyn FnMut() + 'a>,
}

fn bytes_u8(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| r.below(256) as u8).collect()
}

fn floats(r: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| r.gaussian() as f32).collect()
}

/// The rows of `n` bytes that fit in `total` bytes (at least one).
fn rows(total: usize, row_bytes: usize) -> usize {
    (total / row_bytes).max(1)
}

/// Row-wise kernels over `codes` of `stride` bytes per row: `f(row) -> f32` summed.
fn per_row<'a>(name: &str, codes: &'a [u8], stride: usize, mut f: impl FnMut(&[u8]) -> f32 + 'a) -> Case<'a> {
    Case {
        name: name.into(),
        bytes: codes.len() / stride * stride,
        run: Box::new(move || {
            let mut s = 0.0f32;
            for row in codes.chunks_exact(stride) {
                s += f(row);
            }
            black_box(s);
        }),
    }
}

/// The cases at one working-set size `ws` (bytes of main input).
fn cases<'a>(ws: usize, data: &'a Data) -> Vec<Case<'a>> {
    let Data { u8s, f32s, q, qi8, qi16, steps, base, step, table16, lut16 } = data;
    let n_u8 = rows(ws, D).min(u8s.len() / D);
    let codes8 = &u8s[..n_u8 * D];
    let n_f = rows(ws, 4 * D).min(f32s.len() / D);
    let rows_f = &f32s[..n_f * D];
    let mut v: Vec<Case<'a>> = Vec::new();
    v.push(Case {
        name: "dot f32".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            let mut s = 0.0;
            for r in rows_f.chunks_exact(D) {
                s += simd::dot(r, q);
            }
            black_box(s);
        }),
    });
    v.push(Case {
        name: "l2sq f32".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            let mut s = 0.0;
            for r in rows_f.chunks_exact(D) {
                s += simd::l2sq(r, q);
            }
            black_box(s);
        }),
    });
    v.push(Case {
        name: "sum_sq_f64_rows".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            let mut o = vec![0.0f64; n_f];
            simd::sum_sq_f64_rows(rows_f, D, &mut o);
            black_box(o);
        }),
    });
    v.push(Case {
        name: "min_max".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            black_box(simd::min_max(rows_f));
        }),
    });
    v.push(Case {
        name: "first_at_least".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            black_box(simd::first_at_least(rows_f, 0, f32::INFINITY));
        }),
    });
    // sq8 float-query scan (the flagship), rows kernel.
    v.push(Case {
        name: "dot_u8_f32_rows (sq8)".into(),
        bytes: codes8.len(),
        run: Box::new(move || {
            let mut o = vec![0.0f32; n_u8];
            simd::dot_u8_f32_rows(codes8, D, q, &mut o);
            black_box(o);
        }),
    });
    v.push(per_row("dot_u8_f32 (sq8, one row)", codes8, D, move |r| simd::dot_u8_f32(r, q)));
    let n4 = rows(ws, D / 2).min(u8s.len() / (D / 2));
    let codes4 = &u8s[..n4 * (D / 2)];
    v.push(Case {
        name: "dot_u4_f32_rows (sq4)".into(),
        bytes: codes4.len(),
        run: Box::new(move || {
            let mut o = vec![0.0f32; n4];
            simd::dot_u4_f32_rows(codes4, D / 2, q, &mut o);
            black_box(o);
        }),
    });
    v.push(per_row("dot_u8_f32_blocks (sq8-b32)", codes8, D, move |r| simd::dot_u8_f32_blocks(r, q, 32, steps)));
    v.push(per_row("dot_u4_f32_blocks (sq4-b32)", codes4, D / 2, move |r| simd::dot_u4_f32_blocks(r, q, 32, steps)));
    v.push(per_row("dot_u8_i8 (sq8-i8)", codes8, D, move |r| simd::dot_u8_i8(r, qi8) as f32));
    v.push(per_row("dot_u8_i16 (sq-i16)", codes8, D, move |r| simd::dot_u8_i16(r, qi16) as f32));
    v.push(per_row("dot_i8_i8", codes8, D, move |r| simd::dot_i8_i8(bytemuck::cast_slice(r), qi8) as f32));
    let n16 = rows(ws, 2 * D).min(u8s.len() / (2 * D));
    let codes16 = &u8s[..n16 * 2 * D];
    v.push(per_row("dot_f16 (f16)", codes16, 2 * D, move |r| simd::dot_f16(r, q)));
    v.push(per_row("dot_bf16 (bf16)", codes16, 2 * D, move |r| simd::dot_bf16(r, q)));
    // Bit-plane float-query scans (RaBitQ, extended RaBitQ): one row per call and the 4-row
    // kernel, for 1 and 4 planes of D bits.
    for bits in [1u32, 4] {
        let plane = D / 8;
        let stride = plane * bits as usize;
        let nl = rows(ws, stride).min(u8s.len() / stride);
        let codes = &u8s[..nl * stride];
        v.push(per_row(&format!("dot_bitplanes {bits}-plane (rabitq{bits}, one row)"), codes, stride, move |r| {
            simd::dot_bitplanes(r, plane, bits, q)
        }));
        v.push(Case {
            name: format!("dot_bitplanes_rows {bits}-plane (rabitq{bits})"),
            bytes: codes.len(),
            run: Box::new(move || {
                let mut o = vec![0.0f32; nl];
                simd::dot_bitplanes_rows(codes, stride, plane, bits, q, &mut o);
                black_box(o);
            }),
        });
    }
    for bits in [1u32, 2, 3, 4] {
        let stride = D * bits as usize / 8;
        let nl = rows(ws, stride).min(u8s.len() / stride);
        let codes = &u8s[..nl * stride];
        v.push(per_row(&format!("dot_lut_f32 {bits}-bit (tq{bits})"), codes, stride, move |r| {
            simd::dot_lut_f32(r, bits, table16, q)
        }));
        if bits != 3 {
            v.push(per_row(&format!("dot_lut_i8 {bits}-bit (tq{bits}-i8)"), codes, stride, move |r| {
                simd::dot_lut_i8(r, bits, lut16, qi8) as f32
            }));
        }
    }
    {
        let stride = D / 2;
        let nl = rows(ws, stride).min(u8s.len() / stride);
        let codes = &u8s[..nl * stride];
        v.push(Case {
            name: "lut_expand_f32 4-bit (tq4 decode)".into(),
            bytes: codes.len(),
            run: Box::new(move || {
                let mut o = vec![0.0f32; D];
                for r in codes.chunks_exact(stride) {
                    simd::lut_expand_f32(r, 4, table16, 1.5, &mut o);
                    black_box(&o);
                }
            }),
        });
    }
    // binary: 1-bit codes of d = 768 (96 bytes).
    {
        let stride = D / 8;
        let nb = rows(ws, stride).min(u8s.len() / stride);
        let codes = &u8s[..nb * stride];
        let qb = &u8s[u8s.len() - stride..];
        v.push(per_row("hamming (bin1)", codes, stride, move |r| simd::hamming(r, qb) as f32));
        v.push(per_row("and_popcount (bin bit-sliced)", codes, stride, move |r| simd::and_popcount(r, qb) as f32));
        v.push(Case {
            name: "popcount".into(),
            bytes: codes.len(),
            run: Box::new(move || {
                black_box(simd::popcount(codes));
            }),
        });
    }
    // Encode-side kernels.
    v.push(Case {
        name: "quantize_u8 (sq8 encode)".into(),
        bytes: rows_f.len() * 4,
        run: Box::new(move || {
            let mut o = vec![0u8; D];
            for r in rows_f.chunks_exact(D) {
                black_box(simd::quantize_u8(r, base, step, 255.0, &mut o));
            }
        }),
    });
    {
        let nm = (n_f / 64 * 64).clamp(64, 4096);
        let nm = nm.min(f32s.len() / D);
        let xs = &f32s[..nm * D];
        let m = &f32s[f32s.len() - D * D..];
        v.push(Case {
            name: "matmul_fixed 768x768 (dense rotation)".into(),
            bytes: xs.len() * 4,
            run: Box::new(move || {
                let mut o = vec![0.0f32; nm * D];
                simd::matmul_fixed(m, D, D, xs, &mut o);
                black_box(o);
            }),
        });
        // The inverse: one vector at a time (`matvec_t`) and the blocked batch (`matmul_t`).
        v.push(Case {
            name: "matvec_t 768x768 (inverse rotation, one vector)".into(),
            bytes: xs.len() * 4,
            run: Box::new(move || {
                let mut o = vec![0.0f32; D];
                for y in xs.chunks_exact(D) {
                    simd::matvec_t(m, D, y, &mut o);
                    black_box(&o);
                }
            }),
        });
        v.push(Case {
            name: "matmul_t 768x768 (inverse rotation, batch)".into(),
            bytes: xs.len() * 4,
            run: Box::new(move || {
                let mut o = vec![0.0f32; nm * D];
                simd::matmul_t(m, D, D, xs, &mut o);
                black_box(o);
            }),
        });
    }
    {
        let h = RandomizedHadamard::new(D, 3).expect("hadamard");
        let mut x = rows_f.to_vec();
        v.push(Case {
            name: "fwht passes (randomized Hadamard, d = 768)".into(),
            bytes: rows_f.len() * 4,
            run: Box::new(move || {
                for r in x.chunks_exact_mut(D) {
                    h.forward_in_place(r).expect("forward");
                }
                black_box(&x);
            }),
        });
    }
    for lanes in [Lanes::L8, Lanes::L32] {
        // rANS decode of byte symbols drawn from a skewed (geometric-like) distribution.
        let n = (ws / 2).clamp(1 << 12, 1 << 22);
        let model =
            Model::from_counts(&(0..256u64).map(|s| 1 + (1 << 20 >> (s / 8))).collect::<Vec<_>>(), 12).expect("model");
        let syms: Vec<u16> = u8s[..n].iter().map(|&b| u16::from(b.trailing_zeros() as u8 * 8 + (b >> 5))).collect();
        let stream = word::encode_vec(&[model.view()], lanes, &syms).expect("encode");
        let mut out = vec![0u16; n];
        v.push(Case {
            name: format!("rANS decode {} lanes", lanes.count()),
            bytes: 2 * n,
            run: Box::new(move || {
                word::decode(&model.view(), lanes, &stream, &mut out).expect("decode");
                black_box(&out);
            }),
        });
    }
    v
}

struct Data {
    u8s: Vec<u8>,
    f32s: Vec<f32>,
    q: Vec<f32>,
    qi8: Vec<i8>,
    qi16: Vec<i16>,
    steps: Vec<f32>,
    base: Vec<f32>,
    step: Vec<f32>,
    table16: Vec<f32>,
    lut16: [u8; 16],
}

fn main() {
    let o = opts();
    let mut r = Rng::new(7);
    let default = simd::backend();
    let mut backends = vec![Backend::Portable];
    if cfg!(target_arch = "x86_64") {
        for b in [Backend::Avx2, Backend::Avx512] {
            if simd::limit_backend(b) == b {
                backends.push(b);
            }
        }
    }
    simd::limit_backend(Backend::Avx512);
    assert_eq!(simd::backend(), default, "limit_backend must restore the default");
    let sizes: Vec<(&str, usize)> =
        if o.cold { vec![("hot", 192 << 10), ("cold", o.cold_bytes)] } else { vec![("hot", 192 << 10)] };
    let big = sizes.iter().map(|s| s.1).max().unwrap_or(0);
    let data = Data {
        u8s: bytes_u8(&mut r, big.max(D * D)),
        f32s: floats(&mut r, (big / 4).max(2 * D * D)),
        q: floats(&mut r, D),
        qi8: (0..D).map(|_| (r.below(255) as i32 - 127) as i8).collect(),
        qi16: (0..D).map(|_| (r.below(4096) as i32 - 2048) as i16).collect(),
        steps: (0..D / 16).map(|_| 0.5 + r.below(100) as f32 / 100.0).collect(),
        base: floats(&mut r, D),
        step: (0..D).map(|_| 0.01 + r.below(100) as f32 / 1000.0).collect(),
        table16: floats(&mut r, 16),
        lut16: core::array::from_fn(|i| (i * 8) as u8),
    };
    println!(
        "backends: {:?}; default: {:?}; reps {}; GB/s of main input, median of interleaved rounds\n",
        backends, default, o.reps
    );
    print!("| kernel | set |");
    for b in &backends {
        print!(" {b:?} |");
    }
    println!(" default/best |");
    print!("|---|---|");
    for _ in &backends {
        print!("---:|");
    }
    println!("---:|");
    for (label, ws) in &sizes {
        let mut cs = cases(*ws, &data);
        for c in cs.iter_mut() {
            if let Some(only) = &o.only
                && !only.iter().any(|s| c.name.contains(s.as_str()))
            {
                continue;
            }
            // Repeat the hot sets so that one timing lasts ≥ ~2 ms.
            let inner = (4_000_000 / c.bytes.max(1)).max(1);
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); backends.len()];
            for rep in 0..=o.reps {
                for (bi, &b) in backends.iter().enumerate() {
                    simd::limit_backend(b);
                    let t = Instant::now();
                    for _ in 0..inner {
                        (c.run)();
                    }
                    let s = t.elapsed().as_secs_f64();
                    if rep > 0 {
                        times[bi].push(s);
                    }
                }
            }
            simd::limit_backend(Backend::Avx512);
            let rates: Vec<f64> = times.into_iter().map(|t| (c.bytes * inner) as f64 / median(t) / 1e9).collect();
            let best = rates.iter().copied().fold(0.0, f64::max);
            let def = rates[backends.iter().position(|&b| b == default).unwrap_or(0)];
            print!("| {} | {label} |", c.name);
            for rate in &rates {
                if *rate == best {
                    print!(" **{rate:.2}** |");
                } else {
                    print!(" {rate:.2} |");
                }
            }
            println!(" {:.2} |", def / best);
        }
    }
}
