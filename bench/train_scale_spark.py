#!/usr/bin/env python3
"""Helper of bench/train_scale --spark: Spark ML ALS, local[2], rank 50, on an ml-25m-layout ratings.csv.

Times `ALS(maxIter=1).fit`, which includes ALS's own partitioning of the ratings, after
Spark's start-up and the load of the file (reported apart)."""
import argparse
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ratings", required=True)
    args = ap.parse_args()
    from pyspark.sql import SparkSession
    from pyspark.ml.recommendation import ALS
    start = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "8g")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.csv(args.ratings, header=True,
                        schema="userId INT, movieId INT, rating FLOAT, timestamp LONG").cache()
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
