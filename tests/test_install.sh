#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_install.sh -- the installed copies work, and go away without a trace.
#
# 1. Builds the Debian packages (tools/deb.sh: dpkg-buildpackage from a copy
#    of the tree in a temporary directory, then lintian: no errors and no
#    warnings that debian/ does not override).
# 2. Installs them: as root with `dpkg -i`; otherwise (or when oneiro is
#    already installed by someone else, whose copy is left alone) unpacks
#    them with `dpkg -x` into a temporary root and points PATH, LV2_PATH and
#    ONEIRO_MODEL there (an unpacked copy cannot find /usr/share/oneiro).
# 3. From the installed copy only, in a directory outside the repository:
#    `oneiro version`; `oneiro render` of a generated sound with the installed
#    default model (/usr/share/oneiro/models/default.onm, not the build
#    tree's); `oneiro inspect`; the manual pages (tests/test_man.sh on the
#    installed program and pages); lv2ls and lv2info find urn:oneiro:dream
#    and urn:oneiro:dream-mono in /usr/lib/lv2 (LV2_PATH=/usr/lib/lv2 and
#    nothing else); one run of the plugin in jalv, a lilv host, headless
#    under JACK's dummy driver (tests/test_jalv.sh with the installed
#    bundle, through a link to it); no installed file holds the path of the build tree, of this
#    tree, /root or /home.
# 4. `dpkg --purge`: every path `dpkg -L` listed that was not there before
#    the installation is gone. The packages are purged on every way out (a
#    trap), so the machine is left as it was.
# 5. `make install DESTDIR=TMP PREFIX=/usr` in the package's built copy:
#    the same files as the packages (but Debian's docs and lintian
#    overrides), the program runs,
#    lv2ls finds the plugins; `make uninstall` leaves nothing but empty
#    standard directories.
#
# Run from the repository root. Needs dpkg-dev, debhelper, help2man and the
# build dependencies (debian/control), lilv-utils; lintian, jalv and jackd2
# are used when installed. Takes about a minute and a half.
# Ends with "test_install: N passed, N failed".
set -u

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'test_install: FAIL: %s\n' "$*" >&2
}
note() { echo "  $*"; }
finish() {
	echo "test_install: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
skip() {
	echo "test_install: SKIPPED: $*"
	finish
}

repo=$(pwd)
[ -f "$repo/debian/control" ] && [ -f "$repo/tools/deb.sh" ] ||
	skip "run from the repository root (no debian/control here)"
for t in dpkg-buildpackage dh help2man lv2ls lv2info; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (run 'make deps' as root)"
done
version=$(sed -n 's/^VERSION *= *//p' Makefile)
PKGS="oneiro oneiro-lv2"
URIS="urn:oneiro:dream urn:oneiro:dream-mono"
marker=/var/tmp/oneiro-test-install.installed

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oneiro-test-install.XXXXXX") || exit 2
tmp=$(cd "$tmp" && pwd)
installed=""
installed_state() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed\|half-\|unpacked\|config-files'; }
# dpkg, waiting up to 5 minutes for another process's lock
dpkg_locked() {
	n=0
	while :; do
		dpkg "$@" >"$tmp/dpkg.log" 2>&1 && return 0
		grep -q 'lock' "$tmp/dpkg.log" || return 1
		n=$((n + 1))
		[ $n -lt 60 ] || return 1
		sleep 5
	done
}
purge() {
	dpkg_locked --purge $PKGS
	st=$?
	rm -f "$marker"
	installed=""
	return $st
}
cleanup() {
	if [ -n "$installed" ]; then
		echo "  (removing the packages the test installed)"
		purge || cat "$tmp/dpkg.log" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- 1. build
echo "  building the packages (tools/deb.sh; log in the test's temporary directory)"
if sh tools/deb.sh --keep "$tmp/src" "$tmp/deb" >"$tmp/deb.log" 2>&1; then
	ok
else
	bad "the package build or lintian failed: $(grep -v '^N:' "$tmp/deb.log" | tail -25)"
	finish
fi
srcdir=$tmp/src/oneiro-$version
for p in $PKGS; do
	if [ -f "$tmp/deb/${p}_${version}_$(dpkg --print-architecture).deb" ]; then
		ok
	else
		bad "no ${p}_${version} .deb built: $(ls "$tmp/deb")"
	fi
done
if command -v lintian >/dev/null 2>&1; then
	# lintian's verdicts (the overridden ones are not shown)
	tags=$(grep '^[EW]: ' "$tmp/deb.log")
	if [ -z "$tags" ]; then ok; else bad "lintian: $tags"; fi
	note "lintian: $(grep -c '^[EWIP]: ' "$tmp/deb.log") tags not overridden ($(grep -c '^[EW]: ' "$tmp/deb.log") errors or warnings)"
else
	note "lintian not installed (Debian package lintian): not run"
fi
# the package's build honoured the distribution's hardening flags
if grep -q -- '-fstack-protector-strong' "$tmp/deb.log" && grep -q -- '-D_FORTIFY_SOURCE=2' "$tmp/deb.log" &&
	readelf -d "$srcdir/build/oneiro" 2>/dev/null | grep -q BIND_NOW &&
	readelf -d "$srcdir/build/oneiro.so" 2>/dev/null | grep -q BIND_NOW; then
	ok
else
	bad "the build did not use dpkg-buildflags' CFLAGS/CPPFLAGS/LDFLAGS (hardening)"
fi

# ---------------------------------------------------------------- 2. install
mode=x
if [ "$(id -u)" = 0 ]; then
	mode=i
	for p in $PKGS; do
		installed_state "$p" || continue
		if [ -f "$marker" ]; then
			note "$p is installed from an earlier run of this test that did not finish: purging it"
			installed=yes
		else
			note "$p is installed and not by this test: it is left alone, the packages are tested unpacked (dpkg -x)"
			mode=x
		fi
	done
	if [ -n "$installed" ] && ! purge; then
		bad "could not purge the earlier run's packages: $(cat "$tmp/dpkg.log")"
		finish
	fi
else
	note "not root: the packages are unpacked with dpkg -x into a temporary root, not installed"
fi

if [ $mode = i ]; then
	troot=""
	# what was there before: the paths the packages hold
	for p in $PKGS; do
		dpkg-deb -c "$tmp/deb/${p}_${version}_"*.deb
	done | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | grep -v '^$' | sort -u >"$tmp/paths"
	while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done <"$tmp/paths" >"$tmp/before"
	echo $$ >"$marker"
	installed=yes
	if dpkg_locked -i "$tmp/deb/oneiro_${version}_"*.deb "$tmp/deb/oneiro-lv2_${version}_"*.deb; then
		ok
	else
		bad "dpkg -i failed: $(tail -20 "$tmp/dpkg.log")"
		finish
	fi
	for p in $PKGS; do
		if dpkg-query -W -f='${Status} ${Version}' "$p" | grep -q "install ok installed $version"; then
			ok
		else
			bad "$p is not installed after dpkg -i: $(dpkg-query -W -f='${Status} ${Version}' "$p")"
		fi
	done
	dpkg -L $PKGS | grep -v '^/\.$' | sort -u >"$tmp/listed"
	bin=/usr/bin/oneiro
	unset ONEIRO_MODEL
else
	troot=$tmp/root
	for p in $PKGS; do
		dpkg -x "$tmp/deb/${p}_${version}_"*.deb "$troot" || bad "dpkg -x $p failed"
	done
	(cd "$troot" && find . ! -type d) | sed 's|^\.||' | sort >"$tmp/listed"
	bin=$troot/usr/bin/oneiro
	PATH=$troot/usr/bin:$PATH
	export PATH
	ONEIRO_MODEL=$troot/usr/share/oneiro/models/default.onm
	export ONEIRO_MODEL
fi
lv2dir=$troot/usr/lib/lv2
datadir=$troot/usr/share/oneiro
mandir=$troot/usr/share/man/man1
note "installed copy: $bin, $datadir, $lv2dir/oneiro.lv2 ($([ $mode = i ] && echo 'dpkg -i' || echo "dpkg -x into $troot"))"

# ---------------------------------------------------------------- 3. use it
work=$tmp/work
mkdir -p "$work"
cd "$work" || exit 2
if [ $mode = i ]; then
	if [ "$(command -v oneiro)" = /usr/bin/oneiro ]; then
		ok
	else
		bad "'oneiro' on PATH is $(command -v oneiro), not /usr/bin/oneiro"
	fi
fi
v=$("$bin" version 2>&1)
case $v in
"oneiro $version "* | "oneiro $version") ok ;;
*) bad "oneiro version says '$v', not oneiro $version" ;;
esac

