//! Weight quantization: Cholesky / SPD inverse against closed forms, every group quantizer
//! equal to its codec's decode without feedback, error feedback against a naive GPTQ reference,
//! equal to round-to-nearest when `H` is diagonal, and never worse in output error on a test
//! with a known, correlated `X`; outlier lists; and (when the data is present) a real layer.

mod common;

use vector_codecs::scalar::float::{FloatCodec, FloatFormat};
use vector_codecs::scalar::uniform::{BlockUniform, ScaleFormat};
use vector_codecs::train::KMeansConfig;
use vector_codecs::train::linalg::{cholesky, cholesky_upper, spd_inverse};
use vector_codecs::weights::group::{Fp4Group, LloydGroup, UniformGroup, ssvq_for_weights, vq_for_weights};
use vector_codecs::weights::{
    Feedback, GroupQuantizer, OUTLIER_BITS, QuantizeConfig, quantize_matrix, relative_output_error, relative_weight_mse,
};
use vector_codecs::{Codec, Decode, Error};

use common::{correlated_inputs, gauss};

fn fast() -> KMeansConfig {
    KMeansConfig { niter: 8, ..KMeansConfig::default() }
}

#[test]
fn cholesky_closed_form() {
    let a = [4.0, 12.0, -16.0, 12.0, 37.0, -43.0, -16.0, -43.0, 98.0];
    let l = cholesky(&a, 3).unwrap();
    assert_eq!(l, vec![2.0, 0.0, 0.0, 6.0, 1.0, 0.0, -8.0, 5.0, 3.0]);
    let u = cholesky_upper(&a, 3).unwrap();
    assert_eq!(u, vec![2.0, 6.0, -8.0, 0.0, 1.0, 5.0, 0.0, 0.0, 3.0]);
    // A⁻¹ of this matrix: [[49.36111, -13.55556, 2.11111], [-13.55556, 3.77778, -0.55556], [2.11111, -0.55556, 0.11111]].
    let inv = spd_inverse(&a, 3).unwrap();
    let want = [
        49.0 + 13.0 / 36.0,
        -122.0 / 9.0,
        19.0 / 9.0,
        -122.0 / 9.0,
        34.0 / 9.0,
        -5.0 / 9.0,
        19.0 / 9.0,
        -5.0 / 9.0,
        1.0 / 9.0,
    ];
    for (g, w) in inv.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{g} vs {w}");
    }
    assert!(matches!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2), Err(Error::InvalidParameter(_))));
    assert!(cholesky(&[1.0, f64::NAN, f64::NAN, 1.0], 2).is_err());
    assert!(cholesky(&[1.0; 5], 2).is_err());
}

#[test]
fn spd_inverse_of_random_gram_matrix() {
    let n = 23;
    let g = gauss(40 * n, 3, 1.0);
    let mut a = vec![0f64; n * n];
    for r in g.chunks_exact(n) {
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] += f64::from(r[i]) * f64::from(r[j]);
            }
        }
    }
    let inv = spd_inverse(&a, n).unwrap();
    for i in 0..n {
        for j in 0..n {
            let s: f64 = (0..n).map(|k| a[i * n + k] * inv[k * n + j]).sum();
            assert!((s - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9);
        }
    }
    let u = cholesky_upper(&inv, n).unwrap();
    for i in 0..n {
        for j in 0..n {
            let s: f64 = (0..n).map(|k| u[k * n + i] * u[k * n + j]).sum();
            assert!((s - inv[i * n + j]).abs() < 1e-9 * (1.0 + inv[i * n + j].abs()));
        }
    }
}

