//! TurboQuant encode throughput (rotation included), single thread, `encode_batch` and
//! one-at-a-time `encode_batch` of single rows (codecs from [`vector_codecs::factory`]), on Gaussian vectors with per-vector scale (the peers workload).
//!
//! ```sh
//! cargo bench --bench tq_encode [-- --n 20000 --reps 5 --only tq4,tqp3 --dims 384,768]
//! ```
//!
//! Prints one line per (config, d): vectors per second (median of `--reps`).

use std::hint::black_box;
use std::time::Instant;
use vector_codecs::Codec;
use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;
use vector_codecs::rng::Rng;
use vector_codecs::turbo::{CodebookKind, Rotation, RotationKind, turbo_mse};

trait InPlace {
    fn forward_in_place_any(&self, y: &mut [f32]);
}
impl InPlace for Rotation {
    fn forward_in_place_any(&self, y: &mut [f32]) {
        if let Rotation::Hadamard(h) = self {
            h.forward_in_place(y).expect("rotate");
        }
    }
}

/// Best of the repetitions (the machine is shared: the minimum is the least disturbed run).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[0]
}

/// Process CPU time (user + system) in seconds from `/proc/self/stat` (Linux; 10 ms ticks),
/// or `None` elsewhere. On a shared machine this is what the process actually got.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Nanoseconds per call of `f`: (best-of-5 wall, CPU time of ~1 s of calls).
fn ns_per(iters: usize, mut f: impl FnMut()) -> (f64, f64) {
    let wall = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..iters {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e9 / iters as f64
            })
            .collect(),
    );
    let c0 = cpu_secs().unwrap_or(0.0);
    let t = Instant::now();
    let mut k = 0usize;
    while t.elapsed().as_secs_f64() < 2.0 {
        for _ in 0..iters {
            f();
        }
        k += iters;
    }
    let cpu = (cpu_secs().unwrap_or(0.0) - c0) * 1e9 / k as f64;
    (wall, cpu)
}

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
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
        {
            // Stages of tq4 on one vector: rotation alone, scalar codec alone.
            let c = turbo_mse(d, 4, 7, RotationKind::Hadamard, CodebookKind::Beta).expect("tq4");
            let x = &xs[..d];
            let mut y = x.to_vec();
            let rot = ns_per(20_000, || {
                y.copy_from_slice(black_box(x));
                c.transform.forward_in_place_any(&mut y);
            });
            let mut code = vec![0u8; c.code_len()];
            let q = ns_per(20_000, || c.inner.encode_into(black_box(&y), &mut code).expect("encode"));
            println!(
                "tq4 d={d} stages (ns, best wall / CPU time): copy+rotation {:.0} / {:.0}, norm+cells+pack {:.0} / {:.0}",
                rot.0, rot.1, q.0, q.1
            );
        }
        for name in only.split(',') {
            let codec: Box<dyn DynCodec> =
                factory::build(name, d, Metric::InnerProduct, 7, &[]).expect("a factory name");
            let cl = codec.code_len();
            let mut codes = vec![0u8; n * cl];
            let c0 = cpu_secs().unwrap_or(0.0);
            let t0 = Instant::now();
            let mut k = 0usize;
            while t0.elapsed().as_secs_f64() < 2.0 {
                codec.encode_batch(black_box(&xs), &mut codes).expect("encode");
                k += n;
            }
            let cpu_batch = (cpu_secs().unwrap_or(0.0) - c0) / k as f64;
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
                            codec.encode_batch(black_box(x), c).expect("encode");
                        }
                        t.elapsed().as_secs_f64()
                    })
                    .collect(),
            );
            let h = codes.iter().fold(0u64, |h, &b| h.wrapping_mul(1_000_003).wrapping_add(u64::from(b)));
            println!(
                "{name} d={d}: encode_batch {:.0} k vec/s ({:.3} us/vec; by CPU time {:.3} us/vec = {:.0} k vec/s), one row at a time {:.0} k vec/s; codes hash {h:016x}",
                n as f64 / batch / 1e3,
                batch / n as f64 * 1e6,
                cpu_batch * 1e6,
                1e-3 / cpu_batch,
                n as f64 / single / 1e3,
            );
        }
    }
}
