//! Every hot kernel of the crate, written once.
//!
//! Each public function here is a *dispatcher*: on x86-64 with the `std` feature it picks, once
//! per process (the choice is cached in an atomic, see `x86::features`), an arch path
//! (AVX2 / AVX-512) for kernels that the portable code cannot run at memory speed on a default
//! `x86-64` build; everywhere else it calls the [`portable`] kernel, written with `wide` types.
//! [`reference`](mod@reference) holds the plain scalar definitions every backend is tested against.
//!
//! All kernels take slices of equal length; where lengths differ they use the shorter one
//! (callers check lengths; these kernels never panic).
//!
//! # Dispatch table
//!
//! Which arch path each kernel family takes on an x86-64 CPU with AVX-512 (F/BW, and VNNI /
//! VPOPCNTDQ where noted); on an AVX2-only CPU every family with an AVX2 kernel takes it, and
//! everything else (other targets, `VECTOR_CODECS_SIMD=portable`) runs [`portable`]. The choice
//! is per family, from timings of every backend in one process (`cargo bench --bench dispatch`,
//! results in BENCHMARKS.md, "Dispatch"); "AVX2 only" means no AVX-512 kernel has been written
//! for the family (the AVX2 one then runs on AVX-512 CPUs too).
//!
//! | family | on an AVX-512 CPU | why |
//! |---|---|---|
//! | `dot`, `l2sq` | AVX-512 | 16 lanes, two accumulators |
//! | `dot_u8_i8` | AVX-512 VNNI (`vpdpbusd`), else AVX-512BW | |
//! | `dot_i8_i8`, `dot_u8_i16` | AVX-512BW | plain loads on full steps (masked ones lost to AVX2) |
//! | `dot_u8_f32(_rows)`, `dot_u4_f32(_rows)` | AVX-512 | sq8 / sq4 float-query scans |
//! | `dot_u8_f32_blocks`, `dot_u4_f32_blocks` | AVX2 only | block-scaled scans |
//! | `dot_f16`, `dot_bf16`, `dot_e4m3`, `dot_e5m2` | AVX2 + F16C only | 2 or 1 bytes per element: near the memory rate out of cache |
//! | `dot_lut_f32`, `dot_lut_f32_scaled`, `dot_lut_f32_rows` | AVX-512 for 4-bit indices, AVX2 for 1, 2, 3, 8 | one `vpermps` for 16 lookups wins where AVX2 needs two permutes + blend (4-bit: 1.41×); with ≤ 8 entries AVX2 needs one (1-bit AVX-512 measured 0.89×) |
//! | `lut_expand_f32`, `dot_lut_i8` | AVX2 only | |
//! | `axpy_packed_rows` | AVX2 only | KV value attention from codes |
//! | `quantize_u8` | AVX-512 | sq8 encode; plain loads on full steps |
//! | `popcount`, `hamming`, `and_popcount`, strided Hamming scans | AVX-512 VPOPCNTDQ | plain loads for whole 64/32-byte rows (masked ones ran at ⅓ from memory) |
//! | `sum_sq_f64(_rows)`, `fwht_pass`, rANS word coders | AVX2 only | |
//! | `matmul_fixed`, `proj_signs` | AVX-512 (8×6 `zmm` tiles) | |
//! | `first_at_least`, PQ `nearest_batch`, fast-scan kernels | AVX-512 | |
//! | `pq::adc_scan_u8` (8-bit float ADC) | x86-64 `addss` lookup-add on AVX2 and AVX-512 alike | one instruction per lookup instead of compiler-packed shuffles (1.2–1.4× at `M` = 48 on Zen 4); gathers lost |
//!
//! Integer kernels return exact results: `dot_u8_i8` and `dot_i8_i8` accumulate in `i32`, which
//! cannot overflow for lengths below 2¹⁶ (|255·128|·2¹⁶ < 2³¹); longer inputs are accumulated in
//! `i64` block-wise.

/// The body of a dispatcher to an x86-64 arch path: the arch expression on x86-64; on other
/// targets the arguments are marked used and the dispatcher returns the fallback ("did not
/// run", so the caller runs the portable code).
macro_rules! x86_or {
    ($arch:expr, $fallback:expr; $($arg:expr),* $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            $arch
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = ($($arg,)*);
            $fallback
        }
    }};
}

pub mod portable;
pub mod pq;
pub mod reference;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// Which implementation the dispatchers selected for this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The `wide`-based portable kernels (compile-time target features only).
    Portable,
    /// x86-64 with AVX2 and FMA detected at run time.
    Avx2,
    /// x86-64 with AVX-512 F/BW (and, where used, VNNI / VPOPCNTDQ) detected at run time.
    Avx512,
}

/// The backend the dispatchers use in this process (detected once, then cached).
pub fn backend() -> Backend {
    #[cfg(target_arch = "x86_64")]
    {
        x86::backend()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Backend::Portable
    }
}

/// Limits the dispatchers of this process to `max` or a lower backend (it never enables one the
/// CPU lacks; `VECTOR_CODECS_SIMD` still applies) and returns the backend now in effect.
///
/// For benchmarks that time the backends of one CPU in one process (`benches/dispatch.rs`).
/// Codes and parameters never depend on the backend; float scores may change in their last
/// bits (reduction order), so do not call it while other threads compare scores bit for bit.
#[doc(hidden)]
pub fn limit_backend(max: Backend) -> Backend {
    #[cfg(target_arch = "x86_64")]
    {
        x86::limit(max)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = max;
        Backend::Portable
    }
}

