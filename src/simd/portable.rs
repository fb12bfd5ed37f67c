//! Portable kernels on `wide` vectors. `wide` selects SSE2/AVX2/NEON/WASM SIMD instructions at
//! compile time from the target features; on a default `x86-64` build that means SSE2.

use wide::{CmpGt, f32x8, i8x16, i16x8, i16x16, i32x8, u8x16};

/// Whether `wide` has no vector unit on this target (Cortex-M, 32-bit RISC-V, …): its 8- and
/// 16-lane types are plain arrays there, and the unrolled kernels below only cost flash. The
/// dot products then run the [`rolled`] loops, which compute the same bits (the same lane
/// accumulators in the same order; integer sums are exact in any order) in a fraction of the
/// code: about 3 KB less on Cortex-M4 for `dot`, `dot_u8_f32`, `dot_u4_f32`, `dot_u8_i8` and
/// `dot_u8_i16` together.
pub(crate) const ROLLED: bool =
    cfg!(not(any(target_feature = "sse2", target_feature = "neon", target_feature = "simd128")));

/// Rolled forms of the dot-product kernels, bit-identical to the `wide` ones where `wide`
/// multiplies and adds separately (no FMA) and sums `f32x8` lanes as two `f32x4` halves (every
/// target without AVX); see [`ROLLED`].
pub(crate) mod rolled {
    /// Sums eight lane accumulators as `wide`'s `f32x8::reduce_add` does without AVX: each
    /// half in lane order, then the halves.
    #[inline(always)]
    fn reduce8(l: &[f32; 8]) -> f32 {
        l[..4].iter().sum::<f32>() + l[4..].iter().sum::<f32>()
    }

    /// [`super::dot`]: two 8-lane accumulators over 16-element steps, one more 8-element step
    /// into the first, the lane sums, then the tail in order.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0f32; 16];
        let mut ca = a.chunks_exact(16);
        let mut cb = b.chunks_exact(16);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for ((v, &x), &y) in acc.iter_mut().zip(x).zip(y) {
                *v += x * y;
            }
        }
        let mut ta = ca.remainder().chunks_exact(8);
        let mut tb = cb.remainder().chunks_exact(8);
        for (x, y) in (&mut ta).zip(&mut tb) {
            for ((v, &x), &y) in acc.iter_mut().zip(x).zip(y) {
                *v += x * y;
            }
        }
        let lanes: [f32; 8] = core::array::from_fn(|l| acc[l] + acc[l + 8]);
        let mut s = reduce8(&lanes);
        for (x, y) in ta.remainder().iter().zip(tb.remainder()) {
            s += x * y;
        }
        s
    }

    /// [`super::dot_u8_f32`] (`B = 8`) and [`super::dot_u4_f32`] (`B = 4`, low nibble first)
    /// over `n` levels: 16 lane accumulators per 16-level step, the last step zero-padded.
    pub fn widen<const B: u32>(a: &[u8], n: usize, w: &[f32]) -> f32 {
        let mut acc = [0f32; 16];
        for (c, ws) in w[..n.min(w.len())].chunks(16).enumerate() {
            for (l, v) in acc.iter_mut().enumerate() {
                let (x, y) = match ws.get(l) {
                    Some(&y) => {
                        let j = 16 * c + l;
                        let level =
                            if B == 8 { a.get(j).copied() } else { a.get(j / 2).map(|&b| (b >> (4 * (j % 2))) & 0xF) };
                        (f32::from(level.unwrap_or(0)), y)
                    }
                    None => (0.0, 0.0),
                };
                *v += x * y;
            }
        }
        let lanes: [f32; 8] = core::array::from_fn(|l| acc[l] + acc[l + 8]);
        reduce8(&lanes)
    }

    /// `Σ a_i·b_i` exactly, for the integer kernels.
    pub fn dot_int<A: Copy + Into<i32>, B: Copy + Into<i32>>(a: &[A], b: &[B]) -> i64 {
        a.iter().zip(b).map(|(&x, &y)| i64::from(x.into() * y.into())).sum()
    }
}

#[inline(always)]
fn load_f32x8(s: &[f32]) -> f32x8 {
    let mut a = [0.0f32; 8];
    a.copy_from_slice(&s[..8]);
    f32x8::new(a)
}

#[inline(always)]
fn load_u8x16(s: &[u8]) -> u8x16 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&s[..16]);
    u8x16::new(a)
}

#[inline(always)]
fn load_i8x16(s: &[i8]) -> i8x16 {
    let mut a = [0i8; 16];
    a.copy_from_slice(&s[..16]);
    i8x16::new(a)
}

#[inline(always)]
fn load_i16x16(s: &[i16]) -> i16x16 {
    let mut a = [0i16; 16];
    a.copy_from_slice(&s[..16]);
    i16x16::new(a)
}

/// `Σ a_i·b_i` (8 lanes × 2 accumulators, then the tail).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    if ROLLED {
        return rolled::dot(a, b);
    }
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc0 = f32x8::ZERO;
    let mut acc1 = f32x8::ZERO;
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc0 = load_f32x8(x).mul_add(load_f32x8(y), acc0);
        acc1 = load_f32x8(&x[8..]).mul_add(load_f32x8(&y[8..]), acc1);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut ta = ra.chunks_exact(8);
    let mut tb = rb.chunks_exact(8);
    for (x, y) in (&mut ta).zip(&mut tb) {
        acc0 = load_f32x8(x).mul_add(load_f32x8(y), acc0);
    }
    let mut s = (acc0 + acc1).reduce_add();
    for (x, y) in ta.remainder().iter().zip(tb.remainder()) {
        s += x * y;
    }
    s
}

/// The fixed-order dot product ([`crate::simd::reference::dot_fixed`]): eight lanes of
/// separately rounded multiply and add (never fused), a fixed combination tree, the tail in
/// order. Every target computes the same bits.
pub fn dot_fixed(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = f32x8::ZERO;
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        // `*` then `+`: Rust never contracts these into a fused multiply-add.
        acc += load_f32x8(x) * load_f32x8(y);
    }
    let l = acc.to_array();
    let mut s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// [`dot_fixed`] of four rows with one `x`, the same bits per row, with four independent
