# SPDX-License-Identifier: GPL-2.0-or-later
"""styles: accompaniment-style families rendered from MMA grooves.

MMA (Musical MIDI Accompaniment) turns a chord chart into a MIDI
accompaniment in a named groove; fluidsynth renders it with a General MIDI
soundfont. These are styles *rendered from MIDI*, not recorded songs: the
label is the family of the groove file (blues, country, jazz, latin, rock,
ballad, march, waltz), the split is by groove file (all grooves of a file
are on one side), and each take varies key, tempo, chord progression and
soundfont (FluidR3_GM or TimGM6mb, on both sides).
"""

import math
import os
import re
import subprocess
import tempfile

import common as C

DATASET = "styles"
LABELS = ["blues", "country", "jazz", "latin", "rock", "ballad", "march", "waltz"]
QUOTA = {"train": 200, "val": 64}
CLIP = 5.0          # seconds per clip
CLIPS_PER_TAKE = 3
VAL_FRACTION = 0.25
MMA_LIB = "/usr/share/mma/lib"

# groove file -> family. Files not listed are not used (metronomes, arpeggio
# exercises, funk, soul, disco, pop, house, polka, ragtime, ska, calypso, ...).
# Every file named *waltz (all in 3/4) goes to waltz, whatever its genre;
# afro-cuban (3/4 but not a waltz) is left out.
FAMILY = {
    "blues": ["stdlib/blues", "stdlib/blues128", "stdlib/blues68", "stdlib/fastblues",
              "stdlib/slowblues", "stdlib/boggiewoggie", "stdlib/shuffleboggie",
              "stdlib/countryblues", "casio/blues", "casio/shuffleboogie"],
    "country": ["stdlib/bluegrass", "stdlib/countryswing", "stdlib/hillcountry",
                "stdlib/slowcountry", "stdlib/westernswing", "yamaha/western"],
    "jazz": ["stdlib/68swing", "stdlib/bebop", "stdlib/bigband", "stdlib/descendingjazz",
             "stdlib/dixie", "stdlib/easyswing", "stdlib/evansish", "stdlib/fastswing",
             "stdlib/folkyjazz", "stdlib/gypsyjazz", "stdlib/jazz-54", "stdlib/jazzcombo",
             "stdlib/jazzguitar", "stdlib/mellowjazz", "stdlib/modernjazz", "stdlib/nitejazz",
             "stdlib/slowjazz", "stdlib/swing", "casio/fastbigband", "casio/jazzcombo",
             "casio/middlebigband", "casio/modernjazz", "casio/slowbigband", "casio/slowswing",
             "casio/swing", "yamaha/jazzGrtrio", "yamaha/jazzbasie", "yamaha/jazzbouncy",
             "yamaha/jazzswing", "yamaha/jazztrio"],
    "latin": ["stdlib/beguine", "stdlib/bolero", "stdlib/bossanova",
              "stdlib/chacha", "stdlib/cubanguitar", "stdlib/jazzrhumba", "stdlib/lfusion",
              "stdlib/lighttango", "stdlib/mambo", "stdlib/merengue", "stdlib/rhumba",
              "stdlib/salsa", "stdlib/samba", "stdlib/slowbolero", "stdlib/son", "stdlib/tango",
              "casio/latinfusion", "yamaha/jazzbossa", "yamaha/mambo", "yamaha/salsa1",
              "yamaha/salsa2", "kara/kbossa"],
    "rock": ["stdlib/50srock", "stdlib/60srock", "stdlib/8beat", "stdlib/basicrock",
             "stdlib/bubblerock", "stdlib/folkrock", "stdlib/rock-128", "stdlib/softrock",
             "stdlib/twist", "casio/60srock", "casio/digitalrock", "casio/heavymetal",
             "casio/poprock1", "casio/poprock2", "casio/rock1", "casio/rock2",
             "casio/shufflerock", "casio/slowrock", "casio/twist", "yamaha/w-rock",
             "kara/K50s_rock", "kara/fasttwist", "pflib/rock1", "pflib/metal1", "pflib/metal2",
             "pflib/slowrock"],
    "ballad": ["stdlib/ballad", "stdlib/ballad128", "stdlib/ballad68", "stdlib/folkballad",
               "stdlib/guitarballad", "stdlib/pianoballad", "stdlib/popballad",
               "stdlib/rb-ballad", "stdlib/rockballad", "stdlib/stringballad",
               "casio/16beatballad1", "casio/16beatballad2", "casio/16beatballad3",
               "casio/8beatballad1", "casio/8beatballad2", "casio/8beatballad3",
               "casio/68ballad", "casio/oldieballad", "casio/popballad", "kara/kwestballad"],
    "march": ["stdlib/68march", "stdlib/bwmarch", "stdlib/dixiemarch", "stdlib/march",
              "casio/germanmarch", "casio/march1"],
    "waltz": ["stdlib/waltz", "stdlib/fastwaltz", "stdlib/vienesewaltz", "stdlib/frenchwaltz",
              "stdlib/broadwaywaltz", "stdlib/countrywaltz", "stdlib/jazzwaltz",
              "stdlib/fastjazzwaltz", "stdlib/modernjazzwaltz", "stdlib/latinwaltz",
              "stdlib/rockwaltz", "casio/jazzwaltz", "casio/popwaltz", "yamaha/jazzwaltz"],
}

TEMPO = {"blues": (70, 130), "country": (100, 170), "jazz": (100, 200), "latin": (90, 150),
         "rock": (100, 160), "ballad": (60, 90), "march": (100, 130), "waltz": (90, 180)}

# intro, ending, fill and break grooves are skipped (but not "DescendingJazz")
SKIP_GROOVE = re.compile(r"((?i:intro|fill|break|metronome|end$|end\d)|End(?![a-z])|Ending|END)")

