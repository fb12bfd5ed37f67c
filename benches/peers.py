#!/usr/bin/env python3
"""Speed of vector-codecs against its peers, measured in the same invocation.

    pip install faiss-cpu==1.15.1 numpy
    python3 benches/peers.py [--small] [--reps 5] [--out BENCHMARKS-run.md]

Single thread everywhere (faiss.omp_set_num_threads(1)). Workloads, identical on both sides:

* encode / decode: n = 100,000 vectors of d = 768, Gaussian with a per-vector scale 2^(4u-2)
  (u uniform in [0, 1)), generated here with numpy (seed 1) and written to a temporary .npy that
  `cargo bench --bench throughput -- --data X.npy` reads, so both sides code the same
  bytes;
* scan: those n vectors' codes added 10 times (1,000,000 codes), one Gaussian query, top-10,
  reported as GB/s of codes;
* memory bandwidth: numpy sum over a 1 GiB int64 array vs `cargo bench --bench membw`.

Prints a markdown table of ratios (ours / peer; > 1 means we are faster) with machine info, and
writes it to --out when given. `--small` divides the sizes by 10 for a smoke run. Figures are
medians of --reps repetitions. Total runtime about 2-4 minutes at full size (plus the cargo build).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

D = 768
COPIES = 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_time(reps, f):
    ts = []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def workload(n):
    rng = np.random.default_rng(1)
    scale = np.exp2(4.0 * rng.random(n) - 2.0).astype(np.float32)
    x = rng.standard_normal((n, D), dtype=np.float32) * scale[:, None]
    q = np.random.default_rng(2).standard_normal((1, D), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32), q


def faiss_results(x, q, reps):
    import faiss

    faiss.omp_set_num_threads(1)
    n = x.shape[0]
    out = {"faiss_version": faiss.__version__}

    def scan(index, query):
        for _ in range(COPIES):
            index.add(x)
        index.search(query, 10)  # warm-up
        t = median_time(reps, lambda: index.search(query, 10))
        return index.ntotal * index.code_size / t / 1e9

    # SQ8 encode / decode.
    sq = faiss.ScalarQuantizer(D, faiss.ScalarQuantizer.QT_8bit)
    sq.train(x)
    codes = sq.compute_codes(x)
    t_enc = median_time(reps, lambda: sq.compute_codes(x))
    t_dec = median_time(reps, lambda: sq.decode(codes))
    out["sq8_encode_vps"] = n / t_enc
    out["sq8_decode_vps"] = n / t_dec
    out["sq8_decode_gbps_f32_out"] = n * D * 4 / t_dec / 1e9
    del codes

    for name, qt in (("sq8", faiss.ScalarQuantizer.QT_8bit), ("sq4", faiss.ScalarQuantizer.QT_4bit)):
        idx = faiss.IndexScalarQuantizer(D, qt, faiss.METRIC_INNER_PRODUCT)
        idx.train(x)
        out[f"{name}_scan_gbps"] = scan(idx, q)
        del idx

    # Sign bits, Hamming: IndexBinaryFlat with 96-byte codes.
    bits = np.packbits(x > 0, axis=1, bitorder="little")
    qb = np.packbits(q > 0, axis=1, bitorder="little")
    idx = faiss.IndexBinaryFlat(D)
    t_enc = median_time(reps, lambda: np.packbits(x > 0, axis=1, bitorder="little"))
    out["bin1_encode_vps_numpy"] = n / t_enc
    for _ in range(COPIES):
        idx.add(bits)
    idx.search(qb, 10)
    t = median_time(reps, lambda: idx.search(qb, 10))
    out["bin1_scan_gbps"] = idx.ntotal * idx.code_size / t / 1e9
    del idx

    # RaBitQ 1-bit (no query quantization), flat scan.
    idx = faiss.IndexRaBitQ(D, faiss.METRIC_INNER_PRODUCT)
    idx.train(x)
    t0 = time.perf_counter()
    idx.add(x)
    out["rabitq1_encode_vps"] = n / (time.perf_counter() - t0)
    for _ in range(COPIES - 1):
        idx.add(x)
    idx.search(q, 10)
    t = median_time(reps, lambda: idx.search(q, 10))
    out["rabitq1_scan_gbps"] = idx.ntotal * idx.code_size / t / 1e9
    out["rabitq1_code_size"] = idx.code_size
    del idx
    return out


def numpy_bandwidth(mib, reps):
    a = np.ones(mib * (1 << 20) // 8, dtype=np.int64)
    a.sum()
    rates = []
    for _ in range(max(3, reps)):
        t = time.perf_counter()
        a.sum()
        rates.append(a.nbytes / (time.perf_counter() - t) / 1e9)
    return max(rates), statistics.median(rates)


def cargo_example(name, args):
    cmd = ["cargo", "bench", "--quiet", "--bench", name, "--"] + args
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def machine_info():
    model = platform.processor() or "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.strip() or "?",
        "numpy": np.__version__,
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="sizes / 10 (smoke run)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", help="also write the markdown here")
    a = ap.parse_args()
    n = 10_000 if a.small else 100_000
    mib = 256 if a.small else 1024

    if shutil.which("cargo") is None:
        sys.exit("cargo not found")
    print("building the timing programs…", file=sys.stderr)
    subprocess.run(["cargo", "bench", "--quiet", "--no-run", "--bench", "throughput", "--bench", "membw"],
                   cwd=ROOT, check=True)

    x, q = workload(n)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npy")
        np.save(path, x)
        print("faiss…", file=sys.stderr)
        peer = faiss_results(x, q, a.reps)
        print("numpy bandwidth…", file=sys.stderr)
        np_best, np_med = numpy_bandwidth(mib, a.reps)
        print("ours: throughput…", file=sys.stderr)
        ours = cargo_example("throughput", ["--data", path, "--reps", str(a.reps)])
    print("ours: membw…", file=sys.stderr)
    bw = cargo_example("membw", ["--mib", str(mib), "--reps", str(max(3, a.reps))])
    elapsed = time.perf_counter() - t_start

    res = {r["name"]: r for r in ours["results"]}
    info = machine_info()

    def our(name, key):
        return res.get(name, {}).get(key)

    rows = []

    def row(what, unit, ours_name, ours_v, peer_name, peer_v):
        ratio = f"{ours_v / peer_v:.2f}×" if ours_v and peer_v else "—"
        ov = f"{ours_v:.3g}" if ours_v is not None else "— (not on this branch)"
        rows.append(f"| {what} | {unit} | {ours_name or '—'} | {ov} | {peer_name} | {peer_v:.3g} | {ratio} |")

    def rows_for(what, unit, names, key, peer_name, peer_v):
        found = [(nm, our(nm, key)) for nm in names if our(nm, key) is not None]
        for nm, v in found or [(None, None)]:
            row(what, unit, nm, v, peer_name, peer_v)

    rows_for("SQ8 encode", "vec/s", ["sq8"], "encode_vps", "faiss ScalarQuantizer QT_8bit", peer["sq8_encode_vps"])
    rows_for("SQ8 decode", "vec/s", ["sq8"], "decode_vps", "faiss ScalarQuantizer QT_8bit", peer["sq8_decode_vps"])
    rows_for("8-bit scan, 1 query × 1M codes, top-10", "GB/s of codes", ["sq8", "sq8-i8"],
             "scan_gbps", "faiss IndexScalarQuantizer SQ8", peer["sq8_scan_gbps"])
    rows_for("4-bit scan, 1 query × 1M codes, top-10", "GB/s of codes", ["sq4", "sq4-i8"], "scan_gbps",
             "faiss IndexScalarQuantizer SQ4", peer["sq4_scan_gbps"])
    rows_for("1-bit Hamming scan, 96-byte codes (binary::hamming_scan_topk on bin1 codes)", "GB/s of codes",
             ["bin1"], "scan_gbps", "faiss IndexBinaryFlat", peer["bin1_scan_gbps"])
    rows_for("4-bit query × 1-bit codes scan (BitslicedScorer::scan_topk on bin1 codes)", "GB/s of codes",
             ["bin1-bitsliced"], "scan_gbps", f"faiss IndexRaBitQ ({peer['rabitq1_code_size']} B codes)",
             peer["rabitq1_scan_gbps"])
    rows_for("RaBitQ 1-bit scan (ours: float query unless q; faiss: default qb = 4, quantized query)", "GB/s of codes",
             ["rabitq1-id", "rabitq1-had", "rabitq1", "rabitq1q-had"], "scan_gbps",
             f"faiss IndexRaBitQ ({peer['rabitq1_code_size']} B codes)", peer["rabitq1_scan_gbps"])
    rows_for("RaBitQ 1-bit encode (-id: no rotation, like faiss; -had: Hadamard; plain: dense Haar)", "vec/s",
             ["rabitq1-id", "rabitq1-had", "rabitq1"], "encode_vps", "faiss IndexRaBitQ.add",
             peer["rabitq1_encode_vps"])
    row("memory read bandwidth (sum, best)", "GB/s", "membw u64", bw["dram_read_u64_gbps_best"],
        f"numpy int64 sum ({mib} MiB)", np_best)
    row("memory read bandwidth (sum, median)", "GB/s", "membw u64", bw["dram_read_u64_gbps_median"],
        f"numpy int64 sum ({mib} MiB)", np_med)

    frac = []
    for name, r in res.items():
        if "scan_gbps" in r:
            frac.append(f"| {name} | {r['scan_gbps']:.3g} | {100 * r['scan_gbps'] / bw['dram_read_u64_gbps_best']:.0f}% |")

    md = [
        f"## Peers, same run ({'SMALL smoke run, ' if a.small else ''}{info['date']})",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, load average {info['load']} at the end; commit {info['commit']}; "
        f"faiss-cpu {peer['faiss_version']}, numpy {info['numpy']}; our SIMD backend {ours['backend']}. "
        f"Single thread. d = {D}, encode on {n:,} vectors, scans over {n * COPIES:,} codes, medians of {a.reps}. "
        f"Measurement took {elapsed:.0f} s.",
        "",
        "| what | unit | ours | ours value | peer | peer value | ours / peer |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Our scans as a fraction of our measured DRAM read bandwidth ({bw['dram_read_u64_gbps_best']:.3g} GB/s, "
        f"L3-resident {bw['l3_read_4mib_gbps_best']:.3g} GB/s):",
        "",
        "| ours | scan GB/s | of DRAM bandwidth |",
        "|---|---|---|",
        *frac,
        "",
        "Binary rows use the codec's own scans (`bin1`: fused Hamming top-k over `bin1` sign codes; "
        "`bin1-bitsliced`: 4-bit bit-sliced query). RaBitQ rows: `rabitq1-id` applies no rotation (the same "
        "work as faiss IndexRaBitQ, which rotates nothing), `rabitq1-had` a randomized Hadamard rotation "
        "(O(d log d)), `rabitq1` a dense Haar rotation (O(d²) per vector), `rabitq1q-had` a 4-bit quantized query.",
        "",
    ]
    text = "\n".join(md)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