/// `Σ a_i·b_i` over `f32`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::dot(a, b) {
        return r;
    }
    portable::dot(a, b)
}

/// `Σ a_i·b_i` over `f32` in a fixed order, the same bits on every backend and target (see
/// [`reference::dot_fixed`]): for values written into codes or parameters (dense rotations and
/// projections, PCA, the inner-product-corrected norm). [`dot`] is faster but its reduction
/// order (and fused multiply-adds) depend on the backend.
#[inline]
pub fn dot_fixed(a: &[f32], b: &[f32]) -> f32 {
    portable::dot_fixed(a, b)
}

/// [`dot_fixed`] of four rows with one vector, the same bits per row as four calls.
#[inline]
pub fn dot_fixed4(rows: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
    portable::dot_fixed4(rows, x)
}

/// `out = Mᵀ·y` for a row-major matrix `m` of `cols` columns: `out[j] = Σ_i y_i·m[i·cols + j]`
/// for `j < min(cols, out.len())`, over the rows `i < min(y.len(), m.len() / cols)`. Each
/// product is rounded, then added to `out[j]` in row order starting from `+0.0` (never fused),
/// so every backend gives the bits of that scalar loop ([`portable::matvec_t`]). The inverse of
/// a stored orthogonal rotation (Haar, PCA) applied to one vector: the arch paths hold 64
/// (AVX-512) or 32 (AVX2) outputs in registers across all rows instead of re-reading and
/// re-writing `out` per row. Nothing is written for `cols` = 0.
#[inline]
pub fn matvec_t(m: &[f32], cols: usize, y: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::gemm::matvec_t(m, cols, y, out) {
        return;
    }
    portable::matvec_t(m, cols, y, out)
}

/// [`matvec_t`] of a batch: `out[v·cols ..][..cols] = Mᵀ·ys[v·rows ..][..rows]` for the
/// `v < min(ys.len() / rows, out.len() / cols)` vectors, each with [`matvec_t`]'s bits. The
/// x86 paths read the matrix once per tile of 4 vectors (AVX-512: × 64 columns; AVX2: × 16),
/// each column chunk meeting every vector before the next — the batch decode of stored dense
/// rotations; the portable path runs one [`matvec_t`] per vector. Nothing is written for
/// `cols` or `rows` = 0.
#[inline]
pub fn matmul_t(m: &[f32], cols: usize, rows: usize, ys: &[f32], out: &mut [f32]) {
    if cols == 0 || rows == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if x86::gemm::matmul_t(m, cols, rows, ys, out) {
        return;
    }
    for (y, o) in ys.chunks_exact(rows).zip(out.chunks_exact_mut(cols)) {
        matvec_t(m, cols, y, o);
    }
}

/// The fixed-order matrix product `out[j·rows + i] = dot_fixed(m_i, x_j)`: the rows
/// `m_i = m[i·cols..(i+1)·cols]` of a row-major matrix (`i < rows`, capped at `m.len() / cols`)
/// against the vectors `x_j = xs[j·cols..(j+1)·cols]` (`j < xs.len() / cols`, capped at
/// `out.len() / rows`), i.e. `Y = X·Mᵀ` for a batch of row vectors. Every entry has the bits of
/// [`dot_fixed`] (see [`reference::matmul_fixed`]) on every backend; the arch paths compute
/// register tiles of several rows × several vectors (AVX2: 3 × 3 `ymm` accumulators; AVX-512:
/// 8 rows × 6 vectors in 24 `zmm`, two vectors per register) over cache blocks of rows, so
/// the matrix is read from cache once per tile of vectors instead of once per vector. Nothing
/// is written when `rows` is 0; zeros when `cols` is 0.
#[inline]
pub fn matmul_fixed(m: &[f32], rows: usize, cols: usize, xs: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::gemm::matmul_fixed(m, rows, cols, xs, out) {
        return;
    }
    portable::matmul_fixed(m, rows, cols, xs, out);
}

/// `Σ (a_i − b_i)²` over `f32`.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::l2sq(a, b) {
        return r;
    }
    portable::l2sq(a, b)
}

/// `Σ y_i²` with the squares of the `f32` inputs (exact in `f64`) accumulated in 8 `f64` lanes
/// (lane `i mod 8`), combined pairwise, then the tail in order: the same bits on every backend
/// (see [`portable::sum_sq_f64`]), for norms written into codes.
#[inline]
pub fn sum_sq_f64(y: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = x86::fwht::sum_sq_f64(y) {
        return s;
    }
    portable::sum_sq_f64(y)
}

