#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_train.sh -- `oneiro train` and `oneiro score` end to end, on a small
# dataset generated here: 3 classes x 12 short files with variations of
# pitch, level and length -- sine tones (sox), one-note piano renders of
# TimGM6mb (fluidsynth) and one spoken phrase (espeak-ng) -- at 16, 22.05 kHz,
# mono and stereo, WAV, FLAC, OGG and AIFF. Checks: a tiny model learns clearly
# better than chance (window and file accuracy on held-out files), the same
# command twice gives the same model bits, the report and its picture, the
# metadata (no path of this machine), accuracy per held-out source,
# CSV / folder / UrbanSound8K datasets, --binary, --layers, bad
# datasets (exit status, a message naming the file and line, no model and
# no temporary file left), score --json, Ctrl-C.
# Run from the repository root after `make all`. Needs sox, fluidsynth with
# /usr/share/sounds/sf2/TimGM6mb.sf2 (timgm6mb-soundfont) and espeak-ng.
B=${ONEIRO:-build/oneiro}
PY=${PYTHON:-/usr/bin/python3}
SF2=/usr/share/sounds/sf2/TimGM6mb.sf2
pass=0
fail=0

if [ ! -x "$B" ]; then
	echo "test_train: $B not built (make all)" >&2
	echo "test_train: 0 passed, 1 failed"
	exit 1
fi
for tool in sox fluidsynth espeak-ng; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "test_train: $tool is not installed (apt-get install sox fluidsynth timgm6mb-soundfont espeak-ng)" >&2
		echo "test_train: 0 passed, 1 failed"
		exit 1
	fi
done
if [ ! -r $SF2 ]; then
	echo "test_train: $SF2 missing (apt-get install timgm6mb-soundfont)" >&2
	echo "test_train: 0 passed, 1 failed"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test_train.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
t_start=$(date +%s)
# the date in the model's metadata: fixed, so that two runs can be compared
SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH

. "$(dirname "$0")/checks.sh"
# empty DIR: nothing at all in it (no model, no temporary file)
empty() { [ -z "$(ls -A "$1")" ]; }

# ---------------------------------------------------------------- the data
D=$T/data
mkdir -p "$D/tone" "$D/piano" "$D/speech" "$T/midi"
"$PY" - "$T/midi" <<'EOF'
import struct, sys
def vlq(n):
    out = [n & 0x7f]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7f) | 0x80)
        n >>= 7
    return bytes(out)
for i in range(12):
    note, vel, dur = 48 + 2 * i, 50 + (i * 37) % 70, 480 + (i * 173) % 700
    ev = (bytes([0, 0xC0, 0, 0, 0x90, note, vel]) + vlq(dur) + bytes([0x80, note, 0]) +
          vlq(10) + bytes([0xFF, 0x2F, 0]))
    open('%s/n%d.mid' % (sys.argv[1], i), 'wb').write(
        b'MThd' + struct.pack('>IHHH', 6, 0, 1, 480) + b'MTrk' + struct.pack('>I', len(ev)) + ev)
EOF
# tones at the piano notes' pitches (so that pitch alone does not tell the
# classes apart), lengths 0.5 to 1.8 s, levels -26 to -3 dBFS
i=0
while [ $i -lt 12 ]; do
	set -- $(awk -v i=$i 'BEGIN { printf "%.2f %.2f %.3f", 440 * 2 ^ ((48 + 2 * i - 69) / 12), 0.5 + ((7 * i) % 12) * 0.12, 0.05 + ((5 * i) % 12) * 0.06 }')
	case $i in
	3) ext=flac ;;
	7) ext=aiff ;;
	9) ext=ogg ;;
	*) ext=wav ;;
	esac
	if [ $i -eq 5 ]; then
		sox -R -n -r 22050 -b 16 -c 2 "$D/tone/tone$i.$ext" synth $2 sine $1 vol $3 2>>"$T/gen.err"
	else
		sox -R -n -r 16000 -b 16 "$D/tone/tone$i.$ext" synth $2 sine $1 vol $3 2>>"$T/gen.err"
	fi
	fluidsynth -ni -q -g 0.8 -r 22050 -F "$D/piano/piano$i.wav" $SF2 "$T/midi/n$i.mid" \
		>/dev/null 2>>"$T/gen.err"
	espeak-ng -w "$D/speech/speech$i.wav" -p $((20 + 5 * i)) -s $((120 + 8 * i)) \
		-a $((40 + 12 * i)) "the quick brown fox, number $i" 2>>"$T/gen.err"
	i=$((i + 1))
