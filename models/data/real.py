# SPDX-License-Identifier: GPL-2.0-or-later
"""Real recordings (the folder `../shared/data/real`, or --real DIR, or the
environment variable ONEIRO_REAL_DATA): the reviewed mapping of its files to
the sound-categories classes, which files are held out for validation, and
the units that cut them into clips.

The folder's manifest.csv guesses a class per file; for the Berklee library
the guesses come from file-name keywords and are rough. The tables below are
the review: keyed on file names (Berklee: the name stem, i.e. the file name
without its take number, note name or register; see `stem`), anything not
listed is dropped. README.md says what was decided and why.

Sources, as the CSV's `source` column names them:
  real:fsdd:SPEAKER      Free Spoken Digit Dataset, 6 speakers (speech)
  real:weresax           an alto saxophone (winds), held out
  real:meatbass:arco     a double bass, bowed (strings)
  real:meatbass:pizz     the same bass, plucked (guitar_bass: GM's acoustic
                         bass is in that class)
  real:berklee:FAMILY    the Berklee/OLPC sample library, one family of files
                         sharing a name stem (or several stems merged below)
"""

import os
import re
import zlib

import numpy as np

import common as C

ENV = "ONEIRO_REAL_DATA"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT = os.path.join(REPO, "..", "shared", "data", "real")

# where the folder is (set by build.py through find_root); None: not used
ROOT = None


def find_root(arg=None):
    """(root or None, message). An explicit --real or ONEIRO_REAL_DATA that does
    not exist is an error (root None, message says so, fatal True)."""
    if arg:
        where, why = arg, "--real"
    elif os.environ.get(ENV):
        where, why = os.environ[ENV], ENV
    else:
        where, why = DEFAULT, None
    ok = os.path.isfile(os.path.join(where, "manifest.csv"))
    if ok:
        return os.path.abspath(where), "real recordings: %s" % os.path.normpath(where), False
    if why:
        return None, "%s: %s has no manifest.csv: not the real-recordings folder" % (why, where), True
    return None, ("real recordings: none (%s not found); building from Debian packages only. "
                  "Give the folder with --real DIR or %s=DIR (models/data/README.md)"
                  % (os.path.normpath(where), ENV)), False


# ------------------------------------------------------------ the review