/// [`sum_sq_f64`] of the rows of `ys` (`d` floats each) into `out` (one per row; `ys` holds
/// `out.len()` rows), four rows interleaved so that their dependency chains overlap. The same
/// bits as [`sum_sq_f64`] row by row (one portable definition: the squares are exact in `f64`,
/// so fused and unfused accumulation agree).
pub fn sum_sq_f64_rows(ys: &[f32], d: usize, out: &mut [f64]) {
    if d == 0 {
        out.fill(0.0);
        return;
    }
    let n = out.len().min(ys.len() / d);
    for (i, o) in out[..n / 4 * 4].chunks_exact_mut(4).enumerate() {
        let (a, rest) = ys[4 * i * d..4 * (i + 1) * d].split_at(d);
        let (b, rest) = rest.split_at(d);
        let (c, e) = rest.split_at(d);
        o.copy_from_slice(&portable::sum_sq_f64_rows::<4>([a, b, c, e]));
    }
    for (i, o) in out.iter_mut().enumerate().take(n).skip(n / 4 * 4) {
        *o = sum_sq_f64(&ys[i * d..(i + 1) * d]);
    }
}

/// The first index `i ≥ from` with `s[i] ≥ t` (NaN never qualifies), or `s.len()` if there is
/// none: the screen of a top-k scan. AVX-512 compares 16 scores at a time.
#[inline]
pub fn first_at_least(s: &[f32], from: usize, t: f32) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Some(i) = x86::pq::first_at_least(s, from, t) {
        return i;
    }
    portable::first_at_least(s, from, t)
}

/// `Σ a_i`.
#[inline]
pub fn sum(a: &[f32]) -> f32 {
    portable::sum(a)
}

/// `Σ a_i²`.
#[inline]
pub fn norm_sq(a: &[f32]) -> f32 {
    dot(a, a)
}

/// `(min, max)` of `a`; `(+inf, −inf)` for an empty slice. NaN values are ignored unless every
/// value is NaN.
#[inline]
pub fn min_max(a: &[f32]) -> (f32, f32) {
    portable::min_max(a)
}

/// `max |a_i|` (0 for an empty slice).
#[inline]
pub fn abs_max(a: &[f32]) -> f32 {
    portable::abs_max(a)
}

/// `Σ a_i·b_i` with `a` unsigned bytes and `b` signed bytes, exact in `i64`.
#[inline]
pub fn dot_u8_i8(a: &[u8], b: &[i8]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::dot_u8_i8(a, b) {
        return r;
    }
    portable::dot_u8_i8(a, b)
}

/// `Σ a_i·b_i` over signed bytes, exact in `i64`.
#[inline]
pub fn dot_i8_i8(a: &[i8], b: &[i8]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::dot_i8_i8(a, b) {
        return r;
    }
    portable::dot_i8_i8(a, b)
}

/// `Σ a_i·b_i` with `a` unsigned bytes and `b` signed 16-bit, exact in `i64`.
#[inline]
pub fn dot_u8_i16(a: &[u8], b: &[i16]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::dot_u8_i16(a, b) {
        return r;
    }
    portable::dot_u8_i16(a, b)
}

/// `Σ a_i·w_i` with `a` unsigned bytes (8-bit levels) and `w` f32, over `min(a.len(), w.len())`
/// elements. Accumulated in `f32` (several partial sums); the result equals
/// [`reference::dot_u8_f32`] up to float rounding.
#[inline]
pub fn dot_u8_f32(a: &[u8], w: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::widen::dot_u8_f32(a, w) {
        return r;
    }
    portable::dot_u8_f32(a, w)
}

/// `Σ l_i·w_i` over the 4-bit levels `l` packed two per byte in `a`, low nibble first (level `2k`
/// is `a[k] & 0xF`, level `2k + 1` is `a[k] >> 4`, the [`crate::bits`] layout), for
/// `i < min(w.len(), 2·a.len())`. Accumulated in `f32`.
#[inline]
pub fn dot_u4_f32(a: &[u8], w: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::widen::dot_u4_f32(a, w) {
        return r;
    }
    portable::dot_u4_f32(a, w)
}

/// `Σ q_i·f16(h_i)` where `h` holds little-endian IEEE binary16 values (two bytes each), over
/// `min(q.len(), h.len() / 2)` elements, converted in registers (F16C on x86-64) and accumulated
/// in `f32`. A NaN or ±inf element makes the result non-finite.
#[inline]
pub fn dot_f16(h: &[u8], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::half::dot_f16(h, q) {
        return r;
    }
    portable::dot_f16(h, q)
}

/// `Σ q_i·bf16(h_i)` where `h` holds little-endian bfloat16 values, over
/// `min(q.len(), h.len() / 2)` elements, accumulated in `f32`. A NaN or ±inf element makes the
/// result non-finite.
#[inline]
pub fn dot_bf16(h: &[u8], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::half::dot_bf16(h, q) {
        return r;
    }
    portable::dot_bf16(h, q)
}

/// `Σ q_i·v_i` where `v_i` is the value of the OCP FP8 E4M3 code `a_i` (bias 7, subnormals,
/// no infinities), over `min(q.len(), a.len())` elements, converted in registers (each code
/// becomes a binary16 pattern of value `v_i/256`, F16C on x86-64; the sum is multiplied by 256
/// at the end, exactly) and accumulated in `f32`. NaN if any element is a NaN code
/// (`S.1111.111`).
#[inline]
pub fn dot_e4m3(a: &[u8], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::half::dot_fp8::<true>(a, q) {
        return r;
    }
    portable::dot_e4m3(a, q)
}

