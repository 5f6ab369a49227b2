#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs each test program given; each prints its own checks. Sums the
# results into one closing line: "N passed, N failed".
pass=0
fail=0
for t in "$@"; do
	echo "== $t"
	if "$t"; then
		pass=$((pass + 1))
	else
		echo "FAILED: $t" >&2
		fail=$((fail + 1))
	fi
done
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
