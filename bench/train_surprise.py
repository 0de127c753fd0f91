#!/usr/bin/env python3
"""Helper of bench/train_surprise: Surprise SVD and embtool's best recipe on u1, in one run."""
import os
import statistics
import sys
import tempfile
import time

import embtool_train

from surprise import SVD, SVDpp, Dataset, Reader, accuracy


def u1(folder):
    with open(f"{folder}/u.data") as f:
        rows = [line.split("\t")[:3] for line in f if line.strip()]
    rows = [(u, i, float(r)) for u, i, r in rows]
    test, train = rows[:20000], rows[20000:]
    import pandas as pd
    df = pd.DataFrame(train, columns=["user", "item", "rating"])
    trainset = Dataset.load_from_df(df, Reader(rating_scale=(1, 5))).build_full_trainset()
    return trainset, test


def surprise_run(algo, trainset, test):
    start = time.perf_counter()
    algo.fit(trainset)
    seconds = time.perf_counter() - start
    rmse = accuracy.rmse(algo.test(test), verbose=False)
    return seconds, rmse


def embtool_run(embtool, data, key, seed, out):
    return embtool_train.train(embtool, "--recipe", "best", "--data", data, "--split", "u1", "--item-key", key,
                               "--seed", str(seed), "-o", out)


def main():
    args = embtool_train.arguments()
    trainset, test = u1(args.data)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            seed = rep + 1
            for name, make in [("Surprise SVD (defaults)", lambda: SVD(random_state=seed)),
                               ("Surprise SVD++ (defaults)", lambda: SVDpp(random_state=seed))]:
                results.setdefault(name, []).append(surprise_run(make(), trainset, test))
            for key in ["id", "title"]:
                s, r, wall = embtool_run(args.embtool, args.data, key, seed, f"{tmp}/m.safetensors")
                results.setdefault(f"embtool best (items by {key})", []).append((s, r, wall))
            print(f"seed {seed}: " + "; ".join(f"{k} {v[-1][0]:.2f} s RMSE {v[-1][1]:.4f}" for k, v in results.items()),
                  file=sys.stderr)
    print()
    print(f"u1 of ml-100k, median fit time and mean test RMSE over {args.reps} seeds, {os.cpu_count()} cores")
    print()
    svd_time = statistics.median(r[0] for r in results["Surprise SVD (defaults)"])
    print("| u1 (ml-100k) | fit time | test RMSE | time vs Surprise SVD |")
    print("| --- | --- | --- | --- |")
    for name, runs in results.items():
        t = statistics.median(r[0] for r in runs)
        rmse = statistics.mean(r[1] for r in runs)
        wall = f" ({statistics.median(r[2] for r in runs):.2f} s process)" if len(runs[0]) > 2 else ""
        print(f"| {name} | {t:.2f} s{wall} | {rmse:.4f} | {t / svd_time:.2f}x |")


if __name__ == "__main__":
    main()
