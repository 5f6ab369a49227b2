#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make_golden.py -- writes the PyTorch golden files that tests/test_torch.c
checks the whole network against, so the test itself needs no PyTorch.

Run with Debian's Python (it has torch and numpy), from the repository root:
    /usr/bin/python3 tests/make_golden.py [OUTDIR]      (default tests/golden)
Everything is seeded and single-threaded, so a rerun gives the same models
and inputs bit for bit; PyTorch's results may still move by a float32 rounding
between runs or machines (its CPU conv picks its kernel, hence its summation
order, at run time; seen once here: about 1 ulp), far inside the test's
tolerances. The outputs are committed; rerun only when the cases or the file
format change.

Cases (each gives OUTDIR/NAME.onm, written with tests/onm.py, and NAME.bin):
  small   the benchmark reference architecture (conv 1->16 k64 s16 + lrelu;
          three blocks conv k3 p1 + lrelu + maxpool 4/4 with 32, 32, 64
          channels; global mean; dense 64->32 + lrelu; dense 32->10),
          N = 4096, no input normalisation.
  exotic  every layer type and option of the core: strided convs whose kernel
          is not a multiple of the stride, with padding (k10 s4 p3, k4 s3 p1,
          k3 s2 p0), a stride-1 conv k5 p2, plain ReLU, leaky ReLU of two other
          slopes, overlapping max-pools (k5 s3, k3 s2, k4 s2), a max-pool right after
          a conv with no activation, odd channel counts (5, 7, 12, 9, 11),
          max-pool ties (exact, in a stretch of digital silence),
          two dense layers with a ReLU between, 4 classes, window-RMS input
          normalisation (so the input scale is exercised), N = 3001.
Weights: PyTorch's default init (nn.Conv1d / nn.Linear) from a fixed seed.
Input: two sines plus a little seeded noise, in [-1, 1]. The exotic input has
60 samples of digital silence (1200..1259): there the first conv's output is
exactly its bias at several consecutive positions, so the pool after it sees
exact ties, and PyTorch's tie rule (the first maximum gets the gradient) is
checked; the stretch is short enough that no later pool sees a constant
window, where ties would hang on summation order and make the test flaky.

