//! Kernels of product quantization and k-means: blocked squared-L2 / inner-product distances of
//! one vector to 8 centroids at a time, and the 4-bit fast-scan lookup-accumulate.
//!
//! **Determinism.** The float kernels here feed trained parameters (k-means assignments, hence
//! codebooks) and codes, so they compute the same bits on every backend: lanes run across 8
//! centroids and each lane sums its terms sequentially over the dimension (multiply, then add;
//! never fused), so there is no horizontal reduction whose order a backend could change. They are
//! written once with `wide::f32x8`, whose lane-wise IEEE operations are identical on SSE, AVX,
//! NEON, wasm and the scalar fallback.
//!
//! The fast-scan kernel is integer-exact, so its arch paths (AVX2, AVX-512 BW in
//! `x86::pq`) return exactly the portable result.

use wide::f32x8;

/// Centroids per block of the blocked (transposed) codebook layout.
pub const LANES: usize = 8;

/// Lays out `k` centroids of `d` floats (row-major) as `⌈k/8⌉` blocks of `d × 8` floats
/// (`out[(b·d + j)·8 + l] = c[(8b + l)·d + j]`); missing centroids of the last block are 0.
/// `out` must hold `⌈k/8⌉·8·d` floats (extra is left unchanged).
pub fn transpose_blocks(c: &[f32], k: usize, d: usize, out: &mut [f32]) {
    for b in 0..k.div_ceil(LANES) {
        for j in 0..d {
            for l in 0..LANES {
                let i = b * LANES + l;
                let v = if i < k { c.get(i * d + j).copied().unwrap_or(0.0) } else { 0.0 };
                if let Some(o) = out.get_mut((b * d + j) * LANES + l) {
                    *o = v;
                }
            }
        }
    }
}

/// Squared L2 distances of `x` (`d` floats) to the 8 centroids of one block (`d × 8` floats, see
/// [`transpose_blocks`]): lane `l` is `Σ_j (x_j − c_{l,j})²`, summed in order `j = 0, 1, …`.
#[inline]
pub fn l2_block(x: &[f32], block: &[f32]) -> [f32; LANES] {
    let mut acc = f32x8::ZERO;
    for (&xj, c) in x.iter().zip(block.chunks_exact(LANES)) {
        let c = f32x8::from(<[f32; LANES]>::try_from(c).unwrap_or([0.0; LANES]));
        let t = f32x8::splat(xj) - c;
        acc += t * t;
    }
    acc.to_array()
}

/// Inner products of `x` with the 8 centroids of one block: lane `l` is `Σ_j x_j·c_{l,j}`, summed
/// in order.
#[inline]
pub fn ip_block(x: &[f32], block: &[f32]) -> [f32; LANES] {
    let mut acc = f32x8::ZERO;
    for (&xj, c) in x.iter().zip(block.chunks_exact(LANES)) {
        let c = f32x8::from(<[f32; LANES]>::try_from(c).unwrap_or([0.0; LANES]));
        acc += f32x8::splat(xj) * c;
    }
    acc.to_array()
}

/// The nearest of `k` centroids in blocked layout to `x` and its squared distance (ties to the
/// lowest index; NaN distances never win, index 0 if all are NaN).
#[inline]
pub fn nearest(x: &[f32], blocks: &[f32], k: usize) -> (usize, f32) {
    let d = x.len();
    let (mut best, mut bd) = (0usize, f32::INFINITY);
    if d == 0 {
        return (0, 0.0);
    }
    for (b, block) in blocks.chunks_exact(d * LANES).enumerate() {
        let dist = l2_block(x, block);
        for (l, &v) in dist.iter().enumerate() {
            let i = b * LANES + l;
            if i < k && v < bd {
                best = i;
                bd = v;
            }
        }
    }
    (best, bd)
}

