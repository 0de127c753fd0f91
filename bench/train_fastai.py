#!/usr/bin/env python3
"""Helper of bench/train_fastai: fastai and embtool, same files, same recipe, in one run."""
import math
import os
import random
import statistics
import sys
import tempfile
import time
import warnings

import embtool_train

warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import torch
from fastai.collab import CollabDataLoaders, TabularCollab, collab_learner
from fastai.tabular.all import Categorify, TabDataLoader, TransformBlock


def movielens(folder):
    """u.data in file order (GroupLens' folds are line ranges of it), items keyed by title."""
    ratings = pd.read_csv(f"{folder}/u.data", sep="\t", header=None, names=["user", "movie", "rating", "timestamp"])
    movies = pd.read_csv(f"{folder}/u.item", sep="|", encoding="latin-1", usecols=(0, 1),
                         names=("movie", "title"), header=None)
    ratings["title"] = ratings.movie.map(dict(zip(movies.movie, movies.title)))
    return ratings[["user", "title", "rating"]]


# fastai 2.8's collab loaders are TabWeightedDL (TabularPandas._dl_type): without weights its
# get_idxs is np.random.choice(n, n, p=uniform), each epoch's batches drawn with replacement
# from NumPy's global RNG. TabDataLoader is the book's loader: a shuffle, every rating once.
LOADERS = {"default": None, "TabDataLoader": TabDataLoader}
# The embtool sampling that matches each fastai loader.
SAMPLING = {"default": "replacement", "TabDataLoader": "shuffle"}


def fastai_run(df, split, seed, loader):
    # Seed every stream fastai draws from: torch (init), NumPy (TabWeightedDL's draws), random.
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    kwargs = {} if LOADERS[loader] is None else {"dl_type": LOADERS[loader]}
    if split == "u1":
        # mku.sh: u1.test is lines 1-20000 of u.data, u1.base the rest.
        splits = (list(range(20000, len(df))), list(range(20000)))
        to = TabularCollab(df, [Categorify], ["user", "title"], y_names=["rating"],
                           y_block=TransformBlock(), splits=splits)
        dls = to.dataloaders(bs=64, **kwargs)
    else:
        dls = CollabDataLoaders.from_df(df, item_name="title", bs=64, seed=42, **kwargs)
    learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    with learn.no_bar(), learn.no_logging():
        start = time.perf_counter()
        learn.fit_one_cycle(5, 5e-3, wd=0.1)
        seconds = time.perf_counter() - start
        mse = float(learn.validate()[0])
    return seconds, math.sqrt(mse)


def embtool_run(embtool, data, split, seed, sampling, out):
    return embtool_train.train(embtool, "--data", data, "--split", split, "--seed", str(seed),
                               "--sampling", sampling, "-o", out)


def runs_note(reps, embtool_times="embtool process wall in parentheses"):
    """How the comparison tables of this bench and train_fastai_nn were made."""
    return (f"median of {reps} runs (seeds 1..{reps}), RMSE = mean over the runs (each run's in parentheses); "
            f"time = training only ({embtool_times}). fastai's default loader draws with replacement "
            f"(TabWeightedDL), TabDataLoader shuffles; embtool's --sampling matches each")


def main():
    args = embtool_train.arguments(splits="u1,random")   # --splits: comma-separated, u1 and/or random
    df = movielens(args.data)
    print(f"fastai {__import__('fastai').__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{os.cpu_count()} cores", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for split in args.splits.split(","):
            for loader, sampling in SAMPLING.items():
                fa, em = [], []
                for rep in range(args.reps):
                    seed = rep + 1
                    fa.append(fastai_run(df, split, seed, loader))
                    em.append(embtool_run(args.embtool, args.data, split, seed, sampling, f"{tmp}/m.safetensors"))
                    print(f"{split} seed {seed}: fastai ({loader}) {fa[-1][0]:.2f} s RMSE {fa[-1][1]:.4f} | "
                          f"embtool (--sampling {sampling}) {em[-1][0]:.3f} s (process {em[-1][2]:.3f} s) "
                          f"RMSE {em[-1][1]:.4f}", file=sys.stderr)
                fa_t = statistics.median(r[0] for r in fa)
                em_t = statistics.median(r[0] for r in em)
                em_wall = statistics.median(r[2] for r in em)
                rows.append((split, loader, sampling, fa_t, [r[1] for r in fa], em_t, em_wall, [r[1] for r in em]))
    print()
    print(f"fastai recipe on ml-100k keyed by title, 5 epochs; {runs_note(args.reps)}.")
    print()
    print("| split | fastai loader | fastai time | fastai valid RMSE | embtool --sampling | embtool time "
          "| embtool valid RMSE | RMSE difference | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for split, loader, sampling, fa_t, fa_r, em_t, em_wall, em_r in rows:
        fa_rmse, em_rmse, diff = embtool_train.rmse_cells(fa_r, em_r)
        print(f"| train ml-100k {split} (fastai recipe) | {loader} | {fa_t:.2f} s | {fa_rmse} "
              f"| {sampling} | {em_t:.3f} s ({em_wall:.2f} s) | {em_rmse} | {diff} | {fa_t / em_t:.0f}x |")


if __name__ == "__main__":
    main()