# Berklee/OLPC library: name stem -> class. Every stem not listed is dropped.
# Families (the unit of the train/val split and the `source` name) are the
# stems, or the merges in BERKLEE_FAMILY.
BERKLEE = {
    "keys": """piano piano_chord piano_low_rhythmicloop plastic_accordian prep_piano""",
    "guitar_bass": """guitar_chord guitar_pick guitar_riff_cutup guitar_Astring guitar_Bstring
        guitar_Dstring guitar_Gstring guitar_LowEstring guitar_highEstring sitar""",
    "strings": """violin_bounce violin_strange cello_bow_off reverb_double_bass""",
    "winds": """flute_harmonics flute_trill flute_foghorn recorder_harmonics digeridoo digeradoo
        khaen_honk khaen_lo""",
    "synth": """Analogsynth Analogsynth_octaves Arp_note Arp_note+2wholesteps Cool_WhaleFX_Analog
        FM_beat FM_doublebass FM_dubhit FM_long Longsynth Shortsynth Resonant_FM_laser
        arpeggio arpeggio2HIGH arpeggio3crazy arpeggio_shortFX
        casiohorn casiohorn1+ casiohorn1+b casiohorn2+ casiohorn2+b casiohorn_glissando casiohorn_short
        eerie_synth falling_gliss_analog forboding_synth_tritones scifi_synth_tritones
        groovin_analogsynth random_analogsynth kaos_pad layered_pad roland_circuit
        syn_bass syn_brass synthArp synth_bubbles synth_computer_fax synth_computer_long synth_crash
        synth_detuned synth_detuned2_long synth_filter synth_glassy_spin synth_in_5ths
        synth_in_minor_thirds synth_in_minor_thirds7_faded synth_jungle_long synth_laser synth_orch
        synth_rumble synth_siren synth_siren3_long synth_siren4_short synth_warp_core
        synthdrone_long synthdrone_octave techno_sequence wacky_synth
        theremin theremin_fly fly_theremin theremin_octave theremin_orchestra theremin_reverb
        theremin_wow gurgling_theremin oily_theremin""",
    "drums": """Clap clap reverb_clap conga conga_loop conga_roll cowbell1_big cowbell2_small
        cowbell3_plural crash crash_cymbal cym cymbal china_cymbal kick double_kick drum hand_drum
        hand_drum_ shaker shaker_slow shakers_filtered shakers_filtered2_fromsametrack
        shakers_filtered3_fromsametrack egg_shaker snare_brush tabla tambourine war_drum
        woodblock_pitched-LOWERsol woodblock_pitched-do woodblock_pitched-fa woodblock_pitched-mi
        woodblock_pitched-sol woodblock_pitched-ti""",
    # environmental sounds: animals, weather and water, vehicles, machines and
    # tools, household actions. Objects struck, scraped, bowed, spun or shaken
    # to make music (percussion on found objects) are not here: dropped.
    "env_fx": """animal_noises animal_vocal animals bird birds_in_a_park birds_outside birdsinapark
        chirping chriping dog dog_bark horse mooo quack
        ambiance ambient_machine ambient_policesiren ambient_rain background_noise outdoors
        street_noise underground-ambience rain rain+thunder rain_white_noise thunder river
        wild_river waterfall waves_small storm_water running_water water_tap_long water_in_sink
        shower flush sprinkler sprinkler_head fire_hose fire_long crackling water water_bubbles
        waterbubbles water_in_bucket watersplash water_plunge swimming water_swirl water_sizzle
        beer_pour pouring_soda
        Driving Engine_noise engine_noise car_engine boat_engine small_car garbage_truck helicopter
        Train train train_brakes train_passing boston_Subway subwayTrain_B-line underground_train
        tire_squeal_long car_horn honking car_door cardoor Handbrake trunk elevator shopping_cart
        cart bicycle_pump police_siren alarm explosion
        aircompressor airblower blender_pulse clothesdryer dryer coffee_machine copier dremel drill
        drill_short drill_small machinedrill powerdrill powertool_harmonics powertool_long
        electric_screwdriver electric_sharpener pencil_sharpener food_chopper egg_beater hair-dryer
        shaver vacuum fan fan_long fan_noise loudmotor motor radiator radiator_long toaster shredder
        waterpump_electric waterpump_electri camera modern_phone old_phone buzzer stopwatch sawing
        chopping knife_sharpen knifesharpener ratchet ratchet2_loud construction
        door_close door_creak door_openclose door_shut door_slam DoorSlam doorslam closingdoor
        old_door creaky_door door_squeak chair_squeak dragging_chair moving_furniture footsteps_long
        walking walking_in_dirt walking_on_wood up_stairs stomp_up_stairs heels_on_tile
        shoes_in_gravel gravel gravelcrunch paper_bag paper_crumple paper_cuts paper_rip
        turning_pages tearing_cloth cloth_ripping fabric_rustling crinkle asprin_crinkle
        crumpled_bag bubblewrap velcro duct_tape packing_tape packingtape scotch_tape tape_pull
        surgical_tape_dispenser cut_cardboard cutting_cardboard umbrella blinds eating_an_apple
        eating_an_appl eating_chips eating_doritos chewing lettuce cabbage bread_cutting can_opening
        sodaCanCrunch sodaCanCrunch2_short sodaCanCrunch3_loudShort can_crumple can_crush_foot
        GlassBreak glass_break bulbpop plastic_bottle_pop wine_cork bottlecap DroppingCoins
        rolling_coins coin_spinning coinspin key_jingle keyring mixing_cards carddeck cards
        measuring_tape tape_measure tape_measur spray_air asthmainhaler ping_pong ping_pong_solo
        ball_bouncing tennis_ball wind_up_toy windup_toy""",
}
BERKLEE = {lab: set(v.split()) for lab, v in BERKLEE.items()}

