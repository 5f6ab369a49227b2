#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""eval-dreams.py -- how an independent listener hears the dream, for several
dream settings side by side (issue 9's measurement, in a repeatable form).

    tools/eval-dreams.py [--csv build/data/sound-categories/sound-categories.csv]
        [--model models/default.onm] [--judge models/listener.onm]
        [--half tune|report|all] [--per-class N] [--out DIR]
        NAME="render options" ...

Clips: the dataset's held-out real recordings (split val, source real:...),
which the dreaming model never trained on, up to N per class spread over
their sources. Sources are split in two halves by a fixed hash: tune
settings on one half ("tune"), report on the other ("report"), so a figure
that chose a setting is never the one reported.

For each setting and each target class, every clip of another class is
dreamed toward it with `oneiro render --class T --judge JUDGE --json`, and
the script reports, over all (clip, target) cases:
  level      the delta's mean level re the dry sound (dB)
  own gain   the dreaming model's target log-odds gain, and the share of it
             kept with the delta delayed by 1 ms and 10 ms (shift test)
  judge      the listener's target log-odds gain for the dream and for the
             control (the delta's spectrogram with random phases), and the
             share of cases where the dream beats the control
  colour     per clip, the octave-band levels of the delta toward each
             target; the largest spread (max - min over targets) in any band,
             median over clips: whether the dream's colour follows the target
  judge 1ms  the listener's gain with the delta delayed by 1 ms (render's
             gain_1ms), and the share of cases where that beats the control
             (the control has the same magnitudes either way)
  specific   target specificity: per clip and target T, the listener's T
             log-odds in the dream toward T minus their mean in the same
             clip's dreams toward the other targets (equal level, equally
             coherent with the dry sound); the share of cases above 0 and the
             mean, as dreamed and with every delta delayed by 1 ms
A judge must be independent of what dreams: models/listener.onm for the
default model alone; models/critic.onm when the listener dreams too
(--also models/listener.onm).
Needs Debian's python3-numpy and python3-soundfile.
"""
import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import soundfile as sf


def crc(s):
    return zlib.crc32(s.encode()) & 0xFFFFFFFF


def pick_clips(csv_path, half, per_class):
    base = os.path.dirname(os.path.abspath(csv_path))
    by_class = {}
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            if r["split"] != "val" or not r["source"].startswith("real:"):
                continue
            h = crc("half:" + r["source"]) & 1
            if half == "tune" and h != 0 or half == "report" and h != 1:
                continue
            by_class.setdefault(r["label"], []).append((os.path.join(base, r["path"]), r["source"]))
    clips = []
    for label, rows in sorted(by_class.items()):
        # round robin over sources, in a fixed order
        srcs = {}
        for p, s in sorted(rows, key=lambda t: crc(t[0])):
            srcs.setdefault(s, []).append(p)
        order = sorted(srcs, key=crc)
        taken = []
        while len(taken) < per_class and any(srcs[s] for s in order):
            for s in order:
                if srcs[s] and len(taken) < per_class:
                    taken.append(srcs[s].pop(0))
        clips += [(p, label) for p in taken]
    return clips


def octave_bands(x, rate):
    """Levels (dB) of x in octave bands 62.5 Hz .. 8 kHz."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    out = []
    lo = 44.2
    while lo * 2 <= rate / 2 + 1:
        m = (f >= lo) & (f < lo * 2)
        out.append(10 * np.log10(spec[m].sum() + 1e-20))
        lo *= 2
    return np.array(out)


def score_log_odds(args, files):
    """{file: {class: log-odds}} from the judge, via `oneiro score --json`."""
    out = {}
    for i in range(0, len(files), 200):
        cmd = [args.oneiro, "score", "--json", "--model", args.judge] + files[i:i + 200]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("%s failed:\n%s" % (" ".join(cmd[:5]), r.stderr[-2000:]))
        for fr in json.loads(r.stdout):
            p = np.clip([c["probability"] for c in fr["classes"]], 1e-7, 1 - 1e-7)
            out[fr["file"]] = dict(zip([c["name"] for c in fr["classes"]], np.log(p / (1 - p))))
    return out


def write_shifted(dry, wet, rate, dst, ms):
    """dry + (wet - dry) delayed by ms milliseconds, written to dst."""
    d = int(round(ms * 1e-3 * rate))
    delta = np.zeros_like(wet)
    delta[d:] = (wet - dry)[:len(wet) - d]
    sf.write(dst, dry + delta, rate, subtype="FLOAT")


def specificity(lo, cases, key):
    """Per (clip, T): lo[dream toward T][T] minus the mean of lo[dream toward U][T]
    over the clip's other targets U."""
    by_clip = {}
    for c in cases:
        by_clip.setdefault(c["file"], {})[c["target"]] = c[key]
    s = []
    for per_t in by_clip.values():
        if len(per_t) < 2:
            continue
        for t, f in per_t.items():
            others = [lo[g][t] for u, g in per_t.items() if u != t]
            s.append(lo[f][t] - float(np.mean(others)))
    return s


