//! Plain scalar definitions of every kernel in [`simd`](super). They are the specification:
//! every backend is tested against them, and they are what Miri checks.

/// The fixed-order `f32` dot product of [`crate::simd::dot_fixed`], written plainly: lane
/// `j ∈ 0..8` sums the rounded products `a_i·b_i` of the indices `i ≡ j (mod 8)` of the whole
/// blocks of 8, in index order; the lanes are combined as
/// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`; the tail products are then added in
/// index order. No fused multiply-add anywhere.
pub fn dot_fixed(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 8 * 8;
    let mut l = [0f32; 8];
    for i in 0..whole {
        l[i % 8] += a[i] * b[i];
    }
    let mut s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
    for i in whole..n {
        s += a[i] * b[i];
    }
    s
}

/// The fixed-order matrix product of [`crate::simd::matmul_fixed`], written plainly:
/// `out[j·rows + i] = dot_fixed(m_i, x_j)` for the rows `m_i = m[i·cols..(i+1)·cols]` (`i < rows`,
/// capped at `m.len() / cols`) and the vectors `x_j = xs[j·cols..]` (`j < xs.len() / cols`, capped
/// at `out.len() / rows`); nothing when `rows` is 0, zeros when `cols` is 0.
pub fn matmul_fixed(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) {
    if rows == 0 {
        return;
    }
    if cols == 0 {
        out.fill(0.0);
        return;
    }
    let rows = rows.min(m.len() / cols);
    for (x, o) in xs.chunks_exact(cols).zip(out.chunks_exact_mut(rows.max(1))) {
        for (oi, row) in o.iter_mut().zip(m.chunks_exact(cols).take(rows)) {
            *oi = dot_fixed(row, x);
        }
    }
}

/// `Σ a_i·b_i`, accumulated in `f64` (the exact reference for tolerance tests).
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// `Σ (a_i − b_i)²`, accumulated in `f64`.
pub fn l2sq(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let t = f64::from(x) - f64::from(y);
            t * t
        })
        .sum()
}

/// `Σ a_i` in `f64`.
pub fn sum(a: &[f32]) -> f64 {
    a.iter().map(|&x| f64::from(x)).sum()
}

/// `(min, max)` ignoring NaN; `(+inf, −inf)` when nothing is left.
pub fn min_max(a: &[f32]) -> (f32, f32) {
    a.iter().filter(|v| !v.is_nan()).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// `max |a_i|` ignoring NaN.
pub fn abs_max(a: &[f32]) -> f32 {
    a.iter().filter(|v| !v.is_nan()).fold(0.0f32, |m, &v| m.max(v.abs()))
}

/// `Σ a_i·b_i` (u8 × i8).
pub fn dot_u8_i8(a: &[u8], b: &[i8]) -> i64 {
    a.iter().zip(b).map(|(&x, &y)| i64::from(x) * i64::from(y)).sum()
}

/// `Σ a_i·b_i` (i8 × i8).
pub fn dot_i8_i8(a: &[i8], b: &[i8]) -> i64 {
    a.iter().zip(b).map(|(&x, &y)| i64::from(x) * i64::from(y)).sum()
}

/// `Σ a_i·b_i` (u8 × i16).
pub fn dot_u8_i16(a: &[u8], b: &[i16]) -> i64 {
    a.iter().zip(b).map(|(&x, &y)| i64::from(x) * i64::from(y)).sum()
}

/// Set bits.
pub fn popcount(a: &[u8]) -> u64 {
    a.iter().map(|b| u64::from(b.count_ones())).sum()
}

/// `popcount(a ⊕ b)`.
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    a.iter().zip(b).map(|(x, y)| u64::from((x ^ y).count_ones())).sum()
}

/// `popcount(a & b)`.
pub fn and_popcount(a: &[u8], b: &[u8]) -> u64 {
    a.iter().zip(b).map(|(x, y)| u64::from((x & y).count_ones())).sum()
}

