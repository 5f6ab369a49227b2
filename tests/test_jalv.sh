#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_jalv.sh -- a real host: jalv loads the plugin from the built bundle and
# runs it headless under a private JACK server with the dummy driver (no
# sound card, no real-time privileges), with a click track on its inputs;
# then it is told to quit (end of its command input) and must exit cleanly.
# It starts from a saved state (jalv -l) that names a model and a second
# model (models/listener.onm), as a session would: the plugin must take
# both without a complaint on the log.
#
# Run from the repository root after `make all`. Needs jalv (Debian package
# jalv) and jackd (Debian package jackd2; its jack_lsp, jack_connect and
# jack_metro come with it); without jackd it prints a note and passes.
# ONEIRO_TEST_LV2_PATH overrides where the bundle is looked for
# (default $PWD/build/lv2), ONEIRO_TEST_MODELS where the models the saved
# state names are (default $PWD/models). Ends with "test_jalv: N passed, N failed".
set -u

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'test_jalv: FAIL: %s\n' "$*" >&2
}
finish() {
	echo "test_jalv: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
skip() {
	echo "test_jalv: SKIPPED: $*"
	finish
}

command -v jalv >/dev/null 2>&1 || skip "jalv not installed (Debian package jalv)"
command -v jackd >/dev/null 2>&1 ||
	skip "no JACK server to run jalv on: jackd not installed (Debian package jackd2)"
for t in jack_lsp jack_connect; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (Debian package jackd2)"
done

LV2_PATH=${ONEIRO_TEST_LV2_PATH:-$PWD/build/lv2}
# the models the saved state names (an installed copy's, for test_install)
MODELS=${ONEIRO_TEST_MODELS:-$PWD/models}
export LV2_PATH
if [ ! -f "$LV2_PATH/oneiro.lv2/manifest.ttl" ]; then
	bad "no bundle at $LV2_PATH/oneiro.lv2 (run 'make all' from the repository root first)"
	finish
fi

# a private server: nothing else on the machine is touched
server="oneiro-test-$$"
client="oneiro-test"
JACK_DEFAULT_SERVER=$server
JACK_NO_AUDIO_RESERVATION=1 # no D-Bus device reservation
JACK_NO_START_SERVER=1      # clients never start one of their own
export JACK_DEFAULT_SERVER JACK_NO_AUDIO_RESERVATION JACK_NO_START_SERVER
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oneiro-test-jalv.XXXXXX") || exit 2
jackd_pid=""
jalv_pid=""
metro_pid=""
cleanup() {
	{ exec 3>&-; } 2>/dev/null
	for p in $jalv_pid $metro_pid $jackd_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS COMMAND...: until COMMAND succeeds
wait_for() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
has_port() { jack_lsp 2>/dev/null | grep -qx "$1"; }

jackd --no-realtime --name "$server" -d dummy -r 48000 -p 1024 >"$tmp/jackd.log" 2>&1 &
jackd_pid=$!
if wait_for 10 jack_lsp; then
	ok
else
	bad "jackd -d dummy did not start: $(tail -5 "$tmp/jackd.log")"
	finish
fi

# the saved state: both models by absolute file URI, as lilv writes paths
# outside the state directory
mkdir "$tmp/state"
cat >"$tmp/state/state.ttl" <<EOF
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix pset: <http://lv2plug.in/ns/ext/presets#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .
<> a pset:Preset ;
	lv2:appliesTo <urn:oneiro:dream> ;
	state:state [
		<urn:oneiro:dream#model> <file://$MODELS/default.onm> ;
		<urn:oneiro:dream#model2> <file://$MODELS/listener.onm>
	] .
EOF
# jalv in console mode reads commands from its standard input, and quits at
# its end: a FIFO held open on fd 3 until we are done
mkfifo "$tmp/cmd"
jalv -n "$client" -x -p -l "$tmp/state" -c depth=0.7 -c mix=1 urn:oneiro:dream \
	<"$tmp/cmd" >"$tmp/jalv.out" 2>"$tmp/jalv.err" &
jalv_pid=$!
exec 3>"$tmp/cmd"

n=200 # 20 s, or until jalv gives up
while [ $n -gt 0 ] && ! has_port "$client:out_r" && kill -0 "$jalv_pid" 2>/dev/null; do
	sleep 0.1
	n=$((n - 1))
done
if has_port "$client:out_r"; then
	ok
else
	bad "jalv did not bring up the plugin's JACK ports: $(tail -20 "$tmp/jalv.err")"
	finish
fi
for p in in_l in_r out_l out_r; do
	if has_port "$client:$p"; then ok; else bad "no JACK port $client:$p"; fi
done

# a click track into both inputs (or the dummy driver's silent capture)
src=""
if command -v jack_metro >/dev/null 2>&1; then
	# 3>&-: it must not hold jalv's command FIFO open past our close
	jack_metro -n metro -b 240 -f 660 >"$tmp/metro.log" 2>&1 3>&- &
	metro_pid=$!
	if wait_for 10 has_port "metro:240_bpm"; then src="metro:240_bpm"; fi
fi
[ -n "$src" ] || src="system:capture_1"
for p in in_l in_r; do
	if jack_connect "$src" "$client:$p" 2>"$tmp/connect.err"; then
		ok
	else
		bad "jack_connect $src $client:$p: $(cat "$tmp/connect.err")"
	fi
done
jack_connect "$client:out_l" system:playback_1 2>/dev/null
jack_connect "$client:out_r" system:playback_2 2>/dev/null

# play for a while (past the latency: the first windows are dreamed and
# heard), change a control, ask for the read-outs
sleep 3
echo "depth = 0.3" >&3
echo "second_share = 0.25" >&3
sleep 1
echo "monitors" >&3
sleep 1
if kill -0 "$jalv_pid" 2>/dev/null; then
	ok
else
	bad "jalv died while running: $(tail -20 "$tmp/jalv.err")"
fi
if kill -0 "$jackd_pid" 2>/dev/null; then
	ok
else
	bad "jackd died while jalv ran: $(tail -20 "$tmp/jackd.log")"
fi

# tell it to quit: end of its command input
exec 3>&-
n=100
while [ $n -gt 0 ] && kill -0 "$jalv_pid" 2>/dev/null; do
	sleep 0.1
	n=$((n - 1))
done
if kill -0 "$jalv_pid" 2>/dev/null; then
	bad "jalv did not exit within 10 s of the end of its input"
	kill -INT "$jalv_pid" 2>/dev/null
	sleep 1
	kill -KILL "$jalv_pid" 2>/dev/null
	wait "$jalv_pid" 2>/dev/null
	jalv_pid=""
else
	wait "$jalv_pid"
	st=$?
	jalv_pid=""
	if [ $st -eq 0 ]; then ok; else bad "jalv exited with status $st: $(tail -20 "$tmp/jalv.err")"; fi
fi

# what it said
if grep -qi 'error\|fail\|not supported\|cannot\|warning' "$tmp/jalv.out" "$tmp/jalv.err"; then
	bad "jalv or the plugin complained: $(grep -i 'error\|fail\|not supported\|cannot\|warning' "$tmp/jalv.out" "$tmp/jalv.err" | head -10)"
else
	ok
fi
if grep -q '^Plugin: *urn:oneiro:dream$' "$tmp/jalv.out"; then
	ok
else
	bad "jalv did not load urn:oneiro:dream: $(head -5 "$tmp/jalv.out")"
fi
# the control change was taken
if grep -q '^\(> \)*depth = 0.3' "$tmp/jalv.out"; then ok; else bad "'depth = 0.3' not echoed by jalv"; fi
if grep -q '^\(> \)*second_share = 0.25' "$tmp/jalv.out"; then
	ok
else
	bad "'second_share = 0.25' not echoed by jalv (no such port?)"
fi
# the read-outs: latency reported, and windows were heard (the model's
# class probability moved off 0)
lat=$(sed -n 's/^\(> \)*latency = \([0-9.]*\).*/\2/p' "$tmp/jalv.out" | tail -1)
case $lat in
'' | 0 | 0.0*) bad "no latency reported (got '$lat'): $(grep -v '^> *$' "$tmp/jalv.out" | tail -20)" ;;
*) ok ;;
esac
prob=$(sed -n 's/^\(> \)*heard_prob = \([0-9.]*\).*/\2/p' "$tmp/jalv.out" | tail -1)
case $prob in
'' | 0 | 0.000000) bad "the model heard nothing: heard_prob '$prob' (did the plugin run?)" ;;
*) ok ;;
esac
echo "  jalv: latency $lat frames at 48 kHz, heard_prob $prob, input $src"

finish
