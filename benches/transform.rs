//! Dense transforms on batches: the blocked fixed-order matrix product
//! ([`Transform::forward_batch`]) against one matrix–vector product per row
//! ([`Transform::forward`], what batch encoders did before), and `encode_batch` against
//! one-row-at-a-time `encode_batch` for every factory codec that rotates with a dense matrix.
//! Single thread; Gaussian vectors with a per-vector scale and a decaying spectrum (so PCA has
//! something to find).
//!
//! ```sh
//! cargo bench --bench transform [-- --n 8192 --reps 5 --dims 384,768 --only pca2-ip,qjl --cpu-secs 1 --codecs-only]
//! ```
//!
//! Prints one line per (item, d): vectors per second, best of `--reps` (the box is shared), the
//! same by this thread's CPU time over `--cpu-secs` seconds (what the thread got on a loaded
//! machine), and the ratio of the two paths measured in the same process.

use std::hint::black_box;
use std::time::Instant;
use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;
use vector_codecs::rng::Rng;
use vector_codecs::transform::{GaussianProjection, HaarRotation, Transform};

/// Seconds of the fastest of `reps` runs of `f` (the least disturbed run on a shared machine).
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// This thread's CPU time (user + system) in seconds from `/proc/thread-self/stat` (Linux; 10 ms
/// ticks), or `None` elsewhere: on a shared machine, what the thread actually got.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU seconds per call of `f`, over about `secs` seconds of wall time (at least one call) (0 without
/// `/proc/thread-self/stat`).
fn cpu_per_call(secs: f64, mut f: impl FnMut()) -> f64 {
    let c0 = cpu_secs().unwrap_or(0.0);
    let t = Instant::now();
    let mut k = 0usize;
    loop {
        f();
        k += 1;
        if t.elapsed().as_secs_f64() >= secs {
            break;
        }
    }
    (cpu_secs().unwrap_or(0.0) - c0) / k as f64
}

/// The clock (GHz) this thread ran at, estimated by CPU time from a dependent chain of
/// `x = x·k + c` on `u64` (a 3-cycle multiply and a 1-cycle add per step on current x86 cores).
fn clock_ghz() -> f64 {
    let k = black_box(3u64);
    let c = black_box(1u64);
    let steps = 200_000_000u64;
    let secs = cpu_per_call(0.0, || {
        let mut x = black_box(1u64);
        for _ in 0..steps {
            x = x.wrapping_mul(k).wrapping_add(c);
        }
        black_box(x);
    });
    4.0 * steps as f64 / secs / 1e9
}