done
n=$(find "$D" -type f | wc -l)
if [ "$n" -ne 36 ]; then
	echo "test_train: generating the data failed ($n of 36 files):" >&2
	cat "$T/gen.err" >&2
	echo "test_train: 0 passed, 1 failed"
	exit 1
fi
echo "     (36 files generated in $(($(date +%s) - t_start)) s)"

# a CSV of the same files with an explicit split (files 2, 6, 10 of each
# class for validation) and a source column
{
	echo "path,label,split,source"
	for c in tone piano speech; do
		for f in "$D/$c"/*; do
			b=$(basename "$f")
			k=$(echo "$b" | tr -dc 0-9)
			case $k in 2 | 6 | 10) s=val ;; *) s=train ;; esac
			echo "$c/$b,$c,$s,gen-$c"
		done
	done
} >"$D/list.csv"

# the accuracy lines of a report: "window accuracy  91.2 %    file accuracy  88.9 %"
acc() { # report, window|file
	sed -n "s/.*$2 accuracy *\([0-9.]*\) %.*/\1/p" "$1" | head -n 1
}
above() { # value, threshold
	awk -v v="$1" -v t="$2" 'BEGIN { exit !(v != "" && v + 0 > t + 0) }'
}
# the report's picture (cairo): PATH W H -- a PNG of W x H pixels (decoded),
# an SVG of W x H px (parsed) or a one-page PDF of W x H points, by the
# extension; and what file(1) says of it, when it is installed
pic_ok() {
	"$PY" - "$@" <<'EOF' || return 1
import re, struct, sys, zlib
import xml.etree.ElementTree as ET
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = open(path, 'rb').read()
if path.endswith('.png'):
    if d[:8] != b'\x89PNG\r\n\x1a\n' or d[12:16] != b'IHDR':
        raise SystemExit('%s: not a PNG' % path)
    if struct.unpack('>II', d[16:24]) != (w, h):
        raise SystemExit('%s: %dx%d, not %dx%d' % ((path,) + struct.unpack('>II', d[16:24]) + (w, h)))
    pos, idat = 8, b''
    while pos < len(d):
        n = struct.unpack('>I', d[pos:pos + 4])[0]
        if d[pos + 4:pos + 8] == b'IDAT':
            idat += d[pos + 8:pos + 8 + n]
        pos += 12 + n
    bpp = {2: 3, 6: 4}[d[25]]
    raw = zlib.decompress(idat)
    if d[24] != 8 or len(raw) != h * (w * bpp + 1) or len(set(raw)) < 32:
        raise SystemExit('%s: bad or empty image data' % path)
elif path.endswith('.svg'):
    root = ET.fromstring(d)
    ns = '{http://www.w3.org/2000/svg}'
    if root.tag != ns + 'svg' or (root.get('width'), root.get('height')) != ('%dpx' % w, '%dpx' % h):
        raise SystemExit('%s: not an SVG of %dx%d px' % (path, w, h))
    if len(root.findall('.//%ssymbol' % ns)) < 20:
        raise SystemExit('%s: hardly any glyphs' % path)
elif path.endswith('.pdf'):
    if not d.startswith(b'%PDF-1.') or not d.rstrip().endswith(b'%%EOF'):
        raise SystemExit('%s: no %%PDF- header or %%%%EOF' % path)
    if len(re.findall(rb'/Type /Page\b', d)) != 1 or b'/MediaBox [ 0 0 %d %d ]' % (w, h) not in d:
        raise SystemExit('%s: not one page of %dx%d points' % (path, w, h))
    if b'DejaVu' not in d:
        raise SystemExit('%s: no DejaVu font' % path)
EOF
	command -v file >/dev/null || return 0
	case $1 in
	*.png) file -b "$1" | grep -q "PNG image data, $2 x $3" ;;
	*.svg) file -b "$1" | grep -q 'SVG Scalable Vector Graphics image' ;;
	*.pdf) file -b "$1" | grep -q 'PDF document' ;;
	esac
}

TRAIN="--arch tiny --window 0.5 --batch 8 --epochs 30 --patience 10 --threads 2 --seed 1"

