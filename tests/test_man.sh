#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_man.sh [ONEIRO [MANDIR]] -- the manual pages against the program's
# own --help: oneiro(1) and a page per command (every command `oneiro
# --help` lists, but version), each option a command's --help lists is in
# its page (and the ones --help describes on a line of their own are items
# of the page's option lists), and man formats every page without errors.
#
# ONEIRO defaults to build/oneiro, MANDIR (where oneiro.1 or oneiro.1.gz
# is) to build/man: run from the repository root after `make all man`.
# tests/test_install.sh runs it on the installed copy.
# Ends with "test_man: N passed, N failed".
set -u

ONEIRO=${1:-build/oneiro}
MANDIR=${2:-build/man}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'test_man: FAIL: %s\n' "$*" >&2
}
finish() {
	echo "test_man: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oneiro-test-man.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if ! "$ONEIRO" --help >"$tmp/help" 2>&1; then
	bad "$ONEIRO --help failed: $(head -5 "$tmp/help")"
	finish
fi

# the commands oneiro --help lists: the first word of each line indented by
# two spaces in its "commands:" paragraph
cmds=$(sed -n '/^commands:/,/^$/p' "$tmp/help" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
[ -n "$cmds" ] || bad "no commands found in '$ONEIRO --help'"

# page NAME: the page's roff source on stdout (plain or gzip'd)
page() {
	if [ -f "$MANDIR/$1.1.gz" ]; then
		gzip -dc "$MANDIR/$1.1.gz"
	elif [ -f "$MANDIR/$1.1" ]; then
		cat "$MANDIR/$1.1"
	else
		return 1
	fi
}

# check NAME HELPFILE: the options in HELPFILE against page NAME
check() {
	name=$1
	help=$2
	if ! page "$name" >"$tmp/$name.roff"; then
		bad "no manual page $MANDIR/$name.1 (or .1.gz)"
		return
	fi
	ok
	# the page as text: roff escapes undone (\- is -, font changes go)
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\[,\/&]//g' \
		"$tmp/$name.roff" >"$tmp/$name.txt"
	# option items: the first line after each .TP (or .IP) request
	awk '/^\.(TP|IP)/ { getline; print }' "$tmp/$name.txt" >"$tmp/$name.items"
	# every --option the help names, anywhere
	grep -o -- '--[a-z][a-z0-9-]*' "$help" | sort -u >"$tmp/$name.opts"
	n=0
	while read -r opt; do
		n=$((n + 1))
		if grep -q -e "$opt\([^a-z0-9-]\|\$\)" "$tmp/$name.txt"; then
			ok
		else
			bad "$name(1) does not mention $opt, which '$ONEIRO ${name#oneiro-} --help' lists"
		fi
	done <"$tmp/$name.opts"
	# the options described on a line of their own: items of the page
	sed -n 's/^ \{1,8\}\(--[a-z][a-z0-9-]*\).*/\1/p' "$help" | sort -u >"$tmp/$name.defs"
	while read -r opt; do
		if grep -q -e "^$opt\([^a-z0-9-]\|\$\)" "$tmp/$name.items"; then
			ok
		else
			bad "$name(1): $opt is not an item of an option list"
		fi
	done <"$tmp/$name.defs"
	# formatted without errors (a line too long to adjust is not one)
	if command -v man >/dev/null 2>&1; then
		LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \
			"$tmp/$name.roff" >/dev/null 2>"$tmp/$name.warn"
		grep -v 'cannot adjust line\|can.t break line' "$tmp/$name.warn" >"$tmp/$name.warn2"
		if [ -s "$tmp/$name.warn2" ]; then
			bad "man warns about $name(1): $(head -5 "$tmp/$name.warn2")"
		else
			ok
		fi
	fi
	echo "  $name(1): $n options"
}

check oneiro "$tmp/help"
for c in $cmds; do
	[ "$c" = version ] && continue
	if "$ONEIRO" "$c" --help >"$tmp/help-$c" 2>&1; then
		ok
	else
		bad "'$ONEIRO $c --help' failed: $(head -3 "$tmp/help-$c")"
		continue
	fi
	check "oneiro-$c" "$tmp/help-$c"
	# the main page names the command's own page
	if grep -q "oneiro-$c (1)\|oneiro-$c(1)" "$tmp/oneiro.txt"; then
		ok
	else
		bad "oneiro(1) does not point to oneiro-$c(1)"
	fi
done

finish