/// Every quantizer of `group`, with its own bits, on a `rows × cols` matrix of scale `s`.
fn quantizers(w: &[f32], cols: usize) -> Vec<(String, Box<dyn GroupQuantizer>)> {
    let amax = w.iter().fold(0f32, |a, v| a.max(v.abs()));
    let mut v: Vec<(String, Box<dyn GroupQuantizer>)> = Vec::new();
    for (b, g) in [(2u32, 32usize), (3, 64), (4, 128)] {
        v.push((format!("uniform{b}-g{g}"), Box::new(UniformGroup::new(b, g).unwrap())));
        v.push((format!("lloyd{b}-g{g}"), Box::new(LloydGroup::new(b, g).unwrap())));
    }
    v.push(("mxfp4".into(), Box::new(Fp4Group::mx())));
    v.push(("nvfp4".into(), Box::new(Fp4Group::nv(amax).unwrap())));
    v.push(("vq4x8".into(), Box::new(vq_for_weights(w, cols, 4, 8, &fast()).unwrap())));
    v.push(("ssvq4x4".into(), Box::new(ssvq_for_weights(w, cols, 4, 4, &fast()).unwrap())));
    v.push(("ssvq2x3".into(), Box::new(ssvq_for_weights(w, cols, 2, 3, &fast()).unwrap())));
    v
}

#[test]
fn without_feedback_each_quantizer_is_its_codec() {
    let (rows, cols) = (8usize, 128usize);
    let mut w = gauss(rows * cols, 5, 0.05);
    w[77] = 0.9; // an outlier
    let cfg = QuantizeConfig::default();
    // Uniform: BlockUniform over the row with the same block and f16 scales.
    for (b, g) in [(2u32, 32usize), (3, 64), (4, 128), (8, 16)] {
        let q = quantize_matrix(&w, rows, cols, &UniformGroup::new(b, g).unwrap(), None, &cfg).unwrap();
        let c = BlockUniform::with_scales(cols, b, Some(g), false, ScaleFormat::F16).unwrap();
        let mut code = vec![0u8; c.code_len()];
        let mut y = vec![0f32; cols];
        for r in 0..rows {
            c.encode_into(&w[r * cols..(r + 1) * cols], &mut code).unwrap();
            c.decode_into(&code, &mut y).unwrap();
            assert_eq!(&q.w_hat[r * cols..(r + 1) * cols], &y[..], "uniform b{b} g{g}");
        }
        assert_eq!(q.bits, (rows * c.code_len() * 8) as f64);
    }
    // MXFP4 and NVFP4: the FloatCodec of a row (NVFP4's tensor scale = that row's absmax).
    for fmt in [FloatFormat::MxFp4, FloatFormat::NvFp4] {
        let c = FloatCodec::new(cols, fmt).unwrap();
        let mut code = vec![0u8; c.code_len()];
        let mut y = vec![0f32; cols];
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            let q: Box<dyn GroupQuantizer> = if fmt == FloatFormat::MxFp4 {
                Box::new(Fp4Group::mx())
            } else {
                Box::new(Fp4Group::nv(row.iter().fold(0f32, |a, v| a.max(v.abs()))).unwrap())
            };
            let got = quantize_matrix(row, 1, cols, q.as_ref(), None, &cfg).unwrap();
            c.encode_into(row, &mut code).unwrap();
            c.decode_into(&code, &mut y).unwrap();
            assert_eq!(got.w_hat, y, "{fmt:?}");
            assert_eq!(got.bits, (c.code_len() * 8) as f64, "{fmt:?}");
        }
    }
    // VQ and SSVQ: the codecs' own encode/decode.
    let vq = vq_for_weights(&w, cols, 4, 6, &fast()).unwrap();
    let ss = ssvq_for_weights(&w, cols, 4, 4, &fast()).unwrap();
    let qv = quantize_matrix(&w, rows, cols, &vq, None, &cfg).unwrap();
    let qs = quantize_matrix(&w, rows, cols, &ss, None, &cfg).unwrap();
    let (mut cv, mut cs) = (vec![0u8; vq.code_len()], vec![0u8; ss.code_len()]);
    let mut y = vec![0f32; cols];
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        vq.encode_into(row, &mut cv).unwrap();
        vq.decode_into(&cv, &mut y).unwrap();
        assert_eq!(&qv.w_hat[r * cols..(r + 1) * cols], &y[..]);
        ss.encode_into(row, &mut cs).unwrap();
        ss.decode_into(&cs, &mut y).unwrap();
        assert_eq!(&qs.w_hat[r * cols..(r + 1) * cols], &y[..]);
    }
    // Bits: codes + one f16 codebook.
    assert_eq!(qv.bits, (rows * cols / 4 * 6) as f64 + 16.0 * 64.0 * 4.0);
    assert_eq!(qs.bits, (rows * (cols + cols / 4 * 4)) as f64 + 16.0 * 16.0 * 4.0);
    // Lloyd: μ + σ·c with f16 μ, σ; bits b·g + 32.
    let ql = quantize_matrix(&w, rows, cols, &LloydGroup::new(3, 32).unwrap(), None, &cfg).unwrap();
    assert_eq!(ql.bits, (rows * cols / 32 * (3 * 32 + 32)) as f64);
    assert!(relative_weight_mse(&w, &ql.w_hat).unwrap() < 0.2);
}