# ---------------------------------------------------------------- learning (CSV)
mkdir -p "$T/m"
t0=$(date +%s)
"$B" train $TRAIN "$D/list.csv" "$T/m/csv.onm" >"$T/out" 2>"$T/err"
st=$?
t1=$(date +%s)
check "train on a CSV (path,label,split,source): exit 0" [ $st -eq 0 ]
wa=$(acc "$T/m/csv.report.txt" window)
fa=$(acc "$T/m/csv.report.txt" file)
echo "     (CSV split: validation accuracy windows $wa %, files $fa %, chance 33.3 %; $((t1 - t0)) s)"
check "CSV: validation window accuracy $wa % > 60 % (chance 33 %)" above "$wa" 60
check "CSV: validation file accuracy $fa % > 60 %" above "$fa" 60
check "the report goes to stdout and to MODEL.report.txt" \
	sh -c "grep -q 'confusion matrix' '$T/out' && grep -q 'precision' '$T/m/csv.report.txt'"
check "MODEL.report.png is a 1040x900 PNG" pic_ok "$T/m/csv.report.png" 1040 900
check "no MODEL.report.svg or .pdf without --svg or --pdf" \
	sh -c "[ ! -e '$T/m/csv.report.svg' ] && [ ! -e '$T/m/csv.report.pdf' ]"
check "split given by the CSV, 27 training and 9 validation files" \
	sh -c "grep -q \"given by the CSV's 'split' column\" '$T/m/csv.report.txt' &&
	       grep -q 'training 27 files.*validation 9 files' '$T/m/csv.report.txt'"
# accuracy per source: one row per held-out source with its files and
# windows (here one source per class: the class's validation counts) and
# as many files right as the report's file list says
per_source_ok() {
	"$PY" - "$T/m/csv.report.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
cls = {}
for m in re.finditer(r'^ +\d+ (\w+) +(\d+) +(\d+) +(\d+) +(\d+)$', t, re.M):
    cls[m.group(1)] = (int(m.group(4)), int(m.group(5)))
ok = {}
for m in re.finditer(r'^  (ok|WRONG) +(\w+) -> (\w+) ', t, re.M):
    ok[m.group(2)] = ok.get(m.group(2), 0) + (m.group(1) == 'ok')
sec = t.split('\nper source (validation set; 3 with files there):\n')
assert len(sec) == 2, 'no per-source table'
rows = {}
for line in sec[1].split('\n')[1:4]:
    w = line.split()
    assert len(w) == 8, line
    rows[w[0]] = (w[1], int(w[2]), float(w[3]), int(w[5]), float(w[6]))
assert sorted(rows) == ['gen-piano', 'gen-speech', 'gen-tone'], rows
for src, (c, files, fpct, wins, wpct) in rows.items():
    assert src == 'gen-' + c, (src, c)
    assert (files, wins) == cls[c], (src, files, wins, cls[c])
    assert abs(fpct - 100.0 * ok[c] / files) < 0.06, (src, fpct, ok[c])
EOF
}
check "the report: accuracy per source, with each held-out source's files, windows and files right" per_source_ok
check "the report names the dataset from its folder, not by this machine's path" \
	sh -c "grep -q '^dataset: *data/list.csv (CSV)' '$T/m/csv.report.txt' && ! grep -q '$T' '$T/m/csv.report.txt'"
"$B" inspect "$T/m/csv.onm" >"$T/inspect" 2>"$T/err"
check "the metadata names no path of this machine (dataset, command)" \
	sh -c "grep -q '^dataset: data/list.csv' '$T/inspect' &&
	       grep -q '^command: oneiro train .* data/list.csv m/csv.onm$' '$T/inspect' &&
	       ! grep -E '^(dataset|command): ' '$T/inspect' | grep -q '$T'"
meta_ok() {
	for k in "dataset: " "class 0: piano (train 9 files" "split: " "architecture: tiny" \
		"epochs: " "best epoch: " "val accuracy: windows" "date: 2023-11-14T22:13:20Z" \
		"seed: 1" "command: oneiro train --arch tiny"; do
		grep -q "^$k" "$T/inspect" || { echo "     metadata lacks '$k'"; return 1; }
	done
	grep -q "window RMS 0.1" "$T/inspect" || { echo "     not RMS-normalised"; return 1; }
}
check "the model loads; its metadata records dataset, classes, split, epochs, accuracy, date, seed, command" meta_ok
# tiny: k64 s16, then three k3 convs each followed by a pool of 4 (worked by
# hand: 64, 96, 144, 272, 464, 976, 1744); padding makes the shortest input less
check "inspect: receptive field 1744 samples (109.0 ms), shortest input 1072" \
	sh -c "grep -q '^receptive field: 1744 samples (109.0 ms)' '$T/inspect' &&
	       grep -q '^shortest input: 1072 samples (67.0 ms)' '$T/inspect'"

