#!/usr/bin/env python3
"""Does embtool read a fastai `learn.export()` file as PyTorch does, with no `--data`?

1. fastai 2.8 trains a collab learner on MovieLens 100k for one epoch (fastbook's chapter 8 recipe:
   titles as items, n_factors=50, y_range=(0, 5.5); and the same with use_nn=True) and exports it.
2. `load_learner` reads the export back; PyTorch computes the cosine neighbours of "Star Wars (1977)"
   over the item embeddings (row 0, '#na#', and the query excluded) and the lowest and highest item biases.
3. `embtool similar ... --model export.pkl --json` and `embtool bias ... --json` must list the same titles
   in the same order with the same values to 1e-5; with `--data` too (titles matched by key, counts added).

Nothing derived from MovieLens is written outside a temporary folder.

Usage: python bench/check_fastai_export.py --embtool .build/release/embtool --data ../shared/ml-100k
       (with fastai 2.8 installed, e.g. /work/venv-fastai/bin/python)
"""
import argparse
import json
import os
import pickletools
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

warnings.filterwarnings("ignore")
import pandas as pd
import torch
from fastai.collab import CollabDataLoaders, collab_learner, load_learner

QUERY = "Star Wars (1977)"
TOP = 10


def ratings(data):
    r = pd.read_csv(f"{data}/u.data", sep="\t", header=None, names=["user", "movie", "rating", "timestamp"])
    movies = pd.read_csv(f"{data}/u.item", sep="|", encoding="latin-1", usecols=(0, 1), names=("movie", "title"), header=None)
    return r.merge(movies)[["user", "title", "rating"]]


def embtool_json(embtool, args):
    out = subprocess.run([embtool, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def memo_entries(path):
    with zipfile.ZipFile(path) as z:
        pickle = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    return sum(op.name in ("BINPUT", "LONG_BINPUT", "MEMOIZE") for op, _, _ in pickletools.genops(pickle))


def check(embtool, data, df, tmp, use_nn):
    label = "EmbeddingNN" if use_nn else "EmbeddingDotBias"
    dls = CollabDataLoaders.from_df(df, item_name="title", bs=64, seed=42)
    kwargs = dict(use_nn=True, layers=[100, 50]) if use_nn else dict(n_factors=50)
    learn = collab_learner(dls, y_range=(0, 5.5), **kwargs)
    started = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 5e-3, wd=0.1)
    trained = time.time() - started
    learn.path = Path(tmp)
    name = f"{label}.pkl"
    learn.export(name)
    path = f"{tmp}/{name}"

    loaded = load_learner(path)
    titles = [str(t) for t in loaded.dls.classes["title"]]
    model = loaded.model
    w = (model.embeds[1].weight if use_nn else model.i_weight.weight).detach().double()
    q = titles.index(QUERY)
    sims = (w @ w[q]) / (w.norm(dim=1) * w[q].norm())
    order = [int(i) for i in torch.argsort(sims, descending=True, stable=True) if i not in (0, q)][:TOP]

    started = time.time()
    got = embtool_json(embtool, ["similar", QUERY, "--model", path, "--top", str(TOP), "--min-ratings", "0"])["neighbours"]
    seconds = time.time() - started
    # With --data the file's titles are matched to the ratings' by key: same list, now with counts.
    with_data = embtool_json(embtool, ["similar", QUERY, "--model", path, "--top", str(TOP), "--min-ratings", "0",
                                       "--data", data])["neighbours"]
    keyed = [g["label"] for g in with_data] == [g["label"] for g in got] and all(g["count"] for g in with_data)
    same_order = [g["label"] for g in got] == [titles[i] for i in order]
    worst = max(abs(g["similarity"] - float(sims[i])) for g, i in zip(got, order))
    ok = same_order and worst <= 1e-5 and keyed
    print(f"{label}: {os.path.getsize(path)} bytes, {memo_entries(path)} memo entries, trained 1 epoch in {trained:.0f} s; "
          f"similar '{QUERY}' in {seconds:.2f} s: top {TOP} titles {'in the same order' if same_order else 'DIFFER'}, "
          f"max |cosine difference| = {worst:.2e}; with --data {'the same list, with counts' if keyed else 'DIFFERENT'} "
          f"-> {'PASS' if ok else 'FAIL'}")
    print("  " + "; ".join(f"{titles[i]} {float(sims[i]):.4f}" for i in order[:5]))
    if not use_nn:
        b = model.i_bias.weight.detach().double().squeeze(1)
        rows = [int(i) for i in torch.argsort(b, stable=True) if i != 0]
        j = embtool_json(embtool, ["bias", "--model", path, "--top", "5", "--bottom", "5"])
        for end, want in [("lowest", rows[:5]), ("highest", rows[::-1][:5])]:
            same = [e["label"] for e in j[end]] == [titles[i] for i in want]
            diff = max(abs(e["bias"] - float(b[i])) for e, i in zip(j[end], want))
            ok = ok and same and diff <= 1e-5
            print(f"  bias {end}: {'same titles in order' if same else 'DIFFER'}, max |difference| = {diff:.2e}: "
                  + ", ".join(titles[i] for i in want))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embtool", default=".build/release/embtool")
    parser.add_argument("--data", default="../shared/ml-100k")
    args = parser.parse_args()
    torch.manual_seed(42)
    df = ratings(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        ok = all([check(args.embtool, args.data, df, tmp, use_nn) for use_nn in (False, True)])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
