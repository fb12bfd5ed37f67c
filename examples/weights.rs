//! Weight compression on real model weights with real layer inputs (all-MiniLM-L6-v2, encoder
//! layers 0 and 5): every matrix quantized by every group codec of the crate, with and without
//! activation-aware quantization (GPTQ-style error feedback, `vector_codecs::weights`).
//!
//! For each matrix `W` (`[out, in]`, `y = W·x + b`) and in total, at every configuration:
//!
//! * **bits/weight** with everything counted: codes, per-group scales, sign bits, codebooks
//!   (once per matrix, f16), tensor scales, outlier lists;
//! * **rel. weight MSE** `‖W − Ŵ‖²_F / ‖W‖²_F`;
//! * **rel. output error** `‖(W − Ŵ)·X‖_F / ‖W·X‖_F` on real inputs `X` of that layer.
//!
//! Calibration and evaluation inputs are disjoint: windows 0 and 2 of `act-minilm-l6` (one
//! Genesis, one GPL-3 window, 256 rows) build `H = XᵀX` for the error feedback; windows 1 and 3
//! (the other 256 rows) measure the output error. The in-sample (calibration) output error is
//! written to the CSV as well.
//!
//! ```sh
//! cargo run --release --example weights -- [--data DIR | --subset] [--svg FILE] [--csv FILE] [--damp 0.1] [--quick]
//! ```
//!
//! `DIR` holds `weights-minilm-l6/` and `act-minilm-l6/` (default `$VECTOR_CODECS_DATA`, else
//! `../shared/data`). Without it (or with `--subset`) the example runs on the tiny real subset shipped in
//! `data/weights-subset/` (16 rows × 128 inputs of `L0_ffn_out` around its 175σ outlier weight,
//! with 64 rows of its real inputs), and if that is missing too it says so and exits 0.
//! Results: `examples/weights.md`.
//!
//! Methods: uniform per-group round-to-nearest (asymmetric, f16 `lo` and `Δ`, groups 32/64/128),
//! Lloyd–Max per group (Gaussian levels, f16 `μ`, `σ`), MXFP4 (4.25 bits) and NVFP4 (4.5 bits),
//! plain VQ (one k-means codebook of `d_s`-sub-vectors of `W` per matrix: a shared-codebook PQ)
//! and SSVQ (sign bits + one k-means codebook of `|W|` sub-vectors), each alone ("RTN") and with
//! error feedback ("+AA"), and PVQ (randomized Hadamard per row, groups of 32 coded as a pyramid
//! VQ direction plus a gain level, range-coded so that 2.25 and 3.25 bits are exact; with error
//! feedback in the rotated basis, `H_R = R·H·Rᵀ`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vector_codecs::io::read_fvecs;
use vector_codecs::pvq::weights::WeightConfig;
use vector_codecs::train::KMeansConfig;
use vector_codecs::transform::hadamard::RandomizedHadamard;
use vector_codecs::weights::group::{
    Fp4Group, LloydGroup, PvqGroup, SplitGroup, UniformGroup, ssvq_for_weights, vq_for_weights,
};
use vector_codecs::weights::{Feedback, GroupQuantizer, QuantizeConfig, quantize_matrix};

const MATRICES: [&str; 12] = [
    "L0_attn_q",
    "L0_attn_k",
    "L0_attn_v",
    "L0_attn_o",
    "L0_ffn_in",
    "L0_ffn_out",
    "L5_attn_q",
    "L5_attn_k",
    "L5_attn_v",
    "L5_attn_o",
    "L5_ffn_in",
    "L5_ffn_out",
];

/// Nominal rates of the summary tables; a configuration counts at rate `R` when its total bits
/// per weight are at most `R + TOL` (codebook overheads are a few thousandths).
const RATES: [f64; 7] = [2.0, 2.25, 3.0, 3.25, 4.0, 4.25, 4.5];
const TOL: f64 = 0.02;

/// Method families (columns of the summary tables, colours of the plot).
const FAMILIES: [&str; 6] = ["uniform", "lloyd", "fp4", "vq", "ssvq", "pvq"];

type Build = Box<dyn Fn(&[f32], usize) -> vector_codecs::Result<Box<dyn GroupQuantizer>>>;

