# SPDX-License-Identifier: GPL-2.0-or-later
"""sound-categories: 8 classes keys, guitar_bass, strings, winds, synth, drums,
speech, env_fx. Validation holds out whole sources (renderers, kits, voices,
languages, packages); see README.md for the table."""

import glob
import math
import os
import tempfile

import numpy as np

import common as C
import gm
import real

DATASET = "sound-categories"
LABELS = ["keys", "guitar_bass", "strings", "winds", "synth", "drums", "speech", "env_fx"]
QUOTA = {"train": 1000, "val": 200}
# the GM sound-effect programs are only part of env_fx: recorded effects first
GM_FX_QUOTA = {"train": 160, "val": 70}
MARGIN = 1.2

GAIN = {"fluidr3": 1.0, "timgm6mb": 0.6, "blackpearl": 0.6, "redzeppelin": 0.6}
SOURCE_NAME = {"fluidr3": "fluidsynth-FluidR3_GM", "timgm6mb": "fluidsynth-TimGM6mb",
               "freepats": "timidity-freepats", "musescore": "fluidsynth-MuseScore_General",
               "stk": "stk-demo"}
# csound-soundfont's GM bank is left out: most of its programs are TimGM6mb's
# samples (renders correlate at 0.95-1.00), so training on it would leak the
# held-out renderer. MuseScore_General shares many samples with FluidR3 but
# has its own pianos, strings and synths.
MELODIC_RENDERERS = [("fluidr3", "train"), ("freepats", "train"), ("musescore", "train"),
                     ("timgm6mb", "val")]
# STK's instruments (stk-demo): physical and FM models, a renderer with no
# samples at all, for training. (instrument, GM program whose range and class
# it takes, controls varied per event: SKINI control numbers)
STK_INSTRUMENTS = [
    ("Clarinet", 71, (1, 2, 4, 11)), ("BlowHole", 71, (2, 4, 11)), ("Saxofony", 65, (1, 2, 4, 11)),
    ("Flute", 73, (1, 2, 4, 11)), ("Brass", 56, (1, 2, 11)), ("Brass", 57, (1, 2, 11)),
    ("Recorder", 74, (1, 2, 11)),
    ("Bowed", 40, (1, 2, 4, 11)), ("Bowed", 41, (1, 2, 4, 11)), ("Bowed", 42, (1, 2, 4, 11)),
    ("Plucked", 25, ()), ("Plucked", 33, ()), ("StifKarp", 24, (2, 4, 11)),
    ("Sitar", 104, ()), ("Mandolin", 105, (2, 4, 11)),
    ("Rhodey", 4, (2, 4, 11)), ("Wurley", 5, (2, 4, 11)), ("BeeThree", 16, (2, 4, 11)),
    ("BeeThree", 18, (2, 4, 11)),
    ("Moog", 81, (2, 4, 11)), ("Moog", 38, (2, 4, 11)), ("Simple", 80, (2, 4, 11)),
    ("Simple", 87, (2, 4, 11)),
]
STK_VELOCITY = {"Saxofony": 0.2}

