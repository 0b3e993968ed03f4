"""Idiomatic PyTorch CPU baselines for ``approx bench --baseline torch``.

These are the loops a careful PyTorch user writes (``nn.Sequential``, the
framework's default initialisation, ``torch.optim.Adam``, one Python step at a
time); they exist only to be timed against approx. torch is a benchmark-only
extra (``pip install approx[bench]``), never a runtime dependency.

Run as ``python -m approx.bench.torch_baseline w1 --widths ... --seeds ... --steps ...``;
prints one JSON line with the times and errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np


def w1(widths, seeds, steps, lr, train_points, test_points) -> dict:
    import torch

    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(train_points, 1, generator=gen)

    def f(t):
        return torch.sin(2 * math.pi * t) + 0.5 * torch.sin(6 * math.pi * t)

    y = f(x)
    xt = ((torch.arange(test_points, dtype=torch.float32) + 0.5) / test_points)[:, None]
    yt = f(xt)
    results = []
    for width in widths:
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = torch.nn.Sequential(torch.nn.Linear(1, width), torch.nn.Sigmoid(), torch.nn.Linear(width, 1))
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            loss_fn = torch.nn.MSELoss()
            for _ in range(steps):
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
            with torch.no_grad():
                mse = float(((model(xt) - yt) ** 2).mean())
            results.append({"width": width, "seed": seed, "test_mse": mse})
    return {"seconds": time.perf_counter() - t0, "runs": results, "threads": torch.get_num_threads()}


def _tensors(x, y):
    """``(x (n, features) float32, y (n,) long)`` as PyTorch tensors."""
    import torch

    return (
        torch.tensor(np.asarray(x), dtype=torch.float32).reshape(len(x), -1),
        torch.tensor(np.asarray(y), dtype=torch.long),
    )


def _evaluate(model, sets, loss_fn) -> list[dict]:
    """The mean loss and the accuracy on each ``(x, y)`` of ``sets``, each in
    one forward pass under ``model.eval()`` and ``torch.no_grad()``."""
    import torch

    model.eval()
    evals = []
    with torch.no_grad():
        for xs, ys in sets:
            logits = model(xs)
            evals.append({"loss": float(loss_fn(logits, ys)), "accuracy": float((logits.argmax(dim=1) == ys).float().mean())})
    return evals


def fmnist_epoch(
    x,
    y,
    width: int,
    batch_size: int,
    epochs: int = 5,
    lr: float = 4e-3,
    eval_sets=(),
    seed: int = 0,
) -> dict:
    """Trains a 784-width-10 sigmoid MLP as ``approx fmnist`` does, timing
    each epoch's training and evaluation apart.

    Training: Adam with the learning rate decayed to 0 by a cosine over all
    steps (``CosineAnnealingLR`` stepped per batch, as Optax's
    ``cosine_decay_schedule``), cross-entropy on the logits, a fresh
    ``randperm`` per epoch, the last batch smaller. Evaluation after each
    epoch: ``model.eval()`` and ``torch.no_grad()``, the mean cross-entropy
    and the accuracy on each ``(x, y)`` of ``eval_sets``, each set in one
    forward pass. ``x`` is ``(n, 784)`` (already standardised by the caller).

    Returns ``train_seconds`` and ``eval_seconds`` (lists over epochs; the
    first epoch includes PyTorch's warm-up), the last epoch's ``eval``
    (``[{'loss', 'accuracy'}]`` per set) and the thread count.
    """
    import torch

    torch.manual_seed(seed)
    xt, yt = _tensors(x, y)
    sets = [_tensors(a, b) for a, b in eval_sets]
    model = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], width), torch.nn.Sigmoid(), torch.nn.Linear(width, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(xt) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    train_s, eval_s, evals = [], [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            schedule.step()
        t1 = time.perf_counter()
        evals = _evaluate(model, sets, loss_fn)
        t2 = time.perf_counter()
        train_s.append(t1 - t0)
        eval_s.append(t2 - t1)
    return {"train_seconds": train_s, "eval_seconds": eval_s, "eval": evals, "threads": torch.get_num_threads()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m approx.bench.torch_baseline")
    p.add_argument("workload", choices=["w1"])
    p.add_argument("--widths", default="1,2,4,8,16,32,64,128,256")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--train-points", type=int, default=1024)
    p.add_argument("--test-points", type=int, default=4096)
    a = p.parse_args(argv)
    widths = [int(w) for w in a.widths.split(",")]
    out = w1(widths, a.seeds, a.steps, a.lr, a.train_points, a.test_points)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
