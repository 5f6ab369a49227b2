# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the dataset builders: audio I/O through sox, renderers
(fluidsynth, timidity), clip post-processing, per-unit manifests (which make
the build idempotent), balanced selection, CSV output and summaries.

Everything is deterministic: seeds come from crc32 of stable names, file lists
are sorted, and float audio is quantised to 16 bits by rounding (no dither).
"""

import csv
import json
import os
import re
import shutil
import subprocess
import tempfile
import wave
import zlib

import numpy as np

SR = 16000
MIN_DUR = 1.1          # clips shorter than this are padded with silence
SILENT_DBFS = -45.0    # clips whose RMS is below this are dropped

SF2 = {
    "fluidr3": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "timgm6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "blackpearl": "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "redzeppelin": "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",
    "musescore": "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
}
FREEPATS_CFG = "/etc/timidity/freepats.cfg"


def log(*a):
    print(*a, flush=True)


def seed_of(*parts):
    return zlib.crc32("/".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def rng_for(*parts):
    return np.random.default_rng(seed_of(*parts))


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


# ---------------------------------------------------------------- audio I/O

def sox_read(path, in_args=(), effects=()):
    """Any file sox reads -> float32 mono at SR."""
    cmd = ["sox", "-V1", *in_args, path, "-t", "f32", "-r", str(SR), "-c", "1",
           "-", *effects]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("sox failed on %s: %s" % (path, p.stderr.decode(errors="replace")[-300:]))
    return np.frombuffer(p.stdout, dtype="<f4").astype(np.float32)


def write_wav(path, x, sr=SR):
    x = np.asarray(x, dtype=np.float64)
    q = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2")
    tmp = path + ".part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(q.tobytes())
    os.replace(tmp, path)


def read_wav(path):
    with wave.open(path, "rb") as w:
        n = w.getnframes()
        data = w.readframes(n)
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def wav_duration(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


def rms_db(x):
    if len(x) == 0:
        return -200.0
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20 * np.log10(max(r, 1e-10))


def peak_db(x):
    p = float(np.max(np.abs(x))) if len(x) else 0.0
    return 20 * np.log10(max(p, 1e-10))


def active_rms_db(x, frame=1600):
    """RMS of the loudest half of 100 ms frames: the level of the sound itself,
    not of the silence around it."""
    if len(x) < frame:
        return rms_db(x)
    n = len(x) // frame
    e = np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    e = np.sort(e)[n // 2:]
    return 10 * np.log10(max(float(np.mean(e)), 1e-20))


def _loud(x, rel_db):
    """Indices of the samples louder than rel_db below the peak."""
    thr = np.max(np.abs(x)) * 10 ** (rel_db / 20)
    return np.nonzero(np.abs(x) > thr)[0]


def trim_lead(x, rel_db=-40.0, pre=0.01):
    """Drop leading samples quieter than rel_db below the peak (keeping pre s)."""
    if len(x) == 0:
        return x
    idx = _loud(x, rel_db)
    if len(idx) == 0:
        return x[:0]
    start = max(0, idx[0] - int(pre * SR))
    return x[start:]


def trim_tail(x, rel_db=-50.0, post=0.05):
    if len(x) == 0:
        return x
    idx = _loud(x, rel_db)
    if len(idx) == 0:
        return x[:0]
    return x[: min(len(x), idx[-1] + int(post * SR))]


def finish_clip(x, rng, min_dur=MIN_DUR, level=(-18.0, -1.0), fade_in=0.005, fade_out=0.02):
    """Pad to min_dur, fade the edges, peak-normalise to a seeded random level
    in `level` dBFS (so loudness is no class cue)."""
    x = np.array(x, dtype=np.float64)
    n_min = int(round(min_dur * SR))
    if len(x) < n_min:
        x = np.concatenate([x, np.zeros(n_min - len(x))])
    fi = min(len(x), int(fade_in * SR))
    fo = min(len(x), int(fade_out * SR))
    if fi:
        x[:fi] *= np.linspace(0, 1, fi, endpoint=False)
    if fo:
        x[-fo:] *= np.linspace(1, 0, fo)
    p = np.max(np.abs(x))
    if p > 0 and level is not None:
        x *= 10 ** (rng.uniform(*level) / 20) / p
    return x


def chunks(x, max_len, min_len, max_chunks):
    """Cut x into consecutive pieces of max_len s; keep a last piece only if it
    is at least min_len s long (or if it is the only piece)."""
    L = int(round(max_len * SR))
    out = []
    pos = 0
    while pos < len(x) and len(out) < max_chunks:
        piece = x[pos: pos + L]
        if len(piece) >= int(min_len * SR) or not out:
            out.append(piece)
        pos += L
    return out


# ---------------------------------------------------------------- renderers

def _raw_to_16k(raw_path, rate, channels, enc="f32"):
    cmd = ["sox", "-V1", "-t", enc, "-r", str(rate), "-c", str(channels), raw_path,
           "-t", "f32", "-r", str(SR), "-c", "1", "-"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return np.frombuffer(p.stdout, dtype="<f4").astype(np.float32)


TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def render_fluidsynth(midi_path, sf2, gain=0.5, rate=32000):
    """Render a MIDI file with fluidsynth (reverb and chorus off) -> float mono
    16 kHz. 32 kHz synthesis: aliases of anything below 24 kHz land above the
    8 kHz that the 16 kHz output keeps."""
    with tempfile.TemporaryDirectory(prefix="oneiro-fs-", dir=TMP) as td:
        raw = os.path.join(td, "out.raw")
        cmd = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(gain),
               "-o", "synth.dynamic-sample-loading=1",
               "-r", str(rate), "-O", "float", "-T", "raw", "-F", raw, sf2, midi_path]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return _raw_to_16k(raw, rate, 2)


_NO_ASLR = None


def no_aslr_prefix():
    """timidity's output depends on memory addresses (it differs from run to
    run under address-space randomisation); `setarch -R` turns that off for
    the child, which makes its renders bit-identical. Empty if unavailable."""
    global _NO_ASLR
    if _NO_ASLR is None:
        pre = ["setarch", os.uname().machine, "-R"]
        try:
            ok = subprocess.run(pre + ["true"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode == 0
        except OSError:
            ok = False
        _NO_ASLR = pre if ok else []
    return _NO_ASLR


def render_timidity(midi_path, cfg=FREEPATS_CFG, rate=32000):
    """Render with timidity using only `cfg` (reverb, chorus off) -> float mono 16 kHz."""
    with tempfile.TemporaryDirectory(prefix="oneiro-tm-", dir=TMP) as td:
        out = os.path.join(td, "out.wav")
        cmd = no_aslr_prefix() + ["timidity", "-c", cfg, "--reverb=d", "--chorus=d", "-s", str(rate),
                                  "--output-mono", "-Ow", "-o", out, midi_path]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return sox_read(out)


def render_stk(instrument, events, voices=6, rate=32000, controls=()):
    """Render note events [(time, dur, key, vel)] with one STK instrument
    (stk-demo reading a SKINI score: physical and FM models, no samples)
    -> float mono 16 kHz. `controls` are (time, number, value) control
    changes."""
    msgs = []
    for t, dur, key, vel in events:
        msgs.append((t, 1, "NoteOn", key, vel))
        msgs.append((t + dur, 0, "NoteOff", key, 64))
    for t, num, val in controls:
        msgs.append((t, -1, "ControlChange", num, val))
    msgs.sort(key=lambda m: (m[0], m[1]))
    lines, now = [], 0.0
    for t, _, kind, a, b in msgs:
        lines.append("%s %.6f 1 %d %d" % (kind, max(0.0, t - now), a, b))
        now = max(now, t)
    with tempfile.TemporaryDirectory(prefix="oneiro-stk-", dir=TMP) as td:
        ski, out = os.path.join(td, "in.ski"), os.path.join(td, "out.wav")
        with open(ski, "w") as f:
            f.write("\n".join(lines) + "\n")
        cmd = ["stk-demo", instrument, "-n", str(voices), "-s", str(rate), "-ow", out, "-if", ski]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=600)
        return sox_read(out)


def freepats_programs(cfg=FREEPATS_CFG):
    """(melodic programs in bank 0, notes of drumset 0) that freepats really has."""
    progs, drums, section = set(), set(), None
    with open(cfg) as f:
        for line in f:
            s = line.split("#")[0].strip()
            if not s:
                continue
            w = s.split()
            if w[0] == "bank":
                section = ("bank", int(w[1]))
            elif w[0] == "drumset":
                section = ("drum", int(w[1]))
            elif w[0].isdigit() and section is not None:
                if section == ("bank", 0):
                    progs.add(int(w[0]))
                elif section == ("drum", 0):
                    drums.add(int(w[0]))
    return progs, drums


# ---------------------------------------------------------------- units

class Unit:
    """One independent piece of work that writes clips into the pool and a
    manifest listing them. A unit whose manifest exists, with the same
    parameters and all its clips, is skipped."""

    def __init__(self, dataset, uid, func, **kw):
        self.dataset = dataset
        self.uid = safe(uid)
        self.func = func
        self.kw = kw

    def params(self):
        """What the unit's work depends on, as the manifest records it: a
        changed plan (a quota, a class map) redoes the unit."""
        return "%s(%s)" % (self.func.__name__,
                           ", ".join("%s=%r" % (k, self.kw[k]) for k in sorted(self.kw)))


def manifest_path(out, unit):
    return os.path.join(out, "_work", "units", unit.dataset, unit.uid + ".json")


def pool_dir(out, unit):
    return os.path.join(out, "_work", "pool", unit.dataset, unit.uid)


class ClipWriter:
    def __init__(self, out, unit):
        self.out = out
        self.unit = unit
        self.dir = pool_dir(out, unit)
        os.makedirs(self.dir, exist_ok=True)
        self.rows = []

    def add(self, x, label, split, source, name=None, **extra):
        name = safe(name or "%03d" % len(self.rows))
        path = os.path.join(self.dir, name + ".wav")
        write_wav(path, x)
        row = {"pool": os.path.relpath(path, self.out), "label": label, "split": split,
               "source": source, "group": self.unit.uid, "dur": round(len(x) / SR, 4),
               "order": len(self.rows)}
        row.update(extra)
        self.rows.append(row)


def run_unit(args):
    out, unit = args
    mp = manifest_path(out, unit)
    if os.path.exists(mp):
        with open(mp) as f:
            man = json.load(f)
        if man.get("params") == unit.params() and \
                all(os.path.exists(os.path.join(out, r["pool"])) for r in man["rows"]):
            return unit.uid, man, True
        os.remove(mp)  # another plan, or clips went missing: redo the unit
    if os.path.isdir(pool_dir(out, unit)):
        shutil.rmtree(pool_dir(out, unit))
    cw = ClipWriter(out, unit)
    try:
        unit.func(cw, **unit.kw)
    except Exception as e:  # report, keep going with the other units
        import traceback
        traceback.print_exc()
        return unit.uid, {"error": repr(e), "rows": []}, False
    os.makedirs(os.path.dirname(mp), exist_ok=True)
    man = {"params": unit.params(), "rows": cw.rows}
    with open(mp + ".part", "w") as f:
        json.dump(man, f, indent=0, sort_keys=True)
    os.replace(mp + ".part", mp)
    return unit.uid, man, False


def run_units(out, units, jobs):
    """Run units (in parallel), return {uid: rows}. Order of results is
    independent of scheduling."""
    import multiprocessing as mp
    results = {}
    todo = [(out, u) for u in units]
    done = 0
    skipped = 0
    errors = []
    if jobs > 1:
        ctx = mp.get_context("fork")
        with ctx.Pool(jobs) as pool:
            it = pool.imap_unordered(run_unit, todo, chunksize=1)
            for uid, man, was_done in it:
                results[uid] = man.get("rows", [])
                done += 1
                skipped += was_done
                if "error" in man:
                    errors.append((uid, man["error"]))
                if done % 25 == 0 or done == len(todo):
                    log("  %d/%d units (%d already done)" % (done, len(todo), skipped))
    else:
        for a in todo:
            uid, man, was_done = run_unit(a)
            results[uid] = man.get("rows", [])
            done += 1
            skipped += was_done
            if "error" in man:
                errors.append((uid, man["error"]))
            if done % 25 == 0 or done == len(todo):
                log("  %d/%d units (%d already done)" % (done, len(todo), skipped))
    for uid, e in errors:
        log("  ERROR in unit %s: %s" % (uid, e))
    return results


# ---------------------------------------------------------------- selection

def balanced_pick(rows, quota, salt):
    """Pick up to `quota` rows spreading evenly over groups (the unit that made
    them: one program render, one kit, one voice...): round robin over groups
    (sorted), each group's rows in a seeded shuffled order."""
    by_src = {}
    for r in rows:
        by_src.setdefault(r.get("group", r["source"]), []).append(r)
    queues = []
    for s in sorted(by_src):
        lst = sorted(by_src[s], key=lambda r: r["pool"])
        perm = rng_for(salt, s).permutation(len(lst))
        queues.append([lst[i] for i in perm])
    picked = []
    while len(picked) < quota and any(queues):
        for q in queues:
            if q and len(picked) < quota:
                picked.append(q.pop(0))
    return sorted(picked, key=lambda r: r["pool"])