struct Config {
    family: &'static str,
    name: String,
    outliers: Option<f32>,
    build: Build,
}

fn kcfg() -> KMeansConfig {
    KMeansConfig { niter: 12, ..KMeansConfig::default() }
}

fn configs(quick: bool) -> Vec<Config> {
    let mut v: Vec<Config> = Vec::new();
    let bits: &[u32] = if quick { &[2, 3] } else { &[2, 3, 4] };
    let groups: &[usize] = if quick { &[128] } else { &[32, 64, 128] };
    for &b in bits {
        for &g in groups {
            v.push(Config {
                family: "uniform",
                name: format!("int{b}-g{g}"),
                outliers: None,
                build: Box::new(move |_, _| Ok(Box::new(UniformGroup::new(b, g)?))),
            });
            v.push(Config {
                family: "lloyd",
                name: format!("lloyd{b}-g{g}"),
                outliers: None,
                build: Box::new(move |_, _| Ok(Box::new(LloydGroup::new(b, g)?))),
            });
        }
    }
    // The outlier list (weights above 20σ of the matrix kept as f16 + position).
    for (b, g) in [(2u32, 128usize), (3, 128)] {
        v.push(Config {
            family: "uniform",
            name: format!("int{b}-g{g}+ol20"),
            outliers: Some(20.0),
            build: Box::new(move |_, _| Ok(Box::new(UniformGroup::new(b, g)?))),
        });
        v.push(Config {
            family: "lloyd",
            name: format!("lloyd{b}-g{g}+ol20"),
            outliers: Some(20.0),
            build: Box::new(move |_, _| Ok(Box::new(LloydGroup::new(b, g)?))),
        });
    }
    v.push(Config {
        family: "fp4",
        name: "mxfp4".into(),
        outliers: None,
        build: Box::new(|_, _| Ok(Box::new(Fp4Group::mx()))),
    });
    v.push(Config {
        family: "fp4",
        name: "nvfp4".into(),
        outliers: None,
        build: Box::new(|w, _| Ok(Box::new(Fp4Group::nv(w.iter().fold(0f32, |a, x| a.max(x.abs())))?))),
    });
    // Plain VQ: index bits nbits/ds per weight. SSVQ: 1 + nbits/ds.
    let vq: &[(usize, u32)] =
        if quick { &[(2, 4), (2, 6)] } else { &[(2, 4), (4, 8), (4, 9), (2, 5), (2, 6), (3, 9), (2, 7), (2, 8)] };
    for &(ds, nb) in vq {
        v.push(Config {
            family: "vq",
            name: format!("vq{ds}x{nb}"),
            outliers: None,
            build: Box::new(move |w, cols| Ok(Box::new(vq_for_weights(w, cols, ds, nb, &kcfg())?))),
        });
    }
    // Outlier lists on VQ and SSVQ too, so that the two compare with and without them.
    let ol: &[(usize, u32)] = if quick { &[] } else { &[(2, 4), (4, 8), (3, 9)] };
    for &(ds, nb) in ol {
        v.push(Config {
            family: "vq",
            name: format!("vq{ds}x{nb}+ol20"),
            outliers: Some(20.0),
            build: Box::new(move |w, cols| Ok(Box::new(vq_for_weights(w, cols, ds, nb, &kcfg())?))),
        });
    }
    let ss: &[(usize, u32)] = if quick {
        &[(4, 4), (2, 4)]
    } else {
        &[(2, 2), (4, 4), (8, 8), (4, 5), (8, 10), (2, 3), (2, 4), (4, 8), (4, 9), (2, 5), (2, 6), (4, 10)]
    };
    for &(ds, nb) in ss {
        v.push(Config {
            family: "ssvq",
            name: format!("ssvq{ds}x{nb}"),
            outliers: None,
            build: Box::new(move |w, cols| Ok(Box::new(ssvq_for_weights(w, cols, ds, nb, &kcfg())?))),
        });
    }
    let ol: &[(usize, u32)] = if quick { &[] } else { &[(4, 4), (4, 8), (4, 9)] };
    for &(ds, nb) in ol {
        v.push(Config {
            family: "ssvq",
            name: format!("ssvq{ds}x{nb}+ol20"),
            outliers: Some(20.0),
            build: Box::new(move |w, cols| Ok(Box::new(ssvq_for_weights(w, cols, ds, nb, &kcfg())?))),
        });
    }
    // PVQ (arXiv 2410.16926): randomized Hadamard per row, groups of 32, bf16 row RMS, 2 fitted
    // gain bits per group, pulses allocated so that everything fits the rate exactly. With
    // error feedback it works in the rotated basis (H_R = R·H·Rᵀ). `-nohad`: no rotation.
    let pvq: &[(f64, bool)] = if quick {
        &[(2.0, true), (3.0, true)]
    } else {
        &[(2.0, true), (2.25, true), (3.0, true), (3.25, true), (4.0, true), (2.25, false), (3.25, false)]
    };
    for &(r, had) in pvq {
        v.push(Config {
            family: "pvq",
            name: format!("pvq{r}{}", if had { "" } else { "-nohad" }),
            outliers: None,
            build: Box::new(move |w, cols| {
                let cfg = WeightConfig { hadamard: had, ..WeightConfig::new(r) };
                Ok(Box::new(PvqGroup::fit(w, w.len() / cols, cols, &cfg)?))
            }),
        });
    }
    // PVQ with Opus-style recursive splitting (`SplitCodec`): one code per row (bf16 RMS, coded
    // split angles, leaves of <= 32 weights with u128 indexes). One unit per row: no +AA rows.
    let split: &[(f64, bool)] =
        if quick { &[(3.0, false)] } else { &[(2.25, false), (3.0, false), (3.25, false), (3.0, true)] };
    for &(r, had) in split {
        v.push(Config {
            family: "pvq",
            name: format!("pvq{r}-split{}", if had { "" } else { "-nohad" }),
            outliers: None,
            build: Box::new(move |_, cols| {
                let cfg = WeightConfig { hadamard: had, ..WeightConfig::new(r) };
                Ok(Box::new(SplitGroup::new(cols, &cfg, 32, 128)?))
            }),
        });
    }
    v
}