/// The screening data of [`nearest_batch`] for `k` row-major centroids of `d` floats: writes
/// `half[i] = ½·fl(Σ_j c_{i,j}²)` (summed in order in `f32`) for `i < min(k, half.len())` and
/// returns a bound `C ≥ max_i ‖c_i‖` (computed in `f64`, rounded up); `+∞` if a norm is not finite.
pub fn half_norms(cents: &[f32], k: usize, d: usize, half: &mut [f32]) -> f64 {
    let mut cmax = 0f64;
    for (i, c) in cents.chunks_exact(d.max(1)).take(k).enumerate() {
        let mut s = 0f32;
        let mut s64 = 0f64;
        for &v in c {
            s += v * v;
            s64 += f64::from(v) * f64::from(v);
        }
        if let Some(h) = half.get_mut(i) {
            *h = 0.5 * s;
        }
        cmax = cmax.max(libm::sqrt(s64));
    }
    if !cmax.is_finite() {
        return f64::INFINITY;
    }
    cmax * (1.0 + 1e-6) + 1e-30
}

/// The nearest centroid of each of `nrows` rows, **bit for bit** what [`nearest`] returns per
/// row: row `r` is `rows[r·stride .. r·stride + d]`, the `k` centroids are given both row-major
/// (`cents`, `k·d` floats) and in the blocked layout (`blocks`, [`transpose_blocks`]), with
/// [`half_norms`]'s `half` and `cmax`. Writes `idx[r]` and, if given, `dist[r]` (the exact
/// squared distance). The k-means assignment and the PQ encoder.
///
/// With AVX-512 (and `d ≤ 32`, `k ≤ 256`) rows are screened 16 at a time with
/// `½‖c‖² − ⟨x, c⟩` and fused multiply-adds, and the candidates within a proven rounding bound
/// of the minimum are re-scored with the exact sequential sum, so the answer does not depend on
/// the backend; elsewhere [`nearest`] runs per row.
#[allow(clippy::too_many_arguments)]
pub fn nearest_batch(
    rows: &[f32],
    stride: usize,
    nrows: usize,
    d: usize,
    cents: &[f32],
    blocks: &[f32],
    half: &[f32],
    cmax: f64,
    k: usize,
    idx: &mut [u32],
    mut dist: Option<&mut [f32]>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut tmp = [0f32; 64];
        let n = nrows.min(idx.len());
        let ok = match dist.as_deref_mut() {
            Some(ds) => {
                super::x86::pq::nearest_batch(rows, stride, n, d, cents, half, cmax, k, idx, ds, true).is_some()
            }
            None => {
                // Chunks of 64 rows with a scratch distance buffer.
                let mut all = true;
                let mut r = 0;
                while r < n && all {
                    let c = (n - r).min(64);
                    let sub = rows.get(r * stride..).unwrap_or(&[]);
                    all = super::x86::pq::nearest_batch(
                        sub,
                        stride,
                        c,
                        d,
                        cents,
                        half,
                        cmax,
                        k,
                        &mut idx[r..r + c],
                        &mut tmp,
                        false,
                    )
                    .is_some();
                    r += c;
                }
                all
            }
        };
        if ok {
            return;
        }
    }
    let _ = (cents, half, cmax);
    for r in 0..nrows.min(idx.len()) {
        let Some(x) = rows.get(r * stride..r * stride + d) else { break };
        let (j, v) = nearest(x, blocks, k);
        idx[r] = j as u32;
        if let Some(o) = dist.as_deref_mut().and_then(|ds| ds.get_mut(r)) {
            *o = v;
        }
    }
}

/// [`nearest_batch`] on the exhaustive per-row path only (the reference; for tests).
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn nearest_batch_portable(
    rows: &[f32],
    stride: usize,
    nrows: usize,
    d: usize,
    blocks: &[f32],
    k: usize,
    idx: &mut [u32],
    dist: &mut [f32],
) {
    for r in 0..nrows.min(idx.len()).min(dist.len()) {
        let Some(x) = rows.get(r * stride..r * stride + d) else { break };
        let (j, v) = nearest(x, blocks, k);
        idx[r] = j as u32;
        dist[r] = v;
    }
}