/// `Σ a_i·w_i` with `a` unsigned bytes and `w` f32, accumulated in `f64`.
pub fn dot_u8_f32(a: &[u8], w: &[f32]) -> f64 {
    a.iter().zip(w).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// `Σ l_i·w_i` over the 4-bit levels `l` packed LSB-first in `a` (level `2k` is the low nibble
/// of byte `k`, level `2k + 1` the high nibble), for `i < min(w.len(), 2·a.len())`, in `f64`.
pub fn dot_u4_f32(a: &[u8], w: &[f32]) -> f64 {
    w.iter()
        .take(2 * a.len())
        .enumerate()
        .map(|(i, &y)| f64::from((a[i / 2] >> (4 * (i % 2))) & 0xF) * f64::from(y))
        .sum()
}

/// Per-coordinate uniform quantization to bytes: `out_j = ⌊clamp((x_j − base_j)/step_j, 0, qmax)
/// + ½⌋`, level 0 where `step_j ≤ 0`; returns whether every `x_j` is finite.
pub fn quantize_u8(x: &[f32], base: &[f32], step: &[f32], qmax: f32, out: &mut [u8]) -> bool {
    let mut ok = true;
    for (((o, &xv), &bv), &sv) in out.iter_mut().zip(x).zip(base).zip(step) {
        ok &= xv.is_finite();
        let v = if sv > 0.0 { ((xv - bv) / sv).clamp(0.0, qmax) } else { 0.0 };
        *o = (v + 0.5) as u8;
    }
    ok
}

/// `Σ_{i<n} q_i·T[idx_i]` in `f64`, where `idx_i` is the `i`-th `bits`-bit index packed LSB-first
/// in `codes` (the [`crate::bits`] layout), `T[k] = table[min(k, table.len() − 1)]`, and
/// `n = min(q.len(), ⌊8·codes.len()/bits⌋)`; 0 for `bits ∉ 1..=8` or an empty table.
pub fn dot_lut_f32(codes: &[u8], bits: u32, table: &[f32], q: &[f32]) -> f64 {
    if !(1..=8).contains(&bits) || table.is_empty() {
        return 0.0;
    }
    let n = q.len().min(codes.len() * 8 / bits as usize);
    (0..n)
        .map(|i| {
            let k = usize::from(crate::bits::get(codes, i, bits).unwrap_or(0));
            f64::from(q[i]) * f64::from(table[k.min(table.len() - 1)])
        })
        .sum()
}

/// [`crate::simd::dot_lut_segs_rows`] of one row, in `f64`: the sum over the segments of
/// [`dot_lut_f32`] of the segment's bytes (rounding aside, what every backend computes).
pub fn dot_lut_segs(row: &[u8], segs: &[crate::simd::LutSeg<'_>]) -> f64 {
    segs.iter().map(|s| dot_lut_f32(&row[s.at..s.at + s.len], s.bits, s.table, s.q)).sum()
}

/// [`crate::simd::dot_lut4_dims_rows`] of one code, in `f64` and coordinate order.
pub fn dot_lut4_dims(code: &[u8], tables: &[f32]) -> f64 {
    let d = (tables.len() / 16).min(2 * code.len());
    (0..d).map(|i| f64::from(tables[16 * i + usize::from((code[i / 2] >> (4 * (i % 2))) & 15)])).sum()
}

/// [`crate::simd::dot_bitplanes`] in `f64` and coordinate order.
pub fn dot_bitplanes(code: &[u8], plane: usize, bits: u32, q: &[f32]) -> f64 {
    let planes = code.len().checked_div(plane).map_or(0, |p| (bits as usize).min(p));
    let n = q.len().min(8 * plane);
    (0..planes)
        .map(|b| {
            let pl = &code[b * plane..];
            let s: f64 = (0..n).filter(|&i| (pl[i / 8] >> (i % 8)) & 1 == 1).map(|i| f64::from(q[i])).sum();
            s * f64::from(1u32 << b)
        })
        .sum()
}

/// Index of coordinate `c` (field `c mod (8/bits)` of code byte `⌊c·bits/8⌋`) in the blocked
/// query layout of [`crate::simd::dot_lut_i8`]: blocks of 32 code bytes; inside a block, field
/// `j` of byte `k` is at `32·j + k`.
pub fn lut_i8_slot(c: usize, bits: u32) -> usize {
    let per = (8 / bits) as usize;
    let (byte, j) = (c / per, c % per);
    (byte / 32) * 32 * per + 32 * j + byte % 32
}

/// `Σ_c q[slot(c)]·lut[idx_c]` over every field of every byte of `codes` (exact), where `idx_c`
/// is the `bits`-bit field `c` and a slot past `q.len()` reads 0; 0 for `bits ∉ {1, 2, 4}`.
pub fn dot_lut_i8(codes: &[u8], bits: u32, lut: &[u8; 16], q: &[i8]) -> i64 {
    if !matches!(bits, 1 | 2 | 4) {
        return 0;
    }
    let per = (8 / bits) as usize;
    (0..codes.len() * per)
        .map(|c| {
            let idx = usize::from(crate::bits::get(codes, c, bits).unwrap_or(0));
            let qc = q.get(lut_i8_slot(c, bits)).copied().unwrap_or(0);
            i64::from(qc) * i64::from(lut[idx])
        })
        .sum()
}

/// `out[i] = scale·T[idx_i]` for `i < min(out.len(), ⌊8·codes.len()/bits⌋)` (indices and `T` as
/// in [`dot_lut_f32`]); the rest of `out` is left unchanged. Nothing for `bits ∉ 1..=8` or an
/// empty table.
pub fn lut_expand_f32(codes: &[u8], bits: u32, table: &[f32], scale: f32, out: &mut [f32]) {
    if !(1..=8).contains(&bits) || table.is_empty() {
        return;
    }
    let n = out.len().min(codes.len() * 8 / bits as usize);
    for (i, o) in out.iter_mut().enumerate().take(n) {
        let k = usize::from(crate::bits::get(codes, i, bits).unwrap_or(0));
        *o = scale * table[k.min(table.len() - 1)];
    }
}

/// IEEE 754 binary16 (little-endian bit pattern `h`) to `f32`, exactly (every binary16 value,
/// subnormals, ±inf and NaN payloads included, is an `f32`).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from(h >> 10) & 0x1F;
    let man = u32::from(h & 0x3FF);
    let bits = match exp {
        0 if man == 0 => sign,
        // Subnormal: man · 2⁻²⁴, exact in f32.
        0 => {
            let v = (man as f32) * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        0x1F => sign | 0x7F80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// `Σ q_i·f16(h_i)` in `f64`, where `h` holds little-endian binary16 values (two bytes each),
/// over `min(q.len(), h.len() / 2)` elements.
pub fn dot_f16(h: &[u8], q: &[f32]) -> f64 {
    h.chunks_exact(2)
        .zip(q)
        .map(|(b, &y)| f64::from(f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))) * f64::from(y))
        .sum()
}

/// `Σ q_i·bf16(h_i)` in `f64`, where `h` holds little-endian bfloat16 values (the upper halves
/// of `f32` bit patterns, two bytes each), over `min(q.len(), h.len() / 2)` elements.
pub fn dot_bf16(h: &[u8], q: &[f32]) -> f64 {
    h.chunks_exact(2)
        .zip(q)
        .map(|(b, &y)| f64::from(f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)) * f64::from(y))
        .sum()
}

/// The value of an OCP FP8 code from its definition: E4M3 (`e4 = true`: bias 7, no infinities,
/// NaN at `S.1111.111`) or E5M2 (bias 15, IEEE-like: inf at exponent 31 with mantissa 0, NaN
/// with mantissa ≠ 0). Subnormals at exponent 0.
pub fn fp8_to_f64(b: u8, e4: bool) -> f64 {
    let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
    let (mbits, bias, emax) = if e4 { (3, 7, 15) } else { (2, 15, 31) };
    let exp = i32::from((b & 0x7F) >> mbits);
    let man = f64::from(b & ((1 << mbits) - 1));
    let frac = man / f64::from(1u32 << mbits);
    if e4 && b & 0x7F == 0x7F {
        return f64::NAN;
    }
    if !e4 && exp == emax {
        return if man == 0.0 { sign * f64::INFINITY } else { f64::NAN };
    }
    if exp == 0 { sign * libm::ldexp(frac, 1 - bias) } else { sign * libm::ldexp(1.0 + frac, exp - bias) }
}

/// `Σ q_i·fp8(a_i)` in `f64` over `min(q.len(), a.len())` elements ([`fp8_to_f64`]).
pub fn dot_fp8(a: &[u8], q: &[f32], e4: bool) -> f64 {
    a.iter().zip(q).map(|(&b, &y)| fp8_to_f64(b, e4) * f64::from(y)).sum()
}

/// The rows of [`crate::simd::axpy_packed_rows`] that have all their bytes in `codes`: of the
/// `w.len() / k` rows (`k·bits` bytes each, row `r` at byte `r·stride`), those that fit.
pub fn packed_rows(len: usize, stride: usize, k: usize, bits: usize, weights: usize) -> usize {
    let (bytes, n) = (k * bits, weights.checked_div(k).unwrap_or(0));
    if k == 0 || bytes > len {
        return 0;
    }
    match (len - bytes).checked_div(stride) {
        Some(fit) => n.min(fit + 1),
        None => n,
    }
}

/// [`crate::simd::axpy_packed_rows`] written plainly: `out[c] += Σ_r w[r·k + ⌊c/8⌋]·level_r(c)`
/// for `c < d = 8·⌊out.len()/8⌋`, `k = d/8`, where `level_r(c)` is bits `c·bits ..
/// (c + 1)·bits` of the LSB-first bit stream starting at `codes[r·stride]`; per channel the
/// terms are added in row order as `o + w·l` (multiply, round, add). Nothing for
/// `bits ∉ 1..=8`.
pub fn axpy_packed_rows(codes: &[u8], stride: usize, bits: u32, w: &[f32], out: &mut [f32]) {
    let (b, k) = (bits as usize, out.len() / 8);
    if !(1..=8).contains(&b) {
        return;
    }
    for r in 0..packed_rows(codes.len(), stride, k, b, w.len()) {
        let row = &codes[r * stride..];
        for (c, o) in out[..8 * k].iter_mut().enumerate() {
            let mut level = 0u32;
            for i in 0..b {
                let bit = c * b + i;
                level |= u32::from((row[bit / 8] >> (bit % 8)) & 1) << i;
            }
            *o += w[r * k + c / 8] * level as f32;
        }
    }
}
