"""Start-up on a large model: `embtool similar`, `pca` and `bias` on a MovieLens-25M-sized
embtool model (59,047 items and 162,541 users x 50 factors, 51 MB, a 6 MB JSON header of
vocabularies, counts and genres, as `embtool train` writes it), wall time of the whole
process, median of REPS runs, beside `embtool --help` (the process's floor). Labels are
invented ("Movie 17 (1994)"), never MovieLens titles. Ends with markdown table rows."""
import argparse
import json
import os
import statistics
import subprocess
import time

import numpy as np
from safetensors.numpy import save_file

import machine

ITEMS, USERS, FACTORS = 59_048, 162_542, 50   # with fastai's '#na#' row 0
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]

p = argparse.ArgumentParser()
p.add_argument("--embtool", required=True)
p.add_argument("--out", required=True)
p.add_argument("--reps", type=int, default=10)
a = p.parse_args()


def write_model(path):
    rng = np.random.default_rng(0)
    labels = ["#na#"] + [f"Movie {i} ({1920 + rng.integers(0, 100)})" for i in range(1, ITEMS)]
    counts = [0] + [int(c) for c in np.minimum(rng.zipf(1.6, ITEMS - 1), 80_000)]
    genres = [[]] + [sorted(set(rng.choice(GENRES, size=rng.integers(1, 4)).tolist())) for _ in range(ITEMS - 1)]
    tensors = {
        "u_weight.weight": (0.1 * rng.normal(size=(USERS, FACTORS))).astype(np.float32),
        "i_weight.weight": (0.1 * rng.normal(size=(ITEMS, FACTORS))).astype(np.float32),
        "u_bias.weight": (0.1 * rng.normal(size=(USERS, 1))).astype(np.float32),
        "i_bias.weight": (0.1 * rng.normal(size=(ITEMS, 1))).astype(np.float32),
    }
    dump = lambda v: json.dumps(v, separators=(",", ":"))
    metadata = {"format": "pt", "producer": "embtool", "dataset": "synthetic-large", "item_key": "title",
                "users": dump(["#na#"] + [str(u) for u in range(1, USERS)]), "items": dump(labels),
                "item_labels": dump(labels), "item_counts": dump(counts), "genres": dump(genres),
                "y_range": "[0,5.5]", "data_sha256": ""}
    save_file(tensors, path, metadata=metadata)
    return labels[1]


def median_ms(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # page cache warm
    ms = []
    for _ in range(a.reps):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ms.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ms), min(ms), max(ms)


os.makedirs(a.out, exist_ok=True)
path = os.path.join(a.out, "startup-large.safetensors")
query = write_model(path)
load_before = open("/proc/loadavg").read().split()[0]
rows = []
for name, args in [("similar", ["similar", query]), ("pca", ["pca"]), ("bias", ["bias"])]:
    rows.append((name, median_ms([a.embtool, *args, "--model", path])))
floor = median_ms([a.embtool, "--help"])
size = os.path.getsize(path) / 1e6
print(f"model: {ITEMS - 1:,} items, {USERS - 1:,} users x {FACTORS}, {size:.0f} MB; {a.reps} runs each after one warm-up")
print(f"machine: {os.cpu_count()} cores, load average {load_before} before and {open('/proc/loadavg').read().split()[0]} after")
print(f"machine: {machine.describe(a.embtool)}")
print()
print("| command on the large model | wall, median | min-max | embtool --help |")
print("|---|---|---|---|")
for name, (med, lo, hi) in rows:
    print(f"| start-up: embtool {name} ({ITEMS - 1:,} items, {USERS - 1:,} users, {size:.0f} MB) | {med:.1f} ms | {lo:.1f}-{hi:.1f} ms | {floor[0]:.1f} ms |")