/// `Σ q_i·v_i` where `v_i` is the value of the OCP FP8 E5M2 code `a_i` (the upper byte of a
/// binary16), over `min(q.len(), a.len())` elements, converted in registers and accumulated in
/// `f32`. An inf or NaN code makes the result non-finite.
#[inline]
pub fn dot_e5m2(a: &[u8], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::half::dot_fp8::<false>(a, q) {
        return r;
    }
    portable::dot_e5m2(a, q)
}

/// Block-scaled `Σ_k steps[k]·Σ_{i ∈ block k} a_i·w_i`, block `k` being levels
/// `k·block .. (k+1)·block` (the last one cut at `n = min(a.len(), w.len())`; blocks past
/// `steps.len()` are not counted): the float-query scan of block-scaled uniform codes with the
/// scales applied inside the kernel. `block` must be a positive multiple of 16, else the result
/// is 0. Accumulated in `f32`; equals the sum of per-block [`dot_u8_f32`]s up to rounding.
#[inline]
pub fn dot_u8_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::widen::dot_u8_f32_blocks(a, w, block, steps) {
        return r;
    }
    portable::dot_u8_f32_blocks(a, w, block, steps)
}

/// [`dot_u8_f32_blocks`] over 4-bit levels packed two per byte, low nibble first (the
/// [`dot_u4_f32`] layout); `n = min(2·a.len(), w.len())`.
#[inline]
pub fn dot_u4_f32_blocks(a: &[u8], w: &[f32], block: usize, steps: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::widen::dot_u4_f32_blocks(a, w, block, steps) {
        return r;
    }
    portable::dot_u4_f32_blocks(a, w, block, steps)
}

/// Batch of [`dot_u8_f32`] over codes stored at stride `stride` bytes: for every row
/// `r < min(out.len(), codes.len() / stride)`, `out[r] = dot_u8_f32(&codes[r·stride..(r + 1)·stride], w)`,
/// bit for bit. Rows of `out` beyond the available codes are left unchanged; `stride == 0`
/// (empty codes) sets all of `out` to 0. Several rows share each load of `w`.
#[inline]
pub fn dot_u8_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::widen::dot_u8_f32_rows(codes, stride, w, out).is_some() {
        return;
    }
    portable::dot_u8_f32_rows(codes, stride, w, out)
}

/// Batch of [`dot_u4_f32`] over codes stored at stride `stride` bytes, with the same row rules
/// as [`dot_u8_f32_rows`]: `out[r] = dot_u4_f32(&codes[r·stride..(r + 1)·stride], w)` bit for bit.
#[inline]
pub fn dot_u4_f32_rows(codes: &[u8], stride: usize, w: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::widen::dot_u4_f32_rows(codes, stride, w, out).is_some() {
        return;
    }
    portable::dot_u4_f32_rows(codes, stride, w, out)
}

/// Weighted sum of rows of packed `bits`-bit levels: `out[c] += Σ_r w[r·k + ⌊c/8⌋]·level_r(c)`
/// for the `d = 8·⌊out.len()/8⌋` channels, `k = d/8` weights per row (one per group of 8
/// channels). Row `r` is `k·bits` bytes at `codes[r·stride..]`: levels packed LSB-first, eight
/// per `bits` bytes (the [`crate::bits`] stream, the `kv` codes' layout). The rows are the
/// `⌊w.len()/k⌋` first ones whose bytes are all in `codes`. Nothing for `bits ∉ 1..=8`.
///
/// This is the value side of attention from per-token codes (`Σ_t p_t·v̂_t` with the scales
/// folded into the weights). Per channel the terms are added in row order; the portable kernel
/// multiplies then adds (the bits of [`reference::axpy_packed_rows`]), the AVX2 kernel (also on
/// AVX-512 CPUs) fuses them, unpacks 8 levels per `vpsrlvd` and keeps up to 64 channels' sums
/// in registers across the rows.
#[inline]
pub fn axpy_packed_rows(codes: &[u8], stride: usize, bits: u32, w: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::packed::axpy_packed_rows(codes, stride, bits, w, out).is_some() {
        return;
    }
    portable::axpy_packed_rows(codes, stride, bits, w, out)
}

/// `Σ_{i<n} q_i·T[idx_i]`: the inner product of `q` with the vector whose coordinate `i` is
/// table entry `idx_i`, where `idx_i` is the `i`-th `bits`-bit index packed LSB-first in `codes`
/// (the [`crate::bits`] layout), `T[k] = table[min(k, table.len() − 1)]` (an index past the table
/// reads its last entry) and `n = min(q.len(), ⌊8·codes.len()/bits⌋)`. This is the float-query
/// scan of codebook scalar codes (TurboQuant-MSE). Returns 0 for `bits ∉ 1..=8` or an empty
/// table.
///
/// Every backend computes the same `f32` result bit for bit: the term `q_i·T[idx_i]` (multiply,
/// then add) of whole group `g = ⌊i/8⌋` goes to lane `i mod 8` of accumulator `g mod 4`, the 32
/// lanes are added as a fixed tree (the four accumulators lane-wise, then the 8 lanes pairwise),
/// then the remaining terms in order. Equals [`reference::dot_lut_f32`] up to float rounding.
#[inline]
pub fn dot_lut_f32(codes: &[u8], bits: u32, table: &[f32], q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::lut::dot_lut_f32(codes, bits, table, q) {
        return r;
    }
    portable::dot_lut_f32(codes, bits, table, q)
}

