#!/usr/bin/env python3
"""Does a real Spark ALSModel.save() directory of ml-100k load, and give NumPy's neighbours?

1. Spark reads ml-100k's u.data and writes it as Parquet (`df.repartition(4).write.parquet`).
2. Spark trains ALS(rank=10, maxIter=10, regParam=0.1, seed=1) on it and `model.save()`s it.
3. `embtool data --data <parquet folder> --json` must count 100000 ratings, 943 users, 1682 items.
4. pyarrow reads itemFactors/*.parquet; NumPy ranks every item's 10 nearest items by cosine.
   `embtool similar --all --top 10 --csv --model <saved model>` must list the same neighbours
   (ties within 1e-6 may swap) with cosines equal to 1e-4.

Everything derived from MovieLens goes to a temporary folder and is deleted: nothing is committed.
Needs pyspark, pyarrow and numpy in the venv and Java 17.

Usage: python bench/check_spark_parquet.py [--embtool .build/release/embtool] [--data ../shared/ml-100k]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spark_write(data, tmp):
    from pyspark import __version__ as spark_version
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("embtool-check")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    ratings = (spark.read.csv(f"{data}/u.data", sep="\t", schema="userId int, movieId int, rating double, timestamp long"))
    ratings.repartition(4).write.parquet(f"{tmp}/ratings")
    model = ALS(rank=10, maxIter=10, regParam=0.1, seed=1, userCol="userId", itemCol="movieId",
                ratingCol="rating").fit(ratings)
    model.save(f"{tmp}/als_model")
    spark.stop()
    return spark_version


def numpy_neighbours(model_dir, top):
    t = pq.read_table(f"{model_dir}/itemFactors")
    ids = t.column("id").to_numpy()
    m = np.array(t.column("features").to_pylist(), dtype=np.float64)
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    cos = unit @ unit.T
    out = {}
    for r, i in enumerate(ids):
        order = [c for c in np.argsort(-cos[r], kind="stable") if c != r][:top]
        out[str(i)] = [(str(ids[c]), float(cos[r, c])) for c in order]
    return out, cos, {str(i): r for r, i in enumerate(ids)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--embtool", default=f"{ROOT}/.build/release/embtool")
    p.add_argument("--data", default=os.environ.get("EMBTOOL_ML100K", f"{ROOT}/../shared/ml-100k"))
    p.add_argument("--top", type=int, default=10)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        version = spark_write(args.data, tmp)
        data = json.loads(subprocess.run([args.embtool, "data", "--data", f"{tmp}/ratings", "--json"],
                                         check=True, capture_output=True, text=True).stdout)
        counts = (data["ratings"], data["users"], data["items"])
        counts_ok = counts == (100000, 943, 1682)
        print(f"Spark {version}: ratings Parquet ({len([f for f in os.listdir(f'{tmp}/ratings') if f.endswith('.parquet')])} part files): "
              f"embtool data counts {counts[0]}/{counts[1]}/{counts[2]} -> {'PASS' if counts_ok else 'FAIL'}")

        subprocess.run([args.embtool, "similar", "--all", "--top", str(args.top), "--min-ratings", "0",
                        "--model", f"{tmp}/als_model", "--csv", f"{tmp}/neighbours.csv"], check=True, capture_output=True)
        got = {}
        with open(f"{tmp}/neighbours.csv") as f:
            for row in csv.DictReader(f):
                got.setdefault(row["label"], []).append((row["neighbour"], float(row["similarity"])))
        expected, cos, row_of = numpy_neighbours(f"{tmp}/als_model", args.top)
        lists_equal = swapped_ties = 0
        worst = 0.0
        for item, want in expected.items():
            have = got.get(item, [])
            if [n for n, _ in have] == [n for n, _ in want]:
                lists_equal += 1
            elif len(have) == len(want) and all(abs(cos[row_of[item], row_of[h]] - w) <= 1e-6
                                                 for (h, _), (_, w) in zip(have, want)):
                swapped_ties += 1
            # Every cosine embtool reports, against NumPy's cosine of the same pair.
            for n, s in have:
                worst = max(worst, abs(s - cos[row_of[item], row_of[n]]))
        # How many NumPy lists hold a near-tie at all (two of the top top+1 cosines within 1e-6):
        # items rated by one user get factors parallel to that user's, so cosines of exactly 1 repeat.
        tied = 0
        for item in expected:
            c = np.sort(np.delete(cos[row_of[item]], row_of[item]))[::-1][:args.top + 1]
            tied += bool(np.any(np.abs(np.diff(c)) <= 1e-6))
        print(f"NumPy's own lists with a near-tie (two of the top {args.top + 1} cosines within 1e-6): {tied}")
        ok = lists_equal + swapped_ties == len(expected) and worst <= 1e-4
        print(f"similar --all --top {args.top} --model <ALSModel.save() dir>: {lists_equal}/{len(expected)} lists equal NumPy's, "
              f"{swapped_ties} differ only by ties within 1e-6; max |cosine - NumPy| = {worst:.2e} -> {'PASS' if ok else 'FAIL'}")
        return 0 if ok and counts_ok else 1


if __name__ == "__main__":
    sys.exit(main())