HYDROGEN = "/usr/share/hydrogen/data/drumkits"
HYDROGEN_VAL = {"ColomboAcousticDrumkit", "HardElectro1", "circAfrique v4", "Millo_MultiLayered3"}
GM_KITS = [0, 8, 16, 24, 25, 32, 40, 48]  # standard, room, power, electronic, 808, jazz, brush, orchestra
SONICPI = "/usr/share/sonic-pi/samples"
LMMS = "/usr/share/lmms/samples"
# recorded (or sampled-hardware) instrument notes and phrases of LMMS and
# Sonic Pi, played like a sampler at several pitches (training only)
SAMPLER = {
    "keys": ["instruments/church_organ01", "instruments/church_organ02", "instruments/church_organ03",
             "instruments/church_organ04", "instruments/e_organ01", "instruments/e_piano_accord01",
             "instruments/e_piano_accord02", "instruments/piano01",
             "instruments/piano02", "sonicpi:ambi_piano"],
    "strings": ["instruments/cello01", "instruments/violin_double_stop01",
                "instruments/violin_fingered01", "instruments/violin_pizzicato01",
                "stringsnpads/strings01"],
    "winds": ["instruments/flute01", "instruments/trumpet01", "latin/latin_brass01"],
    "guitar_bass": ["instruments/bassslap01", "instruments/bassslap02", "instruments/steel_guitar01",
                    "instruments/steel_guitar_slight_distorted01",
                    "instruments/steel_guitar_medium_distorted01",
                    "instruments/steel_guitar_heavy_distorted01", "latin/latin_guitar01",
                    "latin/latin_guitar02", "latin/latin_guitar03", "sonicpi:guit_e_fifths",
                    "sonicpi:guit_e_slide", "sonicpi:guit_em9", "sonicpi:guit_harmonics"],
    "synth": ["basses/bass_hard01", "basses/bass_hard02", "basses/matrix1000_pluck01",
              "stringsnpads/juno_pad01", "stringsnpads/korg_poly6_drone01",
              "stringsnpads/nord_ambient01", "stringsnpads/orion_string01",
              "stringsnpads/space_strings01", "stringsnpads/space_strings02",
              "stringsnpads/space_strings03", "bassloops/tb303_01", "bassloops/techno_synth01",
              "bassloops/techno_synth02", "bassloops/techno_synth03", "bassloops/techno_synth04"],
}
TUX = "/usr/share/tuxpaint/stamps"
TUX_SPEECH_TRAIN = ["ca", "bg", "ru", "be", "da", "en"]
TUX_SPEECH_VAL = ["fr", "es", "ro", "el", "nl", "lt"]
WESNOTH = "/usr/share/games/wesnoth/1.16/data/core/sounds"
LINCITY = "/usr/share/games/lincity-ng/sounds"
BUCKLE = "/usr/share/buckle/wav"
FREEDESKTOP = "/usr/share/sounds/freedesktop/stereo"

PACKAGES = [
    "sox", "libsox-fmt-base", "fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont",
    "musescore-general-soundfont", "stk", "lmms-common",
    "timidity", "freepats", "hydrogen-drumkits", "sonic-pi-samples", "avldrums.lv2-soundfont",
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-fr-wav", "tuxpaint-stamps-default",
    "pocketsphinx-testdata", "codec2-examples", "bucklespring-data", "sound-theme-freedesktop",
    "wesnoth-1.16-data", "lincity-ng-data",
]


# ------------------------------------------------------------ unit workers

def _cut_events(cw, x, events, label, split, source, rng, prefix):
    """Cut one clip per event. A clip is dropped as near-silent (a note outside
    the instrument's samples, a drum key the kit lacks) when its active level
    is below -55 dBFS or more than 24 dB under the unit's median event."""
    segs = []
    for i, ev in enumerate(events):
        a = int(round((ev["t"] - 0.01) * C.SR))
        b = int(round((ev["t"] + ev["L"]) * C.SR))
        seg = x[a:b]
        if len(seg) < (b - a) // 2:
            continue
        segs.append((i, ev, seg, C.active_rms_db(seg)))
    if not segs:
        return 0
    thr = max(-55.0, float(np.median([s[3] for s in segs])) - 24.0)
    kept = 0
    for i, ev, seg, lvl in segs:
        if lvl < thr:
            continue
        cw.add(C.finish_clip(seg, rng), label, split, source, name="%s%03d" % (prefix, i),
               kind=ev["kind"], level_db=round(lvl, 1))
        kept += 1
    return kept


def _render(song, end, renderer):
    with tempfile.TemporaryDirectory(prefix="oneiro-mid-", dir=C.TMP) as td:
        mid = os.path.join(td, "in.mid")
        song.write(mid, end=end)
        if renderer == "freepats":
            return C.render_timidity(mid)
        return C.render_fluidsynth(mid, C.SF2[renderer], gain=GAIN.get(renderer, 0.5))


def u_notes(cw, renderer, bank, prog, label, split, n):
    rng = C.rng_for("notes", renderer, bank, prog)
    events = gm.note_plan(prog, n, rng)
    song, end = gm.plan_to_song(events, ch=0, prog=prog, bank=bank)
    x = _render(song, end, renderer)
    _cut_events(cw, x, events, label, split, SOURCE_NAME[renderer], rng, "p%03d_" % prog)


