#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_bridge.py -- python/oneiro_torch.py, the PyTorch <-> .onm bridge,
against the C core. Run by tests/test_torch_bridge.sh from the repository
root with Debian's Python (torch, numpy):

    /usr/bin/python3 tests/test_bridge.py [ONEIRO] [TEST_TORCH]

Checks:
  - .onm -> PyTorch -> .onm gives the same bytes, for the shipped models and
    the golden files; to_torch's forward gives make_golden.py's recorded
    PyTorch activations and probabilities (an independent forward);
  - PyTorch -> .onm -> PyTorch for several architectures (every layer type and
    option): the same parameters and outputs, the same bytes on a second
    save, tests/onm.py reads the same ops and parameters, oneiro inspect loads
    it and counts the same "Layer N" blocks;
  - the C core against PyTorch on models written by save_onm: golden files
    (every layer's output, probabilities, dream objectives and their gradient
    to the input, a training gradient) made here from the PyTorch modules and
    checked by build/test_torch, with its worst relative errors printed;
    the same check refuses a file whose mel band is 1 Hz off the module's;
    oneiro score --json's probabilities against the module's softmax;
  - a model trained a few steps in PyTorch, exported and dreamed with oneiro
    render: finite, within the bound of the input, the same bits twice;
  - modules the format cannot express are refused, naming the layer.
