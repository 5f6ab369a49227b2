#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build oneiro's training datasets from Debian packages.

usage: /usr/bin/python3 models/data/build.py [OUT] [--only NAME[,NAME]] [--jobs N] [--real DIR]

OUT defaults to build/data. Writes OUT/<dataset>/<dataset>.csv with columns
path,label,split,source (path relative to the CSV) and the WAV clips (16 kHz,
mono, 16 bit) under OUT/<dataset>/<split>/<label>/. Work in progress lives in
OUT/_work (a pool of clips plus one manifest per unit of work); finished units
are skipped on the next run, so the build is idempotent and resumable.
Packages are installed by build.sh, not here.

The real recordings (real.py) come from --real DIR, else $ONEIRO_REAL_DATA,
else ../shared/data/real beside the repository when it exists; without them
the datasets are built from Debian packages only (and the log says so).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common as C  # noqa: E402
import real as R  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="build/data")
    ap.add_argument("--only", default="sound-categories,styles,interestingness")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--real", default=None,
                    help="the real-recordings folder (default: $%s, else ../shared/data/real "
                         "beside the repository, if there)" % R.ENV)
    a = ap.parse_args()
    R.ROOT, note, fatal = R.find_root(a.real)
    C.log(note)
    if fatal:
        sys.exit(2)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    only = a.only.split(",")
    t0 = time.time()
    reports = []

    import sound_categories as SC
    import styles as ST
    import interestingness as IN

    csv_rows = {}
    for mod in (SC, ST):
        if mod.DATASET not in only and not ("interestingness" in only):
            continue
        t = time.time()
        units = mod.units()
        C.log("[%s] %d units" % (mod.DATASET, len(units)))
        results = C.run_units(out, units, a.jobs)
        rows = mod.select(results)
        csv_rows[mod.DATASET] = C.materialise(out, mod.DATASET, rows)
        rep = C.summary(mod.DATASET, csv_rows[mod.DATASET], mod.LABELS)
        C.log(rep)
        C.log("[%s] done in %.0f s" % (mod.DATASET, time.time() - t))
        if mod.DATASET in only:
            reports.append(rep)

    if "interestingness" in only:
        t = time.time()
        units = IN.units(out, csv_rows)
        C.log("[%s] %d units" % (IN.DATASET, len(units)))
        results = C.run_units(out, units, a.jobs)
        rows = IN.select(out, results, csv_rows)
        rr = C.materialise(out, IN.DATASET, rows)
        rep = C.summary(IN.DATASET, rr, IN.LABELS)
        C.log(rep)
        C.log("[%s] done in %.0f s" % (IN.DATASET, time.time() - t))
        reports.append(rep)

    C.log("\n===== summary (%s) =====" % out)
    for rep in reports:
        C.log(rep)
    def disk(dirs):
        seen, size = set(), 0
        for d in dirs:
            for root, _d, files in os.walk(d):
                for fn in files:
                    st = os.stat(os.path.join(root, fn))
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        size += st.st_size
        return size
    C.log("on disk: datasets %.0f MB (hard-linked clips counted once), with the work pool"
          " %.0f MB" % (disk([os.path.join(out, d) for d in only]) / 1e6,
                        disk([os.path.join(out, d) for d in only] + [os.path.join(out, "_work")]) / 1e6))
    C.log("total time %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
