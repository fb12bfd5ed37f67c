//! The fused / multi-code scan kernels against naive references on awkward lengths: every
//! popcount backend, top-k equal to a full sort (ties by id, pre-filled selectors), the raw
//! fused-scan callback contract, and the RaBitQ batch scoring paths.

use vector_codecs::binary::{PopcntBackend, hamming_scan_topk_with};
use vector_codecs::rng::Rng;
use vector_codecs::simd::reference;
use vector_codecs::topk::TopK;

const LENS: &[usize] = &[1, 7, 8, 16, 31, 32, 33, 47, 63, 64, 65, 95, 96, 97, 128, 129, 200, 991, 992, 993, 1500];

/// A fused scan kernel behind a uniform signature (query, codes, stride, n, bound, emit).
#[cfg(target_arch = "x86_64")]
type ScanFn = fn(&[u8], &[u8], usize, usize, u32, &mut dyn FnMut(usize, u32) -> u32) -> Option<()>;

fn backends() -> Vec<PopcntBackend> {
    let all = [PopcntBackend::Scalar, PopcntBackend::Avx2, PopcntBackend::Avx512];
    let v: Vec<_> = all.into_iter().filter(|b| b.is_available()).collect();
    eprintln!("popcount backends tested: {v:?}");
    v
}

/// Random codes with many exact ties: a quarter of the codes repeat earlier ones, and short codes
/// collide anyway.
fn codes_with_ties(r: &mut Rng, n: usize, len: usize) -> Vec<u8> {
    let mut c: Vec<u8> = (0..n * len).map(|_| r.next_u32() as u8).collect();
    for i in 0..n {
        if i > 0 && r.below(4) == 0 {
            let j = r.below(i as u64) as usize;
            let (a, b) = c.split_at_mut(i * len);
            b[..len].copy_from_slice(&a[j * len..(j + 1) * len]);
        }
    }
    c
}

fn sorted_top(mut all: Vec<(f32, u32)>, k: usize) -> Vec<(f32, u32)> {
    all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
    all.truncate(k);
    all
}

#[test]
fn fused_hamming_scan_equals_full_sort_on_awkward_lengths() {
    let mut r = Rng::new(21);
    for &len in LENS {
        for n in [0usize, 1, 3, 4, 5, 17, 600] {
            let codes = codes_with_ties(&mut r, n, len);
            let q: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
            for k in [1usize, 10, 40] {
                // Pre-filled selector: entries with ids above and below the scanned range, scores
                // equal to real distances, so ties across calls are exercised.
                let pre: Vec<(f32, u32)> = (0..3)
                    .map(|j| {
                        let h = if n > 0 {
                            reference::hamming(&q, &codes[(j % n) * len..(j % n + 1) * len])
                        } else {
                            4 * len as u64
                        };
                        (-(h as f32), if j == 1 { 2 } else { 100_000 + j as u32 })
                    })
                    .collect();
                let first = 50u32;
                let mut all = pre.clone();
                all.extend(
                    codes
                        .chunks_exact(len)
                        .enumerate()
                        .map(|(i, c)| (-(reference::hamming(&q, c) as f32), first + i as u32)),
                );
                let want = sorted_top(all, k);
                for be in backends() {
                    let mut t = TopK::<64>::new(k);
                    for &(s, id) in &pre {
                        t.push(s, id);
                    }
                    hamming_scan_topk_with(be, &q, &codes, first, &mut t).unwrap();
                    let mut out = [(0.0, 0); 64];
                    let m = t.drain_sorted(&mut out);
                    assert_eq!(&out[..m], &want[..], "{be:?} len {len} n {n} k {k}");
                }
            }
        }
    }
}

