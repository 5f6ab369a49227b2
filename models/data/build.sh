#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build oneiro's labelled training datasets from Debian 12 packages and, when
# the folder is there, the real recordings of ../shared/data/real.
#
#   models/data/build.sh [OUT] [--only sound-categories,styles,interestingness] [--jobs N]
#                              [--real DIR]   (or ONEIRO_REAL_DATA=DIR)
#
# OUT defaults to build/data (never committed). Installs the Debian packages it
# needs (as root, or through sudo), then runs build.py with Debian's python3
# (which has numpy). Idempotent: finished work under OUT/_work is reused; delete
# OUT to start over. See models/data/README.md for what is built and why, and
# models/data/CREDITS.md for the sources and their licences. The real
# recordings (Ogg Vorbis) are decoded by sox (libsox-fmt-base); without the
# folder the build says so and goes on with the Debian material alone.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=build/data
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then OUT=$1; shift; fi

PACKAGES=(
  python3 python3-numpy sox libsox-fmt-base
  fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont stk lmms-common
  timidity freepats mma
  hydrogen-drumkits sonic-pi-samples avldrums.lv2-soundfont
  asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav tuxpaint-stamps-default
  pocketsphinx-testdata codec2-examples
  bucklespring-data sound-theme-freedesktop wesnoth-1.16-data lincity-ng-data
)

# apt_install PKG...: install the packages that are not installed yet
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${#missing[@]} Debian packages: ${missing[*]}"
  local SUDO=()
  [ "$(id -u)" -ne 0 ] && SUDO=(sudo)
  local APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
  if ! "${APT[@]}" install -y --no-install-recommends "${missing[@]}"; then
    "${APT[@]}" update
    "${APT[@]}" install -y --no-install-recommends "${missing[@]}"
  fi
}

start=$(date +%s)
apt_install "${PACKAGES[@]}"
echo "== packages ready ($(( $(date +%s) - start )) s)"
exec /usr/bin/python3 "$HERE/build.py" "$OUT" "$@"
