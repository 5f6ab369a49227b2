#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_render.sh -- `oneiro render` end to end: identity at depth 0, format
# preservation, a bounded dream, determinism, clean failures (exit status,
# message, no OUT and no temporary file left), --out-dir, --from noise,
# --plot (PNG, SVG and PDF), non-finite input, Ctrl-C, --jobs (a batch on
# several threads: the same bytes as one after another, per-file failures).
# Run from the repository root after `make all`. Test inputs are made with
# Python's standard library only.
B=${ONEIRO:-build/oneiro}
PY=${PYTHON:-/usr/bin/python3}
pass=0
fail=0

if [ ! -x "$B" ]; then
	echo "test_render: $B not built (make all)" >&2
	echo "test_render: 0 passed, 1 failed"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test_render.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

. "$(dirname "$0")/checks.sh"

cat >"$T/h.py" <<'EOF'
import math, random, struct, sys, wave, zlib
import xml.etree.ElementTree as ET

def read(path):
    d = open(path, 'rb').read()
    if d[:4] != b'RIFF' or d[8:12] != b'WAVE':
        raise SystemExit('%s: not a WAV file' % path)
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(d):
        cid = d[pos:pos + 4]
        n = struct.unpack('<I', d[pos + 4:pos + 8])[0]
        if cid == b'fmt ':
            fmt = d[pos + 8:pos + 8 + n]
        elif cid == b'data':
            data = d[pos + 8:pos + 8 + n]
        pos += 8 + n + (n & 1)
    tag, ch, rate = struct.unpack('<HHI', fmt[:8])
    bits = struct.unpack('<H', fmt[14:16])[0]
    if tag == 0xFFFE:
        tag = struct.unpack('<H', fmt[24:26])[0]
    code = {(1, 16): 'h', (1, 32): 'i', (3, 32): 'f', (3, 64): 'd'}[(tag, bits)]
    k = struct.calcsize(code)
    s = struct.unpack('<%d%s' % (len(data) // k, code), data[:len(data) // k * k])
    scale = {'h': 32768.0, 'i': 2147483648.0}.get(code, 1.0)
    kind = ('pcm%d' if tag == 1 else 'float%d') % bits
    return dict(rate=rate, ch=ch, kind=kind, frames=len(s) // ch, raw=s,
                x=[v / scale for v in s])

def write_float(path, rate, ch, samples):
    data = struct.pack('<%df' % len(samples), *samples)
    fmt = struct.pack('<HHIIHH', 3, ch, rate, rate * ch * 4, ch * 4, 32)
    body = (b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt +
            b'data' + struct.pack('<I', len(data)) + data)
    open(path, 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)

def signal(rate, ch, secs, seed):
    rnd = random.Random(seed)
    out = []
    for i in range(int(rate * secs)):
        t = i / rate
        env = 0.5 + 0.5 * math.sin(2 * math.pi * 0.7 * t)
        for c in range(ch):
            out.append(0.3 * env * math.sin(2 * math.pi * 220 * (c + 1) * t)
                       + 0.05 * (2 * rnd.random() - 1))
    return out

def rms(v):
    return math.sqrt(sum(a * a for a in v) / max(1, len(v)))

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == 'gen16':      # path rate ch secs
    rate, ch, secs = int(a[1]), int(a[2]), float(a[3])
    w = wave.open(a[0], 'wb')
    w.setnchannels(ch); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(b''.join(struct.pack('<h', int(round(v * 32767)))
                          for v in signal(rate, ch, secs, 1)))
    w.close()
elif cmd == 'genf':     # path rate ch secs [nonfinite]
    rate, ch, secs = int(a[1]), int(a[2]), float(a[3])
    s = signal(rate, ch, secs, 2)
    if len(a) > 4:
        s[1000] = float('nan'); s[2001] = float('inf'); s[3002] = float('-inf')
    write_float(a[0], rate, ch, s)
elif cmd == 'info':     # path -> "rate ch kind frames"
    r = read(a[0])
    print(r['rate'], r['ch'], r['kind'], r['frames'])
elif cmd == 'same':     # a b: identical samples, rate, channels, encoding
    x, y = read(a[0]), read(a[1])
    for k in ('rate', 'ch', 'kind', 'frames'):
        if x[k] != y[k]:
            raise SystemExit('%s differs: %s vs %s' % (k, x[k], y[k]))
    diff = sum(1 for p, q in zip(x['raw'], y['raw'])
               if struct.pack('<d', p) != struct.pack('<d', q))
    if diff:
        raise SystemExit('%d samples differ' % diff)
elif cmd == 'dreamed':  # in out: differs, same shape, delta below the input level
    x, y = read(a[0]), read(a[1])
    for k in ('rate', 'ch', 'kind', 'frames'):
        if x[k] != y[k]:
            raise SystemExit('%s differs: %s vs %s' % (k, x[k], y[k]))
    d = [q - p for p, q in zip(x['x'], y['x'])]
    db = 20 * math.log10(rms(d) / rms(x['x']) + 1e-30)
    print('delta %.1f dB relative to the input' % db)
    if not (-60.0 < db < -3.0):
        raise SystemExit('delta level %.1f dB is not between -60 and -3 dB' % db)
    if max(abs(v) for v in y['x']) > 1.0:
        raise SystemExit('output beyond full scale')
elif cmd == 'near':     # a b ref tol: |a - b| within tol of |a - ref| (RMS)
    x, y, r = read(a[0]), read(a[1]), read(a[2])
    d = rms([p - q for p, q in zip(x['x'], y['x'])])
    e = rms([p - q for p, q in zip(x['x'], r['x'])])
    print('%.4f of the delta' % (d / e if e else 1.0))
    if not (e > 0 and d <= float(a[3]) * e):
        raise SystemExit('differs by %.4f of the delta' % (d / e if e else 1.0))
elif cmd == 'finite':   # path: every sample finite
    r = read(a[0])
    if not all(math.isfinite(v) for v in r['x']):
        raise SystemExit('non-finite samples in the output')
elif cmd == 'noise':    # path rate secs: length and not silence
    r = read(a[0])
    want = int(round(float(a[1]) * float(a[2])))
    if r['rate'] != int(a[1]) or r['frames'] != want or r['ch'] != 1:
        raise SystemExit('got %d Hz, %d ch, %d frames; want %s Hz, 1 ch, %d frames'
                         % (r['rate'], r['ch'], r['frames'], a[1], want))
    level = rms(r['x'])
    print('level %.1f dBFS' % (20 * math.log10(level + 1e-30)))
    if level < 1e-3:
        raise SystemExit('silent')
elif cmd == 'png':     # path [w h]: a valid PNG (of w x h pixels), not one colour
    d = open(a[0], 'rb').read()
    if d[:8] != b'\x89PNG\r\n\x1a\n':
        raise SystemExit('bad PNG signature')
    if d[12:16] != b'IHDR':
        raise SystemExit('no IHDR first')
    w, h = struct.unpack('>II', d[16:24])
    if not (200 <= w <= 4000 and 100 <= h <= 4000):
        raise SystemExit('odd size %dx%d' % (w, h))
    if len(a) > 2 and (w, h) != (int(a[1]), int(a[2])):
        raise SystemExit('%dx%d, not %sx%s' % (w, h, a[1], a[2]))
    if d[24] != 8 or d[28] != 0:
        raise SystemExit('not 8 bits a channel, or interlaced')
    pos, idat, types = 8, b'', []
    while pos < len(d):
        n = struct.unpack('>I', d[pos:pos + 4])[0]
        t = d[pos + 4:pos + 8]
        if zlib.crc32(d[pos + 4:pos + 8 + n]) != struct.unpack('>I', d[pos + 8 + n:pos + 12 + n])[0]:
            raise SystemExit('bad CRC in %r' % t)
        types.append(t)
        if t == b'IDAT':
            idat += d[pos + 8:pos + 8 + n]
        pos += 12 + n
    if types[-1] != b'IEND':
        raise SystemExit('no IEND last')
    bpp = {2: 3, 3: 1, 6: 4, 0: 1}[d[25]]
    raw = zlib.decompress(idat)
    if len(raw) != h * (w * bpp + 1):
        raise SystemExit('image data of the wrong size')
    if len(set(raw)) < 64:
        raise SystemExit('hardly anything drawn (%d byte values)' % len(set(raw)))
    print('%dx%d' % (w, h))
elif cmd == 'svg':     # path w h: SVG of w x h pixels, three spectrograms and text
    root = ET.parse(a[0]).getroot()
    if not root.tag.endswith('svg'):
        raise SystemExit('root is not svg')
    size = (root.get('width'), root.get('height'), root.get('viewBox'))
    if size != (a[1] + 'px', a[2] + 'px', '0 0 %s %s' % (a[1], a[2])):
        raise SystemExit('size %s, not %sx%s px' % (size, a[1], a[2]))
    ns = '{http://www.w3.org/2000/svg}'
    if len(root.findall('.//%simage' % ns)) != 3:
        raise SystemExit('not three panels')
    if len(root.findall('.//%ssymbol' % ns)) < 20:
        raise SystemExit('hardly any glyphs')
elif cmd == 'pdf':     # path w h: one page of w x h points
    d = open(a[0], 'rb').read()
    if not d.startswith(b'%PDF-1.') or not d.rstrip().endswith(b'%%EOF'):
        raise SystemExit('no %PDF- header or %%EOF')
    box = b'/MediaBox [ 0 0 %s %s ]' % (a[1].encode(), a[2].encode())
    if d.count(b'/Type /Page\n') + d.count(b'/Type /Page ') != 1 or box not in d:
        raise SystemExit('not one page of %sx%s points' % (a[1], a[2]))
    if b'DejaVu' not in d:
        raise SystemExit('no DejaVu font embedded')
EOF
h() { "$PY" "$T/h.py" "$@"; }

# ---------------------------------------------------------------- setup
"$B" new-model --arch tiny --classes 4 "$T/m.onm" >/dev/null || {
	echo "test_render: cannot make a test model" >&2
	echo "test_render: 0 passed, 1 failed"
	exit 1
}
M="--model $T/m.onm"
mkdir "$T/in" "$T/out"
h gen16 "$T/in/mono16.wav" 44100 1 1.5 &&
	h genf "$T/in/stereo_f.wav" 48000 2 1.5 &&
	h genf "$T/in/nonfinite.wav" 48000 1 0.5 nan || {
	echo "test_render: cannot make test inputs" >&2
	echo "test_render: 0 passed, 1 failed"
	exit 1
}

# only OUT in the output directory: no temporary files left behind
only() { # dir, expected listing (ls -A, one line)
	[ "$(ls -A "$1" | tr '\n' ' ')" = "$2" ]
}

# ---------------------------------------------------------------- identity
for f in mono16 stereo_f; do
	"$B" render $M --depth 0 --quiet "$T/in/$f.wav" "$T/out/$f.d0.wav" 2>"$T/err"
	check "depth 0 gives the input sample for sample, same rate/channels/subtype/length ($f)" \
		h same "$T/in/$f.wav" "$T/out/$f.d0.wav"
done
check "depth 0: nothing but OUT in the output directory" \
	only "$T/out" "mono16.d0.wav stereo_f.d0.wav "

# ---------------------------------------------------------------- a dream
for f in mono16 stereo_f; do
	"$B" render $M "$T/in/$f.wav" "$T/out/$f.a.wav" >"$T/sum" 2>"$T/err"
	check "default depth: output differs, same shape, delta below the input level ($f)" \
		h dreamed "$T/in/$f.wav" "$T/out/$f.a.wav"
done
summary_ok() {
	grep -q '^delta level: .* dB relative to the dry signal' "$T/sum" &&
		grep -q '^objective J: .* -> ' "$T/sum" &&
		grep -q '^windows: .* dreamed, .* skipped' "$T/sum" &&
		grep -q '^latency: .* samples compensated' "$T/sum" &&
		grep -q '^time: .*realtime.*forward+backward' "$T/sum" &&
		grep -q '^  Layer ' "$T/sum"
}
check "summary names the delta level, objective, layers, windows, latency and time" summary_ok
"$B" render $M "$T/in/stereo_f.wav" "$T/out/again.wav" >/dev/null 2>"$T/err"
check "the same render twice gives the same file" cmp -s "$T/out/stereo_f.a.wav" "$T/out/again.wav"
rm -f "$T/out/again.wav"
"$B" render $M --stereo independent --overlap 4 --window 0.3 --layer 2=1 --layer 3=-0.5 \
	--band 100:6000 --tilt -6 --smooth --mix 0.7 --iterations 4 --pre \
	"$T/in/stereo_f.wav" "$T/out/opts.wav" >/dev/null 2>"$T/err"
check "every dream option at once" h dreamed "$T/in/stereo_f.wav" "$T/out/opts.wav"
"$B" render $M --class class2 -q "$T/in/mono16.wav" "$T/out/cls.wav" 2>"$T/err" &&
	"$B" render $M --filter 2:3 -q "$T/in/mono16.wav" "$T/out/filt.wav" 2>>"$T/err"
both_ok() { h info "$1" >/dev/null && h info "$2" >/dev/null; }
check "class and filter objectives" both_ok "$T/out/cls.wav" "$T/out/filt.wav"
rm -f "$T/out/opts.wav" "$T/out/cls.wav" "$T/out/filt.wav"

# ---------------------------------------------------------------- non-finite input
"$B" render $M "$T/in/nonfinite.wav" "$T/out/nf.wav" >"$T/sum" 2>"$T/err"
nonfinite_ok() { h finite "$T/out/nf.wav" && grep -q '^non-finite: *3 input samples' "$T/sum"; }
check "non-finite input samples: output finite, counted in the summary" nonfinite_ok
rm -f "$T/out/nf.wav"

# ---------------------------------------------------------------- failures
mkdir "$T/f"
echo "not audio" >"$T/in/text.wav"
fails() { # name, expected message pattern, then the render arguments
	name=$1
	pat=$2
	shift 2
	"$B" render "$@" >/dev/null 2>"$T/err"
	st=$?
	if [ $st -ne 1 ] && [ $st -ne 2 ]; then
		bad "$name: exit status $st, expected 1 or 2"
	elif ! grep -q -- "$pat" "$T/err"; then
		bad "$name: no message matching '$pat'"
	elif ! only "$T/f" ""; then
		bad "$name: files left in the output directory: $(ls -A "$T/f")"
	else
		ok "$name (exit $st)"
	fi
}
fails "missing model" "nope.onm" --model "$T/nope.onm" "$T/in/mono16.wav" "$T/f/o.wav"
fails "missing input" "missing.wav" $M "$T/in/missing.wav" "$T/f/o.wav"
fails "non-audio input" "text.wav: not an audio file" $M "$T/in/text.wav" "$T/f/o.wav"
fails "unknown option" "unknown option --frobnicate" $M --frobnicate "$T/in/mono16.wav" "$T/f/o.wav"
fails "--depth -1" "--depth: -1 is out of range (0 to 4)" $M --depth -1 "$T/in/mono16.wav" "$T/f/o.wav"
# --band with the edges swapped is rejected, not silently swapped
fails "--band 5000:100" "--band: .*low edge must be below" $M --band 5000:100 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--band above the model's Nyquist" "--band: 9000 Hz is out of range" $M --band 100:9000 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--layer beyond the model" "--layer: the model has layers 1 to" $M --layer 17=1 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--mix 3" "--mix: 3 is out of range" $M --mix 3 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--overlap 3" "--overlap" $M --overlap 3 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--class unknown" "--class: the model has no class 'nope'" $M --class nope "$T/in/mono16.wav" "$T/f/o.wav"
fails "no OUT" "no output file" $M "$T/in/mono16.wav"
cp "$T/in/mono16.wav" "$T/f/same.wav"
"$B" render $M "$T/f/same.wav" "$T/f/same.wav" >/dev/null 2>"$T/err"
st=$?
if [ $st -eq 2 ] && grep -q "same file" "$T/err" && h same "$T/in/mono16.wav" "$T/f/same.wav" &&
	only "$T/f" "same.wav "; then
	ok "OUT == IN refused, IN untouched"
else
	bad "OUT == IN: exit $st"
fi
rm -f "$T/f/same.wav"
ONEIRO_MODEL="$T/nope.onm" "$B" render "$T/in/mono16.wav" "$T/f/o.wav" >/dev/null 2>"$T/err"
st=$?
if [ $st -eq 1 ] && grep -q "ONEIRO_MODEL" "$T/err" && only "$T/f" ""; then
	ok "a missing \$ONEIRO_MODEL is named"
else
	bad "missing \$ONEIRO_MODEL: exit $st"
fi

# ---------------------------------------------------------------- --also
# a second model heard at once: share 0 is the first model alone, bit for
# bit; the same model twice is the first model's dream (up to rounding, as
# both gradients are brought to unit level); another model changes the
# dream, repeatably, and it stays bounded; a class the second model lacks
# leaves the first alone; mismatched rates and stray options are refused
"$B" new-model --arch small --classes 4 --seed 7 "$T/m2.onm" >/dev/null &&
	"$B" new-model --arch tiny --classes 2 --seed 9 "$T/m2c.onm" >/dev/null &&
	"$B" new-model --arch tiny --classes 4 --rate 22050 "$T/m22.onm" >/dev/null
A="$M --class class3 -q $T/in/mono16.wav"
"$B" render $A "$T/out/one.wav" 2>"$T/err"
"$B" render $A --also "$T/m2.onm" --also-share 0 "$T/out/s0.wav" 2>>"$T/err"
check "--also with share 0: the first model's dream, bit for bit" \
	cmp -s "$T/out/one.wav" "$T/out/s0.wav"
"$B" render $A --also "$T/m2.onm" "$T/out/two.wav" 2>>"$T/err"
"$B" render $A --also "$T/m2.onm" "$T/out/two1.wav" 2>>"$T/err"
also_ok() {
	cmp -s "$T/out/two.wav" "$T/out/two1.wav" && ! cmp -s "$T/out/two.wav" "$T/out/one.wav" &&
		h dreamed "$T/in/mono16.wav" "$T/out/two.wav"
}
check "--also another model: a bounded dream, not the first model's, the same twice" also_ok
"$B" render $A --also "$T/m.onm" "$T/out/self.wav" 2>>"$T/err"
check "--also the same model: its own dream within 10 % (rounding only)" \
	h near "$T/out/self.wav" "$T/out/one.wav" "$T/in/mono16.wav" 0.1
"$B" render $M -q "$T/in/mono16.wav" "$T/out/lay0.wav" 2>>"$T/err"
"$B" render $M --also "$T/m2.onm" "$T/in/mono16.wav" "$T/out/lay.wav" >"$T/sum" 2>>"$T/err"
check "--also in layers mode: a bounded dream, not the first model's; the summary names the second" \
	sh -c "'$PY' '$T/h.py' dreamed '$T/in/mono16.wav' '$T/out/lay.wav' && ! cmp -s '$T/out/lay.wav' '$T/out/lay0.wav' && grep -q '^also for: .*m2.onm (share 0.50)' '$T/sum'"
rm -f "$T/out/one.wav" "$T/out/s0.wav" "$T/out/two.wav" "$T/out/two1.wav" "$T/out/self.wav" \
	"$T/out/lay.wav" "$T/out/lay0.wav"
fails "--also at another rate" "both models must run at the same rate" \
	$M --also "$T/m22.onm" "$T/in/mono16.wav" "$T/f/o.wav"
fails "--also a model without the target class" "m2c.onm has no class 'class3'" \
	$A --also "$T/m2c.onm" "$T/f/o.wav"
fails "--also with --filter" "--also: a single filter" \
	$M --filter 2:1 --also "$T/m2.onm" "$T/in/mono16.wav" "$T/f/o.wav"
# layers: with a second model of fewer layers (the shipped listener has 4,
# the default 6), a weight on any layer of the first still reaches it
for L in 1 2 3 4 5; do
	"$B" render --model models/default.onm --layer $L=1 --also models/listener.onm \
		--also-share 1 -q "$T/in/mono16.wav" "$T/out/l$L.a.wav" 2>>"$T/err"
	"$B" render --model models/default.onm --layer $L=1 -q "$T/in/mono16.wav" \
		"$T/out/l$L.b.wav" 2>>"$T/err"
done
layers_reach() {
	for L in 1 2 3 4 5; do
		cmp -s "$T/out/l$L.a.wav" "$T/out/l$L.b.wav" && { echo "     layer $L: the first model alone"; return 1; }
	done
	return 0
}
check "--also a model of fewer layers: a weight on any layer reaches it" layers_reach
rm -f "$T"/out/l[1-5].[ab].wav
fails "--also-share without --also" "without --also" $M --also-share 0.3 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--also-share 1.5" "--also-share: '1.5' is not a number from 0 to 1" \
	$M --also "$T/m2.onm" --also-share 1.5 "$T/in/mono16.wav" "$T/f/o.wav"
fails "--also a missing model" "nope2.onm" $M --also "$T/nope2.onm" "$T/in/mono16.wav" "$T/f/o.wav"

# Ctrl-C: a slow render (30 s, 4096 steps a window: minutes) interrupted
# leaves nothing behind
h gen16 "$T/in/long.wav" 16000 1 30
"$B" render $M --iterations 4096 --quiet "$T/in/long.wav" "$T/f/o.wav" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
st=$?
if [ $st -eq 130 ] && grep -q "interrupted" "$T/err" && only "$T/f" ""; then
	ok "Ctrl-C: exit 130, no OUT, no temporary file"
else
	bad "Ctrl-C: exit $st, left: $(ls -A "$T/f")"
fi

# ---------------------------------------------------------------- batch
"$B" render $M --quiet --out-dir "$T/batch" "$T/in/mono16.wav" "$T/in/stereo_f.wav" 2>"$T/err"
batch_ok() {
	both_ok "$T/batch/mono16.wav" "$T/batch/stereo_f.wav" &&
		only "$T/batch" "mono16.wav stereo_f.wav "
}
check "--out-dir with two inputs writes both, named after them" batch_ok

# --jobs: six short files of different rates, channels and encodings
mkdir "$T/jin"
h gen16 "$T/jin/a.wav" 16000 1 0.4 && h gen16 "$T/jin/b.wav" 44100 2 0.6 &&
	h genf "$T/jin/c.wav" 48000 1 0.5 && h genf "$T/jin/d.wav" 22050 2 0.3 &&
	h gen16 "$T/jin/e.wav" 8000 1 0.7 && h genf "$T/jin/f.wav" 32000 1 0.45 ||
	bad "cannot make the --jobs inputs"
"$B" render $M --jobs 1 --out-dir "$T/j1" "$T"/jin/*.wav >"$T/sum1" 2>"$T/err"
st1=$?
"$B" render $M --jobs 3 --out-dir "$T/j3" "$T"/jin/*.wav >"$T/sum3" 2>"$T/err"
st3=$?
jobs_same() {
	[ $st1 -eq 0 ] && [ $st3 -eq 0 ] || { echo "     exit $st1 (--jobs 1), $st3 (--jobs 3)"; return 1; }
	for f in a b c d e f; do
		cmp -s "$T/j1/$f.wav" "$T/j3/$f.wav" || { echo "     $f.wav differs"; return 1; }
	done
	only "$T/j3" "a.wav b.wav c.wav d.wav e.wav f.wav "
}
check "--jobs 3 gives the same bytes as --jobs 1 for every file of a batch of six" jobs_same
# the summaries: each whole, in input order (the times aside, the same text)
jobs_summaries() {
	grep '^render: ' "$T/sum3" | sed 's|.*/jin/\([a-f]\)\.wav -> .*|\1|' | tr -d '\n' |
		grep -qx abcdef || return 1
	grep -v '^time: ' "$T/sum1" | sed "s|$T/j1/|OUT/|" >"$T/s1"
	grep -v '^time: ' "$T/sum3" | sed "s|$T/j3/|OUT/|" >"$T/s3"
	cmp -s "$T/s1" "$T/s3"
}
check "--jobs 3: every file's summary whole, in input order, as with --jobs 1" jobs_summaries

# a batch with a corrupt and a missing input among good ones
cp "$T/jin/a.wav" "$T/jin/b.wav" "$T/jin/c.wav" "$T/in/"
printf 'RIFF\377\377\377\377WAVEjunkjunk' >"$T/in/corrupt.wav"
"$B" render $M --jobs 3 --out-dir "$T/jb" "$T/in/a.wav" "$T/in/text.wav" "$T/in/b.wav" \
	"$T/in/corrupt.wav" "$T/in/gone.wav" "$T/in/c.wav" >"$T/sum" 2>"$T/err"
st=$?
jobs_fail() {
	[ $st -eq 1 ] || { echo "     exit $st, expected 1"; return 1; }
	for f in text.wav corrupt.wav gone.wav; do
		grep -q "$f" "$T/err" || { echo "     $f not named"; return 1; }
	done
	grep -q "3 of 6 files were not rendered" "$T/err" || return 1
	for f in a b c; do
		cmp -s "$T/jb/$f.wav" "$T/j1/$f.wav" || { echo "     $f.wav missing or differs"; return 1; }
	done
	only "$T/jb" "a.wav b.wav c.wav "
}
check "--jobs 3 with bad inputs: the good ones rendered, the bad named, exit 1, nothing left for them" \
	jobs_fail
# --judge with --jobs: the same figures, per file and their mean, in input order
for j in 1 3; do
	"$B" render $M --class class1 --jobs $j --json "$T/judge$j.json" --out-dir "$T/jj" \
		"$T/in/a.wav" "$T/in/text.wav" "$T/in/b.wav" "$T/in/c.wav" >"$T/jsum$j" 2>"$T/err"
	eval "jst$j=\$?"
done
jobs_judged() {
	[ "$jst1" -eq 1 ] && [ "$jst3" -eq 1 ] || { echo "     exit $jst1, $jst3, expected 1"; return 1; }
	cmp -s "$T/judge1.json" "$T/judge3.json" || { echo "     the JSON differs"; return 1; }
	grep -q '"file": ".*text.wav", "error"' "$T/judge3.json" &&
		grep -q '^judged, mean over 3 files' "$T/jsum3"
}
check "--judge with --jobs 3: the same JSON as --jobs 1 (files in input order, the failed one listed)" \
	jobs_judged

# Ctrl-C during a parallel batch: every file in flight abandoned, nothing left
cp "$T/in/long.wav" "$T/in/long2.wav"
"$B" render $M --iterations 4096 --quiet --jobs 2 --out-dir "$T/ji" "$T/in/long.wav" \
	"$T/in/long2.wav" "$T/in/a.wav" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
st=$?
if [ $st -eq 130 ] && grep -q "interrupted" "$T/err" && only "$T/ji" ""; then
	ok "Ctrl-C during --jobs 2: exit 130, no output, no temporary file"
else
	bad "Ctrl-C during --jobs 2: exit $st, left: $(ls -A "$T/ji")"
fi
fails "--jobs 0" "--jobs: '0' is not a whole number" $M --jobs 0 --out-dir "$T/f" "$T/in/a.wav" "$T/in/b.wav"
fails "--jobs abc" "--jobs: 'abc' is not a whole number" $M --jobs abc --out-dir "$T/f" "$T/in/a.wav"

# ---------------------------------------------------------------- --from
"$B" render $M --from noise --length 1 --seed 7 "$T/out/noise.wav" >"$T/sum" 2>"$T/err"
check "--from noise --length 1: a 1 s file at the model's rate, not silence" \
	h noise "$T/out/noise.wav" 16000 1
"$B" render $M --from silence --length 0.5 --rate 44100 --filter 1:2 -q "$T/out/sil.wav" 2>"$T/err"
check "--from silence --rate 44100: resampled, not silence" h noise "$T/out/sil.wav" 44100 0.5
"$B" render $M --from noise --length 1 --seed 7 -q "$T/out/noise2.wav" 2>"$T/err"
check "--from noise is deterministic for a seed" cmp -s "$T/out/noise.wav" "$T/out/noise2.wav"

# ---------------------------------------------------------------- plots
# drawn with cairo: 1392 x 398 pixels (points in SVG and PDF)
# `file` names the format, when it is installed
file_says() {
	command -v file >/dev/null || return 0
	file -b "$1" | grep -q "$2"
}
"$B" render $M -q --plot "$T/out/p.png" "$T/in/stereo_f.wav" "$T/out/p.wav" 2>"$T/err"
check "--plot FILE.png is a valid 1392x398 PNG (signature, IHDR, CRCs, image data)" \
	h png "$T/out/p.png" 1392 398
check "--plot FILE.png: file(1) says PNG, 1392 x 398" file_says "$T/out/p.png" 'PNG image data, 1392 x 398'
"$B" render $M -q --plot "$T/out/p.svg" "$T/in/mono16.wav" "$T/out/p2.wav" 2>"$T/err"
check "--plot FILE.svg parses as XML, 1392x398 px, three panels and text" h svg "$T/out/p.svg" 1392 398
check "--plot FILE.svg: file(1) says SVG" file_says "$T/out/p.svg" 'SVG Scalable Vector Graphics image'
"$B" render $M -q --plot "$T/out/p.PDF" "$T/in/mono16.wav" "$T/out/p3.wav" 2>"$T/err"
check "--plot FILE.PDF is one PDF page of 1392x398 points with its font" h pdf "$T/out/p.PDF" 1392 398
check "--plot FILE.PDF: file(1) says PDF" file_says "$T/out/p.PDF" 'PDF document'
"$B" render $M -q --from noise --length 0.5 --plot "$T/out/n.png" "$T/out/n.wav" 2>"$T/err"
check "--from with --plot" h png "$T/out/n.png" 1392 398
"$B" render $M -q --plot "$T/out/p.jpg" "$T/in/mono16.wav" "$T/out/p4.wav" 2>"$T/err"
check "--plot FILE.jpg: exit 2, names the formats, writes nothing" \
	sh -c "[ $? -eq 2 ] && grep -q '.png, .svg or .pdf' '$T/err' && [ ! -e '$T/out/p.jpg' ] && [ ! -e '$T/out/p4.wav' ]"

# ---------------------------------------------------------------- help
"$B" render --help >"$T/help" 2>"$T/err"
help_ok() {
	for o in --model --layer --filter --class --pre --depth --iterations --bound-db --floor-db \
		--band --tilt --smooth --mix --window --overlap --stereo --seed --out-dir --plot --from \
		--length --rate --subtype --quiet --jobs --also --also-share; do
		grep -q -- "^  $o" "$T/help" || { echo "     --help does not list $o"; return 1; }
	done
}
check "--help lists every option" help_ok

echo "test_render: $pass passed, $fail failed"
[ $fail -eq 0 ]
