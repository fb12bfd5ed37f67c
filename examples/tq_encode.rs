//! TurboQuant encode throughput (rotation included), single thread, `encode_batch` and
//! one-at-a-time `encode_into`, on Gaussian vectors with per-vector scale (the peers workload).
//!
//! ```sh
//! cargo run --release --example tq_encode [-- --n 20000 --reps 5 --only tq4,tqp3 --dims 384,768]
//! ```
//!
//! Prints one line per (config, d): vectors per second (median of `--reps`).

use std::hint::black_box;
use std::time::Instant;
use vector_codecs::Codec;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{Configured, from_config};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let n: usize = get("--n").and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let reps: usize = get("--reps").and_then(|s| s.parse().ok()).unwrap_or(5);
    let only = get("--only").unwrap_or_else(|| "tq4,tqp3".into());
    let dims = get("--dims").unwrap_or_else(|| "384,768".into());
    for d in dims.split(',').filter_map(|s| s.parse::<usize>().ok()) {
        let mut rng = Rng::new(42);
        let mut xs = vec![0.0f32; n * d];
        rng.fill_gaussian(&mut xs);
        for row in xs.chunks_exact_mut(d) {
            let s = (2.0f64).powf(4.0 * rng.next_f64() - 2.0) as f32;
            row.iter_mut().for_each(|v| *v *= s);
        }
        for name in only.split(',') {
            let codec: Box<dyn Codec> = match from_config(name, d, 7).expect("config") {
                Configured::Mse(c) => Box::new(c),
                Configured::Prod(c) => Box::new(c),
                Configured::Qjl(c) => Box::new(c),
            };
            let cl = codec.code_len();
            let mut codes = vec![0u8; n * cl];
            let batch = median(
                (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        codec.encode_batch(black_box(&xs), &mut codes).expect("encode");
                        t.elapsed().as_secs_f64()
                    })
                    .collect(),
            );
            let single = median(
                (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        for (x, c) in xs.chunks_exact(d).zip(codes.chunks_exact_mut(cl)) {
                            codec.encode_into(black_box(x), c).expect("encode");
                        }
                        t.elapsed().as_secs_f64()
                    })
                    .collect(),
            );
            let h = codes.iter().fold(0u64, |h, &b| h.wrapping_mul(1_000_003).wrapping_add(u64::from(b)));
            println!(
                "{name} d={d}: encode_batch {:.0} k vec/s ({:.3} us/vec), encode_into {:.0} k vec/s; codes hash {h:016x}",
                n as f64 / batch / 1e3,
                batch / n as f64 * 1e6,
                n as f64 / single / 1e3,
            );
        }
    }
}