/// Writes `out[i]` = the squared distance (`ip == false`) or inner product (`ip == true`) of `x`
/// to centroid `i < min(k, out.len())` of the blocked layout.
pub fn table(x: &[f32], blocks: &[f32], k: usize, ip: bool, out: &mut [f32]) {
    let d = x.len();
    if d == 0 {
        out.iter_mut().take(k).for_each(|o| *o = 0.0);
        return;
    }
    for (b, block) in blocks.chunks_exact(d * LANES).enumerate() {
        let v = if ip { ip_block(x, block) } else { l2_block(x, block) };
        for (l, &s) in v.iter().enumerate() {
            let i = b * LANES + l;
            if i < k
                && let Some(o) = out.get_mut(i)
            {
                *o = s;
            }
        }
    }
}

/// ADC scan of 8-bit PQ codes with a float table: `out[v] = ±Σ_m lut[256·m + codes[v·m + m']]`
/// summed in `m` order from 0 (negated when `neg`), for `v < min(out.len(), codes.len() / m)`.
/// The same bits on every target and backend, and as a one-code sequential sum (see
/// [`adc_scan_u8_portable`] for how it runs). On x86-64 (any backend but
/// [`Portable`](super::Backend::Portable)) each lookup-add is one `addss` with a memory operand
/// (`x86::pq::AddSs`), which the compiler would otherwise pack four codes to a register with
/// shuffles; the same IEEE additions in the same order.
pub fn adc_scan_u8(lut: &[f32], m: usize, codes: &[u8], neg: bool, out: &mut [f32]) {
    if m == 0 {
        out.iter_mut().for_each(|o| *o = if neg { -0.0 } else { 0.0 });
        return;
    }
    let n = out.len().min(codes.len() / m);
    adc_scan_u8_passes(lut, m, &codes[..n * m], neg, &mut out[..n], ADC_PASS);
}

/// Most sub-quantizers per pass of [`adc_scan_u8_portable`]: 32 KiB of table, the L1d of Zen 4.
pub const ADC_PASS: usize = 32;

/// Codes per piece of [`adc_scan_u8_portable`]: the partial sums of a piece (4 KiB) stay in L1
/// between passes, and its codes in L2.
pub const ADC_PIECE: usize = 1024;

/// The kernel of [`adc_scan_u8`] (also its reference; nothing `unsafe`, no arch path: AVX-512
/// gather kernels measured slower, on Zen 4 at 0.5–0.8× this one). Codes are taken in pieces
/// of [`ADC_PIECE`]; each piece is scanned in passes of at most [`ADC_PASS`] sub-quantizers
/// (the `u64` words split evenly: `M` = 48 in 2 passes of 24, 96 in 3 of 32), so that the part
/// of the table a pass reads stays in L1 (the whole table is 96 KiB at `M` = 96), and the
/// partial sums of the piece are carried from pass to pass in `out`. Within a pass four codes
/// run at a time (four independent add chains) with their indices read as little-endian `u64`
/// words, 8 sub-quantizers per load; the last `m mod 8` sub-quantizers are read as bytes, and
/// the last `n mod 4` codes one at a time. Each code is still summed in `m` order from 0, the
/// carried partial sum being exactly the sum so far, so every split gives the bits of the plain
/// sequential sum.
pub fn adc_scan_u8_portable(lut: &[f32], m: usize, codes: &[u8], neg: bool, out: &mut [f32]) {
    adc_passes::<Plain>(lut, m, codes, neg, out, ADC_PASS)
}

/// One lookup-add of the float ADC scan, `acc += row[i]`: one IEEE single-precision addition
/// on every implementation (the backends differ only in the instructions).
pub(crate) trait LookupAdd {
    /// `*acc += row[i]`.
    fn add(acc: &mut f32, row: &[f32; 256], i: u8);
}

/// The portable [`LookupAdd`].
pub(crate) struct Plain;

impl LookupAdd for Plain {
    #[inline(always)]
    fn add(acc: &mut f32, row: &[f32; 256], i: u8) {
        *acc += row[usize::from(i)];
    }
}

/// [`adc_scan_u8`] with passes of at most `pass` sub-quantizers (rounded down to a multiple of
/// 8, at least 8; `usize::MAX`: one pass), for benchmarks of the pass size. The same bits for
/// every `pass`.
#[doc(hidden)]
pub fn adc_scan_u8_passes(lut: &[f32], m: usize, codes: &[u8], neg: bool, out: &mut [f32], pass: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::backend() != super::Backend::Portable {
        return adc_passes::<super::x86::pq::AddSs>(lut, m, codes, neg, out, pass);
    }
    adc_passes::<Plain>(lut, m, codes, neg, out, pass)
}

