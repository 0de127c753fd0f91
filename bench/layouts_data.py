"""A generated matrix for bench/layouts' scale run: ROWS x COLS float32 with the
structure of trained factors (decaying spectrum, lognormal lengths), as
bench/pca_similar_data.py makes its 59k table, saved as .npy.

    layouts_data.py OUT.npy [ROWS] [COLS]"""
import sys

import numpy as np


def main():
    out, rows = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    cols = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    rng = np.random.default_rng(0)
    spectrum = 1.0 / np.sqrt(np.arange(1, cols + 1))
    basis = np.linalg.qr(rng.normal(size=(cols, cols)))[0]
    x = np.empty((rows, cols), dtype=np.float32)
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        z = rng.normal(size=(n, cols)) * spectrum
        length = rng.lognormal(mean=0.0, sigma=0.35, size=(n, 1))
        x[start:start + n] = 0.3 * length * (z @ basis.T)
    np.save(out, x)


if __name__ == "__main__":
    main()