def u_stk(cw, instrument, prog, controls, label, split, n):
    rng = C.rng_for("stk", instrument, prog)
    events = gm.note_plan(prog, n, rng)
    notes, ccs = [], []
    scale = STK_VELOCITY.get(instrument, 0.35)  # stk-demo writes 16-bit: no clipping
    for ev in events:
        for num in controls:  # each event with its own setting of the model
            ccs.append((ev["t"] - 0.05, num, int(rng.integers(32, 97))))
        for dt, dur, key, vel in ev["notes"]:
            if 0 <= key <= 127:
                notes.append((ev["t"] + dt, dur, key, max(1, int(vel * scale))))
    x = C.render_stk(instrument, notes, controls=ccs)
    _cut_events(cw, x, events, label, split, SOURCE_NAME["stk"], rng,
                "%s_p%03d_" % (instrument, prog))


def u_sampler(cw, label, path, n_pitches=6, max_chunks=4):
    """A recorded note or phrase played like a sampler: at its own pitch and at
    n_pitches-1 random others within +-6 semitones (sox speed), cut into up to
    max_chunks pieces of 2 s."""
    rng = C.rng_for("sampler", path)
    base = os.path.splitext(os.path.basename(path))[0]
    shifts = [0.0] + [float(s) for s in rng.uniform(-6.0, 6.0, n_pitches - 1)]
    for j, st in enumerate(shifts):
        try:
            x = C.sox_read(path, effects=("speed", "%.4f" % (2.0 ** (st / 12.0))))
        except Exception as e:
            C.log("    skip %s: %s" % (path, str(e)[:120]))
            return
        x = C.trim_tail(C.trim_lead(x))
        for c, piece in enumerate(C.chunks(x, 2.0, 0.5, max_chunks)):
            lvl = C.active_rms_db(piece)
            if lvl < C.SILENT_DBFS:
                continue
            cw.add(C.finish_clip(piece, rng), label, "train", "sampler-lmms-sonicpi",
                   name="%s_%d_%d" % (base, j, c), file=path, semitones=round(st, 2),
                   level_db=round(lvl, 1))


def u_drums(cw, renderer, kit, split, n, keys=None):
    rng = C.rng_for("drums", renderer, kit)
    events = gm.drum_plan(n, rng, keys)
    if renderer in ("blackpearl", "redzeppelin"):
        song, end = gm.plan_to_song(events, ch=0, prog=0, bank=0)
        source = "avldrums-%s" % renderer
    else:
        song, end = gm.plan_to_song(events, ch=9, prog=kit)
        source = SOURCE_NAME[renderer] + "-drums"
    x = _render(song, end, renderer)
    _cut_events(cw, x, events, "drums", split, source, rng, "k%03d_" % kit)


def u_files(cw, files, label, split, source, max_len=2.0, min_len=1.0, max_chunks=2,
            in_args=()):
    """Each file -> up to max_chunks clips of <= max_len s (leading and trailing
    silence trimmed); near-silent pieces dropped."""
    for k, f in enumerate(files):
        rng = C.rng_for("file", source, f)
        try:
            x = C.sox_read(f, in_args=in_args)
        except Exception as e:
            C.log("    skip %s: %s" % (f, str(e)[:120]))
            continue
        x = C.trim_tail(C.trim_lead(x))
        for j, piece in enumerate(C.chunks(x, max_len, min_len, max_chunks)):
            lvl = C.active_rms_db(piece)
            if lvl < C.SILENT_DBFS:
                continue
            name = "%04d_%s_%d" % (k, os.path.splitext(os.path.basename(f))[0][:40], j)
            cw.add(C.finish_clip(piece, rng), label, split, source, name=name,
                   file=f, level_db=round(lvl, 1))