/// The input file of a matrix.
fn act_name(m: &str) -> String {
    let (layer, kind) = m.split_at(3);
    let a = match kind {
        "attn_q" | "attn_k" | "attn_v" => "attn_in",
        "attn_o" => "attn_o_in",
        "ffn_in" => "ffn_in_in",
        _ => "ffn_out_in",
    };
    format!("{layer}{a}")
}

/// One measured (matrix, configuration, variant).
#[derive(Clone)]
struct Meas {
    matrix: String,
    config: usize,
    aa: bool,
    weights: usize,
    bits: f64,
    dw2: f64,
    w2: f64,
    out_eval: f64,
    out_cal: f64,
    secs: f64,
}

impl Meas {
    fn bpw(&self) -> f64 {
        self.bits / self.weights as f64
    }
}

/// `Σ ‖Δ·x‖²` over the input rows (f32 dots in 8 lanes, f64 accumulation).
fn out_sq(d: &[f32], rows: usize, cols: usize, x: &[f32]) -> f64 {
    let mut tot = 0f64;
    for r in 0..rows {
        let dr = &d[r * cols..(r + 1) * cols];
        for xr in x.chunks_exact(cols) {
            let mut acc = [0f32; 8];
            for (a, b) in dr.chunks_exact(8).zip(xr.chunks_exact(8)) {
                for l in 0..8 {
                    acc[l] += a[l] * b[l];
                }
            }
            let mut s: f32 = acc.iter().sum();
            for (a, b) in dr.chunks_exact(8).remainder().iter().zip(xr.chunks_exact(8).remainder()) {
                s += a * b;
            }
            tot += f64::from(s) * f64::from(s);
        }
    }
    tot
}

/// Windows 0 and 2 (calibration) and 1 and 3 (evaluation) of the input rows.
fn split(x: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let n = x.len() / cols;
    let win = (n / 4).max(1) * cols;
    let (mut cal, mut eval) = (Vec::new(), Vec::new());
    for (i, c) in x.chunks(win).enumerate() {
        if i % 2 == 0 { cal.extend_from_slice(c) } else { eval.extend_from_slice(c) }
    }
    (cal, eval)
}

