#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""resplit.py IN.csv OUT.csv [SEED] -- the same clips with another split by
source, for the listener model (oneiro render --judge): per class, whole
sources chosen by a seeded hash are held out until about a fifth of the
class's clips are, preferring sources the original split trained on, so
the listener is judged on (and the dreaming model trained on) other
sources than the dreaming model's held-out ones. OUT is written beside IN
(paths stay relative to it)."""
import csv
import sys
import zlib
from collections import defaultdict


def main():
    src, dst = sys.argv[1], sys.argv[2]
    seed = sys.argv[3] if len(sys.argv) > 3 else "listener"
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    count = defaultdict(int)           # (label, source) -> clips
    was_val = defaultdict(bool)        # (label, source) -> held out originally
    total = defaultdict(int)
    for r in rows:
        k = (r["label"], r["source"])
        count[k] += 1
        total[r["label"]] += 1
        was_val[k] |= r["split"] == "val"
    val = set()
    for label in sorted(total):
        keys = sorted((k for k in count if k[0] == label),
                      key=lambda k: (was_val[k], zlib.crc32((seed + k[1]).encode())))
        held = 0
        for k in keys:
            # at most a fifth of the class, and never all of one class
            if held >= 0.2 * total[label] or held + count[k] > 0.35 * total[label]:
                continue
            val.add(k)
            held += count[k]
    with open(dst, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label", "split", "source"])
        for r in rows:
            split = "val" if (r["label"], r["source"]) in val else "train"
            w.writerow([r["path"], r["label"], split, r["source"]])
    n_val = sum(1 for r in rows if (r["label"], r["source"]) in val)
    print("%s: %d clips, %d held out (%d sources)" % (dst, len(rows), n_val, len(val)))


if __name__ == "__main__":
    main()
