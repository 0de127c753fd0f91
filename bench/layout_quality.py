"""Quality of a 2-d layout of vectors, the two measures of issue 10.

    layout_quality.py VECTORS.npy LAYOUT.npy   ->  {"trustworthiness": t, "recall": r} on stdout

trustworthiness@10: scikit-learn's `trustworthiness`, cosine in the original space,
    on a seeded sample of 5,000 points (all of them when fewer);
kNN recall@10: for 2,000 seeded sample points, the share of each one's 10 cosine
    neighbours among all vectors that are among its 10 nearest (euclidean) in 2-d.
LAYOUT is a .npy of n x 2, or embtool's --json output (its points' x and y, in row order).
"""
import json
import sys

import numpy as np
from sklearn.manifold import trustworthiness

SEED = 0


def load_layout(path):
    if path.endswith(".npy"):
        return np.load(path).astype(np.float64)
    with open(path) as f:
        points = json.load(f)["points"]
    return np.array([[p["x"], p["y"]] for p in points], dtype=np.float64)


def recall_at_10(x, y, rng, samples=2000, k=10):
    n = x.shape[0]
    queries = rng.choice(n, size=min(samples, n), replace=False)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    hits = 0
    for start in range(0, len(queries), 256):
        q = queries[start:start + 256]
        sim = unit[q] @ unit.T
        sim[np.arange(len(q)), q] = -np.inf
        high = np.argpartition(-sim, k, axis=1)[:, :k]
        d2 = ((y[q, None, :] - y[None, :, :]) ** 2).sum(-1)
        d2[np.arange(len(q)), q] = np.inf
        low = np.argpartition(d2, k, axis=1)[:, :k]
        hits += sum(len(set(a) & set(b)) for a, b in zip(high, low))
    return hits / (len(queries) * k)


def main():
    x = np.load(sys.argv[1]).astype(np.float64)
    y = load_layout(sys.argv[2])
    assert x.shape[0] == y.shape[0], f"{x.shape[0]} vectors but {y.shape[0]} layout rows"
    rng = np.random.default_rng(SEED)
    sample = rng.choice(x.shape[0], size=min(5000, x.shape[0]), replace=False)
    t = trustworthiness(x[sample], y[sample], n_neighbors=10, metric="cosine")
    r = recall_at_10(x, y, np.random.default_rng(SEED + 1))
    print(json.dumps({"trustworthiness": round(float(t), 4), "recall": round(float(r), 4)}))


if __name__ == "__main__":
    main()
