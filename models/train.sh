#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# models/train.sh -- rebuilds the shipped models from Debian packages:
#   1. the datasets (models/data/build.sh, into build/data; installs packages)
#   2. oneiro train for each model, with fixed seeds (the same data, seed and
#      thread count give the same model bits)
#   3. the plugin's default model is sound-categories.
# Run by `make models` (as root: it installs the data packages). About 50 min
# on 2 cores.
set -e
D=${DATA:-build/data}
ONEIRO=${ONEIRO:-build/oneiro}
THREADS=${THREADS:-1}  # the shipped models' bits are those of one thread
bash models/data/build.sh "$D"

train() { # NAME SEED ARGS...: trains models/NAME.onm and its report
	name=$1
	seed=$2
	shift 2
	echo "== models/$name.onm"
	"$ONEIRO" train --seed "$seed" --threads "$THREADS" --select accuracy --quiet "$@" "models/$name.onm"
	grep -E "window accuracy|stopped|saved" "models/$name.report.txt" || true
}

# sound categories (the default): Debian's renders and samples plus the real
# recordings, held out by soundfont / kit / voice / real source (see
# models/data/README.md). A log-mel front end (32 ms frames every 10 ms, 64
# bands 30 Hz..7.8 kHz): the network hears magnitudes, not phase, so a dream
# through it must change what a listener hears. Four conv blocks over time on
# the bands; a last feature sees about 0.4 s.
CATEGORIES=logmel:512:160:64:30:7800,conv:64:96:3:1:1,lrelu,maxpool:2
CATEGORIES=$CATEGORIES,conv:96:128:3:1:1,lrelu,maxpool:2,conv:128:128:3:1:1,lrelu,maxpool:2
CATEGORIES=$CATEGORIES,conv:128:128:3:1:1,lrelu,gmean,dense:128:64,lrelu,dense:64:N
train sound-categories 1 --layers "$CATEGORIES" --window 1.024 --augment --epochs 24 --patience 8 \
	"$D/sound-categories/sound-categories.csv"
# the listener (oneiro render --judge): the same clips split by other sources
# (models/data/resplit.py), another front end (64 ms frames every 16 ms, 80
# bands), other kernels and depth, another seed: an independent ear
/usr/bin/python3 models/data/resplit.py "$D/sound-categories/sound-categories.csv" \
	"$D/sound-categories/listener.csv"
LISTENER=logmel:1024:256:80:40:8000,conv:80:64:5:1:2,lrelu,maxpool:2
LISTENER=$LISTENER,conv:64:96:5:1:2,lrelu,maxpool:2,conv:96:128:3:1:1,lrelu,gmean,dense:128:N
train listener 7 --layers "$LISTENER" --window 1.024 --augment --epochs 20 --patience 8 \
	"$D/sound-categories/listener.csv"
# the critic: a third ear, for judging dreams made for two models at once
# (render --also models/listener.onm): the clips split by yet other sources,
# another front end (25 ms frames every 8 ms, 48 bands), a wide first kernel,
# another seed; neither dreaming model is it
/usr/bin/python3 models/data/resplit.py "$D/sound-categories/sound-categories.csv" \
	"$D/sound-categories/critic.csv" judge3
CRITIC=logmel:400:128:48:50:7900,conv:48:64:7:1:3,lrelu,maxpool:2,conv:64:96:3:1:1,lrelu
CRITIC=$CRITIC,maxpool:2,conv:96:96:3:1:1,lrelu,maxpool:2,conv:96:128:3:1:1,lrelu,gmean
CRITIC=$CRITIC,dense:128:N
train critic 11 --layers "$CRITIC" --window 1.024 --augment --epochs 16 --patience 6 \
	"$D/sound-categories/critic.csv"
# accompaniment styles rendered from mma grooves (held out by groove file): a
# log-mel front end (64 ms frames every 16 ms, 64 bands) and five conv blocks
# over 3 s windows, so that a last feature sees a bar or two. Chosen on a
# second split by groove file (models/data/resplit.py ... stylestune), where it
# beat the raw-waveform network by about 30 points; see models/README.md
STYLES=logmel:1024:256:64:30:7800,conv:64:64:3:1:1,lrelu,maxpool:2,conv:64:96:3:1:1,lrelu
STYLES=$STYLES,maxpool:2,conv:96:96:3:1:1,lrelu,maxpool:2,conv:96:128:5:1:2,lrelu,maxpool:2
STYLES=$STYLES,conv:128:128:5:1:2,lrelu,gmean,dense:128:64,lrelu,dense:64:N
train styles 1 --layers "$STYLES" --window 3.072 --augment --epochs 40 --patience 10 \
	"$D/styles/styles.csv"
# interestingness: recorded material (1) against generated dull material (0)
train interestingness 1 --arch small --window 1.024 --binary 1 --augment --epochs 30 \
	--patience 6 "$D/interestingness/interestingness.csv"

cp models/sound-categories.onm models/default.onm
echo "models/default.onm is models/sound-categories.onm"
