//! Smoke firmware for `vector-codecs` on Cortex-M: loads codec parameters embedded in flash,
//! decodes and scores the codes stored beside them, and checks every result bit for bit against
//! the host's (portable backend) values, written by `examples/firmware_vectors.rs` into
//! `generated/<board>/`. Prints through semihosting and exits with the semihosting exit code
//! (0 = every check passed), so that `qemu-system-arm` returns it.
//!
//! For every codec it also prints the peak stack of its section (paint-the-stack: the free RAM
//! below the stack pointer is filled with a pattern before the section and scanned after it).
//! The figure includes the caller buffers the section puts on its stack (parameters, the
//! decoded vector, query scratch), which are printed beside it.
//!
//! Boards: MPS2 AN386 (Cortex-M4F, `thumbv7em-none-eabihf`, d = 768, every codec) and, with
//! feature `microbit`, the BBC micro:bit (Cortex-M0, 16 KiB RAM, `thumbv6m-none-eabi`, d = 128,
//! sq8 and binary).
#![no_std]
#![no_main]
// Builds with fewer codecs (the flash measurements of ci/embedded.sh, the micro:bit) leave
// helpers unused.
#![cfg_attr(
    not(all(feature = "sq8", feature = "binary", feature = "rans", feature = "tq")),
    allow(dead_code, unused_imports, unused_macros)
)]

use core::panic::PanicInfo;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use vector_codecs::format::{self, Reader};
use vector_codecs::{Codec, Decode, Error, Result, Score};

#[cfg(not(feature = "microbit"))]
macro_rules! generated {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/m4/", $file))
    };
}
#[cfg(feature = "microbit")]
macro_rules! generated {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/m0/", $file))
    };
}

/// The largest dimension the buffers of this board hold.
#[cfg(not(feature = "microbit"))]
const MAX_D: usize = 768;
#[cfg(feature = "microbit")]
const MAX_D: usize = 128;
/// Codes per test file.
#[cfg(feature = "rans")]
const MAX_N: usize = 8;

/// Container kind of a test file (see `examples/firmware_vectors.rs`).
const TEST_KIND: u16 = 0x0FF0;

// ---------------------------------------------------------------------------------------------
// Test files.

/// One parsed test file: the codec's parameter bytes, queries, codes and expected results.
struct TestFile<'a> {
    dim: usize,
    n: usize,
    nq: usize,
    params: &'a [u8],
    queries: &'a [u8],
    codes: &'a [u8],
    decode_hash: u32,
    /// `nq · n` expected score bits, then the codec's extras.
    rest: Reader<'a>,
}

impl<'a> TestFile<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self> {
        let mut r = format::open(bytes, TEST_KIND)?;
        let dim = r.count(MAX_D, "test file: dimension above this board's buffers")?;
        let n = r.u32()? as usize;
        let nq = r.u32()? as usize;
        let len = r.u32()? as usize;
        let params = r.bytes(len)?;
        let queries = r.bytes(nq.checked_mul(dim * 4).ok_or(Error::Overflow)?)?;
        let len = r.u32()? as usize;
        let codes = r.bytes(len)?;
        let decode_hash = r.u32()?;
        Ok(TestFile { dim, n, nq, params, queries, codes, decode_hash, rest: r })
    }
}