#[test]
fn fused_scan_callback_sees_exactly_the_codes_within_the_bound() {
    let mut r = Rng::new(22);
    for &len in LENS {
        let n = 37;
        for stride_extra in [0usize, 5] {
            let stride = len + stride_extra;
            let codes: Vec<u8> = (0..n * stride).map(|_| r.next_u32() as u8).collect();
            let q: Vec<u8> = (0..len).map(|_| r.next_u32() as u8).collect();
            let h: Vec<u32> =
                (0..n).map(|i| reference::hamming(&q, &codes[i * stride..i * stride + len]) as u32).collect();
            let mut med = h.clone();
            med.sort_unstable();
            let b = med[n / 2];
            // A constant bound: exactly the codes with h ≤ b, in order. Then a shrinking bound.
            let want: Vec<(usize, u32)> =
                h.iter().enumerate().filter(|&(_, &x)| x <= b).map(|(i, &x)| (i, x)).collect();
            let mut shrink_want = Vec::new();
            let mut sb = u32::MAX;
            for (i, &x) in h.iter().enumerate() {
                if x <= sb {
                    shrink_want.push((i, x));
                    sb = x.saturating_sub(1);
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                use vector_codecs::simd::{Backend, hamming_scan_on};
                let kernels: [(&str, ScanFn); 2] = [
                    ("avx2", |q, c, s, n, b, e| hamming_scan_on(Backend::Avx2, q, c, s, n, b, e)),
                    ("avx512", |q, c, s, n, b, e| hamming_scan_on(Backend::Avx512, q, c, s, n, b, e)),
                ];
                for (name, f) in kernels {
                    let mut got = Vec::new();
                    if f(&q, &codes, stride, n, b, &mut |i, x| {
                        got.push((i, x));
                        b
                    })
                    .is_none()
                    {
                        eprintln!("{name}: no fused kernel for len {len} on this CPU");
                        continue;
                    }
                    assert_eq!(got, want, "{name} len {len} stride {stride}");
                    let mut got = Vec::new();
                    f(&q, &codes, stride, n, u32::MAX, &mut |i, x| {
                        got.push((i, x));
                        x.saturating_sub(1)
                    })
                    .unwrap();
                    assert_eq!(got, shrink_want, "{name} shrinking, len {len}");
                    // A window past the end is refused, not read.
                    assert!(f(&q, &codes[..(n - 1) * stride + len - 1], stride, n, b, &mut |_, x| x).is_none());
                }
            }
            let _ = (&want, &shrink_want);
        }
    }
}

#[test]
fn rabitq_batch_scores_equal_single_scores_and_the_naive_sums() {
    use vector_codecs::rabitq::{QueryMode, RaBitQ};
    use vector_codecs::transform::Identity;
    use vector_codecs::{Codec, Score};
    let mut r = Rng::new(23);
    for d in [2usize, 5, 33, 100, 255, 257, 768] {
        for bits in [1u8, 3] {
            let n = 70;
            let c = RaBitQ::new(Identity(d), bits).unwrap();
            let cl = c.code_len();
            let xs: Vec<f32> = (0..n * d).map(|_| r.gaussian() as f32).collect();
            let mut codes = vec![0u8; n * cl];
            c.encode_batch(&xs, &mut codes).unwrap();
            // Corrupt padding bits of the sign plane in a few codes: single and batch scoring must
            // still agree (the batch path cancels them algebraically).
            let p = d.div_ceil(8);
            if d % 8 != 0 {
                for code in codes.chunks_exact_mut(cl).step_by(7) {
                    code[bits as usize * p - 1] |= !((1u8 << (d % 8)) - 1);
                }
            }
            let q: Vec<f32> = (0..d).map(|_| r.gaussian() as f32).collect();
            for mode in [QueryMode::Float, QueryMode::Quantized4] {
                let cm = c.clone().with_query_mode(mode, 5);
                let mut scratch = cm.scratch();
                let pq = cm.prepare(&q, &mut scratch).unwrap();
                let mut batch = vec![0.0f32; n];
                cm.score_batch(&pq, &codes, &mut batch).unwrap();
                for (i, code) in codes.chunks_exact(cl).enumerate() {
                    let single = cm.score(&pq, code).unwrap();
                    assert_eq!(batch[i].to_bits(), single.to_bits(), "d {d} B {bits} {mode:?} code {i}");
                }
                if bits == 1 && mode == QueryMode::Float {
                    // Naive: score = r/(x0·√D/2) · Σ_i q_i·(b_i − ½) for the float query.
                    for (i, code) in codes.chunks_exact(cl).enumerate() {
                        let f =
                            |k: usize| f32::from_le_bytes(code[p + 4 * k..p + 4 * k + 4].try_into().unwrap()) as f64;
                        let (rr, x0) = (f(0), f(1));
                        let s: f64 = (0..d)
                            .map(|j| q[j] as f64 * if (code[j / 8] >> (j % 8)) & 1 == 1 { 0.5 } else { -0.5 })
                            .sum();
                        let want = rr / (x0 * 0.5 * (d as f64).sqrt()) * s;
                        assert!(
                            (batch[i] as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "d {d} {i}: {} vs {want}",
                            batch[i]
                        );
                    }
                }
            }
        }
    }
}
