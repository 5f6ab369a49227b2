#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench_torch.py -- the PyTorch side of `make bench` (run by build/bench).

For each model given (a group of --name, --model, --grad, --train-grad,
--layers, --value, in the same order), on the CPU with ONE thread:
  * loads our model file with tests/onm.py and builds the same computation
    with onm.torch_forward (the parameters as torch tensors, the same bits);
  * checks the dream gradient dJ/dx against the one the C code wrote, the
    objective value, and the weight gradients of one training batch;
  * times the dream step: x (1, 1, N) with requires_grad, forward up to the
    deepest objective op, J = sum_i w_i * mean(out_i^2), torch.autograd.grad
    of J w.r.t. x (parameters with requires_grad False);
  * times the training step: a (B, 1, N) batch (B = 32 by default), full
    forward, mean cross-entropy against labels k % n_classes, one backward into
    the weights (grads set to None before, weights not updated).
Timing: warm up, estimate one call, then batches of reps taking about TARGET
seconds in all; the figure is the median over the batches of the time per call.

Output, one a line, for build/bench to read:
  result NAME KEY VALUE     KEY: dream_step_ms, train_batch_ms,
                            dream_grad_rel_l2, dream_objective_rel_diff,
                            train_grad_rel_l2
  info KEY VALUE            torch_version, torch_threads
  skip REASON               torch (or numpy) cannot be used; exit status 3
  note: TEXT / warning: TEXT
Inputs are raw little-endian float32: --input (N), --batch-input (B, N),
--grad (N), --train-grad (n_params, in the model's blob order).
"""
import argparse
import math
import os
import statistics
import sys
import time


def parse_layers(spec):
    """'7:1,10:1' -> [(7, 1.0), (10, 1.0)]: op index, weight."""
    out = []
    for item in spec.split(","):
        i, _, w = item.partition(":")
        out.append((int(i), float(w) if w else 1.0))
    return out


def time_it(fn, target, nbatch, warm_calls, warm_time):
    """Median seconds per call of fn() over nbatch batches of reps."""
    t0 = time.perf_counter()
    k = 0
    while True:
        fn()
        k += 1
        el = time.perf_counter() - t0
        if k >= warm_calls and el >= warm_time:
            break
    est = max(el / k, 1e-9)
    reps = max(1, math.ceil(target / nbatch / est))
    times = []
    for _ in range(nbatch):
        s = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - s) / reps)
    return statistics.median(times)


def rel_l2(a, b):
    a = a.double().flatten()
    b = b.double().flatten()
    return float((a - b).norm() / max(float(b.norm()), 1e-300))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--input", required=True, help="raw float32 (N): the dream input")
    ap.add_argument("--batch-input", required=True, help="raw float32 (B, N): the training batch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--name", action="append", required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--grad", action="append", required=True, help="C's dJ/dx, raw float32 (N)")
    ap.add_argument("--train-grad", action="append", required=True,
                    help="C's weight gradients of one batch (mean loss), raw float32")
    ap.add_argument("--layers", action="append", required=True,
                    help="objective: op:weight,... (op outputs, 0-based)")
    ap.add_argument("--value", action="append", type=float, required=True,
                    help="C's objective value")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    groups = [a.name, a.model, a.grad, a.train_grad, a.layers, a.value]
    if len({len(g) for g in groups}) != 1:
        ap.error("--name, --model, --grad, --train-grad, --layers, --value must come in groups")

    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken installation
        print(f"skip cannot import torch/numpy: {type(e).__name__}: {e}", flush=True)
        sys.exit(3)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import onm

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    print(f"info torch_version {torch.__version__}", flush=True)
    print(f"info torch_threads {torch.get_num_threads()}", flush=True)

    if a.quick:
        tm = dict(target=0.12, nbatch=3, warm_calls=1, warm_time=0.01)
    else:
        tm = dict(target=0.5, nbatch=7, warm_calls=3, warm_time=0.05)

    x_np = np.fromfile(a.input, dtype="<f4")
    n = x_np.size
    xb_np = np.fromfile(a.batch_input, dtype="<f4")
    if xb_np.size != a.batch * n:
        sys.exit(f"bench_torch: {a.batch_input}: {xb_np.size} floats, expected {a.batch} x {n}")
    x1 = torch.from_numpy(x_np.copy()).reshape(1, 1, n)
    xb = torch.from_numpy(xb_np.copy()).reshape(a.batch, 1, n)

    for name, model, grad, tgrad, layers, value in zip(*groups):
        md = onm.read(model)
        ops = md["ops"]
        n_classes = len(md["class_names"])
        if md["norm"] != 0:
            print(f"warning: {name}: the model has input normalisation {md['norm']}; "
                  "the benchmark feeds x as it is", flush=True)
        obj = parse_layers(layers)
        deep = max(i for i, _ in obj)

        # ---- dream: parameters without gradients
        params = [torch.from_numpy(p.copy()) for p in md["params"]]

        def dream_grad():
            x = x1.detach().requires_grad_(True)
            acts = []
            onm.torch_forward(ops, params, x, F, stop=deep, acts=acts, sample_rate=md["sample_rate"])
            J = 0
            for i, w in obj:
                J = J + w * acts[i].pow(2).mean()
            (g,) = torch.autograd.grad(J, x)
            return g, J

        g, J = dream_grad()
        g_c = torch.from_numpy(np.fromfile(grad, dtype="<f4"))
        print(f"result {name} dream_grad_rel_l2 {rel_l2(g_c, g.reshape(-1)):.6e}", flush=True)
        print(f"result {name} dream_objective_rel_diff "
              f"{abs(value - float(J)) / max(abs(float(J)), 1e-300):.6e}", flush=True)
        s = time_it(dream_grad, **tm)
        print(f"result {name} dream_step_ms {s * 1e3:.6f}", flush=True)

        # ---- training: parameters with gradients, one backward for the batch
        tparams = [torch.from_numpy(p.copy()).requires_grad_(True) for p in md["params"]]
        labels = torch.arange(a.batch) % n_classes

        def train_batch():
            for p in tparams:
                p.grad = None
            logits = onm.torch_forward(ops, tparams, xb, F, sample_rate=md["sample_rate"])
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            return loss

        train_batch()
        tg = torch.cat([p.grad.reshape(-1) for p in tparams])
        tg_c = torch.from_numpy(np.fromfile(tgrad, dtype="<f4"))
        if tg_c.numel() != tg.numel():
            print(f"warning: {name}: {tgrad} has {tg_c.numel()} floats, the model "
                  f"{tg.numel()}", flush=True)
        else:
            print(f"result {name} train_grad_rel_l2 {rel_l2(tg_c, tg):.6e}", flush=True)
        s = time_it(train_batch, **tm)
        print(f"result {name} train_batch_ms {s * 1e3:.6f}", flush=True)
        # both cores, as a user training on this machine would run it
        torch.set_num_threads(2)
        s = time_it(train_batch, **tm)
        torch.set_num_threads(1)
        print(f"result {name} train_batch_ms_2t {s * 1e3:.6f}", flush=True)


if __name__ == "__main__":
    main()