# score: JSON that parses, the right class for training files
"$B" score --json --model "$T/m/csv.onm" "$D/speech/speech0.wav" "$D/tone/tone1.wav" \
	"$D/piano/piano4.wav" "$T/nonexistent.wav" >"$T/score.json" 2>"$T/err"
st=$?
check "score --json: exit 1 when a file cannot be read, the others scored" [ $st -eq 1 ]
check "score --json output parses (python3 -m json.tool)" \
	sh -c "'$PY' -m json.tool '$T/score.json' >/dev/null"
score_ok() {
	"$PY" - "$T/score.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
want = ['speech', 'tone', 'piano', None]
assert len(r) == 4, r
for o, w in zip(r, want):
    if w is None:
        assert 'error' in o and o['file'].endswith('nonexistent.wav'), o
        continue
    ps = [c['probability'] for c in o['classes']]
    assert o['top'] == w == o['classes'][0]['name'], (o['file'], o['top'], w)
    assert ps == sorted(ps, reverse=True) and abs(sum(ps) - 1) < 1e-3, ps
EOF
}
check "score: the right top class for training files, probabilities sorted, summing to 1" score_ok
ONEIRO_MODEL="$T/m/csv.onm" "$B" score "$D/tone/tone0.wav" >"$T/score.txt" 2>"$T/err"
check "score (text, the model from \$ONEIRO_MODEL): the top class first" \
	sh -c "sed -n 2p '$T/score.txt' | grep -q '^  tone '"

# ---------------------------------------------------------------- folders, determinism
"$B" train $TRAIN --val-fraction 0.25 "$D" "$T/m/a.onm" >/dev/null 2>"$T/err"
check "train on class folders with a seeded file split: exit 0" [ -s "$T/m/a.onm" ]
wa=$(acc "$T/m/a.report.txt" window)
fa=$(acc "$T/m/a.report.txt" file)
echo "     (folders, 25 % of the files held out: validation accuracy windows $wa %, files $fa %)"
check "folders: validation window accuracy $wa % > 60 %" above "$wa" 60
check "folders: 9 files per class for training, 3 held out" \
	sh -c "grep -q 'training 27 files.*validation 9 files' '$T/m/a.report.txt'"
mv "$T/m/a.onm" "$T/m/a1.onm"
"$B" train $TRAIN --val-fraction 0.25 "$D" "$T/m/a.onm" >/dev/null 2>"$T/err"
check "the same command twice: byte-identical models (same seed, data, threads)" \
	cmp -s "$T/m/a.onm" "$T/m/a1.onm"

# --augment: still learns, repeatable, and really varies the windows
"$B" train $TRAIN --augment --val-fraction 0.25 "$D" "$T/m/g.onm" >/dev/null 2>"$T/err"
mv "$T/m/g.onm" "$T/m/g1.onm"
"$B" train $TRAIN --augment --val-fraction 0.25 "$D" "$T/m/g.onm" >/dev/null 2>"$T/err"
wa=$(acc "$T/m/g.report.txt" window)
echo "     (--augment: validation accuracy windows $wa %)"
check "--augment: validation window accuracy $wa % > 60 %" above "$wa" 60
check "--augment twice: byte-identical models; not the model trained without it" \
	sh -c "cmp -s '$T/m/g.onm' '$T/m/g1.onm' && ! cmp -s '$T/m/g.onm' '$T/m/a.onm'"
check "--augment is recorded in the report" \
	grep -q "augmented (speed, EQ, tilt, polarity, noise)" "$T/m/g.report.txt"

# --robust: learns from attacked windows, reports the accuracy under the
# attack, the same bits twice; silly bounds refused
"$B" train $TRAIN --robust -20 --robust-steps 2 --val-fraction 0.25 "$D" "$T/m/r.onm" \
	>/dev/null 2>"$T/err"
mv "$T/m/r.onm" "$T/m/r1.onm"
"$B" train $TRAIN --robust -20 --robust-steps 2 --val-fraction 0.25 "$D" "$T/m/r.onm" \
	>/dev/null 2>"$T/err"
