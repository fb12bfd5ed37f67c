//! The evaluation harness: every codec configuration of the library's factory on a real data
//! set, one row each.
//!
//! ```sh
//! cargo run --release --example evaluate                       # the shipped embeddings (data/)
//! cargo run --release --example evaluate -- --list             # the configurations (factory table)
//! cargo run --release --example evaluate -- --codecs f32,f16 --csv out.csv --svg out.svg
//! cargo run --release --example evaluate -- --data digits      # the shipped uint8 set, L2
//! cargo run --release --example evaluate -- --metric l2 --base B.bvecs --queries Q.bvecs
//! cargo run --release --example evaluate -- --quick            # CI smoke run (seconds)
//! ```
//!
//! Codecs are built by name with `vector_codecs::factory::build(name, dim, metric, seed,
//! training rows)` and measured through `DynCodec`; the list, the `--quick` set and the
//! descriptions are the factory table's. The `f32` row is the exact reference (local to this
//! example while the factory has no `f32`).
//!
//! Columns: bits per dimension (everything stored per vector; for variable-rate codecs the
//! actual compressed size, `DynCodec::stored_bytes`), relative MSE `Σ‖x−x̂‖²/Σ‖x‖²` (empty for
//! codecs without a decoder), relative score error in the run's metric (RMS of score − exact
//! over RMS of exact, on up to 100 queries × 2,000 strided base rows; `ip_rel_rmse` in the CSV),
//! recall@10 (true top-10 ∩ returned top-10, /10, mean over queries; a returned vector whose
//! exact score ties the 10th true one counts, so ties on integer data do not depend on id order),
//! recall 10@100 (true top-10 found in the returned top-100), and single-thread encode / decode
//! throughput (vectors/s) and scan throughput (codes/s: prepare + `score_batch` over all base
//! codes + top-100 selection, per query). Throughput on the shipped subsets is cache-resident;
//! for memory-bound speed see `benches/throughput.rs`.

mod baseline;
mod codecs;
mod metrics;
mod report;

use metrics::Bench;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vector_codecs::io::{Matrix, read_bvecs, read_fvecs, read_ivecs, read_npy_f32};
use vector_codecs::metric::Metric;

/// The most base rows handed to training (a seeded sample of a larger base).
const MAX_TRAIN_ROWS: usize = 65_536;

const USAGE: &str = "\
usage: evaluate [--data wordnet|digits]
                [--base B.fvecs|.bvecs|.npy --queries Q.fvecs|.bvecs|.npy
                 [--groundtruth G.ivecs [--gt-metric ip|l2|cos]]]
                [--metric ip|l2|cos] [--codecs a,b,c] [--list] [--csv FILE] [--svg FILE]
                [--centre] [--quick] [--nq N] [--min-time SECONDS] [--seed S]

