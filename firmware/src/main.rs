//! Smoke firmware for `vector-codecs` on Cortex-M: loads codec parameters embedded in flash,
//! decodes and scores the codes stored beside them, and checks every result bit for bit against
//! the host's (portable backend) values, written by `examples/firmware_vectors.rs` into
//! `generated/<board>/`. Prints through semihosting and exits with the semihosting exit code
//! (0 = every check passed), so that `qemu-system-arm` returns it.
//!
//! Parameters are the host's saved containers, loaded by the crate's own loaders (no hand
//! parsing, no allocator): sq8 and binary as zero-copy views over flash, the rANS model into
//! caller tables, TurboQuant by `Persist::restore`, PQ as a zero-copy `PqView` over flash.
//!
//! For every codec it also prints the peak stack of its section (paint-the-stack: the free RAM
//! below the stack pointer is filled with a pattern before the section and scanned after it).
//! The figure includes the caller buffers the section puts on its stack (the query and its
//! scratch, the decoded vector, rANS tables), whose size at the peak is printed beside it.
//!
//! Boards: MPS2 AN386 (Cortex-M4F, `thumbv7em-none-eabihf`, d = 768, every codec) and, with
//! feature `microbit`, the BBC micro:bit (Cortex-M0, 16 KiB RAM, `thumbv6m-none-eabi`, d = 128,
//! sq8 and binary, float scores included).
#![no_std]
#![no_main]
// Builds with fewer codecs (the flash measurements of ci/embedded.sh, the micro:bit) leave
// helpers unused.
#![cfg_attr(
    not(all(feature = "sq8", feature = "binary", feature = "rans", feature = "tq", feature = "pq")),
    allow(dead_code, unused_imports, unused_macros)
)]

use core::panic::PanicInfo;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use vector_codecs::format::{self, Reader};
use vector_codecs::{Codec, Decode, Error, Result, Score};

/// Test data kept in flash at a 4-byte aligned address (the host pads each file so that the
/// parameter floats inside it are aligned, and the codecs borrow them in place).
#[repr(C, align(4))]
struct Aligned<B: ?Sized>(B);