/// The kernel of [`adc_scan_u8_passes`], written once for every [`LookupAdd`].
#[inline(always)]
fn adc_passes<A: LookupAdd>(lut: &[f32], m: usize, codes: &[u8], neg: bool, out: &mut [f32], pass: usize) {
    if m == 0 || lut.len() < 256 * m {
        return;
    }
    let (rows, _) = lut[..256 * m].as_chunks::<256>();
    let n = out.len().min(codes.len() / m);
    let words = m / 8;
    let passes = words.div_ceil((pass / 8).max(1)).max(1);
    let pass_words = words.div_ceil(passes).max(1);
    for (o, cs) in out[..n].chunks_mut(ADC_PIECE).zip(codes[..n * m].chunks(ADC_PIECE * m)) {
        adc_piece::<A>(rows, m, cs, neg, o, pass_words);
    }
}

/// One piece of [`adc_passes`]: `out.len()` codes of `m` bytes in `codes`.
#[inline(always)]
fn adc_piece<A: LookupAdd>(rows: &[[f32; 256]], m: usize, codes: &[u8], neg: bool, out: &mut [f32], pass_words: usize) {
    let words = m / 8;
    let tail = m % 8;
    let (rows8, rest) = rows.as_chunks::<8>();
    let fin = |s: f32, last: bool| if last && neg { -s } else { s };
    // Four codes at a time: word passes, then the byte tail.
    let mut w0 = 0;
    while w0 < words {
        let w1 = (w0 + pass_words).min(words);
        let last = w1 == words && tail == 0;
        let rp = &rows8[w0..w1];
        for (o, cs) in out.chunks_exact_mut(4).zip(codes.chunks_exact(4 * m)) {
            let wl = |l: usize| cs[l * m + 8 * w0..l * m + 8 * w1].as_chunks::<8>().0;
            let (a, b, c, d) = (wl(0), wl(1), wl(2), wl(3));
            let mut s = if w0 == 0 { [0f32; 4] } else { [o[0], o[1], o[2], o[3]] };
            for ((((rs, a), b), c), d) in rp.iter().zip(a).zip(b).zip(c).zip(d) {
                let x =
                    [u64::from_le_bytes(*a), u64::from_le_bytes(*b), u64::from_le_bytes(*c), u64::from_le_bytes(*d)];
                for (k, row) in rs.iter().enumerate() {
                    for (sl, &xl) in s.iter_mut().zip(&x) {
                        A::add(sl, row, (xl >> (8 * k)) as u8);
                    }
                }
            }
            for (oo, v) in o.iter_mut().zip(s) {
                *oo = fin(v, last);
            }
        }
        w0 = w1;
    }
    if tail > 0 {
        for (o, cs) in out.chunks_exact_mut(4).zip(codes.chunks_exact(4 * m)) {
            let mut s = if words == 0 { [0f32; 4] } else { [o[0], o[1], o[2], o[3]] };
            for (i, row) in rest.iter().enumerate() {
                let j = 8 * words + i;
                for (l, sl) in s.iter_mut().enumerate() {
                    A::add(sl, row, cs[l * m + j]);
                }
            }
            for (oo, v) in o.iter_mut().zip(s) {
                *oo = fin(v, true);
            }
        }
    }
    for (code, o) in codes.chunks_exact(4 * m).remainder().chunks_exact(m).zip(out.chunks_exact_mut(4).into_remainder())
    {
        let mut s = 0f32;
        for (row, &c) in rows.iter().zip(code) {
            A::add(&mut s, row, c);
        }
        *o = fin(s, true);
    }
}

