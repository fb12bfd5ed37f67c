//! Short names → codec constructors: one section per codec family.
//!
//! Adding a configuration is adding one [`Entry`] line to its family's section; adding a family
//! is adding a section (and its function to [`all`]). Every constructor takes the training data
//! (the base vectors) and returns the codec behind the object-safe [`EvalCodec`] view; fixed-rate
//! codecs implementing `Decode + Score` are boxed as they are, pure scorers go through
//! [`ScoreOnly`](crate::adapter::ScoreOnly), variable-rate (entropy-coded) ones through
//! [`VariableRate`](crate::adapter::VariableRate).

use crate::adapter::{EvalCodec, Symmetric, TrainData, VariableRate};
use crate::baseline::F32Codec;
use vector_codecs::{Codec, Decode, Estimator, Result, Score};

/// A constructor: trains (where needed) on the training data and returns the codec.
pub type Build = fn(&TrainData) -> Result<Box<dyn EvalCodec>>;

/// One codec configuration of the table.
pub struct Entry {
    /// The short name used by `--codecs` and printed in the table.
    pub name: &'static str,
    /// The family (module) it comes from.
    pub family: &'static str,
    /// One line on what the configuration is.
    pub about: &'static str,
    /// Whether `--quick` runs it (keep the quick set small: CI runs it).
    pub quick: bool,
    /// The constructor.
    pub build: Build,
}

const fn entry(name: &'static str, family: &'static str, about: &'static str, quick: bool, build: Build) -> Entry {
    Entry { name, family, about, quick, build }
}

// ---------------------------------------------------------------------------------------------
// Baseline: uncompressed f32 (the exact-search reference row).
// ---------------------------------------------------------------------------------------------
fn baseline() -> Vec<Entry> {
    vec![entry("f32", "baseline", "raw little-endian f32, 32 bits/dim (exact reference)", true, |t| {
        Ok(Box::new(F32Codec::new(t.dim)))
    })]
}

// ---------------------------------------------------------------------------------------------
// Scalar uniform (src/scalar/uniform.rs): per-dimension trained grids, per-block / per-vector
// scales in the code; `-i8` rows scan with the integer query (exact u8×i8 dot, biased estimator).
// ---------------------------------------------------------------------------------------------
fn uniform_cfg(name: &str, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    use vector_codecs::scalar::uniform::{UniformConfig, config};
    Ok(match config(name, t.dim, t.vectors)? {
        UniformConfig::PerDim(c) => Box::new(c),
        UniformConfig::Block(c) => Box::new(c),
    })
}

fn uniform_int(bits: u32, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    use vector_codecs::scalar::uniform::{IntPrecision, PerDimUniform, RangeEstimator};
    let codec = PerDimUniform::train(t.vectors, t.dim, bits, RangeEstimator::MinMax, false)?;
    Ok(Box::new(IntScan { codec, precision: IntPrecision::I8 }))
}

/// A per-dimension uniform codec scanned with its integer-query scorer.
struct IntScan {
    codec: vector_codecs::scalar::uniform::PerDim,
    precision: vector_codecs::scalar::uniform::IntPrecision,
}