#[cfg(not(feature = "microbit"))]
macro_rules! generated {
    ($file:literal) => {{
        static DATA: &Aligned<[u8]> =
            &Aligned(*include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/m4/", $file)));
        &DATA.0
    }};
}
#[cfg(feature = "microbit")]
macro_rules! generated {
    ($file:literal) => {{
        static DATA: &Aligned<[u8]> =
            &Aligned(*include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/m0/", $file)));
        &DATA.0
    }};
}

/// The largest dimension the buffers of this board hold.
#[cfg(not(feature = "microbit"))]
const MAX_D: usize = 768;
#[cfg(feature = "microbit")]
const MAX_D: usize = 128;
/// Codes (and rANS blocks) per test file.
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
        let pad = r.u32()? as usize;
        r.bytes(pad)?;
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
    #[inline(never)]
    fn check(&mut self, what: &str, i: usize, got: u32, want: u32) {
        self.checks += 1;
        if got != want {
            self.failed += 1;
            hprintln!("  MISMATCH {} #{}: got {:#010x}, host {:#010x}", what, i, got, want);
        }
    }
}

/// Decodes one code into a stack buffer and hashes the decoded floats into `h`.
#[inline(never)]
fn hash_decode<C: Decode>(c: &C, code: &[u8], h: &mut Fnv) -> Result<()> {
    let mut out = [0f32; MAX_D];
    let out = out.get_mut(..c.dim()).ok_or(Error::BufferTooSmall { needed: c.dim(), got: MAX_D })?;
    vc::decode(c, code, out)?;
    for v in out.iter() {
        h.bytes(&v.to_le_bytes());
    }
    Ok(())
}

/// Decodes every code and compares the hash of the decoded floats with the host's.
fn check_decode<C: Decode>(c: &C, codes: &[u8], want: u32, t: &mut Tally) -> Result<()> {
    let mut h = Fnv::new();
    for code in codes.chunks_exact(c.code_len()) {
        hash_decode(c, code, &mut h)?;
    }
    t.check("decode hash", 0, h.0, want);
    Ok(())
}

/// Prepares each query into an `S`-word stack scratch and compares every score's bits with the
/// next expected value of `expected`.
#[inline(never)]
fn check_scores<C: Score, const S: usize>(
    c: &C,
    f: &TestFile<'_>,
    expected: &mut Reader<'_>,
    what: &str,
    t: &mut Tally,
) -> Result<()> {
    let mut scratch = [0f32; S];
    let need = c.query_scratch_len();
    let scratch = scratch.get_mut(..need).ok_or(Error::BufferTooSmall { needed: need, got: S })?;
    let mut qr = Reader::new(f.queries);
    let mut q = [0f32; MAX_D];
    let q = q.get_mut(..f.dim).ok_or(Error::BufferTooSmall { needed: f.dim, got: MAX_D })?;
    for qi in 0..f.nq {
        qr.f32_into(f.dim, q)?;
        let pq = vc::prepare(c, q, scratch)?;
        for (i, code) in f.codes.chunks_exact(c.code_len()).enumerate() {
            t.check(what, qi * f.n + i, vc::score(c, &pq, code)?.to_bits(), expected.u32()?);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The codecs. Parameters are the host's saved containers, loaded by the crate: sq8 and binary
// as zero-copy views over flash (`view_from_bytes`, validated like the owned loaders), the rANS
// model into caller tables (`ModelView::decoder_from_bytes_in`), TurboQuant by
// `Persist::restore`.

/// Every call into the crate goes through these non-inlined wrappers, so that the crate's code
/// (inlined into them) is told apart from the harness's in the ELF: `ci/embedded.sh` counts
/// `vector_codecs::*`, these `vc::*` wrappers and the library code they pull in as crate code,
/// and the rest of `vector_codecs_firmware::*` (test-file parsing, hashing, checks) as harness.
mod vc {
    use vector_codecs::{Decode, Result, Score};

    #[inline(never)]
    pub fn decode<C: Decode>(c: &C, code: &[u8], out: &mut [f32]) -> Result<()> {
        c.decode_into(code, out)
    }

    #[inline(never)]
    pub fn prepare<'s, C: Score>(c: &'s C, q: &[f32], scratch: &'s mut [f32]) -> Result<C::Query<'s>> {
        c.prepare(q, scratch)
    }

    #[inline(never)]
    pub fn score<C: Score>(c: &C, q: &C::Query<'_>, code: &[u8]) -> Result<f32> {
        c.score(q, code)
    }

    #[cfg(any(feature = "sq8", feature = "rans"))]
    #[inline(never)]
    pub fn sq8_view(bytes: &[u8]) -> Result<vector_codecs::scalar::uniform::PerDimFloat<&[f32]>> {
        // Float queries only: leaves the integer-query scan modes out of the flash.
        Ok(vector_codecs::scalar::uniform::PerDimUniform::view_from_bytes(bytes)?.float_only())
    }

    #[cfg(feature = "binary")]
    #[inline(never)]
    pub fn binary_view(bytes: &[u8]) -> Result<vector_codecs::binary::CenteredBinary<&[f32]>> {
        vector_codecs::binary::CenteredBinary::view_from_bytes(bytes)
    }

    #[cfg(feature = "binary")]
    #[inline(never)]
    pub fn hamming(c: &vector_codecs::binary::CenteredBinary<&[f32]>, a: &[u8], b: &[u8]) -> Result<u32> {
        c.hamming_codes(a, b)
    }

    #[cfg(feature = "binary")]
    #[inline(never)]
    pub fn score_codes(c: &vector_codecs::binary::CenteredBinary<&[f32]>, a: &[u8], b: &[u8]) -> Result<f32> {
        vector_codecs::ScoreSymmetric::score_codes(c, a, b)
    }

    /// Container kind the host writes a bare `TurboMse`'s `Persist` block in.
    #[cfg(feature = "tq")]
    const TQ_KIND: u16 = vector_codecs::format::kind::TURBO + 0xF0;

    #[cfg(feature = "tq")]
    #[inline(never)]
    pub fn tq(bytes: &[u8]) -> Result<vector_codecs::turbo::TurboMse> {
        use vector_codecs::persist::Persist;
        let mut r = vector_codecs::format::open(bytes, TQ_KIND)?;
        let c = vector_codecs::turbo::TurboMse::restore(&mut r)?;
        r.finish()?;
        Ok(c)
    }

    #[cfg(feature = "pq")]
    #[inline(never)]
    pub fn pq(bytes: &[u8]) -> Result<vector_codecs::pq::PqView<'_>> {
        vector_codecs::pq::PqView::from_bytes(bytes)
    }

    #[cfg(feature = "rans")]
    #[inline(never)]
    pub fn model<'a>(
        bytes: &[u8],
        freqs: &'a mut [u32],
        slots: &'a mut [u32],
    ) -> Result<vector_codecs::entropy::model::ModelView<'a>> {
        vector_codecs::entropy::model::ModelView::decoder_from_bytes_in(bytes, freqs, slots)
    }

    #[cfg(feature = "rans")]
    #[inline(never)]
    pub fn decode_block<C: vector_codecs::codec::Symbols>(
        c: &C,
        model: &vector_codecs::entropy::model::ModelView<'_>,
        block: &[u8],
        symbols: &mut [u16],
        code: &mut [u8],
    ) -> Result<()> {
        vector_codecs::entropy::coded::decode_block_with(c, core::slice::from_ref(model), block, 1, symbols, code)
    }
}

/// Bytes of caller buffers a section keeps on its stack at its peak (printed beside it).
struct Section {
    name: &'static str,
    tally: Tally,
    buffers: usize,
}

#[cfg(feature = "sq8")]
#[inline(never)]
fn run_sq8() -> Result<Section> {
    let f = TestFile::open(generated!("sq8.bin"))?;
    let c = vc::sq8_view(f.params)?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut exp = f.rest.clone();
    check_scores::<_, MAX_D>(&c, &f, &mut exp, "score", &mut t)?;
    // Peak: the query and its scratch (the decoded vector is dead by then).
    Ok(Section { name: "sq8", tally: t, buffers: 4 * (2 * MAX_D) })
}

#[cfg(feature = "binary")]
#[inline(never)]
fn run_binary() -> Result<Section> {
    use vector_codecs::binary::FloatLayout;
    let f = TestFile::open(generated!("bin.bin"))?;
    // The float query in the `Direct` layout: `d` words of scratch (the default `Byte` table
    // would take 256 words per code byte; every layout gives the same scores).
    let c = vc::binary_view(f.params)?.with_float_layout(FloatLayout::Direct);
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut exp = f.rest.clone();
    check_scores::<_, MAX_D>(&c, &f, &mut exp, "float score", &mut t)?;
    check_scores::<_, { MAX_D / 8 }>(&c.bitsliced(), &f, &mut exp, "bit-sliced score", &mut t)?;
    let a = &f.codes[..c.code_len()];
    for (i, b) in f.codes.chunks_exact(c.code_len()).enumerate() {
        t.check("hamming", i, vc::hamming(&c, a, b)?, exp.u32()?);
        t.check("code-vs-code score", i, vc::score_codes(&c, a, b)?.to_bits(), exp.u32()?);
    }
    exp.finish()?;
    Ok(Section { name: "binary", tally: t, buffers: 4 * (2 * MAX_D) })
}

/// rANS-decodes one block of one vector into `code` (symbol scratch on this frame).
#[cfg(feature = "rans")]
#[inline(never)]
fn rans_decode_one<C: vector_codecs::codec::Symbols>(
    c: &C,
    model: &vector_codecs::entropy::model::ModelView<'_>,
    block: &[u8],
    code: &mut [u8],
) -> Result<()> {
    let mut symbols = [0u16; MAX_D];
    vc::decode_block(c, model, block, &mut symbols, code)
}

#[cfg(feature = "rans")]
#[inline(never)]
fn run_rans() -> Result<Section> {
    /// Alphabet and slots of the model the host writes (scale 9).
    const K: usize = 256;
    const SLOTS: usize = 1 << 9;
    let f = TestFile::open(generated!("rans.bin"))?;
    let c = vc::sq8_view(f.params)?;
    let mut r = f.rest.clone();
    r.bytes(f.nq * f.n * 4)?; // the sq8 scores: checked in the sq8 section
    let len = r.u32()? as usize;
    let (mut freqs, mut slots) = ([0u32; K], [0u32; SLOTS]);
    let model = vc::model(r.bytes(len)?, &mut freqs, &mut slots)?;
    let nblocks = r.count(MAX_N, "rans: more blocks than codes")?;
    let cl = c.code_len();
    let mut code = [0u8; MAX_D];
    let code = code.get_mut(..cl).ok_or(Error::BufferTooSmall { needed: cl, got: MAX_D })?;
    let mut t = Tally::default();
    let (mut hc, mut hf) = (Fnv::new(), Fnv::new());
    let mut stored = f.codes.chunks_exact(cl);
    for i in 0..nblocks {
        if r.u32()? != 1 {
            return Err(Error::Corrupt("rans: one vector per block expected"));
        }
        let len = r.u32()? as usize;
        rans_decode_one(&c, &model, r.bytes(len)?, code)?;
        hc.bytes(code);
        let same = stored.next().is_some_and(|s| s == &code[..]);
        t.check("decoded code = stored code", i, u32::from(same), 1);
        hash_decode(&c, code, &mut hf)?;
    }
    t.check("decoded codes hash", 0, hc.0, r.u32()?);
    t.check("decode hash", 0, hf.0, f.decode_hash);
    r.finish()?;
    let buffers = 4 * (K + SLOTS) + MAX_D + 4 * MAX_D;
    Ok(Section { name: "rans", tally: t, buffers })
}

#[cfg(feature = "tq")]
#[inline(never)]
fn run_tq() -> Result<Section> {
    const SCRATCH: usize = 2 * 1024;
    let f = TestFile::open(generated!("tq.bin"))?;
    // The rotation (kind, dimension, seed) and the codebook are re-derived from the saved block.
    let c = vc::tq(f.params)?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut exp = f.rest.clone();
    check_scores::<_, SCRATCH>(&c, &f, &mut exp, "score", &mut t)?;
    exp.finish()?;
    Ok(Section { name: "tq4", tally: t, buffers: 4 * (SCRATCH + MAX_D) })
}

#[cfg(feature = "pq")]
#[inline(never)]
fn run_pq() -> Result<Section> {
    // The float table of `PQ96x4`: M · 2^nbits = 96 · 16 words.
    const SCRATCH: usize = 96 * 16;
    let f = TestFile::open(generated!("pq.bin"))?;
    // The saved quantizer read in place from flash (no RAM for the codebooks).
    let c = vc::pq(f.params)?;
    let mut t = Tally::default();
    check_decode(&c, f.codes, f.decode_hash, &mut t)?;
    let mut exp = f.rest.clone();
    check_scores::<_, SCRATCH>(&c, &f, &mut exp, "score", &mut t)?;
    exp.finish()?;
    Ok(Section { name: "pq", tally: t, buffers: 4 * (SCRATCH + MAX_D) })
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
    // The mismatch report likewise (the harness's own formatting).
    if core::hint::black_box(RUNNERS.is_empty()) {
        hprintln!(
            "(no codec in this build) {:?} {:?}",
            core::hint::black_box(Error::Truncated),
            core::hint::black_box(Error::Corrupt("-"))
        );
        Tally::default().check("-", 0, core::hint::black_box(0), 1);
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
