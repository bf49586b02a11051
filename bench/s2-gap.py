#!/usr/bin/python3
"""Scenario 2's accuracy gap (issue 26), the PyTorch side: ../shared/bench/torch_transfer.py's own
scenario 2 (MobileNet v1 0.25 at 224, Fashion-MNIST 2,000 train with its seeded 80/20 split, 2,000
test, frozen through conv_pw_11, conv_dw_12..conv_pw_13 + MLP [128] fine-tuned 3 epochs, batch 32,
Adam head 1e-3 / network 1e-4, BatchNorm in inference mode) with the frozen part's outputs computed
once (they cannot change), and the studio's choices swapped in one at a time:
  /usr/bin/python3 bench/s2-gap.py SEEDS VARIANT...     e.g. s2-gap.py 42,1,2,3,4 ref glorot eps7 keras
Variants: ref (torch_transfer as it is), glorot (the head's kernels Glorot-uniform, biases zero, as
Keras and the studio initialise them), eps7 (Adam epsilon 1e-7, Keras'), keras (both), fixedbn (the
trainable part's BatchNorm gamma and beta not trained), studio (the studio's own draws for the seed:
its head's initial weights and its epochs' orders, from `npx tsx bench/s2-gap.ts draws SEED`, and
epsilon 1e-7: what the studio's training should reach when its steps are right). Per seed and variant: the test accuracy of the
last epoch (what the reference reports) and of the best-validation-loss epoch (what the studio keeps);
then the means over the seeds.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared")), "bench"))
import torch_transfer as T  # noqa: E402

N_TRAIN, N_TEST, SIZE, BATCH, EPOCHS = 2000, 2000, 224, 32, 3


def frozen_outputs(model, images, cut):
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 64):
            out.append(model(T.preprocess(images[i:i + 64], SIZE), until=cut))
    return torch.cat(out)


def forward_from(model, names, a):
    for n in names:
        a = model.layers[n](a)
    return a


def glorot_(linear):
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)


def run(seed, variant, xs, ytr, yte):
    model = T.load_mobilenet(T.DEFAULT_MODELS, 0.25)[0]
    frozen, trainable = T.freeze_upto(model, "conv_pw_11")
    perm = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(N_TRAIN * 0.2))
    va_idx, tr_idx = perm[:n_val], perm[n_val:]
    torch.manual_seed(seed)
    head = T.make_head("mlp", 256)
    if variant in ("glorot", "keras"):
        for m in head.modules():
            if isinstance(m, nn.Linear):
                glorot_(m)
    draws = None
    if variant == "studio":
        import json
        draws = json.load(open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"s2-draws-{seed}.json")))
        tr_idx = tr_idx.sort().values   # the studio lists its training images in image order
        lin = [m for m in head.modules() if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for k, m in enumerate(lin):
                w, b = draws["weights"][2 * k], draws["weights"][2 * k + 1]
                m.weight.copy_(torch.tensor(w["values"]).reshape(w["shape"]).t())
                m.bias.copy_(torch.tensor(b["values"]))
    if variant == "fixedbn":
        for n in trainable:
            if isinstance(model.layers[n], nn.BatchNorm2d):
                for p in model.layers[n].parameters():
                    p.requires_grad_(False)
    bb = [p for p in model.parameters() if p.requires_grad]
    eps = 1e-7 if variant in ("eps7", "keras", "studio") else 1e-8
    opt = torch.optim.Adam([{"params": bb, "lr": 1e-4}, {"params": head.parameters(), "lr": 1e-3}], eps=eps)
    g = torch.Generator().manual_seed(seed)  # the epochs' orders: a generator of their own, as scenario2()
    a_tr, a_te = xs
    atr, y = a_tr[tr_idx], ytr[tr_idx]
    ava, yva = a_tr[va_idx], ytr[va_idx]

    def net(a):
        return head(forward_from(model, trainable, a))

    def evaluate(a, yy):
        model.eval()
        head.eval()
        with torch.no_grad():
            logits = torch.cat([net(a[i:i + 256]) for i in range(0, len(a), 256)])
        return float(F.cross_entropy(logits, yy)), float((logits.argmax(1) == yy).float().mean())

    hist = []
    for ep in range(EPOCHS):
        model.train()
        head.train()
        T.set_bn_eval(model)
        p = torch.tensor(draws["orders"][ep]) if draws else torch.randperm(len(atr), generator=g)
        for i in range(0, len(atr), BATCH):
            j = p[i:i + BATCH]
            loss = F.cross_entropy(net(atr[j]), y[j])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        vl, va = evaluate(ava, yva)
        _, te = evaluate(a_te, yte)
        hist.append((vl, va, te))
    best = min(range(EPOCHS), key=lambda e: hist[e][0])
    return hist[-1][2], hist[best][2], best + 1, hist


def compare(path):
    """The studio's activations (bench/s2-gap.ts, NHWC) against torch_transfer's frozen outputs of the same images."""
    import numpy as np
    T.tune_malloc(False)
    torch.set_num_threads(2)
    ours = torch.from_numpy(np.fromfile(path, np.float32)).reshape(-1, 14, 14, 128).permute(0, 3, 1, 2)
    model = T.load_mobilenet(T.DEFAULT_MODELS, 0.25)[0]
    xtr = T.load_fashion(T.DEFAULT_DATA, len(ours), 1)[0]
    ref = frozen_outputs(model, xtr, T.freeze_upto(model, "conv_pw_11")[0][-1])
    d = (ours - ref).abs()
    print(f"{len(ours)} images: max |ours - ref| {float(d.max()):.5f}, mean {float(d.mean()):.6f}, "
          f"mean |ref| {float(ref.abs().mean()):.4f}, relative {float(d.mean() / ref.abs().mean()):.2e}")


def main():
    if sys.argv[1] == "compare":
        return compare(sys.argv[2])
    seeds = [int(s) for s in sys.argv[1].split(",")]
    variants = sys.argv[2:] or ["ref"]
    T.tune_malloc(False)
    torch.set_num_threads(2)
    model = T.load_mobilenet(T.DEFAULT_MODELS, 0.25)[0]
    xtr, ytr, xte, yte = T.load_fashion(T.DEFAULT_DATA, N_TRAIN, N_TEST)
    cut = T.freeze_upto(model, "conv_pw_11")[0][-1]
    cached = os.path.join(os.environ.get("TMPDIR", "/tmp"), "s2-gap-frozen.pt")   # computed once per machine
    if os.path.exists(cached):
        xs = torch.load(cached)
    else:
        xs = (frozen_outputs(model, xtr, cut), frozen_outputs(model, xte, cut))
        torch.save(xs, cached)
    print(f"frozen outputs through {cut}: {tuple(xs[0].shape)}", flush=True)
    res = {v: [] for v in variants}
    for seed in seeds:
        for v in variants:
            last, best, be, hist = run(seed, v, xs, ytr, yte)
            res[v].append((last, best))
            print(f"seed {seed} {v:8s} test last {last:.4f} best-val-loss (epoch {be}) {best:.4f}  "
                  + " ".join(f"[vl {h[0]:.3f} va {h[1]:.3f} te {h[2]:.3f}]" for h in hist), flush=True)
    for v in variants:
        r = res[v]
        print(f"mean of {len(r)} {v:8s} last {sum(x[0] for x in r)/len(r):.4f} best {sum(x[1] for x in r)/len(r):.4f}")


if __name__ == "__main__":
    main()
