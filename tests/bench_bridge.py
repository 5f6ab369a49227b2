#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench_bridge.py -- the PyTorch bridge's part of `make bench` (run by
build/bench): how long python/oneiro_torch.py takes to import and export each
model given, next to PyTorch's own checkpoint format for the same module.

For each .onm given, on the CPU with one thread:
  import   oneiro_torch.to_torch(path): read, check and build the OnmModel;
  export   oneiro_torch.save_onm(module, tmp): the module's own classes,
           sample rate, window, metadata, kind and normalisation (an OnmModel
           carries them), written as a .onm;
  the peer torch.save(module.state_dict(), tmp) and torch.load(tmp) of the
           same module (torch.load gives the tensors only, it builds no
           module: the bridge's import does more than its peer).
One untimed call of each first, then --repeats rounds of the four, one after
the other (so that a busy machine slows both sides alike); the figure is the
median over the rounds. The exported file is compared with the original
(to_torch then save_onm gives the same bytes).

Output, one a line, for build/bench to read:
  result NAME KEY VALUE   KEY: import_ms, export_ms, torch_load_ms,
                          torch_save_ms, roundtrip_identical (1 or 0)
  info KEY VALUE          torch_version
  skip REASON             torch (or numpy) cannot be used; exit status 3
  note: TEXT / warning: TEXT
"""
import argparse
import os
import statistics
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("models", nargs="+", help=".onm files")
    ap.add_argument("--tmp", default=None, help="folder for the temporary files")
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds per model")
    a = ap.parse_args()
    if a.repeats < 1:
        ap.error("--repeats must be at least 1")

    try:
        import numpy  # noqa: F401  (oneiro_torch needs it)
        import torch
    except Exception as e:  # ImportError, or a broken installation
        print(f"skip cannot import torch/numpy: {type(e).__name__}: {e}", flush=True)
        sys.exit(3)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "python"))
    import oneiro_torch as ot

    torch.set_num_threads(1)
    print(f"info torch_version {torch.__version__}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_bridge.", dir=a.tmp) as tmp:
        onm_out = os.path.join(tmp, "export.onm")
        pt_out = os.path.join(tmp, "state_dict.pt")
        for path in a.models:
            name = os.path.basename(path)
            if name.endswith(".onm"):
                name = name[:-4]
            module = ot.to_torch(path)
            ot.save_onm(module, onm_out)
            torch.save(module.state_dict(), pt_out)
            torch.load(pt_out, map_location="cpu")
            with open(path, "rb") as f, open(onm_out, "rb") as g:
                identical = f.read() == g.read()

            t = {"import_ms": [], "export_ms": [], "torch_save_ms": [], "torch_load_ms": []}
            for _ in range(a.repeats):
                s = time.perf_counter()
                module = ot.to_torch(path)
                t["import_ms"].append(time.perf_counter() - s)
                s = time.perf_counter()
                ot.save_onm(module, onm_out)
                t["export_ms"].append(time.perf_counter() - s)
                s = time.perf_counter()
                torch.save(module.state_dict(), pt_out)
                t["torch_save_ms"].append(time.perf_counter() - s)
                s = time.perf_counter()
                torch.load(pt_out, map_location="cpu")
                t["torch_load_ms"].append(time.perf_counter() - s)
            for key, v in t.items():
                print(f"result {name} {key} {statistics.median(v) * 1e3:.6f}", flush=True)
            print(f"result {name} roundtrip_identical {int(identical)}", flush=True)


if __name__ == "__main__":
    main()