/// accumulation chains (the single chain of `dot_fixed` is bound by the add latency).
pub fn dot_fixed4(rows: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
    let n = rows.iter().fold(x.len(), |n, r| n.min(r.len()));
    let whole = n / 8 * 8;
    let mut acc = [f32x8::ZERO; 4];
    let mut i = 0;
    while i < whole {
        let xv = load_f32x8(&x[i..i + 8]);
        for (a, r) in acc.iter_mut().zip(rows) {
            *a += load_f32x8(&r[i..i + 8]) * xv;
        }
        i += 8;
    }
    let mut out = [0f32; 4];
    for ((o, a), r) in out.iter_mut().zip(acc).zip(rows) {
        let l = a.to_array();
        let mut s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        for (p, q) in r[whole..n].iter().zip(&x[whole..n]) {
            s += p * q;
        }
        *o = s;
    }
    out
}

/// [`crate::simd::reference::matmul_fixed`] with [`dot_fixed4`]: blocks of rows of about
/// 256 KiB, every vector passing over a block while it is in cache, four rows at a time.
pub fn matmul_fixed(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) {
    if rows == 0 {
        return;
    }
    if cols == 0 {
        out.fill(0.0);
        return;
    }
    let rows = rows.min(m.len() / cols);
    let n = (xs.len() / cols).min(out.len() / rows.max(1));
    let block = ((1usize << 16) / cols).max(4) / 4 * 4;
    let mut o0 = 0;
    while o0 < rows {
        let o1 = (o0 + block).min(rows);
        for (x, o) in xs.chunks_exact(cols).zip(out.chunks_exact_mut(rows)).take(n) {
            let mut mr = m[o0 * cols..o1 * cols].chunks_exact(cols);
            let mut outs = o[o0..o1].chunks_exact_mut(4);
            for q in &mut outs {
                let (Some(r0), Some(r1), Some(r2), Some(r3)) = (mr.next(), mr.next(), mr.next(), mr.next()) else {
                    break;
                };
                q.copy_from_slice(&dot_fixed4([r0, r1, r2, r3], x));
            }
            for (oi, row) in outs.into_remainder().iter_mut().zip(mr) {
                *oi = dot_fixed(row, x);
            }
        }
        o0 = o1;
    }
}

/// `Σ (a_i − b_i)²`.
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc0 = f32x8::ZERO;
    let mut acc1 = f32x8::ZERO;
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let d0 = load_f32x8(x) - load_f32x8(y);
        let d1 = load_f32x8(&x[8..]) - load_f32x8(&y[8..]);
        acc0 = d0.mul_add(d0, acc0);
        acc1 = d1.mul_add(d1, acc1);
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut ta = ra.chunks_exact(8);
    let mut tb = rb.chunks_exact(8);
    for (x, y) in (&mut ta).zip(&mut tb) {
        let d = load_f32x8(x) - load_f32x8(y);
        acc0 = d.mul_add(d, acc0);
    }
    let mut s = (acc0 + acc1).reduce_add();
    for (x, y) in ta.remainder().iter().zip(tb.remainder()) {
        s += (x - y) * (x - y);
    }
    s
}

/// `Σ a_i`.
pub fn sum(a: &[f32]) -> f32 {
    let mut acc = f32x8::ZERO;
    let mut c = a.chunks_exact(8);
    for x in &mut c {
        acc += load_f32x8(x);
    }
    acc.reduce_add() + c.remainder().iter().sum::<f32>()
}

/// `(min, max)` ignoring NaN; `(+inf, −inf)` for an empty or all-NaN slice.
pub fn min_max(a: &[f32]) -> (f32, f32) {
    let mut lo = f32x8::splat(f32::INFINITY);
    let mut hi = f32x8::splat(f32::NEG_INFINITY);
    let mut c = a.chunks_exact(8);
    for x in &mut c {
        let v = load_f32x8(x);
        // `min`/`max` in wide return the non-NaN operand when one side is NaN.
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let (mut l, mut h) = (f32::INFINITY, f32::NEG_INFINITY);
    for (&x, &y) in lo.to_array().iter().zip(hi.to_array().iter()) {
        l = l.min(x);
        h = h.max(y);
    }
    for &v in c.remainder() {
        l = l.min(v);
        h = h.max(v);
    }
    (l, h)
}

/// `max |a_i|` ignoring NaN (0 for an empty slice).
pub fn abs_max(a: &[f32]) -> f32 {
    let (lo, hi) = min_max(a);
    if lo > hi { 0.0 } else { (-lo).max(hi).max(0.0) }
}

/// Chunks of 16 bytes summed in an `i32x8` before spilling to `i64`: each lane gains at most
/// 2·255·128 per chunk, so 16,384 chunks stay below 2³¹.
const I8_SPILL: usize = 16_384;

#[inline(always)]
fn widen_sum(acc: i32x8) -> i64 {
    acc.to_array().iter().map(|&v| i64::from(v)).sum()
}

/// `Σ a_i·b_i` exact for integer inputs widened to `i16x16` per 16 elements: `spill` chunks are
/// summed in `i32x8` (the caller picks `spill` so that no lane can overflow) before the `i64`
/// total; the tail is summed directly.
#[inline(always)]
fn dot_widened<A: Copy + Into<i64>, B: Copy + Into<i64>>(
    a: &[A],
    b: &[B],
    spill: usize,
    wa: impl Fn(&[A]) -> i16x16,
    wb: impl Fn(&[B]) -> i16x16,
) -> i64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut total: i64 = 0;
    for (ba, bb) in a.chunks(16 * spill).zip(b.chunks(16 * spill)) {
        let mut acc = i32x8::ZERO;
        let mut ca = ba.chunks_exact(16);
        let mut cb = bb.chunks_exact(16);
        for (x, y) in (&mut ca).zip(&mut cb) {
            acc += wa(x).dot(wb(y));
        }
        total += widen_sum(acc);
        total += ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| x.into() * y.into()).sum::<i64>();
    }
    total
}

/// `Σ a_i·b_i`, u8 × i8, exact.
pub fn dot_u8_i8(a: &[u8], b: &[i8]) -> i64 {
    if ROLLED {
        return rolled::dot_int(a, b);
    }
    dot_widened(a, b, I8_SPILL, |x| i16x16::from(load_u8x16(x)), |y| i16x16::from_i8x16(load_i8x16(y)))
}