def u_typing(cw, n, split):
    """Typing on a buckling-spring keyboard: seeded sequences of recorded key
    presses and releases (bucklespring-data)."""
    files = sorted(glob.glob(os.path.join(BUCKLE, "*.wav")))
    press = [C.sox_read(f) for f in files if f.endswith("-0.wav")]
    rel = [C.sox_read(f) for f in files if f.endswith("-1.wav")]
    for i in range(n):
        rng = C.rng_for("typing", i)
        L = float(rng.uniform(1.3, 2.0))
        x = np.zeros(int(L * C.SR) + C.SR)
        t = float(rng.uniform(0.0, 0.1))
        rate = float(rng.uniform(0.08, 0.25))
        while t < L - 0.1:
            k = int(rng.integers(len(press)))
            g = float(rng.uniform(0.5, 1.0))
            for s, tt in ((press[k], t), (rel[min(k, len(rel) - 1)], t + float(rng.uniform(0.05, 0.14)))):
                a = int(tt * C.SR)
                x[a: a + len(s)] += g * s[: len(x) - a]
            t += float(rng.gamma(2.0, rate / 2.0))
        x = x[: int(L * C.SR)]
        cw.add(C.finish_clip(x, rng), "env_fx", split, "bucklespring", name="typing%03d" % i)


# ------------------------------------------------------------ file lists

def _sample(files, cap, salt):
    files = sorted(files)
    if cap is None or len(files) <= cap:
        return files
    idx = C.rng_for("sample", salt).permutation(len(files))[:cap]
    return sorted(files[i] for i in idx)


def tux_speech_files(lang):
    """Tux Paint stamp descriptions (and spoken numbers/letters) in one language."""
    allf = sorted(glob.glob(os.path.join(TUX, "**", "*.ogg"), recursive=True))
    out = []
    for f in allf:
        b = os.path.basename(f)[:-4]
        if lang == "en":
            if b.endswith("_desc") or b.endswith("_en_GB") or b.endswith("_desc_en_GB"):
                out.append(f)
        elif b.endswith("_desc_" + lang) or ("/symbols/math/" in f and b.endswith("_" + lang)):
            out.append(f)
    return out


TUX_FX_EXCLUDE = ("/symbols/", "/hobbies/music/", "/seasonal/hanukkah/", "santahat",
                  "final-roll-call")


def tux_fx_files():
    out = []
    for f in sorted(glob.glob(os.path.join(TUX, "**", "*.ogg"), recursive=True)
                    + glob.glob(os.path.join(TUX, "**", "*.wav"), recursive=True)):
        b = os.path.basename(f)
        if "_desc" in b or any(e in f for e in TUX_FX_EXCLUDE):
            continue
        out.append(f)
    return sorted(out)


WESNOTH_EXCLUDE = ("human-", "dwarf-", "elf-", "mermaid-", "mermen-", "naga-", "groan", "ugg.",
                   "fanfare", "horn-signals", "wardrums", "heal.", "magic")


def wesnoth_files():
    fs = sorted(glob.glob(os.path.join(WESNOTH, "*.*")) + glob.glob(os.path.join(WESNOTH, "ambient", "*.*")))
    return [f for f in fs if f.endswith((".ogg", ".wav")) and not any(e in f for e in WESNOTH_EXCLUDE)]


SONICPI_DRUMS = ("bd_", "sn_", "drum_", "tabla_", "elec_hollow_kick", "elec_soft_kick",
                 "elec_snare", "elec_hi_snare", "elec_lo_snare", "elec_mid_snare",
                 "elec_filt_snare", "elec_cymbal", "elec_fuzz_tom", "loop_amen", "loop_breakbeat",
                 "loop_tabla", "loop_perc", "loop_compus", "loop_safari")
SONICPI_FX = ("ambi_dark_woosh", "ambi_glass_rub", "ambi_lunar_land", "ambi_sauna", "ambi_swoosh",
              "misc_", "perc_door", "perc_impact", "perc_swash", "perc_swoosh", "perc_till",
              "perc_snap", "vinyl_", "loop_3d_printer", "loop_industrial", "mehackit_phone")


def sonicpi(prefixes):
    fs = sorted(glob.glob(os.path.join(SONICPI, "*.flac")))
    return [f for f in fs if os.path.basename(f).startswith(prefixes)]


# ------------------------------------------------------------ plan

