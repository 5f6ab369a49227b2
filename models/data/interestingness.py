# SPDX-License-Identifier: GPL-2.0-or-later
"""interestingness: binary, "1" interesting vs "0" dull.

1 = real material taken from the two other datasets (recorded speech, drums,
    environmental sounds, rendered instruments and accompaniment styles; and
    the real recordings of sound-categories, a capped share balanced over
    their sources), hard-linked, keeping their split (so their held-out
    sources stay held out).
0 = dull material generated here with numpy and fixed seeds: steady tones,
    mains hum, stationary noise, near-silence, heavily clipped signals.
    Each generator variant is one source; validation holds out whole variants
    (triangle and additive tones, 60 Hz hum, brown and band noise, low-passed
    hiss, clipped saw and clipped hum are never seen in training).
"""

import math
import os

import numpy as np

import common as C

DATASET = "interestingness"
LABELS = ["0", "1"]
QUOTA = {"train": 1200, "val": 400}   # per label
STYLES_SHARE = 0.2                    # of the positives; the rest: the 8 sound categories
REAL_SHARE = 0.25                     # of the positives: real recordings (when there)

DULL_SOURCES = {
    "train": ["tone-sine", "tone-square", "tone-saw", "tone-chord", "hum-50hz", "noise-white",
              "noise-pink", "silence-white", "clipped-sine", "clipped-noise"],
    "val": ["tone-triangle", "tone-additive", "hum-60hz", "noise-brown", "noise-band",
            "silence-hiss", "clipped-saw", "clipped-hum"],
}


# ------------------------------------------------------------ generators

def _t(n):
    return np.arange(n) / C.SR


def _additive(f0, amps, n, rng):
    """Band-limited periodic tone from harmonic amplitudes (no aliasing)."""
    t = _t(n)
    x = np.zeros(n)
    for k, a in enumerate(amps, start=1):
        if k * f0 >= C.SR / 2 * 0.95 or a == 0:
            break
        x += a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    return x


def tone(kind, n, rng):
    f0 = float(np.exp(rng.uniform(np.log(40), np.log(2000))))
    K = 200
    if kind == "sine":
        amps = [1.0]
    elif kind == "square":
        amps = [(1.0 / k if k % 2 else 0.0) for k in range(1, K)]
    elif kind == "saw":
        amps = [1.0 / k for k in range(1, K)]
    elif kind == "triangle":
        amps = [((1.0 / k ** 2) if k % 2 else 0.0) for k in range(1, K)]
    elif kind == "additive":
        m = int(rng.integers(3, 8))
        amps = list(rng.uniform(0.05, 1.0, m) / np.arange(1, m + 1))
    elif kind == "chord":
        ratios = [1.0, 1.25, 1.5, 2.0, 1.2, 1.333][: int(rng.integers(2, 4))]
        return sum(_additive(f0 * r, [1.0], n, rng) for r in ratios)
    return _additive(f0, amps, n, rng)


def hum(mains, n, rng):
    f0 = mains + rng.uniform(-0.2, 0.2)
    m = int(rng.integers(3, 20))
    odd = rng.uniform() < 0.5
    amps = [(rng.uniform(0.2, 1.0) / k ** rng.uniform(0.3, 1.2)) * (1.0 if (k % 2 or not odd) else 0.2)
            for k in range(1, m + 1)]
    x = _additive(f0, amps, n, rng)
    return x + rng.normal(0, 10 ** (rng.uniform(-70, -40) / 20), n) * np.max(np.abs(x))


def colored_noise(kind, n, rng):
    w = rng.normal(0, 1, n)
    if kind == "white":
        return w
    W = np.fft.rfft(w)
    f = np.fft.rfftfreq(n, 1.0 / C.SR)
    f[0] = f[1]
    if kind == "pink":
        W /= np.sqrt(f)
    elif kind == "brown":
        W /= f
        W[f < 10] = 0
    elif kind == "band":
        lo = float(np.exp(rng.uniform(np.log(50), np.log(3000))))
        hi = lo * float(rng.uniform(1.5, 8.0))
        W[(f < lo) | (f > hi)] = 0
    elif kind == "hiss":
        W[f > rng.uniform(2000, 7000)] = 0
    return np.fft.irfft(W, n)


def clip_hard(x, rng):
    x = x / (np.max(np.abs(x)) + 1e-12)
    g = 10 ** (rng.uniform(20, 40) / 20)
    return np.clip(x * g, -1, 1)