/// `Σ a_i·b_i`, i8 × i8, exact.
pub fn dot_i8_i8(a: &[i8], b: &[i8]) -> i64 {
    dot_widened(a, b, I8_SPILL, |x| i16x16::from_i8x16(load_i8x16(x)), |y| i16x16::from_i8x16(load_i8x16(y)))
}

/// `Σ a_i·b_i`, u8 × i16, exact (each chunk adds at most 2·255·32768 per lane; spill every 64).
pub fn dot_u8_i16(a: &[u8], b: &[i16]) -> i64 {
    if ROLLED {
        return rolled::dot_int(a, b);
    }
    dot_widened(a, b, 64, |x| i16x16::from(load_u8x16(x)), load_i16x16)
}

/// Levels per step of the widening (`u8`/`u4` × `f32`) kernels: two `f32x8` per code.
const WSTEP: usize = 16;

/// Sixteen byte levels as two `f32x8` (levels 0..8 and 8..16).
#[inline(always)]
fn levels_to_f32(v: u8x16) -> (f32x8, f32x8) {
    let lo = i32x8::from_i16x8(i16x8::from_u8x16_low(v));
    let hi = i32x8::from_i16x8(i16x8::from_u8x16_high(v));
    (f32x8::from_i32x8(lo), f32x8::from_i32x8(hi))
}

/// The first `len ≤ 16` levels of `a` (`B`-bit levels: bytes, or nibbles low first),
/// zero-padded to 16. `a` must hold them.
#[inline(always)]
fn load_levels<const B: u32>(a: &[u8], len: usize) -> u8x16 {
    if B == 8 {
        if len == WSTEP {
            return load_u8x16(a);
        }
        let mut t = [0u8; 16];
        t[..len].copy_from_slice(&a[..len]);
        return u8x16::new(t);
    }
    let nb = len.div_ceil(2);
    let mut t = [0u8; 8];
    t[..nb].copy_from_slice(&a[..nb]);
    let v = u64::from_le_bytes(t);
    let (mut lo, mut hi) = ([0u8; 16], [0u8; 16]);
    lo[..8].copy_from_slice(&(v & 0x0F0F_0F0F_0F0F_0F0F).to_le_bytes());
    hi[..8].copy_from_slice(&((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F).to_le_bytes());
    // Interleave: level 2k is the low nibble of byte k, level 2k + 1 its high nibble.
    u8x16::unpack_low(u8x16::new(lo), u8x16::new(hi))
}

/// `Σ_{i<n} level_i(codes[c])·w[i]` for each of the `N` codes. Every code has its own
/// accumulators and the same operation sequence for any `N`, so grouping does not change results.
/// Each `codes[c]` must hold `n` levels and `w` `n` floats.
#[inline(always)]
fn widen_kernel<const N: usize, const B: u32>(codes: [&[u8]; N], n: usize, w: &[f32]) -> [f32; N] {
    let mut acc0 = [f32x8::ZERO; N];
    let mut acc1 = [f32x8::ZERO; N];
    let mut i = 0;
    while i < n {
        let len = (n - i).min(WSTEP);
        let (w0, w1) = if len == WSTEP {
            (load_f32x8(&w[i..]), load_f32x8(&w[i + 8..]))
        } else {
            let mut t = [0f32; WSTEP];
            t[..len].copy_from_slice(&w[i..n]);
            (load_f32x8(&t), load_f32x8(&t[8..]))
        };
        let off = if B == 8 { i } else { i / 2 };
        for c in 0..N {
            let (x0, x1) = levels_to_f32(load_levels::<B>(&codes[c][off..], len));
            acc0[c] = x0.mul_add(w0, acc0[c]);
            acc1[c] = x1.mul_add(w1, acc1[c]);
        }
        i += WSTEP;
    }
    core::array::from_fn(|c| (acc0[c] + acc1[c]).reduce_add())
}

/// Levels held by `bytes` bytes of `B`-bit levels.
#[inline(always)]
fn levels_in(bytes: usize, b: u32) -> usize {
    if b == 8 { bytes } else { bytes.saturating_mul(2) }
}

/// Strided rows, four at a time then one at a time (see [`crate::simd::dot_u8_f32_rows`]).
fn widen_rows<const B: u32>(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) {
    if stride == 0 {
        out.fill(0.0);
        return;
    }
    let rows = out.len().min(codes.len() / stride);
    let n = levels_in(stride, B).min(w.len());
    let row = |r: usize| &codes[r * stride..(r + 1) * stride];
    let mut r = 0;
    while r + 4 <= rows {
        let s = widen_kernel::<4, B>(core::array::from_fn(|c| row(r + c)), n, w);
        out[r..r + 4].copy_from_slice(&s);
        r += 4;
    }
    while r < rows {
        out[r] = widen_kernel::<1, B>([row(r)], n, w)[0];
        r += 1;
    }
}

/// `Σ a_i·w_i`, u8 × f32, over `min(a.len(), w.len())` elements.
pub fn dot_u8_f32(a: &[u8], w: &[f32]) -> f32 {
    if ROLLED {
        return rolled::widen::<8>(a, a.len().min(w.len()), w);
    }
    widen_kernel::<1, 8>([a], a.len().min(w.len()), w)[0]
}

/// `Σ l_i·w_i` over the 4-bit levels of `a` (low nibble first), `i < min(w.len(), 2·a.len())`.
pub fn dot_u4_f32(a: &[u8], w: &[f32]) -> f32 {
    if ROLLED {
        return rolled::widen::<4>(a, levels_in(a.len(), 4).min(w.len()), w);
    }
    widen_kernel::<1, 4>([a], levels_in(a.len(), 4).min(w.len()), w)[0]
}

/// [`dot_u8_f32`] of every `stride`-byte row of `codes` into `out` (bit-identical per row).
pub fn dot_u8_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) {
    widen_rows::<8>(codes, stride, w, out)
}

/// [`dot_u4_f32`] of every `stride`-byte row of `codes` into `out` (bit-identical per row).
pub fn dot_u4_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) {
    widen_rows::<4>(codes, stride, w, out)
}

