#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian 12 packages oneiro needs, when run as root; otherwise
# says which are missing. Waits for another process's dpkg lock.
set -e
PKGS="make gcc clang libclang-rt-14-dev pkg-config lv2-dev liblilv-dev libfftw3-dev
libsamplerate0-dev libsndfile1-dev libcairo2-dev fonts-dejavu-core python3-torch python3-numpy libopenblas0-pthread
sordi lilv-utils jalv jackd2 ardour sox fluidsynth timgm6mb-soundfont espeak-ng
debhelper dpkg-dev lintian help2man"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
try=0
until apt-get -o DPkg::Lock::Timeout=300 -q update &&
	apt-get -o DPkg::Lock::Timeout=300 -q install -y --no-install-recommends $missing; do
	try=$((try + 1))
	if [ $try -ge 5 ]; then
		echo "deps: apt-get failed $try times; giving up" >&2
		exit 1
	fi
	echo "deps: apt-get failed (the dpkg lock may be held); retrying in 30 s" >&2
	sleep 30
done
