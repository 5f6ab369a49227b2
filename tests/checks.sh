# SPDX-License-Identifier: GPL-2.0-or-later
# checks.sh -- sourced by the shell tests: ok/bad/check count results into
# $pass and $fail and print them; bad shows the start of $T/err.
pass=${pass:-0}
fail=${fail:-0}

ok() {
	pass=$((pass + 1))
	echo "ok   $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -s "$T/err" ] && sed 's/^/     stderr: /' "$T/err" | head -n 8
}
check() { # name, then a command that must succeed
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
