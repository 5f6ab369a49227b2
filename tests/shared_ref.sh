#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shared_ref.sh -- checks the core against the shared PyTorch reference,
# ../shared/reference/dream_ref.py (relative to the repository root, which
# must be the current directory).
#
# It exports the reference's "small" network, input and dream gradient
# (objective: its block2 and block3, i.e. our Layers 3 and 4, weight 1 each,
# post-activation), converts the export into our model file with
# tests/onm.py, and runs `build/test_torch --dream-ref DIR`, which compares
# every layer's output, the objective and dJ/dx (rel L2 < 1e-3, cosine >
# 0.99999, the reference's suggested tolerances) with the optimised and the
# reference kernels. Skips (exit 0) when Debian's Python has no torch or the
# reference is not there. The last line says "shared_ref: N passed, N failed".
#
# Environment: PYTHON (default /usr/bin/python3), TEST_TORCH (default
# build/test_torch, built with make if missing), MAKE.

PYTHON=${PYTHON:-/usr/bin/python3}
TEST_TORCH=${TEST_TORCH:-build/test_torch}
REF=../shared/reference/dream_ref.py

if [ ! -f "$REF" ]; then
	echo "shared_ref: skipped ($REF not found)"
	exit 0
fi
if ! "$PYTHON" -c 'import torch, numpy' >/dev/null 2>&1; then
	echo "shared_ref: skipped ($PYTHON cannot import torch and numpy)"
	exit 0
fi
if [ ! -f tests/onm.py ]; then
	echo "shared_ref: run me from the repository root" >&2
	echo "shared_ref: 0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$TEST_TORCH" ]; then
	${MAKE:-make} -s "$TEST_TORCH" || {
		echo "shared_ref: cannot build $TEST_TORCH" >&2
		echo "shared_ref: 0 passed, 1 failed"
		exit 1
	}
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/shared_ref.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

failed() {
	echo "shared_ref: $1" >&2
	echo "shared_ref: 0 passed, 1 failed"
	exit 1
}

"$PYTHON" "$REF" --export "$dir" --variant small --layers block2:1,block3:1 ||
	failed "dream_ref.py --export failed"

# The export (manifest.json + weights/*.f32) as our model file, DIR/model.onm,
# and its objective value as text, DIR/objective.txt.
"$PYTHON" - "$dir" <<'EOF' || failed "converting the export failed"
import json, os, sys
import numpy as np
sys.path.insert(0, "tests")
import onm

d = sys.argv[1]
man = json.load(open(os.path.join(d, "manifest.json")))
if man["objective_layers"] != {"block2": 1.0, "block3": 1.0}:
    sys.exit("unexpected objective layers %r" % man["objective_layers"])

def param(name):
    e = man["params"][name]
    a = np.fromfile(os.path.join(d, e["file"]), dtype="<f4")
    return a.reshape(e["shape"])

k0, s0, p0 = man["conv0"]["k"], man["conv0"]["stride"], man["conv0"]["pad"]
slope = man["leaky_slope"]
bk, bs, bp = man["block_conv"]["k"], man["block_conv"]["stride"], man["block_conv"]["pad"]
pk, ps = man["maxpool"]["k"], man["maxpool"]["stride"]
assert man["maxpool"]["pad"] == 0 and not man["maxpool"]["ceil_mode"]
names = ["conv0"] + ["convs.%d" % i for i in range(3)] + ["fc1", "fc2"]
params = []
for n in names:
    params += [param(n + ".weight"), param(n + ".bias")]
w0 = params[0]
ops = [onm.op(onm.CONV, w0.shape[1], w0.shape[0], k0, s0, p0),
       onm.op(onm.LRELU, f=slope)]                                  # Layer 1: conv0
for i in range(3):                                                  # Layers 2..4: block1..3
    w = params[2 + 2 * i]
    ops += [onm.op(onm.CONV, w.shape[1], w.shape[0], bk, bs, bp), onm.op(onm.LRELU, f=slope),
            onm.op(onm.MAXPOOL, pk, ps)]
f1, f2 = params[8], params[10]
ops += [onm.op(onm.GMEAN), onm.op(onm.DENSE, f1.shape[1], f1.shape[0]),
        onm.op(onm.LRELU, f=slope),                                 # Layer 5: fc1
        onm.op(onm.DENSE, f2.shape[1], f2.shape[0])]                # Layer 6: logits
onm.write(os.path.join(d, "model.onm"), ops, params, man["sample_rate"], man["n"],
          ["class%d" % i for i in range(f2.shape[0])],
          meta="converted from dream_ref.py --export (variant %s)\n" % man["variant"])
with open(os.path.join(d, "objective.txt"), "w") as f:
    f.write("%.17g\n" % man["objective"])
EOF

"$TEST_TORCH" --dream-ref "$dir"