# stems merged into one family (kept together on one side of the split)
BERKLEE_FAMILY = {}
for fam, stems in {
    "piano": "piano piano_chord piano_low_rhythmicloop",
    "guitar_string": "guitar_Astring guitar_Bstring guitar_Dstring guitar_Gstring guitar_LowEstring "
                     "guitar_highEstring",
    "flute": "flute_harmonics flute_trill flute_foghorn",
    "didgeridoo": "digeridoo digeradoo",
    "khaen": "khaen_honk khaen_lo",
    "Arp_note": "Arp_note Arp_note+2wholesteps",
    "arpeggio": "arpeggio arpeggio2HIGH arpeggio3crazy arpeggio_shortFX",
    "casiohorn": "casiohorn casiohorn1+ casiohorn1+b casiohorn2+ casiohorn2+b casiohorn_glissando "
                 "casiohorn_short",
    "synth_tritones": "forboding_synth_tritones scifi_synth_tritones",
    "analogsynth_random": "groovin_analogsynth random_analogsynth",
    "synth_computer": "synth_computer_fax synth_computer_long",
    "synth_detuned": "synth_detuned synth_detuned2_long",
    "synth_in_minor_thirds": "synth_in_minor_thirds synth_in_minor_thirds7_faded",
    "synth_siren": "synth_siren synth_siren3_long synth_siren4_short",
    "synthdrone": "synthdrone_long synthdrone_octave",
    "theremin": "theremin theremin_fly fly_theremin theremin_octave theremin_orchestra "
                "theremin_reverb theremin_wow gurgling_theremin oily_theremin",
    "clap": "Clap clap reverb_clap",
    "conga": "conga conga_loop conga_roll",
    "cowbell": "cowbell1_big cowbell2_small cowbell3_plural",
    "cymbal": "crash crash_cymbal cym cymbal china_cymbal",
    "kick": "kick double_kick",
    "hand_drum": "hand_drum hand_drum_",
    "shaker": "shaker shaker_slow shakers_filtered shakers_filtered2_fromsametrack "
              "shakers_filtered3_fromsametrack egg_shaker",
    "woodblock": "woodblock_pitched-LOWERsol woodblock_pitched-do woodblock_pitched-fa "
                 "woodblock_pitched-mi woodblock_pitched-sol woodblock_pitched-ti",
    "birds": "bird birds_in_a_park birds_outside birdsinapark chirping chriping",
    "animals": "animal_noises animal_vocal animals",
    "dog": "dog dog_bark",
    "rain": "ambient_rain rain rain+thunder rain_white_noise thunder",
    "river": "river wild_river waterfall",
    "train": "Train train train_brakes train_passing",
    "subway": "boston_Subway subwayTrain_B-line underground_train underground-ambience",
    "engine": "Driving Engine_noise engine_noise car_engine",
    "car": "car_door cardoor Handbrake trunk",
    "horn": "car_horn honking",
    "siren": "ambient_policesiren police_siren",
    "drill": "drill drill_short drill_small machinedrill powerdrill",
    "powertool": "powertool_harmonics powertool_long",
    "dryer": "clothesdryer dryer",
    "fan": "fan fan_long fan_noise",
    "radiator": "radiator radiator_long",
    "waterpump": "waterpump_electric waterpump_electri",
    "phone": "modern_phone old_phone",
    "ratchet": "ratchet ratchet2_loud",
    "knife_sharpen": "knife_sharpen knifesharpener",
    "door": "door_close door_creak door_openclose door_shut door_slam DoorSlam doorslam closingdoor "
            "old_door creaky_door door_squeak",
    "walking": "walking walking_in_dirt walking_on_wood footsteps_long heels_on_tile",
    "stairs": "up_stairs stomp_up_stairs",
    "gravel": "gravel gravelcrunch shoes_in_gravel",
    "paper": "paper_bag paper_crumple paper_cuts paper_rip",
    "cloth": "tearing_cloth cloth_ripping fabric_rustling",
    "crinkle": "crinkle asprin_crinkle crumpled_bag",
    "tape": "duct_tape packing_tape packingtape scotch_tape tape_pull surgical_tape_dispenser",
    "cardboard": "cut_cardboard cutting_cardboard",
    "eating": "eating_an_apple eating_an_appl eating_chips eating_doritos chewing lettuce cabbage",
    "soda_can": "sodaCanCrunch sodaCanCrunch2_short sodaCanCrunch3_loudShort can_crumple "
                "can_crush_foot can_opening",
    "glass_break": "GlassBreak glass_break",
    "coins": "DroppingCoins rolling_coins coin_spinning coinspin",
    "keys_jingle": "key_jingle keyring",
    "cards": "mixing_cards carddeck cards",
    "tape_measure": "measuring_tape tape_measure tape_measur",
    "ping_pong": "ping_pong ping_pong_solo ball_bouncing tennis_ball",
    "windup_toy": "wind_up_toy windup_toy",
    "water": "water water_bubbles waterbubbles water_in_bucket watersplash water_plunge swimming "
             "water_swirl water_sizzle running_water water_tap_long water_in_sink shower flush",
    "pouring": "beer_pour pouring_soda",
    "sprinkler": "sprinkler sprinkler_head fire_hose",
}.items():
    for s in stems.split():
        BERKLEE_FAMILY[s] = fam

