#!/usr/bin/env python3
"""Prints Tests/fixtures/lr-find/fastai-suggestions.json: fastai's own suggestion functions
(`fastai.callback.schedule`: valley, minimum, steep) on synthetic loss curves, the reference
LRFinderTests compares embtool's with. Curves are made here (no data set): noisy U shapes over
an exponential learning-rate sweep, a plateau with a long dip, and random walks.
    bench/common.sh venv fastai:fastai  # a venv with fastai, then:
    $VENV/bin/python bench/lr_find_fixture.py > Tests/fixtures/lr-find/fastai-suggestions.json
"""
import json
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import torch
import fastai
from fastai.callback.schedule import minimum, steep, valley


def curves(rng):
    lrs = 1e-7 * (1e8 ** (np.arange(100) / 100))
    x = np.log10(lrs)
    for k in range(12):
        centre, width = rng.uniform(-4, 0), rng.uniform(0.5, 2)
        drop = 1 / (1 + np.exp(-(x - centre) / width * 3))
        rise = np.exp(np.clip(x - centre - rng.uniform(0.5, 2), -50, 5))
        yield f"U {k}", lrs, 1.2 - 0.4 * drop + 0.05 * rise + rng.normal(0, 0.01, 100).cumsum() * 0.2
    for k in range(4):
        yield f"walk {k}", lrs, 1 + rng.normal(0, 0.02, 100).cumsum()
    # A plateau, one long strictly decreasing stretch, then a climb: the valley's run is known.
    plateau = np.concatenate([np.full(30, 1.0), 1 - 0.005 * np.arange(1, 51), 0.75 + 0.05 * np.arange(1, 21)])
    yield "plateau", lrs, plateau


def main():
    rng = np.random.default_rng(20261130)
    out = {"fastai": fastai.__version__, "curves": []}
    for name, lrs, losses in curves(rng):
        # fastai's lr_find hands the suggestion functions float32 tensors (recorder values).
        l, y = torch.tensor(lrs, dtype=torch.float32), torch.tensor(losses, dtype=torch.float32)
        entry = {"name": name, "lrs": l.tolist(), "losses": y.tolist()}
        for fn in (valley, minimum, steep):
            lr, (point_lr, point_loss) = fn(l, y, 100)
            entry[fn.__name__] = {"lr": float(lr), "point_lr": float(point_lr), "point_loss": float(point_loss)}
        out["curves"].append(entry)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