With no --base, runs on a set shipped in data/:
  --data wordnet   wordnet-minilm-l6 subset, 4,000 × 384 float embeddings (default; metric ip)
  --data digits    UCI handwritten digits (scikit-learn's copy), 1,697 × 64 uint8 images, 100
                   queries (metric l2)
  --metric M       ip, l2 or cos: codecs are built for M, the ground truth and recall are in M
                   (default: the shipped set's metric; ip for --base)
  --groundtruth G  ids of the exact neighbours (≥ 10 per query, best first) in --gt-metric
                   (default: --metric); computed exactly (f64) when absent or in another metric
  --codecs a,b,c   configurations to run (default: all; any factory name, see --list)
  --list           print the factory's configurations and exit
  --csv FILE       write the table as CSV
  --svg FILE       write recall@10 and relative MSE vs bits/dim as SVG
  --centre         subtract the base mean from base and queries first (L2 only: distances,
                   ground truth and recall are unchanged; what sign and rotation codecs need
                   on uncentred data such as uint8 images or SIFT)
  --quick          smoke run: 20 queries, the factory's quick configurations, short timings
  --nq N           use only the first N queries
  --min-time S     minimum seconds per timed measurement (default 0.3)
  --seed S         seed for codecs with randomness (default 42)";

struct Args {
    data: Option<String>,
    base: Option<PathBuf>,
    queries: Option<PathBuf>,
    groundtruth: Option<PathBuf>,
    gt_metric: Option<Metric>,
    metric: Option<Metric>,
    codecs: Option<Vec<String>>,
    list: bool,
    csv: Option<PathBuf>,
    svg: Option<PathBuf>,
    quick: bool,
    centre: bool,
    nq: Option<usize>,
    min_time: Option<f64>,
    seed: u64,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::parse(s).map_err(|_| format!("unknown metric {s:?} (ip, l2, cos)"))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: None,
        base: None,
        queries: None,
        groundtruth: None,
        gt_metric: None,
        metric: None,
        codecs: None,
        list: false,
        csv: None,
        svg: None,
        quick: false,
        centre: false,
        nq: None,
        min_time: None,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--data" => a.data = Some(val("--data")?),
            "--base" => a.base = Some(val("--base")?.into()),
            "--queries" => a.queries = Some(val("--queries")?.into()),
            "--groundtruth" => a.groundtruth = Some(val("--groundtruth")?.into()),
            "--gt-metric" => a.gt_metric = Some(parse_metric(&val("--gt-metric")?)?),
            "--metric" => a.metric = Some(parse_metric(&val("--metric")?)?),
            "--codecs" => {
                a.codecs = Some(vector_codecs::factory::split_names(&val("--codecs")?).map(String::from).collect())
            }
            "--list" => a.list = true,
            "--csv" => a.csv = Some(val("--csv")?.into()),
            "--svg" => a.svg = Some(val("--svg")?.into()),
            "--quick" => a.quick = true,
            "--centre" | "--center" => a.centre = true,
            "--nq" => a.nq = Some(val("--nq")?.parse().map_err(|_| "--nq needs a number")?),
            "--min-time" => a.min_time = Some(val("--min-time")?.parse().map_err(|_| "--min-time needs seconds")?),
            "--seed" => a.seed = val("--seed")?.parse().map_err(|_| "--seed needs an integer")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.base.is_some() != a.queries.is_some() {
        return Err("--base and --queries go together".into());
    }
    if a.groundtruth.is_some() && a.base.is_none() {
        return Err("--groundtruth needs --base and --queries".into());
    }
    if a.gt_metric.is_some() && a.groundtruth.is_none() {
        return Err("--gt-metric needs --groundtruth".into());
    }
    if a.data.is_some() && a.base.is_some() {
        return Err("--data and --base exclude each other".into());
    }
    Ok(a)
}

fn read_matrix(p: &Path) -> Result<Matrix, String> {
    let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let m = match ext.as_str() {
        "npy" => read_npy_f32(p),
        "bvecs" => read_bvecs(p),
        _ => read_fvecs(p),
    };
    m.map_err(|e| format!("{}: {e}", p.display()))
}

/// Input files and the metric their ground truth is in.
struct Input {
    base: PathBuf,
    queries: PathBuf,
    groundtruth: Option<PathBuf>,
    gt_metric: Metric,
    /// The metric used when `--metric` is not given.
    default_metric: Metric,
}

fn input(args: &Args) -> Result<Input, String> {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    if let (Some(b), Some(q)) = (&args.base, &args.queries) {
        let m = args.metric.unwrap_or_default();
        return Ok(Input {
            base: b.clone(),
            queries: q.clone(),
            groundtruth: args.groundtruth.clone(),
            gt_metric: args.gt_metric.unwrap_or(m),
            default_metric: Metric::InnerProduct,
        });
    }
    match args.data.as_deref().unwrap_or("wordnet") {
        "wordnet" => Ok(Input {
            base: shipped.join("wordnet_base.fvecs"),
            queries: shipped.join("wordnet_query.fvecs"),
            groundtruth: Some(shipped.join("wordnet_groundtruth.ivecs")),
            gt_metric: Metric::InnerProduct,
            default_metric: Metric::InnerProduct,
        }),
        "digits" => Ok(Input {
            base: shipped.join("digits_base.bvecs"),
            queries: shipped.join("digits_query.bvecs"),
            groundtruth: Some(shipped.join("digits_groundtruth_l2.ivecs")),
            gt_metric: Metric::L2,
            default_metric: Metric::L2,
        }),
        other => Err(format!("unknown --data {other:?} (wordnet, digits)")),
    }
}

/// Subtracts the mean row of `base` (accumulated in `f64`) from every row of `base` and
/// `queries`; returns the mean. Squared L2 distances between queries and base rows are unchanged
/// (up to the `f32` rounding of the subtraction, exact for small integers such as pixel counts).
fn centre(base: &mut Matrix, queries: &mut Matrix) -> Vec<f32> {
    let d = base.dim;
    let mut acc = vec![0f64; d];
    for x in base.data.chunks_exact(d) {
        for (a, &v) in acc.iter_mut().zip(x) {
            *a += f64::from(v);
        }
    }
    let n = base.rows().max(1) as f64;
    let mean: Vec<f32> = acc.iter().map(|a| (a / n) as f32).collect();
    for x in base.data.chunks_exact_mut(d).chain(queries.data.chunks_exact_mut(d)) {
        for (v, &m) in x.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
    mean
}

/// `‖mean‖² / mean ‖x‖²` of the rows (0 for centred data, near 1 when a common offset dominates)
/// and the smallest value.
fn offset_ratio(m: &Matrix) -> (f64, f32) {
    let d = m.dim;
    let n = m.rows().max(1) as f64;
    let mut mean = vec![0f64; d];
    let mut energy = 0f64;
    for x in m.data.chunks_exact(d) {
        for (a, &v) in mean.iter_mut().zip(x) {
            *a += f64::from(v);
        }
        energy += metrics::dot64(x, x);
    }
    let mm: f64 = mean.iter().map(|a| (a / n) * (a / n)).sum();
    let min = m.data.iter().copied().fold(f32::INFINITY, f32::min);
    (if energy > 0.0 { mm / (energy / n) } else { 0.0 }, min)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args = parse_args()?;
    if args.list {
        print!("{}", codecs::list());
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<codecs::Spec> = match &args.codecs {
        Some(names) => names.iter().map(|n| codecs::resolve(n)).collect::<Result<_, _>>()?,
        None if args.quick => codecs::quick(),
        None => codecs::all(),
    };

    // Data.
    let inp = input(&args)?;
    let metric = args.metric.unwrap_or(inp.default_metric);
    let mut base = read_matrix(&inp.base)?;
    let mut queries = read_matrix(&inp.queries)?;
    let d = base.dim;
    if d == 0 || base.rows() < 100 {
        return Err(format!("{}: need at least 100 base vectors", inp.base.display()));
    }
    if queries.dim != d {
        return Err(format!("queries have dimension {}, base {d}", queries.dim));
    }
    if !base.data.iter().chain(&queries.data).all(|v| v.is_finite()) {
        return Err("the data contain NaN or infinity".into());
    }
    let nq = args.nq.unwrap_or(if args.quick { 20 } else { usize::MAX });
    queries.truncate(nq);
    let nq = queries.rows();
    if nq == 0 {
        return Err("no queries".into());
    }
    let n = base.rows();
    if args.centre {
        if metric != Metric::L2 {
            return Err("--centre changes inner products and cosines: use it with --metric l2".into());
        }
        let mean = centre(&mut base, &mut queries);
        let norm = mean.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        eprintln!("centred: subtracted the base mean (norm {norm:.4}) from base and queries; L2 distances unchanged");
    }

    let gt_file = inp.groundtruth.as_ref().filter(|_| inp.gt_metric == metric);
    if let (Some(p), None) = (&inp.groundtruth, gt_file) {
        eprintln!("{} is the {} ground truth; recomputing it in {}", p.display(), inp.gt_metric.name(), metric.name());
    }
    let (gt, gt_k) = match gt_file {
        Some(p) => {
            let (k, ids) = read_ivecs(p).map_err(|e| format!("{}: {e}", p.display()))?;
            if k < 10 || ids.len() / k < nq {
                return Err(format!("{}: need ≥ 10 neighbours for each of {nq} queries", p.display()));
            }
            if ids.iter().any(|&i| i < 0 || i as usize >= n) {
                return Err(format!("{}: neighbour id out of range 0..{n}", p.display()));
            }
            (ids[..nq * k].iter().map(|&i| i as u32).collect(), k)
        }
        None => {
            eprintln!(
                "computing the exact {} top-{} for {nq} queries over {n} vectors…",
                metric.name(),
                metrics::DEPTH
            );
            (metrics::exact_topk(metric, &base.data, &queries.data, d, metrics::DEPTH), metrics::DEPTH.min(n))
        }
    };
    if gt_k < 10 {
        return Err("need at least 10 base vectors".into());
    }

    // Training data: the base, or a seeded sample of it when it is large.
    let train_owned;
    let train: &[f32] = if n > MAX_TRAIN_ROWS {
        let mut ids: Vec<usize> = (0..n).collect();
        vector_codecs::rng::Rng::new(args.seed).shuffle(&mut ids);
        ids.truncate(MAX_TRAIN_ROWS);
        ids.sort_unstable();
        train_owned = ids.iter().flat_map(|&i| base.data[i * d..][..d].iter().copied()).collect::<Vec<f32>>();
        &train_owned
    } else {
        &base.data
    };

    let min_secs = args.min_time.unwrap_or(if args.quick { 0.02 } else { 0.3 });
    let bench = Bench::new(d, metric, &base.data, &queries.data, &gt, gt_k, min_secs);
    eprintln!(
        "data: {} ({n} × {d}), {nq} queries, metric {}, ground truth top-{gt_k}; {} configurations",
        inp.base.display(),
        metric.name(),
        selected.len()
    );
    let (offset, min) = offset_ratio(&base);
    let uncentred = offset > 0.25;
    if uncentred {
        eprintln!(
            "note: the data are not centred (‖mean‖² is {:.0}% of the mean ‖x‖²; smallest value {min}). Sign \
             codes (bin*), TurboQuant's rotation codecs (tq*, tqp*) and QJL sketches (qjl*) quantize around \
             the origin and spend their resolution on the common offset: centre the data (--centre for \
             l2: subtract the mean) or use a centred configuration (*-centred, ctq*, pca*; RaBitQ centres on the \
             training mean). Rows marked ¹ below are such codecs.",
            100.0 * offset
        );
        if metric == Metric::L2 {
            eprintln!(
                "note: at l2 a codec scores −(‖q‖² − 2·ŝ + ‖x‖²) with ŝ its estimate of ⟨q, x⟩, whose error grows \
                 with ‖q‖ (the offset included) even when the codec centres x itself: --centre (distances \
                 unchanged) helps nearly every estimating codec here, not only the rows marked ¹."
            );
        }
    }

    let tty = std::io::stderr().is_terminal();
    let total = selected.len();
    let mut rows = Vec::new();
    let mut failures = 0;
    let mut skipped = 0;
    println!("{}", report::table_header(metric));
    for (i, spec) in selected.iter().enumerate() {
        let name = spec.name.as_str();
        let mut progress = |stage: &str| {
            let line = format!("[{}/{total}] {name}: {stage}", i + 1);
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else if !stage.starts_with("scan ") || stage == "scan 0/".to_string() + &nq.to_string() {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
        };
        progress("train");
        let t_train = std::time::Instant::now();
        let built = codecs::build(spec, d, metric, args.seed, train);
        let train_s = t_train.elapsed().as_secs_f64();
        let result = match built {
            Err(vector_codecs::Error::InvalidParameter(why)) if metric != Metric::InnerProduct => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                skipped += 1;
                eprintln!("[{}/{total}] {name}: skipped: not available in {} ({why})", i + 1, metric.name());
                continue;
            }
            Err(err) => Err(format!("construct: {err}")),
            Ok(codec) => {
                if !tty {
                    eprintln!("    {} (estimator: {:?})", codec.about(), codec.estimator());
                }
                bench.run(name, spec.family, codec.as_ref(), &mut progress)
            }
        };
        if tty {
            eprint!("\r\x1b[2K");
        }
        match result {
            Ok(mut row) => {
                row.uncentred = uncentred && codecs::needs_centring(name);
                row.train_s = train_s;
                println!("{}", report::table_line(&row));
                rows.push(row);
            }
            Err(err) => {
                failures += 1;
                eprintln!("[{}/{total}] {name}: FAILED: {err}", i + 1);
            }
        }
    }
    if uncentred && rows.iter().any(|r| r.uncentred) {
        println!("¹ quantizes around the origin: the data are not centred (see the note above)");
    }
    if skipped > 0 {
        eprintln!("{skipped} configurations skipped (not available in {})", metric.name());
    }

    if let Some(p) = &args.csv {
        std::fs::write(p, report::csv(&rows)).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    if let Some(p) = &args.svg {
        let file = inp.base.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let title = format!("{file}: {n} × {d}, {nq} queries, {}", metric.name());
        std::fs::write(p, report::svg(&rows, &title)).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