/// [`dot_lut_f32`] of each of the rows of `codes` against one query: row `r` is
/// `codes[r·stride .. r·stride + code_len]` and `out[r] = dot_lut_f32(row r, bits, table, q)`
/// bit for bit, for the rows `r < out.len()` that fit in `codes` (the rest of `out` is left
/// unchanged; with `code_len = 0` every entry is the empty code's 0). The batch scan of codebook
/// scalar codes, in place inside wider codes (`stride > code_len`: a part of a composed code):
/// one dispatch and one register setup for all rows.
#[inline]
pub fn dot_lut_f32_rows(
    codes: &[u8],
    stride: usize,
    code_len: usize,
    bits: u32,
    table: &[f32],
    q: &[f32],
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if x86::lut::dot_lut_f32_rows(codes, stride, code_len, bits, table, q, out).is_some() {
        return;
    }
    portable::dot_lut_f32_rows(codes, stride, code_len, bits, table, q, out)
}

/// One segment of a fused multi-width lookup scan ([`dot_lut_segs_rows`]): the `bits`-bit
/// indices packed in bytes `at .. at + len` of each row, looked up in `table` (as
/// [`dot_lut_f32`]: an index past the table reads its last entry) and multiplied by `q`.
#[derive(Clone, Copy, Debug)]
pub struct LutSeg<'a> {
    /// First byte of the segment inside a row.
    pub at: usize,
    /// Bytes of the segment.
    pub len: usize,
    /// Index width, `1..=8`.
    pub bits: u32,
    /// The lookup table (non-empty).
    pub table: &'a [f32],
    /// The query elements of the segment.
    pub q: &'a [f32],
}

impl LutSeg<'_> {
    /// An empty segment (a placeholder in [`LutSegs`]).
    pub const EMPTY: LutSeg<'static> = LutSeg { at: 0, len: 0, bits: 1, table: &[], q: &[] };

    /// The number of terms: `min(q.len(), ⌊8·len/bits⌋)`.
    #[inline]
    pub fn terms(&self) -> usize {
        self.q.len().min(self.len * 8 / self.bits.max(1) as usize)
    }
}

/// At most [`LutSegs::CAP`] segments of a fused lookup scan, collected without allocation (the
/// parts of a composed code whose leaves are codebook scalar codes).
#[derive(Clone, Copy, Debug)]
pub struct LutSegs<'a> {
    segs: [LutSeg<'a>; LutSegs::CAP],
    n: usize,
}

impl Default for LutSegs<'_> {
    fn default() -> Self {
        LutSegs { segs: [LutSeg::EMPTY; LutSegs::CAP], n: 0 }
    }
}

impl<'a> LutSegs<'a> {
    /// Capacity.
    pub const CAP: usize = 8;

    /// Appends `s`; `false` (nothing appended) when full, when `bits ∉ 1..=8` or the table is
    /// empty.
    pub fn push(&mut self, s: LutSeg<'a>) -> bool {
        if self.n == Self::CAP || !(1..=8).contains(&s.bits) || s.table.is_empty() {
            return false;
        }
        self.segs[self.n] = s;
        self.n += 1;
        true
    }

    /// The segments pushed so far.
    pub fn as_slice(&self) -> &[LutSeg<'a>] {
        &self.segs[..self.n]
    }

    /// The bytes a row needs: the largest segment end.
    pub fn row_len(&self) -> usize {
        self.as_slice().iter().map(|s| s.at + s.len).max().unwrap_or(0)
    }
}

/// The fused scan of rows made of several codebook scalar segments (e.g. the four width groups
/// of a PCA TurboQuant code): `out[r] = Σ_s Σ_i q_s[i]·T_s[idx_{s,i}]` over the segments `segs`
/// of row `r = codes[r·stride ..]`, for the rows `r < out.len()` whose bytes
/// (up to [`LutSegs::row_len`]) fit in `codes` (the rest of `out` is left unchanged; with
/// `stride = 0` every row is the first).
///
/// Every backend computes the same `f32` result bit for bit ([`portable::dot_lut_segs_rows`] is
/// the definition): each segment's terms in groups of 8 (the last `n mod 8` terms form one more
/// group whose missing query elements are 0); term `l` of group `k` of the row (the groups of
/// all segments counted in order) goes to lane `l` of accumulator `k mod 4`; the 32 lanes are
/// then added as [`dot_lut_f32`]'s tree. One dispatch, one register setup per segment and one
/// reduction per row, instead of one row kernel call, tail and reduction per segment. Equals
/// the sum of [`reference::dot_lut_f32`] over the segments up to float rounding.
#[inline]
pub fn dot_lut_segs_rows(codes: &[u8], stride: usize, segs: &[LutSeg<'_>], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::lut::dot_lut_segs_rows(codes, stride, segs, out).is_some() {
        return;
    }
    portable::dot_lut_segs_rows(codes, stride, segs, out)
}

