#!/usr/bin/env python3
"""Product quantization against faiss, on the same real data in the same invocation.

    pip install faiss-cpu==1.15.1 numpy
    python3 benches/peers_pq.py [--data DIR] [--specs PQ48x8,PQ96x4fs,...] [--out FILE.md]

Data: `wordnet_base.fvecs` and `wordnet_query.fvecs` from DIR (default: ../shared/data/
wordnet-minilm-l6 when it exists, else the shipped subset in data/). Inner product, top-10,
one thread on both sides (`faiss.omp_set_num_threads(1)`).

For each factory string (the crate accepts faiss's spellings) both sides build, train on the whole
base, encode the base, and scan every query to a top-10:

* faiss: `faiss.index_factory(d, spec, METRIC_INNER_PRODUCT)`, `train`, `add` (encode rate),
  `search(xq, 10)` (scan rate = n·nq / seconds, best of --reps), reconstruction MSE through
  `sa_encode`/`sa_decode` where the index supports it;
* ours: `cargo run --release --example evaluate -- --base … --queries … --metric ip --codecs …
  --csv …` (the same DynCodec path a downstream user calls; scan = the top-10 of every query
  through `scan_layout_topk_many_into`, all queries in one call as faiss's `search` gets them).

A spec ending in `-rr{R}` (ours only: fast-scan PQ whose top-k re-scores the R·k best fast-scan
candidates with the float-table ADC) is compared with faiss's plain spec (the part before `-rr`),
so its row shows what the re-rank buys over faiss's fast scan at the same code size.

Recall@10 uses one definition for both: a returned id is a hit when its exact inner product
reaches the 10th largest exact inner product of that query (ties count), as `evaluate` does.
With `--seeds 1234,1,2,…` a second table follows: recall@10 and relative MSE of every spec as
mean ± sd over those k-means seeds, both sides seeded alike (`--seed` for ours, `pq.cp.seed` for
faiss; faiss's OPQ start rotation has no seed). One seed's recall@10 moves by about ±0.002 at
1,000 queries, so a tie within that needs the seed means.

Prints a markdown table with ratios (ours / faiss; > 1 is better for recall and rates, < 1 for
MSE and training time) and the machine's memory read bandwidth (`cargo bench --bench membw`) so
that the scan rates can be read against the limit.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPECS = "PQ48x8,PQ96x4fs,OPQ48_384,PQ48,PQ96x8,PQ192x4fs,OPQ96_384,PQ96"


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)


def split_specs(s):
    """Splits a comma list where OPQ specs themselves contain one comma (`OPQ48_384,PQ48`)."""
    parts = [p for p in s.split(",") if p]
    out, i = [], 0
    while i < len(parts):
        if parts[i].startswith("OPQ") and i + 1 < len(parts):
            out.append(parts[i] + "," + parts[i + 1])
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def faiss_spec(spec):
    """The faiss spelling of one of our specs: `-rr{R}` (our exact re-rank) dropped."""
    return spec.split("-rr")[0]


def hits_at_10(xb, xq, ids):
    """Mean recall@10 with the threshold definition (see the module doc)."""
    total = 0
    for qi in range(xq.shape[0]):
        exact = xb @ xq[qi]
        t = np.partition(exact, -10)[-10]
        t = t - 1e-6 * max(abs(t), 1.0)
        got = ids[qi][:10]
        got = got[got >= 0]
        total += min(10, int((exact[got] >= t).sum()))
    return total / (10 * xq.shape[0])


def best(reps, f):
    ts = []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def set_faiss_seed(index, seed):
    """Seeds the k-means of the index's product quantizer (faiss's default is 1234); OPQ's
    own random start rotation has no seed parameter in faiss and stays as it is."""
    import faiss

    if hasattr(index, "pq"):
        index.pq.cp.seed = seed
    elif hasattr(index, "index"):
        set_faiss_seed(faiss.downcast_index(index.index), seed)


def faiss_row(spec, xb, xq, reps, seed=None):
    import faiss

    faiss.omp_set_num_threads(1)
    n, d = xb.shape
    index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
    if seed is not None:
        set_faiss_seed(index, seed)
    t = time.perf_counter()
    index.train(xb)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    index.add(xb)
    enc_vps = n / (time.perf_counter() - t)
    res = {}

    def search():
        res["ids"] = index.search(xq, 10)[1]

    t_scan = best(reps, search)
    rel_mse = float("nan")
    try:
        codes = index.sa_encode(xb)
        back = index.sa_decode(codes)
        rel_mse = float(((back - xb) ** 2).sum() / (xb.astype(np.float64) ** 2).sum())
        code_bytes = codes.shape[1]
    except Exception:  # fast-scan indexes may not implement sa_decode
        code_bytes = None
    return {
        "recall": hits_at_10(xb, xq, res["ids"]),
        "train_s": train_s,
        "encode_vps": enc_vps,
        "scan_cps": n * xq.shape[0] / t_scan,
        "rel_mse": rel_mse,
        "bytes": code_bytes,
    }


def ours_rows(specs, base, query, reps, seed=None):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ours.csv")
        cmd = ["cargo", "run", "--quiet", "--release", "--example", "evaluate", "--",
               "--base", base, "--queries", query, "--metric", "ip",
               "--codecs", ",".join(specs), "--csv", out, "--min-time", str(0.2 * reps)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return {r["codec"]: r for r in csv.DictReader(f)}


def membw(reps):
    r = subprocess.run(["cargo", "bench", "--quiet", "--bench", "membw", "--", "--mib", "1024",
                        "--reps", str(max(3, reps))], cwd=ROOT, check=True, capture_output=True, text=True)
    for line in reversed(r.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    full = os.path.join(ROOT, "..", "shared", "data", "wordnet-minilm-l6")
    ap.add_argument("--data", default=full if os.path.isdir(full) else os.path.join(ROOT, "data"))
    ap.add_argument("--specs", default=DEFAULT_SPECS)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--seeds", default="",
                    help="comma list of k-means seeds: after the main table, recall@10 and rel. MSE of every "
                         "spec as mean ± sd over these seeds on both sides (training varies with the seed; "
                         "one seed's recall moves by ±0.002 at 1,000 queries, so close calls need several)")
    a = ap.parse_args()
    specs = split_specs(a.specs)
    base = os.path.join(a.data, "wordnet_base.fvecs")
    query = os.path.join(a.data, "wordnet_query.fvecs")
    xb, xq = read_fvecs(base), read_fvecs(query)
    print(f"data {a.data}: base {xb.shape}, queries {xq.shape}", file=sys.stderr)

    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "evaluate"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "bench", "--quiet", "--no-run", "--bench", "membw"], cwd=ROOT, check=True)
    t0 = time.perf_counter()
    peer, by_faiss_spec = {}, {}
    for s in specs:
        fs = faiss_spec(s)
        if fs not in by_faiss_spec:
            print(f"faiss {fs}…", file=sys.stderr)
            by_faiss_spec[fs] = faiss_row(fs, xb, xq, a.reps)
        peer[s] = by_faiss_spec[fs]
    print("ours…", file=sys.stderr)
    ours = ours_rows(specs, base, query, a.reps)
    bw = membw(a.reps)
    elapsed = time.perf_counter() - t0

    def f(v):
        return float(v) if v not in (None, "") else float("nan")

    def ratio(x, y):
        return f"{x / y:.2f}×" if x == x and y == y and y > 0 else "—"

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    lines = [
        f"PQ against faiss {__import__('faiss').__version__} on `{os.path.basename(os.path.abspath(a.data))}` "
        f"({xb.shape[0]:,} × {xb.shape[1]}, {xq.shape[0]:,} queries, inner product, one thread), "
        f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.processor() or platform.machine()}, "
        f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {elapsed:.0f} s.",
        "",
        "| spec | bytes | recall@10 ours / faiss | rel. MSE ours / faiss | train s ours / faiss "
        "| encode vec/s ours / faiss (ratio) | scan codes/s ours / faiss (ratio) | scan GB/s ours |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        o, p = ours.get(s, {}), peer[s]
        code_bytes = f(o.get("bits_per_dim")) * xb.shape[1] / 8
        lines.append(
            f"| `{s}` | {code_bytes:.0f} | {f(o.get('recall_at_10')):.4f} / {p['recall']:.4f} "
            f"| {f(o.get('rel_mse')):.3f} / {p['rel_mse']:.3f} "
            f"| {f(o.get('train_s')):.1f} / {p['train_s']:.1f} "
            f"| {f(o.get('encode_vps')) / 1e3:.0f} k / {p['encode_vps'] / 1e3:.0f} k ({ratio(f(o.get('encode_vps')), p['encode_vps'])}) "
            f"| {f(o.get('scan_cps')) / 1e6:.1f} M / {p['scan_cps'] / 1e6:.1f} M ({ratio(f(o.get('scan_cps')), p['scan_cps'])}) "
            f"| {f(o.get('scan_cps')) * code_bytes / 1e9:.2f} |")
    if bw:
        lines += ["", f"Memory read bandwidth in the same run (`cargo bench --bench membw`): "
                      f"{bw.get('dram_read_u64_gbps_median', float('nan')):.1f} GB/s median, "
                      f"{bw.get('dram_read_u64_gbps_best', float('nan')):.1f} GB/s best."]
    seeds = [int(x) for x in a.seeds.split(",") if x]
    if seeds:
        per = {s: {"ours_r": [], "faiss_r": [], "ours_m": [], "faiss_m": []} for s in specs}
        for seed in seeds:
            print(f"seed {seed}…", file=sys.stderr)
            fr = {}
            for s in specs:
                fs = faiss_spec(s)
                if fs not in fr:
                    fr[fs] = faiss_row(fs, xb, xq, 1, seed)
                per[s]["faiss_r"].append(fr[fs]["recall"])
                per[s]["faiss_m"].append(fr[fs]["rel_mse"])
            orow = ours_rows(specs, base, query, 1, seed)
            for s in specs:
                per[s]["ours_r"].append(f(orow.get(s, {}).get("recall_at_10")))
                per[s]["ours_m"].append(f(orow.get(s, {}).get("rel_mse")))

        def ms(v):
            v = np.array(v, dtype=np.float64)
            return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"

        lines += ["", f"Over k-means seeds {', '.join(map(str, seeds))} (both sides seeded alike; "
                      "faiss's OPQ start rotation is not seedable): mean ± sd.", "",
                  "| spec | recall@10 ours | recall@10 faiss | ours − faiss | rel. MSE ours | rel. MSE faiss |",
                  "|---|---|---|---|---|---|"]
        for s in specs:
            d = np.mean(per[s]["ours_r"]) - np.mean(per[s]["faiss_r"])
            lines.append(f"| `{s}` | {ms(per[s]['ours_r'])} | {ms(per[s]['faiss_r'])} | {d:+.4f} "
                         f"| {ms(per[s]['ours_m'])} | {ms(per[s]['faiss_m'])} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