/// Streaming 32-bit FNV-1a (the host hashes the decoded floats' little-endian bytes).
struct Fnv(u32);
impl Fnv {
    fn new() -> Self {
        Fnv(0x811C_9DC5)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u32::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
}

/// Counts of checks made and failed.
#[derive(Default, Clone, Copy)]
struct Tally {
    checks: u32,
    failed: u32,
}
impl Tally {
    fn check(&mut self, what: &str, i: usize, got: u32, want: u32) {
        self.checks += 1;
        if got != want {
            self.failed += 1;
            hprintln!("  MISMATCH {} #{}: got {:#010x}, host {:#010x}", what, i, got, want);
        }
    }
}

/// Decodes every code and compares the hash of the decoded floats with the host's.
fn check_decode<C: Decode>(c: &C, codes: &[u8], want: u32, t: &mut Tally) -> Result<()> {
    let mut out = [0f32; MAX_D];
    let out = out.get_mut(..c.dim()).ok_or(Error::BufferTooSmall { needed: c.dim(), got: MAX_D })?;
    let mut h = Fnv::new();
    for code in codes.chunks_exact(c.code_len()) {
        c.decode_into(code, out)?;
        for v in out.iter() {
            h.bytes(&v.to_le_bytes());
        }
    }
    t.check("decode hash", 0, h.0, want);
    Ok(())
}

/// Prepares each query into `scratch` and compares every score's bits with the next expected
/// value of `expected`.
fn check_scores<C: Score>(
    c: &C,
    f: &TestFile<'_>,
    expected: &mut Reader<'_>,
    scratch: &mut [f32],
    what: &str,
    t: &mut Tally,
) -> Result<()> {
    let mut qr = Reader::new(f.queries);
    let mut q = [0f32; MAX_D];
    let q = q.get_mut(..f.dim).ok_or(Error::BufferTooSmall { needed: f.dim, got: MAX_D })?;
    for qi in 0..f.nq {
        qr.f32_into(f.dim, q)?;
        let pq = c.prepare(q, scratch)?;
        for (i, code) in f.codes.chunks_exact(c.code_len()).enumerate() {
            t.check(what, qi * f.n + i, c.score(&pq, code)?.to_bits(), expected.u32()?);
        }
    }
    Ok(())
}

/// Skips `count` expected `u32` values (results this board does not compute).
#[cfg(feature = "microbit")]
fn skip_u32(r: &mut Reader<'_>, count: usize) -> Result<()> {
    r.bytes(count * 4).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Parameters: hand-laid views of the saved containers.
//
// TEMPORARY: `PerDim::from_bytes` and `BinaryCodec::from_bytes` need `alloc` today, so these read
// the same container fields into caller arrays and build borrowed codecs with the checked
// constructors. Replace with the crate's no-heap loaders once they exist (issue 15, part 1).

/// Reads a `PerDim` container (kind `KIND_PER_DIM`) into `base`/`step`; returns `(dim, bits,
/// symmetric)`.
#[cfg(any(feature = "sq8", feature = "rans"))]
fn read_per_dim(bytes: &[u8], base: &mut [f32], step: &mut [f32]) -> Result<(usize, u32, bool)> {
    let mut r = format::open(bytes, vector_codecs::scalar::uniform::KIND_PER_DIM)?;
    let dim = r.count(base.len().min(step.len()), "per-dim: dimension above the buffers")?;
    let bits = u32::from(r.u8()?);
    let symmetric = r.u8()? == 1;
    r.f32_into(dim, base)?;
    r.f32_into(dim, step)?;
    if r.u8()? != 0 {
        return Err(Error::Corrupt("per-dim: the firmware checks the float scan only"));
    }
    r.finish()?;
    Ok((dim, bits, symmetric))
}

// ---------------------------------------------------------------------------------------------
// The codecs.

/// Bytes of caller buffers a section keeps on its stack (printed beside the peak).
struct Section {
    name: &'static str,
    tally: Tally,
    buffers: usize,
}

#[cfg(feature = "sq8")]
#[inline(never)]
fn run_sq8() -> Result<Section> {
    use vector_codecs::scalar::uniform::PerDimUniform;
    const SCRATCH: usize = MAX_D;
    let f = TestFile::open(generated!("sq8.bin"))?;
    let (mut base, mut step) = ([0f32; MAX_D], [0f32; MAX_D]);
    let (d, bits, sym) = read_per_dim(f.params, &mut base, &mut step)?;
    let c = PerDimUniform::from_params(bits, sym, &base[..d], &step[..d])?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut scratch = [0f32; SCRATCH];
    let mut exp = f.rest.clone();
    check_scores(&c, &f, &mut exp, &mut scratch[..c.query_scratch_len()], "score", &mut t)?;
    Ok(Section { name: "sq8", tally: t, buffers: 4 * (2 * MAX_D + SCRATCH + 2 * MAX_D) })
}

#[cfg(feature = "binary")]
#[inline(never)]
fn run_binary() -> Result<Section> {
    use vector_codecs::ScoreSymmetric;
    use vector_codecs::binary::{BinaryCodec, ScaleFormat};
    // The float query builds 256 f32 per code byte: 96 KiB at d = 768 (issue 15, part 2); the
    // micro:bit has no room for it and checks the bit-sliced and code-vs-code scores only.
    #[cfg(not(feature = "microbit"))]
    const FLOAT_SCRATCH: usize = 256 * MAX_D / 8;
    const BITSLICED_SCRATCH: usize = MAX_D;
    let f = TestFile::open(generated!("bin.bin"))?;
    // TEMPORARY hand parse of the `BinaryCodec` container (kind `binary::KIND`).
    let mut mean = [0f32; MAX_D];
    let mut r = format::open(f.params, vector_codecs::binary::KIND)?;
    let d = r.count(MAX_D, "binary: dimension above the buffers")?;
    let stages = usize::from(r.u8()?);
    let scales = if r.u8()? == 0 { ScaleFormat::Shared } else { ScaleFormat::F32 };
    let centred = r.u8()? == 1;
    let shared = r.finite_f32("binary shared scale")?;
    let m = if centred { d } else { 0 };
    r.f32_into(m, &mut mean)?;
    if r.u8()? != 0 {
        return Err(Error::Corrupt("binary: the firmware loads the float scan"));
    }
    r.finish()?;
    let c = BinaryCodec::new(d, stages, scales, shared, &mean[..m])?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut exp = f.rest.clone();
    #[cfg(not(feature = "microbit"))]
    {
        let mut scratch = [0f32; FLOAT_SCRATCH];
        let need = c.query_scratch_len();
        let s = scratch.get_mut(..need).ok_or(Error::BufferTooSmall { needed: need, got: FLOAT_SCRATCH })?;
        check_scores(&c, &f, &mut exp, s, "float score", &mut t)?;
    }
    #[cfg(feature = "microbit")]
    skip_u32(&mut exp, f.nq * f.n)?;
    let bs = c.bitsliced();
    let mut scratch = [0f32; BITSLICED_SCRATCH];
    let need = bs.query_scratch_len();
    let s = scratch.get_mut(..need).ok_or(Error::BufferTooSmall { needed: need, got: BITSLICED_SCRATCH })?;
    check_scores(&bs, &f, &mut exp, s, "bit-sliced score", &mut t)?;
    let a = &f.codes[..c.code_len()];
    for (i, b) in f.codes.chunks_exact(c.code_len()).enumerate() {
        t.check("hamming", i, c.hamming_codes(a, b)?, exp.u32()?);
        t.check("code-vs-code score", i, c.score_codes(a, b)?.to_bits(), exp.u32()?);
    }
    exp.finish()?;
    #[cfg(not(feature = "microbit"))]
    let buffers = 4 * (MAX_D + FLOAT_SCRATCH + BITSLICED_SCRATCH + 2 * MAX_D);
    #[cfg(feature = "microbit")]
    let buffers = 4 * (MAX_D + BITSLICED_SCRATCH + 2 * MAX_D);
    Ok(Section { name: "binary", tally: t, buffers })
}

#[cfg(feature = "rans")]
#[inline(never)]
fn run_rans() -> Result<Section> {
    use vector_codecs::entropy::coded::decode_block_with;
    use vector_codecs::entropy::model::{EncSym, ModelView, fill_tables};
    use vector_codecs::scalar::uniform::PerDimUniform;
    const K: usize = 256;
    const SLOTS: usize = 1 << 12;
    let f = TestFile::open(generated!("rans.bin"))?;
    let (mut base, mut step) = ([0f32; MAX_D], [0f32; MAX_D]);
    let (d, bits, sym) = read_per_dim(f.params, &mut base, &mut step)?;
    let c = PerDimUniform::from_params(bits, sym, &base[..d], &step[..d])?;
    let mut r = f.rest.clone();
    r.bytes(f.nq * f.n * 4)?; // the sq8 scores: checked in the sq8 section
    let scale = r.u32()?;
    let k = r.count(K, "rans: alphabet above the buffers")?;
    if scale > 12 {
        return Err(Error::Corrupt("rans: scale above the buffers"));
    }
    let mut freqs = [0u32; K];
    for fr in &mut freqs[..k] {
        *fr = r.u32()?;
    }
    // The model from its frequencies, into caller tables (no allocator).
    let mut enc = [EncSym::default(); K];
    let mut dec = [0u64; SLOTS];
    let slots = 1usize << scale;
    fill_tables(&freqs[..k], scale, &mut enc[..k], &mut dec[..slots])?;
    let model = ModelView::new(scale, &enc[..k], &dec[..slots])?;
    let nb = r.count(MAX_N, "rans: block above the buffers")?;
    let len = r.u32()? as usize;
    let block = r.bytes(len)?;
    let want_codes = r.u32()?;
    r.finish()?;
    let mut symbols = [0u16; MAX_N * MAX_D];
    let mut codes = [0u8; MAX_N * MAX_D];
    let codes = &mut codes[..nb * c.code_len()];
    decode_block_with(&c, core::slice::from_ref(&model), block, nb, &mut symbols, codes)?;
    let mut t = Tally::default();
    t.check("decoded codes hash", 0, format::fnv1a32(codes), want_codes);
    t.check("decoded codes = stored codes", 0, u32::from(codes[..] != f.codes[..]), 0);
    check_decode(&c, codes, f.decode_hash, &mut t)?;
    let buffers = 4 * 4 * MAX_D + 4 * K + 28 * K + 8 * SLOTS + 3 * MAX_N * MAX_D;
    Ok(Section { name: "rans", tally: t, buffers })
}

#[cfg(feature = "tq")]
#[inline(never)]
fn run_tq() -> Result<Section> {
    use vector_codecs::persist::Persist;
    use vector_codecs::turbo::TurboMse;
    const TQ_KIND: u16 = format::kind::TURBO + 0xF0;
    const SCRATCH: usize = 2 * 1024;
    let f = TestFile::open(generated!("tq.bin"))?;
    // TurboQuant loads from bytes without an allocator today: the rotation (kind, dimension,
    // seed) and the codebook are re-derived from the saved block.
    let mut r = format::open(f.params, TQ_KIND)?;
    let c = TurboMse::restore(&mut r)?;
    r.finish()?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut scratch = [0f32; SCRATCH];
    let need = c.query_scratch_len();
    let s = scratch.get_mut(..need).ok_or(Error::BufferTooSmall { needed: need, got: SCRATCH })?;
    let mut exp = f.rest.clone();
    check_scores(&c, &f, &mut exp, s, "score", &mut t)?;
    exp.finish()?;
    Ok(Section { name: "tq4", tally: t, buffers: 4 * (SCRATCH + 2 * MAX_D) })
}

#[cfg(feature = "pq")]
#[inline(never)]
fn run_pq() -> Result<Section> {
    use vector_codecs::pq::ProductQuantizer;
    const SCRATCH: usize = 4 * 1024;
    let f = TestFile::open(generated!("pq.bin"))?;
    // `alloc`-only in the crate today (issue 15, part 1): loaded through the bump allocator.
    let c = ProductQuantizer::from_bytes(f.params)?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut scratch = [0f32; SCRATCH];
    let need = c.query_scratch_len();
    let s = scratch.get_mut(..need).ok_or(Error::BufferTooSmall { needed: need, got: SCRATCH })?;
    let mut exp = f.rest.clone();
    check_scores(&c, &f, &mut exp, s, "score", &mut t)?;
    exp.finish()?;
    Ok(Section { name: "pq", tally: t, buffers: 4 * (SCRATCH + 2 * MAX_D) })
}

// ---------------------------------------------------------------------------------------------
// TEMPORARY bump allocator (feature `pq` only): PQ's parameters live in `Vec`s until the crate
// loads them into caller storage. Never frees; the firmware reports how much it used.

#[cfg(feature = "pq")]
mod bump {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicUsize, Ordering};

    const HEAP: usize = 512 * 1024;

    #[repr(C, align(16))]
    struct Arena(UnsafeCell<[u8; HEAP]>);
    // SAFETY: the arena is only handed out in disjoint pieces by `Bump::alloc` (one core, and
    // the offset is advanced atomically).
    unsafe impl Sync for Arena {}

    static ARENA: Arena = Arena(UnsafeCell::new([0; HEAP]));
    static NEXT: AtomicUsize = AtomicUsize::new(0);

    pub struct Bump;

    // SAFETY: returns pointers to disjoint, suitably aligned, in-bounds pieces of `ARENA`, or
    // null when it is exhausted; `dealloc` is a no-op, which `GlobalAlloc` allows.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let base = ARENA.0.get() as usize;
            let mut cur = NEXT.load(Ordering::Relaxed);
            loop {
                let start = (base + cur).next_multiple_of(layout.align()) - base;
                let end = match start.checked_add(layout.size()) {
                    Some(e) if e <= HEAP => e,
                    _ => return core::ptr::null_mut(),
                };
                match NEXT.compare_exchange(cur, end, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return (base + start) as *mut u8,
                    Err(c) => cur = c,
                }
            }
        }
        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
    }

    #[global_allocator]
    static GLOBAL: Bump = Bump;

    /// Bytes handed out so far.
    pub fn used() -> usize {
        NEXT.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// Paint-the-stack.

const PAINT: u32 = 0xC0DE_C0DE;

unsafe extern "C" {
    /// End of `.bss`/`.uninit` (start of the unused RAM the stack grows into; cortex-m-rt).
    static __sheap: u32;
}

/// The lowest address the stack may reach.
fn stack_floor() -> usize {
    // Only the address of the linker symbol is taken, never its value.
    core::ptr::addr_of!(__sheap) as usize
}

/// Fills `[floor, sp − 64)` with the pattern; returns the stack pointer it painted below.
#[inline(never)]
fn paint() -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    let mut a = stack_floor().next_multiple_of(4);
    while a + 64 < sp {
        // SAFETY: `a` is a word-aligned address between the end of the statics and 64 bytes
        // below this function's own frame: RAM that nothing live uses.
        unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
    sp
}

/// Bytes of stack used below `sp` since [`paint`]: from the lowest word no longer holding the
/// pattern.
#[inline(never)]
fn measure(sp: usize) -> usize {
    let mut a = stack_floor().next_multiple_of(4);
    while a + 64 < sp {
        // SAFETY: as in `paint`: word-aligned RAM between the statics and the stack.
        if unsafe { core::ptr::read_volatile(a as *const u32) } != PAINT {
            break;
        }
        a += 4;
    }
    sp.saturating_sub(a)
}

// ---------------------------------------------------------------------------------------------

type Runner = fn() -> Result<Section>;

const RUNNERS: &[Runner] = &[
    #[cfg(feature = "sq8")]
    run_sq8,
    #[cfg(feature = "binary")]
    run_binary,
    #[cfg(all(feature = "rans", not(feature = "microbit")))]
    run_rans,
    #[cfg(all(feature = "tq", not(feature = "microbit")))]
    run_tq,
    #[cfg(feature = "pq")]
    run_pq,
];

#[entry]
fn main() -> ! {
    #[cfg(feature = "microbit")]
    hprintln!("vector-codecs firmware: micro:bit (Cortex-M0), d = {}", MAX_D);
    #[cfg(not(feature = "microbit"))]
    hprintln!("vector-codecs firmware: MPS2 AN386 (Cortex-M4F), d = {}", MAX_D);
    // Error printing is linked into every build, the empty harness included, so that the flash
    // differences of ci/embedded.sh count codec code, not `Debug` formatting.
    if core::hint::black_box(RUNNERS.is_empty()) {
        hprintln!("(no codec in this build) {:?}", core::hint::black_box(Error::Truncated));
    }
    let (mut checks, mut failed) = (0u32, 0u32);
    for run in RUNNERS {
        let sp = paint();
        let res = run();
        let stack = measure(sp);
        match res {
            Ok(s) => {
                hprintln!(
                    "{}: {} checks, {} mismatches; peak stack {} B (caller buffers reserved in it: {} B)",
                    s.name,
                    s.tally.checks,
                    s.tally.failed,
                    stack,
                    s.buffers
                );
                hprintln!("STACK {} {}", s.name, stack);
                checks += s.tally.checks;
                failed += s.tally.failed;
            }
            Err(e) => {
                hprintln!("ERROR: {:?} (peak stack {} B)", e, stack);
                failed += 1;
            }
        }
    }
    #[cfg(feature = "pq")]
    hprintln!("heap used by the temporary bump allocator: {} B", bump::used());
    if failed == 0 && checks > 0 {
        hprintln!("FIRMWARE OK: {} checks", checks);
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("FIRMWARE FAILED: {} of {} checks", failed, checks);
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("PANIC: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
