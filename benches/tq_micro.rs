//! TurboQuant encode micro-timings on a shared machine: the minimum over many short trials
//! (the least disturbed one), single thread, d-dimensional Gaussian rows with per-row scale.
//!
//! ```sh
//! cargo bench --bench tq_micro -- 768 tq4    # rotation, norm+cells, encode_batch
//! cargo bench --bench tq_micro -- 768 tqp3   # QJL stage alone, encode_batch
//! ```
//!
//! `encode_batch` is timed on chunks of 1000 rows (64 for `tqp`) taken in turn from 20000 rows
//! (61 MB at d = 768, so rows come from memory, not cache); the stage timings use 64 rows that
//! stay in cache.
use std::hint::black_box;
use std::time::Instant;
use vector_codecs::Codec;
use vector_codecs::rng::Rng;
use vector_codecs::transform::Transform;
use vector_codecs::turbo::{CodebookKind, RotationKind, turbo_mse, turbo_prod};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let d: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(768);
    let name = args.get(2).cloned().unwrap_or_else(|| "tq4".into());
    let n = 20000;
    let mut rng = Rng::new(42);
    let mut xs = vec![0.0f32; n * d];
    rng.fill_gaussian(&mut xs);
    for row in xs.chunks_exact_mut(d) {
        let s = (2.0f64).powf(4.0 * rng.next_f64() - 2.0) as f32;
        row.iter_mut().for_each(|v| *v *= s);
    }
    // `tqN` / `tqpN` of the factory (Hadamard rotation, Beta codebook), built directly.
    let (had, beta) = (RotationKind::Hadamard, CodebookKind::Beta);
    let prod = name.starts_with("tqp");
    let bits: u32 = name.trim_start_matches("tqp").trim_start_matches("tq").parse().expect("tqN or tqpN");
    let codec: Box<dyn Codec> = if prod {
        Box::new(turbo_prod(d, bits, 7, had, beta).unwrap())
    } else {
        Box::new(turbo_mse(d, bits, 7, had, beta).unwrap())
    };
    let cl = codec.code_len();
    let mut codes = vec![0u8; n * cl];
    let chunk = if name.starts_with("tqp") { 64 } else { 1000 };
    let trials = if name.starts_with("tqp") { 60 } else { 300 };
    let mut bestt = f64::INFINITY;
    for t in 0..trials {
        let i = (t * chunk) % (n - chunk);
        let t0 = Instant::now();
        codec.encode_batch(black_box(&xs[i * d..(i + chunk) * d]), &mut codes[i * cl..(i + chunk) * cl]).unwrap();
        bestt = bestt.min(t0.elapsed().as_secs_f64() / chunk as f64);
    }
    codec.encode_batch(&xs, &mut codes).unwrap();
    let h = codes.iter().fold(0u64, |h, &b| h.wrapping_mul(1_000_003).wrapping_add(u64::from(b)));
    let mut extra = String::new();
    if !prod {
        let c = turbo_mse(d, bits, 7, had, beta).unwrap();
        let m = 64;
        let mut ys = vec![0.0f32; m * d];
        let mut rot = f64::INFINITY;
        let mut inner = f64::INFINITY;
        for _ in 0..300 {
            let t0 = Instant::now();
            for (x, y) in xs[..m * d].chunks_exact(d).zip(ys.chunks_exact_mut(d)) {
                c.transform.forward(black_box(x), y).unwrap();
            }
            rot = rot.min(t0.elapsed().as_secs_f64() / m as f64);
            let t0 = Instant::now();
            c.inner.encode_batch(black_box(&ys), &mut codes[..m * cl]).unwrap();
            inner = inner.min(t0.elapsed().as_secs_f64() / m as f64);
        }
        extra = format!("rotation {:.0} ns, inner {:.0} ns (64 rows in L2); ", rot * 1e9, inner * 1e9);
    }
    if prod {
        let c = turbo_prod(d, bits, 7, had, beta).unwrap();
        let m = 64;
        let cb = c.second.code_len();
        let mut cbs = vec![0u8; m * cb];
        let mut q = f64::INFINITY;
        for _ in 0..30 {
            let t0 = Instant::now();
            c.second.encode_batch(black_box(&xs[..m * d]), &mut cbs).unwrap();
            q = q.min(t0.elapsed().as_secs_f64() / m as f64);
        }
        extra = format!("qjl encode_batch (64 rows) {:.0} ns; ", q * 1e9);
    }
    println!(
        "{name} d={d}: {extra}encode_batch min {:.0} ns = {:.0} k vec/s  hash {h:016x}",
        bestt * 1e9,
        1e-3 / bestt
    );
}