# a generated sound: two plucked strings and a click, stereo, 48 kHz
if command -v sox >/dev/null 2>&1; then
	sox -n -r 48000 -c 2 -b 16 in.wav synth 3 pluck 220 pluck 330 vol 0.5 2>"$tmp/sox.err" ||
		bad "sox could not make a test sound: $(cat "$tmp/sox.err")"
else
	python3 - <<'EOF' || bad "python3 could not make a test sound"
import math, struct, wave
w = wave.open("in.wav", "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
n = 3 * 48000
fr = bytearray()
for i in range(n):
    t = i / 48000.0
    a = 0.3 * math.sin(2 * math.pi * 220 * t) * math.exp(-2 * (t % 1.0))
    b = 0.3 * math.sin(2 * math.pi * 330 * t) * math.exp(-3 * ((t + 0.5) % 1.0))
    fr += struct.pack("<hh", int(a * 32767), int(b * 32767))
w.writeframes(bytes(fr))
w.close()
EOF
fi
if "$bin" render in.wav out.wav >"$tmp/render.out" 2>&1; then
	ok
else
	bad "oneiro render failed: $(tail -10 "$tmp/render.out")"
fi
model=$(sed -n 's/^model: *\(.*\) ([0-9]* Hz)$/\1/p' "$tmp/render.out")
if [ "$model" = "$datadir/models/default.onm" ]; then
	ok
else
	bad "render used the model '$model', not the installed $datadir/models/default.onm"
fi
note "render: $model; $(grep '^delta level' "$tmp/render.out")"
if [ -f out.wav ] && command -v soxi >/dev/null 2>&1; then
	for q in -r -c -s; do
		if [ "$(soxi $q in.wav)" = "$(soxi $q out.wav)" ]; then ok; else bad "out.wav's soxi $q differs from in.wav's"; fi
	done
fi
if cmp -s in.wav out.wav; then bad "the dreamed file is the input"; else ok; fi
for m in "$datadir"/models/*.onm; do
	if "$bin" inspect "$m" >"$tmp/inspect.out" 2>&1; then ok; else bad "oneiro inspect $m: $(tail -3 "$tmp/inspect.out")"; fi
done
if [ -f "$datadir/models/CREDITS.md" ] && [ -f "$lv2dir/oneiro.lv2/CREDITS.md" ]; then
	ok
else
	bad "the data credits are not installed beside the models"
fi

# the manual pages of the installed program
if [ $mode = i ] && command -v man >/dev/null 2>&1; then
	if [ "$(man -w oneiro 2>/dev/null)" = /usr/share/man/man1/oneiro.1.gz ]; then
		ok
	else
		bad "man -w oneiro finds '$(man -w oneiro 2>&1)', not /usr/share/man/man1/oneiro.1.gz"
	fi
fi
if sh "$repo/tests/test_man.sh" "$bin" "$mandir" >"$tmp/man.out" 2>&1; then
	ok
else
	bad "the installed manual pages: $(grep 'FAIL' "$tmp/man.out" | head -10)"
fi

# the plugin from the installed bundle and from nowhere else
LV2_PATH=$lv2dir
export LV2_PATH
lv2ls >"$tmp/lv2ls.out" 2>&1
for u in $URIS; do
	if grep -qx "$u" "$tmp/lv2ls.out"; then ok; else bad "lv2ls (LV2_PATH=$lv2dir) does not list $u: $(cat "$tmp/lv2ls.out")"; fi
	if lv2info "$u" >"$tmp/lv2info.out" 2>&1 &&
		grep -q "Bundle: *file://$lv2dir/oneiro.lv2/" "$tmp/lv2info.out" &&
		grep -q "Binary: *file://$lv2dir/oneiro.lv2/oneiro.so" "$tmp/lv2info.out"; then
		ok
	else
		bad "lv2info $u does not show the bundle in $lv2dir: $(head -20 "$tmp/lv2info.out")"
	fi
done
if command -v jalv >/dev/null 2>&1 && command -v jackd >/dev/null 2>&1; then
	# the installed bundle alone on jalv's LV2_PATH (a link to it): other
	# packages' bundles in /usr/lib/lv2, broken or not, are not this test's
	mkdir -p "$tmp/lv2"
	ln -s "$lv2dir/oneiro.lv2" "$tmp/lv2/oneiro.lv2"
	if ONEIRO_TEST_LV2_PATH=$tmp/lv2 ONEIRO_TEST_MODELS=$datadir/models \
		sh "$repo/tests/test_jalv.sh" >"$tmp/jalv.out" 2>&1; then
		ok
		note "jalv: $(grep 'jalv: latency' "$tmp/jalv.out" | sed 's/^ *//')"
	else
		bad "the installed plugin in jalv: $(tail -10 "$tmp/jalv.out")"
	fi
else
	note "jalv or jackd not installed (Debian packages jalv, jackd2): the plugin not run in a host"
fi

# nothing installed names the build machine's directories
cd "$repo" || exit 2
scan_paths() { # FILE-LIST ROOT: each path string found, with the files
	for s in "$srcdir" "$repo" /root /home; do
		while read -r f; do
			[ -f "$2$f" ] && [ ! -L "$2$f" ] || continue
			if gzip -t "$2$f" 2>/dev/null; then
				gzip -dc "$2$f" | grep -qaF -- "$s" && echo "$s in $f"
			else
				grep -qaF -- "$s" "$2$f" && echo "$s in $f"
			fi
		done <"$1"
	done
}
scan_paths "$tmp/listed" "$troot" >"$tmp/paths.found"
if [ -s "$tmp/paths.found" ]; then
	bad "installed files name a directory of the build machine: $(cat "$tmp/paths.found" | tr '\n' ';')$(grep -q '\.onm$' "$tmp/paths.found" && echo " (a model's metadata: 'oneiro inspect MODEL' shows it; retrain the model)")"
else
	ok
fi

# ---------------------------------------------------------------- 4. remove
if [ $mode = i ]; then
	if purge; then ok; else bad "dpkg --purge failed: $(tail -20 "$tmp/dpkg.log")"; fi
	for p in $PKGS; do
		if installed_state "$p"; then bad "$p is still known to dpkg after --purge"; else ok; fi
	done
	left=""
	while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		grep -qxF -- "$f" "$tmp/before" && continue
		left="$left $f"
	done <"$tmp/listed"
	if [ -z "$left" ]; then
		ok
		note "purged: none of the $(wc -l <"$tmp/listed") paths dpkg -L listed remains (but the $(wc -l <"$tmp/before") there before)"
	else
		bad "left after dpkg --purge:$left"
	fi
	if LV2_PATH=/usr/lib/lv2 lv2ls 2>/dev/null | grep -q '^urn:oneiro:'; then
		bad "lv2ls still finds oneiro in /usr/lib/lv2 after the purge"
	else
		ok
	fi
fi

# ---------------------------------------------------------------- 5. make install
dest=$tmp/destdir
if make -C "$srcdir" --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	ok
else
	bad "make install DESTDIR=... PREFIX=/usr failed: $(tail -10 "$tmp/install.log")"
fi
# the same files as the packages, less Debian's docs and man's compression
(cd "$dest" && find . ! -type d) | sed 's|^\.||' | sort >"$tmp/made"
for p in $PKGS; do
	dpkg-deb -c "$tmp/deb/${p}_${version}_"*.deb
done | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|; s|\.gz$||' | grep -v '^/usr/share/doc/\|^/usr/share/lintian/' | sort >"$tmp/packaged"
if cmp -s "$tmp/made" "$tmp/packaged"; then
	ok
	note "make install: the packages' $(wc -l <"$tmp/made") files"
else
	bad "make install and the packages install different files: $(diff "$tmp/packaged" "$tmp/made" | grep '^[<>]' | tr '\n' ' ')"
fi
if "$dest/usr/bin/oneiro" version >/dev/null 2>&1; then ok; else bad "$dest/usr/bin/oneiro version failed"; fi
n=$(LV2_PATH=$dest/usr/lib/lv2 lv2ls 2>/dev/null | grep -c '^urn:oneiro:dream\(-mono\)*$')
if [ "$n" = 2 ]; then ok; else bad "lv2ls in the make install tree finds $n of the 2 plugins"; fi
scan_paths "$tmp/made" "$dest" >"$tmp/paths.found"
if [ -s "$tmp/paths.found" ]; then
	bad "make install: files name a directory of the build machine: $(cat "$tmp/paths.found" | tr '\n' ';')"
else
	ok
fi
if make -C "$srcdir" --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1; then
	ok
else
	bad "make uninstall failed: $(tail -10 "$tmp/uninstall.log")"
fi
left=$(cd "$dest" && find . ! -type d | sed 's|^\./||')
if [ -z "$left" ]; then ok; else bad "left by make uninstall: $left"; fi
# the directories left: empty, and standard ones only
dirs=$(cd "$dest" && find . -mindepth 1 -type d | sed 's|^\./||' | sort | tr '\n' ' ')
extra=""
for d in $dirs; do
	case $d in
	usr | usr/bin | usr/lib | usr/lib/lv2 | usr/share | usr/share/man | usr/share/man/man1) ;;
	*) extra="$extra $d" ;;
	esac
done
if [ -z "$extra" ]; then ok; else bad "directories left by make uninstall:$extra"; fi

finish
