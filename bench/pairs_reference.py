#!/usr/bin/env python3
"""The anchor for bench/bench_pairs_mix.sh: the official text-guided-mixup sampler's logic in Python.

Per epoch: a random permutation of the samples (the first sample of each pair); each partner class drawn
from p_ls(. | y_i) (softmax over the other classes of text-feature similarity / tau); the partner sample
taken from a per-class list that is reshuffled when exhausted (LocalClassSampler in the reference code's
data/dataloader.py), then lambda_x ~ Beta(a, a) and the label shift of mixups.py. The class draws and
the lambdas are vectorised per epoch with numpy (faster than drawing one at a time, so the anchor is a
strong one); the within-class cycling is a Python loop, as in the reference sampler.

usage: pairs_reference.py COUNTS.npy FEATURES.npy EPOCHS [TAU]
prints: records, seconds, records/s
"""
import sys
import time

import numpy as np


def main():
    counts = np.load(sys.argv[1]).astype(np.int64)
    feats = np.load(sys.argv[2]).astype(np.float64)
    epochs = int(sys.argv[3])
    tau = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    rng = np.random.default_rng(0)
    C = len(counts)
    labels = np.repeat(np.arange(C), counts)
    N = len(labels)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    sim = feats @ feats.T / tau
    np.fill_diagonal(sim, -np.inf)
    sim -= sim.max(axis=1, keepdims=True)
    p = np.exp(sim)
    p /= p.sum(axis=1, keepdims=True)
    members = [np.flatnonzero(labels == c) for c in range(C)]
    queues = [list(rng.permutation(m)) for m in members]

    t0 = time.perf_counter()
    records = 0
    checksum = 0.0
    for _ in range(epochs):
        order = rng.permutation(N)
        yi = labels[order]
        yj = np.empty(N, dtype=np.int64)
        for c in range(C):
            where = np.flatnonzero(yi == c)
            yj[where] = rng.choice(C, size=len(where), p=p[c])
        js = np.empty(N, dtype=np.int64)
        for t in range(N):
            q = queues[yj[t]]
            if not q:
                q = queues[yj[t]] = list(rng.permutation(members[yj[t]]))
            js[t] = q.pop()
        lx = rng.beta(0.5, 0.5, size=N)
        ni, nj = counts[yi], counts[yj]
        ly = np.clip(lx - (ni - nj) / (ni + nj), 0.0, 1.0)
        checksum += float(ly.sum()) + float(js.sum())
        records += N
    dt = time.perf_counter() - t0
    print(f"{records} {dt:.3f} {records / dt:.0f}")


if __name__ == "__main__":
    main()