"Block" b (0-based; the user's "Layer b+1") follows docs/model-format.md: a
block starts at each conv, at the global mean and at each dense layer not
right after the global mean, and runs to the next start; its output ("post")
is its last op's output, its pre-activation ("pre") its conv/dense output.

The .bin file, little-endian throughout:
    magic    8 bytes  b"ONRGOLD1"
    count    u32      number of records
    then `count` records, each:
      name_len  u32         1 to 255
      name      name_len    ASCII bytes, no terminator
      ndim      u32         0 to 4 (0 = a scalar, one value)
      dims      u32 x ndim
      data      f32 x prod(dims), C (row-major) order
Records (all float32; small integers are stored exactly as floats):
    x                 (N)      the input window, unscaled
    scale             ()       the input scale the model's normalisation gives
                               for x (what onr_input_scale should return);
                               the network sees x * scale
    act/II            (C, L) or (C,)   op II's forward output (II = 00, 01, ...)
    probs             (n_classes)      softmax of the logits
    obj/NAME/spec     (21)     the objective: mode (0 layers, 1 filter,
                               2 class), pre (0/1), block, filter, cls, then
                               16 layer weights (onr_objective's fields)
    obj/NAME/J        ()       J(x * scale)
    obj/NAME/dx       (N)      dJ/dx, with the scale held fixed (chain rule:
                               scale * dJ/d(x * scale))
    train/label       ()       the label of the training example
    train/loss        ()       softmax cross-entropy of the logits vs label
    train/grad        (n_params)  d loss / d params, in blob order
    dev64/REC         (2)      for every record REC above that is computed:
                               rel-L2 distance and cosine of the float32 result
                               to a float64 recomputation -- how much float32
                               rounding alone moves it, a guide to tolerances
Objectives per case: layers_post (two blocks, different weights, post-
activation), layers_pre (two blocks, pre-activation), layers_deep (the dense
blocks, post), filter (one channel of a conv block's output), filter_pre (one
channel of a conv's pre-activation), class (one logit).
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onm  # noqa: E402

torch.set_num_threads(1)
MAGIC = b"ONRGOLD1"
MODE_LAYERS, MODE_FILTER, MODE_CLASS = 0, 1, 2
MAX_BLOCKS = 16


# ---------------------------------------------------------------- architectures
def arch_small():
    L = onm.op
    ops = [L(onm.CONV, 1, 16, 64, 16, 0), L(onm.LRELU, f=0.01)]
    cin = 16
    for c in (32, 32, 64):
        ops += [L(onm.CONV, cin, c, 3, 1, 1), L(onm.LRELU, f=0.01), L(onm.MAXPOOL, 4, 4)]
        cin = c
    ops += [L(onm.GMEAN), L(onm.DENSE, 64, 32), L(onm.LRELU, f=0.01), L(onm.DENSE, 32, 10)]
    return ops


def arch_logmel():
    L = onm.op
    return [
        # the magnitude front end: 400-sample frames (not a power of two)
        # every 160, 40 mel bands 20..7600 Hz, ln(power + 1e-4)
        L(onm.LOGMEL, 400, 160, 40, 20, 7600, f=1e-4),
        L(onm.CONV, 40, 16, 3, 1, 1), L(onm.LRELU, f=0.01), L(onm.MAXPOOL, 2, 2),
        L(onm.CONV, 16, 24, 3, 1, 1), L(onm.RELU),
        L(onm.GMEAN), L(onm.DENSE, 24, 12), L(onm.LRELU, f=0.01), L(onm.DENSE, 12, 5),
    ]


def arch_exotic():
    L = onm.op
    return [
        # Layer 1: strided conv, K not a multiple of S, padded; plain ReLU;
        # overlapping pool 5/3 (it sees exact ties in the input's silence)
        L(onm.CONV, 1, 5, 10, 4, 3), L(onm.RELU), L(onm.MAXPOOL, 5, 3),
        # Layer 2: stride-1 conv k5 p2, leaky ReLU 0.2, overlapping pool 3/2
        L(onm.CONV, 5, 7, 5, 1, 2), L(onm.LRELU, f=0.2), L(onm.MAXPOOL, 3, 2),
        # Layer 3: conv k4 s3 p1, leaky ReLU 0.05, overlapping pool 4/2
        L(onm.CONV, 7, 12, 4, 3, 1), L(onm.LRELU, f=0.05), L(onm.MAXPOOL, 4, 2),
        # Layer 4: conv k3 s2 p0 straight into a pool 2/2, no activation
        L(onm.CONV, 12, 9, 3, 2, 0), L(onm.MAXPOOL, 2, 2),
        # Layer 5: global mean + dense 9->11 + ReLU; Layer 6: dense 11->4
        L(onm.GMEAN), L(onm.DENSE, 9, 11), L(onm.RELU),
        L(onm.DENSE, 11, 4),
    ]


def blocks(ops):
    """[(first, pre, last)] op indices of each block, from the format doc."""
    out = []
    for i, o in enumerate(ops):
        t = o["type"]
        if t == onm.LOGMEL:
            continue   # the front end is no block
        if t in (onm.CONV, onm.GMEAN) or (t == onm.DENSE and ops[i - 1]["type"] != onm.GMEAN):
            out.append([i, i, i])
        if t in (onm.CONV, onm.DENSE):
            out[-1][1] = i
        out[-1][2] = i
    return [tuple(b) for b in out]


def torch_params(ops, seed):
    """PyTorch-default-initialised parameters, in blob order (float32)."""
    torch.manual_seed(seed)
    params = []
    for o in ops:
        if o["type"] == onm.CONV:
            m = nn.Conv1d(o["a"], o["b"], o["c"], stride=o["d"], padding=o["e"])
        elif o["type"] == onm.DENSE:
            m = nn.Linear(o["a"], o["b"])
        else:
            continue
        params += [m.weight.detach().clone(), m.bias.detach().clone()]
    return params


def test_input(n, sr, f1, f2, seed, silence=None):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / sr
    x = 0.3 * torch.sin(2 * math.pi * f1 * t) + 0.2 * torch.sin(2 * math.pi * f2 * t + 0.7)
    x = x + 0.05 * torch.randn(n, generator=g, dtype=torch.float64)
    if silence:
        x[silence[0]:silence[1]] = 0.0
    return x.clamp(-1, 1).to(torch.float32)


def input_scale(norm, norm_value, x):
    """As onr_input_scale: computed in double from the float32 samples."""
    if norm == 1:
        return np.float32(norm_value)
    if norm == 2:
        xd = x.double().numpy()
        rms = math.sqrt(float(np.sum(xd * xd)) / len(xd))
        return np.float32(float(np.float32(norm_value)) / max(rms, 1e-4))
    return np.float32(1.0)


# ---------------------------------------------------------------- computations
SR = [16000]   # the sample rate of the case being made (the log-mel op needs it)


def forward_acts(ops, params, xs):
    acts = []
    onm.torch_forward(ops, params, xs.reshape(1, 1, -1), F, acts=acts, sample_rate=SR[0])
    return [a[0] for a in acts]   # drop the batch dimension


def objective_value(ops, blks, params, xs, spec):
    acts = forward_acts(ops, params, xs)
    mode, pre = spec["mode"], spec["pre"]
    if mode == MODE_LAYERS:
        J = 0
        for b, w in enumerate(spec["w"]):
            if w != 0.0:
                a = acts[blks[b][1] if pre else blks[b][2]]
                J = J + w * a.pow(2).mean()
        return J
    if mode == MODE_FILTER:
        a = acts[blks[spec["block"]][1] if pre else blks[spec["block"]][2]]
        return a[spec["filter"]].mean()
    return acts[-1][spec["cls"]]


def objective_grad(ops, blks, params, x, scale, spec):
    """J(x * scale) and dJ/dx with the scale held fixed."""
    x = x.detach().clone().requires_grad_(True)
    J = objective_value(ops, blks, params, x * scale, spec)
    (g,) = torch.autograd.grad(J, x)
    return J.detach(), g


def train_grads(ops, params, x, scale, label):
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    logits = onm.torch_forward(ops, ps, (x * scale).reshape(1, 1, -1), F, sample_rate=SR[0])
    loss = F.cross_entropy(logits, torch.tensor([label]))
    grads = torch.autograd.grad(loss, ps)
    return loss.detach(), torch.cat([g.flatten() for g in grads])


def spec_vec(spec):
    w = list(spec["w"]) + [0.0] * (MAX_BLOCKS - len(spec["w"]))
    return [spec["mode"], spec["pre"], spec["block"], spec["filter"], spec["cls"]] + w


def layers(pre, **w):
    """layers(pre, b1=0.7, b3=1.3): weights of blocks by 0-based index."""
    ws = [0.0] * MAX_BLOCKS
    for k, v in w.items():
        ws[int(k[1:])] = v
    return dict(mode=MODE_LAYERS, pre=pre, block=0, filter=0, cls=0, w=ws)


def filter_obj(ops, blks, params, xs, block, pre):
    """Filter mode on `block`, on its channel of the largest |mean| (so J is
    far from 0 and its relative error means something)."""
    a = forward_acts(ops, params, xs)[blks[block][1] if pre else blks[block][2]]
    f = int(a.detach().mean(dim=-1).abs().argmax())
    return dict(mode=MODE_FILTER, pre=pre, block=block, filter=f, cls=0, w=[0.0] * MAX_BLOCKS)


def class_obj(ops, params, xs):
    z = forward_acts(ops, params, xs)[-1]
    c = int(z.detach().abs().argmax())
    return dict(mode=MODE_CLASS, pre=0, block=0, filter=0, cls=c, w=[0.0] * MAX_BLOCKS)


def count_ties(ops, acts, xs):
    """Pool windows whose maximum is not zero and occurs more than once, so
    the tie rule decides where the gradient goes."""
    ties = 0
    for i, o in enumerate(ops):
        if o["type"] != onm.MAXPOOL:
            continue
        a = (acts[i - 1] if i else xs.reshape(1, -1)).numpy()
        k, s_ = o["a"], o["b"]
        for c in range(a.shape[0]):
            for t in range((a.shape[1] - k) // s_ + 1):
                w = a[c, t * s_:t * s_ + k]
                m = w.max()
                ties += int(m != 0 and (w == m).sum() > 1)
    return ties


# ---------------------------------------------------------------- output
class Golden:
    def __init__(self):
        self.recs = []

    def add(self, name, a):
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        assert 0 < len(name) < 256 and a.ndim <= 4
        self.recs.append((name, a))

    def dev(self, name, a32, a64):
        """float32 result vs float64 recomputation: rel-L2 and cosine."""
        a = np.asarray(a32, dtype=np.float64).ravel()
        b = np.asarray(a64, dtype=np.float64).ravel()
        rel = float(np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-300))
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))
        self.add("dev64/" + name, [rel, cos])
        return rel

    def write(self, path):
        out = [MAGIC, struct.pack("<I", len(self.recs))]
        for name, a in self.recs:
            nb = name.encode("ascii")
            out.append(struct.pack("<I", len(nb)) + nb)
            out.append(struct.pack("<I", a.ndim) + b"".join(struct.pack("<I", d) for d in a.shape))
            out.append(a.tobytes())
        with open(path, "wb") as f:
            f.write(b"".join(out))


def make_case(outdir, name, ops, seed, n, sr, freqs, norm, norm_value, label, objectives,
              silence=None):
    SR[0] = sr
    class_names = ["class%d" % i for i in range(ops[-1]["b"])]
    params = torch_params(ops, seed)
    blks = blocks(ops)
    x = test_input(n, sr, freqs[0], freqs[1], seed + 1, silence)
    scale = input_scale(norm, norm_value, x)
    meta = "generator: tests/make_golden.py case %s\ntorch: %s\n" % (name, torch.__version__)
    onm.write(os.path.join(outdir, name + ".onm"), ops, [p.numpy() for p in params], sr, n,
              class_names, norm=norm, norm_value=norm_value, meta=meta)
    # the generator's own check: the file reads back to the same bits
    back = onm.read(os.path.join(outdir, name + ".onm"))
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(back["params"], params))

    p64 = [p.double() for p in params]
    x64 = x.double()
    s32 = torch.tensor(scale, dtype=torch.float32)
    s64 = torch.tensor(float(scale), dtype=torch.float64)
    xs = x * s32
    g = Golden()
    g.add("x", x.numpy())
    g.add("scale", scale)
    worst = {}

    with torch.no_grad():
        acts = forward_acts(ops, params, xs)
        acts64 = forward_acts(ops, p64, x64 * s64)
    ties = count_ties(ops, acts, xs)
    for i, (a, a64) in enumerate(zip(acts, acts64)):
        g.add("act/%02d" % i, a.numpy())
        worst["act"] = max(worst.get("act", 0), g.dev("act/%02d" % i, a.numpy(), a64.numpy()))
    probs = F.softmax(acts[-1], dim=0)
    g.add("probs", probs.numpy())
    g.dev("probs", probs.numpy(), F.softmax(acts64[-1], dim=0).numpy())

    for oname, spec in objectives(ops, blks, params, xs):
        J, dx = objective_grad(ops, blks, params, x, s32, spec)
        J64, dx64 = objective_grad(ops, blks, p64, x64, s64, spec)
        base = "obj/%s/" % oname
        g.add(base + "spec", spec_vec(spec))
        g.add(base + "J", float(J))
        g.add(base + "dx", dx.numpy())
        g.dev(base + "J", [float(J)], [float(J64)])
        worst["dx"] = max(worst.get("dx", 0), g.dev(base + "dx", dx.numpy(), dx64.numpy()))

    loss, grad = train_grads(ops, params, x, s32, label)
    loss64, grad64 = train_grads(ops, p64, x64, s64, label)
    g.add("train/label", label)
    g.add("train/loss", float(loss))
    g.add("train/grad", grad.numpy())
    g.dev("train/loss", [float(loss)], [float(loss64)])
    worst["grad"] = g.dev("train/grad", grad.numpy(), grad64.numpy())

    g.write(os.path.join(outdir, name + ".bin"))
    nbytes = sum(os.path.getsize(os.path.join(outdir, name + e)) for e in (".onm", ".bin"))
    print("%s: %d ops, %d params, N=%d, scale %.6g, %d bytes, %d pool windows with a tied "
          "nonzero maximum; float32 vs float64 worst rel-L2: %s"
          % (name, len(ops), grad.numel(), n, float(scale), nbytes, ties,
             ", ".join("%s %.1e" % kv for kv in worst.items())))


