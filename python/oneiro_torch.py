# SPDX-License-Identifier: GPL-2.0-or-later
"""oneiro_torch -- the supported bridge between PyTorch and oneiro's model files.

    import oneiro_torch as ot
    model = ot.to_torch("models/default.onm")      # an ot.OnmModel (a torch.nn.Module)
    logits = model(audio)                           # audio: raw samples, see below
    ot.save_onm(model, "copy.onm")                  # byte-identical to the original

    net = torch.nn.Sequential(
        torch.nn.Conv1d(1, 16, 64, stride=16), torch.nn.LeakyReLU(0.01),
        torch.nn.Conv1d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool1d(4, 2),
        ot.GlobalMean(), torch.nn.Linear(32, 3))
    ... train it ...
    ot.save_onm(net, "mine.onm", classes=["drums", "speech", "keys"], sample_rate=16000,
                window=16000, norm=("rms", 0.1), metadata={"dataset": "my sounds"})

The file format is docs/model-format.md (versions 1 and 2). Plain PyTorch and
numpy, nothing else. The reader checks everything the C loader (src/model.c)
checks, so a file this module reads is one oneiro loads, and save_onm checks
the same rules before it writes, so a file it writes is one oneiro loads.

What a model's forward takes: RAW AUDIO. OnmModel.forward(x) takes mono
samples at the model's sample_rate, in [-1, 1] as read from a sound file,
shaped (N,), (B, N) or (B, 1, N), any N at least the receptive field (the
file's nominal window is `model.window`), and returns the logits (B, classes).
The model's input normalisation is part of the forward, as in the C core:
none, gain (x * value) or window RMS (x * value / max(rms(x), 1e-4), the RMS
taken over each item's whole window, i.e. per row of the batch). As in the
core's dream, the RMS scale is treated as a constant by autograd (it is
detached), so the gradient to the input is the core's dream gradient.
`model.net` is the network after the normalisation (an nn.Sequential of the
supported layers), one module per layer record of the file.

"Layer N" numbering (docs/model-format.md): blocks start at each conv, at
the global mean (joined with the dense layer after it) and at each other
dense layer; Layer N is block N's output (after its activation and pool), its
pre-activation the output of its conv / dense. OnmModel.layer_outputs(x)
returns them in that order; block_ops(net) gives the layer indices.
"""
import math
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["to_torch", "save_onm", "read_onm", "OnmModel", "GlobalMean", "LogMel",
           "InputNorm", "block_ops", "receptive_field", "OnmError"]

MAGIC = b"ONRMODEL"
VERSION, VERSION_LOGMEL = 1, 2
CONV, RELU, LRELU, MAXPOOL, GMEAN, DENSE, LOGMEL = 1, 2, 3, 4, 5, 6, 7
OP_NAMES = {CONV: "conv1d", RELU: "relu", LRELU: "leaky relu", MAXPOOL: "max-pool",
            GMEAN: "global mean", DENSE: "dense", LOGMEL: "log-mel"}
NORMS = {"none": 0, "gain": 1, "rms": 2}
KIND_BINARY, KIND_CLASSES = 0, 1
HEADER, OP_BYTES, NAME_BYTES = 52, 28, 64
MAX_OPS, MAX_BLOCKS, MAX_CHANNELS, MAX_KERNEL = 64, 16, 4096, 4096
MAX_CLASSES, MAX_NAME, MAX_META = 256, 63, 65536
MAX_PARAMS, MAX_RATE, MAX_WINDOW = 64 * 1024 * 1024, 384000, 1 << 24
MAX_FFT, MAX_MELS = 8192, 512


class OnmError(ValueError):
    """A file oneiro would refuse, or a module the format cannot express."""


def _f32(v):
    """v rounded to float32, as a Python float (what the file stores)."""
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


# ---------------------------------------------------------------- layers
class GlobalMean(nn.Module):
    """The mean over time: (B, C, L) -> (B, C). Op type 5."""

    def forward(self, x):
        return x.mean(dim=-1)


