#!/usr/bin/env python3
"""Peer numbers for the TurboQuant / RaBitQ family, to put beside the crate's own.

Measures, on the same data and in the same run:

* recall@10 (fraction of the exact top-10 by inner product found in the returned top-10) on
  ``wordnet-minilm-l6`` (50,000 x 384 base, 1,000 queries) for
  - faiss-cpu 1.15.1 TurboQuant scalar-quantizer types (``QT_{1,2,3,4,8}bit_tqmse`` = TurboQuant-MSE,
    ``QT_{2,3,4,5}bit_tq`` = TurboQuant-prod), on the raw vectors, and for 2 and 4 bits also behind
    a seeded random rotation (``IndexPreTransform(RandomRotationMatrix)``),
  - faiss ``IndexRaBitQ`` at 1, 2, 4 and 8 bits with an 8-bit query (``qb = 8``; the float query
    ``qb = 0`` is over 50x slower in faiss) and 1-bit with the reference 4-bit query (``qb = 4``),
  - turbovec 1.1.2 ``TurboQuantIndex`` at 2 and 4 bits (plain and ``calibrate``d);
* encode throughput of faiss TurboQuant-MSE 4-bit and TurboQuant-prod 4-bit at d = 768 on 20,000
  Gaussian vectors, single thread, rotation excluded (``sa_encode`` on the index itself);
* scan throughput of faiss TurboQuant-MSE 4-bit and 2-bit (``IndexScalarQuantizer.search``, one
  query, top-10, 200,000 codes at d = 768, single thread), in GB/s of codes.

Bytes per vector are the codec's own ``code_size`` (faiss) or measured from the serialized size
(turbovec: size difference between two index sizes, so shared parameters cancel).

Usage::

    pip install faiss-cpu==1.15.1 turbovec==1.1.2 numpy
    python3 benches/peers_turbo.py [DATA_DIR] [--out results.json] [--csv results.csv]

DATA_DIR defaults to ../shared/data/wordnet-minilm-l6. Runs in about four minutes on 2 cores.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover
    sys.exit("faiss-cpu is missing: pip install faiss-cpu==1.15.1")
try:
    import turbovec
except ImportError:  # pragma: no cover
    turbovec = None


def read_fvecs(path):
    raw = np.fromfile(path, dtype="<i4")
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view("<f4").copy()


def read_ivecs(path):
    raw = np.fromfile(path, dtype="<i4")
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].copy()


def recall_at_10(found, gt):
    hits = 0
    for f, g in zip(found, gt):
        hits += len(set(int(i) for i in f[:10]) & set(int(i) for i in g[:10]))
    return hits / (10.0 * len(gt))


def faiss_index_recall(index, base, queries, gt):
    t0 = time.perf_counter()
    if not index.is_trained:
        index.train(base)
    index.add(base)
    t1 = time.perf_counter()
    _, ids = index.search(queries, 10)
    t2 = time.perf_counter()
    return recall_at_10(ids, gt), t1 - t0, t2 - t1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default=os.path.join(here, "..", "..", "shared", "data", "wordnet-minilm-l6"))
    ap.add_argument("--out", default="peers_turbo.json")
    ap.add_argument("--csv", default="peers_turbo.csv")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        alt = os.path.join("..", "shared", "data", "wordnet-minilm-l6")
        if os.path.isdir(alt):
            args.data = alt
        else:
            print(f"data folder {args.data} not found; pass it as the first argument")
            return 0

    base = read_fvecs(os.path.join(args.data, "wordnet_base.fvecs"))
    queries = read_fvecs(os.path.join(args.data, "wordnet_query.fvecs"))
    gt = read_ivecs(os.path.join(args.data, "wordnet_groundtruth.ivecs"))
    n, d = base.shape
    print(f"faiss {faiss.__version__}, turbovec {getattr(turbovec, '__version__', 'missing')}, "
          f"base {n}x{d}, {len(queries)} queries")
    faiss.omp_set_num_threads(args.threads)
    rows = []

    def add(peer, codec, bytes_per_vec, recall, build_s, search_s, note=""):
        r = {
            "peer": peer,
            "codec": codec,
            "bytes_per_vector": bytes_per_vec,
            "bits_per_dim": round(8.0 * bytes_per_vec / d, 4),
            "recall_at_10": round(recall, 4),
            "build_s": round(build_s, 3),
            "search_s": round(search_s, 3),
            "note": note,
        }
        rows.append(r)
        print(f"{peer:9s} {codec:28s} {r['bits_per_dim']:7.3f} b/dim  recall@10 {r['recall_at_10']:.4f}"
              f"  build {build_s:6.2f}s search {search_s:6.2f}s {note}")

    ip = faiss.METRIC_INNER_PRODUCT
    sq = faiss.ScalarQuantizer
    tq_types = [("QT_1bit_tqmse", "tq-mse 1-bit"), ("QT_2bit_tqmse", "tq-mse 2-bit"),
                ("QT_3bit_tqmse", "tq-mse 3-bit"), ("QT_4bit_tqmse", "tq-mse 4-bit"),
                ("QT_8bit_tqmse", "tq-mse 8-bit"), ("QT_2bit_tq", "tq-prod 2-bit"),
                ("QT_3bit_tq", "tq-prod 3-bit"), ("QT_4bit_tq", "tq-prod 4-bit"), ("QT_5bit_tq", "tq-prod 5-bit")]
    for qt, name in tq_types:
        if not hasattr(sq, qt):
            print(f"faiss has no {qt}; skipped")
            continue
        # The rotated variant only where it is cheap to check that rotation changes nothing much.
        for rotated in ((False, True) if qt in ("QT_2bit_tqmse", "QT_4bit_tqmse") else (False,)):
            inner = faiss.IndexScalarQuantizer(d, getattr(sq, qt), ip)
            if rotated:
                rot = faiss.RandomRotationMatrix(d, d)
                rot.init(1234)
                index = faiss.IndexPreTransform(rot, inner)
            else:
                index = inner
            rec, b, s = faiss_index_recall(index, base, queries, gt)
            add("faiss", name + (" +rot" if rotated else ""), inner.code_size, rec, b, s, qt)

    # qb = query bits; faiss's float-query path (qb = 0) takes over a minute per configuration
    # here, so the near-float 8-bit query is used, plus the reference 4-bit query for 1-bit codes.
    for bits in (1, 2, 4, 8):
        for qb in ((8, 4) if bits == 1 else (8,)):
            try:
                index = faiss.IndexRaBitQ(d, ip, bits)
            except TypeError:
                if bits != 1:
                    continue
                index = faiss.IndexRaBitQ(d, ip)
            index.qb = qb
            rec, b, s = faiss_index_recall(index, base, queries, gt)
            add("faiss", f"rabitq {bits}-bit qb={qb}", index.code_size, rec, b, s,
                "IndexRaBitQ")

    if turbovec is not None:
        for bits in (2, 4):
            for calibrated in (False, True):
                t0 = time.perf_counter()
                idx = turbovec.TurboQuantIndex(d, bits)
                if calibrated:
                    rng = np.random.default_rng(0)
                    idx.calibrate(base[rng.choice(n, 1024, replace=False)])
                idx.add(base)
                t1 = time.perf_counter()
                _, ids = idx.search(queries, 10)
                t2 = time.perf_counter()
                # Per-vector bytes: serialized size difference between n and n/2 vectors.
                half = turbovec.TurboQuantIndex(d, bits)
                if calibrated:
                    half.calibrate(base[rng.choice(n, 1024, replace=False)])
                half.add(base[: n // 2])
                per_vec = (len(idx.to_bytes()) - len(half.to_bytes())) / (n - n // 2)
                add("turbovec", f"turboquant {bits}-bit" + (" calibrated" if calibrated else ""), per_vec,
                    recall_at_10(ids, gt), t1 - t0, t2 - t1, "TurboQuantIndex")
    else:
        print("turbovec missing: pip install turbovec==1.1.2")

    # Encode throughput, d = 768, single thread, rotation excluded.
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)
    g = rng.standard_normal((20000, 768)).astype("float32")
    g *= rng.uniform(0.5, 2.0, size=(20000, 1)).astype("float32")
    enc = {}
    for qt in ("QT_4bit_tqmse", "QT_4bit_tq"):
        index = faiss.IndexScalarQuantizer(768, getattr(sq, qt), ip)
        index.train(g[:2000])
        index.sa_encode(g[:1000])
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            index.sa_encode(g)
            best = max(best, len(g) / (time.perf_counter() - t0))
        enc[qt] = best
        print(f"faiss {qt} encode d=768, 1 thread: {best / 1e3:.1f} k vec/s")

    # Scan throughput, d = 768, single thread: one query at a time, top-10 by inner product over
    # 200,000 codes (77 MB at 4 bits, beyond the last-level cache), GB/s of codes.
    scan = {}
    nscan = 200_000
    big = np.concatenate([g] * (nscan // len(g)))
    for qt in ("QT_4bit_tqmse", "QT_2bit_tqmse"):
        index = faiss.IndexScalarQuantizer(768, getattr(sq, qt), ip)
        index.train(g[:2000])
        index.add(big)
        code_bytes = index.sa_code_size() * index.ntotal
        best = 0.0
        for r in range(5):
            t0 = time.perf_counter()
            index.search(g[r:r + 1], 10)
            best = max(best, code_bytes / (time.perf_counter() - t0) / 1e9)
        scan[qt] = best
        print(f"faiss {qt} scan d=768, 1 thread: {best:.2f} GB/s of codes ({index.sa_code_size()} B/vector)")
    faiss.omp_set_num_threads(args.threads)

    out = {"data": os.path.abspath(args.data), "faiss": faiss.__version__,
           "turbovec": getattr(turbovec, "__version__", None), "recall": rows,
           "encode_vec_per_s_d768_1thread": enc, "scan_gb_per_s_d768_1thread": scan}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    with open(args.csv, "w") as f:
        f.write("peer,codec,bytes_per_vector,bits_per_dim,recall_at_10,build_s,search_s,note\n")
        for r in rows:
            f.write(f"{r['peer']},{r['codec']},{r['bytes_per_vector']},{r['bits_per_dim']},{r['recall_at_10']},"
                    f"{r['build_s']},{r['search_s']},{r['note']}\n")
        for k, v in enc.items():
            f.write(f"faiss,encode {k} d=768 1-thread,,,,,,{v:.0f} vec/s\n")
        for k, v in scan.items():
            f.write(f"faiss,scan {k} d=768 1-thread,,,,,,{v:.2f} GB/s\n")
    print(f"wrote {args.out} and {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
