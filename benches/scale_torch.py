"""PyTorch half of `cargo bench --bench scale`: the ST-GCN of `encoder_torch.py` trained for `--steps` steps at
`--batch`, each batch gathered from an in-memory array of preprocessed samples and augmented as skelzero's
`TensorSet::batch` does (per-axis scale U(0.9, 1.1), rotation about y U(-15, 15) degrees). Prints `step_s=`, the
mean time of one step including the loading, after one warm-up step."""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_torch import StGcn  # noqa: E402


def augment(x, rng):
    n = x.shape[0]
    sc = rng.uniform(0.9, 1.1, size=(n, 3, 1, 1, 1)).astype(np.float32)
    th = np.deg2rad(rng.uniform(-15, 15, size=(n, 1, 1, 1))).astype(np.float32)
    x = x * sc
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    s, co = np.sin(th), np.cos(th)
    return np.stack([co * a + s * c, b, -s * a + co * c], axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('x')
    ap.add_argument('y')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = np.load(args.x)
    labels = np.load(args.y)
    net = StGcn(classes=120)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data))

    def step(k):
        start = (k * args.batch) % (len(data) - args.batch)
        idx = order[start:start + args.batch]
        x = torch.from_numpy(np.ascontiguousarray(augment(data[idx], rng)))
        y = torch.from_numpy(labels[idx])
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    step(0)
    t0 = time.perf_counter()
    for k in range(1, args.steps + 1):
        step(k)
    print(f'step_s={(time.perf_counter() - t0) / args.steps:.4f}')


if __name__ == '__main__':
    main()
