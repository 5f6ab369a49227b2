#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What `make run` does: dream a generated test sound with the bundled default
# model, and show what changed.
set -e
B=build
echo "== the test sound: $B/demo-in.wav (6 s, 44.1 kHz stereo: plucked chords, bass, drums)"
/usr/bin/python3 tools/demo-sound.py $B/demo-in.wav
echo "== oneiro render $B/demo-in.wav $B/demo-dreamed.wav --plot $B/demo-dreamed.png"
$B/oneiro render --model models/default.onm --plot $B/demo-dreamed.png \
	$B/demo-in.wav $B/demo-dreamed.wav
echo
echo "Listen to $B/demo-in.wav and $B/demo-dreamed.wav; $B/demo-dreamed.png shows"
echo "the spectrograms of the dry sound, the dreamed sound and the difference."
echo "The LV2 plugin is in plugin.lv2/ (make install puts it in \$LV2DIR/oneiro.lv2)."
