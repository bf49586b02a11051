#!/usr/bin/python3
"""Scenario 1's head gap (issue 26), the PyTorch side, with ../shared/bench/torch_transfer.py's own code:
  head-gap.py features ALPHA OUT.npz               torch_transfer's pooled features of Fashion-MNIST 10,000 / 2,000
  head-gap.py pack FEATURES(.npz|.raw) OUT.f32 SEED  features + labels + torch_transfer's split for SEED, in
                                                   bench/head-gap.ts' format (.raw: the engine's, from head-gap.ts dump)
  head-gap.py heads OUT.f32:SEED ...               torch_transfer's head (Linear-ReLU-Linear, torch init, Adam 1e-3,
                                                   batch 64, 20 epochs, seeded as train_head) and the same with dropout 0.2:
                                                   test accuracy at the best-validation-loss epoch and at the last.
"""
import os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared")), "bench"))
import torch_transfer as T  # noqa: E402


def features(alpha, out):
    T.tune_malloc(False)
    torch.set_num_threads(2)
    model = T.load_mobilenet(T.DEFAULT_MODELS, alpha)[0].to(memory_format=torch.channels_last)
    xtr, _, xte, _ = T.load_fashion(T.DEFAULT_DATA, 10000, 2000)
    ftr = T.extract_features(model, xtr, 224, 32, "halfpixel")[0]
    fte = T.extract_features(model, xte, 224, 32, "halfpixel")[0]
    np.savez(out, f=np.concatenate([ftr.numpy(), fte.numpy()]))


def pack(src, out, seed):
    _, ytr, _, yte = T.load_fashion(T.DEFAULT_DATA, 10000, 2000)
    f = np.load(src)["f"] if src.endswith(".npz") else np.fromfile(src, np.float32).reshape(12000, -1)
    va = torch.randperm(10000, generator=torch.Generator().manual_seed(seed)).numpy()[:2000].astype(np.int32)
    with open(out, "wb") as o:
        o.write(np.array([10000, 2000, f.shape[1], 2000, 0], np.int32).tobytes())
        for a in (ytr.numpy(), yte.numpy(), va):
            o.write(a.astype(np.int32).tobytes())
        o.write(f.astype(np.float32).tobytes())


def load(path):
    b = open(path, "rb").read()
    ntr, nte, dim, nva, _ = (int(v) for v in np.frombuffer(b, np.int32, 5))
    o = 20
    ytr = np.frombuffer(b, np.int32, ntr, o); o += 4 * ntr
    yte = np.frombuffer(b, np.int32, nte, o); o += 4 * nte
    va = np.frombuffer(b, np.int32, nva, o); o += 4 * nva
    x = np.frombuffer(b, np.float32, (ntr + nte) * dim, o).reshape(ntr + nte, dim)
    tr = np.setdiff1d(np.arange(ntr), va)
    t = torch.from_numpy
    return t(x[:ntr].copy()), t(ytr.astype(np.int64)), t(x[ntr:].copy()), t(yte.astype(np.int64)), t(tr), t(va.astype(np.int64))


def head(xtr, ytr, xte, yte, tr, va, seed, dropout):
    """torch_transfer.train_head, plus validation loss per epoch and optional dropout."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(xtr.shape[1], 128), nn.ReLU(), *([nn.Dropout(dropout)] if dropout else []), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    x, y = xtr[tr], ytr[tr]
    best = (float("inf"), 0, 0.0)
    for ep in range(20):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            j = perm[i:i + 64]
            loss = F.cross_entropy(net(x[j]), y[j])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            vl = float(F.cross_entropy(net(xtr[va]), ytr[va]))
            te = T.accuracy(net(xte), yte)
        if vl < best[0]:
            best = (vl, ep + 1, te)
    return best[1], best[2], te


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "features":
        features(float(rest[0]), rest[1])
    elif cmd == "pack":
        pack(rest[0], rest[1], int(rest[2]))
    else:
        torch.set_num_threads(1)
        for spec in rest:
            path, _, seed = spec.partition(":")
            d = load(path)
            for name, dropout in (("reference head", 0.0), ("reference + dropout 0.2", 0.2)):
                be, tb, tl = head(*d, int(seed or 42), dropout)
                print(f"{path} seed {seed} torch {name:24s} best epoch {be} test(best) {tb:.4f} test(last) {tl:.4f}", flush=True)