wa=$(acc "$T/m/r.report.txt" window)
ra=$(sed -n 's/.*robust window accuracy *\([0-9.]*\) %.*/\1/p' "$T/m/r.report.txt" | head -n 1)
echo "     (--robust -20: validation accuracy windows $wa %, under the attack ${ra:-?} %)"
check "--robust: validation window accuracy $wa % > 60 %" above "$wa" 60
check "--robust: the report gives the accuracy under the attack, and the setting" \
	sh -c "[ -n '$ra' ] && grep -q 'robust (trained on windows attacked by 2 steps' '$T/m/r.report.txt'"
check "--robust: the model's metadata records the robust accuracy" \
	sh -c "'$B' inspect '$T/m/r.onm' | grep -q 'robust accuracy: windows'"
check "--robust twice: byte-identical models; not the plain model" \
	sh -c "cmp -s '$T/m/r.onm' '$T/m/r1.onm' && ! cmp -s '$T/m/r.onm' '$T/m/a.onm'"
for v in 0 3 -61 x; do
	"$B" train $TRAIN --robust "$v" "$D" "$T/m/rbad.onm" >/dev/null 2>"$T/err"
	s=$?
	check "--robust $v: refused with a usage error naming --robust, no model" \
		sh -c "[ $s -eq 2 ] && grep -q -- '--robust' '$T/err' && [ ! -e '$T/m/rbad.onm' ]"
done

# --stream (data larger than memory): windows read from a cache file as
# needed give the very same network as training in memory (the metadata
# differs only by the command line), plain, augmented and robust; the
# cache leaves nothing behind; a cache folder that cannot be written is a
# clear error before any training
same_net() {
	"$PY" - "$1" "$2" <<'EOF2'
import sys
sys.path.insert(0, "tests")
import numpy as np
import onm
a, b = onm.read(sys.argv[1]), onm.read(sys.argv[2])
same = a["ops"] == b["ops"] and len(a["params"]) == len(b["params"]) and all(
    np.array_equal(x, y) for x, y in zip(a["params"], b["params"]))
sys.exit(0 if same else 1)
EOF2
}
# model NAME trained again with --stream OPTIONS...: the same network, the
# same accuracies in the report, and the cache folder left empty
stream_ok() {
	n=$1
	shift
	"$B" train $TRAIN "$@" --stream --cache-dir "$T/cache" --val-fraction 0.25 "$D" \
		"$T/m/s$n.onm" >/dev/null 2>"$T/err" || { cat "$T/err"; return 1; }
	same_net "$T/m/$n.onm" "$T/m/s$n.onm" || { echo "     not the same network"; return 1; }
	grep -i accuracy "$T/m/$n.report.txt" >"$T/acc1"
	grep -i accuracy "$T/m/s$n.report.txt" >"$T/acc2"
	cmp -s "$T/acc1" "$T/acc2" || { echo "     the reports' accuracies differ"; return 1; }
	empty "$T/cache" || { echo "     the cache was left behind"; return 1; }
}
mkdir -p "$T/cache"
check "--stream: the same network as in memory, bit for bit; no cache left" stream_ok a
check "--stream --augment: the same network as in memory" stream_ok g --augment
check "--stream --robust: the same network and robust accuracy as in memory" \
	stream_ok r --robust -20 --robust-steps 2

# a cache that fills up (a file size limit stands in for a full disk): said
# once as the cache's problem, loading stops, no model
(
	trap '' XFSZ
	ulimit -f 40
	"$B" train $TRAIN --stream --cache-dir "$T/cache" "$D" "$T/m/sfull.onm" >/dev/null 2>"$T/err"
)
s=$?
check "--stream with a full cache: exit 1, one message about the cache, no model" \
	sh -c "[ $s -eq 1 ] && [ \$(grep -c 'stream cache' '$T/err') -eq 1 ] && grep -q 'loading stopped' '$T/err' && [ ! -e '$T/m/sfull.onm' ]"
"$B" train $TRAIN --cache-dir "$T/no/such/folder" "$D" "$T/m/sbad.onm" >/dev/null 2>"$T/err"
s=$?
check "--cache-dir that cannot be written: exit 1, a message naming it, no model" \
	sh -c "[ $s -eq 1 ] && grep -q 'no/such/folder' '$T/err' && [ ! -e '$T/m/sbad.onm' ]"

