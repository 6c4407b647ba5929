"""PyTorch half of `cargo bench --bench encoder`: the SMIE ST-GCN (same architecture, written from the paper's
description) timed on CPU for a batch of 64 x 3 x 50 x 25 x 2. Prints `forward_s=` and `train_step_s=` lines."""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BONES = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11),
         (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25),
         (25, 12)]


def spatial_a():
    v, center = 25, 20
    adj = np.eye(v)
    for i, j in BONES:
        adj[i - 1, j - 1] = adj[j - 1, i - 1] = 1
    hop = np.full((v, v), np.inf)
    hop[adj > 0] = 1
    np.fill_diagonal(hop, 0)
    norm = adj / adj.sum(0, keepdims=True)
    parts = [np.where(hop == 0, norm, 0)]
    close = np.zeros((v, v))
    further = np.zeros((v, v))
    for i in range(v):
        for j in range(v):
            if hop[j, i] == 1:
                if hop[j, center] >= hop[i, center]:
                    close[j, i] = norm[j, i]
                else:
                    further[j, i] = norm[j, i]
    return torch.tensor(np.stack(parts + [close, further]), dtype=torch.float32)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, residual, dropout):
        super().__init__()
        self.gcn = nn.Conv2d(cin, cout * 3, 1)
        self.tcn = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                 nn.Conv2d(cout, cout, (9, 1), (stride, 1), (4, 0)), nn.BatchNorm2d(cout),
                                 nn.Dropout(dropout, inplace=True))
        if not residual:
            self.res = lambda x: 0
        elif cin == cout and stride == 1:
            self.res = lambda x: x
        else:
            self.res = nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))

    def forward(self, x, a):
        r = self.res(x)
        x = self.gcn(x)
        n, kc, t, v = x.shape
        x = torch.einsum('nkctv,kvw->nctw', x.view(n, 3, kc // 3, t, v), a)
        return F.relu(self.tcn(x) + r)


class StGcn(nn.Module):
    def __init__(self, classes=60):
        super().__init__()
        self.register_buffer('A', spatial_a())
        self.data_bn = nn.BatchNorm1d(75)
        plan = [(3, 16, 1, False), (16, 16, 1, True), (16, 16, 1, True), (16, 16, 1, True), (16, 32, 2, True),
                (32, 32, 1, True), (32, 32, 1, True), (32, 64, 2, True), (64, 64, 1, True), (64, 256, 1, True)]
        self.blocks = nn.ModuleList(Block(i, o, s, r, 0 if k == 0 else 0.5) for k, (i, o, s, r) in enumerate(plan))
        self.imp = nn.ParameterList(nn.Parameter(torch.ones(3, 25, 25)) for _ in plan)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x).view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for b, imp in zip(self.blocks, self.imp):
            x = b(x, self.A * imp)
        x = F.avg_pool2d(x, x.shape[2:]).view(n, m, -1).mean(1)
        return self.fc(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = StGcn()
    x = torch.randn(64, 3, 50, 25, 2)
    y = torch.arange(64) % 60
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def best(f):
        f()
        out = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
        return min(out)

    def fwd():
        net.eval()
        with torch.no_grad():
            net(x)

    def step():
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    print(f'forward_s={best(fwd):.4f}')
    print(f'train_step_s={best(step):.4f}')


if __name__ == '__main__':
    main()