/// Per-coordinate uniform quantization to bytes (see [`crate::simd::quantize_u8`]); returns
/// whether every `x_j` is finite.
pub fn quantize_u8(x: &[f32], base: &[f32], step: &[f32], qmax: f32, out: &mut [u8]) -> bool {
    use wide::{CmpGt, CmpLt};
    let (zero, qmv, half, inf) =
        (f32x8::splat(0.0), f32x8::splat(qmax), f32x8::splat(0.5), f32x8::splat(f32::INFINITY));
    let n = x.len().min(base.len()).min(step.len()).min(out.len());
    let (x, base, step, out) = (&x[..n], &base[..n], &step[..n], &mut out[..n]);
    let mut finite = f32x8::splat(0.0).cmp_lt(inf);
    let mut oc = out.chunks_exact_mut(8);
    let mut xc = x.chunks_exact(8);
    let mut bc = base.chunks_exact(8);
    let mut sc = step.chunks_exact(8);
    for (((o, xv), bv), sv) in (&mut oc).zip(&mut xc).zip(&mut bc).zip(&mut sc) {
        let st = load_f32x8(sv);
        let xv = load_f32x8(xv);
        finite &= xv.abs().cmp_lt(inf);
        let v = (xv - load_f32x8(bv)) / st;
        let v = st.cmp_gt(zero).blend(v, zero).max(zero).min(qmv) + half;
        let l = v.trunc_int().to_array();
        for (d, &li) in o.iter_mut().zip(&l) {
            *d = li as u8;
        }
    }
    let mut ok = finite.move_mask() == 0xFF;
    for (((o, &xv), &bv), &sv) in
        oc.into_remainder().iter_mut().zip(xc.remainder()).zip(bc.remainder()).zip(sc.remainder())
    {
        ok &= xv.is_finite();
        let v = if sv > 0.0 { ((xv - bv) / sv).clamp(0.0, qmax) } else { 0.0 };
        *o = (v + 0.5) as u8;
    }
    ok
}

#[inline(always)]
fn fold_words(a: &[u8], b: &[u8], f: impl Fn(u64, u64) -> u64) -> u64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut total = 0u64;
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let wx = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let wy = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        total += u64::from(f(wx, wy).count_ones());
    }
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        total += u64::from(f(u64::from(x), u64::from(y)).count_ones());
    }
    total
}

/// Set bits, one `u64` word at a time.
pub fn popcount(a: &[u8]) -> u64 {
    fold_words(a, a, |x, _| x)
}

/// `popcount(a ⊕ b)`.
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    fold_words(a, b, |x, y| x ^ y)
}

/// `popcount(a & b)`.
pub fn and_popcount(a: &[u8], b: &[u8]) -> u64 {
    fold_words(a, b, |x, y| x & y)
}

/// Lane sums of [`crate::simd::dot_lut_f32`]: `acc[g mod 4][l] += q_i·T[idx_i]` (multiply, then
/// add) for `i = 8g + l` over the groups `g ∈ from..⌊n/8⌋`, one group of 8 indices (`bits`
/// bytes) at a time; four accumulators keep four independent add chains in flight.
/// `bits ∈ 1..=8` and a non-empty table are the caller's business.
pub(crate) fn dot_lut_f32_groups(
    codes: &[u8],
    bits: u32,
    table: &[f32],
    q: &[f32],
    from: usize,
    acc: &mut [[f32; 8]; 4],
    sc: Option<QScale<'_>>,
) {
    let b = bits as usize;
    let mask = (1u64 << b) - 1;
    let last = table.len() - 1;
    // Start at group `from` by slicing (an iterator `skip` would walk the groups before it).
    let (qf, cf) = (q.get(8 * from..).unwrap_or_default(), codes.get(b * from..).unwrap_or_default());
    for (g, (qs, c)) in qf.chunks_exact(8).zip(cf.chunks_exact(b)).enumerate().map(|(i, x)| (i + from, x)) {
        let mut w = 0u64;
        for (k, &byte) in c.iter().enumerate() {
            w |= u64::from(byte) << (8 * k);
        }
        for (l, a) in acc[g % 4].iter_mut().enumerate() {
            let k = ((w >> (b * l)) & mask) as usize;
            *a += QScale::apply(sc, 8 * g + l, qs[l]) * table[k.min(last)];
        }
    }
}

/// The per-block query scales of [`crate::simd::dot_lut_f32_scaled`]: query element `i` is used
/// as `q_i·s[i >> shift]` (rounded to `f32`; a scale past the end of `s` reads as 0).
#[derive(Clone, Copy, Debug)]
pub(crate) struct QScale<'a> {
    pub(crate) s: &'a [f32],
    pub(crate) shift: u32,
}

impl QScale<'_> {
    /// The scale of query element `i`.
    #[inline(always)]
    pub(crate) fn at(&self, i: usize) -> f32 {
        self.s.get(i >> self.shift).copied().unwrap_or(0.0)
    }

    /// Query element `i` with value `v`, scaled when there are scales.
    #[inline(always)]
    pub(crate) fn apply(sc: Option<Self>, i: usize, v: f32) -> f32 {
        match sc {
            Some(sc) => v * sc.at(i),
            None => v,
        }
    }
}

/// The end of [`crate::simd::dot_lut_f32`] shared by every backend: the 32 lane sums as a tree
/// (lane `l`: `(a0[l] + a1[l]) + (a2[l] + a3[l])`, then the 8 lanes
/// `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`), then the indices past the last whole
/// group of 8, in order.
pub(crate) fn dot_lut_f32_finish(
    codes: &[u8],
    bits: u32,
    table: &[f32],
    q: &[f32],
    acc: &[[f32; 8]; 4],
    sc: Option<QScale<'_>>,
) -> f32 {
    let n = q.len().min(codes.len() * 8 / bits as usize);
    let last = table.len() - 1;
    let l: [f32; 8] = core::array::from_fn(|i| (acc[0][i] + acc[1][i]) + (acc[2][i] + acc[3][i]));
    let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    for (i, &qi) in q[..n].iter().enumerate().skip(n / 8 * 8) {
        let k = usize::from(crate::bits::get(codes, i, bits).unwrap_or(0));
        s += QScale::apply(sc, i, qi) * table[k.min(last)];
    }
    s
}

/// Portable [`crate::simd::dot_lut_f32`].
pub fn dot_lut_f32(codes: &[u8], bits: u32, table: &[f32], q: &[f32]) -> f32 {
    dot_lut_f32_with(codes, bits, table, q, None)
}