/// The scan of 4-bit codes with a table per coordinate (per-dimension trained codebooks, e.g.
/// `lloyd4-trained-dim`): `out[r] = Σ_{i<d} T_i[idx_{r,i}]` for row `r = codes[r·code_len ..]`
/// (the rows `r < out.len()` that fit in `codes`; with `code_len = 0` every entry is 0), where `idx_{r,i}` is nibble `i` of the row
/// (low nibble first), `T_i = tables[16i .. 16i + 16]` and `d = min(⌊tables.len()/16⌋,
/// 2·code_len)`.
///
/// Every backend computes the same `f32` result bit for bit: `T_i[idx_i]` is added to
/// accumulator `i mod 4` (four `f32` accumulators per code, in coordinate order), then
/// `(a0 + a1) + (a2 + a3)`. The x86-64 kernels scan 16 (AVX-512: one `vpermps` per coordinate)
/// or 8 (AVX2) codes at a time, a lane per code, instead of one lookup per code byte in a
/// 256-entry table per byte. Equals [`reference::dot_lut4_dims`] up to float rounding.
#[inline]
pub fn dot_lut4_dims_rows(codes: &[u8], code_len: usize, tables: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::lut::dot_lut4_dims_rows(codes, code_len, tables, out).is_some() {
        return;
    }
    portable::dot_lut4_dims_rows(codes, code_len, tables, out)
}

/// `Σ_b 2^b·⟨x_b, q⟩` over the bit planes `x_b = code[b·plane .. (b+1)·plane]`, `b < bits`
/// (those that fit in `code`; bit `i mod 8` of byte `⌊i/8⌋` is coordinate `i`): the float-query
/// inner product of a bit-plane code (extended RaBitQ's `⟨x_u, q'⟩`), with
/// `n = min(q.len(), 8·plane)` coordinates.
///
/// Every backend computes the same `f32` result bit for bit: in plane `b`, `q_i` of a set bit
/// `i = 8k + l` is added to lane `l` of accumulator `k mod 8`; lane `l` of the plane is
/// `((a0 + a2) + (a4 + a6)) + ((a1 + a3) + (a5 + a7))`, the plane's sum the lane tree
/// `((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))`, and the planes are added in order,
/// each times `2^b`. AVX-512 adds 16 query elements under a 16-bit mask of two plane bytes
/// (`vaddps` with a mask), AVX2 under a byte expanded to a lane mask — no lookup tables.
/// Equals [`reference::dot_bitplanes`] up to float rounding.
#[inline]
pub fn dot_bitplanes(code: &[u8], plane: usize, bits: u32, q: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::lut::dot_bitplanes(code, plane, bits, q) {
        return r;
    }
    portable::dot_bitplanes(code, plane, bits, q)
}

/// [`dot_bitplanes`] of each row of `codes` against one query: row `r` starts at `r·stride` and
/// `out[r] = dot_bitplanes(&codes[r·stride .. r·stride + bits·plane], plane, bits, q)` bit for
/// bit, for the rows `r < out.len()` whose `bits·plane` bytes fit in `codes` (the rest of `out`
/// is left unchanged). The batch float-query scan of bit-plane codes (RaBitQ, extended RaBitQ,
/// binary codes): with AVX-512 four rows share each query load and their sixteen masked-add
/// chains run in parallel, instead of one row's four chains per call; other backends call the
/// dispatched one-row kernel per row.
#[inline]
pub fn dot_bitplanes_rows(codes: &[u8], stride: usize, plane: usize, bits: u32, q: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::lut::dot_bitplanes_rows(codes, stride, plane, bits, q, out).is_some() {
        return;
    }
    let len = plane.saturating_mul(bits as usize);
    for (r, o) in out.iter_mut().enumerate() {
        let Some(row) = portable::bitplanes_row(codes, stride, len, r) else { break };
        *o = dot_bitplanes(row, plane, bits, q);
    }
}

/// [`dot_lut_f32`] of a query scaled per block: `Σ_i (q_i·s_{i >> shift})·T[idx_i]`, each scaled
/// element `q_i·s_{i >> shift}` rounded to `f32` before its product — bit for bit
/// `dot_lut_f32(codes, bits, table, qs)` with `qs_i = q_i·s_{i >> shift}`, on every backend,
/// without writing `qs` (a scale past the end of `scales` reads as 0). The float-query scan of
/// the block-scaled formats (MXFP4, NVFP4: blocks of `2^shift` = 32 or 16 elements), whose
/// block scales multiply the query in registers. The arch kernels need `shift ≥ 3` (blocks of
/// whole groups of 8); smaller blocks take the portable path, with the same result.
#[inline]
pub fn dot_lut_f32_scaled(codes: &[u8], bits: u32, table: &[f32], q: &[f32], scales: &[f32], shift: u32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::lut::dot_lut_f32_scaled(codes, bits, table, q, scales, shift) {
        return r;
    }
    portable::dot_lut_f32_scaled(codes, bits, table, q, scales, shift)
}

/// `out[i] = scale·T[idx_i]` for `i < min(out.len(), ⌊8·codes.len()/bits⌋)`, with the packed
/// indices and the clamped table of [`dot_lut_f32`] (one multiply per entry, so `scale = 1`
/// copies table entries exactly); the rest of `out` is left unchanged, as is all of it for
/// `bits ∉ 1..=8` or an empty table. The decoder of codebook scalar codes; identical on every
/// backend.
#[inline]
pub fn lut_expand_f32(codes: &[u8], bits: u32, table: &[f32], scale: f32, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::lut::lut_expand_f32(codes, bits, table, scale, out).is_some() {
        return;
    }
    portable::lut_expand_f32(codes, bits, table, scale, out)
}

