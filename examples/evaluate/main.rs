//! The evaluation harness: every codec configuration on a real embedding set, one row each.
//!
//! ```sh
//! cargo run --release --example evaluate                       # the shipped subset (data/)
//! cargo run --release --example evaluate -- --list             # the configurations
//! cargo run --release --example evaluate -- --codecs f32,sq8 --csv out.csv --svg out.svg
//! cargo run --release --example evaluate -- --base B.fvecs --queries Q.fvecs [--groundtruth G.ivecs]
//! cargo run --release --example evaluate -- --quick            # CI smoke run (seconds)
//! ```
//!
//! Columns: bits per dimension (everything stored per vector; for variable-rate codecs the
//! actual compressed size), relative MSE `Σ‖x−x̂‖²/Σ‖x‖²` (empty for codecs without a decoder),
//! relative inner-product error (RMS of score − ⟨q,x⟩ over RMS of ⟨q,x⟩, on up to 100 queries ×
//! 2,000 strided base rows), recall@10 (true top-10 ∩ returned top-10, /10, mean over queries),
//! recall 10@100 (true top-10 found in the returned top-100), and single-thread encode / decode
//! throughput (vectors/s) and scan throughput (codes/s: prepare + `score_batch` over all base
//! codes + top-100 selection, per query). Throughput on the shipped 4,000-vector subset is
//! cache-resident; for memory-bound speed see `examples/throughput.rs`.

mod adapter;
mod baseline;
mod metrics;
mod registry;
mod report;

use adapter::TrainData;
use metrics::Bench;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vector_codecs::io::{Matrix, read_fvecs, read_ivecs, read_npy_f32};

const USAGE: &str = "\
usage: evaluate [--base B.fvecs|.npy --queries Q.fvecs|.npy [--groundtruth G.ivecs]]
                [--codecs a,b,c] [--list] [--csv FILE] [--svg FILE] [--quick] [--nq N]
                [--min-time SECONDS] [--seed S]

With no --base, runs on the subset shipped in data/ (wordnet-minilm-l6, 4,000 × 384).
  --codecs a,b,c   configurations to run (default: all; see --list)
  --list           print every configuration and exit
  --csv FILE       write the table as CSV
  --svg FILE       write recall@10 and relative MSE vs bits/dim as SVG
  --quick          smoke run: 20 queries, the quick configurations, short timings
  --nq N           use only the first N queries
  --min-time S     minimum seconds per timed measurement (default 0.3)
  --seed S         seed for codecs with randomness (default 42)";