# --room and --mask: still learn, repeatable, change the model; 0 is the
# plain --augment model bit for bit (their own seed stream); recorded in the
# report; out-of-range shares refused
"$B" train $TRAIN --augment --room 0.5 --mask 0.5 --val-fraction 0.25 "$D" "$T/m/h.onm" \
	>/dev/null 2>"$T/err"
mv "$T/m/h.onm" "$T/m/h1.onm"
"$B" train $TRAIN --augment --room 0.5 --mask 0.5 --val-fraction 0.25 "$D" "$T/m/h.onm" \
	>/dev/null 2>"$T/err"
wa=$(acc "$T/m/h.report.txt" window)
echo "     (--room 0.5 --mask 0.5: validation accuracy windows $wa %)"
check "--room --mask: validation window accuracy $wa % > 60 %" above "$wa" 60
check "--room --mask twice: byte-identical models; not the --augment model" \
	sh -c "cmp -s '$T/m/h.onm' '$T/m/h1.onm' && ! cmp -s '$T/m/h.onm' '$T/m/g.onm'"
check "--room and --mask are recorded in the report" \
	grep -q "rooms on 50 % of the windows, masks on 50 % of the windows" "$T/m/h.report.txt"
"$B" train $TRAIN --augment --room 0 --mask 0 --val-fraction 0.25 "$D" "$T/m/h0.onm" \
	>/dev/null 2>"$T/err"
check "--room 0 --mask 0: the --augment model's network (the same bits but the command)" \
	same_net "$T/m/h0.onm" "$T/m/g.onm"
"$B" train $TRAIN --room 0.5 --val-fraction 0.25 "$D" "$T/m/h2.onm" >/dev/null 2>"$T/err"
check "--room without --augment trains a model of its own" \
	sh -c "[ -s '$T/m/h2.onm' ] && ! cmp -s '$T/m/h2.onm' '$T/m/a.onm'"
for v in -0.1 1.5 x; do
	for o in --room --mask; do
		"$B" train $TRAIN $o "$v" "$D" "$T/m/hbad.onm" >/dev/null 2>"$T/err"
		s=$?
		check "$o $v: refused with a usage error naming $o, no model" \
			sh -c "[ $s -eq 2 ] && grep -q -- '$o' '$T/err' && [ ! -e '$T/m/hbad.onm' ]"
	done
done

