//! Writes the parameter files and expected results that the Cortex-M smoke firmware
//! (`firmware/`) checks itself against.
//!
//! ```sh
//! VECTOR_CODECS_SIMD=portable cargo run --example firmware_vectors -- firmware/generated
//! ```
//!
//! For each board (`m4`: Cortex-M4 at d = 768; `m0`: Cortex-M0 with 16 KiB RAM at d = 128) it
//! trains or builds each codec on seeded synthetic rows, encodes a few of them, and writes one
//! file per codec: a `format` container of kind [`TEST_KIND`] holding the codec's own saved
//! parameters (the bytes `to_bytes` / `Persist` write, as a firmware would keep them in flash),
//! the queries, the codes and the expected results: an FNV-1a hash of the decoded floats' bits
//! and every score's bits. The firmware recomputes them on the target and must match bit for
//! bit (the crate's codes and scores do not depend on the SIMD backend; this program is run
//! with the portable one).
//!
//! File layout (little-endian, inside the container): `u32 dim, u32 n, u32 nq`, `u32 pad` +
//! `pad` zero bytes, `u32 len` + the codec's parameter container, `nq · dim` `f32` queries, `u32 len` + `n` codes, `u32`
//! decode hash, `nq · n` `u32` score bits, then per-codec extras (see each writer below). The
//! padding places the parameter container so that its first float array is 4-byte aligned when
//! the test file is (the firmware keeps it in a 4-aligned static): the firmware borrows the
//! parameters in place (`view_from_bytes`) instead of copying them into RAM.

use vector_codecs::binary::{self, BinaryCodec, CenteredBinary};
use vector_codecs::entropy::coded::{CodedConfig, EntropyCoded};
use vector_codecs::format::{Writer, fnv1a32};
use vector_codecs::persist::Persist;
use vector_codecs::pq::ProductQuantizer;
use vector_codecs::rng::Rng;
use vector_codecs::scalar::uniform::PerDimUniform;
use vector_codecs::scalar::uniform::{PerDim, RangeEstimator};
use vector_codecs::train::kmeans::KMeansConfig;
use vector_codecs::turbo::{CodebookKind, RotationKind, TurboMse, turbo_mse};
use vector_codecs::{Codec, Decode, Result, Score, ScoreSymmetric};

/// Container kind of a firmware test file (outside every codec family's range).
const TEST_KIND: u16 = 0x0FF0;
/// Container kind the firmware reads TurboQuant-MSE parameters from (no codec-level kind exists
/// for a bare `TurboMse`; its fields are its `Persist` block).
const TQ_KIND: u16 = vector_codecs::format::kind::TURBO + 0xF0;

/// Scale (`log2` of the frequency total) of the firmware's rANS model: its decoder keeps `2^n +
/// 256` words (3 KiB at n = 9) in RAM.
const RANS_SCALE: u32 = 9;

const N_TRAIN: usize = 256;
const N_CODES: usize = 8;
const N_QUERIES: usize = 2;

/// Seeded rows with a per-dimension offset and scale shared by every call (so per-dimension
/// grids matter), the samples drawn from `seed`.
fn rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut shape = Rng::new(1000);
    let mut off = vec![0f32; dim];
    let mut scale = vec![0f32; dim];
    shape.fill_gaussian(&mut off);
    for s in &mut scale {
        *s = 0.25 + shape.next_f32();
    }
    let mut rng = Rng::new(seed);
    let mut xs = vec![0f32; n * dim];
    rng.fill_gaussian(&mut xs);
    for row in xs.chunks_exact_mut(dim) {
        for ((v, o), s) in row.iter_mut().zip(&off).zip(&scale) {
            *v = *v * s + 0.5 * o;
        }
    }
    xs
}

fn hash_f32(v: &[f32]) -> u32 {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    fnv1a32(&bytes)
}

/// The common head of every test file; returns the writer for the extras. `floats_at` is the
/// byte offset of the first float array in `params` (padded to 4-byte alignment in the file).
fn head<C: Decode + Score>(c: &C, params: &[u8], floats_at: usize, queries: &[f32], codes: &[u8]) -> Result<Writer> {
    let (d, n, nq) = (c.dim(), codes.len() / c.code_len(), queries.len() / c.dim());
    let mut w = Writer::new(TEST_KIND);
    w.u32(d as u32).u32(n as u32).u32(nq as u32);
    // The parameter container starts at byte 12 + 12 + 4 + pad + 4 of the file.
    let pad = (4 - (32 + floats_at) % 4) % 4;
    w.u32(pad as u32).bytes(&[0u8; 3][..pad]);
    w.u32(params.len() as u32).bytes(params);
    w.f32s(queries);
    w.u32(codes.len() as u32).bytes(codes);
    let mut dec = vec![0f32; n * d];
    c.decode_batch(codes, &mut dec)?;
    w.u32(hash_f32(&dec));
    let mut scratch = c.scratch();
    for q in queries.chunks_exact(d) {
        let pq = c.prepare(q, &mut scratch)?;
        for code in codes.chunks_exact(c.code_len()) {
            w.u32(c.score(&pq, code)?.to_bits());
        }
    }
    Ok(w)
}

fn encode<C: Codec>(c: &C, xs: &[f32]) -> Result<Vec<u8>> {
    let mut codes = vec![0u8; xs.len() / c.dim() * c.code_len()];
    c.encode_batch(xs, &mut codes)?;
    Ok(codes)
}

fn write(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, &bytes)?;
    println!("{}: {} bytes", path.display(), bytes.len());
    Ok(())
}