/// The `u8`-table scan of 8-bit PQ codes ([`ScanMode::I8`](crate::ScanMode::I8)): `acc[v] =
/// Σ_m qlut[256·m + c_{v,m}]` (exact in `u32`) finished as `sb + (acc as f32)·sa`, for
/// `v < min(out.len(), codes.len() / m)`. Four codes at a time with `u64` index words when `m`
/// is a multiple of 8, one otherwise; integer-exact, so the same bits on every path.
pub fn adc_scan_u8_int(qlut: &[u8], m: usize, codes: &[u8], sb: f32, sa: f32, out: &mut [f32]) {
    if m == 0 || qlut.len() < 256 * m {
        return;
    }
    let finish = |acc: u32| sb + (acc as f32) * sa;
    let (rows, _) = qlut[..256 * m].as_chunks::<256>();
    let n = out.len().min(codes.len() / m);
    let (out, codes) = (&mut out[..n], &codes[..n * m]);
    let mut done = 0;
    if m.is_multiple_of(8) {
        let words = m / 8;
        let mut oc = out.chunks_exact_mut(4);
        for (o, cs) in (&mut oc).zip(codes.chunks_exact(4 * m)) {
            let (w, _) = cs.as_chunks::<8>();
            let (w0, w1, w2, w3) = (&w[..words], &w[words..2 * words], &w[2 * words..3 * words], &w[3 * words..]);
            let mut s = [0u32; 4];
            for ((((rs, a), b), c), d) in rows.chunks_exact(8).zip(w0).zip(w1).zip(w2).zip(w3) {
                let x =
                    [u64::from_le_bytes(*a), u64::from_le_bytes(*b), u64::from_le_bytes(*c), u64::from_le_bytes(*d)];
                for (k, row) in rs.iter().enumerate() {
                    for (sl, &xl) in s.iter_mut().zip(&x) {
                        *sl += u32::from(row[((xl >> (8 * k)) & 255) as usize]);
                    }
                }
            }
            for (oo, v) in o.iter_mut().zip(s) {
                *oo = finish(v);
            }
            done += 4;
        }
    }
    let (out, codes) = (&mut out[done..], &codes[done * m..]);
    for (code, o) in codes.chunks_exact(m).zip(out.iter_mut()) {
        let mut s = 0u32;
        for (row, &c) in rows.iter().zip(code) {
            s += u32::from(row[usize::from(c)]);
        }
        *o = finish(s);
    }
}

/// `y[i] += a·x[i]` in `f64` for `i < min(y.len(), x.len())`, multiply then add (never fused):
/// the same bits on every backend (AVX-512 runs 8 lanes at a time). OPQ's `Xᵀ·Y` accumulation.
#[inline]
pub fn axpy_f64(y: &mut [f64], a: f64, x: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    if super::x86::pq::axpy_f64(y, a, x).is_some() {
        return;
    }
    for (o, &v) in y.iter_mut().zip(x) {
        *o += a * v;
    }
}

/// `perm0` of the fast-scan layout: byte `j` of a 16-byte half holds vectors `PERM0[j]` (low
/// nibble) and `PERM0[j] + 16` (high nibble).
pub const PERM0: [usize; 16] = [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15];

/// Fast-scan accumulation over `nblocks` blocks of 32 vectors (SPECS §4 layout, `npairs` pairs
/// of 4-bit sub-quantizers per block, 32 bytes per pair): `out[32b + v] = Σ_m lut[16m + c_{v,m}]`
/// for `m < 2·npairs`, exact in `u32`. `lut` holds `2·npairs` rows of 16 bytes; `codes`
/// `nblocks·npairs·32` bytes; `out` `32·nblocks` values (missing input reads as 0, extra output
/// is left unchanged). Dispatches to AVX-512 BW / AVX2 where detected; every backend returns the
/// same integers.
pub fn fastscan_accumulate(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if super::x86::pq::fastscan_accumulate(lut, codes, npairs, out).is_some() {
        return;
    }
    fastscan_accumulate_portable(lut, codes, npairs, out)
}

/// Fast-scan scores of whole blocks: `out[32b + v] = sb + (S as f32)·sa` with `S` the exact sum
/// of [`fastscan_accumulate`] (multiply, then add: the same bits on every backend; `S < 2²⁴`),
/// for the `⌊min(codes.len() / (32·npairs), out.len() / 32)⌋` whole blocks (the rest of `out` is
/// left unchanged). AVX-512 BW / AVX2 kernels where detected.
pub fn fastscan_scores(lut: &[u8], codes: &[u8], npairs: usize, sb: f32, sa: f32, out: &mut [f32]) {
    if npairs == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let nblocks = (codes.len() / (32 * npairs)).min(out.len() / 32);
        if super::x86::pq::fastscan_scores(lut, codes, npairs, nblocks, sb, sa, out).is_some() {
            return;
        }
    }
    fastscan_scores_portable(lut, codes, npairs, sb, sa, out);
}

