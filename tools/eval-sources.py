#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""eval-sources.py -- how well class models know sources they never trained
on: file accuracy per held-out source, per class and overall, for several
models side by side.

    tools/eval-sources.py [--csv build/data/sound-categories/sound-categories.csv]
        [--half tune|report|all] [--real-only] [--per-source] [--out FILE]
        MODEL.onm ...

Files: the CSV's validation rows (split val), which hold out whole sources.
Sources are split in two halves by the same fixed hash as eval-dreams.py:
choose between models on one half ("tune"), report the other ("report"), so
a figure that chose a model is never the one reported. --real-only keeps the
real recordings (source real:...), the closest thing here to the recordings
from elsewhere that users bring.

A file's class is the most probable class of `oneiro score` (the mean of its
windows' probabilities, as `oneiro train` reports files). Printed per model:
accuracy over files, the mean of the per-class accuracies (every class
counts the same), the mean of the per-source accuracies (every source counts
the same), and each class's accuracy; --per-source adds one line a source.
Needs Debian's python3 (no third-party module).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import zlib


def crc(s):
    return zlib.crc32(s.encode()) & 0xFFFFFFFF


def pick(csv_path, half, real_only):
    base = os.path.dirname(os.path.abspath(csv_path))
    rows = []
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            if r["split"] != "val":
                continue
            if real_only and not r["source"].startswith("real:"):
                continue
            h = crc("half:" + r["source"]) & 1
            if half == "tune" and h != 0 or half == "report" and h != 1:
                continue
            rows.append((os.path.join(base, r["path"]), r["label"], r["source"]))
    return rows


def score(oneiro, model, paths, threads):
    out = []
    for i in range(0, len(paths), 200):  # keeps the command line short
        p = subprocess.run([oneiro, "score", "--model", model, "--json", "--threads",
                            str(threads)] + paths[i:i + 200], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            sys.exit("eval-sources: oneiro score failed: %s" % p.stderr.strip())
        out += json.loads(p.stdout)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default="build/data/sound-categories/sound-categories.csv")
    ap.add_argument("--oneiro", default="build/oneiro")
    ap.add_argument("--half", choices=["tune", "report", "all"], default="tune")
    ap.add_argument("--real-only", action="store_true")
    ap.add_argument("--per-source", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    rows = pick(a.csv, a.half, a.real_only)
    if not rows:
        sys.exit("eval-sources: no validation files in %s for the %s half" % (a.csv, a.half))
    classes = sorted({r[1] for r in rows})
    sources = sorted({r[2] for r in rows})
    print("%d files, %d sources (%s half%s), classes %s" % (
        len(rows), len(sources), a.half, ", real only" if a.real_only else "",
        " ".join(classes)))
    result = []
    for m in a.models:
        got = score(a.oneiro, m, [r[0] for r in rows], a.threads)
        right = {}
        for (path, label, src), g in zip(rows, got):
            if "error" in g:
                sys.exit("eval-sources: %s: %s" % (path, g["error"]))
            ok = g["top"] == label
            right.setdefault(("class", label), []).append(ok)
            right.setdefault(("source", src, label), []).append(ok)
        def mean(v):
            return sum(v) / len(v) if v else float("nan")
        per_class = {c: mean(right.get(("class", c), [])) for c in classes}
        per_source = {k[1:]: mean(v) for k, v in right.items() if k[0] == "source"}
        files = mean([ok for k, v in right.items() if k[0] == "class" for ok in v])
        r = dict(model=m, files=files, class_mean=mean(list(per_class.values())),
                 source_mean=mean(list(per_source.values())), per_class=per_class,
                 per_source={"%s (%s)" % k: v for k, v in per_source.items()})
        result.append(r)
        print("%-40s files %5.1f %%  class mean %5.1f %%  source mean %5.1f %%" % (
            m, 100 * files, 100 * r["class_mean"], 100 * r["source_mean"]))
        print("    " + "  ".join("%s %3.0f" % (c, 100 * per_class[c]) for c in classes))
        if a.per_source:
            for (src, lab), v in sorted(per_source.items(), key=lambda t: (t[0][1], t[0][0])):
                n = len(right[("source", src, lab)])
                print("      %-36s %-12s %4d files %5.1f %%" % (src, lab, n, 100 * v))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(csv=a.csv, half=a.half, real_only=a.real_only, models=result), f,
                      indent=1)


if __name__ == "__main__":
    main()
