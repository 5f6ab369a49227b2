#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_torch_bridge.sh -- the PyTorch bridge (python/oneiro_torch.py) against
# the C core: tests/test_bridge.py (round trips of the shipped models and of
# PyTorch modules, the core's forward, dream gradients, training gradients
# and `oneiro score` probabilities against PyTorch on files written by
# save_onm, a PyTorch-trained model dreamed by `oneiro render`, refused
# modules), then examples/train_ddp.py with DistributedDataParallel on CPU
# (2 processes spawned, and under torchrun when it is there), its export
# loaded by `oneiro inspect`.
# Run from the repository root after `make all` and `make build/test_torch`.
# Skipped, with a note, when $PYTHON (default /usr/bin/python3) has no torch.
B=${ONEIRO:-build/oneiro}
TT=${TEST_TORCH:-build/test_torch}
PY=${PYTHON:-/usr/bin/python3}
pass=0
fail=0

if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
	echo "test_torch_bridge: SKIPPED: $PY cannot import torch and numpy" \
		"(Debian packages python3-torch python3-numpy); the bridge is not tested"
	echo "test_torch_bridge: 0 passed, 0 failed (skipped)"
	exit 0
fi
if [ ! -x "$B" ]; then
	echo "test_torch_bridge: $B not built (make all)" >&2
	echo "test_torch_bridge: 0 passed, 1 failed"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test_torch_bridge.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

. "$(dirname "$0")/checks.sh"

# ---------------------------------------------------------------- test_bridge.py
"$PY" tests/test_bridge.py "$B" "$TT" >"$T/bridge" 2>"$T/err"
rc=$?
cat "$T/bridge"
n_ok=$(grep -c '^ok ' "$T/bridge")
n_bad=$(grep -c '^FAIL ' "$T/bridge")
pass=$((pass + n_ok))
fail=$((fail + n_bad))
if [ $rc -ne 0 ] && [ "$n_bad" -eq 0 ]; then
	bad "tests/test_bridge.py exited with status $rc"
fi

# ---------------------------------------------------------------- examples/train_ddp.py
inspect_ok() { # FILE: oneiro inspect loads it and it has the example's front end
	"$B" inspect "$1" >"$T/insp" 2>"$T/err" && grep -q 'log-mel 48 bands' "$T/insp"
}
"$PY" examples/train_ddp.py --world-size 2 --steps 4 --out "$T/ddp.onm" --oneiro "$B" \
	>"$T/ddp.log" 2>"$T/err"
check "examples/train_ddp.py: DistributedDataParallel, 2 spawned CPU processes (gloo), 4 steps" \
	grep -q 'wrote .*2 processes' "$T/ddp.log"
check "examples/train_ddp.py: its export loads in oneiro inspect" inspect_ok "$T/ddp.onm"
# the engine on its log-mel front end: what Layer 2 listens for, twice
render_twice() {
	for k in 1 2; do
		"$B" render --model "$T/ddp.onm" --from noise --length 1 --layer 2=1 --quiet \
			"$T/from$k.wav" 2>"$T/err" || return 1
	done
	[ -s "$T/from1.wav" ] && cmp -s "$T/from1.wav" "$T/from2.wav"
}
check "oneiro render --from noise with the DDP-trained log-mel model: the same bits twice" \
	render_twice

# torchrun, when installed. --redirects/--tee 2: Debian's torch 1.13 under
# Python 3.11 cannot parse their default 0 (see docs/pytorch.md).
TR=$(command -v torchrun)
if [ -n "$TR" ]; then
	"$TR" --standalone --nproc_per_node=2 --redirects 2 --tee 2 --log_dir "$T/trlogs" \
		examples/train_ddp.py --steps 3 --out "$T/ddp_tr.onm" >"$T/tr.log" 2>"$T/err"
	check "examples/train_ddp.py under torchrun --nproc_per_node=2" \
		grep -q 'wrote .*2 processes' "$T/tr.log"
	check "torchrun's export loads in oneiro inspect" inspect_ok "$T/ddp_tr.onm"
else
	echo "note: torchrun not installed, the torchrun run of examples/train_ddp.py is skipped"
fi

echo "test_torch_bridge: $pass passed, $fail failed"
[ $fail -eq 0 ]