Prints "ok"/"FAIL" lines and "test_bridge: N passed, M failed".
"""
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import oneiro_torch as ot  # noqa: E402
import onm  # noqa: E402  (the independent reader, a cross-check only)

torch.set_num_threads(1)
ONEIRO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "oneiro")
TEST_TORCH = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "build", "test_torch")
TMP = tempfile.mkdtemp(prefix="test_bridge.")
passed = failed = 0
report = []


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name)
        if detail:
            for line in str(detail).splitlines()[:12]:
                print("     " + line)
    return cond


def run(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def tmp(name):
    return os.path.join(TMP, name)


# ---------------------------------------------------------------- audio files
def write_wav(path, rate, x):
    """Mono 32-bit float WAV."""
    data = np.asarray(x, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
            + struct.pack("<I", len(data)) + data)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_wav_f32(path):
    d = open(path, "rb").read()
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(d):
        cid, n = d[pos:pos + 4], struct.unpack("<I", d[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            fmt = d[pos + 8:pos + 8 + n]
        elif cid == b"data":
            data = d[pos + 8:pos + 8 + n]
        pos += 8 + n + (n & 1)
    tag, ch, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if tag == 0xFFFE:
        tag = struct.unpack("<H", fmt[24:26])[0]
    assert (tag, bits, ch) == (3, 32, 1), (tag, bits, ch)
    return rate, np.frombuffer(data, dtype="<f4").astype(np.float64)


def sound(n, rate, seed, f1=220.0, f2=1375.0):
    g = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * f1 * t) + 0.15 * np.sin(2 * np.pi * f2 * t + 0.4)
    return np.clip(x + 0.03 * g.standard_normal(n), -1, 1).astype(np.float32)


# ---------------------------------------------------------------- architectures
def seeded(seed, layers):
    torch.manual_seed(seed)
    return nn.Sequential(*[f() for f in layers])


def arch_small():
    L = [lambda: nn.Conv1d(1, 16, 64, stride=16), lambda: nn.LeakyReLU(0.01)]
    cin = 16
    for c in (32, 32, 64):
        L += [lambda a=cin, b=c: nn.Conv1d(a, b, 3, padding=1), lambda: nn.LeakyReLU(0.01),
              lambda: nn.MaxPool1d(4)]
        cin = c
    L += [ot.GlobalMean, lambda: nn.Linear(64, 32), lambda: nn.LeakyReLU(0.01),
          lambda: nn.Linear(32, 10)]
    return seeded(11, L)


def arch_exotic():
    return seeded(12, [
        lambda: nn.Conv1d(1, 5, 10, stride=4, padding=3), nn.ReLU, lambda: nn.MaxPool1d(5, 3),
        lambda: nn.Conv1d(5, 7, 5, padding=2), lambda: nn.LeakyReLU(0.2),
        lambda: nn.MaxPool1d(3, 2),
        lambda: nn.Conv1d(7, 12, 4, stride=3, padding=1), lambda: nn.LeakyReLU(0.05),
        lambda: nn.MaxPool1d(4, 2),
        lambda: nn.Conv1d(12, 9, 3, stride=2), lambda: nn.MaxPool1d(2, 2),
        ot.GlobalMean, lambda: nn.Linear(9, 11), nn.ReLU, lambda: nn.Linear(11, 4)])


def arch_logmel():
    return seeded(13, [
        lambda: ot.LogMel(16000, 512, 128, n_mels=40, fmin=30, fmax=7000, floor=1e-5),
        lambda: nn.Conv1d(40, 16, 3, padding=1), nn.ReLU, lambda: nn.MaxPool1d(3, 2),
        lambda: nn.Conv1d(16, 24, 3, stride=2, padding=1), lambda: nn.LeakyReLU(0.1),
        ot.GlobalMean, lambda: nn.Linear(24, 12), lambda: nn.LeakyReLU(0.01),
        lambda: nn.Linear(12, 5)])


def arch_powerbins():
    """log-power front end without a filterbank (n_mels 0), fmax default."""
    return seeded(14, [
        lambda: ot.LogMel(8000, 64, 32, n_mels=0, floor=1e-3),
        lambda: nn.Conv1d(33, 8, 5, stride=2, padding=2), lambda: nn.LeakyReLU(0.3),
        lambda: nn.MaxPool1d(2),
        lambda: nn.Conv1d(8, 6, 3), nn.ReLU,
        ot.GlobalMean, lambda: nn.Linear(6, 3)])


def arch_nobias():
    """bias=False convs and Linears (written as zero biases), nested
    Sequentials, an nn.Identity, a binary model with gain normalisation."""
    torch.manual_seed(15)
    return nn.Sequential(
        nn.Sequential(nn.Conv1d(1, 4, 16, stride=8, bias=False), nn.Identity(), nn.ReLU()),
        nn.Sequential(nn.Conv1d(4, 6, 3, padding=1), nn.LeakyReLU(0.25), nn.MaxPool1d(3, 1)),
        ot.GlobalMean(), nn.Linear(6, 2, bias=False))


CASES = {
    # name: (module builder, rate, window, norm, classes)
    "small": (arch_small, 16000, 4096, None, ["c%d" % i for i in range(10)]),
    "exotic": (arch_exotic, 22050, 3001, ("rms", 0.25), ["w", "x", "y", "z"]),
    "logmel": (arch_logmel, 16000, 4000, ("gain", 2.0), ["a", "b", "c", "d", "e"]),
    "powerbins": (arch_powerbins, 8000, 2000, ("rms", 0.1), ["low", "mid", "high"]),
    "nobias": (arch_nobias, 12000, 1500, ("gain", 0.5), ["dull", "interesting"]),
}


def export(name, path):
    build, rate, window, norm, classes = CASES[name]
    net = build()
    data = ot.save_onm(net, path, classes=classes, sample_rate=rate, window=window, norm=norm,
                       metadata={"case": name, "torch": torch.__version__})
    return net, data


# ---------------------------------------------------------------- 1: .onm -> torch -> .onm
def read_golden_bin(path):
    d = open(path, "rb").read()
    assert d[:8] == b"ONRGOLD1"
    (count,) = struct.unpack_from("<I", d, 8)
    off, recs = 12, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", d, off)
        name = d[off + 4:off + 4 + n].decode()
        off += 4 + n
        (nd,) = struct.unpack_from("<I", d, off)
        dims = struct.unpack_from("<%dI" % nd, d, off + 4)
        off += 4 + 4 * nd
        k = int(np.prod(dims)) if nd else 1
        recs[name] = np.frombuffer(d, dtype="<f4", count=k, offset=off).reshape(dims)
        off += 4 * k
    return recs


def rel(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def test_file_round_trips():
    shipped = ["models/default.onm", "models/styles.onm", "models/interestingness.onm",
               "tests/golden/logmel.onm", "tests/golden/exotic.onm", "tests/golden/small.onm"]
    for p in shipped:
        src = os.path.join(ROOT, p)
        if not os.path.exists(src):
            check("%s exists" % p, False)
            continue
        m = ot.to_torch(src)
        out = tmp(os.path.basename(p))
        ot.save_onm(m, out)
        same = open(src, "rb").read() == open(out, "rb").read()
        check("%s -> to_torch -> save_onm: the same bytes (%d layers, %d classes, %s norm)"
              % (p, len(m.net), len(m.classes), m.norm.mode), same)
    # to_torch's forward against make_golden.py's PyTorch records
    for name in ("small", "exotic", "logmel"):
        m = ot.to_torch(os.path.join(ROOT, "tests/golden/%s.onm" % name))
        g = read_golden_bin(os.path.join(ROOT, "tests/golden/%s.bin" % name))
        x = torch.from_numpy(g["x"].copy())
        s = float(m.norm.scale(x.reshape(1, -1))[0])
        with torch.no_grad():
            acts = m.op_outputs(x)
            probs = m.probs(x)[0]
        worst = max(rel(a[0].numpy(), g["act/%02d" % i]) for i, a in enumerate(acts))
        pr = rel(probs.numpy(), g["probs"])
        check("to_torch(golden/%s.onm) forward = make_golden.py's: scale %.9g vs %.9g, "
              "every layer rel %.1e, probabilities rel %.1e" % (name, s, float(g["scale"]),
                                                             worst, pr),
              abs(s - float(g["scale"])) <= 1e-6 * abs(s) and worst < 1e-5 and pr < 1e-5)
    # metadata, names, kind kept as attributes
    m = ot.to_torch(os.path.join(ROOT, "models/interestingness.onm"))
    check("attributes: interestingness is binary (kind 0) with 2 classes, 16 kHz, metadata text",
          m.kind == 0 and len(m.classes) == 2 and m.sample_rate == 16000 and
          isinstance(m.metadata, str) and len(m.metadata) > 0, repr(m))
    # a damaged file is refused with the file's name
    src = open(os.path.join(ROOT, "models/default.onm"), "rb").read()
    bad = tmp("damaged.onm")
    open(bad, "wb").write(src[:100] + bytes([src[100] ^ 1]) + src[101:])
    try:
        ot.to_torch(bad)
        check("a damaged file is refused", False)
    except ot.OnmError as e:
        check("a damaged file is refused, naming it: %s" % e,
              "damaged.onm" in str(e) and "checksum" in str(e))


# ---------------------------------------------------------------- 2: torch -> .onm -> torch
def n_blocks_inspect(path):
    rc, out, err = run([ONEIRO, "inspect", path])
    return rc, len(re.findall(r"^\s+Layer \d+", out, re.M)), out + err


def test_torch_round_trips():
    for name in CASES:
        path = tmp("rt_%s.onm" % name)
        net, data = export(name, path)
        back = ot.to_torch(path)
        params_same = all(torch.equal(a.detach().float(), b.detach())
                          for a, b in zip(net.parameters(), back.net.parameters()))
        n_torch = sum(p.numel() for p in net.parameters())
        n_back = sum(p.numel() for p in back.net.parameters())
        if name == "nobias":   # zero biases added for the missing ones
            l0, l2, l6 = back.net[0], back.net[2], back.net[6]
            src = list(net.parameters())
            params_same = (len(src) == 4 and torch.equal(src[0], l0.weight)
                           and torch.equal(src[1], l2.weight) and torch.equal(src[2], l2.bias)
                           and torch.equal(src[3], l6.weight)
                           and not l0.bias.any() and not l6.bias.any())
        elif n_torch != n_back:
            params_same = False
        build, rate, window, norm, classes = CASES[name]
        x = torch.from_numpy(sound(window, rate, 3))
        with torch.no_grad():
            ref = net(back.norm(x.reshape(1, 1, -1)))
            got = back(x)
        check("%s: save_onm -> to_torch: same parameters, same logits (max |diff| %.1e)"
              % (name, float((ref - got).abs().max())), params_same and torch.equal(ref, got))
        again = ot.save_onm(back, tmp("rt2_%s.onm" % name))
        check("%s: saved again, the same bytes" % name, again == data)
        r = onm.read(path)
        ops_same = [(o["type"], o["a"], o["b"], o["c"], o["d"], o["e"], o["f"]) for o in r["ops"]]
        want = [(o["type"], o["a"], o["b"], o["c"], o["d"], o["e"], o["f"])
                for o in ot.read_onm(path)["ops"]]
        code = {None: 0, "gain": 1, "rms": 2}[norm[0] if norm else None]
        version = struct.unpack_from("<I", data, 8)[0]
        has_logmel = isinstance(list(net.modules())[1], ot.LogMel)
        check("%s: tests/onm.py reads the same ops, params, names, norm; version %d"
              % (name, version),
              ops_same == want and r["class_names"] == classes and r["norm"] == code
              and r["sample_rate"] == rate and r["window"] == window
              and version == (2 if has_logmel else 1)
              and all(np.array_equal(a, b) for a, b in
                      zip(r["params"], ot.read_onm(path)["params"])))
        rc, nb, out = n_blocks_inspect(path)
        check("%s: oneiro inspect loads it, %d Layer lines as block_ops says"
              % (name, nb), rc == 0 and nb == len(ot.block_ops(back.net)), out)


# ---------------------------------------------------------------- 3: the C core vs PyTorch
MODE_LAYERS, MODE_FILTER, MODE_CLASS = 0, 1, 2


class Golden:
    """The .bin format tests/test_torch.c reads (described in make_golden.py)."""

    def __init__(self):
        self.recs = []

    def add(self, name, a):
        self.recs.append((name, np.ascontiguousarray(np.asarray(a, dtype="<f4"))))

    def write(self, path):
        out = [b"ONRGOLD1", struct.pack("<I", len(self.recs))]
        for name, a in self.recs:
            nb = name.encode()
            out.append(struct.pack("<I", len(nb)) + nb + struct.pack("<I", a.ndim)
                       + b"".join(struct.pack("<I", d) for d in a.shape) + a.tobytes())
        open(path, "wb").write(b"".join(out))


def spec(mode, pre=0, block=0, filt=0, cls=0, w=None):
    ws = [0.0] * 16
    for k, v in (w or {}).items():
        ws[k] = v
    return [mode, pre, block, filt, cls] + ws


def objective(model, x, sp):
    mode, pre, block, filt, cls = (int(v) for v in sp[:5])
    if mode == MODE_CLASS:
        return model(x)[0, cls]
    outs = model.layer_outputs(x, pre=bool(pre))
    if mode == MODE_FILTER:
        return outs[block][0, filt].mean()
    return sum(w * outs[b].pow(2).mean() for b, w in enumerate(sp[5:]) if w)


def make_golden_case(outdir, name, cname, seed):
    """Exports case `name` as outdir/cname.onm and writes cname.bin with the
    PyTorch module's own results (not tests/onm.py's forward)."""
    build, rate, window, norm, classes = CASES[name]
    path = os.path.join(outdir, cname + ".onm")
    export(name, path)
    model = ot.to_torch(path)
    n = window
    x = torch.from_numpy(sound(n, rate, seed, 330.0, 2500.0))
    g = Golden()
    g.add("x", x.numpy())
    g.add("scale", float(model.norm.scale(x.reshape(1, -1))[0]))
    with torch.no_grad():
        acts = model.op_outputs(x)
    for i, a in enumerate(acts):
        g.add("act/%02d" % i, a[0].numpy())
    g.add("probs", F.softmax(acts[-1][0], dim=0).numpy())
    nb = len(ot.block_ops(model.net))
    with torch.no_grad():
        post = model.layer_outputs(x)
        pre = model.layer_outputs(x, pre=True)
    f_post = int(post[1][0].mean(dim=-1).abs().argmax())
    f_pre = int(pre[0][0].mean(dim=-1).abs().argmax())
    cls = int(acts[-1][0].abs().argmax())
    objs = [("layers_post", spec(MODE_LAYERS, 0, w={0: 0.5, 1: 1.5})),
            ("layers_pre", spec(MODE_LAYERS, 1, w={0: 1.0, nb - 2: 0.25})),
            ("layers_deep", spec(MODE_LAYERS, 0, w={nb - 2: 1.0, nb - 1: 0.5})),
            ("filter", spec(MODE_FILTER, 0, block=1, filt=f_post)),
            ("filter_pre", spec(MODE_FILTER, 1, block=0, filt=f_pre)),
            ("class", spec(MODE_CLASS, cls=cls))]
    for oname, sp in objs:
        xg = x.clone().requires_grad_(True)
        J = objective(model, xg, sp)
        (dx,) = torch.autograd.grad(J, xg)
        g.add("obj/%s/spec" % oname, sp)
        g.add("obj/%s/J" % oname, float(J))
        g.add("obj/%s/dx" % oname, dx.numpy())
    label = (cls + 1) % len(classes)
    params = list(model.net.parameters())
    loss = F.cross_entropy(model(x), torch.tensor([label]))
    grads = torch.autograd.grad(loss, params)
    g.add("train/label", label)
    g.add("train/loss", float(loss))
    g.add("train/grad", torch.cat([t.flatten() for t in grads]).numpy())
    g.write(os.path.join(outdir, cname + ".bin"))


def test_core_vs_torch():
    if not os.access(TEST_TORCH, os.X_OK):
        check("%s is built (make %s)" % (TEST_TORCH, os.path.relpath(TEST_TORCH, ROOT)), False)
        return
    sets = {"set1": {"small": "small", "exotic": "exotic", "logmel": "logmel"},
            "set2": {"small": "nobias", "exotic": "exotic", "logmel": "powerbins"}}
    for sname, cases in sets.items():
        d = tmp(sname)
        os.makedirs(d)
        for cname, name in cases.items():
            make_golden_case(d, name, cname, seed=len(name) + (7 if sname == "set2" else 0))
        rc, out, err = run([TEST_TORCH, d])
        worst = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("worst")]
        for ln in worst:
            report.append("%s (%s): %s" % (sname, "+".join(cases.values()), ln))
        check("build/test_torch on golden files made from save_onm'd PyTorch modules (%s): "
              "forward, probabilities, 6 dream objectives' J and dJ/dx, training gradient"
              % ", ".join(cases.values()), rc == 0 and len(worst) == 2,
              "\n".join(ln for ln in (out + err).splitlines() if "FAIL" in ln or "fail" in ln)
              or out[-2000:])
        for ln in worst:
            print("     " + ln)


def test_core_vs_torch_can_fail():
    """The same comparison refuses a file whose front end differs by 1 Hz
    (fmin 31 instead of 30) from the module that made the golden records."""
    if not os.access(TEST_TORCH, os.X_OK) or not os.path.isdir(tmp("set1")):
        return
    d = tmp("set1_bad")
    os.makedirs(d)
    for f in os.listdir(tmp("set1")):
        with open(os.path.join(tmp("set1"), f), "rb") as src:
            open(os.path.join(d, f), "wb").write(src.read())
    m = ot.to_torch(os.path.join(d, "logmel.onm"))
    lm = m.net[0]
    m.net[0] = ot.LogMel(lm.sample_rate, lm.n_fft, lm.hop, lm.n_mels, lm.fmin + 1, lm.fmax,
                         lm.floor)
    ot.save_onm(m, os.path.join(d, "logmel.onm"))
    rc, out, err = run([TEST_TORCH, d])
    check("build/test_torch fails when the file's mel band starts 1 Hz off the module's",
          rc != 0 and "FAIL" in out + err, out[-1500:])


def score_json(model_path, wav):
    rc, out, err = run([ONEIRO, "score", "--json", "--model", model_path, "--window-overlap", "0",
                        "--floor-db", "-200", "--threads", "1", wav])
    if rc:
        raise RuntimeError(err)
    import json
    r = json.loads(out)[0]
    return r["windows"], {c["name"]: c["probability"] for c in r["classes"]}


def test_score():
    worst_all = 0.0
    for name in ("exotic", "logmel", "powerbins", "nobias"):
        build, rate, window, norm, classes = CASES[name]
        path = tmp("score_%s.onm" % name)
        export(name, path)
        model = ot.to_torch(path)
        worst, ok = 0.0, True
        for seed in (1, 2, 3):
            # a louder and a quieter window: the normalisation matters
            x = sound(window, rate, 40 + seed, 180.0 * seed, 900.0 * seed) * (0.3 * seed)
            wav = tmp("score_%s_%d.wav" % (name, seed))
            write_wav(wav, rate, x)
            try:
                nwin, probs = score_json(path, wav)
            except RuntimeError as e:
                check("oneiro score %s" % name, False, e)
                return
            with torch.no_grad():
                p = model.probs(torch.from_numpy(x))[0].numpy()
            d = max(abs(probs[c] - float(p[k])) for k, c in enumerate(classes))
            worst = max(worst, d)
            ok = ok and nwin == 1
        worst_all = max(worst_all, worst)
        check("%s: oneiro score --json's probabilities = the module's softmax (3 windows, "
              "max |diff| %.1e)" % (name, worst), ok and worst < 2e-5)
    report.append("oneiro score --json vs PyTorch softmax: max |diff| %.1e" % worst_all)


# ---------------------------------------------------------------- 4: train, export, dream
def synthetic_batch(g, n, rate, length):
    """class 0: low sines; class 1: noise bursts; class 2: high sines."""
    y = torch.randint(0, 3, (n,), generator=g)
    t = torch.arange(length) / rate
    x = torch.zeros(n, length)
    for i in range(n):
        amp = 0.05 + 0.4 * torch.rand((), generator=g)
        if y[i] == 1:
            x[i] = amp * (2 * torch.rand(length, generator=g) - 1)
        else:
            f = (100 + 300 * torch.rand((), generator=g)) * (1 if y[i] == 0 else 8)
            x[i] = amp * torch.sin(2 * math.pi * f * t + 6.28 * torch.rand((), generator=g))
    return x, y


def test_train_export_render():
    rate, window = 8000, 4096
    torch.manual_seed(5)
    net = nn.Sequential(nn.Conv1d(1, 8, 32, stride=8), nn.LeakyReLU(0.01),
                        nn.Conv1d(8, 12, 3, padding=1), nn.ReLU(), nn.MaxPool1d(4, 2),
                        nn.Conv1d(12, 16, 3, padding=1), nn.LeakyReLU(0.01), nn.MaxPool1d(2),
                        ot.GlobalMean(), nn.Linear(16, 3))
    model = ot.OnmModel(net, ["low", "noise", "high"], rate, window, norm=("rms", 0.1),
                        metadata={"trained": "tests/test_bridge.py, 40 steps"})
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(6)
    losses = []
    for step in range(40):
        x, y = synthetic_batch(g, 16, rate, 2048)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    check("training in PyTorch lowers the loss (%.3f -> %.3f)" % (first, last), last < first)
    path = tmp("trained.onm")
    ot.save_onm(model, path)
    rc, _, out = n_blocks_inspect(path)
    check("the trained model loads in oneiro inspect", rc == 0, out)
    n = int(1.5 * rate)
    t = np.arange(n) / rate
    x = (0.25 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 97 * t)
         + 0.02 * np.random.default_rng(9).standard_normal(n)).astype(np.float32)
    inp = tmp("dream_in.wav")
    write_wav(inp, rate, x)
    bound_db = -12.0
    outs = []
    for k in range(2):
        o = tmp("dream_out%d.wav" % k)
        rc, so, se = run([ONEIRO, "render", "--model", path, "--class", "noise", "--depth", "1",
                          "--iterations", "6", "--bound-db", str(bound_db), "--window-bound",
                          "--quiet", inp, o])
        if not check("oneiro render with the PyTorch-trained model (run %d)" % (k + 1), rc == 0,
                     se):
            return
        outs.append(o)
    r, y = read_wav_f32(outs[0])
    d = y - x.astype(np.float64)
    # the bound is relative to each window's RMS: the loudest window bounds all
    xs = x.astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(xs * xs)])
    win_rms = np.sqrt((c[window:] - c[:-window]) / window).max() if n > window else \
        np.sqrt(np.mean(xs * xs))
    bound = 10 ** (bound_db / 20) * win_rms
    check("the dream is finite, same length and rate", r == rate and len(y) == n and
          bool(np.all(np.isfinite(y))))
    check("the dream is bounded: max |out - in| %.4f <= %.4f (bound %g dB of the loudest "
          "window) and it changed the sound (rms %.2e)"
          % (np.abs(d).max(), bound, bound_db, np.sqrt(np.mean(d * d))),
          np.abs(d).max() <= bound * 1.001 + 1e-6 and np.abs(d).max() > 1e-5)
    check("the dream is deterministic: the same bits twice",
          open(outs[0], "rb").read() == open(outs[1], "rb").read())
    report.append("trained-in-PyTorch render: max |out-in| %.4f, bound %.4f"
                  % (np.abs(d).max(), bound))


# ---------------------------------------------------------------- 5: refusals
def test_refusals():
    G = ot.GlobalMean
    cases = [
        ("dilation", [nn.Conv1d(1, 4, 3, dilation=2), G(), nn.Linear(4, 2)], 0, "dilation"),
        ("groups", [nn.Conv1d(1, 4, 3), nn.Conv1d(4, 4, 3, groups=2), G(), nn.Linear(4, 2)], 1,
         "groups"),
        ("padding_mode", [nn.Conv1d(1, 4, 3, padding=1, padding_mode="reflect"), G(),
                          nn.Linear(4, 2)], 0, "padding_mode"),
        ("padding same", [nn.Conv1d(1, 4, 4, padding="same"), G(), nn.Linear(4, 2)], 0,
         "symmetric"),
        ("stride > kernel", [nn.Conv1d(1, 4, 3, stride=4), G(), nn.Linear(4, 2)], 0, "stride"),
        ("BatchNorm", [nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), G(), nn.Linear(4, 2)], 1, "fold"),
        ("Dropout", [nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Dropout(0.1), G(), nn.Linear(4, 2)], 2,
         "eval"),
        ("MaxPool padding", [nn.Conv1d(1, 4, 3), nn.MaxPool1d(3, 2, padding=1), G(),
                             nn.Linear(4, 2)], 1, "padding"),
        ("MaxPool ceil_mode", [nn.Conv1d(1, 4, 3), nn.MaxPool1d(3, 2, ceil_mode=True), G(),
                               nn.Linear(4, 2)], 1, "ceil_mode"),
        ("Linear before the mean", [nn.Conv1d(1, 4, 3), nn.Linear(4, 4), G(), nn.Linear(4, 2)],
         1, "before the global mean"),
        ("log-mel not first", [nn.Conv1d(1, 4, 3), ot.LogMel(16000, 64, 32), G(),
                               nn.Linear(4, 2)], 1, "first layer"),
        ("a final softmax", [nn.Conv1d(1, 4, 3), G(), nn.Linear(4, 2), nn.Softmax(dim=-1)], 3,
         "softmax"),
        ("an activation right after the mean", [nn.Conv1d(1, 4, 3), G(), nn.ReLU(),
                                                nn.Linear(4, 2)], 2, "follow"),
        ("an unknown module", [nn.Conv1d(1, 4, 3), nn.Tanh(), G(), nn.Linear(4, 2)], 1,
         "not a layer"),
        ("leaky slope 1.5", [nn.Conv1d(1, 4, 3), nn.LeakyReLU(1.5), G(), nn.Linear(4, 2)], 1,
         "slope"),
    ]
    for what, layers, idx, word in cases:
        net = nn.Sequential(*layers)
        path = tmp("refused.onm")
        try:
            ot.save_onm(net, path, classes=["a", "b"], sample_rate=16000, window=1000)
            check("refused: %s" % what, False, "written")
        except ot.OnmError as e:
            msg = str(e)
            want = "layer %d (%s" % (idx, type(layers[idx]).__name__)
            check("refused: %s -- %s" % (what, msg),
                  want in msg and word.lower() in msg.lower() and not os.path.exists(path),
                  "expected %r and %r" % (want, word))
    # whole-model rules: class count, window, metadata
    net = nn.Sequential(nn.Conv1d(1, 4, 64, stride=8), G(), nn.Linear(4, 3))
    for what, kw, word in [("class count", dict(classes=["a", "b"]), "3 logits for 2 classes"),
                           ("window below the receptive field", dict(window=10),
                            "receptive field needs 64"),
                           ("a class name with a newline", dict(classes=["a", "b\n", "c"]),
                            "control character")]:
        args = dict(classes=["a", "b", "c"], sample_rate=16000, window=1000)
        args.update(kw)
        try:
            ot.save_onm(net, tmp("refused.onm"), **args)
            check("refused: %s" % what, False)
        except ot.OnmError as e:
            check("refused: %s -- %s" % (what, e), word in str(e))


def main():
    print("test_bridge: torch %s, %s, %s" % (torch.__version__, ONEIRO, TEST_TORCH))
    for t in (test_file_round_trips, test_torch_round_trips, test_refusals, test_core_vs_torch,
              test_core_vs_torch_can_fail, test_score, test_train_export_render):
        try:
            t()
        except Exception:  # a crash is a failure with its reason, the rest still runs
            import traceback
            check("%s ran without an exception" % t.__name__, False,
                  traceback.format_exc()[-1500:])
    for line in report:
        print("  figures: " + line)
    print("test_bridge: %d passed, %d failed" % (passed, failed))
    import shutil
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