fn default_base() -> PathBuf {
    if let Some(b) = std::env::var_os("VECTOR_CODECS_DATA") {
        return PathBuf::from(b);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Output error vs bits/weight: per method the lower envelope of its configurations (total over
/// the matrices); solid = round-to-nearest, dashed = activation-aware.
/// One plotted line: label, family index, activation-aware, points `(bits, error, config)`.
type Line = (String, usize, bool, Vec<(f64, f64, String)>);

fn svg(lines: &[Line], title: &str) -> String {
    const PAL: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
    let (w, h, x0, y0, pw, ph) = (900.0, 560.0, 80.0, 50.0, 620.0, 440.0);
    let pts: Vec<&(f64, f64, String)> = lines.iter().flat_map(|l| l.3.iter()).collect();
    let (bx0, bx1) = (1.75f64, 5.25f64);
    let ymin = pts.iter().map(|p| p.1).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let (ly0, ly1) = if pts.is_empty() { (-3.0, 0.0) } else { (ymin.log10().floor(), ymax.log10().ceil()) };
    let px = |b: f64| x0 + (b - bx0) / (bx1 - bx0) * pw;
    let py = |v: f64| y0 + ph - (v.max(1e-12).log10() - ly0) / (ly1 - ly0).max(1e-9) * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#, w / 2.0, esc(title));
    let _ = writeln!(s, r##"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##);
    let mut b = 2.0;
    while b <= 5.0 + 1e-9 {
        let x = px(b);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{b}</text>"##,
            y0 + ph,
            y0 + ph + 16.0
        );
        b += 0.5;
    }
    let mut e = ly0;
    while e <= ly1 + 1e-9 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powf(e);
            if v.log10() > ly1 + 1e-9 {
                continue;
            }
            let y = py(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{}"/><text x="{}" y="{:.1}" text-anchor="end">{v}</text>"##,
                x0 + pw,
                if m == 1.0 { "#ccc" } else { "#eee" },
                x0 - 6.0,
                y + 4.0
            );
        }
        e += 1.0;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">bits per weight (everything counted)</text>"#,
        x0 + pw / 2.0,
        y0 + ph + 36.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">relative output error ‖(W−Ŵ)X‖/‖WX‖ (log)</text>"#,
        x0 - 55.0,
        y0 + ph / 2.0
    );
    for (i, (name, fam, aa, p)) in lines.iter().enumerate() {
        let c = PAL[fam % PAL.len()];
        let dash = if *aa { r#" stroke-dasharray="6,4""# } else { "" };
        let path: Vec<String> = p.iter().map(|(b, v, _)| format!("{:.1},{:.1}", px(*b), py(*v))).collect();
        let _ =
            writeln!(s, r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"{dash}/>"#, path.join(" "));
        for (b, v, cfg) in p {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="{c}"><title>{} {} — {b:.3} bits/weight, {v:.4}</title></circle>"#,
                px(*b),
                py(*v),
                if *aa { "white" } else { c },
                esc(name),
                esc(cfg)
            );
        }
        let ly = y0 + 14.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            x0 + pw + 15.0,
            x0 + pw + 45.0,
            x0 + pw + 52.0,
            ly + 4.0,
            esc(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn main() {
    let mut base = default_base();
    let (mut svg_out, mut csv_out): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    let mut damp = 0.1f64;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => base = PathBuf::from(args.next().expect("--data needs a folder")),
            "--svg" => svg_out = Some(PathBuf::from(args.next().expect("--svg needs a file"))),
            "--csv" => csv_out = Some(PathBuf::from(args.next().expect("--csv needs a file"))),
            "--damp" => damp = args.next().and_then(|v| v.parse().ok()).expect("--damp needs a number"),
            "--quick" => quick = true,
            "--subset" => base = PathBuf::from("/nonexistent-use-the-shipped-subset"),
            "-h" | "--help" => {
                println!("usage: weights [--data DIR | --subset] [--svg FILE] [--csv FILE] [--damp 0.1] [--quick]");
                return;
            }
            other => {
                eprintln!("unknown argument {other}; see --help");
                std::process::exit(2);
            }
        }
    }
    let (mut wdir, mut adir) = (base.join("weights-minilm-l6"), base.join("act-minilm-l6"));
    let mut source = format!("{}", base.display());
    if !wdir.join("L0_ffn_out.fvecs").is_file() || !adir.join("L0_ffn_out_in.fvecs").is_file() {
        let sub = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/weights-subset");
        if sub.join("L0_ffn_out.fvecs").is_file() {
            println!("weights: {} not found; running on the shipped subset {}", base.display(), sub.display());
            wdir = sub.clone();
            adir = sub.clone();
            source = "data/weights-subset (shipped smoke subset)".into();
        } else {
            println!("weights: data folder {} not found (and no shipped subset); nothing to do.", base.display());
            return;
        }
    }
    if let Err(e) = run(&wdir, &adir, &source, damp, quick, svg_out.as_deref(), csv_out.as_deref()) {
        eprintln!("weights: {e}");
        std::process::exit(1);
    }
}

fn run(
    wdir: &Path,
    adir: &Path,
    source: &str,
    damp: f64,
    quick: bool,
    svg_out: Option<&Path>,
    csv_out: Option<&Path>,
) -> Result<(), String> {
    let cfgs = configs(quick);
    let mut meas: Vec<Meas> = Vec::new();
    let mut matrices: Vec<String> = Vec::new();
    let t_all = Instant::now();
    for m in MATRICES {
        let wp = wdir.join(format!("{m}.fvecs"));
        let ap = adir.join(format!("{}.fvecs", act_name(m)));
        if !wp.is_file() || !ap.is_file() {
            continue;
        }
        let w = read_fvecs(&wp).map_err(|e| format!("{}: {e:?}", wp.display()))?;
        let x = read_fvecs(&ap).map_err(|e| format!("{}: {e:?}", ap.display()))?;
        let (rows, cols) = (w.rows(), w.dim);
        if x.dim != cols {
            return Err(format!("{m}: inputs have {} dims, the matrix {cols}", x.dim));
        }
        let (cal, eval) = split(&x.data, cols);
        let t0 = Instant::now();
        let fb = Feedback::from_inputs(&cal, cols, damp).map_err(|e| format!("{m}: {e:?}"))?;
        let (y2e, y2c) = (out_sq(&w.data, rows, cols, &eval), out_sq(&w.data, rows, cols, &cal));
        let w2: f64 = w.data.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let std = (w2 / w.data.len() as f64).sqrt();
        let amax = w.data.iter().fold(0f32, |a, v| a.max(v.abs()));
        eprintln!(
            "{m}: {rows}×{cols}, absmax {amax:.3} = {:.0}σ, H⁻¹ factor in {:.1}s",
            f64::from(amax) / std,
            t0.elapsed().as_secs_f64()
        );
        matrices.push(m.to_string());
        let mut d = vec![0f32; w.data.len()];
        // Feedback in rotated bases (built once per matrix and rotation).
        let mut fb_rot: Vec<(RandomizedHadamard, Feedback)> = Vec::new();
        for (ci, c) in cfgs.iter().enumerate() {
            let t = Instant::now();
            let q = match (c.build)(&w.data, cols) {
                Ok(q) => q,
                Err(e) => {
                    eprintln!("  {:<16} skipped: {e:?}", c.name);
                    continue;
                }
            };
            let qc = QuantizeConfig { outlier_sigma: c.outliers };
            let fbq = match q.rotation() {
                None => &fb,
                Some(rot) => {
                    if !fb_rot.iter().any(|(r, _)| r == rot) {
                        let f =
                            Feedback::from_inputs_rotated(&cal, cols, damp, rot).map_err(|e| format!("{m}: {e:?}"))?;
                        fb_rot.push((*rot, f));
                    }
                    &fb_rot.iter().find(|(r, _)| r == rot).expect("just built").1
                }
            };
            for aa in [false, true] {
                // One unit per row: feedback cannot act inside it, so there is no +AA variant.
                if aa && c.name.contains("-split") {
                    continue;
                }
                let t1 = Instant::now();
                let r = quantize_matrix(&w.data, rows, cols, q.as_ref(), aa.then_some(fbq), &qc);
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("  {:<16} skipped: {e:?}", c.name);
                        continue;
                    }
                };
                for ((o, &a), &b) in d.iter_mut().zip(&w.data).zip(&r.w_hat) {
                    *o = a - b;
                }
                let dw2: f64 = d.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                let oe = (out_sq(&d, rows, cols, &eval) / y2e).sqrt();
                let oc = (out_sq(&d, rows, cols, &cal) / y2c).sqrt();
                meas.push(Meas {
                    matrix: m.to_string(),
                    config: ci,
                    aa,
                    weights: w.data.len(),
                    bits: r.bits,
                    dw2,
                    w2,
                    out_eval: oe,
                    out_cal: oc,
                    secs: t1.elapsed().as_secs_f64() + if aa { 0.0 } else { t.elapsed().as_secs_f64() },
                });
            }
        }
    }
    if matrices.is_empty() {
        return Err(format!("no matrix with its inputs found in {} / {}", wdir.display(), adir.display()));
    }
    eprintln!("all matrices in {:.0}s", t_all.elapsed().as_secs_f64());

    // Totals per (config, variant) over the matrices where it ran on every matrix.
    struct Tot {
        config: usize,
        aa: bool,
        bpw: f64,
        wmse: f64,
        out: f64,
        out_cal: f64,
    }
    let mut tots: Vec<Tot> = Vec::new();
    for ci in 0..cfgs.len() {
        for aa in [false, true] {
            let ms: Vec<&Meas> = meas.iter().filter(|x| x.config == ci && x.aa == aa).collect();
            if ms.len() != matrices.len() {
                continue;
            }
            let n: usize = ms.iter().map(|x| x.weights).sum();
            let bits: f64 = ms.iter().map(|x| x.bits).sum();
            let dw2: f64 = ms.iter().map(|x| x.dw2).sum();
            let w2: f64 = ms.iter().map(|x| x.w2).sum();
            let out = ms.iter().map(|x| x.out_eval).sum::<f64>() / ms.len() as f64;
            let out_cal = ms.iter().map(|x| x.out_cal).sum::<f64>() / ms.len() as f64;
            tots.push(Tot { config: ci, aa, bpw: bits / n as f64, wmse: dw2 / w2, out, out_cal });
        }
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Source: {source}; damping λ = {damp}·mean(diag H); calibration = windows 0, 2; evaluation = windows 1, 3.\n"
    );
    // All configurations, totals.
    let _ = writeln!(
        md,
        "### All configurations, total over {} matrices\n\nbits/weight = all bits / all weights; weight MSE pooled (Σ‖ΔW‖²/Σ‖W‖²); output error = mean over the matrices of ‖ΔW·X‖/‖W·X‖ on the evaluation rows (in-sample on the calibration rows in the last columns).\n",
        matrices.len()
    );
    let _ = writeln!(
        md,
        "| method | config | bits/weight | weight MSE RTN | weight MSE +AA | out err RTN | out err +AA | AA gain | out err RTN (cal) | out err +AA (cal) |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut order: Vec<usize> = (0..cfgs.len()).collect();
    let bpw_of = |ci: usize| tots.iter().find(|t| t.config == ci).map_or(f64::NAN, |t| t.bpw);
    order.sort_by(|&a, &b| {
        FAMILIES
            .iter()
            .position(|f| *f == cfgs[a].family)
            .cmp(&FAMILIES.iter().position(|f| *f == cfgs[b].family))
            .then(bpw_of(a).total_cmp(&bpw_of(b)))
    });
    for &ci in &order {
        let Some(r) = tots.iter().find(|t| t.config == ci && !t.aa) else {
            continue;
        };
        let Some(a) = tots.iter().find(|t| t.config == ci && t.aa) else {
            // No +AA variant (one unit per row).
            let _ = writeln!(
                md,
                "| {} | {} | {:.3} | {:.5} | — | {:.4} | — | — | {:.4} | — |",
                cfgs[ci].family, cfgs[ci].name, r.bpw, r.wmse, r.out, r.out_cal
            );
            continue;
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.3} | {:.5} | {:.5} | {:.4} | {:.4} | {:+.0}% | {:.4} | {:.4} |",
            cfgs[ci].family,
            cfgs[ci].name,
            r.bpw,
            r.wmse,
            a.wmse,
            r.out,
            a.out,
            100.0 * (a.out / r.out - 1.0),
            r.out_cal,
            a.out_cal
        );
    }

    // Summary per nominal rate: the best configuration of each method at ≤ R + TOL bits.
    let best = |fam: &str, aa: bool, r: f64, pick: &dyn Fn(&Tot) -> f64| -> Option<(f64, String, f64)> {
        tots.iter()
            .filter(|t| cfgs[t.config].family == fam && t.aa == aa && t.bpw <= r + TOL)
            .min_by(|a, b| pick(a).total_cmp(&pick(b)))
            .map(|t| (pick(t), cfgs[t.config].name.clone(), t.bpw))
    };
    for (title, pick) in [
        ("Relative output error (evaluation rows), total", &(|t: &Tot| t.out) as &dyn Fn(&Tot) -> f64),
        ("Relative weight MSE, total", &|t: &Tot| t.wmse),
    ] {
        let _ = writeln!(
            md,
            "\n### {title}: best configuration of each method at ≤ R + {TOL} bits/weight\n\nCells: value (configuration, its bits/weight); — = no configuration of that method fits.\n"
        );
        let mut head = String::from("| R |");
        let mut rule = String::from("|---|");
        for f in FAMILIES {
            let _ = write!(head, " {f} RTN | {f} +AA |");
            rule.push_str("---|---|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for r in RATES {
            let mut line = format!("| {r} |");
            for f in FAMILIES {
                for aa in [false, true] {
                    match best(f, aa, r, pick) {
                        Some((v, n, b)) => {
                            let _ = write!(line, " {v:.4} ({n}, {b:.3}) |");
                        }
                        None => line.push_str(" — |"),
                    }
                }
            }
            let _ = writeln!(md, "{line}");
        }
    }

    // Per matrix: best output error of each method at each rate.
    let _ = writeln!(
        md,
        "\n### Per matrix: relative output error (evaluation rows) of the best configuration of each method at ≤ R + {TOL} bits/weight (the matrix's own bits, codebooks included)\n"
    );
    for r in RATES {
        let _ = writeln!(md, "\n**R = {r}**\n");
        let mut head = String::from("| matrix |");
        let mut rule = String::from("|---|");
        for f in FAMILIES {
            let _ = write!(head, " {f} | {f} +AA |");
            rule.push_str("---:|---:|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for m in &matrices {
            let mut line = format!("| {m} |");
            for f in FAMILIES {
                for aa in [false, true] {
                    let b = meas
                        .iter()
                        .filter(|x| &x.matrix == m && x.aa == aa && cfgs[x.config].family == f && x.bpw() <= r + TOL)
                        .min_by(|a, b| a.out_eval.total_cmp(&b.out_eval));
                    match b {
                        Some(x) => {
                            let _ = write!(line, " {:.4} ({}) |", x.out_eval, cfgs[x.config].name);
                        }
                        None => line.push_str(" — |"),
                    }
                }
            }
            let _ = writeln!(md, "{line}");
        }
    }
    println!("{md}");

    if let Some(p) = csv_out {
        let mut c = String::from(
            "matrix,family,config,activation_aware,weights,bits_per_weight,rel_weight_mse,rel_out_err_eval,rel_out_err_cal,seconds\n",
        );
        for x in &meas {
            let _ = writeln!(
                c,
                "{},{},{},{},{},{:.5},{:.6e},{:.6e},{:.6e},{:.3}",
                x.matrix,
                cfgs[x.config].family,
                cfgs[x.config].name,
                x.aa,
                x.weights,
                x.bpw(),
                x.dw2 / x.w2,
                x.out_eval,
                x.out_cal,
                x.secs
            );
        }
        std::fs::write(p, c).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = svg_out {
        let mut lines = Vec::new();
        for (fi, f) in FAMILIES.iter().enumerate() {
            for aa in [false, true] {
                // Lower envelope: sorted by bits, keep points better than every cheaper one.
                let mut pts: Vec<(f64, f64, String)> = tots
                    .iter()
                    .filter(|t| cfgs[t.config].family == *f && t.aa == aa)
                    .map(|t| (t.bpw, t.out, cfgs[t.config].name.clone()))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut env: Vec<(f64, f64, String)> = Vec::new();
                for p in pts {
                    if env.last().is_none_or(|l| p.1 < l.1) {
                        env.push(p);
                    }
                }
                if !env.is_empty() {
                    lines.push((format!("{f}{}", if aa { " +AA" } else { "" }), fi, aa, env));
                }
            }
        }
        let title = format!("all-MiniLM-L6-v2 layers 0+5 weights: output error vs bits/weight ({source})");
        std::fs::write(p, svg(&lines, &title)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}
