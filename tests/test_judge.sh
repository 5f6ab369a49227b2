#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_judge.sh -- `oneiro render --judge`: the control really has the
# delta's spectrogram (STFT magnitudes per frame) and level, and white noise
# at the same level does not pass that check; the figures are deterministic
# (the same JSON twice) and follow the seed; a judge identical to the
# dreaming model reports the dreaming model's own gain; the dry figures are
# what `oneiro score` says of the input; a judge without the target class
# says so; layer mode and batches; --json - keeps stdout for the JSON; bad
# judges (not a model, missing) fail before any work, naming the file.
# Run from the repository root after `make build/oneiro`. Python's standard
# library only.
B=${ONEIRO:-build/oneiro}
PY=${PYTHON:-/usr/bin/python3}
pass=0
fail=0

if [ ! -x "$B" ]; then
	echo "test_judge: $B not built (make build/oneiro)" >&2
	echo "test_judge: 0 passed, 1 failed"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test_judge.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

. "$(dirname "$0")/checks.sh"

cat >"$T/h.py" <<'EOF'
import cmath, json, math, random, struct, sys

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
    if (tag, bits) != (3, 32) or ch != 1:
        raise SystemExit('%s: not mono 32-bit float' % path)
    return rate, list(struct.unpack('<%df' % (len(data) // 4), data[:len(data) // 4 * 4]))

def write_float(path, rate, x):
    data = struct.pack('<%df' % len(x), *x)
    fmt = struct.pack('<HHIIHH', 3, 1, rate, rate * 4, 4, 32)
    body = (b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt +
            b'data' + struct.pack('<I', len(data)) + data)
    open(path, 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)

def fft(a):
    n = len(a)
    a = list(a)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    m = 2
    while m <= n:
        w = cmath.exp(-2j * math.pi / m)
        for k in range(0, n, m):
            t = 1
            for q in range(m // 2):
                u, v = a[k + q], a[k + q + m // 2] * t
                a[k + q], a[k + q + m // 2] = u + v, u - v
                t *= w
        m *= 2
    return a

def stft(x, N):
    w = [math.sqrt(0.5 - 0.5 * math.cos(2 * math.pi * i / N)) for i in range(N)]
    return [[abs(v) for v in fft([w[i] * x[s + i] for i in range(N)])[:N // 2 + 1]]
            for s in range(0, len(x) - N + 1, N // 4)]

def rms(v):
    return math.sqrt(sum(t * t for t in v) / max(1, len(v)))

def db(a, b):
    return 10 * math.log10((a + 1e-30) / (b + 1e-30))

def spectro_check(delta, noise, rate):
    """Per STFT frame (32 ms, the judge's frames): the frame's energy and
    its octave bands' energies in the noise against the delta's. Random
    phases in overlapping frames interfere, so single bins scatter
    (Rayleigh-like); frames and octave bands must agree."""
    N = 64
    while abs(math.log2(2 * N / (0.032 * rate))) < abs(math.log2(N / (0.032 * rate))):
        N *= 2
    A, B = stft(delta, N), stft(noise, N)
    peak = max(sum(v * v for v in f) for f in A)
    fe, be = [], []
    for fa, fb in zip(A, B):
        ea = sum(v * v for v in fa)
        if ea < peak * 1e-3:
            continue
        fe.append(db(sum(v * v for v in fb), ea))
        lo = 1
        while lo < len(fa):
            hi = min(len(fa), 2 * lo)
            a = sum(v * v for v in fa[lo:hi])
            if a > 0.02 * ea:
                be.append(db(sum(v * v for v in fb[lo:hi]), a))
            lo = hi
    med = lambda v: sorted(v)[len(v) // 2]
    within = lambda v, lim: sum(1 for t in v if abs(t) <= lim) / len(v)
    return dict(frames=len(fe), frame_median=med(fe), frame_within3=within(fe, 3.0),
                band_mean_abs=sum(abs(t) for t in be) / len(be), band_within6=within(be, 6.0))

def spectro_ok(r):
    return (r['frames'] >= 20 and abs(r['frame_median']) < 0.75 and r['frame_within3'] >= 0.9
            and r['band_mean_abs'] < 3.0 and r['band_within6'] >= 0.85)

def load(p):
    return json.load(open(p))

def judge_of(doc, fi, model, own):
    for j in doc['files'][fi]['judges']:
        if j['own'] == own and j['model'] == model:
            return j
    raise SystemExit('no judge %s (own %s) in file %d' % (model, own, fi))

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == 'gen':        # path rate secs seed: tones and noise, swelling
    rate, secs, seed = int(a[1]), float(a[2]), int(a[3])
    rnd = random.Random(seed)
    x = []
    for i in range(int(rate * secs)):
        t = i / rate
        env = 0.55 + 0.45 * math.sin(2 * math.pi * 0.9 * t)
        x.append(env * (0.25 * math.sin(2 * math.pi * 196 * t) + 0.1 * math.sin(2 * math.pi * 1230 * t)
                        + 0.04 * (2 * rnd.random() - 1)))
    write_float(a[0], rate, x)
elif cmd == 'control':  # in out control: noise = control - in has delta's spectrogram and level
    r, x = read(a[0])
    _, y = read(a[1])
    _, c = read(a[2])
    delta = [q - p for p, q in zip(x, y)]
    noise = [q - p for p, q in zip(x, c)]
    lev = 20 * math.log10(rms(noise) / rms(delta))
    res = spectro_check(delta, noise, r)
    print('level %+.3f dB; frames %d: median %+.2f dB, %.0f %% within 3 dB; octave bands: '
          'mean |.| %.2f dB, %.0f %% within 6 dB'
          % (lev, res['frames'], res['frame_median'], 100 * res['frame_within3'],
             res['band_mean_abs'], 100 * res['band_within6']))
    if abs(lev) > 0.05:
        raise SystemExit('the control noise is %+.3f dB off the delta\'s level' % lev)
    if not spectro_ok(res):
        raise SystemExit('the control noise does not have the delta\'s spectrogram')
    # the check can fail: white noise at the delta's level must not pass
    rnd = random.Random(5)
    sigma = rms(delta)
    white = [rnd.gauss(0.0, sigma) for _ in delta]
    if spectro_ok(spectro_check(delta, white, r)):
        raise SystemExit('white noise passes the spectrogram check: it proves nothing')
elif cmd == 'own':      # json model: a judge identical to the dreaming model reports its gain
    d = load(a[0])
    for fi in range(len(d['files'])):
        o, j = judge_of(d, fi, d['model'], True), judge_of(d, fi, a[1], False)
        for k in ('gain', 'control_gain', 'gain_1ms', 'log_odds', 'tv_from_dry', 'kl_from_dry',
                  'top', 'windows'):
            if o[k] != j[k]:
                raise SystemExit('%s: own %r, judge %r' % (k, o[k], j[k]))
        if d['files'][fi]['shift_test']['gain'] != o['gain']:
            raise SystemExit('the shift test\'s undelayed gain is not the own gain')
        if d['files'][fi]['shift_test']['gain_1ms'] != j['gain_1ms']:
            raise SystemExit('an identical judge\'s gain_1ms is not the shift test\'s')
        if j['gain_1ms'] == j['gain']:
            raise SystemExit('gain_1ms equals the undelayed gain: the delta was not delayed')
    print('gain %+.3f log-odds, control %+.3f' % (o['gain'], o['control_gain']))
elif cmd == 'class':    # json: class mode figures make sense
    d = load(a[0])
    f = d['files'][0]
    o = f['judges'][0]
    lo = o['log_odds']
    if abs(o['gain'] - (lo['dreamed'] - lo['dry'])) > 1e-4:
        raise SystemExit('gain is not dreamed - dry log-odds')
    if not o['tv_from_dry']['dreamed'] > 0:
        raise SystemExit('the dream did not move its own model at all')
    p = o['target_probability']['dry']
    if not 0 < p < 1 or o['windows'] < 1:
        raise SystemExit('odd probability or windows')
    if abs(f['control_level_matched_db']) > 0.5:
        raise SystemExit('the overlap-add changed the noise level by %+.2f dB before matching'
                         % -f['control_level_matched_db'])
    s = f['shift_test']
    for k in ('gain_1ms', 'gain_10ms'):
        if not isinstance(s[k], float):
            raise SystemExit('shift test lacks %s' % k)
    if s['gain'] > 0 and abs(s['retained_1ms'] - s['gain_1ms'] / s['gain']) > 1e-4:
        raise SystemExit('retained_1ms is not gain_1ms / gain')
    print('own %+.2f -> %+.2f log-odds; delayed 1 ms %+.2f, 10 ms %+.2f'
          % (lo['dry'], lo['dreamed'], lo['dry'] + s['gain_1ms'], lo['dry'] + s['gain_10ms']))
elif cmd == 'lacks':    # json judge: no target, distribution figures, a note
    d = load(a[0])
    j = judge_of(d, 0, a[1], False)
    if j['target'] is not None or 'log_odds' in j or 'note' not in j:
        raise SystemExit('a judge without the target class reports log-odds or no note')
    if j['measure'] != 'tv_from_dry' or not 0 <= j['tv_from_dry']['dreamed'] <= 1:
        raise SystemExit('no distribution figures')
elif cmd == 'score':    # judge json, score json, model: dry figures = what score says
    d, s = load(a[0]), load(a[1])
    j = judge_of(d, 0, a[2], False)
    top = j['top']['dry']
    if top['name'] != s[0]['top'] or abs(top['probability'] - s[0]['probability']) > 1e-5:
        raise SystemExit('judge: dry %r; score: %r %r' % (top, s[0]['top'], s[0]['probability']))
    if j['windows'] != s[0]['windows']:
        raise SystemExit('judge %d windows, score %d' % (j['windows'], s[0]['windows']))
elif cmd == 'layers':   # json: layer mode reports distributions, the shift test in TV
    d = load(a[0])
    o = d['files'][0]['judges'][0]
    if d['objective'] != 'layers' or o['target'] is not None or o['measure'] != 'tv_from_dry':
        raise SystemExit('layer mode: objective %r, target %r, measure %r'
                         % (d['objective'], o['target'], o['measure']))
    if d['files'][0]['shift_test']['measure'] != 'tv_from_dry':
        raise SystemExit('layer mode shift test not on the distribution')
elif cmd == 'batch':    # json n: n files, the mean is the mean of the files
    d = load(a[0])
    n = int(a[1])
    if d['mean']['files'] != n or len(d['files']) != n:
        raise SystemExit('%d files in the mean, %d listed; want %d'
                         % (d['mean']['files'], len(d['files']), n))
    for k, mj in enumerate(d['mean']['judges']):
        g = sum(f['judges'][k]['gain'] for f in d['files']) / n
        if abs(g - mj['gain']) > 1e-4 * max(1, abs(g)):
            raise SystemExit('mean gain %r, files give %r' % (mj['gain'], g))
        beats = sum(f['judges'][k]['gain'] > f['judges'][k]['control_gain'] for f in d['files'])
        if abs(mj['dream_above_control'] - beats / n) > 1e-6:
            raise SystemExit('dream_above_control is not the share of files')
elif cmd == 'json':     # path: one valid JSON document
    load(a[0])
EOF
h() { "$PY" "$T/h.py" "$@"; }

# ---------------------------------------------------------------- setup
"$B" new-model --arch tiny --classes 3 --class-names rock,jazz,waltz --seed 4 \
		--rate 22050 --window 8192 "$T/other.onm" >/dev/null &&
	h gen "$T/a.wav" 16000 2.5 1 && h gen "$T/b.wav" 16000 1.5 2 || {
	echo "test_judge: cannot make test models or inputs" >&2
	echo "test_judge: 0 passed, 1 failed"
	exit 1
}
# the dreaming model: the shipped default (an untrained one barely moves its
# classes); judges: a copy of it, and an untrained one at another rate
D=${ONEIRO_DEFAULT_MODEL:-models/default.onm}
cp "$D" "$T/m.onm" && cp "$D" "$T/same.onm" || exit 1
M="--model $T/m.onm"
mkdir "$T/out"

# ---------------------------------------------------------------- class mode
"$B" render $M --class keys --judge "$T/same.onm" --judge "$T/other.onm" --json "$T/j1.json" \
	--judge-control "$T/c1.wav" "$T/a.wav" "$T/out/a.wav" >"$T/sum" 2>"$T/err"
check "render --judge --json --judge-control succeeds" test $? -eq 0 -a -s "$T/j1.json" -a -s "$T/c1.wav"
check "the readable report: judges, control, shift test" \
	sh -c "grep -q '^judged: .*random phases (seed 1' '$T/sum' &&
		grep -q \"(dreaming model) 'keys' log-odds: dry .*, dreamed .*, control \" '$T/sum' &&
		grep -q \"other.onm .*has no class 'keys'\" '$T/sum' &&
		grep -q '^shift test: .*delayed 1 ms .*10 ms' '$T/sum'"
check "the control has the delta's STFT magnitudes per frame and its level; white noise does not pass" \
	h control "$T/a.wav" "$T/out/a.wav" "$T/c1.wav"
check "a judge identical to the dreaming model reports the same gain as the model itself" \
	h own "$T/j1.json" "$T/same.onm"
check "class mode: gain = dreamed - dry log-odds, the dream moves its own model, the control's level needs < 0.5 dB matching, shift test figures" \
	h class "$T/j1.json"
check "a judge without the target class says so and reports its distribution" \
	h lacks "$T/j1.json" "$T/other.onm"
"$B" score --json --model "$T/other.onm" "$T/a.wav" >"$T/score.json" 2>"$T/err"
check "a judge at another rate hears the dry sound as 'oneiro score' does (resampled, same windows)" \
	h score "$T/j1.json" "$T/score.json" "$T/other.onm"

# ---------------------------------------------------------------- determinism
"$B" render $M --class keys --judge "$T/same.onm" --judge "$T/other.onm" --json "$T/j2.json" \
	--judge-control "$T/c2.wav" --quiet "$T/a.wav" "$T/out/a2.wav" 2>"$T/err"
sed "s|/out/a2.wav|/out/a.wav|" "$T/j2.json" >"$T/j2n.json"
check "the same render judged twice gives the same JSON" cmp -s "$T/j1.json" "$T/j2n.json"
check "... and the same control, bit for bit" cmp -s "$T/c1.wav" "$T/c2.wav"
"$B" render $M --class keys --judge-seed 7 --judge-control "$T/c3.wav" --quiet \
	"$T/a.wav" "$T/out/a3.wav" 2>"$T/err"
check "another --judge-seed gives another control" sh -c "! cmp -s '$T/c1.wav' '$T/c3.wav'"
check "... with the delta's spectrogram and level too" h control "$T/a.wav" "$T/out/a3.wav" "$T/c3.wav"

# ---------------------------------------------------------------- layers, batch, stdout
"$B" render $M --json "$T/j3.json" --quiet "$T/a.wav" "$T/out/a4.wav" 2>"$T/err"
check "layer mode (no --judge): the dreaming model's distribution figures, shift test in TV" \
	h layers "$T/j3.json"
"$B" render $M --class speech --judge "$T/other.onm" --json - --out-dir "$T/batch" \
	"$T/a.wav" "$T/b.wav" >"$T/stdout.json" 2>"$T/err"
check "--json -: stdout holds only the JSON" h json "$T/stdout.json"
check "--json -: the readable report goes to stderr, with the mean over the files" \
	sh -c "grep -q '^judged: ' '$T/err' && grep -q '^judged, mean over 2 files' '$T/err' &&
		grep -q '^mean shift: .*delayed 1 ms' '$T/err'"
check "a batch: every file and their mean" h batch "$T/stdout.json" 2

# ---------------------------------------------------------------- bad input
printf 'not a model at all\n' >"$T/bad.onm"
"$B" render $M --judge "$T/bad.onm" "$T/a.wav" "$T/out/bad.wav" >/dev/null 2>"$T/err"
st=$?
check "a judge that is not a model: exit 1, the message names the file, nothing written" \
	sh -c "[ $st -eq 1 ] && grep -q 'judge: .*bad.onm' '$T/err' && [ ! -e '$T/out/bad.wav' ]"
"$B" render $M --judge "$T/missing.onm" "$T/a.wav" "$T/out/bad.wav" >/dev/null 2>"$T/err"
st=$?
check "a missing judge: exit 1, the message names the file, nothing written" \
	sh -c "[ $st -eq 1 ] && grep -q 'judge: .*missing.onm' '$T/err' && [ ! -e '$T/out/bad.wav' ]"
"$B" render $M --judge "$T/m.onm" --from noise "$T/out/from.wav" >/dev/null 2>"$T/err"
check "--judge with --from is a usage error" test $? -eq 2
"$B" render $M --judge-seed x "$T/a.wav" "$T/out/bad.wav" >/dev/null 2>"$T/err"
check "--judge-seed must be a whole number" sh -c "[ $? -eq 2 ] && grep -q judge-seed '$T/err'"
"$B" render $M --judge-control "$T/c.wav" --out-dir "$T/b2" "$T/a.wav" "$T/b.wav" >/dev/null 2>"$T/err"
check "--judge-control takes one input file" test $? -eq 2
"$B" render --help >"$T/help"
check "--help lists --judge, --judge-seed, --json" \
	sh -c "grep -q -- '--judge MODEL' '$T/help' && grep -q -- '--judge-seed S .*default 1' '$T/help' &&
		grep -q -- '--json FILE' '$T/help'"

echo "test_judge: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