# whole sources held out when the CSV has a source column and no split:
# sources of 3 files each; the report lists the validation files
{
	echo "path,label,source"
	for c in tone piano speech; do
		for f in "$D/$c"/*; do
			k=$(basename "$f" | tr -dc 0-9)
			echo "$c/$(basename "$f"),$c,$c-take$((k / 3))"
		done
	done
} >"$D/groups.csv"
"$B" train $TRAIN --epochs 2 --val-fraction 0.3 --quiet "$D/groups.csv" "$T/m/grp.onm" 2>"$T/err"
st=$?
groups_ok() {
	[ $st -eq 0 ] && "$PY" - "$D/groups.csv" "$T/m/grp.report.txt" <<'EOF'
import re, sys
rows = open(sys.argv[1]).read().splitlines()
src = {i + 1: r.split(',')[2] for i, r in enumerate(rows)}
val = [int(n) for n in re.findall(r'groups\.csv:(\d+)\)', open(sys.argv[2]).read())]
assert val, 'no validation files listed'
held = {src[n] for n in val}
for n, s in src.items():
    if n > 1 and s in held:
        assert n in val, 'source %s is on both sides (line %d)' % (s, n)
for c in ('tone', 'piano', 'speech'):
    assert any(s.startswith(c) for s in held), 'no %s source held out' % c
EOF
}
check "no split in the CSV: whole sources held out, every class validated" groups_ok

# ---------------------------------------------------------------- UrbanSound8K layout
U=$T/us8k
mkdir -p "$U/metadata"
{
	echo "slice_file_name,fsID,start,end,salience,fold,classID,class"
	id=0
	for c in tone piano speech; do
		for f in "$D/$c"/*; do
			k=$(basename "$f" | tr -dc 0-9)
			fold=$((k % 4 + 1))
			mkdir -p "$U/audio/fold$fold"
			cp "$f" "$U/audio/fold$fold/$id-$k-0.${f##*.}"
			echo "$id-$k-0.${f##*.},$((1000 + 10 * id + k)),0.0,1.0,1,$fold,$id,$c"
		done
		id=$((id + 1))
	done
} >"$U/metadata/UrbanSound8K.csv"
"$B" train $TRAIN --epochs 12 --folds 1-3 --val-folds 4 --quiet "$U/metadata/UrbanSound8K.csv" \
	"$T/m/us.onm" 2>"$T/err"
st=$?
us_ok() {
	[ $st -eq 0 ] &&
		grep -q 'split: *folds 1-3 for training, fold 4 for validation' "$T/m/us.report.txt" &&
		"$B" inspect --class-names "$T/m/us.onm" | tr '\n' ' ' | grep -q '^tone piano speech $'
}
check "UrbanSound8K metadata: --folds 1-3 --val-folds 4, classes in classID order" us_ok
echo "     (UrbanSound8K layout, fold 4: validation accuracy windows $(acc "$T/m/us.report.txt" window) %)"

# ---------------------------------------------------------------- binary, --layers, --svg, --pdf
"$B" train $TRAIN --epochs 8 --binary speech --balance weights --svg --pdf --quiet "$D/list.csv" "$T/m/bin.onm" 2>"$T/err"
st=$?
bin_ok() {
	[ $st -eq 0 ] && "$B" inspect "$T/m/bin.onm" | grep -q 'binary (interestingness)' &&
		grep -q 'specificity' "$T/m/bin.report.txt" &&
		grep -q 'negative predictive value' "$T/m/bin.report.txt"
}
check "--binary speech --balance weights: an interestingness model, specificity and NPV in the report" bin_ok
check "--svg: MODEL.report.svg, 1040x900 px" pic_ok "$T/m/bin.report.svg" 1040 900
check "--pdf: MODEL.report.pdf, one page of 1040x900 points" pic_ok "$T/m/bin.report.pdf" 1040 900
check "with --svg --pdf, MODEL.report.png still" pic_ok "$T/m/bin.report.png" 1040 900
"$B" score --json --model "$T/m/bin.onm" "$D/speech/speech1.wav" >"$T/bin.json" 2>"$T/err"
check "score --json of a binary model gives its interestingness" \
	"$PY" -c "import json; r = json.load(open('$T/bin.json')); assert 0 <= r[0]['interestingness'] <= 1"
"$B" train --layers "conv:1:4:32:8,relu,conv:4:8:3:1:1,lrelu:0.1,maxpool:4:2,gmean,dense:8:N" \
	--window 0.25 --epochs 2 --threads 1 --quiet "$D/list.csv" "$T/m/lay.onm" 2>"$T/err"
st=$?
check "--layers with N: trains, and inspect shows the layers" \
	sh -c "[ $st -eq 0 ] && '$B' inspect '$T/m/lay.onm' | grep -q 'conv 4->8 k3 s1 p1 + lrelu 0.1 + maxpool k4 s2' &&
	       '$B' inspect '$T/m/lay.onm' | grep -q 'dense 8->3'"
mkdir -p "$T/o"
"$B" train --layers "conv:1:4:32:8,relu,dense:4:N" --quiet "$D/list.csv" "$T/o/m.onm" 2>"$T/err"
st=$?
check "a bad --layers: exit 2 naming the item, nothing written" \
	sh -c "[ $st -eq 2 ] && grep -q \"item 3 'dense:4:N'\" '$T/err' && [ -z \"\$(ls -A '$T/o')\" ]"

# ---------------------------------------------------------------- bad datasets
E=$T/bad
mkdir -p "$E"
bad_case() { # name, expected message (grep -E), then the train arguments
	name=$1
	want=$2
	shift 2
	rm -rf "$T/o"
	mkdir -p "$T/o"
	"$B" train --arch tiny --epochs 1 --quiet "$@" "$T/o/m.onm" >/dev/null 2>"$T/err"
	st=$?
	if [ $st -ne 0 ] && grep -Eq "$want" "$T/err" && empty "$T/o"; then
		ok "$name: exit $st, '$(head -n 1 "$T/err" | sed "s|$T/||g" | cut -c 1-90)', no model"
	else
		bad "$name: exit $st, left: $(ls -A "$T/o")"
	fi
}
printf 'path,label\n%s,tone\n%s,piano\n%s\n%s,speech\n' "$D/tone/tone0.wav" "$D/piano/piano0.wav" \
	"$D/speech/speech0.wav" "$D/speech/speech1.wav" >"$E/row.csv"
bad_case "a CSV with a bad row" "row\.csv:4: 1 field where the header has 2" "$E/row.csv"
printf '%s,tone,train\n%s,piano,train\n%s,speech,train\n%s,tone,tset\n' "$D/tone/tone0.wav" \
	"$D/piano/piano0.wav" "$D/speech/speech0.wav" "$D/tone/tone1.wav" >"$E/split.csv"
bad_case "a CSV with a bad split value" "split\.csv:4: split 'tset'" "$E/split.csv"
printf '%s,tone\n%s,piano\n%s,drums\n' "$D/tone/tone0.wav" "$D/piano/piano0.wav" \
	"$D/speech/speech0.wav" >"$E/label.csv"
bad_case "an unknown label (not in --classes)" "label\.csv:3: unknown label 'drums'" \
	--classes tone,piano,speech "$E/label.csv"
printf '%s,tone,train\n%s,piano,train\n%s,speech,val\n' "$D/tone/tone0.wav" "$D/piano/piano0.wav" \
	"$D/speech/speech0.wav" >"$E/valonly.csv"
bad_case "a label only in the validation split" "valonly\.csv:3: the label 'speech' appears only" \
	"$E/valonly.csv"
bad_case "a class of --classes without files" "class 'drums' \(from --classes\) has no files" \
	--classes tone,piano,speech,drums "$D/list.csv"
printf 'tone/tone0.wav,tone\npiano/piano0.wav,piano\nspeech/gone.wav,speech\n' >"$D/missing.csv"
bad_case "a missing file" "missing\.csv:3: .*speech/gone\.wav: no such file" "$D/missing.csv"
printf 'RIFF\044\0\0\0WAVEjunk' >"$E/broken.wav"
printf '%s,tone\n%s,piano\n%s,speech\n' "$D/tone/tone0.wav" "$D/piano/piano0.wav" \
	"$E/broken.wav" >"$E/broken.csv"
bad_case "an unreadable audio file" "broken\.csv:3: .*broken\.wav: not an audio file" "$E/broken.csv"
mkdir -p "$E/folders/tone" "$E/folders/piano" "$E/folders/speech"
cp "$D/tone/tone0.wav" "$E/folders/tone/"
cp "$D/piano/piano0.wav" "$E/folders/piano/"
echo "not audio" >"$E/folders/speech/README.txt"
bad_case "an empty class folder" "folders/speech: no audio files in this class folder" "$E/folders"
printf '"%s,tone\n' "$D/tone/tone0.wav" >"$E/quote.csv"
bad_case "a CSV with an unclosed quote" "quote\.csv:1: a quote that is never closed" "$E/quote.csv"
bad_case "a dataset that does not exist" "nowhere: No such file" "$E/nowhere"

# ---------------------------------------------------------------- Ctrl-C
rm -rf "$T/o"
mkdir -p "$T/o"
"$B" train --arch tiny --window 0.5 --batch 4 --epochs 100000 --patience 0 --threads 2 \
	"$D/list.csv" "$T/o/int.onm" >"$T/int.out" 2>"$T/err" &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q '^epoch *2/' "$T/err"; do
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid
wait $pid
st=$?
int_ok() {
	[ $st -eq 130 ] && "$B" inspect "$T/o/int.onm" >/dev/null &&
		grep -q 'interrupted' "$T/o/int.report.txt" && [ "$(ls -A "$T/o" | grep -c tmp)" -eq 0 ]
}
check "Ctrl-C: exit 130, the best epoch saved (inspect loads it), report written" int_ok

# ---------------------------------------------------------------- help
help_ok() {
	cmd=$1
	shift
	"$B" $cmd --help >"$T/help" 2>"$T/err" || return 1
	for o in "$@"; do
		grep -q -- "^  $o" "$T/help" || { echo "     $cmd --help does not list $o"; return 1; }
	done
}
check "train --help lists every option" help_ok train --classes --binary --folds --val-folds \
	--val-fraction --audio-dir --rate --window --window-overlap --floor-db --balance --arch \
	--layers --norm --epochs --batch --lr --warmup --weight-decay --patience --seed --threads \
	--stream --cache-dir --svg --pdf --quiet
check "score --help lists every option" help_ok score --model --json --top --window-overlap \
	--floor-db --threads

echo "     (total $(($(date +%s) - t_start)) s)"
echo "test_train: $pass passed, $fail failed"
[ $fail -eq 0 ]