# Berklee families held out for validation. keys, guitar_bass, strings: the
# library is the only real source of keys, and the held-out real source of
# guitar_bass and strings (meatbass trains them), so all its guitar and
# string families are val; keys holds out the prepared piano. winds: the
# library trains (weresax is held out). synth, drums, env_fx: a seeded
# quarter of the families (VAL_FRACTION, by crc32 of the family name), plus
# the ones named here.
BERKLEE_VAL = {"prep_piano", "guitar_chord", "guitar_pick", "guitar_riff_cutup", "guitar_string",
               "sitar", "violin_bounce", "violin_strange", "cello_bow_off", "reverb_double_bass",
               "tabla", "cowbell", "kick", "cymbal"}
BERKLEE_TRAIN = {"piano", "plastic_accordian", "flute", "recorder_harmonics", "didgeridoo", "khaen",
                 "conga", "shaker", "hand_drum", "clap", "snare_brush", "drum", "war_drum",
                 "woodblock", "tambourine"}
VAL_FRACTION = 0.25

FSDD_VAL = {"theo", "yweweler"}   # 2 of the 6 speakers held out
FSDD_CLIPS = 90                    # clips of 2-4 digits made per speaker
MEATBASS_DROP = ("perc_",)         # knocks on the body: not a plucked note


_TAIL = re.compile(r"(?:[_-]*(?:!|(?:_[A-Ga-g]|[A-G])[#b]?\d|\d+[a-d]?|(?<=[_\d])[a-d]))$")


def stem(base):
    """A Berklee file name without its take number, variant letter, note name
    or register: 'piano_Ab4' -> 'piano', 'prep_pianoC1_2' -> 'prep_piano',
    'Analogsynth2_high' -> 'Analogsynth', 'squeak_1a' -> 'squeak'."""
    s = base
    while True:
        t = _TAIL.sub("", s)
        t = re.sub(r"_(high|higher|highmid|low|lower|lowmid|mid)$", "", t)
        if t == s or not t:
            return s
        s = t


def berklee_split(family):
    if family in BERKLEE_VAL:
        return "val"
    if family in BERKLEE_TRAIN:
        return "train"
    return "val" if zlib.crc32(family.encode()) % 1000 < VAL_FRACTION * 1000 else "train"


def berklee_plan(root):
    """{(label, split): {family: [relative paths]}} of the kept Berklee files."""
    d = os.path.join(root, "berklee", "berklee")
    plan = {}
    if not os.path.isdir(d):
        return plan
    cls = {s: lab for lab, ss in BERKLEE.items() for s in ss}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".ogg"):
            continue
        s = stem(fn[:-4])
        if s not in cls:
            continue
        fam = BERKLEE_FAMILY.get(s, s)
        key = (cls[s], berklee_split(fam))
        plan.setdefault(key, {}).setdefault(fam, []).append(os.path.join("berklee", "berklee", fn))
    return plan


def _files(root, sub, pattern=".ogg"):
    d = os.path.join(root, sub)
    out = []
    for dp, _dn, fns in os.walk(d):
        for fn in fns:
            if fn.endswith(pattern):
                out.append(os.path.relpath(os.path.join(dp, fn), root))
    return sorted(out)


# ------------------------------------------------------------ unit workers

def _read(rel, seconds=None):
    eff = ("trim", "0", "%g" % seconds) if seconds else ()
    return C.sox_read(os.path.join(ROOT, rel), effects=eff)


def u_real_files(cw, files, label, split, max_chunks, max_len=2.0, min_len=1.0):
    """files: [(relative path, source)]. Each file: leading and trailing
    silence trimmed, cut into up to max_chunks pieces of max_len s; the
    near-silent pieces dropped. Seeds and names come from the relative path,
    so the clips do not depend on where the folder is."""
    for k, (rel, source) in enumerate(files):
        rng = C.rng_for("real", rel)
        try:
            x = _read(rel, seconds=max_len * max_chunks + 2.0)
        except Exception as e:
            C.log("    skip %s: %s" % (rel, str(e)[:120]))
            continue
        x = C.trim_tail(C.trim_lead(x))
        for j, piece in enumerate(C.chunks(x, max_len, min_len, max_chunks)):
            lvl = C.active_rms_db(piece)
            if lvl < C.SILENT_DBFS:
                continue
            name = "%04d_%s_%d" % (k, os.path.splitext(os.path.basename(rel))[0][:40], j)
            cw.add(C.finish_clip(piece, rng), label, split, source, name=name, file=rel,
                   group=source, level_db=round(lvl, 1))