PROGRESSIONS = [
    ["C", "Am", "Dm7", "G7"],
    ["C", "F", "C", "G7"],
    ["C7", "F7", "C7", "C7", "F7", "F7", "C7", "C7", "G7", "F7", "C7", "G7"],
    ["Dm7", "G7", "Cmaj7", "C6"],
    ["Am", "Dm", "E7", "Am"],
    ["C", "G", "Am", "F"],
    ["Cmaj7", "A7", "Dm7", "G7"],
    ["C", "C7", "F", "Fm", "C", "G7", "C", "C"],
]


def grooves_of(libfile):
    path = os.path.join(MMA_LIB, libfile + ".mma")
    names = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            m = re.match(r"\s*defgroove\s+(\S+)", line, re.I)
            if m and not SKIP_GROOVE.search(m.group(1)):
                if m.group(1).lower() not in [n.lower() for n in names]:
                    names.append(m.group(1))
    return names


def family_files():
    out = {}
    for fam, files in FAMILY.items():
        out[fam] = [f for f in files if os.path.exists(os.path.join(MMA_LIB, f + ".mma"))]
    return out


def file_split(fam, files):
    """A quarter of each family's groove files (at least one) go to val."""
    files = sorted(files)
    nval = max(1, int(round(VAL_FRACTION * len(files))))
    perm = C.rng_for("styles-split", fam).permutation(len(files))
    val = {files[i] for i in perm[:nval]}
    return {f: ("val" if f in val else "train") for f in files}


def beats_per_bar(libfile):
    """The first `Time N` of a groove file (4 if none)."""
    with open(os.path.join(MMA_LIB, libfile + ".mma"), encoding="latin-1") as f:
        for line in f:
            m = re.match(r"\s*time\s+(\d+)", line, re.I)
            if m:
                return int(m.group(1))
    return 4


def u_groove(cw, libfile, groove, family, split, take):
    rng = C.rng_for("groove", libfile, groove, take)
    lo, hi = TEMPO[family]
    stem = libfile.split("/")[-1].lower()
    if "slow" in stem:
        lo, hi = lo * 0.75, lo
    elif "fast" in stem:
        lo, hi = hi * 0.9, hi * 1.2
    bpm = int(rng.uniform(lo, hi))
    transpose = int(rng.integers(-5, 7))
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    renderer = ("fluidr3", "timgm6mb")[(take + C.seed_of(libfile, groove)) % 2]
    bars = int(math.ceil((CLIP * CLIPS_PER_TAKE + 0.5) / (beats_per_bar(libfile) * 60.0 / bpm)))
    # MMA grooves randomise timing, volume and skips: seed them
    lines = ["RndSeed %d" % (C.seed_of("mma", libfile, groove, take) % 1000000),
             "Tempo %d" % bpm, "Transpose %d" % transpose, "Use %s" % libfile, "Groove %s" % groove]
    for b in range(bars):
        lines.append("%d %s" % (b + 1, prog[b % len(prog)]))
    with tempfile.TemporaryDirectory(prefix="oneiro-mma-", dir=C.TMP) as td:
        src = os.path.join(td, "song.mma")
        mid = os.path.join(td, "song.mid")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        env = dict(os.environ, PYTHONHASHSEED="0")
        p = subprocess.run(["mma", "-f", mid, src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           cwd=td, env=env)
        if p.returncode != 0 or not os.path.exists(mid):
            raise RuntimeError("mma failed for %s %s: %s" % (libfile, groove, p.stdout.decode(errors="replace")[-300:]))
        x = C.render_fluidsynth(mid, C.SF2[renderer], gain=1.0 if renderer == "fluidr3" else 0.6)
    n = int(round(CLIP * C.SR))
    for j in range(CLIPS_PER_TAKE):
        piece = x[j * n: (j + 1) * n]
        if len(piece) < n:
            break
        lvl = C.active_rms_db(piece)
        if lvl < C.SILENT_DBFS:
            continue
        cw.add(C.finish_clip(piece, rng, min_dur=CLIP, fade_in=0.01, fade_out=0.05), family, split,
               "mma-" + libfile.replace("/", "-"), name="t%d_%d" % (take, j), group=libfile,
               groove=groove, bpm=bpm, transpose=transpose, renderer=renderer, level_db=round(lvl, 1))


def units():
    U = []
    for fam, files in sorted(family_files().items()):
        splits = file_split(fam, files)
        for split in ("train", "val"):
            fs = [f for f in files if splits[f] == split]
            per_file = {f: grooves_of(f) for f in fs}
            # round robin over files so that every file is heard
            order = []
            k = 0
            while any(len(v) > k for v in per_file.values()):
                for f in sorted(per_file):
                    if len(per_file[f]) > k:
                        order.append((f, per_file[f][k]))
                k += 1
            need = math.ceil(QUOTA[split] * 1.05 / CLIPS_PER_TAKE)
            takes = max(1, min(10, math.ceil(need / max(1, len(order)))))
            jobs = [(f, g, t) for t in range(takes) for f, g in order][:need]
            for f, g, t in jobs:
                U.append(C.Unit(DATASET, "%s-%s-t%d" % (f.replace("/", "-"), g, t), u_groove,
                                libfile=f, groove=g, family=fam, split=split, take=t))
    return U


def select(results):
    rows = [r for uid in sorted(results) for r in results[uid]]
    picked = []
    for label in LABELS:
        for split in ("train", "val"):
            rr = [r for r in rows if r["label"] == label and r["split"] == split]
            picked += C.balanced_pick(rr, QUOTA[split], "styles-%s-%s" % (label, split))
    return picked