impl EvalCodec for IntScan {
    fn describe(&self) -> String {
        format!("PerDimUniform + IntScorer({:?})", self.precision)
    }
    fn dim(&self) -> usize {
        Codec::dim(&self.codec)
    }
    fn code_len(&self) -> usize {
        Codec::code_len(&self.codec)
    }
    fn bits_per_dim(&self) -> f64 {
        Codec::bits_per_dim(&self.codec)
    }
    fn estimator(&self) -> Option<Estimator> {
        self.codec.int_scorer(self.precision).ok().map(|s| Score::estimator(&s))
    }
    fn can_decode(&self) -> bool {
        true
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        Codec::encode_batch(&self.codec, xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        Decode::decode_batch(&self.codec, codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let scorer = self.codec.int_scorer(self.precision)?;
        let mut scratch = vec![0f32; scorer.query_scratch_len()];
        let prepared = scorer.prepare(q, &mut scratch)?;
        scorer.score_batch(&prepared, codes, out)
    }
}

fn scalar_uniform() -> Vec<Entry> {
    vec![
        entry("sq8", "scalar-uniform", "8-bit per-dimension min/max grid (trained), float query", true, |t| {
            uniform_cfg("sq8", t)
        }),
        entry("sq8-i8", "scalar-uniform", "sq8 scanned with the i8 integer query (u8×i8 dot)", false, |t| {
            uniform_int(8, t)
        }),
        entry("sq4", "scalar-uniform", "4-bit per-dimension min/max grid (trained), float query", true, |t| {
            uniform_cfg("sq4", t)
        }),
        entry("sq4-i8", "scalar-uniform", "sq4 scanned with the i8 integer query", false, |t| uniform_int(4, t)),
        entry("sq8-b32", "scalar-uniform", "8-bit, f32 min/Δ per block of 32 (10 bits/dim)", false, |t| {
            uniform_cfg("sq8-b32", t)
        }),
        entry("sq4-b32", "scalar-uniform", "4-bit, f32 min/Δ per block of 32 (6 bits/dim)", false, |t| {
            uniform_cfg("sq4-b32", t)
        }),
        entry(
            "sq4-b32-sym",
            "scalar-uniform",
            "4-bit symmetric, f32 absmax per block of 32 (5 bits/dim)",
            false,
            |t| uniform_cfg("sq4-b32-sym", t),
        ),
        entry("sq8-vec", "scalar-uniform", "8-bit, f32 min/Δ per vector", false, |t| uniform_cfg("sq8-vec", t)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Float formats (src/scalar/float.rs): f16/bf16 plain; FP8/FP4 with a per-vector scale; MX and
// NV block formats with their block scales.
// ---------------------------------------------------------------------------------------------
fn float_fmt(t: &TrainData, f: vector_codecs::scalar::float::FloatFormat) -> Result<Box<dyn EvalCodec>> {
    Ok(Box::new(vector_codecs::scalar::float::FloatCodec::new(t.dim, f)?))
}

fn scalar_float() -> Vec<Entry> {
    use vector_codecs::scalar::float::FloatFormat as F;
    vec![
        entry("f16", "scalar-float", "IEEE binary16", true, |t| float_fmt(t, F::F16)),
        entry("bf16", "scalar-float", "bfloat16", false, |t| float_fmt(t, F::Bf16)),
        entry("fp8e4m3", "scalar-float", "FP8 E4M3 with a per-vector scale", true, |t| float_fmt(t, F::E4M3)),
        entry("fp8e5m2", "scalar-float", "FP8 E5M2 with a per-vector scale", false, |t| float_fmt(t, F::E5M2)),
        entry("fp4e2m1", "scalar-float", "FP4 E2M1 with a per-vector scale", false, |t| float_fmt(t, F::E2M1)),
        entry("mxfp8", "scalar-float", "MXFP8: E4M3 + E8M0 scale per 32", false, |t| float_fmt(t, F::MxFp8)),
        entry("mxfp4", "scalar-float", "MXFP4: E2M1 + E8M0 scale per 32", false, |t| float_fmt(t, F::MxFp4)),
        entry("nvfp4", "scalar-float", "NVFP4: E2M1 + E4M3 scale per 16", false, |t| float_fmt(t, F::NvFp4)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Lloyd–Max (src/scalar/lloyd.rs): Gaussian tables with per-vector mean/RMS, and data-trained
// codebooks (1-D k-means, 25 iterations) shared or per dimension.
// ---------------------------------------------------------------------------------------------
fn lloyd_gauss(t: &TrainData, bits: u32) -> Result<Box<dyn EvalCodec>> {
    Ok(Box::new(vector_codecs::scalar::lloyd::LloydCodec::gaussian(t.dim, bits)?))
}

fn lloyd_trained(t: &TrainData, bits: u32, per_dim: bool) -> Result<Box<dyn EvalCodec>> {
    use vector_codecs::scalar::lloyd::TrainedLloydCodec;
    Ok(Box::new(TrainedLloydCodec::train(t.dim, bits, per_dim, t.vectors, 25)?))
}

fn scalar_lloyd() -> Vec<Entry> {
    vec![
        entry("lloyd1", "scalar-lloyd", "Gaussian Lloyd–Max 1-bit, per-vector mean/RMS", false, |t| {
            lloyd_gauss(t, 1)
        }),
        entry("lloyd2", "scalar-lloyd", "Gaussian Lloyd–Max 2-bit, per-vector mean/RMS", false, |t| {
            lloyd_gauss(t, 2)
        }),
        entry("lloyd3", "scalar-lloyd", "Gaussian Lloyd–Max 3-bit, per-vector mean/RMS", false, |t| {
            lloyd_gauss(t, 3)
        }),
        entry("lloyd4", "scalar-lloyd", "Gaussian Lloyd–Max 4-bit, per-vector mean/RMS", true, |t| lloyd_gauss(t, 4)),
        entry("lloyd4-trained", "scalar-lloyd", "4-bit k-means codebook shared by all dims", false, |t| {
            lloyd_trained(t, 4, false)
        }),
        entry("lloyd4-trained-dim", "scalar-lloyd", "4-bit k-means codebook per dimension", false, |t| {
            lloyd_trained(t, 4, true)
        }),
        entry("lloyd2-trained-dim", "scalar-lloyd", "2-bit k-means codebook per dimension", false, |t| {
            lloyd_trained(t, 2, true)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// TurboQuant (src/turbo) and QJL (src/qjl): randomized Hadamard rotation, Beta-optimal
// codebooks, norms stored per vector.
// ---------------------------------------------------------------------------------------------
fn turbo_cfg(name: &str, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    let codec = vector_codecs::factory::build(name, t.dim, vector_codecs::metric::Metric::InnerProduct, t.seed, &[])?;
    Ok(Box::new(FactoryCodec(codec)))
}

/// A codec of [`vector_codecs::factory`] for the harness.
struct FactoryCodec(Box<dyn vector_codecs::dynamic::DynCodec>);

impl EvalCodec for FactoryCodec {
    fn describe(&self) -> String {
        format!("factory {}: {}", self.0.name(), self.0.about())
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn code_len(&self) -> usize {
        self.0.code_len()
    }
    fn bits_per_dim(&self) -> f64 {
        self.0.bits_per_dim()
    }
    fn estimator(&self) -> Option<Estimator> {
        Some(self.0.estimator())
    }
    fn can_decode(&self) -> bool {
        true
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        self.0.encode_batch(xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.decode_batch(codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        self.0.scan(q, codes, out)
    }
}

fn turbo() -> Vec<Entry> {
    vec![
        entry("tq1", "turbo", "TurboQuant-MSE 1-bit + norm", false, |t| turbo_cfg("tq1", t)),
        entry("tq2", "turbo", "TurboQuant-MSE 2-bit + norm", false, |t| turbo_cfg("tq2", t)),
        entry("tq2.5", "turbo", "TurboQuant-MSE 2.5-bit (half the coords 3-bit, half 2-bit) + norm", false, |t| {
            turbo_cfg("tq2.5", t)
        }),
        entry("tq3", "turbo", "TurboQuant-MSE 3-bit + norm", false, |t| turbo_cfg("tq3", t)),
        entry("tq3.5", "turbo", "TurboQuant-MSE 3.5-bit (half the coords 4-bit, half 3-bit) + norm", false, |t| {
            turbo_cfg("tq3.5", t)
        }),
        entry("tq4", "turbo", "TurboQuant-MSE 4-bit + norm", true, |t| turbo_cfg("tq4", t)),
        entry("tq1-ip", "turbo", "tq1 codes, inner-product-corrected norm (ratio estimator)", false, |t| {
            turbo_cfg("tq1-ip", t)
        }),
        entry("tq2-ip", "turbo", "tq2 codes, inner-product-corrected norm (ratio estimator)", false, |t| {
            turbo_cfg("tq2-ip", t)
        }),
        entry("tq3-ip", "turbo", "tq3 codes, inner-product-corrected norm (ratio estimator)", false, |t| {
            turbo_cfg("tq3-ip", t)
        }),
        entry("tq4-ip", "turbo", "tq4 codes, inner-product-corrected norm (ratio estimator)", false, |t| {
            turbo_cfg("tq4-ip", t)
        }),
        entry("tq2-ip-i8", "turbo", "tq2-ip codes, quantized-query (i8) fast scan", false, |t| {
            turbo_cfg("tq2-ip-i8", t)
        }),
        entry("tq4-ip-i8", "turbo", "tq4-ip codes, quantized-query (i8) fast scan", false, |t| {
            turbo_cfg("tq4-ip-i8", t)
        }),
        entry("tq4-i8", "turbo", "tq4 codes, quantized-query (i8) fast scan", false, |t| turbo_cfg("tq4-i8", t)),
        entry("tqp2", "turbo", "TurboQuant-prod 2-bit (1-bit MSE + QJL residual), unbiased", false, |t| {
            turbo_cfg("tqp2", t)
        }),
        entry("tqp2.5", "turbo", "TurboQuant-prod 2.5-bit (1.5-bit MSE + QJL residual), unbiased", false, |t| {
            turbo_cfg("tqp2.5", t)
        }),
        entry("tqp3", "turbo", "TurboQuant-prod 3-bit (2-bit MSE + QJL residual), unbiased", false, |t| {
            turbo_cfg("tqp3", t)
        }),
        entry("tqp3.5", "turbo", "TurboQuant-prod 3.5-bit (2.5-bit MSE + QJL residual), unbiased", false, |t| {
            turbo_cfg("tqp3.5", t)
        }),
        entry("tqp4", "turbo", "TurboQuant-prod 4-bit (3-bit MSE + QJL residual), unbiased", false, |t| {
            turbo_cfg("tqp4", t)
        }),
        entry("qjl", "turbo", "QJL sign sketch, m = d, + norm, unbiased", false, |t| turbo_cfg("qjl", t)),
        entry(
            "qjl-orth",
            "turbo",
            "QJL through a Haar rotation (m = d) + norm, unbiased, lower variance",
            false,
            |t| turbo_cfg("qjl-orth", t),
        ),
        entry("tqp2-orth", "turbo", "TurboQuant-prod 2-bit, orthogonal (Haar) QJL residual, unbiased", false, |t| {
            turbo_cfg("tqp2-orth", t)
        }),
        entry("tqp3-orth", "turbo", "TurboQuant-prod 3-bit, orthogonal (Haar) QJL residual, unbiased", false, |t| {
            turbo_cfg("tqp3-orth", t)
        }),
        entry("tqp4-orth", "turbo", "TurboQuant-prod 4-bit, orthogonal (Haar) QJL residual, unbiased", false, |t| {
            turbo_cfg("tqp4-orth", t)
        }),
        entry("tqp2-orth-h", "turbo", "TurboQuant-prod 2-bit, Hadamard sign-sketch residual (biased)", false, |t| {
            turbo_cfg("tqp2-orth-h", t)
        }),
        entry("tqp4-orth-h", "turbo", "TurboQuant-prod 4-bit, Hadamard sign-sketch residual (biased)", false, |t| {
            turbo_cfg("tqp4-orth-h", t)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Trained TurboQuant-IP variants (src/turbo/calibrated.rs, src/turbo/pca.rs): fitted on the
// training set, scored with the ratio-corrected norm; bytes per vector as the tqN-ip rows.
// ---------------------------------------------------------------------------------------------
fn tq_cal(t: &TrainData, bits: u32, k: usize, per_coordinate: bool) -> Result<Box<dyn EvalCodec>> {
    use vector_codecs::turbo::RotationKind;
    use vector_codecs::turbo::calibrated::{Calibration, train_ip, train_ip_split};
    let cal = Calibration { center: true, per_coordinate, trained_codebook: false, rotation: RotationKind::Hadamard };
    if k == 0 {
        Ok(Box::new(train_ip(t.vectors, t.dim, bits, t.seed, cal)?))
    } else {
        Ok(Box::new(train_ip_split(t.vectors, t.dim, k, bits, t.seed, cal)?))
    }
}

fn tq_pca(t: &TrainData, bits: u32) -> Result<Box<dyn EvalCodec>> {
    Ok(Box::new(vector_codecs::turbo::pca::train_pca(t.vectors, t.dim, bits)?))
}

fn turbo_trained() -> Vec<Entry> {
    vec![
        entry("ctq1-ip", "turbo-trained", "tq1-ip on x - mean (training mean, exact <q, mean>)", false, |t| {
            tq_cal(t, 1, 0, false)
        }),
        entry(
            "ctq1+32-ip",
            "turbo-trained",
            "ctq1-ip with 32 rotated coords at 2 bits (56 B at d = 384)",
            false,
            |t| tq_cal(t, 1, 32, false),
        ),
        entry("ctq2-ip", "turbo-trained", "tq2-ip on x - mean", false, |t| tq_cal(t, 2, 0, false)),
        entry("ctq3-ip", "turbo-trained", "tq3-ip on x - mean", false, |t| tq_cal(t, 3, 0, false)),
        entry("ctq4-ip", "turbo-trained", "tq4-ip on x - mean", false, |t| tq_cal(t, 4, 0, false)),
        entry("ctq2-ip-cal", "turbo-trained", "ctq2-ip + per-coordinate shift/scale (TQ+-style)", false, |t| {
            tq_cal(t, 2, 0, true)
        }),
        entry("pca2-ip", "turbo-trained", "PCA rotation, 4/3/2/1-bit allocation, 2 bits/dim avg + scale", false, |t| {
            tq_pca(t, 2)
        }),
        entry(
            "pca1+-ip",
            "turbo-trained",
            "PCA rotation, 3/2/1/0-bit allocation, d + 32 bits + scale (= RaBitQ 1-bit size)",
            false,
            |t| Ok(Box::new(vector_codecs::turbo::pca::train_pca_low(t.vectors, t.dim, t.dim + 32)?)),
        ),
        entry("pca3-ip", "turbo-trained", "PCA rotation, 4/3/2/1-bit allocation, 3 bits/dim avg + scale", false, |t| {
            tq_pca(t, 3)
        }),
        entry("pca4-ip", "turbo-trained", "PCA rotation, 5/4/3/2-bit allocation, 4 bits/dim avg + scale", false, |t| {
            tq_pca(t, 4)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// RaBitQ (src/rabitq): 1-bit and extended B-bit over a Haar-random rotation (seeded),
// centroid = training mean.
// ---------------------------------------------------------------------------------------------
fn rabitq_cfg(name: &str, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    let rot = vector_codecs::transform::haar::HaarRotation::new(t.dim, t.seed)?;
    Ok(Box::new(vector_codecs::rabitq::from_config(name, rot, t.vectors, t.seed)?))
}

fn rabitq() -> Vec<Entry> {
    vec![
        entry("rabitq1", "rabitq", "RaBitQ 1-bit + 8 B factors, float query (unbiased)", true, |t| {
            rabitq_cfg("rabitq1", t)
        }),
        entry("rabitq1q", "rabitq", "RaBitQ 1-bit, 4-bit randomized-rounding query", false, |t| {
            rabitq_cfg("rabitq1q", t)
        }),
        entry("rabitq2", "rabitq", "extended RaBitQ 2-bit", false, |t| rabitq_cfg("rabitq2", t)),
        entry("rabitq3", "rabitq", "extended RaBitQ 3-bit", false, |t| rabitq_cfg("rabitq3", t)),
        entry("rabitq4", "rabitq", "extended RaBitQ 4-bit", false, |t| rabitq_cfg("rabitq4", t)),
        entry("rabitq5", "rabitq", "extended RaBitQ 5-bit", false, |t| rabitq_cfg("rabitq5", t)),
        entry("rabitq8", "rabitq", "extended RaBitQ 8-bit", false, |t| rabitq_cfg("rabitq8", t)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Binary (src/binary): sign bits of the (optionally mean-centred) vector, or T stages of residual
// binarization with per-vector f32 scales; scanned with the float query (exact <q, x_hat>).
// ---------------------------------------------------------------------------------------------
fn binary_cfg(name: &str, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    Ok(Box::new(vector_codecs::binary::train_config(name, t.vectors, t.dim)?))
}

fn binary() -> Vec<Entry> {
    vec![
        entry("bin1", "binary", "sign bits, one trained shared scale (d/8 bytes)", true, |t| binary_cfg("bin1", t)),
        entry("bin1-centred", "binary", "sign bits of x - mean, shared scale", false, |t| {
            binary_cfg("bin1-centred", t)
        }),
        entry("bin2", "binary", "2-stage residual binarization, f32 scales", false, |t| binary_cfg("bin2", t)),
        entry("bin4", "binary", "4-stage residual binarization, f32 scales", false, |t| binary_cfg("bin4", t)),
        entry("bin1-sym", "binary", "bin1, query encoded too: code × code (Hamming)", false, |t| {
            Ok(Box::new(Symmetric(vector_codecs::binary::train_config("bin1", t.vectors, t.dim)?)))
        }),
        entry("bin4-sym", "binary", "bin4, query encoded too: 4×4-stage code × code", false, |t| {
            Ok(Box::new(Symmetric(vector_codecs::binary::train_config("bin4", t.vectors, t.dim)?)))
        }),
        entry("bin1-bs", "binary", "bin1 scanned with a 4-bit bit-sliced query (popcount)", false, |t| {
            Ok(Box::new(Bitsliced(vector_codecs::binary::train_config("bin1", t.vectors, t.dim)?)))
        }),
        entry("bin4-bs", "binary", "bin4 scanned with a 4-bit bit-sliced query (popcount)", false, |t| {
            Ok(Box::new(Bitsliced(vector_codecs::binary::train_config("bin4", t.vectors, t.dim)?)))
        }),
    ]
}

/// A binary codec scanned through its [`BitslicedScorer`](vector_codecs::binary::BitslicedScorer):
/// the query is quantized to 4 bits and scored with AND + popcount per plane.
struct Bitsliced(vector_codecs::binary::BinaryCodec<Vec<f32>>);

impl EvalCodec for Bitsliced {
    fn describe(&self) -> String {
        "binary::BinaryCodec + BitslicedScorer (4-bit query)".into()
    }
    fn dim(&self) -> usize {
        Codec::dim(&self.0)
    }
    fn code_len(&self) -> usize {
        Codec::code_len(&self.0)
    }
    fn bits_per_dim(&self) -> f64 {
        Codec::bits_per_dim(&self.0)
    }
    fn estimator(&self) -> Option<Estimator> {
        Some(Score::estimator(&vector_codecs::binary::BitslicedScorer::new(&self.0)))
    }
    fn can_decode(&self) -> bool {
        true
    }
    fn encode_batch(&self, xs: &[f32], codes: &mut [u8]) -> Result<()> {
        Codec::encode_batch(&self.0, xs, codes)
    }
    fn decode_batch(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        Decode::decode_batch(&self.0, codes, out)
    }
    fn scan(&self, q: &[f32], codes: &[u8], out: &mut [f32]) -> Result<()> {
        let scorer = vector_codecs::binary::BitslicedScorer::new(&self.0);
        let mut scratch = vec![0f32; scorer.query_scratch_len()];
        let prepared = scorer.prepare(q, &mut scratch)?;
        scorer.score_batch(&prepared, codes, out)
    }
}

// ---------------------------------------------------------------------------------------------
// Entropy-coded (src/entropy/coded.rs): a fixed-rate codec's symbols through static rANS models
// (per position), trained on the training set's codes. Bits/dim = the actual stored size of all
// base codes (payload + side bytes + block offsets; the models are not counted), round trip
// checked. Decode and scan run on the fixed-rate codes.
// ---------------------------------------------------------------------------------------------
fn rans_over(inner_name: &'static str, t: &TrainData) -> Result<Box<dyn EvalCodec>> {
    use vector_codecs::entropy::coded::EntropyCoded;
    use vector_codecs::scalar::uniform::{UniformConfig, config};
    let UniformConfig::PerDim(inner) = config(inner_name, t.dim, t.vectors)? else {
        return Err(vector_codecs::Error::InvalidParameter("rans_over needs a per-dimension codec"));
    };
    let n = t.rows();
    let mut sample = vec![0u8; n * Codec::code_len(&inner)];
    Codec::encode_batch(&inner, t.vectors, &mut sample)?;
    let coded = EntropyCoded::train(inner.clone(), &sample)?;
    Ok(Box::new(VariableRate {
        inner: Box::new(inner),
        what: "rANS (static per-position models, 4 interleaved lanes, blocks of 64)".into(),
        compressed_size: Box::new(move |codes, _n| {
            let blocks = coded.encode_codes(codes)?;
            let mut back = vec![0u8; codes.len()];
            coded.decode_codes(&blocks, &mut back)?;
            if back != codes {
                return Err(vector_codecs::Error::Corrupt("rANS round trip differs"));
            }
            Ok(blocks.stored_bytes())
        }),
    }))
}

fn entropy() -> Vec<Entry> {
    vec![
        entry("sq4+rans", "entropy", "sq4 levels entropy-coded with rANS (bits/dim measured)", true, |t| {
            rans_over("sq4", t)
        }),
        entry("sq8+rans", "entropy", "sq8 levels entropy-coded with rANS (bits/dim measured)", false, |t| {
            rans_over("sq8", t)
        }),
    ]
}

/// Every configuration, in table order.
pub fn all() -> Vec<Entry> {
    let mut v = Vec::new();
    v.extend(baseline());
    v.extend(scalar_uniform());
    v.extend(scalar_float());
    v.extend(scalar_lloyd());
    v.extend(turbo());
    v.extend(turbo_trained());
    v.extend(rabitq());
    v.extend(binary());
    v.extend(entropy());
    v
}

/// The configurations `--quick` runs.
pub fn quick() -> Vec<Entry> {
    all().into_iter().filter(|e| e.quick).collect()
}