def link_or_copy(src, dst):
    if os.path.exists(dst):
        try:
            if os.path.samefile(src, dst):
                return
        except OSError:
            pass
        os.remove(dst)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def materialise(out, dataset, rows):
    """Hard-link the selected pool clips into out/dataset/split/label/, remove
    stale files there, write out/dataset/dataset.csv. Returns the CSV rows."""
    ddir = os.path.join(out, dataset)
    os.makedirs(ddir, exist_ok=True)
    keep = set()
    csv_rows = []
    for r in sorted(rows, key=lambda r: (r["split"], r["label"], r["pool"])):
        base = os.path.basename(os.path.dirname(r["pool"])) + "-" + os.path.basename(r["pool"])
        rel = os.path.join(r["split"], safe(r["label"]), base)
        link_or_copy(os.path.join(out, r["pool"]), os.path.join(ddir, rel))
        keep.add(rel)
        csv_rows.append({"path": rel, "label": r["label"], "split": r["split"],
                         "source": r["source"], "dur": r["dur"]})
    for root, _dirs, files in os.walk(ddir):
        for fn in files:
            if fn.endswith(".wav"):
                rel = os.path.relpath(os.path.join(root, fn), ddir)
                if rel not in keep:
                    os.remove(os.path.join(root, fn))
    csv_path = os.path.join(ddir, dataset + ".csv")
    with open(csv_path + ".part", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label", "split", "source"])
        for r in csv_rows:
            w.writerow([r["path"], r["label"], r["split"], r["source"]])
    os.replace(csv_path + ".part", csv_path)
    return csv_rows


def summary(dataset, csv_rows, labels=None):
    labels = labels or sorted({r["label"] for r in csv_rows})
    lines = ["%s: %d clips" % (dataset, len(csv_rows))]
    lines.append("  %-14s %7s %7s %9s %9s %8s %8s" % ("label", "train", "val", "train_s", "val_s", "src_tr", "src_val"))
    tot = {"train": 0.0, "val": 0.0}
    for lab in labels:
        c = {}
        d = {}
        s = {}
        for sp in ("train", "val"):
            rr = [r for r in csv_rows if r["label"] == lab and r["split"] == sp]
            c[sp] = len(rr)
            d[sp] = sum(r["dur"] for r in rr)
            s[sp] = len({r["source"] for r in rr})
            tot[sp] += d[sp]
        lines.append("  %-14s %7d %7d %9.0f %9.0f %8d %8d" % (lab, c["train"], c["val"], d["train"], d["val"], s["train"], s["val"]))
    lines.append("  total duration: train %.1f min, val %.1f min, all %.1f min"
                 % (tot["train"] / 60, tot["val"] / 60, (tot["train"] + tot["val"]) / 60))
    leak = ({r["source"] for r in csv_rows if r["split"] == "train"}
            & {r["source"] for r in csv_rows if r["split"] == "val"})
    lines.append("  sources shared by train and val: %s" % (sorted(leak) if leak else "none"))
    return "\n".join(lines)
