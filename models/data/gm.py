# SPDX-License-Identifier: GPL-2.0-or-later
"""General MIDI program -> class map, playable ranges, and the note/drum event
plans that are written to one MIDI file per program and cut into clips.

Class map (decided here, documented in README.md):
  keys        0-8 pianos, e-pianos, harpsichord, clavinet, celesta;
              16-21 organs, accordion; 23 tango accordion
  guitar_bass 24-37 guitars and basses; 104-107 sitar, banjo, shamisen, koto
  strings     40-46 violin..harp; 48-49 string ensembles; 110 fiddle
  winds       56-61 brass; 64-71 reeds; 72-79 pipes; 22 harmonica;
              109 bagpipe; 111 shanai
  synth       80-103 synth leads, pads, effects (but 91 choir pad, 92 bowed
              pad); 38-39 synth bass
  env_fx      120-127 fret noise, breath, seashore, bird, telephone,
              helicopter, applause, gunshot
  left out    9-15 mallets and bells, 47 timpani, 52-54 choir/voices (too close
              to speech), 55 orchestra hit, 108 kalimba, 112-119 percussive;
              and the imitations of another class, which soundfonts render
              as that class or as a synth at will: 50-51 synth strings,
              62-63 synth brass, 91 choir pad, 92 bowed pad
"""

GM_CLASS = {}
for p in list(range(0, 9)) + list(range(16, 22)) + [23]:
    GM_CLASS[p] = "keys"
for p in list(range(24, 38)) + list(range(104, 108)):
    GM_CLASS[p] = "guitar_bass"
for p in list(range(40, 47)) + [48, 49, 110]:
    GM_CLASS[p] = "strings"
for p in [22] + list(range(56, 62)) + list(range(64, 80)) + [109, 111]:
    GM_CLASS[p] = "winds"
for p in [38, 39] + [q for q in range(80, 104) if q not in (91, 92)]:
    GM_CLASS[p] = "synth"
for p in range(120, 128):
    GM_CLASS[p] = "env_fx"

# FluidR3_GM variation presets (bank, program) used in addition to bank 0
# (training renderer only); classified like their program number.
FLUIDR3_VARIANTS = [(8, 4), (8, 5), (8, 6), (8, 16), (8, 17), (8, 19), (8, 21),
                    (8, 24), (8, 25), (8, 26), (8, 28), (8, 30), (8, 31), (8, 38),
                    (8, 39), (8, 40), (8, 48), (8, 61),
                    (8, 80), (8, 107), (9, 125), (16, 25)]

_RANGES = {
    range(0, 4): (21, 105), range(4, 6): (28, 103), range(6, 8): (29, 89),
    range(8, 9): (60, 108), range(16, 21): (36, 96), range(21, 22): (41, 89),
    range(22, 23): (60, 84), range(23, 24): (41, 89),
    range(24, 31): (40, 84), range(31, 32): (52, 88), range(32, 38): (28, 60),
    range(38, 40): (28, 60),
    range(40, 41): (55, 100), range(41, 42): (48, 88), range(42, 43): (36, 76),
    range(43, 44): (28, 60), range(44, 46): (36, 96), range(46, 47): (24, 103),
    range(48, 50): (28, 96), range(50, 52): (36, 96),
    range(56, 57): (54, 84), range(57, 58): (40, 72), range(58, 59): (28, 58),
    range(59, 60): (54, 82), range(60, 61): (34, 77), range(61, 64): (36, 84),
    range(64, 65): (56, 87), range(65, 66): (49, 81), range(66, 67): (44, 76),
    range(67, 68): (36, 69), range(68, 69): (58, 91), range(69, 70): (52, 81),
    range(70, 71): (34, 72), range(71, 72): (50, 91), range(72, 73): (74, 108),
    range(73, 77): (60, 96), range(77, 78): (55, 84), range(78, 79): (60, 96),
    range(79, 80): (60, 84),
    range(80, 88): (36, 96), range(88, 96): (36, 84), range(96, 104): (36, 90),
    range(104, 105): (48, 77), range(105, 106): (48, 84), range(106, 107): (50, 79),
    range(107, 108): (55, 91), range(109, 110): (55, 77), range(110, 111): (55, 96),
    range(111, 112): (60, 84), range(120, 128): (48, 80),
}


def prog_range(p):
    for r, lohi in _RANGES.items():
        if p in r:
            return lohi
    return (36, 96)


CHORDS = [(0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10), (0, 5, 7), (0, 7, 12),
          (0, 4, 7, 11), (0, 4, 7, 12)]
SCALES = [(0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 3, 5, 7, 10)]

SLOT = 3.2  # seconds between event starts (clip <= 2 s + release tail)
LEAD = 0.3  # time before the first event


