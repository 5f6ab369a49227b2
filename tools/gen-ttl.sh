#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# gen-ttl.sh MODEL_CLASSES_FILE VERSION > oneiro.ttl
# Writes the plugin description of both variants (stereo and mono) from one
# list of ports, numbering them as src/lv2/oneiro_lv2.c's port enum does.
# MODEL_CLASSES_FILE holds the bundled default model's class names, one a
# line: they become the scale points of the "target class" port. VERSION
# (MAJOR.MINOR.MICRO, the Makefile's, which `oneiro version` prints) gives
# lv2:minorVersion and lv2:microVersion; the major version is the URI's.
set -e
classes="$1"
version="$2"
case $version in
[0-9]*.[0-9]*.[0-9]*) ;;
*)
	echo "gen-ttl.sh: VERSION '$version' is not MAJOR.MINOR.MICRO" >&2
	exit 1
	;;
esac
rest=${version#*.}
minor=${rest%%.*}
micro=${rest#*.}
case $minor$micro in
*[!0-9]*)
	echo "gen-ttl.sh: VERSION '$version' is not MAJOR.MINOR.MICRO" >&2
	exit 1
	;;
esac
minor=$((minor + 0))
micro=$((micro + 0))

# who answers for the plugins: the project's maintainer (hosts and lv2lint
# find it through each plugin's lv2:project)
maintainer_name="oneiro developers"
maintainer_mbox="mailto:maintainers@users.noreply.b-seed-36ba68da.example"
cat <<'EOF'
@prefix atom:  <http://lv2plug.in/ns/ext/atom#> .
@prefix bufsz: <http://lv2plug.in/ns/ext/buf-size#> .
@prefix doap:  <http://usefulinc.com/ns/doap#> .
@prefix foaf:  <http://xmlns.com/foaf/0.1/> .
@prefix idpy:  <http://harrisonconsoles.com/lv2/inlinedisplay#> .
@prefix log:   <http://lv2plug.in/ns/ext/log#> .
@prefix lv2:   <http://lv2plug.in/ns/lv2core#> .
@prefix opts:  <http://lv2plug.in/ns/ext/options#> .
@prefix patch: <http://lv2plug.in/ns/ext/patch#> .
@prefix pg:    <http://lv2plug.in/ns/ext/port-groups#> .
@prefix pprops: <http://lv2plug.in/ns/ext/port-props#> .
@prefix rdf:   <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .
@prefix units: <http://lv2plug.in/ns/extensions/units#> .
@prefix urid:  <http://lv2plug.in/ns/ext/urid#> .
@prefix work:  <http://lv2plug.in/ns/ext/worker#> .

# Ardour's inline display (a picture in the mixer strip): declared here, as
# no installed specification describes it
idpy:interface
	a lv2:ExtensionData .
idpy:queue_draw
	a lv2:Feature .

<urn:oneiro:dream#model>
	a lv2:Parameter ;
	rdfs:label "Model" ;
	rdfs:comment "An oneiro model file (.onm). Without one, the bundled default model is used." ;
	rdfs:range atom:Path .

<urn:oneiro:dream#model2>
	a lv2:Parameter ;
	rdfs:label "Second model" ;
	rdfs:comment "Another oneiro model file (.onm), heard at once with the first: each dream step follows both models, mixed by the second model share (toward the class of the same name, or the layers at the same relative depth; a target class it does not have, or a single filter, is dreamed by the first model alone). It must run at the first model's sample rate and fit the dream window; chosen beside a first model it does not fit, it is kept and heard with the next one it fits. Empty: the first model alone." ;
	rdfs:range atom:Path .

<urn:oneiro:dream#dream>
	a pg:Group ;
	lv2:symbol "dream" ;
	rdfs:label "Dream" .

<urn:oneiro:dream#objective>
	a pg:Group ;
	lv2:symbol "objective" ;
	rdfs:label "Objective" .

<urn:oneiro:dream#layers>
	a pg:Group ;
	lv2:symbol "layers" ;
	rdfs:label "Layer intensities" .

<urn:oneiro:dream#readout>
	a pg:Group ;
	lv2:symbol "readout" ;
	rdfs:label "What the model hears" .

<urn:oneiro:dream#stereo_in>
	a pg:StereoGroup , pg:InputGroup ;
	lv2:symbol "stereo_in" ;
	rdfs:label "Input" .

<urn:oneiro:dream#stereo_out>
	a pg:StereoGroup , pg:OutputGroup ;
	lv2:symbol "stereo_out" ;
	rdfs:label "Output" .
EOF

idx=0
sep=""
port() { # port KIND BODY: one port, numbered in order
	printf '%s [\n\t\ta %s ;\n\t\tlv2:index %d ;\n%s\n\t]' "$sep" "$1" "$idx" "$2"
	idx=$((idx + 1))
	sep=" ,"
}

control_ports() {
	port "lv2:InputPort, atom:AtomPort" '		atom:bufferType atom:Sequence ;
		atom:supports patch:Message ;
		lv2:designation lv2:control ;
		lv2:symbol "control" ;
		lv2:name "Control"'
	port "lv2:OutputPort, atom:AtomPort" '		atom:bufferType atom:Sequence ;
		atom:supports patch:Message ;
		lv2:designation lv2:control ;
		lv2:symbol "notify" ;
		lv2:name "Notify"'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:designation lv2:enabled ;
		lv2:symbol "enabled" ;
		lv2:name "Enabled" ;
		lv2:default 1 ;
		lv2:minimum 0 ;
		lv2:maximum 1 ;
		lv2:portProperty lv2:toggled'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:designation lv2:freeWheeling ;
		lv2:symbol "freewheel" ;
		lv2:name "Freewheel" ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 1 ;
		lv2:portProperty lv2:toggled , pprops:notOnGUI'
	port "lv2:OutputPort, lv2:ControlPort" '		lv2:designation lv2:latency ;
		lv2:symbol "latency" ;
		lv2:name "Latency" ;
		lv2:minimum 0 ;
		lv2:maximum 2000000 ;
		lv2:portProperty lv2:reportsLatency , lv2:integer ;
		units:unit units:frame'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "mix" ;
		lv2:name "Mix" ;
		rdfs:comment "How much of the dream is added to the dry signal." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 1.0 ;
		lv2:minimum 0.0 ;
		lv2:maximum 2.0 ;
		units:unit units:coef'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "depth" ;
		lv2:name "Depth" ;
		rdfs:comment "Gradient step size: 1 lets each step move a sample by half the bound." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 0.5 ;
		lv2:minimum 0.0 ;
		lv2:maximum 4.0 ;
		units:unit units:coef'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "iterations" ;
		lv2:name "Iterations" ;
		rdfs:comment "Gradient steps per window. The CPU cost grows with it." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 8 ;
		lv2:minimum 1 ;
		lv2:maximum 64 ;
		lv2:portProperty lv2:integer , pprops:expensive , pprops:notAutomatic'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "bound" ;
		lv2:name "Bound" ;
		rdfs:comment "The most the dream may change a sample, relative to the window level." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default -12.0 ;
		lv2:minimum -60.0 ;
		lv2:maximum 12.0 ;
		units:unit units:db'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "band_lo" ;
		lv2:name "Band low" ;
		rdfs:comment "The dream acts above this frequency." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 40.0 ;
		lv2:minimum 20.0 ;
		lv2:maximum 8000.0 ;
		lv2:portProperty pprops:logarithmic ;
		units:unit units:hz'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "band_hi" ;
		lv2:name "Band high" ;
		rdfs:comment "The dream acts below this frequency (and below the model'"'"'s Nyquist frequency)." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 8000.0 ;
		lv2:minimum 100.0 ;
		lv2:maximum 24000.0 ;
		lv2:portProperty pprops:logarithmic ;
		units:unit units:hz'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "tilt" ;
		lv2:name "Tilt" ;
		rdfs:comment "Spectral tilt of the dream around 1 kHz; negative keeps it from hiss." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default -3.0 ;
		lv2:minimum -12.0 ;
		lv2:maximum 6.0 ;
		units:unit [ a units:Unit ; rdfs:label "decibels per octave" ; units:symbol "dB/oct" ; units:render "%f dB/oct" ]'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "mode" ;
		lv2:name "Objective" ;
		pg:group <urn:oneiro:dream#objective> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 2 ;
		lv2:portProperty lv2:integer , lv2:enumeration ;
		lv2:scalePoint [ rdfs:label "Layers" ; rdf:value 0 ] ,
			[ rdfs:label "Filter" ; rdf:value 1 ] ,
			[ rdfs:label "Class" ; rdf:value 2 ]'
	cls_points=""
	k=0
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		cls_points="$cls_points${cls_points:+ ,
			}[ rdfs:label \"$name\" ; rdf:value $k ]"
		k=$((k + 1))
	done < "$classes"
	port "lv2:InputPort, lv2:ControlPort" "		lv2:symbol \"class\" ;
		lv2:name \"Target class\" ;
		rdfs:comment \"In class mode, the class to dream toward (names of the default model).\" ;
		pg:group <urn:oneiro:dream#objective> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 255 ;
		lv2:portProperty lv2:integer ;
		lv2:scalePoint $cls_points"
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "filter_layer" ;
		lv2:name "Filter layer" ;
		pg:group <urn:oneiro:dream#objective> ;
		lv2:default 3 ;
		lv2:minimum 1 ;
		lv2:maximum 8 ;
		lv2:portProperty lv2:integer'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "filter" ;
		lv2:name "Filter" ;
		rdfs:comment "In filter mode, the channel of the filter layer whose mean activation grows." ;
		pg:group <urn:oneiro:dream#objective> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 4095 ;
		lv2:portProperty lv2:integer'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "pre" ;
		lv2:name "Pre-activation" ;
		pg:group <urn:oneiro:dream#objective> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 1 ;
		lv2:portProperty lv2:toggled'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "stereo" ;
		lv2:name "Stereo" ;
		rdfs:comment "Linked: one dream of the mid signal on both channels. Independent: one per channel, twice the cost." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 1 ;
		lv2:portProperty lv2:integer , lv2:enumeration , pprops:notAutomatic ;
		lv2:scalePoint [ rdfs:label "Linked" ; rdf:value 0 ] , [ rdfs:label "Independent" ; rdf:value 1 ]'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "window" ;
		lv2:name "Window" ;
		rdfs:comment "The dream window. Changing it changes the latency (about 1.5 windows)." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 4 ;
		lv2:portProperty lv2:integer , lv2:enumeration , pprops:notAutomatic , pprops:expensive ;
		lv2:scalePoint [ rdfs:label "Model default" ; rdf:value 0 ] ,
			[ rdfs:label "0.25 s" ; rdf:value 1 ] ,
			[ rdfs:label "0.5 s" ; rdf:value 2 ] ,
			[ rdfs:label "1 s" ; rdf:value 3 ] ,
			[ rdfs:label "2 s" ; rdf:value 4 ]'
	for l in 1 2 3 4 5 6 7 8; do
		def=0
		[ $l = 3 ] && def=1
		[ $l = 4 ] && def=1
		port "lv2:InputPort, lv2:ControlPort" "		lv2:symbol \"layer$l\" ;
		lv2:name \"Layer $l\" ;
		rdfs:comment \"Dream intensity of layer $l (layers past the model's depth are ignored).\" ;
		pg:group <urn:oneiro:dream#layers> ;
		lv2:default $def ;
		lv2:minimum 0 ;
		lv2:maximum 4"
	done
	port "lv2:OutputPort, lv2:ControlPort" '		lv2:symbol "heard_class" ;
		lv2:name "Heard class" ;
		rdfs:comment "The class the model hears in the dry input (1 for a binary model)." ;
		pg:group <urn:oneiro:dream#readout> ;
		lv2:minimum 0 ;
		lv2:maximum 255 ;
		lv2:portProperty lv2:integer'
	port "lv2:OutputPort, lv2:ControlPort" '		lv2:symbol "heard_prob" ;
		lv2:name "Heard probability" ;
		rdfs:comment "Its probability; for a binary model, how interesting the input is." ;
		pg:group <urn:oneiro:dream#readout> ;
		lv2:minimum 0 ;
		lv2:maximum 1'
	port "lv2:OutputPort, lv2:ControlPort" '		lv2:symbol "dream_level" ;
		lv2:name "Dream level" ;
		rdfs:comment "Level of what the dream adds, relative to the dry signal." ;
		pg:group <urn:oneiro:dream#readout> ;
		lv2:minimum -120 ;
		lv2:maximum 20 ;
		units:unit units:db'
	port "lv2:OutputPort, lv2:ControlPort" '		lv2:symbol "late" ;
		lv2:name "Late windows" ;
		rdfs:comment "Windows not dreamed in time, passed dry." ;
		pg:group <urn:oneiro:dream#readout> ;
		lv2:minimum 0 ;
		lv2:maximum 1000000 ;
		lv2:portProperty lv2:integer'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "form" ;
		lv2:name "Dream form" ;
		rdfs:comment "Add: a bounded change added to the samples. Magnitude: a time-varying filter on the dry sound (a gain per frequency bin and 16 ms frame, each within the bound): its partials are emphasised or pushed back, nothing phase-exact is added. Auto: magnitude for layers and filters, add toward a class." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 2 ;
		lv2:minimum 0 ;
		lv2:maximum 2 ;
		lv2:portProperty lv2:integer , lv2:enumeration ;
		lv2:scalePoint [ rdfs:label "Add" ; rdf:value 0 ] , [ rdfs:label "Magnitude" ; rdf:value 1 ] ,
			[ rdfs:label "Auto" ; rdf:value 2 ]'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "second_share" ;
		lv2:name "Second model share" ;
		rdfs:comment "With a second model: its share of each dream step'"'"'s direction (0: the first model alone, 1: the second alone). Without one it does nothing." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 0.5 ;
		lv2:minimum 0.0 ;
		lv2:maximum 1.0 ;
		units:unit units:coef'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "jitter" ;
		lv2:name "Jitter" ;
		rdfs:comment "Transformation-robust dreaming: each step follows the mean gradient of views of the window shifted by up to this many milliseconds, so the dream carries its target in what it adds rather than in exact alignment with the dry sound. 0 = off. Each step computes the network Copies times, so the dream costs up to about Copies times as much." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 0 ;
		lv2:minimum 0 ;
		lv2:maximum 16 ;
		units:unit units:ms'
	port "lv2:InputPort, lv2:ControlPort" '		lv2:symbol "copies" ;
		lv2:name "Jitter copies" ;
		rdfs:comment "With jitter: the shifted views averaged per step; the network'"'"'s share of the dream'"'"'s cost grows in proportion." ;
		pg:group <urn:oneiro:dream#dream> ;
		lv2:default 1 ;
		lv2:minimum 1 ;
		lv2:maximum 8 ;
		lv2:portProperty lv2:integer'
}