def units():
    U = []
    add = lambda uid, func, **kw: U.append(C.Unit(DATASET, uid, func, **kw))

    fp_progs, fp_drums = C.freepats_programs()

    # melodic programs: which renders exist per (class, split)
    renders = []
    for renderer, split in MELODIC_RENDERERS:
        progs = [(0, p) for p in sorted(gm.GM_CLASS)]
        if renderer == "fluidr3":
            progs += gm.FLUIDR3_VARIANTS
        if renderer == "freepats":
            progs = [(b, p) for b, p in progs if p in fp_progs]
        for bank, p in progs:
            renders.append((renderer, split, bank, p, gm.GM_CLASS[p]))
    for instrument, p, ctl in STK_INSTRUMENTS:
        renders.append(("stk", "train", instrument, p, gm.GM_CLASS[p]))
    count = {}
    for r in renders:
        count[(r[4], r[1])] = count.get((r[4], r[1]), 0) + 1
    stk_ctl = {(i, p): c for i, p, c in STK_INSTRUMENTS}
    for renderer, split, bank, p, label in renders:
        q = GM_FX_QUOTA[split] if label == "env_fx" else QUOTA[split]
        n = max(6, math.ceil(q * MARGIN / count[(label, split)]))
        if renderer == "stk":
            add("stk-%s-p%03d" % (bank, p), u_stk, instrument=bank, prog=p,
                controls=stk_ctl[(bank, p)], label=label, split=split, n=n)
            continue
        add("notes-%s-b%03d-p%03d" % (renderer, bank, p), u_notes, renderer=renderer, bank=bank,
            prog=p, label=label, split=split, n=n)

    for label in sorted(SAMPLER):
        files = [os.path.join(SONICPI, f[8:] + ".flac") if f.startswith("sonicpi:")
                 else os.path.join(LMMS, f + ".ogg") for f in SAMPLER[label]]
        for f in files:  # a unit per file: the selection takes each as a source
            add("sampler-%s-%s" % (label, os.path.splitext(os.path.basename(f))[0]), u_sampler,
                label=label, path=f)

    # drums: rendered kits, recorded one-shots and loops
    drum_units = []
    for kit in GM_KITS:
        drum_units.append(("fluidr3", kit, "train"))
        drum_units.append(("timgm6mb", kit, "val"))
    drum_units += [("freepats", 0, "train"), ("blackpearl", 0, "train"), ("redzeppelin", 0, "val")]
    for renderer, kit, split in drum_units:
        keys = sorted(fp_drums) if renderer == "freepats" else (gm.KIT_CORE if renderer in ("blackpearl", "redzeppelin") else None)
        n = 40 if renderer in ("blackpearl", "redzeppelin", "freepats") else 16
        add("drums-%s-k%03d" % (renderer, kit), u_drums, renderer=renderer, kit=kit, split=split, n=n, keys=keys)
    for kit in sorted(os.listdir(HYDROGEN)):
        d = os.path.join(HYDROGEN, kit)
        files = sorted(f for f in glob.glob(os.path.join(d, "**", "*"), recursive=True)
                       if f.lower().endswith((".wav", ".flac", ".aif", ".aiff")))
        if not files:
            continue
        split = "val" if kit in HYDROGEN_VAL else "train"
        add("hydrogen-%s" % kit, u_files, files=files, label="drums", split=split,
            source="hydrogen-" + C.safe(kit), max_chunks=1)
    add("sonicpi-drums", u_files, files=sonicpi(SONICPI_DRUMS), label="drums", split="val",
        source="sonic-pi-drums", max_chunks=4)
    add("wesnoth-wardrums", u_files, files=[os.path.join(WESNOTH, "ambient", "wardrums.ogg")],
        label="drums", split="train", source="wesnoth-wardrums", max_chunks=8)

    # speech
    q_sp = QUOTA
    tr_src = 1 + len(TUX_SPEECH_TRAIN)
    va_src = 1 + len(TUX_SPEECH_VAL) + 2
    cap_tr = math.ceil(q_sp["train"] * 1.2 / tr_src)
    cap_va = math.ceil(q_sp["val"] * 1.2 / va_src)
    add("speech-asterisk-en", u_files,
        files=_sample(glob.glob("/usr/share/asterisk/sounds/en_US_f_Allison/*.wav"), cap_tr, "ast-en"),
        label="speech", split="train", source="asterisk-en-Allison")
    add("speech-asterisk-fr", u_files,
        files=_sample(glob.glob("/usr/share/asterisk/sounds/fr_CA_f_June/*.wav"), cap_va, "ast-fr"),
        label="speech", split="val", source="asterisk-fr-June")
    for lang in TUX_SPEECH_TRAIN:
        add("speech-tux-" + lang, u_files, files=_sample(tux_speech_files(lang), cap_tr, "tux" + lang),
            label="speech", split="train", source="tuxpaint-" + lang)
    for lang in TUX_SPEECH_VAL:
        add("speech-tux-" + lang, u_files, files=_sample(tux_speech_files(lang), cap_va, "tux" + lang),
            label="speech", split="val", source="tuxpaint-" + lang)
    c2 = [f for f in sorted(glob.glob("/usr/share/codec2/wav/*.wav")) if not f.endswith("/all.wav")]
    add("speech-codec2", u_files, files=c2, label="speech", split="val", source="codec2-examples",
        max_chunks=8)
    ps = "/usr/share/pocketsphinx/test/data"
    add("speech-pocketsphinx-wav", u_files,
        files=sorted(glob.glob(ps + "/cards/*.wav") + glob.glob(ps + "/librivox/*.wav")),
        label="speech", split="val", source="pocketsphinx-testdata", max_chunks=4)
    add("speech-pocketsphinx-raw", u_files,
        files=sorted(glob.glob(ps + "/*.raw") + glob.glob(ps + "/tidigits/*.raw")),
        label="speech", split="val", source="pocketsphinx-testdata", max_chunks=4,
        in_args=("-t", "s16", "-r", "16000", "-c", "1"))

    # environmental sounds and effects (the GM fx programs are above)
    add("env-wesnoth", u_files, files=wesnoth_files(), label="env_fx", split="train",
        source="wesnoth", max_chunks=6)
    add("env-lincity", u_files, files=sorted(glob.glob(LINCITY + "/*.wav")), label="env_fx",
        split="train", source="lincity-ng", max_chunks=3)
    add("env-typing", u_typing, n=60, split="train")
    add("env-tuxpaint", u_files, files=tux_fx_files(), label="env_fx", split="val",
        source="tuxpaint-sounds", max_chunks=3)
    add("env-sonicpi", u_files, files=sonicpi(SONICPI_FX), label="env_fx", split="val",
        source="sonic-pi-fx", max_chunks=3)
    fd = [f for f in sorted(glob.glob(FREEDESKTOP + "/*.oga"))
          if "audio-channel" not in f and "audio-test-signal" not in f]
    add("env-freedesktop", u_files, files=fd, label="env_fx", split="val",
        source="sound-theme-freedesktop", max_chunks=2)

    # real recordings (../shared/data/real, when there): see real.py
    U += real.units(DATASET)
    return U


def select(results):
    rows = [r for uid in sorted(results) for r in results[uid]]
    picked = []
    for label in LABELS:
        for split in ("train", "val"):
            rr = [r for r in rows if r["label"] == label and r["split"] == split]
            # real recordings first, balanced and capped per real source (real.py)
            p_real = real.pick([r for r in rr if real.is_real(r)], QUOTA[split], split,
                               "sel-%s-%s-real" % (label, split))
            picked += p_real
            quota = QUOTA[split] - len(p_real)
            rr = [r for r in rr if not real.is_real(r)]
            if label == "env_fx":
                # recorded effects first; GM fx renders fill up to GM_FX_QUOTA
                gm_src = set(SOURCE_NAME.values())
                rec = [r for r in rr if r["source"] not in gm_src]
                gmr = [r for r in rr if r["source"] in gm_src]
                p_gm = C.balanced_pick(gmr, min(GM_FX_QUOTA[split], quota), "sel-%s-%s-gm" % (label, split))
                p_rec = C.balanced_pick(rec, quota - len(p_gm), "sel-%s-%s" % (label, split))
                picked += p_rec + p_gm
            else:
                picked += C.balanced_pick(rr, quota, "sel-%s-%s" % (label, split))
    return picked
