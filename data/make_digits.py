#!/usr/bin/env python3
"""Derives the shipped uint8 L2 set (data/digits_*) from scikit-learn's copy of the UCI
"Optical Recognition of Handwritten Digits" test set (sklearn/datasets/data/digits.csv.gz:
1,797 real 8x8 handwritten-digit images, pixel counts 0..16, one image per line followed by
its label).

Standard library only; deterministic (no randomness): byte-identical output on every run.

    pip download --no-deps scikit-learn==1.9.1 -d /tmp/skl
    python3 data/make_digits.py /tmp/skl/scikit_learn-1.9.1-*.whl data

The first argument is the wheel (or the extracted digits.csv.gz itself).

Split: image i (0-based, file order) is a query when i % 18 == 0 (100 queries), otherwise it
goes to the base (1,697 vectors), in file order. Labels are dropped.
Ground truth: for each query the 100 base rows of smallest squared L2 distance (exact integer
arithmetic), ties broken by the lower row number.
"""
import gzip
import struct
import sys
import zipfile
from pathlib import Path

MEMBER = "sklearn/datasets/data/digits.csv.gz"
DIM = 64
K = 100


def load(src: Path) -> list[list[int]]:
    if src.suffix == ".whl":
        with zipfile.ZipFile(src) as z:
            raw = gzip.decompress(z.read(MEMBER))
    else:
        raw = gzip.decompress(src.read_bytes())
    rows = []
    for line in raw.decode("ascii").splitlines():
        vals = [int(float(v)) for v in line.split(",")]
        assert len(vals) == DIM + 1, "expected 64 pixels and a label per line"
        px = vals[:DIM]
        assert all(0 <= v <= 16 for v in px)
        rows.append(px)
    assert len(rows) == 1797
    return rows


def bvecs(rows: list[list[int]]) -> bytes:
    return b"".join(struct.pack("<i", DIM) + bytes(r) for r in rows)


def ivecs(rows: list[list[int]]) -> bytes:
    return b"".join(struct.pack("<i", len(r)) + struct.pack(f"<{len(r)}i", *r) for r in rows)


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    rows = load(src)
    queries = [r for i, r in enumerate(rows) if i % 18 == 0]
    base = [r for i, r in enumerate(rows) if i % 18 != 0]
    gt = []
    for q in queries:
        d = [(sum((a - b) ** 2 for a, b in zip(q, x)), j) for j, x in enumerate(base)]
        d.sort()
        gt.append([j for _, j in d[:K]])
    out.mkdir(parents=True, exist_ok=True)
    (out / "digits_base.bvecs").write_bytes(bvecs(base))
    (out / "digits_query.bvecs").write_bytes(bvecs(queries))
    (out / "digits_groundtruth_l2.ivecs").write_bytes(ivecs(gt))
    print(f"base {len(base)} x {DIM}, queries {len(queries)}, ground truth top-{K} (L2)")


if __name__ == "__main__":
    main()
