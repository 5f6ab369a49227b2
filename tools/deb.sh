#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# deb.sh [--keep DIR] OUTDIR -- builds the Debian packages (debian/) with
# `dpkg-buildpackage -us -uc -b` and puts the .deb, .changes and .buildinfo
# files in OUTDIR; then runs lintian on them when it is installed (its
# errors fail the build; its warnings are printed).
#
# The package is built from a copy of the source tree (the files git knows,
# tracked or new, as they are in the working tree; without git, the tree
# without build/), so that the package's clean step (make clean) never
# touches this tree's build/ or plugin.lv2/. The copy is made in a temporary
# directory and removed afterwards; with --keep DIR it is DIR/oneiro-VERSION
# and stays, built (tests/test_install.sh then runs `make install` in it).
# One job unless DEB_JOBS says otherwise (a number, or auto: one per core).
set -eu

keep=""
if [ "${1:-}" = --keep ]; then
	keep=$2
	shift 2
fi
[ $# -eq 1 ] || {
	echo "usage: $0 [--keep DIR] OUTDIR" >&2
	exit 2
}
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)

for t in dpkg-buildpackage dpkg-parsechangelog; do
	command -v $t >/dev/null 2>&1 || {
		echo "deb: $t not found: install the Debian packages dpkg-dev and debhelper (or run 'make deps' as root)" >&2
		exit 1
	}
done

# the package's version is the Makefile's
version=$(sed -n 's/^VERSION *= *//p' "$root/Makefile")
debversion=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
if [ "$version" != "$debversion" ]; then
	echo "deb: the Makefile's VERSION is $version but debian/changelog's is $debversion: add a changelog entry (dch -v $version)" >&2
	exit 1
fi

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	top=$(cd "$keep" && pwd)
else
	top=$(mktemp -d "${TMPDIR:-/tmp}/oneiro-deb.XXXXXX")
	trap 'rm -rf "$top"' EXIT
	trap 'exit 130' INT TERM
fi
src=$top/oneiro-$version
rm -rf "$src"
mkdir -p "$src"

echo "deb: copying the source tree to $src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files --cached --others --exclude-standard |
		while IFS= read -r f; do
			[ -e "$root/$f" ] && printf '%s\n' "$f"
		done | sort -u | tar -C "$root" -cf - -T - | tar -C "$src" -xf -
else
	tar -C "$root" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
	rm -f "$src"/plugin.lv2/*.ttl "$src"/plugin.lv2/*.so "$src"/plugin.lv2/*.onm
fi

jobs=${DEB_JOBS:-1}
echo "deb: dpkg-buildpackage -us -uc -b -j$jobs in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$jobs")

mkdir -p "$out"
out=$(cd "$out" && pwd)
changes=$top/oneiro_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
files="$changes $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* [^ ]* [^ ]* //p' "$changes")"
for f in $files; do
	f=$top/${f##*/}
	rm -f "$out/${f##*/}"
	mv "$f" "$out/"
done
echo "deb: built in $out:"
ls -l "$out"

if command -v lintian >/dev/null 2>&1; then
	echo "deb: lintian $out/${changes##*/}"
	lintian --info "$out/${changes##*/}"
	echo "deb: lintian: no errors"
else
	echo "deb: lintian is not installed (Debian package lintian): not checked"
fi
