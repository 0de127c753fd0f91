#!/usr/bin/env python3
"""fastai's learn.lr_find() beside `embtool lr-find` on fold u1 of ml-100k (keyed by title), fastbook's
dot model (collab_learner(n_factors=50, y_range=(0, 5.5))): the valley, minimum and steep suggestions of
fastai 2.8 with its default loader and with dl_type=TabDataLoader (seeds 1-3, every RNG seeded), and of
embtool with --sampling replacement and shuffle (seeds 1-10; a sweep takes a fraction of a second).
    $VENV/bin/python bench/lr_find_fastai.py --embtool .build/release/embtool --data ../shared/ml-100k
"""
import argparse
import json
import random
import statistics
import subprocess
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import torch
from fastai.callback.schedule import minimum, steep, valley
from fastai.collab import TabularCollab, collab_learner
from fastai.tabular.all import Categorify, TabDataLoader, TransformBlock

from train_fastai import movielens


def fastai_valleys(df, loader, seeds):
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        splits = (list(range(20000, len(df))), list(range(20000)))  # u1
        to = TabularCollab(df, [Categorify], ["user", "title"], y_names=["rating"], y_block=TransformBlock(), splits=splits)
        dls = to.dataloaders(bs=64) if loader is None else to.dataloaders(bs=64, dl_type=loader)
        learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
        with learn.no_bar():
            s = learn.lr_find(show_plot=False, suggest_funcs=(valley, minimum, steep))
        print(f"fastai ({'default' if loader is None else 'TabDataLoader'}) seed {seed}: {s}", flush=True)
        out.append(s.valley)
    return out


def embtool_valleys(embtool, data, sampling, seeds):
    out = []
    for seed in seeds:
        proc = subprocess.run([embtool, "lr-find", "--data", data, "--split", "u1", "--seed", str(seed),
                               "--sampling", sampling, "--json"], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout)
        print(f"embtool (--sampling {sampling}) seed {seed}: valley {r['valley']['lr']:.4g} minimum "
              f"{r['minimum']['lr']:.4g} steep {r['steep']['lr']:.4g} in {r['seconds']:.3f} s", flush=True)
        out.append(r["valley"]["lr"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--embtool", required=True)
    ap.add_argument("--data", required=True)
    args = ap.parse_args()
    df = movielens(args.data)
    rows = [("fastai, default loader", fastai_valleys(df, None, [1, 2, 3])),
            ("fastai, TabDataLoader", fastai_valleys(df, TabDataLoader, [1, 2, 3])),
            ("embtool --sampling replacement", embtool_valleys(args.embtool, args.data, "replacement", range(1, 11))),
            ("embtool --sampling shuffle", embtool_valleys(args.embtool, args.data, "shuffle", range(1, 11)))]
    print("\n| u1, lr_find valley | seeds | median | range |\n| --- | --- | --- | --- |")
    for name, v in rows:
        print(f"| {name} | {len(v)} | {statistics.median(v):.3g} | {min(v):.3g}–{max(v):.3g} |")


if __name__ == "__main__":
    main()
