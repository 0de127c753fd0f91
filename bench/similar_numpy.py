"""Nearest neighbours by cosine similarity over a 59,047 x 50 item-factor table:
embtool vs NumPy (normalise, matmul, argpartition), for one query and for every
item's top 10. Same matrix, REPS runs each; prints medians and the speed-ups, and
checks that both find the same neighbours."""
import csv
import json
import os
import statistics
import subprocess
import time

import numpy as np

from pca_similar_data import ROWS, FACTORS, arguments, factor_table, parse_timing, write_model

a, MACHINE, load_before = arguments(3, top=10)
k = a.top

x = factor_table()
model = write_model(f"{a.out}/factors-{ROWS}x{FACTORS}.safetensors", x)
query = 12345   # an arbitrary row; its label in a file without metadata is "12345"


def numpy_one(x, q):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = xn @ xn[q]
    s[q] = -np.inf
    top = np.argpartition(-s, k)[:k]
    return top[np.argsort(-s[top], kind="stable")]


def numpy_all(x, block=1024):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    out = np.empty((len(x), k), dtype=np.int64)
    for b in range(0, len(x), block):
        s = xn[b:b + block] @ xn.T
        rows = np.arange(s.shape[0])
        s[rows, b + rows] = -np.inf
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
        out[b:b + block] = np.take_along_axis(top, order, axis=1)
    return out


def median(xs):
    return statistics.median(xs)


def runs(xs, unit="ms"):
    return ", ".join(f"{v:.1f}" if unit == "ms" else f"{v:.2f}" for v in xs)


# One query.
np_one = []
for _ in range(max(a.reps, 5)):
    t = time.perf_counter()
    expected_one = numpy_one(x, query)
    np_one.append((time.perf_counter() - t) * 1e3)
em_one, em_wall = [], []
for _ in range(max(a.reps, 5)):
    t = time.perf_counter()
    r = subprocess.run([a.embtool, "similar", str(query), "--model", model, "--top", str(k), "--json", "--timing"],
                       capture_output=True, text=True, check=True)
    em_wall.append((time.perf_counter() - t) * 1e3)
    em_one.append(parse_timing(r.stderr, "query"))
got_one = [int(n["label"]) for n in json.loads(r.stdout)["neighbours"]]
same_one = got_one == expected_one.tolist()

# Every item's top k.
np_all = []
for _ in range(a.reps):
    t = time.perf_counter()
    expected_all = numpy_all(x)
    np_all.append(time.perf_counter() - t)
em_all, em_all_wall = [], []
out_csv = f"{a.out}/similar-all.csv"
for _ in range(a.reps):
    t = time.perf_counter()
    r = subprocess.run([a.embtool, "similar", "--all", "--model", model, "--top", str(k), "--csv", out_csv, "--timing"],
                       capture_output=True, text=True, check=True)
    em_all_wall.append(time.perf_counter() - t)
    em_all.append((parse_timing(r.stderr, "index") + parse_timing(r.stderr, "all-neighbours")) / 1e3)
got = {}
with open(out_csv) as f:
    for row in csv.DictReader(f):
        got.setdefault(int(row["label"]), []).append(int(row["neighbour"]))
agree = np.mean([len(set(got[i]) & set(expected_all[i].tolist())) / k for i in range(ROWS)])

print(f"matrix {ROWS} x {FACTORS} float32, cosine, top {k}; NumPy {np.__version__}")
print(f"one query   NumPy (normalise, matvec, argpartition): median {median(np_one):.2f} ms  (runs {runs(np_one)})")
print(f"            embtool (one pass for products and lengths, top-k, in-process): median {median(em_one):.2f} ms"
      f"  (runs {runs(em_one)}); whole command {median(em_wall):.0f} ms wall; same neighbours: {same_one}")
print(f"all items   NumPy (blocks of 1024: matmul, argpartition): median {median(np_all):.2f} s  (runs {runs(np_all, 's')})")
print(f"            embtool (blocked sgemm + top-k on both cores): median {median(em_all):.2f} s  (runs {runs(em_all, 's')});"
      f" whole command incl. writing the {ROWS * k:,}-row CSV {median(em_all_wall):.2f} s")
print(f"            neighbour sets agree on {agree * 100:.3f} % (ties and float rounding aside)")
if not same_one or agree < 0.999:
    raise SystemExit("embtool and NumPy disagree on the neighbours")
print(f"machine: {os.cpu_count()} cores, load average {load_before} before and {open('/proc/loadavg').read().split()[0]} after (other work on the machine slows both sides)")
print(f"machine: {MACHINE}")
print()
print("| benchmark | peer | peer time | embtool time | speed-up | agreement | machine (CPU; BLAS kernels) |")
print("|---|---|---|---|---|---|---|")
print(f"| similar: one query over {ROWS:,} x {FACTORS} | NumPy normalise + matvec + argpartition (embtool: one fused pass + top-k) | {median(np_one):.2f} ms | {median(em_one):.2f} ms | {median(np_one) / median(em_one):.1f}x | same top {k} | {MACHINE} |")
print(f"| similar: every item's top {k} over {ROWS:,} x {FACTORS} | NumPy normalise + matmul + argpartition | {median(np_all):.1f} s | {median(em_all):.2f} s | {median(np_all) / median(em_all):.1f}x | {agree * 100:.2f} % same neighbours | {MACHINE} |")
