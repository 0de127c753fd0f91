#!/usr/bin/env python3
"""Helper of bench/train_fastai_nn: fastbook chapter 8's last model, fastai vs `embtool train --arch nn`, one run."""
import math
import os
import random
import statistics
import sys
import tempfile
import time
import warnings

import embtool_train
from train_fastai import LOADERS, SAMPLING, movielens, runs_note

warnings.filterwarnings("ignore")
import numpy as np
import torch
from fastai.collab import TabularCollab, collab_learner
from fastai.tabular.all import Categorify, TransformBlock

LAYERS = [100, 50]


def fastai_run(df, seed, loader):
    """collab_learner(dls, use_nn=True, y_range=(0, 5.5), layers=[100, 50]) + fit_one_cycle(5, 5e-3, wd=0.1) on u1."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    kwargs = {} if LOADERS[loader] is None else {"dl_type": LOADERS[loader]}
    # mku.sh: u1.test is lines 1-20000 of u.data, u1.base the rest.
    splits = (list(range(20000, len(df))), list(range(20000)))
    to = TabularCollab(df, [Categorify], ["user", "title"], y_names=["rating"], y_block=TransformBlock(), splits=splits)
    dls = to.dataloaders(bs=64, **kwargs)
    learn = collab_learner(dls, use_nn=True, y_range=(0, 5.5), layers=LAYERS)
    with learn.no_bar(), learn.no_logging():
        start = time.perf_counter()
        learn.fit_one_cycle(5, 5e-3, wd=0.1)
        seconds = time.perf_counter() - start
        mse = float(learn.validate()[0])
    return seconds, math.sqrt(mse)


def embtool_run(embtool, data, seed, sampling, out, threads):
    return embtool_train.train(embtool, "--data", data, "--split", "u1", "--arch", "nn", "--seed", str(seed),
                               "--sampling", sampling, "--threads", str(threads), "-o", out)


def main():
    args = embtool_train.arguments()
    df = movielens(args.data)
    print(f"fastai {__import__('fastai').__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for loader, sampling in SAMPLING.items():
            fa, em, em1 = [], [], []
            for rep in range(args.reps):
                seed = rep + 1
                fa.append(fastai_run(df, seed, loader))
                em.append(embtool_run(args.embtool, args.data, seed, sampling, f"{tmp}/m.safetensors", 2))
                em1.append(embtool_run(args.embtool, args.data, seed, sampling, f"{tmp}/m1.safetensors", 1))
                assert em1[-1][1] == em[-1][1], "one thread and two must train the same model"
                print(f"u1 seed {seed}: fastai ({loader}) {fa[-1][0]:.2f} s RMSE {fa[-1][1]:.4f} | embtool --arch nn "
                      f"(--sampling {sampling}) {em[-1][0]:.3f} s, 1 thread {em1[-1][0]:.3f} s (process {em[-1][2]:.3f} s) "
                      f"RMSE {em[-1][1]:.4f} | load {os.getloadavg()[0]:.2f}", file=sys.stderr)
            rows.append((loader, sampling, statistics.median(r[0] for r in fa), [r[1] for r in fa],
                         statistics.median(r[0] for r in em), statistics.median(r[2] for r in em),
                         statistics.median(r[0] for r in em1), [r[1] for r in em]))
    print()
    print(f"fastbook's EmbeddingNN on ml-100k keyed by title, fold u1: collab_learner(use_nn=True, layers={LAYERS}, "
          f"y_range=(0, 5.5)) + fit_one_cycle(5, 5e-3, wd=0.1); "
          f"{runs_note(args.reps, 'embtool process wall in parentheses; embtool default 2 threads, and 1 thread')}.")
    print()
    print("| model | fastai loader | fastai time | fastai valid RMSE | embtool --sampling | embtool time | embtool 1 thread "
          "| embtool valid RMSE | RMSE difference | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for loader, sampling, fa_t, fa_r, em_t, em_wall, em1_t, em_r in rows:
        fa_rmse, em_rmse, diff = embtool_train.rmse_cells(fa_r, em_r)
        print(f"| train ml-100k u1 (EmbeddingNN) | {loader} | {fa_t:.2f} s | {fa_rmse} | {sampling} "
              f"| {em_t:.3f} s ({em_wall:.2f} s) | {em1_t:.3f} s | {em_rmse} | {diff} | {fa_t / em_t:.0f}x |")


if __name__ == "__main__":
    main()
