#!/bin/sh
# models/train.sh -- rebuilds the shipped models from Debian packages:
#   1. the datasets (models/data/build.sh, into build/data; installs packages)
#   2. oneiro train for each model, with fixed seeds (the same data, seed and
#      thread count give the same model bits)
#   3. the plugin's default model is sound-categories.
# Run by `make models` (as root: it installs the data packages). About 35 min
# on 2 cores.
set -e
D=${DATA:-build/data}
ONEIRO=${ONEIRO:-build/oneiro}
THREADS=${THREADS:-2}
bash models/data/build.sh "$D"

train() { # NAME ARGS...: trains models/NAME.onm and its report
	name=$1
	shift
	echo "== models/$name.onm"
	"$ONEIRO" train --seed 1 --threads "$THREADS" --select accuracy --quiet "$@" "models/$name.onm"
	grep -E "window accuracy|stopped|saved" "models/$name.report.txt" || true
}

# sound categories: held out by soundfont / kit / voice, see models/data/README.md.
# Wider than "small" (32 first filters) and one block deeper: a last feature
# sees 0.24 s of sound instead of 0.11 s.
CATEGORIES=conv:1:32:64:16,lrelu,conv:32:32:3:1:1,lrelu,maxpool:4,conv:32:48:3:1:1,lrelu,maxpool:4
CATEGORIES=$CATEGORIES,conv:48:64:3:1:1,lrelu,maxpool:4,conv:64:64:3:1:1,lrelu
CATEGORIES=$CATEGORIES,gmean,dense:64:32,lrelu,dense:32:N
train sound-categories --layers "$CATEGORIES" --window 1.024 --augment --epochs 40 --patience 10 \
	"$D/sound-categories/sound-categories.csv"
# accompaniment styles rendered from mma grooves (held out by groove file): two
# more blocks at 64 and 128 ms steps, so that a last feature sees about a
# second (a beat or two) rather than 0.11 s
STYLES=conv:1:16:64:16,lrelu,conv:16:32:3:1:1,lrelu,maxpool:4,conv:32:32:3:1:1,lrelu,maxpool:4
STYLES=$STYLES,conv:32:64:3:1:1,lrelu,maxpool:4,conv:64:64:5:1:2,lrelu,maxpool:2
STYLES=$STYLES,conv:64:64:5:1:2,lrelu,gmean,dense:64:32,lrelu,dense:32:N
train styles --layers "$STYLES" --window 2.048 --augment --epochs 40 --patience 10 \
	"$D/styles/styles.csv"
# interestingness: recorded material (1) against generated dull material (0)
train interestingness --arch small --window 1.024 --binary 1 --augment --epochs 30 \
	--patience 6 "$D/interestingness/interestingness.csv"

cp models/sound-categories.onm models/default.onm
echo "models/default.onm is models/sound-categories.onm"
