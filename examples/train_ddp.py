#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""train_ddp.py -- train an oneiro model with PyTorch DistributedDataParallel,
export it as a .onm file and check that oneiro loads it. docs/pytorch.md
explains each part; this is the smallest version that really runs.

    # one machine, CPU, 2 processes (spawned here), tiny synthetic data:
    /usr/bin/python3 examples/train_ddp.py --out /tmp/ddp.onm
    # the same under torchrun (1 node, 2 processes; on GPUs it uses NCCL):
    torchrun --standalone --nproc_per_node=2 examples/train_ddp.py --out /tmp/ddp.onm
    # your own sounds: a folder per class of 16-bit PCM mono WAV files at --rate
    torchrun --nnodes=4 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 \\
        examples/train_ddp.py --data /shared/sounds --steps 20000 --out big.onm

The dataset never loads the sounds into memory: it indexes (file, offset) of
every window once, and each item reads its window from the file through a
memory map, so its size is bounded by the disk, not by RAM. A
DistributedSampler gives each process its own share of the windows.
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import oneiro_torch as ot  # noqa: E402


# ---------------------------------------------------------------- data on disk
def wav_data(path):
    """(offset, frames, rate) of a 16-bit PCM mono WAV file's samples."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("%s: not a WAV file" % path)
    pos, rate = 12, None
    while pos + 8 <= len(head):
        cid, n = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if cid == b"fmt ":
            tag, ch, rate = struct.unpack_from("<HHI", head, pos + 8)
            bits = struct.unpack_from("<H", head, pos + 22)[0]
            if (tag, ch, bits) != (1, 1, 16):
                raise ValueError("%s: not 16-bit PCM mono" % path)
        elif cid == b"data":
            return pos + 8, n // 2, rate
        pos += 8 + n + (n & 1)
    raise ValueError("%s: no data chunk" % path)


class WindowDataset(Dataset):
    """Map-style dataset of fixed windows cut from files, read on demand.
    root/CLASS/*.wav; windows of `window` samples every `hop`."""

    def __init__(self, root, window, hop, rate):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.files, self.index = [], []      # index: (file number, first sample, label)
        for label, c in enumerate(self.classes):
            for name in sorted(os.listdir(os.path.join(root, c))):
                path = os.path.join(root, c, name)
                off, frames, r = wav_data(path)
                if r != rate:
                    raise ValueError("%s: %d Hz, the model is %d Hz (resample first)"
                                     % (path, r, rate))
                k = len(self.files)
                self.files.append((path, off, frames))
                self.index += [(k, s, label) for s in range(0, frames - window + 1, hop)]
        self.window = window
        self.maps = {}                        # per worker process, opened lazily

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        k, start, label = self.index[i]
        if k not in self.maps:
            path, off, frames = self.files[k]
            self.maps[k] = np.memmap(path, dtype="<i2", mode="r", offset=off, shape=(frames,))
        x = np.asarray(self.maps[k][start:start + self.window], dtype=np.float32) / 32768.0
        return torch.from_numpy(x), label


def make_synthetic(root, rate, seconds=2.0, files=3):
    """Tiny stand-in data: 'tone' (harmonic tones), 'noise' (filtered noise)."""
    g = np.random.default_rng(0)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    for c in ("tone", "noise"):
        os.makedirs(os.path.join(root, c), exist_ok=True)
        for k in range(files):
            if c == "tone":
                f0 = 110.0 * 2 ** (g.integers(0, 24) / 12)
                x = sum(0.3 / h * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 6))
            else:
                x = np.convolve(g.standard_normal(n), np.ones(4) / 4, mode="same") * 0.3
            pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
            fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
            body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
                    + struct.pack("<I", len(pcm)) + pcm)
            with open(os.path.join(root, c, "%s%d.wav" % (c, k)), "wb") as f:
                f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


# ---------------------------------------------------------------- the network
def build_model(classes, rate, window):
    """A magnitude (log-mel) front end, three conv blocks, mean, two dense."""
    net = nn.Sequential(
        ot.LogMel(rate, n_fft=512, hop=128, n_mels=48, fmin=40, floor=1e-6),
        nn.Conv1d(48, 32, 3, padding=1), nn.LeakyReLU(0.01), nn.MaxPool1d(3, 2),
        nn.Conv1d(32, 48, 3, padding=1), nn.LeakyReLU(0.01), nn.MaxPool1d(3, 2),
        nn.Conv1d(48, 64, 3, padding=1), nn.LeakyReLU(0.01),
        ot.GlobalMean(), nn.Linear(64, 32), nn.LeakyReLU(0.01), nn.Linear(32, len(classes)))
    return ot.OnmModel(net, classes, rate, window, norm=("rms", 0.1), kind=ot.KIND_CLASSES,
                       metadata={"trainer": "examples/train_ddp.py (DistributedDataParallel)"})


# ---------------------------------------------------------------- one process
def train(rank, world, args):
    cuda = torch.cuda.is_available() and not args.cpu
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    local = int(os.environ.get("LOCAL_RANK", rank))
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)              # the same initial weights everywhere
    data = WindowDataset(args.data, args.window, args.window // 2, args.rate)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed, drop_last=True)
    loader = DataLoader(data, batch_size=args.batch, sampler=sampler, drop_last=True,
                        num_workers=args.workers, persistent_workers=args.workers > 0)
    model = build_model(data.classes, args.rate, args.window).to(device)
    ddp = DDP(model, device_ids=[local] if cuda else None)
    opt = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    step, epoch = 0, 0
    while step < args.steps:
        sampler.set_epoch(epoch)              # a new shuffle each epoch, the same on every rank
        for x, y in loader:
            loss = F.cross_entropy(ddp(x.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()                   # gradients averaged over the processes here
            opt.step()
            step += 1
            if rank == 0 and (step % 5 == 0 or step == args.steps):
                print("step %d: loss %.4f (rank 0's batch)" % (step, float(loss)), flush=True)
            if step >= args.steps:
                break
        epoch += 1
    if rank == 0:
        # the weights are the same on every rank; one writes the file
        ot.save_onm(ddp, args.out)           # unwraps DDP, writes float32 from any device
        print("wrote %s (%d windows in the dataset, %d processes)" % (args.out, len(data), world))
        if args.oneiro:
            r = subprocess.run([args.oneiro, "inspect", args.out], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            print(r.stdout.decode(errors="replace"), end="")
            if r.returncode:
                print("oneiro inspect refused %s" % args.out, file=sys.stderr)
                dist.destroy_process_group()
                sys.exit(1)
    dist.barrier()
    dist.destroy_process_group()


def spawned(rank, world, args):
    os.environ.setdefault("LOCAL_RANK", str(rank))
    train(rank, world, args)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder per class of 16-bit mono WAVs (default: tiny "
                                   "synthetic data in a temporary folder)")
    ap.add_argument("--out", required=True, help="the .onm file to write")
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--window", type=int, default=8192, help="samples per window")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8, help="per process")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    ap.add_argument("--world-size", type=int, default=2,
                    help="processes to spawn when not started by torchrun")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu", action="store_true", help="even when a GPU is there")
    ap.add_argument("--oneiro", help="an oneiro program to check the file with (inspect)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = None
    if args.data is None:
        tmp = tempfile.TemporaryDirectory(prefix="train_ddp.")
        args.data = tmp.name
        make_synthetic(args.data, args.rate)
    try:
        if "RANK" in os.environ and "WORLD_SIZE" in os.environ:   # started by torchrun
            train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
        else:
            os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
            os.environ.setdefault("MASTER_PORT", str(free_port()))
            torch.multiprocessing.spawn(spawned, args=(args.world_size, args),
                                        nprocs=args.world_size, join=True)
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    main()