/// Integer table-lookup scan: `Σ_c q[slot(c)]·lut[idx_c]` over every `bits`-bit field `c` of
/// `codes` (`bits ∈ {1, 2, 4}`, packed LSB-first as in [`crate::bits`]), exact in `i64`. The
/// query is stored in a blocked layout ([`reference::lut_i8_slot`]): per block of 32 code bytes,
/// field `j` of byte `k` meets `q[32·per·block + 32·j + k]` (`per = 8/bits`), so each SIMD step
/// multiplies 32 consecutive query bytes; slots past `q.len()` count as 0. The arch kernel
/// needs every `lut` entry `≤ 127` (then `vpmaddubsw` cannot saturate); otherwise the portable
/// kernel runs. Returns 0 for other widths. This is the quantized-query fast scan of codebook
/// scalar codes.
#[inline]
pub fn dot_lut_i8(codes: &[u8], bits: u32, lut: &[u8; 16], q: &[i8]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::lut_i8::dot_lut_i8(codes, bits, lut, q) {
        return r;
    }
    portable::dot_lut_i8(codes, bits, lut, q)
}

/// Per-coordinate uniform quantization to bytes (the encoder of uniform scalar codes):
/// `out_j = ⌊clamp((x_j − base_j)/step_j, 0, qmax) + ½⌋` (exact IEEE division, round half up),
/// level 0 where `step_j ≤ 0`, for `j < min` of the four lengths; `qmax ≤ 255`. Returns whether
/// every `x_j` is finite (NaN/±∞ give unspecified levels and `false`). Equals
/// [`reference::quantize_u8`] exactly on every backend.
#[inline]
pub fn quantize_u8(x: &[f32], base: &[f32], step: &[f32], qmax: f32, out: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::widen::quantize_u8(x, base, step, qmax, out) {
        return r;
    }
    portable::quantize_u8(x, base, step, qmax, out)
}

/// Number of set bits in `a`.
#[inline]
pub fn popcount(a: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::popcount(a) {
        return r;
    }
    portable::popcount(a)
}

/// Hamming distance `popcount(a ⊕ b)`.
#[inline]
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::hamming(a, b) {
        return r;
    }
    portable::hamming(a, b)
}