#[test]
fn feedback_never_worse_than_rounding_on_known_x() {
    let (rows, cols, n) = (48usize, 128usize, 512usize);
    let w = gauss(rows * cols, 11, 0.05);
    let x = correlated_inputs(n, cols, 12);
    let fb = Feedback::from_inputs(&x, cols, 0.01).unwrap();
    let cfg = QuantizeConfig::default();
    for (name, q) in quantizers(&w, cols) {
        let rtn = quantize_matrix(&w, rows, cols, q.as_ref(), None, &cfg).unwrap();
        let gptq = quantize_matrix(&w, rows, cols, q.as_ref(), Some(&fb), &cfg).unwrap();
        assert_eq!(rtn.bits, gptq.bits, "{name}: same bits");
        let e0 = relative_output_error(&w, &rtn.w_hat, rows, cols, &x).unwrap();
        let e1 = relative_output_error(&w, &gptq.w_hat, rows, cols, &x).unwrap();
        assert!(e1 <= e0, "{name}: feedback {e1} vs rounding {e0}");
        // On this X the gain is large for every codec.
        assert!(e1 < 0.8 * e0, "{name}: feedback {e1} vs rounding {e0}");
    }
}

#[test]
fn diagonal_hessian_gives_round_to_nearest_exactly() {
    let (rows, cols) = (40usize, 128usize);
    let w = gauss(rows * cols, 21, 0.1);
    let mut h = vec![0f64; cols * cols];
    for i in 0..cols {
        h[i * cols + i] = 1.0 + i as f64;
    }
    let fb = Feedback::from_hessian(h, cols, 0.01).unwrap();
    let cfg = QuantizeConfig::default();
    for (name, q) in quantizers(&w, cols) {
        let a = quantize_matrix(&w, rows, cols, q.as_ref(), None, &cfg).unwrap();
        let b = quantize_matrix(&w, rows, cols, q.as_ref(), Some(&fb), &cfg).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

/// GPTQ as written in the paper, one column at a time with the explicit inverse Hessian updated
/// by Gaussian elimination (no Cholesky), on a fixed scalar grid.
fn naive_gptq(w: &[f32], rows: usize, cols: usize, h: &[f64], step: f32) -> Vec<f32> {
    let round = |v: f64| (v / f64::from(step)).round() * f64::from(step);
    let mut out = vec![0f32; w.len()];
    for r in 0..rows {
        let mut hinv = spd_inverse(h, cols).unwrap();
        let mut cur: Vec<f64> = w[r * cols..(r + 1) * cols].iter().map(|&v| f64::from(v)).collect();
        for j in 0..cols {
            let qv = round(cur[j]);
            out[r * cols + j] = qv as f32;
            let e = (cur[j] - qv) / hinv[j * cols + j];
            for k in j + 1..cols {
                cur[k] -= e * hinv[j * cols + k];
            }
            // Eliminate j: H⁻¹ ← H⁻¹ − H⁻¹[:, j] H⁻¹[j, :] / H⁻¹[j, j].
            let d = hinv[j * cols + j];
            let col: Vec<f64> = (0..cols).map(|i| hinv[i * cols + j]).collect();
            for i in 0..cols {
                for k in 0..cols {
                    hinv[i * cols + k] -= col[i] * col[k] / d;
                }
            }
        }
    }
    out
}

/// A fixed grid of step `Δ` (no per-group scale), so the naive reference is exact GPTQ.
struct Grid(f32);
impl GroupQuantizer for Grid {
    fn group_len(&self) -> usize {
        1
    }
    fn begin_group(&self, _w: &[f32], _s: &mut [f32]) -> vector_codecs::Result<f64> {
        Ok(4.0)
    }
    fn quantize_unit(&self, _s: &[f32], _p: usize, w: &[f32], out: &mut [f32]) -> vector_codecs::Result<f64> {
        out[0] = (f64::from(w[0]) / f64::from(self.0)).round() as f32 * self.0;
        Ok(0.0)
    }
}

#[test]
fn cholesky_feedback_matches_naive_gptq() {
    let (rows, cols, n) = (5usize, 24usize, 200usize);
    let w = gauss(rows * cols, 31, 0.3);
    let x = correlated_inputs(n, cols, 32);
    let mut h = vec![0f64; cols * cols];
    for r in x.chunks_exact(cols) {
        for i in 0..cols {
            for j in 0..cols {
                h[i * cols + j] += f64::from(r[i]) * f64::from(r[j]);
            }
        }
    }
    let mean = (0..cols).map(|i| h[i * cols + i]).sum::<f64>() / cols as f64;
    let mut hd = h.clone();
    for i in 0..cols {
        hd[i * cols + i] += 0.01 * mean;
    }
    let step = 0.1f32;
    let want = naive_gptq(&w, rows, cols, &hd, step);
    let fb = Feedback::from_hessian(h, cols, 0.01).unwrap();
    let got = quantize_matrix(&w, rows, cols, &Grid(step), Some(&fb), &QuantizeConfig::default()).unwrap();
    let same = got.w_hat.iter().zip(&want).filter(|(a, b)| (*a - *b).abs() < 1e-4).count();
    assert!(same >= rows * cols - 2, "{same} of {} equal", rows * cols);
    let e_naive = relative_output_error(&w, &want, rows, cols, &x).unwrap();
    let e_ours = relative_output_error(&w, &got.w_hat, rows, cols, &x).unwrap();
    assert!((e_naive - e_ours).abs() <= 0.02 * e_naive, "{e_ours} vs {e_naive}");
}

#[test]
fn outliers_are_kept_and_counted() {
    let (rows, cols) = (4usize, 64usize);
    let mut w = gauss(rows * cols, 41, 0.05);
    w[100] = 8.0;
    let q = UniformGroup::new(3, 32).unwrap();
    let plain = quantize_matrix(&w, rows, cols, &q, None, &QuantizeConfig::default()).unwrap();
    let cfg = QuantizeConfig { outlier_sigma: Some(10.0) };
    let kept = quantize_matrix(&w, rows, cols, &q, None, &cfg).unwrap();
    assert_eq!(kept.outliers, 1);
    assert_eq!(kept.w_hat[100], 8.0);
    assert_eq!(kept.bits, plain.bits + OUTLIER_BITS);
    assert!(relative_weight_mse(&w, &kept.w_hat).unwrap() < 0.2 * relative_weight_mse(&w, &plain.w_hat).unwrap());
}

#[test]
fn bad_input() {
    let q = UniformGroup::new(3, 32).unwrap();
    let cfg = QuantizeConfig::default();
    assert!(quantize_matrix(&[0.0; 60], 2, 30, &q, None, &cfg).is_err(), "group must divide cols");
    assert!(quantize_matrix(&[0.0; 63], 2, 32, &q, None, &cfg).is_err());
    let mut w = vec![0.0f32; 64];
    w[3] = f32::NAN;
    assert_eq!(quantize_matrix(&w, 2, 32, &q, None, &cfg), Err(Error::NonFinite));
    let fb = Feedback::from_inputs(&gauss(64 * 10, 1, 1.0), 64, 0.01).unwrap();
    assert!(quantize_matrix(&[0.0; 64], 2, 32, &q, Some(&fb), &cfg).is_err(), "feedback for other cols");
    assert!(Feedback::from_inputs(&[1.0; 7], 2, 0.01).is_err());
    assert!(Feedback::from_inputs(&[f32::NAN; 4], 2, 0.01).is_err());
    assert!(Feedback::from_inputs(&[1.0; 4], 2, -1.0).is_err());
    // Rank-deficient H (fewer rows than columns) is fine once damped; unused columns get 1.
    assert!(Feedback::from_inputs(&gauss(3 * 16, 2, 1.0), 16, 0.01).is_ok());
    assert!(Feedback::from_inputs(&[0.0; 32], 16, 0.0).is_ok());
}

/// On the real layer with the famous outlier (shipped subset or the shared data folder): output
/// error with feedback at 3.25 bits per weight below that of rounding.
#[test]
fn real_layer_feedback_helps() {
    // Windows 0 and 2 (one of each text) calibrate, windows 1 and 3 evaluate.
    let Some((w, cal, eval)) = common::real_layer("L5_attn_o") else { return };
    let cols = w.dim;
    let rows = w.data.len() / cols;
    let q = UniformGroup::new(3, 128).unwrap();
    let cfg = QuantizeConfig::default();
    let a = quantize_matrix(&w.data, rows, cols, &q, None, &cfg).unwrap();
    let ea = relative_output_error(&w.data, &a.w_hat, rows, cols, &eval).unwrap();
    for damp in [0.01, 0.1, 1.0] {
        let fb = Feedback::from_inputs(&cal, cols, damp).unwrap();
        let b = quantize_matrix(&w.data, rows, cols, &q, Some(&fb), &cfg).unwrap();
        let eb = relative_output_error(&w.data, &b.w_hat, rows, cols, &eval).unwrap();
        let ec = relative_output_error(&w.data, &b.w_hat, rows, cols, &cal).unwrap();
        let ed = relative_output_error(&w.data, &a.w_hat, rows, cols, &cal).unwrap();
        eprintln!("L5_attn_o 3.25 bpw damp {damp}: rounding {ea:.4} (cal {ed:.4}), feedback {eb:.4} (cal {ec:.4})");
    }
    let fb = Feedback::from_inputs(&cal, cols, 0.01).unwrap();
    let b = quantize_matrix(&w.data, rows, cols, &q, Some(&fb), &cfg).unwrap();
    let eb = relative_output_error(&w.data, &b.w_hat, rows, cols, &eval).unwrap();
    assert!(eb < ea);
}

/// The shipped real slice of `L0_ffn_out` (16 × 128 around the 175σ outlier weight, with 64 rows
/// of its real inputs): the outlier list rescues Lloyd–Max (whose Gaussian levels clip the
/// outlier) and uniform groups, and error feedback calibrated on windows 0, 2 lowers the output
/// error on windows 1, 3.
#[test]
fn shipped_subset_outlier_and_feedback() {
    let dir = common::shipped_dir().join("weights-subset");
    let w = common::read_fvecs(dir.join("L0_ffn_out.fvecs"));
    let x = common::read_fvecs(dir.join("L0_ffn_out_in.fvecs"));
    let (rows, cols) = (w.data.len() / w.dim, w.dim);
    assert_eq!((rows, cols, x.dim), (16, 128, 128));
    let amax = w.data.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert!((amax - 7.9148).abs() < 1e-3, "the outlier weight is in the slice");
    let win = 16 * cols;
    let pick = |odd: usize| -> Vec<f32> {
        x.data.chunks_exact(win).enumerate().filter(|(i, _)| i % 2 == odd).flat_map(|(_, c)| c.to_vec()).collect()
    };
    let (cal, eval) = (pick(0), pick(1));
    let fb = Feedback::from_inputs(&cal, cols, 0.1).unwrap();
    let err = |q: &dyn GroupQuantizer, fb: Option<&Feedback>, ol: Option<f32>| {
        let r = quantize_matrix(&w.data, rows, cols, q, fb, &QuantizeConfig { outlier_sigma: ol }).unwrap();
        relative_output_error(&w.data, &r.w_hat, rows, cols, &eval).unwrap()
    };
    let lloyd = LloydGroup::new(3, 128).unwrap();
    let (l0, l1) = (err(&lloyd, None, None), err(&lloyd, None, Some(20.0)));
    assert!(l0 > 0.5 && l1 < 0.2 * l0, "Lloyd–Max {l0} → with the outlier list {l1}");
    let uni = UniformGroup::new(3, 128).unwrap();
    let (u0, u1, u2) = (err(&uni, None, None), err(&uni, None, Some(20.0)), err(&uni, Some(&fb), None));
    assert!(u1 < u0 && u2 < u0, "uniform {u0}: outliers {u1}, feedback {u2}");
}
