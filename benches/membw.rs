//! Single-thread memory read bandwidth: the ceiling any scan over codes runs into.
//!
//! ```sh
//! cargo bench --bench membw [-- --mib 1024 --reps 7]
//! ```
//!
//! Sums a large buffer (default 1 GiB, far beyond any cache) as `u64` (wrapping add, 16
//! independent lanes) and as `f32` (16 independent accumulators), `reps` times each, and an
//! L3-resident 4 MiB buffer many times; prints one JSON object with the best and median GB/s
//! (10⁹ bytes per second). The buffers are written once before timing so that page faults are
//! not measured.

use std::hint::black_box;
use std::time::Instant;

fn sum_u64(v: &[u64]) -> u64 {
    let mut acc = [0u64; 16];
    let chunks = v.chunks_exact(16);
    let tail: u64 = chunks.remainder().iter().fold(0, |a, &x| a.wrapping_add(x));
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(x);
        }
    }
    acc.iter().fold(tail, |a, &x| a.wrapping_add(x))
}

fn sum_f32(v: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = v.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Times `reps` passes of `f` over `bytes` bytes each; returns (best, median) GB/s.
fn measure(bytes: usize, reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut rates: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            bytes as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() - 1], rates[rates.len() / 2])
}

fn main() {
    let mut mib = 1024usize;
    let mut reps = 7usize;
    let mut args = std::env::args().filter(|a| a != "--bench").skip(1);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|s| s.parse().ok());
        match (a.as_str(), v) {
            ("--mib", Some(v)) => mib = v,
            ("--reps", Some(v)) => reps = v,
            _ => {
                eprintln!("usage: membw [--mib N] [--reps N]");
                std::process::exit(2);
            }
        }
    }
    let bytes = mib << 20;

    let big: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    let (u64_best, u64_median) = measure(bytes, reps, || {
        black_box(sum_u64(black_box(&big)));
    });
    drop(big);
    let bigf: Vec<f32> = (0..bytes / 4).map(|i| (i & 1023) as f32).collect();
    let (f32_best, f32_median) = measure(bytes, reps, || {
        black_box(sum_f32(black_box(&bigf)));
    });
    drop(bigf);

    // L3-resident: 4 MiB, 64 passes per timed repetition.
    let small_bytes = 4 << 20;
    let small: Vec<u64> = (0..small_bytes / 8).map(|i| i as u64).collect();
    black_box(sum_u64(&small));
    let (l3_best, l3_median) = measure(small_bytes * 64, reps.max(5), || {
        for _ in 0..64 {
            black_box(sum_u64(black_box(&small)));
        }
    });

    println!(
        "{{\"buffer_mib\": {mib}, \"reps\": {reps}, \
         \"dram_read_u64_gbps_best\": {u64_best:.2}, \"dram_read_u64_gbps_median\": {u64_median:.2}, \
         \"dram_read_f32_gbps_best\": {f32_best:.2}, \"dram_read_f32_gbps_median\": {f32_median:.2}, \
         \"l3_read_4mib_gbps_best\": {l3_best:.2}, \"l3_read_4mib_gbps_median\": {l3_median:.2}}}"
    );
}