/// Every factory codec with a dense rotation or projection in its encoder.
const DENSE: &str = "pca2-ip,pca4-ip,pca1+-ip,tqp3-orth,qjl,qjl-orth,tqp3";

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let get = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let n: usize = get("--n").and_then(|s| s.parse().ok()).unwrap_or(8192);
    let reps: usize = get("--reps").and_then(|s| s.parse().ok()).unwrap_or(5);
    let only = get("--only").unwrap_or_else(|| DENSE.into());
    let dims = get("--dims").unwrap_or_else(|| "384,768".into());
    let skip_raw = args.iter().any(|a| a == "--codecs-only");
    let cpu: f64 = get("--cpu-secs").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    for d in dims.split(',').filter_map(|s| s.parse::<usize>().ok()) {
        let mut rng = Rng::new(42);
        let mut xs = vec![0.0f32; n * d];
        rng.fill_gaussian(&mut xs);
        for row in xs.chunks_exact_mut(d) {
            let s = (2.0f64).powf(4.0 * rng.next_f64() - 2.0) as f32;
            for (j, v) in row.iter_mut().enumerate() {
                *v *= s / (1.0 + j as f32 / 32.0);
            }
        }
        if !skip_raw {
            // The kernel on operands that stay in L1 (8 rows × 512 against 6 vectors, 48 KiB
            // is L1 on the development machine): its ceiling without cache misses.
            let (r, c, v) = (8usize, 512usize, 6usize);
            let m: Vec<f32> = xs[..r * c].to_vec();
            let x6: Vec<f32> = xs[r * c..(r + v) * c].to_vec();
            let mut o = vec![0.0f32; r * v];
            let reps_l1 = 20_000;
            let secs = cpu_per_call(cpu, || {
                for _ in 0..reps_l1 {
                    vector_codecs::simd::matmul_fixed(black_box(&m), r, c, black_box(&x6), &mut o);
                }
            });
            let ghz = clock_ghz();
            let gflops = 2.0 * (r * c * v * reps_l1) as f64 / secs / 1e9;
            println!(
                "matmul_fixed in L1 ({r}x{c} by {v} vectors, backend {:?}): {gflops:.1} GFLOP/s by CPU time; clock estimate {ghz:.2} GHz = {:.1} FLOP/cycle (AVX-512 FMA peak of 2 x 16-lane pipes: 64)",
                vector_codecs::simd::backend(),
                gflops / ghz,
            );
            let haar = HaarRotation::new(d, 7).expect("haar");
            let gauss = GaussianProjection::new(d, d, 7).expect("gaussian").materialize();
            let items: [(&str, &dyn Transform); 2] = [("haar", &haar), ("gaussian", &gauss)];
            for (name, t) in items {
                let mut one = vec![0.0f32; n * d];
                let mut many = vec![0.0f32; n * d];
                let per_row = best(reps, || {
                    for (x, y) in xs.chunks_exact(d).zip(one.chunks_exact_mut(d)) {
                        t.forward(black_box(x), y).expect("forward");
                    }
                });
                let batch = best(reps, || t.forward_batch(black_box(&xs), &mut many).expect("forward_batch"));
                let same = one.iter().zip(&many).all(|(a, b)| a.to_bits() == b.to_bits());
                let flops = 2.0 * (d * d) as f64 * n as f64;
                let cpu_batch =
                    cpu_per_call(cpu, || t.forward_batch(black_box(&xs), &mut many).expect("forward_batch"));
                let cpu_row = cpu_per_call(cpu, || {
                    for (x, y) in xs.chunks_exact(d).zip(one.chunks_exact_mut(d)) {
                        t.forward(black_box(x), y).expect("forward");
                    }
                });
                println!(
                    "{name} d={d}: forward_batch {:.0} k vec/s ({:.1} GFLOP/s; by CPU time {:.0} k vec/s, {:.1} GFLOP/s), per-row forward {:.0} k vec/s ({:.1} GFLOP/s; by CPU time {:.0} k vec/s), ratio {:.2}x (CPU time {:.2}x), bit-identical {same}",
                    n as f64 / batch / 1e3,
                    flops / batch / 1e9,
                    n as f64 / cpu_batch / 1e3,
                    flops / cpu_batch / 1e9,
                    n as f64 / per_row / 1e3,
                    flops / per_row / 1e9,
                    n as f64 / cpu_row / 1e3,
                    per_row / batch,
                    cpu_row / cpu_batch,
                );
            }
        }
        let train = &xs[..2048.min(n) * d];
        for name in only.split(',') {
            let codec: Box<dyn DynCodec> =
                factory::build(name, d, Metric::InnerProduct, 7, train).expect("a factory name");
            let cl = codec.code_len();
            let mut batch_codes = vec![0u8; n * cl];
            let mut row_codes = vec![0u8; n * cl];
            let batch = best(reps, || codec.encode_batch(black_box(&xs), &mut batch_codes).expect("encode"));
            let single = best(reps, || {
                for (x, c) in xs.chunks_exact(d).zip(row_codes.chunks_exact_mut(cl)) {
                    codec.encode_batch(black_box(x), c).expect("encode");
                }
            });
            let cpu_batch = cpu_per_call(cpu, || codec.encode_batch(black_box(&xs), &mut batch_codes).expect("encode"));
            let cpu_row = cpu_per_call(cpu, || {
                for (x, c) in xs.chunks_exact(d).zip(row_codes.chunks_exact_mut(cl)) {
                    codec.encode_batch(black_box(x), c).expect("encode");
                }
            });
            let h = batch_codes.iter().fold(0u64, |h, &b| h.wrapping_mul(1_000_003).wrapping_add(u64::from(b)));
            println!(
                "{name} d={d}: encode_batch {:.0} k vec/s ({:.2} us/vec; by CPU time {:.0} k vec/s), one row at a time {:.0} k vec/s (by CPU time {:.0} k vec/s), ratio {:.2}x (CPU time {:.2}x), same codes {}, hash {h:016x}",
                n as f64 / batch / 1e3,
                batch / n as f64 * 1e6,
                n as f64 / cpu_batch / 1e3,
                n as f64 / single / 1e3,
                n as f64 / cpu_row / 1e3,
                single / batch,
                cpu_row / cpu_batch,
                batch_codes == row_codes,
            );
        }
    }
}