/// `popcount(a & b)`.
#[inline]
pub fn and_popcount(a: &[u8], b: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = x86::and_popcount(a, b) {
        return r;
    }
    portable::and_popcount(a, b)
}

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Arch fast paths for kernels whose portable fallback lives with their caller (the Hadamard
// pass, the codebook cell search, QJL sign projection, the rANS coders). Each takes the arch
// kernel's arguments and returns its "did it run" answer — `false`, `None` or 0 where the arch
// path does not apply (another architecture, a CPU without the features, unsupported sizes) —
// and the caller then runs its portable code on what is left. The arch module itself stays
// private to `simd`.
// ---------------------------------------------------------------------------------------------

/// One in-place FWHT butterfly pass of `x` (reading `src` first if given, applying the sign
/// bits `signs` and the factor `scale`) on the AVX2 path; `false` if it did not run.
#[inline]
pub(crate) fn fwht_pass(x: &mut [f32], src: Option<&[f32]>, signs: Option<&[u64]>, scale: f32) -> bool {
    x86_or!(
        x86::fwht::pass(x, src, signs, scale),
        false;
        x, src, signs, scale
    )
}

/// Prefetches `x` into the L1 cache (a hint; nothing on other architectures).
#[inline]
pub(crate) fn prefetch(x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    x86::fwht::prefetch(x);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The codebook cells of `y_i · inv` (`bits ≤ 4`) packed LSB-first into `out` on the AVX2 path;
/// the number of coordinates done (0 if it did not run).
#[inline]
pub(crate) fn cells_pack(y: &[f32], inv: f32, thresholds: &[f32], bits: u32, out: &mut [u8]) -> usize {
    x86_or!(
        x86::fwht::cells_pack(y, inv, thresholds, bits, out),
        0;
        y, inv, thresholds, bits, out
    )
}

/// The norm and codebook cells of whole rows of `d` floats into codes of `cl` bytes (the
/// caller's `norm(sum of squares, bytes after the packed cells)` writes the norm field and
/// returns the norm to divide by) on the AVX2 path; `None` if it did not run.
#[inline]
pub(crate) fn norm_cells_rows(
    ys: &[f32],
    d: usize,
    thresholds: &[f32],
    bits: u32,
    codes: &mut [u8],
    cl: usize,
    norm: impl FnMut(f64, &mut [u8]) -> crate::error::Result<f32>,
) -> Option<crate::error::Result<()>> {
    x86_or!(
        x86::fwht::encode_rows(ys, d, thresholds, bits, codes, cl, norm),
        None;
        ys, d, thresholds, bits, codes, cl, norm
    )
}

/// The sign bits of `S·x` for the rows `x` of `xs` (`S` row-major with `d` columns) into codes
/// of `c` bytes on the AVX2 / AVX-512 path (the blocked kernels of [`matmul_fixed`] with QJL's
/// lane tree); `false` if it did not run.
///
/// Public for the crate's backend tests only; use [`crate::qjl::proj_signs`].
#[doc(hidden)]
#[inline]
pub fn proj_signs(s: &[f32], d: usize, xs: &[f32], codes: &mut [u8], c: usize) -> bool {
    x86_or!(
        x86::gemm::proj_signs(s, d, xs, codes, c),
        false;
        s, d, xs, codes, c
    )
}

/// `K`-way word rANS (32-bit states) decoding on the arch path; the symbols done.
#[inline]
pub(crate) fn rans_word_decode<const K: usize>(
    dec: &[u64],
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> Option<usize> {
    x86_or!(
        x86::rans::word_decode::<K>(dec, n, st, words, pos, out),
        None;
        dec, n, st, words, pos, out
    )
}

/// As [`rans_word_decode`] with the packed 32-bit decode table; the symbols done.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn rans_word_decode_packed<const K: usize>(
    dec32: &[u32],
    sb: u32,
    fb: u32,
    n: u32,
    st: &mut [u32; K],
    words: &[u8],
    pos: &mut usize,
    out: &mut [u16],
) -> Option<usize> {
    x86_or!(
        x86::rans::word_decode_packed::<K>(dec32, sb, fb, n, st, words, pos, out),
        None;
        dec32, sb, fb, n, st, words, pos, out
    )
}

/// `K`-way word rANS encoding of `head` on the arch path: `(symbols done, hit a zero-frequency
/// symbol)`.
#[inline]
pub(crate) fn rans_word_encode<const K: usize>(
    enc4: &[[u32; 4]],
    n: u32,
    st: &mut [u32; K],
    head: &[u16],
    out: &mut [u8],
    pos: &mut usize,
) -> Option<(usize, bool)> {
    x86_or!(
        x86::rans::word_encode::<K>(enc4, n, st, head, out, pos),
        None;
        enc4, n, st, head, out, pos
    )
}

/// The join of 16-bit symbols with 6 raw bits each into `u16` values on the arch path; the
/// values done.
#[inline]
pub(crate) fn join_w6_u16(syms: &[u16], raw: &[u8], out: &mut [u16]) -> Option<usize> {
    x86_or!(
        x86::rans::join_w6_u16(syms, raw, out),
        None;
        syms, raw, out
    )
}

// ---------------------------------------------------------------------------------------------
// Popcount kernels on an explicitly chosen arch backend (`binary::kernels::PopcntBackend`
// selects one; the portable loops live in `binary`). `None`: the backend does not run here.
// ---------------------------------------------------------------------------------------------

/// Whether the arch popcount kernels of `backend` run on this CPU (AVX2 with POPCNT, AVX-512
/// with VPOPCNTDQ); `false` for [`Backend::Portable`] and on other architectures.
#[inline]
pub(crate) fn popcnt_available(backend: Backend) -> bool {
    x86_or!(
        {
            use x86::{feature, has};
            match backend {
                Backend::Portable => false,
                Backend::Avx2 => has(feature::AVX2 | feature::POPCNT),
                Backend::Avx512 => has(feature::AVX512 | feature::AVX512_VPOPCNTDQ),
            }
        },
        false;
        backend
    )
}

/// Hamming distances of `q` to `out.len()` codes read every `stride` bytes, on `backend`.
#[inline]
pub(crate) fn hamming_strided_on(
    backend: Backend,
    q: &[u8],
    codes: &[u8],
    stride: usize,
    out: &mut [u32],
) -> Option<()> {
    x86_or!(
        match backend {
            Backend::Portable => None,
            Backend::Avx2 => x86::popcnt::hamming_strided_avx2(q, codes, stride, out),
            Backend::Avx512 => x86::popcnt::hamming_strided_avx512(q, codes, stride, out),
        },
        None;
        backend, q, codes, stride, out
    )
}

/// Weighted Hamming distances of the bit planes `planes` (`nb` bytes each) to `out.len()` codes
/// read every `stride` bytes, on `backend`.
#[inline]
pub(crate) fn weighted_hamming_strided_on(
    backend: Backend,
    planes: &[u8],
    nb: usize,
    codes: &[u8],
    stride: usize,
    out: &mut [u32],
) -> Option<()> {
    x86_or!(
        match backend {
            Backend::Portable => None,
            Backend::Avx2 => x86::popcnt::weighted_hamming_strided_avx2(planes, nb, codes, stride, out),
            Backend::Avx512 => x86::popcnt::weighted_hamming_strided_avx512(planes, nb, codes, stride, out),
        },
        None;
        backend, planes, nb, codes, stride, out
    )
}

/// The fused Hamming top-k scan of `n` codes of `stride` bytes on `backend`: `emit(i, h)` is
/// called for every code with distance `h ≤` the current bound and returns the new bound.
///
/// Public for the crate's backend tests only; use [`crate::binary::scan`].
#[doc(hidden)]
#[inline]
pub fn hamming_scan_on<F: FnMut(usize, u32) -> u32>(
    backend: Backend,
    q: &[u8],
    codes: &[u8],
    stride: usize,
    n: usize,
    bound: u32,
    emit: F,
) -> Option<()> {
    x86_or!(
        match backend {
            Backend::Portable => None,
            Backend::Avx2 => x86::popcnt::hamming_scan_avx2(q, codes, stride, n, bound, emit),
            Backend::Avx512 => x86::popcnt::hamming_scan_avx512(q, codes, stride, n, bound, emit),
        },
        None;
        backend, q, codes, stride, n, bound, emit
    )
}
