#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""wavtool.py -- helpers of the Ardour session test (standard library only).

  wavtool.py make OUT.wav
      a 4 s stereo 48 kHz 32-bit float test signal: tones, noise bursts,
      clicks, and some silence (deterministic).
  wavtool.py plucks OUT.wav RATE
      4 s of plucked chords, stereo 32-bit float at RATE (deterministic).
  wavtool.py patch SESSION_DIR SNAPSHOT TRACK WAV
      puts WAV on TRACK's playlist at position 0 in the closed session, the
      way Ardour writes a recorded take: the file goes to
      interchange/<session dir>/audiofiles/, and Sources (one per channel),
      a whole-file Region, a playlist Region (fades off) and the session
      range are added to SNAPSHOT.ardour.
  wavtool.py lead IN.wav OUT.wav
      writes IN from its first frame with a sample that is not +0.0 (where
      the plugin's window grid starts in freewheel) and prints its index.
  wavtool.py cut IN.wav OUT.wav OFFSET LIKE.wav
      writes LIKE's length of IN's frames from OFFSET on.
  wavtool.py check KIND NAME REF.wav OUT.wav
      compares an export with the input and prints one "PASS: NAME ..." or
      "FAIL: NAME ..." line (exit status 0 or 1). KIND:
        equal    same frame count and channels, every sample equal (float ==)
        dreamed  same length, all finite, differs from REF, and the
                 cross-correlation peak between REF and OUT is at lag 0
        same     OUT has exactly the same bits as REF (the file's samples)
"""
import math
import operator
import os
import random
import shutil
import struct
import sys
import xml.etree.ElementTree as ET
from array import array

RATE = 48000
SUPERCLOCK = 282240000  # Ardour 7's superclock ticks per second


# ------------------------------------------------------------------ WAV I/O
def write_wav(path, chans, rate=RATE):
    """32-bit IEEE float WAV (format 3, with a fact chunk)."""
    n = len(chans[0])
    nch = len(chans)
    inter = array("f", bytes(4 * n * nch))
    for c, ch in enumerate(chans):
        inter[c::nch] = array("f", ch)
    if sys.byteorder != "little":
        inter.byteswap()
    data = inter.tobytes()
    fmt = struct.pack("<HHIIHHH", 3, nch, rate, rate * 4 * nch, 4 * nch, 32, 0)
    fact = struct.pack("<I", n)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt +
            b"fact" + struct.pack("<I", len(fact)) + fact +
            b"data" + struct.pack("<I", len(data)) + data)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_wav(path):
    """Returns (rate, [array('f') per channel]) of a float32 WAV."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] not in (b"RIFF", b"RF64") or raw[8:12] != b"WAVE":
        raise ValueError("%s: not a WAV file" % path)
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        body = raw[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise ValueError("%s: no fmt or data chunk" % path)
    tag, nch, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag != 3 or bits != 32:
        raise ValueError("%s: format %d, %d bits: not 32-bit float" % (path, tag, bits))
    inter = array("f")
    inter.frombytes(data[:len(data) // (4 * nch) * 4 * nch])
    if sys.byteorder != "little":
        inter.byteswap()
    return rate, [inter[c::nch] for c in range(nch)]


# ------------------------------------------------------------------ the test signal
def make_signal(seconds=4.0, rate=RATE):
    n = int(seconds * rate)
    rng = random.Random(20240601)
    left, right = [0.0] * n, [0.0] * n

    def seg(t0, t1):
        return range(int(t0 * rate), min(n, int(t1 * rate)))

    def env(i, a, b, ramp=0.01):  # raised-cosine edges, a..b in samples
        r = int(ramp * rate)
        if i - a < r:
            return 0.5 - 0.5 * math.cos(math.pi * (i - a) / r)
        if b - i <= r:
            return 0.5 - 0.5 * math.cos(math.pi * (b - i) / r)
        return 1.0

    # 0.00-0.25 silence; 0.25-1.25 tones (a different chord per channel)
    r = seg(0.25, 1.25)
    for i in r:
        t = i / rate
        e = env(i, r.start, r.stop)
        left[i] = e * (0.30 * math.sin(2 * math.pi * 220 * t) + 0.12 * math.sin(2 * math.pi * 660 * t))
        right[i] = e * (0.25 * math.sin(2 * math.pi * 330 * t) + 0.10 * math.sin(2 * math.pi * 1320 * t))
    # 1.25-1.50 silence; 1.50-2.10 noise bursts of 60 ms every 150 ms
    for k in range(4):
        r = seg(1.50 + 0.15 * k, 1.56 + 0.15 * k)
        for i in r:
            e = env(i, r.start, r.stop, 0.002)
            left[i] = e * 0.4 * rng.uniform(-1, 1)
            right[i] = e * 0.4 * rng.uniform(-1, 1)
    # 2.10-2.30 silence with two clicks
    for t, a in ((2.15, 0.8), (2.25, -0.6)):
        i = int(t * rate)
        left[i], right[i + 7] = a, a
    # 2.30-3.50 a gliding tone over soft noise
    r = seg(2.30, 3.50)
    ph = 0.0
    for i in r:
        t = (i - r.start) / rate
        ph += 2 * math.pi * (150 + 400 * t) / rate
        e = env(i, r.start, r.stop)
        nz = 0.05 * rng.gauss(0, 1)
        left[i] = e * (0.35 * math.sin(ph) + nz)
        right[i] = e * (0.35 * math.sin(1.5 * ph) - nz)
    # 3.50-4.00 silence
    return [array("f", left), array("f", right)]


def make_plucks(seconds=4.0, rate=RATE):
    """Plucked chords (Karplus-Strong strings, deterministic): four chords,
    one a second, the strings of each struck 12 ms apart, a different voicing
    per channel, with a little silence before the first and after the last."""
    n = int(seconds * rate)
    rng = random.Random(20240613)
    left, right = [0.0] * n, [0.0] * n
    chords = ((110.0, 164.8, 220.0, 277.2), (98.0, 146.8, 196.0, 246.9),
              (87.3, 130.8, 174.6, 220.0), (82.4, 123.5, 164.8, 207.7))
    for k, chord in enumerate(chords):
        t0 = int((0.2 + 0.95 * k) * rate)
        for s, f in enumerate(chord):
            for ch, mult in ((left, 1.0), (right, 1.5)):
                period = max(2, int(round(rate / (f * mult))))
                buf = [rng.uniform(-1, 1) for _ in range(period)]
                start = t0 + int((0.012 * s + (0.004 if ch is right else 0.0)) * rate)
                stop = min(n, start + int(0.9 * rate))
                for i in range(start, stop):
                    j = (i - start) % period
                    v = buf[j]
                    buf[j] = 0.996 * 0.5 * (v + buf[(j + 1) % period])
                    ch[i] += 0.12 * v
    return [array("f", left), array("f", right)]


# ------------------------------------------------------------------ session patch
def sc(frames, rate=RATE):
    """A sample count as an Ardour 7 audio-time value (superclock)."""
    return "a%d" % (frames * SUPERCLOCK // rate)


def patch_session(sdir, snapshot, track, wav):
    path = os.path.join(sdir, snapshot + ".ardour")
    tree = ET.parse(path)
    root = tree.getroot()
    rate, chans = read_wav(wav)
    if rate != int(root.get("sample-rate")):
        raise SystemExit("wavtool: %s is %d Hz, the session %s Hz" % (wav, rate, root.get("sample-rate")))
    nframes, nch = len(chans[0]), len(chans)
    fname = os.path.basename(wav)
    # Ardour names the one folder in interchange/ after the session
    # directory (not the snapshot) and refuses a session with more than one
    idir = os.path.join(sdir, "interchange")
    subs = [d for d in os.listdir(idir) if os.path.isdir(os.path.join(idir, d))]
    if len(subs) != 1:
        raise SystemExit("wavtool: %s holds %d folders, not one" % (idir, len(subs)))
    adir = os.path.join(idir, subs[0], "audiofiles")
    os.makedirs(adir, exist_ok=True)
    shutil.copyfile(wav, os.path.join(adir, fname))

    route = None
    for r in root.iter("Route"):
        if r.get("name") == track:
            route = r
    if route is None:
        raise SystemExit("wavtool: no track named %s in %s" % (track, path))
    plist = None
    for p in root.find("Playlists"):
        if p.get("id") == route.get("audio-playlist"):
            plist = p
    if plist is None:
        raise SystemExit("wavtool: track %s has no playlist in %s" % (track, path))

    next_id = [int(root.get("id-counter"))]

    def new_id():
        next_id[0] += 1
        return str(next_id[0])

    base = os.path.splitext(fname)[0]
    sources = root.find("Sources")
    src_ids = []
    for c in range(nch):
        sid = new_id()
        src_ids.append(sid)
        ET.SubElement(sources, "Source", {
            "name": fname, "type": "audio", "flags": "", "id": sid,
            "natural-position": "a0", "channel": str(c), "origin": "", "gain": "1"})

    def region(name, rid, whole):
        a = {"name": name, "muted": "0", "opaque": "1", "locked": "0", "video-locked": "0",
             "automatic": "1" if whole else "0", "whole-file": "1" if whole else "0",
             "import": "0", "external": "0", "sync-marked": "0", "left-of-split": "0",
             "right-of-split": "0", "hidden": "0", "position-locked": "0",
             "valid-transients": "0", "start": "a0", "length": sc(nframes, rate) + "@a0",
             "sync-position": "a0", "ancestral-start": "a0", "ancestral-length": "a0@a0",
             "stretch": "1", "shift": "1", "layering-index": "0", "tags": "", "contents": "0",
             "envelope-active": "0", "default-fade-in": "0", "default-fade-out": "0",
             "fade-in-active": "0", "fade-out-active": "0", "scale-amplitude": "1",
             "id": rid, "type": "audio", "first-edit": "nothing", "channels": str(nch)}
        for c, sid in enumerate(src_ids):
            a["source-%d" % c] = sid
            a["master-source-%d" % c] = sid
        return a

    ET.SubElement(root.find("Regions"), "Region", region(base, new_id(), True))
    reg = ET.SubElement(plist, "Region", region(base + ".1", new_id(), False))
    ET.SubElement(reg, "Envelope", {"default": "yes"})

    locs = root.find("Locations")
    for loc in list(locs):
        if "IsSessionRange" in loc.get("flags", ""):
            locs.remove(loc)
    ET.SubElement(locs, "Location", {
        "id": new_id(), "name": "session", "start": "a0", "end": sc(nframes, rate),
        "flags": "IsSessionRange", "locked": "0", "timestamp": "0", "cue": "0"})
    root.set("id-counter", str(next_id[0] + 1))
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    print("wavtool: %s: %d frames x %d channels of %s on track %s" % (path, nframes, nch, fname, track))


# ------------------------------------------------------------------ checks
def mono(chans):
    m = array("d", chans[0])
    for ch in chans[1:]:
        m = array("d", map(operator.add, m, ch))
    return m


def dot_at(x, y, lag):
    """sum x[i] * y[i + lag]"""
    if lag >= 0:
        return sum(map(operator.mul, x, y[lag:]))
    return sum(map(operator.mul, x[-lag:], y))


def xcorr_peak(x, y, maxlag):
    """The lag (y relative to x, in samples) of the cross-correlation
    peak, searched coarse to fine over +-maxlag."""
    block = 64
    nb = min(len(x), len(y)) // block

    def blocks(s):
        return array("d", (sum(s[b * block:(b + 1) * block]) for b in range(nb)))

    # the signals summed in blocks (a low-passed, decimated copy) find the
    # lag to within a block or two; the samples themselves then pin it down
    bx, by = blocks(x), blocks(y)
    ml = maxlag // block
    coarse = max(range(-ml, ml + 1), key=lambda k: dot_at(bx, by, k))
    lo, hi = (coarse - 1) * block - 16, (coarse + 1) * block + 16
    best = max(range(lo, hi + 1), key=lambda k: dot_at(x, y, k))
    peak = dot_at(x, y, best)
    return best, peak


def check(kind, name, ref_path, out_path):
    try:
        rr, ref = read_wav(ref_path)
        ro, out = read_wav(out_path)
    except (OSError, ValueError) as e:
        return False, "%s" % e
    shape = "%d ch x %d frames at %d Hz" % (len(out), len(out[0]), ro)
    if rr != ro or len(ref) != len(out) or len(ref[0]) != len(out[0]):
        return False, "%s, the input has %d ch x %d frames at %d Hz" % (
            shape, len(ref), len(ref[0]), rr)
    if kind == "same" and all(a.tobytes() == b.tobytes() for a, b in zip(ref, out)):
        return True, "%s, same bits sample for sample" % shape
    if kind in ("equal", "same"):
        bad = [(c, i) for c in range(len(ref)) for i in range(len(ref[c]))
               if ref[c][i] != out[c][i] or (kind == "same" and
                                               ref[c][i:i + 1].tobytes() != out[c][i:i + 1].tobytes())]
        if bad:
            c, i = bad[0]
            # where would the output line up? (a latency slip shows here)
            lag, _ = xcorr_peak(mono(ref), mono(out), rr * 2)
            worst = max(abs(ref[c][i] - out[c][i]) for c, i in bad)
            return False, "%s: %d samples differ (max %.3g), first ch %d frame %d (%r vs %r); xcorr lag %d" % (
                shape, len(bad), worst, c, i, ref[c][i], out[c][i], lag)
        return True, "%s, %s sample for sample" % (shape, "identical" if kind == "equal" else "same bits")
    if kind == "dreamed":
        nonfinite = sum(1 for ch in out for v in ch if not math.isfinite(v))
        if nonfinite:
            return False, "%s: %d non-finite samples" % (shape, nonfinite)
        diff = sum(1 for c in range(len(ref)) for a, b in zip(ref[c], out[c]) if a != b)
        ein = sum(v * v for ch in ref for v in ch)
        ed = sum((a - b) ** 2 for c in range(len(ref)) for a, b in zip(ref[c], out[c]))
        ddb = 10 * math.log10(ed / ein) if ed > 0 and ein > 0 else -math.inf
        peak = max(abs(v) for ch in out for v in ch)
        lag, _ = xcorr_peak(mono(ref), mono(out), rr * 2)
        # the dream's level second by second, relative to the input's
        # overall level (the Layer 3 ramp shows here, if at all)
        per = []
        for s0 in range(0, len(ref[0]), rr):
            e = sum((a - b) ** 2 for c in range(len(ref))
                    for a, b in zip(ref[c][s0:s0 + rr], out[c][s0:s0 + rr]))
            n = len(ref) * len(ref[0][s0:s0 + rr])
            per.append("%.0f" % (10 * math.log10(e / n / (ein / (len(ref) * len(ref[0]))))) if e > 0 else "-inf")
        msg = "%s, %d samples differ, dream %.1f dB re input (per second: %s), peak %.3f, xcorr lag %d" % (
            shape, diff, ddb, " ".join(per), peak, lag)
        if diff == 0:
            return False, msg + ": not dreamed"
        if lag != 0:
            return False, msg + ": misaligned"
        return True, msg
    return False, "unknown check kind %s" % kind


def lead(in_path, out_path):
    """Writes the sound from its first frame with a sample that is not +0.0
    (where the plugin starts its window grid in freewheel) and returns that
    frame's index."""
    rate, ch = read_wav(in_path)
    n = len(ch[0])
    first = next((i for i in range(n) if any(c[i:i + 1].tobytes() != b"\0\0\0\0" for c in ch)), n)
    write_wav(out_path, [c[first:] for c in ch], rate)
    return first


def cut(in_path, out_path, offset, like_path):
    """Writes frames offset .. offset + (like_path's length) of in_path."""
    rate, ch = read_wav(in_path)
    _, like = read_wav(like_path)
    n = len(like[0])
    write_wav(out_path, [c[offset:offset + n] for c in ch], rate)


def main(argv):
    if len(argv) == 3 and argv[1] == "make":
        write_wav(argv[2], make_signal())
        return 0
    if len(argv) == 4 and argv[1] == "plucks":
        write_wav(argv[2], make_plucks(rate=int(argv[3])), int(argv[3]))
        return 0
    if len(argv) == 6 and argv[1] == "patch":
        patch_session(argv[2], argv[3], argv[4], argv[5])
        return 0
    if len(argv) == 4 and argv[1] == "lead":
        print(lead(argv[2], argv[3]))
        return 0
    if len(argv) == 6 and argv[1] == "cut":
        cut(argv[2], argv[3], int(argv[4]), argv[5])
        return 0
    if len(argv) == 6 and argv[1] == "check":
        ok, msg = check(argv[2], argv[3], argv[4], argv[5])
        print("%s: %s: %s" % ("PASS" if ok else "FAIL", argv[3], msg))
        return 0 if ok else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
