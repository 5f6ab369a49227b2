#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_ttl.sh -- the bundle's Turtle: every file parses (sordi), validates
# against the installed LV2 specifications (sord_validate), and describes
# sane ports: control inputs have a default within [minimum, maximum],
# indices run 0..N-1 without gaps, symbols are unique, the presets only set
# ports that exist, to values within their ranges.
#
# Run from the repository root after `make all`. ONEIRO_BUNDLE names another
# bundle directory (default plugin.lv2). Needs sordi and sord_validate
# (Debian package sordi). Ends with "test_ttl: N passed, N failed".
set -u

bundle=${ONEIRO_BUNDLE:-plugin.lv2}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'test_ttl: FAIL: %s\n' "$*" >&2
}
finish() {
	echo "test_ttl: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

for tool in sordi sord_validate; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		bad "$tool not found (install the Debian package sordi)"
		finish
	fi
done
if [ ! -d "$bundle" ] || [ ! -f "$bundle/manifest.ttl" ]; then
	bad "no bundle at $bundle (run 'make all' from the repository root first)"
	finish
fi
abs=$(cd "$bundle" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oneiro-test-ttl.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---------------------------------------------------------------- 1. parse
# sordi's exit status is not enough on its own (some versions exit 0 after
# an error), so any message on stderr, or no triples at all, fails too.
ours=""
for f in "$abs"/*.ttl; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	ours="$ours file://$f"
	sordi "file://$f" >"$tmp/$name.nt" 2>"$tmp/$name.err"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/$name.err" ]; then
		bad "sordi $name: exit $rc: $(head -5 "$tmp/$name.err")"
	elif [ ! -s "$tmp/$name.nt" ]; then
		bad "sordi $name: no triples"
	else
		ok
	fi
done
for want in manifest.ttl oneiro.ttl presets.ttl; do
	if [ -f "$abs/$want" ]; then ok; else bad "$bundle/$want missing"; fi
done

# ---------------------------------------------------------------- 2. validate
# sord_validate over the installed LV2 specifications and our files:
# anything but "Found 0 errors" fails.
specs=""
for f in /usr/lib/lv2/*/*.ttl; do
	[ -f "$f" ] && specs="$specs file://$f"
done
if [ -z "$specs" ]; then
	bad "no LV2 specifications in /usr/lib/lv2 (install the Debian package lv2-dev)"
else
	# shellcheck disable=SC2086 # the lists are URIs without spaces
	sord_validate $specs $ours >"$tmp/validate.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^Found 0 errors' "$tmp/validate.out" &&
		! grep -qi 'error:' "$tmp/validate.out"; then
		ok
	else
		bad "sord_validate (exit $rc): $(grep -i 'error\|^Found\|^warning' "$tmp/validate.out" | head -40)"
	fi
fi

# ---------------------------------------------------------------- 3. ports
# From the N-Triples of the bundle: each plugin's ports (blank nodes, named
# per file so that labels of different files do not meet), their index,
# symbol, kind, default and range; the presets' port values.
cat "$tmp"/*.nt >/dev/null 2>&1 || finish
awk '
function node(t) { return t ~ /^_:/ ? FILENAME "|" t : t }
function lit(line, pred,   rest) {
	rest = substr(line, index(line, pred) + length(pred))
	if (match(rest, /"[^"]*"/))
		return substr(rest, RSTART + 1, RLENGTH - 2)
	return ""
}
BEGIN {
	LV2 = "http://lv2plug.in/ns/lv2core#"
	TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
	PSET = "<http://lv2plug.in/ns/ext/presets#value>"
}
{
	s = node($1); p = $2; o = node($3)
	if (p == "<" LV2 "port>") { nport[s]++; port[s, nport[s]] = o }
	else if (p == "<" LV2 "symbol>") sym[s] = lit($0, p)
	else if (p == "<" LV2 "index>") idx[s] = lit($0, p)
	else if (p == "<" LV2 "default>") def[s] = lit($0, p)
	else if (p == "<" LV2 "minimum>") min[s] = lit($0, p)
	else if (p == "<" LV2 "maximum>") max[s] = lit($0, p)
	else if (p == PSET) pval[s] = lit($0, p)
	else if (p == "<" LV2 "appliesTo>") applies[s] = $3
	else if (p == TYPE) {
		if ($3 == "<" LV2 "Plugin>") plugin[s] = 1
		else if ($3 == "<" LV2 "InputPort>") isin[s] = 1
		else if ($3 == "<" LV2 "OutputPort>") isout[s] = 1
		else if ($3 == "<" LV2 "ControlPort>") isctl[s] = 1
		else if ($3 == "<http://lv2plug.in/ns/ext/presets#Preset>") preset[s] = 1
	}
}
function say(good, msg) { print (good ? "ok " : "FAIL ") msg }
END {
	for (pl in plugin) {
		if (!(pl in nport)) continue      # the manifest'"'"'s mention
		nplug++
		n = nport[pl]
		delete seen_idx; delete seen_sym
		for (k = 1; k <= n; k++) {
			q = port[pl, k]
			i = idx[q]; y = sym[q]
			say(i != "" && y != "", pl " port " k ": index \"" i "\" symbol \"" y "\"")
			say(!(i in seen_idx), pl " index " i " used twice")
			say(!(y in seen_sym), pl " symbol " y " used twice")
			seen_idx[i] = 1; seen_sym[y] = 1
			bysym[pl, y] = q
			if (isctl[q] && isin[q]) {
				has = (q in def) && (q in min) && (q in max)
				say(has, pl " " y ": control input without default/minimum/maximum")
				if (has) {
					say(min[q] + 0 <= def[q] + 0 && def[q] + 0 <= max[q] + 0,
					    pl " " y ": default " def[q] " outside [" min[q] ", " max[q] "]")
					say(min[q] + 0 < max[q] + 0,
					    pl " " y ": minimum " min[q] " not below maximum " max[q])
				}
			} else if (isctl[q] && isout[q] && (q in min) && (q in max)) {
				say(min[q] + 0 < max[q] + 0, pl " output " y ": range [" min[q] ", " max[q] "]")
			}
		}
		for (i = 0; i < n; i++)
			say((i "") in seen_idx, pl ": no port with index " i " (indices must run 0.." n - 1 ")")
	}
	say(nplug == 2, "expected 2 plugins with ports, found " nplug)
	for (ps in preset) {
		if (!(ps in nport)) continue
		npre++
		pl = applies[ps]
		for (k = 1; k <= nport[ps]; k++) {
			q = port[ps, k]; y = sym[q]; v = pval[q]
			known = (pl, y) in bysym
			say(known, ps ": sets \"" y "\", which " pl " does not have")
			if (!known) continue
			t = bysym[pl, y]
			say(isctl[t] && isin[t], ps ": \"" y "\" is not a control input")
			say(v != "" && v + 0 >= min[t] + 0 && v + 0 <= max[t] + 0,
			    ps ": " y " = " v " outside [" min[t] ", " max[t] "]")
		}
	}
	say(npre >= 1, "no presets with port values found")
}' "$tmp"/*.nt >"$tmp/ports.out"
n_ok=$(grep -c '^ok ' "$tmp/ports.out")
pass=$((pass + n_ok))
while IFS= read -r line; do
	case $line in
	FAIL\ *) bad "${line#FAIL }" ;;
	esac
done <"$tmp/ports.out"
[ "$n_ok" -gt 0 ] || bad "the port checks found nothing to check"

# ---------------------------------------------------------------- 4. version, maintainer
# Each plugin carries lv2:minorVersion and lv2:microVersion, the same as
# `oneiro version` prints (both come from the Makefile's VERSION), with an
# even minor version (LV2: a release); its lv2:project has a doap:maintainer
# with a foaf:name and a foaf:mbox or foaf:homepage (what lv2lint asks).
oneiro=${ONEIRO_BIN:-build/oneiro}
cli_version=$("$oneiro" version 2>/dev/null | awk '$1 == "oneiro" { print $2; exit }')
case $cli_version in
[0-9]*.[0-9]*.[0-9]*) ok ;;
*) bad "'$oneiro version' printed no MAJOR.MINOR.MICRO version ('$cli_version')" ;;
esac
cli_minor=${cli_version#*.}
cli_micro=${cli_minor#*.}
cli_minor=${cli_minor%%.*}
LV2NS="http://lv2plug.in/ns/lv2core#"
DOAP="http://usefulinc.com/ns/doap#"
FOAF="http://xmlns.com/foaf/0.1/"
# the object of subject $1 (a URI, or a blank node _:x) and predicate $2, as
# written in N-Triples (a literal without quotes and datatype)
obj() {
	case $1 in
	_:*) subj=$1 ;;
	*) subj="<$1>" ;;
	esac
	awk -v s="$subj" -v p="<$2>" '$1 == s && $2 == p {
		o = $3
		if (o ~ /^"/) {
			o = substr($0, index($0, p) + length(p))
			match(o, /"[^"]*"/)
			o = substr(o, RSTART + 1, RLENGTH - 2)
		}
		print o; exit }' "$tmp"/*.nt
}
for uri in urn:oneiro:dream urn:oneiro:dream-mono; do
	minor=$(obj "$uri" "${LV2NS}minorVersion")
	micro=$(obj "$uri" "${LV2NS}microVersion")
	if [ -z "$minor" ] || [ -z "$micro" ]; then
		bad "$uri: lv2:minorVersion '$minor' / lv2:microVersion '$micro' missing"
	elif [ "$minor" != "$((cli_minor + 0))" ] || [ "$micro" != "$((cli_micro + 0))" ]; then
		bad "$uri: version x.$minor.$micro, but '$oneiro version' says $cli_version"
	else
		ok
	fi
	case $minor in
	'') ;;
	*[02468]) ok ;;
	*) bad "$uri: lv2:minorVersion $minor is odd (LV2: a development version)" ;;
	esac
	project=$(obj "$uri" "${LV2NS}project")
	project=${project#<}
	project=${project%>}
	who=$(obj "$project" "${DOAP}maintainer")
	who=${who#<}
	who=${who%>}
	[ -n "$project" ] && [ -n "$who" ] || {
		bad "$uri: no doap:maintainer on its lv2:project '$project'"
		continue
	}
	name=$(obj "$who" "${FOAF}name")
	reach=$(obj "$who" "${FOAF}mbox")$(obj "$who" "${FOAF}homepage")
	if [ -n "$name" ] && [ -n "$reach" ]; then
		ok
	else
		bad "$uri: the maintainer <$who> lacks foaf:name ('$name') or foaf:mbox/homepage"
	fi
done

# ---------------------------------------------------------------- 5. parameters, appended ports
# Each plugin's patch:writable parameters (the model and the second model)
# are described for a host's file chooser: an lv2:Parameter with an
# rdfs:label, an rdfs:comment and rdfs:range atom:Path. The ports added
# after the first release keep their places at the end (form, second_share,
# jitter, copies): the whole order is pinned, so older sessions' port
# indices stay what they were.
PATCH="http://lv2plug.in/ns/ext/patch#"
RDF="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS="http://www.w3.org/2000/01/rdf-schema#"
# has S P O: the triple <S> <P> <O> is in the bundle
has() { awk -v s="<$1>" -v p="<$2>" -v o="<$3>" '$1 == s && $2 == p && $3 == o { f = 1 }
	END { exit !f }' "$tmp"/*.nt; }
for uri in urn:oneiro:dream urn:oneiro:dream-mono; do
	writable=$(awk -v s="<$uri>" -v p="<${PATCH}writable>" '$1 == s && $2 == p {
		print substr($3, 2, length($3) - 2) }' "$tmp"/*.nt | sort -u | tr '\n' ' ')
	for want in urn:oneiro:dream#model urn:oneiro:dream#model2; do
		case " $writable" in
		*" $want "*) ok ;;
		*) bad "$uri: <$want> is not patch:writable (writable: $writable)" ;;
		esac
	done
	for w in $writable; do
		if has "$w" "${RDF}type" "${LV2NS}Parameter" && has "$w" "${RDFS}range" \
			"http://lv2plug.in/ns/ext/atom#Path" && [ -n "$(obj "$w" "${RDFS}label")" ] &&
			[ -n "$(obj "$w" "${RDFS}comment")" ]; then
			ok
		else
			bad "$uri: the writable <$w> is not an lv2:Parameter with a label, a comment and rdfs:range atom:Path"
		fi
	done
	# every port's symbol in index order, against the order sessions were
	# saved with: a port may only ever be appended
	order=$(awk -v pl="<$uri>" -v P="<${LV2NS}port>" -v S="<${LV2NS}symbol>" \
		-v I="<${LV2NS}index>" '
	function lit(   r) { r = $0; sub(/^[^"]*"/, "", r); sub(/".*$/, "", r); return r }
	$1 == pl && $2 == P { port[$3] = 1 }
	$2 == S { sym[$1] = lit() }
	$2 == I { idx[$1] = lit() }
	END {
		for (q in port) { n++; at[idx[q]] = sym[q] }
		for (i = 0; i < n; i++) printf "%s%s", i ? " " : "", at[i]
	}' "$tmp/oneiro.ttl.nt")
	audio="in_l in_r out_l out_r"
	[ "$uri" = urn:oneiro:dream-mono ] && audio="in out"
	want="$audio control notify enabled freewheel latency mix depth iterations bound band_lo"
	want="$want band_hi tilt mode class filter_layer filter pre stereo window layer1 layer2 layer3"
	want="$want layer4 layer5 layer6 layer7 layer8 heard_class heard_prob dream_level late"
	want="$want form second_share jitter copies"
	if [ "$order" = "$want" ]; then
		ok
	else
		bad "$uri: the ports are not in the order saved sessions know (a port may only be appended): $order"
	fi
done

finish
