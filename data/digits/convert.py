#!/usr/bin/env python3
"""Convert scikit-learn's copy of the UCI handwritten digits to X.npy / y.npy (standard library only).

Usage:
    pip download scikit-learn --no-deps -d /tmp/skl
    python3 data/digits/convert.py /tmp/skl/scikit_learn-*.whl   # or a path to digits.csv.gz

The wheel holds sklearn/datasets/data/digits.csv.gz: 1,797 rows of 64 pixel counts (0..16, an
8x8 image row by row) followed by the class (0..9). Written next to this script:
    X.npy  uint8, shape (1797, 64), C order
    y.npy  uint8, shape (1797,)
Both are plain .npy files (format 1.0) that numpy and ufm read directly.
"""
import csv
import gzip
import io
import os
import struct
import sys
import zipfile

MEMBER = "sklearn/datasets/data/digits.csv.gz"


def read_rows(path):
    if path.endswith(".whl") or path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            raw = z.read(MEMBER)
    else:
        with open(path, "rb") as f:
            raw = f.read()
    text = gzip.decompress(raw).decode("ascii")
    return [[int(float(v)) for v in row] for row in csv.reader(io.StringIO(text)) if row]


def write_npy(path, shape, values):
    """A uint8 .npy, format 1.0: magic, header length, dict header padded to 64 bytes."""
    dims = "(%d,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(str(s) for s in shape)
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % dims
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(bytes(values))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = read_rows(sys.argv[1])
    if len(rows) != 1797 or any(len(r) != 65 for r in rows):
        sys.exit("expected 1797 rows of 65 values, got %d rows" % len(rows))
    here = os.path.dirname(os.path.abspath(__file__))
    pixels = [v for r in rows for v in r[:64]]
    labels = [r[64] for r in rows]
    assert all(0 <= v <= 16 for v in pixels) and all(0 <= c <= 9 for c in labels)
    write_npy(os.path.join(here, "X.npy"), (1797, 64), pixels)
    write_npy(os.path.join(here, "y.npy"), (1797,), labels)
    counts = [labels.count(c) for c in range(10)]
    print("wrote X.npy (1797, 64) and y.npy; samples per class:", counts)


if __name__ == "__main__":
    main()