/// Portable [`crate::simd::dot_lut_f32_rows`].
pub fn dot_lut_f32_rows(
    codes: &[u8],
    stride: usize,
    code_len: usize,
    bits: u32,
    table: &[f32],
    q: &[f32],
    out: &mut [f32],
) {
    if code_len == 0 {
        out.fill(dot_lut_f32(&[], bits, table, q));
        return;
    }
    let rows = out.len().min(lut_rows(codes.len(), stride, code_len));
    for (r, o) in out[..rows].iter_mut().enumerate() {
        *o = dot_lut_f32(&codes[r * stride..r * stride + code_len], bits, table, q);
    }
}

/// How many rows of `code_len ≥ 1` bytes, `stride` bytes apart, fit in `len` bytes (with
/// `stride = 0`, all of them when one does: `usize::MAX`).
pub(crate) fn lut_rows(len: usize, stride: usize, code_len: usize) -> usize {
    match (len.checked_sub(code_len), stride) {
        (None, _) => 0,
        (Some(_), 0) => usize::MAX,
        (Some(rest), s) => rest / s + 1,
    }
}

/// The rows of `row_len` bytes, `stride` apart, that fit in `len` bytes (all of them, when one
/// does, with `stride = 0`).
pub(crate) fn seg_rows(len: usize, stride: usize, row_len: usize) -> usize {
    match (len.checked_sub(row_len), stride) {
        (None, _) => 0,
        (Some(_), 0) => usize::MAX,
        (Some(rest), s) => rest / s + 1,
    }
}

/// The `8·b` index bits of group `g` of a segment's bytes `seg` (zero past its end), as a word.
#[inline(always)]
pub(crate) fn seg_word(seg: &[u8], b: usize, g: usize) -> u64 {
    let mut w = 0u64;
    for (k, &byte) in seg.get(g * b..).unwrap_or_default().iter().take(b).enumerate() {
        w |= u64::from(byte) << (8 * k);
    }
    w
}

/// The tree of [`dot_lut_f32_finish`] over the 32 lanes.
#[inline(always)]
pub(crate) fn lanes_tree(acc: &[[f32; 8]; 4]) -> f32 {
    let l: [f32; 8] = core::array::from_fn(|i| (acc[0][i] + acc[1][i]) + (acc[2][i] + acc[3][i]));
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// Portable [`crate::simd::dot_lut_segs_rows`] (the definition every backend matches).
pub fn dot_lut_segs_rows(codes: &[u8], stride: usize, segs: &[crate::simd::LutSeg<'_>], out: &mut [f32]) {
    let row_len = segs.iter().map(|s| s.at + s.len).max().unwrap_or(0);
    let rows = out.len().min(seg_rows(codes.len(), stride, row_len));
    for (r, o) in out[..rows].iter_mut().enumerate() {
        let row = &codes[r * stride..r * stride + row_len];
        let mut acc = [[0f32; 8]; 4];
        // Group `k` of the row (all segments' groups in order) goes to accumulator `k mod 4`.
        let mut k = 0usize;
        for s in segs {
            if !(1..=8).contains(&s.bits) || s.table.is_empty() {
                continue;
            }
            let (b, last) = (s.bits as usize, s.table.len() - 1);
            let mask = (1u64 << b) - 1;
            let seg = &row[s.at..s.at + s.len];
            let n = s.terms();
            for g in 0..n.div_ceil(8) {
                let w = seg_word(seg, b, g);
                for (l, a) in acc[k % 4].iter_mut().enumerate() {
                    let qi = s.q.get(8 * g + l).filter(|_| 8 * g + l < n).copied().unwrap_or(0.0);
                    let idx = ((w >> (b * l)) & mask) as usize;
                    *a += qi * s.table[idx.min(last)];
                }
                k += 1;
            }
        }
        *o = lanes_tree(&acc);
    }
}

/// Portable [`crate::simd::dot_lut4_dims_rows`] (rows from `first` on; the arch kernels
/// finish their last rows with it).
pub fn dot_lut4_dims_rows(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32]) {
    dot_lut4_dims_rows_from(codes, code_len, tables, out, 0)
}

/// [`dot_lut4_dims_rows`] of rows `first..` only.
pub(crate) fn dot_lut4_dims_rows_from(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32], first: usize) {
    if code_len == 0 {
        out.iter_mut().skip(first).for_each(|o| *o = 0.0);
        return;
    }
    let d = (tables.len() / 16).min(2 * code_len);
    let tables = &tables[..16 * d];
    let rows = out.len().min(codes.len() / code_len);
    for (r, o) in out[..rows].iter_mut().enumerate().skip(first) {
        let code = &codes[r * code_len..(r + 1) * code_len];
        let mut a = [0f32; 4];
        for (i, t) in tables.chunks_exact(16).enumerate() {
            let k = (code[i / 2] >> (4 * (i % 2))) & 15;
            a[i % 4] += t[usize::from(k)];
        }
        *o = (a[0] + a[1]) + (a[2] + a[3]);
    }
}

/// Portable [`crate::simd::dot_bitplanes`].
pub fn dot_bitplanes(code: &[u8], plane: usize, bits: u32, q: &[f32]) -> f32 {
    let mut total = 0f32;
    for b in 0..bitplanes_count(code.len(), plane, bits) {
        let mut acc = [[0f32; 8]; 8];
        bitplane_from(&code[b * plane..(b + 1) * plane], q, 0, &mut acc);
        total += bitplane_finish(&acc) * (1u32 << b) as f32;
    }
    total
}

/// Portable [`crate::simd::matvec_t`]: one row at a time added into `out` (the definition).
pub fn matvec_t(m: &[f32], cols: usize, y: &[f32], out: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let w = cols.min(out.len());
    let out = &mut out[..w];
    out.fill(0.0);
    for (&yi, row) in y.iter().zip(m.chunks_exact(cols)) {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += yi * r;
        }
    }
}

/// Portable [`crate::simd::dot_bitplanes_rows`]: the one-row kernel per row.
pub fn dot_bitplanes_rows(codes: &[u8], stride: usize, plane: usize, bits: u32, q: &[f32], out: &mut [f32]) {
    let len = plane.saturating_mul(bits as usize);
    for (r, o) in out.iter_mut().enumerate() {
        let Some(row) = bitplanes_row(codes, stride, len, r) else { break };
        *o = dot_bitplanes(row, plane, bits, q);
    }
}