def u_fsdd(cw, speaker, files, split, n):
    """Spoken digits of one speaker, 2-4 in a row (each trimmed, 50-250 ms
    apart) up to 2 s: a clip that is speech most of its length, where one
    digit (0.4 s) padded to 1.1 s would be mostly silence. Each recording is
    used once, in a seeded order."""
    rng = C.rng_for("fsdd", speaker)
    order = [files[i] for i in rng.permutation(len(files))]
    pos = 0
    source = "real:fsdd:" + speaker
    for c in range(n):
        want = int(rng.integers(2, 5))
        parts, total = [], 0
        while len(parts) < want and pos < len(order):
            x = C.trim_tail(C.trim_lead(_read(order[pos]), rel_db=-35.0), rel_db=-40.0, post=0.02)
            pos += 1
            if len(x) < int(0.1 * C.SR):
                continue
            gap = np.zeros(int(rng.uniform(0.05, 0.25) * C.SR)) if parts else np.zeros(0)
            if parts and total + len(gap) + len(x) > 2.0 * C.SR:
                break
            parts += [gap, x]
            total += len(gap) + len(x)
        if not parts:
            break
        y = np.concatenate(parts)[: int(2.0 * C.SR)]
        cw.add(C.finish_clip(y, rng), "speech", split, source, name="%s%03d" % (speaker, c),
               group=source, digits=len(parts) // 2)


# ------------------------------------------------------------ plan

def units(dataset):
    """The units of the real recordings for sound-categories (none without
    the folder)."""
    if ROOT is None:
        return []
    U = []
    add = lambda uid, func, **kw: U.append(C.Unit(dataset, uid, func, **kw))
    # Free Spoken Digit Dataset: one unit per speaker
    fsdd = _files(ROOT, "free-spoken-digit-dataset")
    speakers = sorted({os.path.basename(f).split("_")[1] for f in fsdd})
    for sp in speakers:
        files = [f for f in fsdd if os.path.basename(f).split("_")[1] == sp]
        add("real-fsdd-" + sp, u_fsdd, speaker=sp, files=files,
            split="val" if sp in FSDD_VAL else "train", n=FSDD_CLIPS)
    # weresax: alto sax notes, held out (winds)
    sax = _files(ROOT, "weresax")
    if sax:
        add("real-weresax", u_real_files, files=[(f, "real:weresax") for f in sax],
            label="winds", split="val", max_chunks=3)
    # meatbass: bowed -> strings, plucked -> guitar_bass (both train)
    for art, label in (("arco", "strings"), ("pizz", "guitar_bass")):
        fs = [f for f in _files(ROOT, os.path.join("meatbass", "Samples", art))
              if not os.path.basename(f).startswith(MEATBASS_DROP)]
        if fs:
            add("real-meatbass-" + art, u_real_files,
                files=[(f, "real:meatbass:" + art) for f in fs], label=label, split="train",
                max_chunks=2)
    # Berklee: one unit per class and split
    for (label, split), fams in sorted(berklee_plan(ROOT).items()):
        files = [(f, "real:berklee:" + fam) for fam in sorted(fams) for f in fams[fam]]
        add("real-berklee-%s-%s" % (label, split), u_real_files, files=files, label=label,
            split=split, max_chunks=4)
    return U


# ------------------------------------------------------------ selection

# real clips per class and split: at most SHARE of the class's quota, shared
# equally by the real sources that have the class (what one cannot fill, the
# others may take), each at most CAP clips; within a source a round robin
# over its speakers, articulations or families.
SHARE = {"train": 0.45, "val": 0.5}
CAP = {"train": 300, "val": 100}
CAP_SOURCE = {"fsdd": {"train": 200, "val": 100}}  # a modest share of 3,000 digits


def top_source(source):
    """'real:berklee:piano' -> 'berklee'."""
    return source.split(":")[1]


def is_real(row):
    return row["source"].startswith("real:")


def pick(rows, quota, split, salt):
    """Real rows of one class and split -> the picked rows (see SHARE, CAP)."""
    by_top = {}
    for r in rows:
        by_top.setdefault(top_source(r["source"]), []).append(r)
    budget = int(SHARE[split] * quota)
    tops = sorted(by_top)
    caps = {t: min(len(by_top[t]), CAP_SOURCE.get(t, CAP)[split]) for t in tops}
    # water-filling: equal shares, what a small source leaves goes to the others
    take = {t: 0 for t in tops}
    left = budget
    open_ = [t for t in tops if caps[t] > 0]
    while left > 0 and open_:
        each = max(1, left // len(open_))
        for t in list(open_):
            g = min(each, caps[t] - take[t], left)
            take[t] += g
            left -= g
            if take[t] >= caps[t]:
                open_.remove(t)
            if left <= 0:
                break
    picked = []
    for t in tops:
        picked += C.balanced_pick(by_top[t], take[t], "%s-%s" % (salt, t))
    return picked