plugin() { # plugin URI NAME CHANNELS
	idx=0
	sep=""
	cat <<EOF

<$1>
	a lv2:Plugin , lv2:SpectralPlugin ;
	doap:name "$2" ;
	doap:license <https://spdx.org/licenses/GPL-2.0-or-later> ;
	rdfs:comment "Neural DeepDream for sound: nudges the audio, by a few bounded gradient-ascent steps, toward what chosen layers of a raw-audio network respond to." ;
	lv2:project <urn:oneiro> ;
	lv2:minorVersion $minor ;
	lv2:microVersion $micro ;
	lv2:requiredFeature urid:map , work:schedule ;
	lv2:optionalFeature lv2:hardRTCapable , log:log , opts:options , state:threadSafeRestore ,
		idpy:queue_draw ;
	opts:supportedOption bufsz:maxBlockLength , bufsz:nominalBlockLength ;
	lv2:extensionData work:interface , state:interface , idpy:interface ;
	patch:writable <urn:oneiro:dream#model> , <urn:oneiro:dream#model2> ;
	lv2:port
EOF
	if [ "$3" = 2 ]; then
		port "lv2:AudioPort, lv2:InputPort" '		lv2:symbol "in_l" ;
		lv2:name "In L" ;
		pg:group <urn:oneiro:dream#stereo_in> ;
		lv2:designation pg:left'
		port "lv2:AudioPort, lv2:InputPort" '		lv2:symbol "in_r" ;
		lv2:name "In R" ;
		pg:group <urn:oneiro:dream#stereo_in> ;
		lv2:designation pg:right'
		port "lv2:AudioPort, lv2:OutputPort" '		lv2:symbol "out_l" ;
		lv2:name "Out L" ;
		pg:group <urn:oneiro:dream#stereo_out> ;
		lv2:designation pg:left'
		port "lv2:AudioPort, lv2:OutputPort" '		lv2:symbol "out_r" ;
		lv2:name "Out R" ;
		pg:group <urn:oneiro:dream#stereo_out> ;
		lv2:designation pg:right'
	else
		port "lv2:AudioPort, lv2:InputPort" '		lv2:symbol "in" ;
		lv2:name "In"'
		port "lv2:AudioPort, lv2:OutputPort" '		lv2:symbol "out" ;
		lv2:name "Out"'
	fi
	control_ports
	printf ' .\n'
}

cat <<EOF

<urn:oneiro>
	a doap:Project ;
	doap:name "oneiro" ;
	doap:maintainer <urn:oneiro#maintainers> .

<urn:oneiro#maintainers>
	a foaf:Person ;
	foaf:name "$maintainer_name" ;
	foaf:mbox <$maintainer_mbox> .
EOF
plugin "urn:oneiro:dream" "oneiro dream" 2
plugin "urn:oneiro:dream-mono" "oneiro dream (mono)" 1