/// Row `r` (`len` bytes at `r·stride`) of a [`crate::simd::dot_bitplanes_rows`] scan, if it fits.
#[inline(always)]
pub(crate) fn bitplanes_row(codes: &[u8], stride: usize, len: usize, r: usize) -> Option<&[u8]> {
    let at = r.checked_mul(stride)?;
    codes.get(at..at.checked_add(len)?)
}

/// The planes [`crate::simd::dot_bitplanes`] reads: `b < bits` whose bytes fit in `len`.
#[inline(always)]
pub(crate) fn bitplanes_count(len: usize, plane: usize, bits: u32) -> usize {
    len.checked_div(plane).map_or(0, |p| (bits as usize).min(p))
}

/// Adds the query elements of the set bits of plane bytes `from..` (`n = min(q.len(), 8·len)`
/// coordinates) into `acc[k mod 8][l]`.
///
/// Branch-free: a clear bit adds `+0.0` (the element's bits masked to zero), which leaves every
/// accumulator bit for bit as skipping it would — an accumulator starts at `+0.0` and a sum of
/// floats is `−0.0` only when both terms are, so it is never `−0.0`. Whole bytes are eight
/// independent lanes, which compilers vectorize (SSE2, NEON).
#[inline(always)]
pub(crate) fn bitplane_from(pl: &[u8], q: &[f32], from: usize, acc: &mut [[f32; 8]; 8]) {
    let n = q.len().min(8 * pl.len());
    let whole = n / 8;
    let mut k = from;
    // Whole groups of eight bytes (one byte per accumulator, indices known to the compiler).
    while k.is_multiple_of(8) && k + 8 <= whole {
        let bytes: &[u8; 8] = pl[k..k + 8].try_into().unwrap_or(&[0; 8]);
        for (j, a) in acc.iter_mut().enumerate() {
            let qs: &[f32; 8] = q[8 * (k + j)..8 * (k + j) + 8].try_into().unwrap_or(&[0.0; 8]);
            bitplane_byte(bytes[j], qs, a);
        }
        k += 8;
    }
    while k < whole {
        let qs: &[f32; 8] = q[8 * k..8 * k + 8].try_into().unwrap_or(&[0.0; 8]);
        bitplane_byte(pl[k], qs, &mut acc[k % 8]);
        k += 1;
    }
    for i in (8 * whole).max(8 * from)..n {
        if (pl[i / 8] >> (i % 8)) & 1 == 1 {
            acc[(i / 8) % 8][i % 8] += q[i];
        }
    }
}

/// `a[l] += q[l]` for the set bits `l` of `byte`, `+0.0` for the clear ones (lane masks from a
/// compare, which SSE2 and NEON have; no per-lane variable shift).
#[inline(always)]
fn bitplane_byte(byte: u8, q: &[f32; 8], a: &mut [f32; 8]) {
    const BIT: [u32; 8] = [1, 2, 4, 8, 16, 32, 64, 128];
    let b = u32::from(byte);
    for l in 0..8 {
        let keep = if b & BIT[l] != 0 { u32::MAX } else { 0 };
        a[l] += f32::from_bits(q[l].to_bits() & keep);
    }
}

/// A plane's sum from its accumulators (the order of [`crate::simd::dot_bitplanes`]).
#[inline(always)]
pub(crate) fn bitplane_finish(a: &[[f32; 8]; 8]) -> f32 {
    let s: [f32; 8] = core::array::from_fn(|l| {
        ((a[0][l] + a[2][l]) + (a[4][l] + a[6][l])) + ((a[1][l] + a[3][l]) + (a[5][l] + a[7][l]))
    });
    ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

/// Portable [`crate::simd::dot_lut_f32_scaled`].
pub fn dot_lut_f32_scaled(codes: &[u8], bits: u32, table: &[f32], q: &[f32], scales: &[f32], shift: u32) -> f32 {
    dot_lut_f32_with(codes, bits, table, q, Some(QScale { s: scales, shift }))
}

fn dot_lut_f32_with(codes: &[u8], bits: u32, table: &[f32], q: &[f32], sc: Option<QScale<'_>>) -> f32 {
    if !(1..=8).contains(&bits) || table.is_empty() {
        return 0.0;
    }
    let n = q.len().min(codes.len() * 8 / bits as usize);
    let mut acc = [[0.0f32; 8]; 4];
    dot_lut_f32_groups(codes, bits, table, &q[..n], 0, &mut acc, sc);
    dot_lut_f32_finish(codes, bits, table, q, &acc, sc)
}

/// Portable [`crate::simd::dot_lut_i8`] (exact integer arithmetic).
pub fn dot_lut_i8(codes: &[u8], bits: u32, lut: &[u8; 16], q: &[i8]) -> i64 {
    if !matches!(bits, 1 | 2 | 4) {
        return 0;
    }
    let per = (8 / bits) as usize;
    let mask = (1u8 << bits) - 1;
    let mut total = 0i64;
    for (blk, bytes) in codes.chunks(32).enumerate() {
        let qb = q.get(blk * 32 * per..).unwrap_or_default();
        let mut acc = 0i32;
        for j in 0..per {
            let qj = qb.get(32 * j..).unwrap_or_default();
            for (&byte, &qv) in bytes.iter().zip(qj.iter().take(32)) {
                acc += i32::from(qv) * i32::from(lut[usize::from((byte >> (bits as usize * j)) & mask)]);
            }
        }
        total += i64::from(acc);
    }
    total
}

/// Portable [`crate::simd::lut_expand_f32`], from group `from` of 8 indices on (the groups
/// before it were written by an arch kernel), then the tail.
pub(crate) fn lut_expand_f32_from(codes: &[u8], bits: u32, table: &[f32], scale: f32, out: &mut [f32], from: usize) {
    if !(1..=8).contains(&bits) || table.is_empty() {
        return;
    }
    let b = bits as usize;
    let n = out.len().min(codes.len() * 8 / b);
    let mask = (1u64 << b) - 1;
    let last = table.len() - 1;
    let out = &mut out[..n];
    for (o, c) in out.chunks_exact_mut(8).zip(codes.chunks_exact(b)).skip(from) {
        let mut w = 0u64;
        for (k, &byte) in c.iter().enumerate() {
            w |= u64::from(byte) << (8 * k);
        }
        for (l, v) in o.iter_mut().enumerate() {
            *v = scale * table[(((w >> (b * l)) & mask) as usize).min(last)];
        }
    }
    for (i, o) in out.iter_mut().enumerate().skip(n / 8 * 8) {
        let k = usize::from(crate::bits::get(codes, i, bits).unwrap_or(0));
        *o = scale * table[k.min(last)];
    }
}

/// Portable [`crate::simd::lut_expand_f32`].
pub fn lut_expand_f32(codes: &[u8], bits: u32, table: &[f32], scale: f32, out: &mut [f32]) {
    lut_expand_f32_from(codes, bits, table, scale, out, 0);
}

/// `Σ y_i²` in `f64`: the squares (exact in `f64`) accumulated in 8 lanes (lane `i mod 8`),
/// combined as `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`, then the `< 8` trailing
/// values in order. Non-finite inputs give a non-finite result.
pub fn sum_sq_f64(y: &[f32]) -> f64 {
    sum_sq_f64_rows::<1>([y])[0]
}

/// [`sum_sq_f64`] of `R` rows at once (each with its own 8 lanes, the same operations in the same
/// order, so bit-identical to `R` calls): independent dependency chains for the out-of-order
/// core. The rows may have different lengths.
#[inline]
pub fn sum_sq_f64_rows<const R: usize>(ys: [&[f32]; R]) -> [f64; R] {
    let mut acc = [[0.0f64; 8]; R];
    let full = ys.iter().map(|y| y.len() / 8).min().unwrap_or(0);
    for i in 0..full {
        for (a, y) in acc.iter_mut().zip(&ys) {
            for (a, &v) in a.iter_mut().zip(&y[8 * i..8 * i + 8]) {
                let v = f64::from(v);
                *a += v * v;
            }
        }
    }
    let mut out = [0.0f64; R];
    for ((o, mut acc), y) in out.iter_mut().zip(acc).zip(ys) {
        // Rows longer than the common part continue on their own.
        let chunks = y[8 * full..].chunks_exact(8);
        let rem = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                let v = f64::from(v);
                *a += v * v;
            }
        }
        let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for &v in rem {
            s += f64::from(v) * f64::from(v);
        }
        *o = s;
    }
    out
}

