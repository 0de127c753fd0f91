"""umap-learn on a .npy of vectors, as issue 10 measures it:

    umap_learn.py VECTORS.npy LAYOUT.npy  ->  {"cold": s, "warm": s, "warm_cpu": s} on stdout

UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", n_jobs=2) is fitted twice in one
process: the first run includes numba's compilation (cold), the second is timed warm
and its layout saved. No random_state: umap-learn then runs its parallel (Hogwild)
layout on both cores; a seed would make it single-threaded."""
import json
import sys
import time
import warnings

import numpy as np
import umap

warnings.filterwarnings("ignore")


def fit(x):
    start, cpu = time.perf_counter(), time.process_time()
    y = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", n_jobs=2).fit_transform(x)
    return time.perf_counter() - start, time.process_time() - cpu, y


def main():
    x = np.load(sys.argv[1]).astype(np.float32)
    cold, _, _ = fit(x)
    warm, warm_cpu, y = fit(x)
    np.save(sys.argv[2], y)
    print(json.dumps({"cold": round(cold, 2), "warm": round(warm, 2), "warm_cpu": round(warm_cpu, 2)}))


if __name__ == "__main__":
    main()