def objectives_small(ops, blks, params, xs):
    return [
        ("layers_post", layers(0, b1=0.7, b3=1.3)),
        ("layers_pre", layers(1, b0=0.5, b2=2.0)),
        ("layers_deep", layers(0, b4=1.0, b5=0.5)),
        ("filter", filter_obj(ops, blks, params, xs, 2, 0)),
        ("filter_pre", filter_obj(ops, blks, params, xs, 1, 1)),
        ("class", class_obj(ops, params, xs)),
    ]


def objectives_exotic(ops, blks, params, xs):
    return [
        ("layers_post", layers(0, b0=0.4, b2=1.5)),
        ("layers_pre", layers(1, b1=1.0, b3=0.25)),
        ("layers_deep", layers(0, b3=0.5, b4=2.0)),
        ("filter", filter_obj(ops, blks, params, xs, 1, 0)),
        ("filter_pre", filter_obj(ops, blks, params, xs, 2, 1)),
        ("class", class_obj(ops, params, xs)),
    ]


def objectives_logmel(ops, blks, params, xs):
    return [
        ("layers_post", layers(0, b0=0.6, b1=1.2)),
        ("layers_pre", layers(1, b0=1.0, b1=0.5)),
        ("filter", filter_obj(ops, blks, params, xs, 1, 0)),
        ("filter_pre", filter_obj(ops, blks, params, xs, 0, 1)),
        ("class", class_obj(ops, params, xs)),
    ]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "golden")
    os.makedirs(outdir, exist_ok=True)
    make_case(outdir, "small", arch_small(), seed=20240601, n=4096, sr=16000,
              freqs=(220.0, 1234.5), norm=0, norm_value=0.0, label=3,
              objectives=objectives_small)
    make_case(outdir, "exotic", arch_exotic(), seed=777, n=3001, sr=22050,
              freqs=(97.0, 2711.3), norm=2, norm_value=0.25, label=0,
              objectives=objectives_exotic, silence=(1200, 1260))
    make_case(outdir, "logmel", arch_logmel(), seed=4242, n=4000, sr=16000,
              freqs=(330.0, 2093.0), norm=2, norm_value=0.1, label=2,
              objectives=objectives_logmel)


if __name__ == "__main__":
    main()
