#!/usr/bin/env python3
"""Helper of bench/train_scale --spark: Spark ML ALS, local[2], rank 50, one iteration, on 25M ratings.

Without --ratings it writes a ratings.csv of ml-25m's shape (power-law users and items,
a planted rank-8 model, half stars) and reads it back, as Spark users do."""
import argparse
import os
import statistics
import sys
import time

import numpy as np


def generate(path, seed=1):
    rng = np.random.default_rng(seed)
    users, items, n = 162_541, 59_047, 25_000_095
    weights = 1 / np.arange(1, users + 1) ** 0.8
    per_user = 20 + np.floor((n - 20 * users) * weights / weights.sum()).astype(np.int64)
    per_user[: n - per_user.sum()] += 1
    rng.shuffle(per_user)
    user = np.repeat(np.arange(users, dtype=np.int32), per_user)
    popularity = 1 / np.arange(1, items + 1)
    item = rng.permutation(items)[np.searchsorted(np.cumsum(popularity) / popularity.sum(), rng.random(n))]
    uf = rng.normal(0, 8 ** -0.5, (users, 8)).astype(np.float32)
    itf = rng.normal(0, 8 ** -0.5, (items, 8)).astype(np.float32)
    rating = 3.5 + np.einsum("ij,ij->i", uf[user], itf[item]) + rng.normal(0, 0.4, n)
    rating = np.clip(np.round(rating * 2) / 2, 0.5, 5)
    with open(path, "w") as f:
        f.write("userId,movieId,rating\n")
        for start in range(0, n, 1_000_000):
            block = np.column_stack([user[start:start + 1_000_000] + 1, item[start:start + 1_000_000] + 1,
                                     rating[start:start + 1_000_000]])
            np.savetxt(f, block, fmt=["%d", "%d", "%.1f"], delimiter=",")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ratings")
    args = ap.parse_args()
    path = args.ratings or os.path.join(args.dir, "ratings.csv")
    if not args.ratings:
        print("writing a 25M-rating ratings.csv for Spark", file=sys.stderr)
        generate(path)
    from pyspark.sql import SparkSession
    from pyspark.ml.recommendation import ALS
    start = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "8g")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.csv(path, header=True, inferSchema=False, schema="userId INT, movieId INT, rating FLOAT").cache()
    df.count()
    startup = time.perf_counter() - start
    times = []
    for rep in range(args.reps):
        als = ALS(rank=50, maxIter=1, regParam=0.05, userCol="userId", itemCol="movieId", ratingCol="rating", seed=rep)
        t = time.perf_counter()
        als.fit(df)
        times.append(time.perf_counter() - t)
        print(f"Spark ALS run {rep + 1}: fit(maxIter=1) {times[-1]:.1f} s", file=sys.stderr)
    spark.stop()
    print(f"| Spark ML ALS local[2], rank 50, fit with maxIter=1 | {statistics.median(times):.2f} s "
          f"(after {startup:.0f} s start-up and load) | - | |")


if __name__ == "__main__":
    main()