/// Eight binary16 bit patterns to `f32`, exactly: the exponent and mantissa shifted into place
/// and rescaled by 2¹¹² (which also normalizes subnormals), the all-ones exponent (±inf, NaN)
/// forced to 255, the sign copied.
#[inline(always)]
fn f16x8_to_f32x8(h: [u16; 8]) -> f32x8 {
    let x = i32x8::new(h.map(i32::from));
    let o = (x & i32x8::splat(0x7FFF)) << 13;
    let f = bytemuck::cast::<i32x8, f32x8>(o) * f32x8::splat(f32::from_bits(0x7780_0000));
    let inf_nan = o.cmp_gt(i32x8::splat(0x0F7F_FFFF)) & i32x8::splat(0x7F80_0000);
    let bits = bytemuck::cast::<f32x8, i32x8>(f) | inf_nan | ((x & i32x8::splat(0x8000)) << 16);
    bytemuck::cast(bits)
}

#[inline(always)]
fn bf16x8_to_f32x8(h: [u16; 8]) -> f32x8 {
    bytemuck::cast(i32x8::new(h.map(|v| i32::from(v) << 16)))
}

/// `Σ q_i·v_i` over `i < n ≤ q.len()`, where `word(i)` is element `i` as a 16-bit pattern that
/// `conv` turns into 8 `f32` lanes: 8 elements per step, the tail zero-padded, one accumulator
/// (the portable loop of the half-float and FP8 dots).
#[inline(always)]
fn dot_words(n: usize, q: &[f32], word: impl Fn(usize) -> u16, conv: impl Fn([u16; 8]) -> f32x8) -> f32 {
    let load = |i: usize, len: usize| {
        let mut w = [0u16; 8];
        let mut y = [0f32; 8];
        for k in 0..len {
            w[k] = word(i + k);
            y[k] = q[i + k];
        }
        (conv(w), f32x8::new(y))
    };
    let mut acc = f32x8::splat(0.0);
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = load(i, 8);
        acc = x.mul_add(y, acc);
        i += 8;
    }
    if i < n {
        let (x, y) = load(i, n - i);
        acc = x.mul_add(y, acc);
    }
    acc.reduce_add()
}

#[inline(always)]
fn dot_half<const BF: bool>(h: &[u8], q: &[f32]) -> f32 {
    let n = q.len().min(h.len() / 2);
    let word = |i: usize| u16::from_le_bytes([h[2 * i], h[2 * i + 1]]);
    dot_words(n, q, word, |w| if BF { bf16x8_to_f32x8(w) } else { f16x8_to_f32x8(w) })
}

/// `Σ q_i·f16(h_i)` (see [`crate::simd::dot_f16`]), converted in registers, accumulated in `f32`.
pub fn dot_f16(h: &[u8], q: &[f32]) -> f32 {
    dot_half::<false>(h, q)
}

/// `Σ q_i·bf16(h_i)` (see [`crate::simd::dot_bf16`]), converted in registers, accumulated in `f32`.
pub fn dot_bf16(h: &[u8], q: &[f32]) -> f32 {
    dot_half::<true>(h, q)
}

/// The binary16 bit pattern of an FP8 code, scaled: E5M2 is the upper byte of an f16 (same
/// value); E4M3 is placed as an f16 with 4 exponent bits (value / 256, exact).
#[inline(always)]
pub(crate) fn fp8_to_f16_bits<const E4: bool>(b: u8) -> u16 {
    let b = u16::from(b);
    if E4 { ((b & 0x7F) << 7) | ((b & 0x80) << 8) } else { b << 8 }
}