def note_plan(prog, n, rng):
    """n events for a melodic program: list of dicts with start t, clip
    length L and notes [(dt, dur, key, vel)]."""
    lo, hi = prog_range(prog)
    fx = prog >= 120
    events = []
    # stratified pitches over the whole range
    centers = lo + (hi - lo) * (rng.permutation(n) + rng.uniform(0, 1, n)) / n
    for i in range(n):
        t = LEAD + i * SLOT
        L = float(rng.uniform(1.2, 2.0))
        vel = int(rng.integers(40, 128))
        c = int(round(centers[i]))
        kind = "single" if fx else rng.choice(["single", "single", "single", "chord", "phrase"])
        notes = []
        if kind == "single":
            dur = float(rng.uniform(0.35, L - 0.1)) if not fx else float(rng.uniform(0.8, L - 0.05))
            notes.append((0.0, dur, c, vel))
        elif kind == "chord":
            ch = CHORDS[int(rng.integers(len(CHORDS)))]
            root = min(c, hi - ch[-1])
            dur = float(rng.uniform(0.5, L - 0.1))
            for k, iv in enumerate(ch):
                notes.append((0.0 + 0.01 * k * int(rng.integers(0, 2)), dur, root + iv,
                              max(1, vel - int(rng.integers(0, 15)))))
        else:
            sc = SCALES[int(rng.integers(len(SCALES)))]
            k = int(rng.integers(3, 7))
            step = (L - 0.15) / k
            deg = int(rng.integers(0, len(sc)))
            root = max(lo, min(c, hi - 14))
            dirn = 1 if rng.uniform() < 0.5 else -1
            for j in range(k):
                key = root + 12 * (deg // len(sc)) + sc[deg % len(sc)]
                key = max(lo, min(hi, key))
                last = j == k - 1
                dur = (L - 0.1 - j * step) if last else step * float(rng.uniform(0.6, 1.0))
                notes.append((j * step, dur, key, max(1, min(127, vel + int(rng.integers(-12, 13))))))
                deg = max(0, deg + dirn * int(rng.integers(1, 3)))
        events.append({"t": t, "L": L, "kind": str(kind), "notes": notes})
    return events


# GM percussion keys
KICKS = [35, 36]
SNARES = [38, 40, 37, 39]
HATS = [42, 44, 46]
TOMS = [41, 43, 45, 47, 48, 50]
CYMS = [49, 51, 52, 53, 55, 57, 59]
LATIN = list(range(60, 82))
KIT_CORE = KICKS + SNARES + HATS + TOMS + CYMS


def drum_plan(n, rng, keys=None):
    """n drum events: single hits, beats (kick/snare/hat patterns), fills."""
    keys = keys or (KIT_CORE + LATIN)
    core = [k for k in keys if k in KIT_CORE] or keys
    events = []
    hits = rng.permutation(keys)
    hi_i = 0
    for i in range(n):
        t = LEAD + i * SLOT
        L = float(rng.uniform(1.2, 2.0))
        kind = rng.choice(["hit", "hit", "beat", "beat", "fill"])
        notes = []
        vel = int(rng.integers(50, 128))
        if kind == "hit":
            key = int(hits[hi_i % len(hits)])
            hi_i += 1
            notes.append((0.0, 0.2, key, vel))
            if rng.uniform() < 0.3:  # a second hit, e.g. a flam or a repeat
                notes.append((float(rng.uniform(0.15, 0.6)), 0.2, key, max(1, vel - 20)))
        elif kind == "beat":
            bpm = float(rng.uniform(70, 170))
            e8 = 60.0 / bpm / 2
            kick = [k for k in core if k in KICKS] or core
            snare = [k for k in core if k in SNARES] or core
            hat = [k for k in core if k in HATS + [51]] or core
            kk, sn, hh = (int(rng.choice(kick)), int(rng.choice(snare)), int(rng.choice(hat)))
            j = 0
            while j * e8 < L - 0.15:
                tt = j * e8
                if j % 8 in (0, 5) or (j % 8 == 3 and rng.uniform() < 0.3):
                    notes.append((tt, 0.1, kk, vel))
                if j % 4 == 2:
                    notes.append((tt, 0.1, sn, max(1, vel - int(rng.integers(0, 20)))))
                notes.append((tt, 0.1, hh, max(1, int(vel * rng.uniform(0.5, 0.9)))))
                j += 1
        else:
            toms = [k for k in core if k in TOMS + SNARES] or core
            m = int(rng.integers(4, 9))
            step = (L * 0.6) / m
            seq = sorted(rng.choice(toms, m), reverse=bool(rng.integers(0, 2)))
            for j, k in enumerate(seq):
                notes.append((j * step, 0.1, int(k), max(1, vel - int(rng.integers(0, 25)))))
            cym = [k for k in core if k in CYMS] or core
            notes.append((m * step, 0.3, int(rng.choice(cym)), vel))
        events.append({"t": t, "L": L, "kind": str(kind), "notes": notes})
    return events


def plan_to_song(events, ch, prog=None, bank=None):
    import smf
    s = smf.Song()
    if prog is not None:
        s.program(0.0, ch, prog, bank)
    s.control(0.0, ch, 7, 110)   # volume
    s.control(0.0, ch, 10, 64)   # pan centre
    s.control(0.0, ch, 11, 127)  # expression
    for ev in events:
        for dt, dur, key, vel in ev["notes"]:
            if 0 <= key <= 127:
                s.note(ev["t"] + dt, dur, ch, key, vel)
    end = events[-1]["t"] + SLOT if events else 1.0
    return s, end