def mel_filterbank(n_mels, n_fft, sample_rate, fmin, fmax):
    """(n_mels, n_fft/2 + 1) HTK-mel triangles without area normalisation,
    in float64 (docs/model-format.md; torchaudio's melscale_fbanks with
    norm=None, mel_scale="htk")."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    pts = 700.0 * (10.0 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * sample_rate / n_fft
    lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    rise = (freqs[None, :] - lo) / (mid - lo)
    fall = (hi - freqs[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rise, fall))


class LogMel(nn.Module):
    """The log-mel front end (op type 7), first layer only: waveform (B, 1, L)
    or (B, L) -> (B, n_mels or n_fft/2+1, frames), frames = (L - n_fft) // hop + 1.
    Periodic Hann window, no padding (torch.stft center=False), power |X|^2,
    HTK mel triangles (none when n_mels = 0: every power bin), ln(E + floor).
    fmin and fmax are whole Hz; fmax = 0 means half the sample rate."""

    def __init__(self, sample_rate, n_fft, hop, n_mels=0, fmin=0, fmax=0, floor=1e-6):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop, self.n_mels = (int(sample_rate), int(n_fft),
                                                                int(hop), int(n_mels))
        if float(fmin) != int(fmin) or float(fmax) != int(fmax) or fmin < 0 or fmax < 0:
            raise OnmError("LogMel: fmin and fmax are stored as whole Hz (got %r, %r)"
                           % (fmin, fmax))
        self.fmin, self.fmax, self.floor = int(fmin), int(fmax), _f32(floor)
        why = _check_logmel(self.n_fft, self.hop, self.n_mels, self.fmin, self.fmax, self.floor,
                            self.sample_rate)
        if why:
            raise OnmError("LogMel: " + why)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True,
                                                         dtype=torch.float64).float())
        if self.n_mels:
            fb = mel_filterbank(self.n_mels, self.n_fft, self.sample_rate, self.fmin,
                                self.fmax or self.sample_rate / 2)
            self.register_buffer("fb", torch.tensor(fb, dtype=torch.float32))
        else:
            self.fb = None

    @property
    def channels(self):
        return self.n_mels or self.n_fft // 2 + 1

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        win = self.window.to(x.dtype)
        X = torch.stft(x, self.n_fft, hop_length=self.hop, win_length=self.n_fft, window=win,
                       center=False, return_complex=True)
        P = X.real ** 2 + X.imag ** 2                        # (B, bins, T)
        if self.fb is not None:
            P = torch.matmul(self.fb.to(x.dtype), P)
        return torch.log(P + self.floor)

    def extra_repr(self):
        return ("sample_rate=%d, n_fft=%d, hop=%d, n_mels=%d, fmin=%d, fmax=%d, floor=%g"
                % (self.sample_rate, self.n_fft, self.hop, self.n_mels, self.fmin, self.fmax,
                   self.floor))


class InputNorm(nn.Module):
    """The input normalisation: mode "none", "gain" (x * value) or "rms"
    (x * value / max(rms(x), 1e-4), the RMS of each row's whole window,
    computed in double as the core does). The scale is detached: the core
    holds it fixed while dreaming, and no parameter depends on it."""

    def __init__(self, mode="none", value=0.0):
        super().__init__()
        if mode not in NORMS:
            raise OnmError("InputNorm: mode %r (none, gain or rms)" % (mode,))
        self.mode, self.value = mode, _f32(value)

    def scale(self, x):
        """(B,) the factor for each row of x (B, N)."""
        x = x.detach().reshape(x.shape[0], -1)
        if self.mode == "gain":
            return torch.full((x.shape[0],), self.value, dtype=x.dtype, device=x.device)
        if self.mode == "rms":
            rms = x.double().pow(2).mean(dim=1).sqrt().clamp_min(1e-4)
            return (self.value / rms).float().to(x.dtype)
        return torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

    def forward(self, x):
        if self.mode == "none":
            return x
        s = self.scale(x)
        return x * s.reshape((-1,) + (1,) * (x.dim() - 1))

    def extra_repr(self):
        return "mode=%s, value=%g" % (self.mode, self.value)


def _as_norm(norm):
    """norm argument -> (code, value). Accepts None, an InputNorm, a mode name
    ("none"), or a (mode, value) pair; mode a name or 0/1/2."""
    if norm is None:
        return 0, 0.0
    if isinstance(norm, InputNorm):
        return NORMS[norm.mode], norm.value
    if isinstance(norm, str):
        norm = (norm, 0.0)
    mode, value = norm
    code = NORMS.get(mode, mode)
    if code not in (0, 1, 2):
        raise OnmError("norm %r: the mode is none, gain or rms (or 0, 1, 2)" % (mode,))
    return code, _f32(value)


# ---------------------------------------------------------------- the model
class OnmModel(nn.Module):
    """A network in oneiro's terms: an input normalisation, then `net`
    (nn.Sequential of Conv1d, ReLU, LeakyReLU, MaxPool1d, GlobalMean, Linear,
    and an optional LogMel first), plus what the file says about it:
    classes, kind (0 binary interestingness, 1 classes), sample_rate, window
    (nominal samples per window) and metadata (text). forward takes raw audio
    (see the module's docstring) and returns logits."""

    def __init__(self, net, classes, sample_rate, window, norm=None, metadata="", kind=None):
        super().__init__()
        self.net = net if isinstance(net, nn.Sequential) else nn.Sequential(*net)
        code, value = _as_norm(norm)
        self.norm = InputNorm({0: "none", 1: "gain", 2: "rms"}[code], value)
        self.classes = list(classes)
        self.sample_rate = int(sample_rate)
        self.window = int(window)
        self.metadata = _meta_text(metadata)
        self.kind = (KIND_BINARY if len(self.classes) == 2 else KIND_CLASSES) if kind is None \
            else int(kind)

    @staticmethod
    def _batch(x):
        if x.dim() == 1:
            return x.reshape(1, 1, -1)
        if x.dim() == 2:
            return x.unsqueeze(1)
        return x

    def forward(self, x):
        return self.net(self.norm(self._batch(x)))

    def probs(self, x):
        return F.softmax(self.forward(x), dim=-1)

    def layer_outputs(self, x, pre=False):
        """Every block's output ("Layer 1" first), or with pre=True its
        conv / dense output (the pre-activation), as the core numbers them."""
        blocks = block_ops(self.net)
        want = {(b[1] if pre else b[2]): k for k, b in enumerate(blocks)}
        out = [None] * len(blocks)
        h = self.norm(self._batch(x))
        for i, layer in enumerate(self.net):
            h = layer(h)
            if i in want:
                out[want[i]] = h
            if i >= max(want):
                break
        return out

    def op_outputs(self, x):
        """Every layer record's output, in file order."""
        h = self.norm(self._batch(x))
        out = []
        for layer in self.net:
            h = layer(h)
            out.append(h)
        return out

    def extra_repr(self):
        return "classes=%r, kind=%d, sample_rate=%d, window=%d" % (
            self.classes, self.kind, self.sample_rate, self.window)


def _meta_text(metadata):
    if metadata is None:
        return ""
    if isinstance(metadata, dict):
        return "".join("%s: %s\n" % (k, v) for k, v in metadata.items())
    return str(metadata)


def block_ops(net):
    """[(first, pre, last)] layer indices of each block of net (an iterable
    of layers, or of op records / type codes), Layer 1 first."""
    types = [_type_of(m) for m in net]
    out = []
    for i, t in enumerate(types):
        if t == LOGMEL:
            continue
        if t in (CONV, GMEAN) or (t == DENSE and (i == 0 or types[i - 1] != GMEAN)):
            out.append([i, i, i])
        if not out:
            continue
        if t in (CONV, DENSE):
            out[-1][1] = i
        out[-1][2] = i
    return [tuple(b) for b in out]


def _type_of(m):
    if isinstance(m, int):
        return m
    if isinstance(m, dict):
        return m["type"]
    for cls, t in ((nn.Conv1d, CONV), (nn.ReLU, RELU), (nn.LeakyReLU, LRELU),
                   (nn.MaxPool1d, MAXPOOL), (GlobalMean, GMEAN), (nn.Linear, DENSE),
                   (LogMel, LOGMEL)):
        if isinstance(m, cls):
            return t
    return None


def receptive_field(ops):
    """Shortest input the ops (records) accept, in samples, as the core
    computes it (walked back from one step before the global mean)."""
    need = 1
    for o in reversed(ops):
        t = o["type"]
        if t == GMEAN:
            need = 1
        elif t == CONV:
            span = (need - 1) * o["d"] + o["c"]
            need = span - 2 * o["e"] if span > 2 * o["e"] else 1
        elif t in (MAXPOOL, LOGMEL):
            need = (need - 1) * o["b"] + o["a"]
    return need


# ---------------------------------------------------------------- checks
def _check_logmel(n_fft, hop, n_mels, fmin, fmax, floor, rate):
    if n_fft < 16 or n_fft > MAX_FFT or n_fft % 2:
        return "FFT size %d (an even number, 16 to %d)" % (n_fft, MAX_FFT)
    if hop < 1 or hop > n_fft:
        return "hop %d (1 to the FFT size, %d)" % (hop, n_fft)
    if n_mels < 0 or n_mels > MAX_MELS or n_mels > n_fft // 2 + 1:
        return "%d mel bands (0 to %d, and at most the %d bins)" % (n_mels, MAX_MELS,
                                                                   n_fft // 2 + 1)
    top = fmax if fmax else rate // 2
    if n_mels and (top > rate // 2 or fmin >= top):
        return "band %d..%d Hz (needs fmin < fmax <= %d Hz, half the rate)" % (fmin, top,
                                                                              rate // 2)
    if not n_mels and (fmin or fmax):
        return "a band limit without mel bands"
    f = _f32(floor)
    if not (_f32(1e-12) <= f <= 1e3):
        return "floor %g (1e-12 to 1000)" % floor
    return None


def _check_model(m):
    """Every rule of docs/model-format.md on a model dict (as read_onm gives);
    raises OnmError saying which one is broken. Returns the parameter count."""
    sr, ops = m["sample_rate"], m["ops"]
    if not 1000 <= sr <= MAX_RATE:
        raise OnmError("sample rate %d Hz (1000 to %d)" % (sr, MAX_RATE))
    names = m["classes"]
    if not 2 <= len(names) <= MAX_CLASSES:
        raise OnmError("%d classes (2 to %d)" % (len(names), MAX_CLASSES))
    if m["kind"] not in (KIND_BINARY, KIND_CLASSES):
        raise OnmError("unknown model kind %d (0 binary, 1 classes)" % m["kind"])
    if m["kind"] == KIND_BINARY and len(names) != 2:
        raise OnmError("a binary model with %d classes" % len(names))
    if m["norm"] not in (0, 1, 2):
        raise OnmError("unknown input normalisation %d" % m["norm"])
    nv = m["norm_value"]
    if not math.isfinite(nv) or (m["norm"] and not 0.0 < nv < 1e6):
        raise OnmError("input normalisation value %g" % nv)
    for i, n in enumerate(names):
        b = n.encode("utf-8")
        if not 1 <= len(b) <= MAX_NAME:
            raise OnmError("class %d (%r): name of %d bytes (1 to %d)" % (i, n, len(b), MAX_NAME))
        if any(c < 0x20 or c == 0x7F for c in b):
            raise OnmError("class %d (%r): control character in its name" % (i, n))
    mb = m["metadata"].encode("utf-8")
    if len(mb) > MAX_META or b"\0" in mb:
        raise OnmError("metadata of %d bytes (at most %d, no NUL)" % (len(mb), MAX_META))
    if not 1 <= len(ops) <= MAX_OPS:
        raise OnmError("%d layers (1 to %d)" % (len(ops), MAX_OPS))
    first = 1 if ops[0]["type"] == LOGMEL else 0
    if first and len(ops) < 2:
        raise OnmError("a log-mel front end and nothing after it")
    if ops[first]["type"] != CONV:
        raise OnmError("layer %d: the first layer must be a conv (after an optional log-mel "
                       "front end), not %s" % (first, OP_NAMES.get(ops[first]["type"], "?")))
    ch, vector, nparams = 1, False, 0
    for i, o in enumerate(ops):
        t = o["type"]
        if t == CONV:
            if vector:
                raise OnmError("layer %d: conv after the global mean" % i)
            if o["a"] != ch:
                raise OnmError("layer %d: conv expects %d channels, gets %d" % (i, o["a"], ch))
            if not 1 <= o["b"] <= MAX_CHANNELS:
                raise OnmError("layer %d: %d output channels (1 to %d)" % (i, o["b"], MAX_CHANNELS))
            if not 1 <= o["c"] <= MAX_KERNEL:
                raise OnmError("layer %d: kernel %d (1 to %d)" % (i, o["c"], MAX_KERNEL))
            if not 1 <= o["d"] <= o["c"]:
                raise OnmError("layer %d: stride %d (1 to the kernel, %d)" % (i, o["d"], o["c"]))
            if o["e"] >= o["c"]:
                raise OnmError("layer %d: padding %d (must be less than the kernel, %d)"
                               % (i, o["e"], o["c"]))
            nparams += o["b"] * o["a"] * o["c"] + o["b"]
            ch = o["b"]
        elif t == DENSE:
            if not vector:
                raise OnmError("layer %d: dense before the global mean over time" % i)
            if o["a"] != ch:
                raise OnmError("layer %d: dense expects %d inputs, gets %d" % (i, o["a"], ch))
            if not 1 <= o["b"] <= MAX_CHANNELS:
                raise OnmError("layer %d: %d outputs (1 to %d)" % (i, o["b"], MAX_CHANNELS))
            nparams += o["b"] * o["a"] + o["b"]
            ch = o["b"]
        elif t == LRELU:
            if not 0.0 < o["f"] < 1.0:
                raise OnmError("layer %d: leaky slope %g (must be in (0, 1))" % (i, o["f"]))
        elif t == MAXPOOL:
            if vector:
                raise OnmError("layer %d: max-pool after the global mean" % i)
            if not 1 <= o["b"] <= o["a"] <= MAX_KERNEL:
                raise OnmError("layer %d: max-pool kernel %d stride %d (1 <= stride <= kernel "
                               "<= %d)" % (i, o["a"], o["b"], MAX_KERNEL))
        elif t == GMEAN:
            if vector:
                raise OnmError("layer %d: a second global mean" % i)
            vector = True
        elif t == LOGMEL:
            if i != 0:
                raise OnmError("layer %d: a log-mel front end must be the first layer" % i)
            why = _check_logmel(o["a"], o["b"], o["c"], o["d"], o["e"], o["f"], sr)
            if why:
                raise OnmError("layer 0: log-mel: " + why)
            ch = o["c"] or o["a"] // 2 + 1
        elif t != RELU:
            raise OnmError("layer %d: unknown layer type %d" % (i, t))
        if t in (RELU, LRELU, MAXPOOL) and (i == 0 or ops[i - 1]["type"] in (GMEAN, LOGMEL)):
            raise OnmError("layer %d: %s must follow a conv or dense" % (i, OP_NAMES[t]))
    blocks = block_ops(ops)
    if len(blocks) > MAX_BLOCKS:
        raise OnmError("more than %d layers with weights" % MAX_BLOCKS)
    for k, (a, _, z) in enumerate(blocks):
        w = sum(ops[i]["type"] in (CONV, DENSE) for i in range(a, z + 1))
        if w != 1:
            raise OnmError("layer block %d (from layer %d) has %d conv/dense layers, not 1"
                           % (k + 1, a, w))
    if not vector:
        raise OnmError("no global mean over time")
    if ops[-1]["type"] != DENSE:
        raise OnmError("the last layer must be dense (the logits)")
    if ops[-1]["b"] != len(names):
        raise OnmError("%d logits for %d classes" % (ops[-1]["b"], len(names)))
    if nparams > MAX_PARAMS:
        raise OnmError("more than %d parameters" % MAX_PARAMS)
    need = receptive_field(ops)
    if need > MAX_WINDOW:
        raise OnmError("receptive field longer than %d samples" % MAX_WINDOW)
    if not need <= m["window"] <= MAX_WINDOW:
        raise OnmError("window of %d samples (the receptive field needs %d, at most %d)"
                       % (m["window"], need, MAX_WINDOW))
    return nparams


def _param_shapes(ops):
    out = []
    for o in ops:
        if o["type"] == CONV:
            out += [(o["b"], o["a"], o["c"]), (o["b"],)]
        elif o["type"] == DENSE:
            out += [(o["b"], o["a"]), (o["b"],)]
    return out


# ---------------------------------------------------------------- reading
def read_onm(path):
    """The file as a dict: version, sample_rate, window, kind, norm,
    norm_value, classes, metadata, ops (dicts type a b c d e f) and params
    (float32 numpy arrays in blob order). Raises OnmError naming the file and
    what is wrong for anything oneiro would refuse."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return _parse(data)
    except OnmError as e:
        raise OnmError("%s: %s" % (path, e)) from None


def _parse(data):
    if len(data) < HEADER + 4:
        raise OnmError("too short to be a model (%d bytes)" % len(data))
    if data[:8] != MAGIC:
        raise OnmError("not an oneiro model (bad magic number)")
    version, size = struct.unpack_from("<II", data, 8)
    if version not in (VERSION, VERSION_LOGMEL):
        raise OnmError("format version %d (this reader knows %d and %d)"
                       % (version, VERSION, VERSION_LOGMEL))
    if size != len(data):
        raise OnmError("the header says %d bytes, the file has %d" % (size, len(data)))
    crc = struct.unpack_from("<I", data, size - 4)[0]
    if crc != zlib.crc32(data[:-4]) & 0xFFFFFFFF:
        raise OnmError("checksum mismatch (the file is damaged)")
    sr, window, kind, norm = struct.unpack_from("<4I", data, 16)
    (norm_value,) = struct.unpack_from("<f", data, 32)
    n_classes, n_ops, meta_len, n_params = struct.unpack_from("<4I", data, 36)
    if not 1 <= n_ops <= MAX_OPS:
        raise OnmError("%d layers (1 to %d)" % (n_ops, MAX_OPS))
    if not 2 <= n_classes <= MAX_CLASSES:
        raise OnmError("%d classes (2 to %d)" % (n_classes, MAX_CLASSES))
    if meta_len > MAX_META:
        raise OnmError("metadata of %d bytes (at most %d)" % (meta_len, MAX_META))
    if n_params > MAX_PARAMS:
        raise OnmError("%d parameters (at most %d)" % (n_params, MAX_PARAMS))
    off_names = HEADER + OP_BYTES * n_ops
    off_meta = off_names + NAME_BYTES * n_classes
    off_params = off_meta + meta_len + (-meta_len % 4)
    if off_params + 4 * n_params + 4 != size:
        raise OnmError("sections add up to %d bytes, the file has %d"
                       % (off_params + 4 * n_params + 4, size))
    ops = []
    for i in range(n_ops):
        t, a, b, c, d, e, f = struct.unpack_from("<6If", data, HEADER + OP_BYTES * i)
        ops.append(dict(type=t, a=a, b=b, c=c, d=d, e=e, f=f))
    names = []
    for i in range(n_classes):
        raw = data[off_names + NAME_BYTES * i:off_names + NAME_BYTES * (i + 1)]
        if b"\0" not in raw:
            raise OnmError("class %d: name not terminated" % i)
        try:
            names.append(raw.split(b"\0")[0].decode("utf-8"))
        except UnicodeDecodeError:
            raise OnmError("class %d: name is not UTF-8" % i) from None
    meta_raw = data[off_meta:off_meta + meta_len]
    if b"\0" in meta_raw:
        raise OnmError("metadata holds a NUL byte")
    try:
        meta = meta_raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OnmError("metadata is not UTF-8") from None
    if version == VERSION and ops[0]["type"] == LOGMEL:
        raise OnmError("a log-mel front end needs format version %d" % VERSION_LOGMEL)
    m = dict(version=version, sample_rate=sr, window=window, kind=kind, norm=norm,
             norm_value=norm_value, classes=names, metadata=meta, ops=ops)
    need = _check_model(m)
    if need != n_params:
        raise OnmError("%d parameters, the layers need %d" % (n_params, need))
    blob = np.frombuffer(data, dtype="<f4", count=n_params, offset=off_params)
    bad = np.flatnonzero(~np.isfinite(blob))
    if bad.size:
        raise OnmError("parameter %d is not a finite number" % bad[0])
    params, k = [], 0
    for shape in _param_shapes(ops):
        n = int(np.prod(shape))
        params.append(blob[k:k + n].reshape(shape).astype(np.float32))
        k += n
    m["params"] = params
    return m


def to_torch(path):
    """The PyTorch equivalent of a .onm file: an OnmModel (float32, eval
    mode) whose forward takes raw audio at model.sample_rate and returns the
    logits, with classes, kind, sample_rate, window, metadata and the
    normalisation kept. save_onm(to_torch(p), q) writes p's bytes again."""
    m = read_onm(path)
    layers, k = [], 0
    params = m["params"]
    for o in m["ops"]:
        t = o["type"]
        if t == CONV:
            layer = nn.Conv1d(o["a"], o["b"], o["c"], stride=o["d"], padding=o["e"])
        elif t == DENSE:
            layer = nn.Linear(o["a"], o["b"])
        elif t == RELU:
            layer = nn.ReLU()
        elif t == LRELU:
            layer = nn.LeakyReLU(o["f"])
        elif t == MAXPOOL:
            layer = nn.MaxPool1d(o["a"], o["b"])
        elif t == GMEAN:
            layer = GlobalMean()
        else:
            layer = LogMel(m["sample_rate"], o["a"], o["b"], o["c"], o["d"], o["e"], o["f"])
        if t in (CONV, DENSE):
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(params[k]))
                layer.bias.copy_(torch.from_numpy(params[k + 1]))
            k += 2
        layers.append(layer)
    model = OnmModel(nn.Sequential(*layers), m["classes"], m["sample_rate"], m["window"],
                     norm=(m["norm"], m["norm_value"]), metadata=m["metadata"], kind=m["kind"])
    model.path = os.fspath(path)
    return model.eval()


# ---------------------------------------------------------------- writing
_WHY = [
    ("BatchNorm", "batch normalisation cannot be expressed; fold it into the conv or Linear "
                  "before it (scale its weights and bias) and remove it"),
    ("Dropout", "dropout is the identity in eval mode: leave it out of the exported "
                "nn.Sequential (e.g. [m for m in net if not isinstance(m, nn.Dropout)])"),
    ("Softmax", "the core applies the softmax itself: end with the Linear that gives "
                "the logits"),
    ("Flatten", "there is no flatten: use GlobalMean (the mean over time) before the Linears"),
    ("AdaptiveAvgPool1d", "use oneiro_torch.GlobalMean instead (the mean over time)"),
    ("AvgPool1d", "only max-pooling exists in the format"),
    ("Conv2d", "the format has 1-D convolutions only"),
]


def _flatten(module):
    """The layers of module in order: nested nn.Sequential flattened,
    nn.Identity skipped."""
    out = []
    for m in module:
        if isinstance(m, nn.Sequential):
            out += _flatten(m)
        elif not isinstance(m, nn.Identity):
            out.append(m)
    return out


def _refuse(i, m, why):
    raise OnmError("layer %d (%s): %s" % (i, repr(m).replace("\n", " "), why))


def _int1(v):
    return v[0] if isinstance(v, (tuple, list)) else v


def _ops_from_layers(layers, sample_rate):
    """(ops, params) from torch layers, or OnmError naming the first layer the
    format cannot express."""
    ops, params = [], []
    after_mean = False
    for i, m in enumerate(layers):
        name = type(m).__name__
        if isinstance(m, LogMel):
            if i != 0:
                _refuse(i, m, "a log-mel front end must be the first layer")
            if m.sample_rate != sample_rate:
                _refuse(i, m, "made for %d Hz, the model is %d Hz" % (m.sample_rate, sample_rate))
            ops.append(dict(type=LOGMEL, a=m.n_fft, b=m.hop, c=m.n_mels, d=m.fmin, e=m.fmax,
                            f=m.floor))
        elif isinstance(m, nn.Conv1d):
            if after_mean:
                _refuse(i, m, "a conv after the global mean (the convs work over time, "
                              "before GlobalMean)")
            if m.groups != 1:
                _refuse(i, m, "grouped convolution (groups=%d) cannot be expressed" % m.groups)
            if _int1(m.dilation) != 1:
                _refuse(i, m, "dilation %d cannot be expressed (dilation 1 only)"
                        % _int1(m.dilation))
            if m.padding_mode != "zeros":
                _refuse(i, m, "padding_mode %r cannot be expressed (zeros only)" % m.padding_mode)
            if isinstance(m.padding, str):
                if m.padding != "valid":
                    _refuse(i, m, "padding=%r cannot be expressed: give a symmetric number "
                                  "of samples (the format pads both ends alike)" % m.padding)
                pad = 0
            else:
                pad = _int1(m.padding)
            k, s = _int1(m.kernel_size), _int1(m.stride)
            if s > k:
                _refuse(i, m, "stride %d larger than the kernel %d (the format needs "
                              "1 <= stride <= kernel)" % (s, k))
            if pad >= k:
                _refuse(i, m, "padding %d not less than the kernel %d" % (pad, k))
            ops.append(dict(type=CONV, a=m.in_channels, b=m.out_channels, c=k, d=s, e=pad, f=0.0))
            w = m.weight.detach()
            b = m.bias.detach() if m.bias is not None else torch.zeros(m.out_channels)
            params += [w, b]
        elif isinstance(m, nn.Linear):
            if not after_mean:
                _refuse(i, m, "a Linear before the global mean: dense layers take the mean over "
                              "time, put oneiro_torch.GlobalMean() before the first Linear")
            ops.append(dict(type=DENSE, a=m.in_features, b=m.out_features, c=0, d=0, e=0, f=0.0))
            b = m.bias.detach() if m.bias is not None else torch.zeros(m.out_features)
            params += [m.weight.detach(), b]
        elif isinstance(m, nn.LeakyReLU):
            slope = _f32(m.negative_slope)
            if not 0.0 < slope < 1.0:
                _refuse(i, m, "negative slope %g (the format needs 0 < slope < 1; "
                              "use ReLU for 0)" % m.negative_slope)
            ops.append(dict(type=LRELU, a=0, b=0, c=0, d=0, e=0, f=slope))
        elif isinstance(m, nn.ReLU):
            ops.append(dict(type=RELU, a=0, b=0, c=0, d=0, e=0, f=0.0))
        elif isinstance(m, nn.MaxPool1d):
            if after_mean:
                _refuse(i, m, "a max-pool after the global mean")
            if _int1(m.padding) != 0:
                _refuse(i, m, "max-pool padding cannot be expressed (padding 0 only)")
            if _int1(m.dilation) != 1:
                _refuse(i, m, "max-pool dilation cannot be expressed (dilation 1 only)")
            if m.ceil_mode:
                _refuse(i, m, "ceil_mode=True cannot be expressed (the format floors)")
            if m.return_indices:
                _refuse(i, m, "return_indices=True: a layer must return one tensor")
            k = _int1(m.kernel_size)
            s = _int1(m.stride) if m.stride is not None else k
            if not 1 <= s <= k:
                _refuse(i, m, "stride %d larger than the kernel %d (the format needs "
                              "1 <= stride <= kernel)" % (s, k))
            ops.append(dict(type=MAXPOOL, a=k, b=s, c=0, d=0, e=0, f=0.0))
        elif isinstance(m, GlobalMean):
            if after_mean:
                _refuse(i, m, "a second global mean")
            after_mean = True
            ops.append(dict(type=GMEAN, a=0, b=0, c=0, d=0, e=0, f=0.0))
        elif isinstance(m, InputNorm):
            _refuse(i, m, "the input normalisation must come first (or be given as norm=)")
        else:
            why = next((w for key, w in _WHY if name.startswith(key)),
                       "%s is not a layer the .onm format holds (it has Conv1d, ReLU, "
                       "LeakyReLU, MaxPool1d, oneiro_torch.GlobalMean, Linear and a first "
                       "oneiro_torch.LogMel)" % name)
            _refuse(i, m, why)
    # the order rules the torch layers alone cannot tell, with the layer named
    for i, (m, o) in enumerate(zip(layers, ops)):
        t = o["type"]
        prev = ops[i - 1]["type"] if i else None
        if t in (RELU, LRELU, MAXPOOL) and (prev is None or prev in (GMEAN, LOGMEL)):
            _refuse(i, m, "an activation or pool must follow a conv or Linear (or another "
                          "activation / pool), not %s" % ("the input" if prev is None
                                                          else OP_NAMES[prev]))
    for i, (m, o) in enumerate(zip(layers, ops)):
        if o["type"] == GMEAN and (i + 1 >= len(ops) or ops[i + 1]["type"] != DENSE):
            _refuse(i, m, "the global mean must be followed by a Linear")
    return ops, params


def save_onm(module, path, classes=None, sample_rate=None, window=None, metadata=None,
             kind=None, norm=None):
    """Writes module as a .onm file oneiro loads (inspect, render, score,
    the plugin). module: an OnmModel (as to_torch gives; its attributes are
    the defaults of every argument), an nn.Sequential of Conv1d, ReLU,
    LeakyReLU, MaxPool1d, GlobalMean, Linear with an optional LogMel first
    and an optional InputNorm before everything (nested Sequentials are
    flattened, nn.Identity skipped), or either wrapped in
    DistributedDataParallel / DataParallel.
      classes      class names (as many as the last Linear's outputs)
      sample_rate  Hz the network was trained at
      window       nominal window in samples (default: one second, or the
                   receptive field if that is longer)
      metadata     text, or a dict written as "key: value" lines
      kind         0 binary interestingness (2 classes, class 1 interesting),
                   1 classes (default: 0 for 2 classes, else 1)
      norm         None / "none", ("gain", g), ("rms", target) or an InputNorm
    Writes version 2 when there is a log-mel front end, else version 1, with
    the CRC-32, atomically (a temporary file renamed). Raises OnmError, naming
    the layer (its index in the flattened sequence and its repr), for
    anything the format cannot express. Returns the bytes written."""
    while hasattr(module, "module") and isinstance(module.module, nn.Module) and \
            type(module).__name__ in ("DistributedDataParallel", "DataParallel"):
        module = module.module
    if isinstance(module, OnmModel):
        classes = module.classes if classes is None else classes
        sample_rate = module.sample_rate if sample_rate is None else sample_rate
        window = module.window if window is None else window
        metadata = module.metadata if metadata is None else metadata
        kind = module.kind if kind is None else kind
        norm = module.norm if norm is None else norm
        layers = _flatten(module.net)
    elif isinstance(module, nn.Sequential):
        layers = _flatten(module)
        if layers and isinstance(layers[0], InputNorm):
            if norm is None:
                norm = layers[0]
            layers = layers[1:]
    else:
        raise OnmError("save_onm takes an OnmModel or an nn.Sequential, not %s (wrap the "
                       "layers in an nn.Sequential)" % type(module).__name__)
    if classes is None or sample_rate is None:
        raise OnmError("save_onm: give classes= and sample_rate= (only an OnmModel carries "
                       "them)")
    if not layers:
        raise OnmError("save_onm: no layers")
    sample_rate = int(sample_rate)
    ops, params = _ops_from_layers(layers, sample_rate)
    classes = [str(c) for c in classes]
    if window is None:
        window = max(sample_rate, receptive_field(ops))
    code, value = _as_norm(norm)
    if kind is None:
        kind = KIND_BINARY if len(classes) == 2 else KIND_CLASSES
    m = dict(sample_rate=sample_rate, window=int(window), kind=int(kind), norm=code,
             norm_value=value, classes=classes, metadata=_meta_text(metadata), ops=ops)
    try:
        need = _check_model(m)
    except OnmError as e:
        raise OnmError("save_onm: %s" % e) from None
    arrays = [p.detach().cpu().to(torch.float32).contiguous().numpy() for p in params]
    assert sum(a.size for a in arrays) == need
    for k, a in enumerate(arrays):
        if not np.all(np.isfinite(a)):
            raise OnmError("save_onm: a parameter of layer %d is not finite (NaN or infinity)"
                           % [i for i, o in enumerate(ops) if o["type"] in (CONV, DENSE)][k // 2])
    data = _serialise(m, arrays)
    path = os.fspath(path)
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return data


def _serialise(m, arrays):
    ops, meta = m["ops"], m["metadata"].encode("utf-8")
    blob = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)
    parts = [struct.pack("<5I", m["sample_rate"], m["window"], m["kind"], m["norm"], 0)[:16],
             struct.pack("<f", m["norm_value"]),
             struct.pack("<4I", len(m["classes"]), len(ops), len(meta), len(blob) // 4)]
    for o in ops:
        parts.append(struct.pack("<6If", o["type"], o["a"], o["b"], o["c"], o["d"], o["e"],
                                 o["f"]))
    for name in m["classes"]:
        nb = name.encode("utf-8")
        parts.append(nb + b"\0" * (NAME_BYTES - len(nb)))
    parts.append(meta + b"\0" * (-len(meta) % 4))
    parts.append(blob)
    body = b"".join(parts)
    version = VERSION_LOGMEL if ops[0]["type"] == LOGMEL else VERSION
    head = MAGIC + struct.pack("<II", version, 16 + len(body) + 4)
    data = head + body
    return data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