/// Most queries a multi-query fast-scan pass is built for: the AVX-512 kernel of
/// [`fastscan_scores_multi`] serves 4 queries per pass over the codes (AVX2: 2); more queries are
/// served in groups.
pub const FS_QUERIES: usize = 4;

/// [`fastscan_scores`] for `nq = fin.len()` queries in one pass over the codes per group of
/// queries (FAISS's query blocking, `qbs`): each 64-byte step of codes is loaded and its nibbles
/// split once, then looked up in the tables of up to [`FS_QUERIES`] queries, each with its own
/// `u16` accumulators. Query `i` reads its table (`2·npairs` rows of 16 bytes) from
/// `luts[i]`, finishes with `fin[i] = (sb, sa)`, and writes its scores to
/// `out[i·ostride + 32b + v]` for the `nblocks = ⌊min(codes.len() / (32·npairs), ostride / 32)⌋`
/// whole blocks: for every query **the same bits** as [`fastscan_scores`] with its table, on
/// every backend. Nothing happens when `npairs == 0`, `nq == 0`, `luts` has fewer than `nq`
/// tables, a table is shorter than `32·npairs` bytes, or `out` is short for the last query.
#[allow(clippy::too_many_arguments)]
pub fn fastscan_scores_multi(
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) {
    let Some(nblocks) = multi_blocks(luts, codes, npairs, fin.len(), out.len(), ostride) else { return };
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = super::backend() == super::Backend::Avx512;
        if super::x86::pq::fastscan_scores_multi_with(avx512, luts, codes, npairs, nblocks, fin, out, ostride).is_some()
        {
            return;
        }
    }
    multi_portable(luts, codes, npairs, nblocks, fin, out, ostride);
}

/// Whole blocks of a multi-query scan, `None` when there is nothing (valid) to do.
fn multi_blocks(
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    nq: usize,
    out_len: usize,
    ostride: usize,
) -> Option<usize> {
    if npairs == 0 || nq == 0 || luts.len() < nq || luts[..nq].iter().any(|l| l.len() < 32 * npairs) {
        return None;
    }
    let nblocks = (codes.len() / (32 * npairs)).min(ostride / 32);
    let out_need = (nq - 1).checked_mul(ostride)?.checked_add(32 * nblocks)?;
    (out_len >= out_need).then_some(nblocks)
}

/// The portable multi-query scan: [`fastscan_scores_portable`] per query.
#[allow(clippy::too_many_arguments)]
fn multi_portable(
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    nblocks: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) {
    let codes = &codes[..nblocks * 32 * npairs];
    for (i, &(sb, sa)) in fin.iter().enumerate() {
        let o = &mut out[i * ostride..i * ostride + 32 * nblocks];
        fastscan_scores_portable(luts[i], codes, npairs, sb, sa, o);
    }
}

/// [`fastscan_scores_multi`] on one `backend` (for tests comparing backends): `None` when this
/// CPU lacks it or there is nothing to do.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn fastscan_scores_multi_on(
    backend: super::Backend,
    luts: &[&[u8]],
    codes: &[u8],
    npairs: usize,
    fin: &[(f32, f32)],
    out: &mut [f32],
    ostride: usize,
) -> Option<()> {
    let nblocks = multi_blocks(luts, codes, npairs, fin.len(), out.len(), ostride)?;
    match backend {
        super::Backend::Portable => {
            multi_portable(luts, codes, npairs, nblocks, fin, out, ostride);
            Some(())
        }
        #[cfg(target_arch = "x86_64")]
        b => super::x86::pq::fastscan_scores_multi_with(
            b == super::Backend::Avx512,
            luts,
            codes,
            npairs,
            nblocks,
            fin,
            out,
            ostride,
        ),
        #[cfg(not(target_arch = "x86_64"))]
        _ => None,
    }
}