def run_setting(name, opts, clips, classes, args, work):
    cases = []
    colour = {}  # clip -> {target: band levels}
    for t in classes:
        files = [p for p, lab in clips if lab != t]
        if not files:
            continue
        outdir = os.path.join(work, name, t)
        os.makedirs(outdir, exist_ok=True)
        js = os.path.join(outdir, "judge.json")
        cmd = [args.oneiro, "render", "--quiet", "--model", args.model, "--class", t,
               "--judge", args.judge, "--json", js, "--out-dir", outdir] + shlex.split(opts) + files
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("%s: %s failed:\n%s" % (name, " ".join(cmd), r.stderr[-2000:]))
        with open(js) as f:
            d = json.load(f)
        for fr in d["files"]:
            own = next(j for j in fr["judges"] if j.get("own"))
            lis = next(j for j in fr["judges"] if not j.get("own"))
            sh = fr["shift_test"]
            dry, rate = sf.read(fr["file"], dtype="float64", always_2d=True)
            wet, _ = sf.read(fr["output"], dtype="float64", always_2d=True)
            shifted = os.path.join(outdir, "shift1ms-" + os.path.basename(fr["output"]))
            write_shifted(dry, wet, rate, shifted, 1.0)
            cases.append(dict(level=fr["delta_db"], own=own["gain"], own1=sh["gain_1ms"],
                              own10=sh["gain_10ms"], judge=lis["gain"],
                              judge_ctl=lis["control_gain"], judge1=lis["gain_1ms"],
                              file=fr["file"], target=t, out=fr["output"], out1=shifted))
            colour.setdefault(fr["file"], {})[t] = octave_bands((wet - dry).mean(axis=1), rate)
    spreads = []
    for clip, per_t in colour.items():
        if len(per_t) >= 2:
            lv = np.array(list(per_t.values()))
            spreads.append(float(np.max(lv.max(axis=0) - lv.min(axis=0))))
    # every class's log-odds in each dream, as dreamed and 1 ms late (one
    # measure, oneiro score's, for both)
    lo = score_log_odds(args, sorted({c[k] for c in cases for k in ("out", "out1")}))
    spec = specificity(lo, cases, "out")
    spec1 = specificity(lo, cases, "out1")
    n = len(cases)
    mean = lambda k: float(np.mean([c[k] for c in cases])) if n else float("nan")
    share = lambda v: float(np.mean(np.array(v) > 0)) if len(v) else float("nan")
    own = mean("own")
    return dict(name=name, options=opts, cases=n, level_db=mean("level"), own_gain=own,
                kept_1ms=mean("own1") / own if own else float("nan"),
                kept_10ms=mean("own10") / own if own else float("nan"),
                judge_gain=mean("judge"), judge_control_gain=mean("judge_ctl"),
                judge_prefers=float(np.mean([c["judge"] > c["judge_ctl"] for c in cases])) if n else float("nan"),
                judge_gain_1ms=mean("judge1"),
                judge_prefers_1ms=float(np.mean([c["judge1"] > c["judge_ctl"] for c in cases])) if n else float("nan"),
                specific_share=share(spec), specific_mean=float(np.mean(spec)) if spec else float("nan"),
                specific_share_1ms=share(spec1),
                specific_mean_1ms=float(np.mean(spec1)) if spec1 else float("nan"),
                colour_spread_db=float(np.median(spreads)) if spreads else float("nan"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default="build/data/sound-categories/sound-categories.csv")
    ap.add_argument("--model", default="models/default.onm")
    ap.add_argument("--judge", default="models/listener.onm")
    ap.add_argument("--oneiro", default="build/oneiro")
    ap.add_argument("--half", choices=["tune", "report", "all"], default="tune")
    ap.add_argument("--per-class", type=int, default=3)
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("settings", nargs="+", help='NAME="render options"')
    args = ap.parse_args()
    clips = pick_clips(args.csv, args.half, args.per_class)
    classes = sorted({lab for _, lab in clips})
    print("%d clips (%s half), classes %s" % (len(clips), args.half, " ".join(classes)),
          file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for s in args.settings:
            name, _, opts = s.partition("=")
            rows.append(run_setting(name, opts, clips, classes, args, work))
            r = rows[-1]
            print("%-14s %4d cases  level %6.1f dB  own %+6.2f kept 1ms %4.0f %% 10ms %4.0f %%  "
                  "judge %+6.3f (control %+6.3f) prefers %4.0f %%  colour %4.1f dB\n%-14s "
                  "judge 1ms %+6.3f prefers %4.0f %%  specific %4.0f %% %+6.3f, 1ms %4.0f %% %+6.3f"
                  % (r["name"], r["cases"], r["level_db"], r["own_gain"], 100 * r["kept_1ms"],
                     100 * r["kept_10ms"], r["judge_gain"], r["judge_control_gain"],
                     100 * r["judge_prefers"], r["colour_spread_db"], "",
                     r["judge_gain_1ms"], 100 * r["judge_prefers_1ms"], 100 * r["specific_share"],
                     r["specific_mean"], 100 * r["specific_share_1ms"], r["specific_mean_1ms"]),
                  flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(half=args.half, model=args.model, judge=args.judge, clips=len(clips),
                           settings=rows), f, indent=1)


if __name__ == "__main__":
    main()
