# SPDX-License-Identifier: GPL-2.0-or-later
"""onm.py -- a Python reader/writer of oneiro's model files (docs/model-format.md),
written from the format document, independent of src/model.c. Used by the
golden-file generator and the PyTorch side of the benchmark."""
import struct
import zlib

import numpy as np

MAGIC = b"ONRMODEL"
VERSION = 1          # files without a log-mel front end
VERSION_LOGMEL = 2   # files with one
CONV, RELU, LRELU, MAXPOOL, GMEAN, DENSE, LOGMEL = 1, 2, 3, 4, 5, 6, 7


def op(type_, a=0, b=0, c=0, d=0, e=0, f=0.0):
    return dict(type=type_, a=a, b=b, c=c, d=d, e=e, f=f)


def param_shapes(ops):
    """[(op index, 'weight'|'bias', shape)] in blob order."""
    out = []
    for i, o in enumerate(ops):
        if o["type"] == CONV:
            out.append((i, "weight", (o["b"], o["a"], o["c"])))
            out.append((i, "bias", (o["b"],)))
        elif o["type"] == DENSE:
            out.append((i, "weight", (o["b"], o["a"])))
            out.append((i, "bias", (o["b"],)))
    return out


def write(path, ops, params, sample_rate, window, class_names, kind=None,
          norm=0, norm_value=0.0, meta=""):
    """params: list of float32 arrays in blob order (see param_shapes)."""
    n_classes = len(class_names)
    if kind is None:
        kind = 0 if n_classes == 2 else 1
    meta_b = meta.encode()
    blob = b"".join(np.ascontiguousarray(p, dtype="<f4").tobytes() for p in params)
    n_params = len(blob) // 4
    body = struct.pack("<9I", sample_rate, window, kind, norm, 0, n_classes, len(ops),
                       len(meta_b), n_params)
    body = body[:16] + struct.pack("<f", norm_value) + body[20:]
    for o in ops:
        body += struct.pack("<6If", o["type"], o["a"], o["b"], o["c"], o["d"], o["e"], o["f"])
    for name in class_names:
        nb = name.encode()
        assert 0 < len(nb) <= 63
        body += nb + b"\0" * (64 - len(nb))
    body += meta_b + b"\0" * (-len(meta_b) % 4)
    body += blob
    size = 8 + 4 + 4 + len(body) + 4
    version = VERSION_LOGMEL if ops[0]["type"] == LOGMEL else VERSION
    head = MAGIC + struct.pack("<II", version, size)
    data = head + body
    data += struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(data)
    return data


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise ValueError("bad magic")
    version, size = struct.unpack_from("<II", data, 8)
    if version not in (VERSION, VERSION_LOGMEL) or size != len(data):
        raise ValueError("bad version or size")
    if struct.unpack_from("<I", data, size - 4)[0] != zlib.crc32(data[:-4]) & 0xFFFFFFFF:
        raise ValueError("bad checksum")
    (sr, window, kind, norm) = struct.unpack_from("<4I", data, 16)
    (norm_value,) = struct.unpack_from("<f", data, 32)
    n_classes, n_ops, meta_len, n_params = struct.unpack_from("<4I", data, 36)
    off = 52
    ops = []
    for _ in range(n_ops):
        t, a, b, c, d, e, f = struct.unpack_from("<6If", data, off)
        ops.append(op(t, a, b, c, d, e, f))
        off += 28
    names = []
    for _ in range(n_classes):
        names.append(data[off:off + 64].split(b"\0")[0].decode())
        off += 64
    meta = data[off:off + meta_len].decode()
    off += meta_len + (-meta_len % 4)
    blob = np.frombuffer(data, dtype="<f4", count=n_params, offset=off)
    params = []
    k = 0
    for _, _, shape in param_shapes(ops):
        n = int(np.prod(shape))
        params.append(blob[k:k + n].reshape(shape).astype(np.float32))
        k += n
    return dict(sample_rate=sr, window=window, kind=kind, norm=norm, norm_value=norm_value,
                class_names=names, ops=ops, meta=meta, params=params)


def mel_filterbank(n_mels, n_fft, sample_rate, fmin, fmax):
    """(n_mels, n_fft/2+1) HTK-mel triangles without area normalisation, from
    the format document's definition, in float64."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    pts = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    f = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    up = (f[None, :] - pts[:-2, None]) / (pts[1:-1, None] - pts[:-2, None])
    down = (pts[2:, None] - f[None, :]) / (pts[2:, None] - pts[1:-1, None])
    return np.maximum(0.0, np.minimum(up, down))


def torch_logmel(o, x, sample_rate):
    """The LOGMEL op on x (B, 1, N) with torch.stft: (B, channels, frames)."""
    import torch
    n_fft, hop, n_mels = o["a"], o["b"], o["c"]
    win = torch.hann_window(n_fft, periodic=True, dtype=x.dtype)
    X = torch.stft(x.reshape(x.shape[0], -1), n_fft, hop_length=hop, win_length=n_fft,
                   window=win, center=False, return_complex=True)
    P = X.real ** 2 + X.imag ** 2                       # (B, nb, T)
    if n_mels:
        fmax = o["e"] if o["e"] else sample_rate / 2
        fb = torch.tensor(mel_filterbank(n_mels, n_fft, sample_rate, o["d"], fmax), dtype=x.dtype)
        P = torch.matmul(fb, P)
    return torch.log(P + torch.tensor(o["f"], dtype=torch.float32).to(x.dtype))


def torch_forward(ops, params, x, F, stop=None, acts=None, sample_rate=None):
    """Runs ops on x (B, 1, N) with torch.nn.functional F; acts (a list) gets
    every op's output. Stops after op index `stop` if given. sample_rate is
    needed by a log-mel front end."""
    h = x
    k = 0
    for i, o in enumerate(ops):
        t = o["type"]
        if t == LOGMEL:
            h = torch_logmel(o, h, sample_rate)
        elif t == CONV:
            h = F.conv1d(h, params[k], params[k + 1], stride=o["d"], padding=o["e"])
            k += 2
        elif t == RELU:
            h = F.relu(h)
        elif t == LRELU:
            h = F.leaky_relu(h, o["f"])
        elif t == MAXPOOL:
            h = F.max_pool1d(h, o["a"], o["b"])
        elif t == GMEAN:
            h = h.mean(dim=2)
        elif t == DENSE:
            h = F.linear(h, params[k], params[k + 1])
            k += 2
        if acts is not None:
            acts.append(h)
        if stop is not None and i == stop:
            break
    return h