/// `sq8`: per-dimension 8-bit uniform grids (min/max), float scan.
fn sq8(train: &[f32], xs: &[f32], qs: &[f32], dim: usize) -> Result<(PerDim, Vec<u8>)> {
    let c = PerDim::train(train, dim, 8, RangeEstimator::MinMax, false)?;
    let codes = encode(&c, xs)?;
    let w = head(&c, &c.to_bytes()?, PerDimUniform::<&[f32]>::VIEW_FLOATS_AT, qs, &codes)?;
    Ok((c, w.finish()?))
}

/// `bin1-centred`: sign bits around the training mean, shared scale (a `CenteredBinary`, saved
/// in its own container kind: the mean, then the binary codec's fields). Extras: the float-query
/// scores again in bit-sliced scan mode (`nq · n` `u32`), then the Hamming distance and the
/// symmetric score of code 0 against every code (`n` × (`u32`, `u32` bits)).
fn bin(train: &[f32], xs: &[f32], qs: &[f32], dim: usize) -> Result<Vec<u8>> {
    let cfg = binary::config("bin1-centred").expect("known name");
    let c = BinaryCodec::train_centred(train, dim, &cfg)?;
    let codes = encode(&c, xs)?;
    let mut w = head(&c, &c.to_bytes()?, CenteredBinary::<&[f32]>::VIEW_FLOATS_AT, qs, &codes)?;
    let bs = c.bitsliced();
    let mut scratch = bs.scratch();
    for q in qs.chunks_exact(dim) {
        let pq = bs.prepare(q, &mut scratch)?;
        for code in codes.chunks_exact(c.code_len()) {
            w.u32(bs.score(&pq, code)?.to_bits());
        }
    }
    let a = &codes[..c.code_len()];
    for b in codes.chunks_exact(c.code_len()) {
        w.u32(c.hamming_codes(a, b)?).u32(c.score_codes(a, b)?.to_bits());
    }
    w.finish()
}

/// `sq8+rANS`: the sq8 codes' symbols entropy coded with one shared static model of scale
/// [`RANS_SCALE`] (interleaved lanes), one vector per block so that a decoder needs symbol
/// scratch for one vector only. Extras: `u32 len` + the model's `Model::to_bytes` container,
/// `u32 blocks`, then per block `u32 nb, u32 len` + its bytes, and the `u32` FNV-1a of all the
/// decoded codes.
fn rans(sq: &PerDim, xs: &[f32], qs: &[f32]) -> Result<Vec<u8>> {
    let codes = encode(sq, xs)?;
    for scale in [9, 10, 12] {
        let cfg = CodedConfig { per_position: Some(false), scale_bits: scale, block_vectors: 1 };
        let ec = EntropyCoded::train_with(sq.clone(), &codes, &cfg)?;
        let blocks = ec.encode_codes(&codes)?;
        let payload: usize =
            (0..blocks.n_blocks()).map(|b| blocks.block(b).map(|(x, _)| x.len())).sum::<Result<_>>()?;
        println!("  rANS scale {scale}: {payload} bytes of blocks for {} bytes of sq8 codes", codes.len());
    }
    let cfg = CodedConfig { per_position: Some(false), scale_bits: RANS_SCALE, block_vectors: 1 };
    let ec = EntropyCoded::train_with(sq.clone(), &codes, &cfg)?;
    let blocks = ec.encode_codes(&codes)?;
    let mut w = head(sq, &sq.to_bytes()?, PerDimUniform::<&[f32]>::VIEW_FLOATS_AT, qs, &codes)?;
    let model = ec.models()[0].to_bytes()?;
    w.u32(model.len() as u32).bytes(&model);
    w.u32(blocks.n_blocks() as u32);
    for b in 0..blocks.n_blocks() {
        let (block, nb) = blocks.block(b)?;
        w.u32(nb as u32).u32(block.len() as u32).bytes(block);
    }
    w.u32(fnv1a32(&codes));
    w.finish()
}

/// TurboQuant-MSE `tq4` (randomized Hadamard rotation, Gaussian 4-bit codebook, f32 norm): the
/// parameters are its `Persist` block in a container of kind [`TQ_KIND`].
fn tq(xs: &[f32], qs: &[f32], dim: usize) -> Result<Vec<u8>> {
    let c: TurboMse = turbo_mse(dim, 4, 42, RotationKind::Hadamard, CodebookKind::Gaussian)?;
    let mut p = Writer::new(TQ_KIND);
    c.persist(&mut p);
    let codes = encode(&c, xs)?;
    head(&c, &p.finish()?, 0, qs, &codes)?.finish()
}

/// `PQ{m}x4` product quantization (k-means, 4-bit sub-quantizers), float tables.
fn pq(train: &[f32], xs: &[f32], qs: &[f32], dim: usize, m: usize) -> Result<Vec<u8>> {
    let cfg = KMeansConfig { niter: 8, ..KMeansConfig::default() };
    let c = ProductQuantizer::train(train, dim, m, 4, &cfg)?;
    let codes = encode(&c, xs)?;
    head(&c, &c.to_bytes()?, 0, qs, &codes)?.finish()
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "firmware/generated".into()));
    for (board, dim) in [("m4", 768usize), ("m0", 128)] {
        let dir = out.join(board);
        let train = rows(N_TRAIN, dim, 1);
        let xs = rows(N_CODES, dim, 2);
        let qs = rows(N_QUERIES, dim, 3);
        let (sq, bytes) = sq8(&train, &xs, &qs, dim)?;
        write(&dir, "sq8.bin", bytes)?;
        write(&dir, "bin.bin", bin(&train, &xs, &qs, dim)?)?;
        if board == "m4" {
            write(&dir, "rans.bin", rans(&sq, &xs, &qs)?)?;
            write(&dir, "tq.bin", tq(&xs, &qs, dim)?)?;
            write(&dir, "pq.bin", pq(&train, &xs, &qs, dim, dim / 8)?)?;
        }
    }
    Ok(())
}
