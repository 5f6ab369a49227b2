# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny Standard MIDI File (format 0) writer.

Events are given in seconds; the file uses 960 ticks per quarter note at
120 bpm, i.e. 1920 ticks per second, so event times are exact to ~0.5 ms.
"""

import struct

TICKS_PER_QUARTER = 960
US_PER_QUARTER = 500000  # 120 bpm
TICKS_PER_SECOND = TICKS_PER_QUARTER * 1000000 // US_PER_QUARTER  # 1920


def _varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


class Song:
    def __init__(self):
        self.events = []  # (tick, order, bytes)
        self._n = 0

    def _add(self, t, data, order):
        tick = int(round(t * TICKS_PER_SECOND))
        self.events.append((tick, order, self._n, bytes(data)))
        self._n += 1

    # order: at equal ticks, note-offs (0) before controllers (1) before note-ons (2)
    def program(self, t, ch, prog, bank=None):
        if bank is not None:
            self._add(t, [0xB0 | ch, 0, bank & 0x7F], 1)
            self._add(t, [0xB0 | ch, 32, 0], 1)
        self._add(t, [0xC0 | ch, prog & 0x7F], 1)

    def control(self, t, ch, cc, value):
        self._add(t, [0xB0 | ch, cc & 0x7F, value & 0x7F], 1)

    def note(self, t, dur, ch, key, vel):
        self._add(t, [0x90 | ch, key & 0x7F, max(1, min(127, vel))], 2)
        self._add(t + dur, [0x80 | ch, key & 0x7F, 64], 0)

    def to_bytes(self, end=None):
        ev = sorted(self.events)
        track = bytearray()
        track += b"\x00\xff\x51\x03" + US_PER_QUARTER.to_bytes(3, "big")
        last = 0
        for tick, _o, _n, data in ev:
            track += _varlen(tick - last) + data
            last = tick
        if end is not None:
            last_end = int(round(end * TICKS_PER_SECOND))
            track += _varlen(max(0, last_end - last))
        else:
            track += b"\x00"
        track += b"\xff\x2f\x00"
        head = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
        return head + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)

    def write(self, path, end=None):
        with open(path, "wb") as f:
            f.write(self.to_bytes(end))
