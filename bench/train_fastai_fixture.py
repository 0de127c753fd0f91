#!/usr/bin/env python3
"""Records one real fastai training run, step by step, as a JSON fixture.

The test TrainFastaiReplayTests replays it through the loop `embtool train` runs
(same initial weights, same batches) and compares the train_loss and valid_loss
columns, every learning rate and momentum, and the final weights with fastai's. The data are 40
synthetic ratings (no MovieLens). Run with the venv of bench/train_fastai:

    EMBTOOL_VENV=/work/venv bench/train_fastai --fixture > fixture.json
    $VENV/bin/python bench/train_fastai_fixture.py --loader TabDataLoader \
        > Tests/fixtures/replay/fastai-tabdataloader.json

fastai 2.8's default loader (TabWeightedDL) draws each epoch's batches with replacement;
`--loader TabDataLoader` records the book's loader, which shuffles.
"""
import argparse
import json
import sys
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import torch
from fastai.collab import CollabDataLoaders, collab_learner
from fastai.callback.core import Callback
from fastai.tabular.core import TabDataLoader
from fastai.torch_core import set_seed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loader", choices=["default", "TabDataLoader"], default="default")
    args = ap.parse_args()
    set_seed(0)  # Python's random (the DataLoader's shuffle), NumPy and PyTorch
    rng = np.random.default_rng(0)
    users, items = 7, 6
    pairs = [(u, i) for u in range(users) for i in range(items)]
    chosen = rng.choice(len(pairs), size=40, replace=False)
    df = pd.DataFrame({
        "user": [f"u{pairs[c][0]}" for c in chosen],
        "item": [f"i{pairs[c][1]}" for c in chosen],
        "rating": rng.integers(1, 6, size=40).astype("float32"),
    })
    kwargs = {"dl_type": TabDataLoader} if args.loader == "TabDataLoader" else {}
    dls = CollabDataLoaders.from_df(df, bs=8, valid_pct=0.2, seed=1, **kwargs)
    learn = collab_learner(dls, n_factors=3, y_range=(0, 5.5))
    init = {k: v.detach().clone().tolist() for k, v in learn.model.state_dict().items()}

    class Record(Callback):
        order = 70  # after ParamScheduler, which sets this batch's lr and mom

        def before_fit(self):
            self.steps = []

        def before_batch(self):
            if self.training:
                self.steps.append({
                    "x": self.xb[0].tolist(),
                    "y": self.yb[0].flatten().tolist(),
                    "lr": self.opt.hypers[-1]["lr"],
                    "mom": self.opt.hypers[-1]["mom"],
                })

        def after_loss(self):
            if self.training:
                self.steps[-1]["loss"] = float(self.loss)

    record = Record()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(3, 0.05, wd=0.1, cbs=[record])
    final = {k: v.detach().tolist() for k, v in learn.model.state_dict().items()}
    valid, train = dls.valid_ds.items, dls.train_ds.items
    # fastai's shuffled training loader repeats some ratings within an epoch and
    # skips others, so the batches do not list the training set: it is written
    # out too, sorted by (user, item), for a replay through embtool's loop.
    train_rows = sorted(zip(train["user"].astype(int), train["item"].astype(int), train["rating"].astype(float)))
    out = {
        "loader": args.loader,
        "n_users": len(dls.classes["user"]),
        "n_items": len(dls.classes["item"]),
        "factors": 3,
        "epochs": 3,
        "lr_max": 0.05,
        "wd": 0.1,
        "batches_per_epoch": len(dls.train),
        "init": init,
        "steps": record.steps,
        "final": final,
        "train_loss": [float(v[0]) for v in learn.recorder.values],
        "valid_loss": [float(v[1]) for v in learn.recorder.values],
        "valid": {"x": [[int(u), int(i)] for u, i in zip(valid["user"], valid["item"])],
                  "y": [float(r) for r in valid["rating"]]},
        "train": {"x": [[int(u), int(i)] for u, i, _ in train_rows], "y": [float(r) for _, _, r in train_rows]},
    }
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