/// The portable [`fastscan_scores`] (its reference).
pub fn fastscan_scores_portable(lut: &[u8], codes: &[u8], npairs: usize, sb: f32, sa: f32, out: &mut [f32]) {
    if npairs == 0 {
        return;
    }
    let mut acc = [0u32; 32];
    for (blk, o) in codes.chunks_exact(32 * npairs).zip(out.chunks_exact_mut(32)) {
        fastscan_accumulate_portable(lut, blk, npairs, &mut acc);
        for (oo, &s) in o.iter_mut().zip(&acc) {
            *oo = sb + (s as f32) * sa;
        }
    }
}

/// [`fastscan_scores`] on one `backend` (for tests comparing backends): `None` when this CPU
/// lacks it.
#[doc(hidden)]
pub fn fastscan_scores_on(
    backend: super::Backend,
    lut: &[u8],
    codes: &[u8],
    npairs: usize,
    sb: f32,
    sa: f32,
    out: &mut [f32],
) -> Option<()> {
    if npairs == 0 {
        return None;
    }
    let nblocks = (codes.len() / (32 * npairs)).min(out.len() / 32);
    match backend {
        super::Backend::Portable => {
            fastscan_scores_portable(lut, codes, npairs, sb, sa, out);
            Some(())
        }
        #[cfg(target_arch = "x86_64")]
        b => {
            super::x86::pq::fastscan_scores_with(b == super::Backend::Avx512, lut, codes, npairs, nblocks, sb, sa, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => {
            let _ = nblocks;
            None
        }
    }
}

/// The fast-scan kernel of one `backend` (for tests comparing backends): `None` when this CPU
/// (or target) lacks it. [`Backend::Portable`](super::Backend::Portable) always runs.
#[doc(hidden)]
pub fn fastscan_accumulate_on(
    backend: super::Backend,
    lut: &[u8],
    codes: &[u8],
    npairs: usize,
    out: &mut [u32],
) -> Option<()> {
    match backend {
        super::Backend::Portable => {
            fastscan_accumulate_portable(lut, codes, npairs, out);
            Some(())
        }
        #[cfg(target_arch = "x86_64")]
        super::Backend::Avx2 => super::x86::pq::fastscan_accumulate_avx2(lut, codes, npairs, out),
        #[cfg(target_arch = "x86_64")]
        super::Backend::Avx512 => super::x86::pq::fastscan_accumulate_avx512(lut, codes, npairs, out),
        #[cfg(not(target_arch = "x86_64"))]
        _ => None,
    }
}

/// The arch re-layout of one full block of 32 flat 4-bit codes (`pq::fastscan::relayout_block`),
/// where this CPU has one; `None` otherwise (the caller runs the portable re-layout).
#[inline]
#[cfg(feature = "alloc")]
pub(crate) fn relayout_block_arch(codes: &[u8], code_len: usize, out: &mut [u8]) -> Option<()> {
    x86_or!(
        super::x86::pq::relayout_block(codes, code_len, out),
        None;
        codes, code_len, out
    )
}

/// The portable (scalar) fast-scan kernel; the reference of [`fastscan_accumulate`].
pub fn fastscan_accumulate_portable(lut: &[u8], codes: &[u8], npairs: usize, out: &mut [u32]) {
    if npairs == 0 || lut.len() < 32 * npairs {
        for o in out.iter_mut() {
            *o = 0;
        }
        return;
    }
    for (blk, o) in codes.chunks_exact(32 * npairs).zip(out.chunks_exact_mut(32)) {
        let mut acc = [0u32; 32];
        for (p, bytes) in blk.chunks_exact(32).enumerate() {
            let (l0, l1) = (&lut[32 * p..32 * p + 16], &lut[32 * p + 16..32 * p + 32]);
            for j in 0..16 {
                let (a, b) = (bytes[j], bytes[16 + j]);
                let v = PERM0[j];
                acc[v] += u32::from(l0[usize::from(a & 15)]) + u32::from(l1[usize::from(b & 15)]);
                acc[v + 16] += u32::from(l0[usize::from(a >> 4)]) + u32::from(l1[usize::from(b >> 4)]);
            }
        }
        o.copy_from_slice(&acc);
    }
}