/// `Σ q_i·fp8(a_i)` (see [`crate::simd::dot_e4m3`], [`crate::simd::dot_e5m2`]): the codes
/// widened to binary16 patterns ([`fp8_to_f16_bits`]) and converted as [`dot_f16`] does.
pub(crate) fn dot_fp8<const E4: bool>(a: &[u8], q: &[f32]) -> f32 {
    let n = q.len().min(a.len());
    if E4 && a[..n].iter().any(|&b| b & 0x7F == 0x7F) {
        return f32::NAN;
    }
    let s = dot_words(n, q, |i| fp8_to_f16_bits::<E4>(a[i]), f16x8_to_f32x8);
    if E4 { s * 256.0 } else { s }
}

/// `Σ q_i·E4M3(a_i)` (see [`crate::simd::dot_e4m3`]).
pub fn dot_e4m3(a: &[u8], q: &[f32]) -> f32 {
    dot_fp8::<true>(a, q)
}

/// `Σ q_i·E5M2(a_i)` (see [`crate::simd::dot_e5m2`]).
pub fn dot_e5m2(a: &[u8], q: &[f32]) -> f32 {
    dot_fp8::<false>(a, q)
}

/// Block-scaled widening dot (see [`crate::simd::dot_u8_f32_blocks`]): each block's 16-level
/// steps go to two block accumulators, which are folded into the running sum with one
/// multiply-add by the block's step (no horizontal sum per block).
fn widen_blocks<const B: u32>(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    if block == 0 || !block.is_multiple_of(WSTEP) {
        return 0.0;
    }
    let n = levels_in(a.len(), B).min(w.len());
    let mut acc = f32x8::ZERO;
    for (k, &st) in steps.iter().enumerate() {
        let s = k * block;
        if s >= n {
            break;
        }
        let e = (s + block).min(n);
        let (mut b0, mut b1) = (f32x8::ZERO, f32x8::ZERO);
        let mut i = s;
        while i < e {
            let len = (e - i).min(WSTEP);
            let (w0, w1) = if len == WSTEP {
                (load_f32x8(&w[i..]), load_f32x8(&w[i + 8..]))
            } else {
                let mut t = [0f32; WSTEP];
                t[..len].copy_from_slice(&w[i..e]);
                (load_f32x8(&t), load_f32x8(&t[8..]))
            };
            let off = if B == 8 { i } else { i / 2 };
            let (x0, x1) = levels_to_f32(load_levels::<B>(&a[off..], len));
            b0 = x0.mul_add(w0, b0);
            b1 = x1.mul_add(w1, b1);
            i += WSTEP;
        }
        acc = (b0 + b1).mul_add(f32x8::splat(st), acc);
    }
    acc.reduce_add()
}

/// `Σ_k steps[k]·Σ_{i ∈ block k} a_i·w_i` (see [`crate::simd::dot_u8_f32_blocks`]).
pub fn dot_u8_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    widen_blocks::<8>(a, w, block, steps)
}

/// The 4-bit-level variant of [`dot_u8_f32_blocks`] (see [`crate::simd::dot_u4_f32_blocks`]).
pub fn dot_u4_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    widen_blocks::<4>(a, w, block, steps)
}

/// The portable [`super::first_at_least`]: 16 scores per step screened with two `f32x8`
/// compares.
pub fn first_at_least(s: &[f32], from: usize, t: f32) -> usize {
    use wide::CmpGe;
    let tv = f32x8::splat(t);
    let mut i = from;
    while i + 16 <= s.len() {
        let a = f32x8::from(<[f32; 8]>::try_from(&s[i..i + 8]).unwrap_or([f32::NAN; 8]));
        let b = f32x8::from(<[f32; 8]>::try_from(&s[i + 8..i + 16]).unwrap_or([f32::NAN; 8]));
        if (a.cmp_ge(tv) | b.cmp_ge(tv)).any() {
            break;
        }
        i += 16;
    }
    while i < s.len() && s[i].partial_cmp(&t).is_none_or(|o| o.is_lt()) {
        i += 1;
    }
    i
}

/// The 8 levels of `W` bits at `b[..W]` (LSB first) as floats.
#[inline(always)]
fn packed8<const W: usize>(b: &[u8]) -> f32x8 {
    let mut buf = [0u8; 8];
    buf[..W].copy_from_slice(&b[..W]);
    let v = u64::from_le_bytes(buf);
    let mask = (1u64 << W) - 1;
    // Through `i32` lanes: one vector conversion instead of eight `u64 → f32` ones.
    f32x8::from_i32x8(i32x8::new(core::array::from_fn(|j| ((v >> (j * W)) & mask) as i32)))
}

fn axpy_packed_rows_w<const W: usize>(codes: &[u8], stride: usize, n: usize, w: &[f32], out: &mut [f32]) {
    let k = out.len() / 8;
    for (j, o) in out.chunks_exact_mut(8).enumerate() {
        let mut acc = load_f32x8(o);
        for r in 0..n {
            let at = r * stride + j * W;
            acc += f32x8::splat(w[r * k + j]) * packed8::<W>(&codes[at..at + W]);
        }
        o.copy_from_slice(&acc.to_array());
    }
}

/// Weighted sum of rows of packed levels (see [`crate::simd::axpy_packed_rows`]): one 8-lane
/// accumulator per group of 8 channels, over the rows in order (multiply, then add: the bits of
/// [`super::reference::axpy_packed_rows`]).
pub fn axpy_packed_rows(codes: &[u8], stride: usize, bits: u32, w: &[f32], out: &mut [f32]) {
    let d = out.len() / 8 * 8;
    let b = bits as usize;
    if !(1..=8).contains(&b) {
        return;
    }
    let n = super::reference::packed_rows(codes.len(), stride, d / 8, b, w.len());
    let out = &mut out[..d];
    match b {
        1 => axpy_packed_rows_w::<1>(codes, stride, n, w, out),
        2 => axpy_packed_rows_w::<2>(codes, stride, n, w, out),
        3 => axpy_packed_rows_w::<3>(codes, stride, n, w, out),
        4 => axpy_packed_rows_w::<4>(codes, stride, n, w, out),
        5 => axpy_packed_rows_w::<5>(codes, stride, n, w, out),
        6 => axpy_packed_rows_w::<6>(codes, stride, n, w, out),
        7 => axpy_packed_rows_w::<7>(codes, stride, n, w, out),
        _ => axpy_packed_rows_w::<8>(codes, stride, n, w, out),
    }
}