def make(source, n, rng):
    fam, var = source.split("-", 1)
    if fam == "tone":
        return tone(var, n, rng), None
    if fam == "hum":
        return hum(50.0 if var == "50hz" else 60.0, n, rng), None
    if fam == "noise":
        return colored_noise(var, n, rng), None
    if fam == "silence":
        x = colored_noise("white" if var == "white" else "hiss", n, rng)
        x = x / (np.sqrt(np.mean(x ** 2)) + 1e-12)
        return x * 10 ** (rng.uniform(-90, -65) / 20), "keep-level"
    if fam == "clipped":
        if var == "sine":
            base = tone("sine", n, rng)
        elif var == "saw":
            base = tone("saw", n, rng)
        elif var == "hum":
            base = hum(float(rng.choice([50.0, 60.0])), n, rng)
        else:
            base = colored_noise(str(rng.choice(["white", "pink"])), n, rng)
        return clip_hard(base, rng), None
    raise ValueError(source)


def u_dull(cw, source, split, n):
    for i in range(n):
        rng = C.rng_for("dull", source, i)
        dur = 5.0 if rng.uniform() < STYLES_SHARE else float(rng.uniform(1.1, 2.0))
        x, mode = make(source, int(round(dur * C.SR)), rng)
        if mode == "keep-level":
            y = C.finish_clip(x, rng, level=None, fade_in=0.0, fade_out=0.0)
        else:
            y = C.finish_clip(x, rng, fade_in=0.0, fade_out=0.0)
        cw.add(y, "0", split, "generated-" + source, name="%s_%03d" % (source, i))


def units(out, csv_rows):
    U = []
    for split, sources in DULL_SOURCES.items():
        n = math.ceil(QUOTA[split] / len(sources))
        for s in sources:
            U.append(C.Unit(DATASET, "dull-%s" % s, u_dull, source=s, split=split, n=n))
    return U


def _min_window_db(path, win=1.024, hop=0.25):
    x = C.read_wav(path)
    w = int(win * C.SR)
    if len(x) <= w:
        return C.rms_db(x)
    return min(C.rms_db(x[a: a + w]) for a in range(0, len(x) - w + 1, int(hop * C.SR)))


def select(out, results, csv_rows):
    dull = [r for uid in sorted(results) for r in results[uid]]
    picked = []
    for split in ("train", "val"):
        picked += C.balanced_pick([r for r in dull if r["split"] == split], QUOTA[split],
                                  "int-dull-" + split)
    # positives: every 1.024 s window of the clip must carry sound (>= -50 dBFS)
    for split in ("train", "val"):
        sc = csv_rows.get("sound-categories", [])
        st = csv_rows.get("styles", [])
        sc_real = [r for r in sc if r["source"].startswith("real:")]
        sc = [r for r in sc if not r["source"].startswith("real:")]
        n_sty = int(round(QUOTA[split] * STYLES_SHARE))
        n_real = int(round(QUOTA[split] * REAL_SHARE)) if sc_real else 0
        n_sc = QUOTA[split] - n_sty - n_real
        parts = []
        labels = sorted({r["label"] for r in sc})
        per = {lab: n_sc // max(1, len(labels)) for lab in labels}
        for k, lab in enumerate(labels[: n_sc % max(1, len(labels))]):
            per[lab] += 1
        # the real share: a round robin over (real source, class), e.g.
        # berklee/env_fx, fsdd/speech, weresax/winds, so that neither the
        # large Berklee library nor one class dominates it
        for ds, rows, quotas, group in (("sound-categories", sc, per, None),
                                        ("styles", st, {"*": n_sty}, None),
                                        ("sound-categories", sc_real, {"*": n_real}, "real")):
            for lab, q in sorted(quotas.items()):
                cand = []
                for r in rows:
                    if r["split"] != split or (lab != "*" and r["label"] != lab):
                        continue
                    rel = os.path.join(ds, r["path"])
                    g = ("%s:real:%s/%s" % (ds, r["source"].split(":")[1], r["label"])
                         if group == "real" else "%s:%s" % (ds, r["source"]))
                    cand.append({"pool": rel, "label": "1", "split": split,
                                 "source": "%s:%s" % (ds, r["source"]), "dur": r["dur"],
                                 "group": g})
                # take twice what is needed in a seeded order, drop the quiet ones
                tag = "%s-%s-%s" % (ds, group or lab, split)
                cand = C.balanced_pick(cand, 2 * q, "int-pos-" + tag)
                ok = [c for c in cand if _min_window_db(os.path.join(out, c["pool"])) >= -50.0]
                parts += C.balanced_pick(ok, q, "int-pos2-" + tag)
        picked += parts
    return picked
