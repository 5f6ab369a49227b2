#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# help.sh ONEIRO [COMMAND] OPTION -- what help2man runs to read `oneiro
# [COMMAND] --help`: the real help text, with its "usage:" lines spelt the
# way help2man recognises a synopsis ("Usage:", then "or:" for each further
# form).
exe=$1
shift
"$exe" "$@" | sed -e 's/^usage: /Usage: /' -e 's/^       oneiro /  or: oneiro /'
