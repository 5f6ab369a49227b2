#!/bin/sh
# What `make run` shows: the tool built and working on a model. Until the
# trainer and the renderer land, the model is an untrained one of the
# reference architecture.
set -e
B=build
echo "== oneiro version"
$B/oneiro version
echo "== oneiro new-model --arch small --classes 8 $B/demo.onm"
$B/oneiro new-model --arch small --classes 8 $B/demo.onm
echo "== oneiro inspect $B/demo.onm"
$B/oneiro inspect $B/demo.onm
