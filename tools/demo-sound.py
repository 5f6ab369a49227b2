#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""demo-sound.py OUT.wav -- writes a 6 s stereo 44.1 kHz test sound (plucked
chords, a bass line, noise-burst drums) for `make run`. Standard library only."""
import math
import random
import struct
import sys
import wave

RATE = 44100
SECONDS = 6.0


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        # --help (or a missing path) is not a file name to write
        sys.stdout.write(__doc__ + "\n")
        sys.exit(0 if sys.argv[1:] in (["--help"], ["-h"]) else 2)
    out = sys.argv[1]
    n = int(RATE * SECONDS)
    left = [0.0] * n
    right = [0.0] * n
    rnd = random.Random(7)
    beat = RATE // 2                       # 120 bpm
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6),
              (196.0, 246.9, 311.1)]
    for b in range(int(SECONDS * 2)):
        t0 = b * beat
        # pluck: decaying harmonics, panned a little apart
        for k, f in enumerate(chords[(b // 2) % 4]):
            pan = 0.3 + 0.2 * k
            for i in range(min(beat * 2, n - t0)):
                t = i / RATE
                env = math.exp(-3.0 * t)
                v = 0.12 * env * (math.sin(2 * math.pi * f * t) + 0.4 * math.sin(4 * math.pi * f * t)
                                  + 0.15 * math.sin(6 * math.pi * f * t))
                left[t0 + i] += v * (1 - pan)
                right[t0 + i] += v * pan
        # bass on every beat
        fb = chords[(b // 2) % 4][0] / 4
        for i in range(min(beat, n - t0)):
            t = i / RATE
            v = 0.25 * math.exp(-4.0 * t) * math.sin(2 * math.pi * fb * t)
            left[t0 + i] += v
            right[t0 + i] += v
        # kick on 1 and 3, noise snare on 2 and 4
        if b % 2 == 0:
            for i in range(min(6000, n - t0)):
                t = i / RATE
                v = 0.5 * math.exp(-30 * t) * math.sin(2 * math.pi * (50 + 100 * math.exp(-40 * t)) * t)
                left[t0 + i] += v
                right[t0 + i] += v
        else:
            for i in range(min(5000, n - t0)):
                v = 0.25 * math.exp(-25 * i / RATE) * (rnd.random() * 2 - 1)
                left[t0 + i] += v
                right[t0 + i] += v
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        frames = bytearray()
        for a, b in zip(left, right):
            frames += struct.pack("<hh", max(-32767, min(32767, int(a * 32767))),
                                  max(-32767, min(32767, int(b * 32767))))
        w.writeframes(bytes(frames))


if __name__ == "__main__":
    main()
