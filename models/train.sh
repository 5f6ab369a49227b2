#!/bin/sh
# models/train.sh -- rebuilds the shipped models from Debian packages:
#   1. the datasets (models/data/build.sh, into build/data; installs packages)
#   2. oneiro train for each model, with fixed seeds (the same data, seed and
#      thread count give the same model bits)
#   3. the plugin's default model is sound-categories.
# Run by `make models` (as root: it installs the data packages). About 15 min
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

# sound categories: held out by soundfont / kit / voice, see models/data/README.md
train sound-categories --arch small --window 1.024 --augment --epochs 40 --patience 10 \
	"$D/sound-categories/sound-categories.csv"
# accompaniment styles rendered from mma grooves (held out by groove file)
train styles --arch small --window 2.048 --augment --epochs 40 --patience 10 \
	"$D/styles/styles.csv"
# interestingness: recorded material (1) against generated dull material (0)
train interestingness --arch small --window 1.024 --binary 1 --augment --epochs 30 \
	--patience 6 "$D/interestingness/interestingness.csv"

cp models/sound-categories.onm models/default.onm
echo "models/default.onm is models/sound-categories.onm"
