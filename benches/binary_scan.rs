//! Times the binary-code scans the crate promises at memory speed, single thread:
//! 1 query × 1,000,000 codes of 96 bytes (d = 768), top-10, with every popcount backend this CPU
//! has (AVX-512 VPOPCNTDQ, AVX2 nibble lookup, portable `count_ones`):
//!
//! * Hamming scan (`hamming_scan_topk_with`) — target ≥ 25 GB/s of codes (faiss IndexBinaryFlat)
//!   and ≥ 70% of the memory read bandwidth measured in the same run;
//! * 4-bit bit-sliced query scan (`BitslicedScorer::scan_topk_with`) — target ≥ 9.6 GB/s (faiss
//!   IndexRaBitQ scan);
//! * the float-query scan (nibble lookup tables, portable) for reference.
//!
//! Memory read bandwidth is measured by summing a 1 GiB `u64` buffer.
//!
//! ```sh
//! cargo bench --bench binary_scan            # default build
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench binary_scan
//! cargo bench --bench binary_scan -- 200000  # fewer codes
//! ```

use std::hint::black_box;
use std::time::Instant;

use vector_codecs::binary::{BinaryCodec, PopcntBackend, hamming_scan_topk_with};
use vector_codecs::rng::Rng;
use vector_codecs::topk::TopK;
use vector_codecs::{Codec, Score};

const REPS: usize = 7;

/// Median and best of `REPS` timings of `f`, in seconds.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up (page faults, caches, frequency)
    let mut t: Vec<f64> = (0..REPS)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (t[REPS / 2], t[0])
}

fn memory_bandwidth() -> (f64, f64) {
    let words = (1usize << 30) / 8;
    let mut buf = vec![0u64; words];
    for (i, w) in buf.iter_mut().enumerate() {
        *w = i as u64; // touch every page
    }
    let (med, best) = time(|| {
        // Four independent accumulators so the adds are not the bottleneck.
        let mut s = [0u64; 4];
        for c in buf.chunks_exact(4) {
            s[0] = s[0].wrapping_add(c[0]);
            s[1] = s[1].wrapping_add(c[1]);
            s[2] = s[2].wrapping_add(c[2]);
            s[3] = s[3].wrapping_add(c[3]);
        }
        black_box(s);
    });
    let gb = (words * 8) as f64 / 1e9;
    (gb / med, gb / best)
}

fn main() {
    let n: usize = std::env::args().filter(|a| a != "--bench").nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let d = 768;
    let codec = BinaryCodec::sign(d).unwrap();
    let len = codec.code_len();
    let mut r = Rng::new(1);
    let codes: Vec<u8> = (0..n * len).map(|_| r.next_u32() as u8).collect();
    let q: Vec<f32> = (0..d).map(|_| r.gaussian() as f32).collect();
    let mut qcode = vec![0u8; len];
    codec.encode_into(&q, &mut qcode).unwrap();
    let gb = (n * len) as f64 / 1e9;

    let (bw_med, bw_best) = memory_bandwidth();
    println!("memory read bandwidth (sum of a 1 GiB u64 buffer): median {bw_med:.1} GB/s, best {bw_best:.1} GB/s");
    println!("codes: {n} x {len} bytes (d = {d}), top-10, single thread; detected {:?}", PopcntBackend::detect());
    println!("{:<34} {:>10} {:>10} {:>12}", "scan", "median", "best", "median/bw");

    let backends: Vec<PopcntBackend> = [PopcntBackend::Avx512, PopcntBackend::Avx2, PopcntBackend::Scalar]
        .into_iter()
        .filter(|b| b.is_available())
        .collect();
    let mut reference: Option<Vec<(f32, u32)>> = None;
    for &be in &backends {
        let mut top = [(0.0f32, 0u32); 16];
        let (med, best) = time(|| {
            let mut t = TopK::<16>::new(10);
            hamming_scan_topk_with(be, &qcode, &codes, 0, &mut t).unwrap();
            let m = t.drain_sorted(&mut top);
            black_box(m);
        });
        let got = top[..10].to_vec();
        assert_eq!(reference.get_or_insert_with(|| got.clone()), &got, "backends disagree");
        println!(
            "{:<34} {:>7.1} GB/s {:>5.1} GB/s {:>10.0}%",
            format!("hamming {be:?}"),
            gb / med,
            gb / best,
            100.0 * (gb / med) / bw_med
        );
    }

    let s = codec.bitsliced();
    let mut scratch = s.scratch();
    let pq = s.prepare(&q, &mut scratch).unwrap();
    let mut reference: Option<Vec<(f32, u32)>> = None;
    for &be in &backends {
        let mut top = [(0.0f32, 0u32); 16];
        let (med, best) = time(|| {
            let mut t = TopK::<16>::new(10);
            s.scan_topk_with(be, &pq, &codes, 0, &mut t).unwrap();
            black_box(t.drain_sorted(&mut top));
        });
        let got = top[..10].to_vec();
        assert_eq!(reference.get_or_insert_with(|| got.clone()), &got, "backends disagree");
        println!(
            "{:<34} {:>7.1} GB/s {:>5.1} GB/s {:>10.0}%",
            format!("4-bit query {be:?}"),
            gb / med,
            gb / best,
            100.0 * (gb / med) / bw_med
        );
    }

    let mut scratch = codec.scratch();
    let fq = codec.prepare(&q, &mut scratch).unwrap();
    let (med, best) = time(|| {
        let mut t = TopK::<16>::new(10);
        codec.scan_topk(&fq, &codes, 0, &mut t).unwrap();
        black_box(t.len());
    });
    println!(
        "{:<34} {:>7.1} GB/s {:>5.1} GB/s {:>10.0}%",
        "float query (portable LUT)",
        gb / med,
        gb / best,
        100.0 * (gb / med) / bw_med
    );
}