struct Args {
    base: Option<PathBuf>,
    queries: Option<PathBuf>,
    groundtruth: Option<PathBuf>,
    codecs: Option<Vec<String>>,
    list: bool,
    csv: Option<PathBuf>,
    svg: Option<PathBuf>,
    quick: bool,
    nq: Option<usize>,
    min_time: Option<f64>,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        base: None,
        queries: None,
        groundtruth: None,
        codecs: None,
        list: false,
        csv: None,
        svg: None,
        quick: false,
        nq: None,
        min_time: None,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--base" => a.base = Some(val("--base")?.into()),
            "--queries" => a.queries = Some(val("--queries")?.into()),
            "--groundtruth" => a.groundtruth = Some(val("--groundtruth")?.into()),
            "--codecs" => {
                a.codecs = Some(val("--codecs")?.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
            }
            "--list" => a.list = true,
            "--csv" => a.csv = Some(val("--csv")?.into()),
            "--svg" => a.svg = Some(val("--svg")?.into()),
            "--quick" => a.quick = true,
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
    Ok(a)
}

fn read_matrix(p: &Path) -> Result<Matrix, String> {
    let m = if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy")) { read_npy_f32(p) } else { read_fvecs(p) };
    m.map_err(|e| format!("{}: {e}", p.display()))
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
    let entries = registry::all();
    if args.list {
        println!("{:<18} {:<15} {:<6} about", "name", "family", "quick");
        for e in &entries {
            println!("{:<18} {:<15} {:<6} {}", e.name, e.family, if e.quick { "yes" } else { "" }, e.about);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<registry::Entry> = match &args.codecs {
        Some(names) => {
            let mut out = Vec::new();
            let mut pool = entries;
            for n in names {
                let i = pool.iter().position(|e| e.name == n).ok_or_else(|| {
                    format!(
                        "unknown codec {n:?}; known: {}",
                        registry::all().iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
                    )
                })?;
                out.push(pool.remove(i));
            }
            out
        }
        None if args.quick => registry::quick(),
        None => entries,
    };

    // Data.
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let (base_p, query_p, gt_p) = match (&args.base, &args.queries) {
        (Some(b), Some(q)) => (b.clone(), q.clone(), args.groundtruth.clone()),
        _ => (
            shipped.join("wordnet_base.fvecs"),
            shipped.join("wordnet_query.fvecs"),
            Some(shipped.join("wordnet_groundtruth.ivecs")),
        ),
    };
    let base = read_matrix(&base_p)?;
    let mut queries = read_matrix(&query_p)?;
    let d = base.dim;
    if d == 0 || base.rows() < 100 {
        return Err(format!("{}: need at least 100 base vectors", base_p.display()));
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

    let (gt, gt_k) = match gt_p {
        Some(p) => {
            let (k, ids) = read_ivecs(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            if k < 10 || ids.len() / k < nq {
                return Err(format!("{}: need ≥ 10 neighbours for each of {nq} queries", p.display()));
            }
            if ids.iter().any(|&i| i < 0 || i as usize >= n) {
                return Err(format!("{}: neighbour id out of range 0..{n}", p.display()));
            }
            (ids[..nq * k].iter().map(|&i| i as u32).collect(), k)
        }
        None => {
            eprintln!("computing exact top-{} for {nq} queries over {n} vectors…", metrics::DEPTH);
            (metrics::exact_topk(&base.data, &queries.data, d, metrics::DEPTH), metrics::DEPTH.min(n))
        }
    };

    // Training data: the base, or a seeded sample of it when it is large.
    let train_owned;
    let train_vectors: &[f32] = if n > TrainData::MAX_ROWS {
        let mut ids: Vec<usize> = (0..n).collect();
        vector_codecs::rng::Rng::new(args.seed).shuffle(&mut ids);
        ids.truncate(TrainData::MAX_ROWS);
        ids.sort_unstable();
        train_owned = ids.iter().flat_map(|&i| base.data[i * d..][..d].iter().copied()).collect::<Vec<f32>>();
        &train_owned
    } else {
        &base.data
    };
    let train = TrainData { dim: d, vectors: train_vectors, seed: args.seed };

    let min_secs = args.min_time.unwrap_or(if args.quick { 0.02 } else { 0.3 });
    let bench = Bench::new(d, &base.data, &queries.data, &gt, gt_k, min_secs);
    eprintln!(
        "data: {} ({n} × {d}), {nq} queries, ground truth top-{gt_k}; {} configurations",
        base_p.display(),
        selected.len()
    );

    let tty = std::io::stderr().is_terminal();
    let total = selected.len();
    let mut rows = Vec::new();
    let mut failures = 0;
    println!("{}", report::table_header());
    for (i, e) in selected.iter().enumerate() {
        let mut progress = |stage: &str| {
            let line = format!("[{}/{total}] {}: {stage}", i + 1, e.name);
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else if !stage.starts_with("scan ") || stage == "scan 0/".to_string() + &nq.to_string() {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
        };
        progress("train");
        let result = (e.build)(&train).map_err(|err| format!("construct: {err}")).and_then(|codec| {
            if !tty {
                eprintln!("    {} (estimator: {:?})", codec.describe(), codec.estimator());
            }
            bench.run(e.name, e.family, codec.as_ref(), &mut progress)
        });
        if tty {
            eprint!("\r\x1b[2K");
        }
        match result {
            Ok(row) => {
                println!("{}", report::table_line(&row));
                rows.push(row);
            }
            Err(err) => {
                failures += 1;
                eprintln!("[{}/{total}] {}: FAILED: {err}", i + 1, e.name);
            }
        }
    }

    if let Some(p) = &args.csv {
        std::fs::write(p, report::csv(&rows)).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    if let Some(p) = &args.svg {
        let name = base_p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let title = format!("{name}: {n} × {d}, {nq} queries");
        std::fs::write(p, report::svg(&rows, &title)).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
