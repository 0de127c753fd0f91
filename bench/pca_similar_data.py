"""Shared by bench/pca_sklearn.py and bench/similar_numpy.py: a MovieLens-25M-sized
item-factor table (59,047 movies x 50 factors, float32) with the structure a
trained embedding has (a decaying spectrum, popular-item length), written as a
safetensors file with fastai's tensor name so `embtool --model FILE` reads it."""
import argparse
import os

import numpy as np
from safetensors.numpy import save_file

ROWS, FACTORS = 59_047, 50


def arguments(reps, **extra):
    """--embtool, --out, --reps and the script's own integer options (name=default),
    with the machine's description and its load average before the run."""
    import machine
    p = argparse.ArgumentParser()
    p.add_argument("--embtool", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--reps", type=int, default=reps)
    for name, default in extra.items():
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    return a, machine.describe(a.embtool), open("/proc/loadavg").read().split()[0]


def factor_table(seed=0):
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(np.arange(1, FACTORS + 1))          # decaying variance per direction
    basis = np.linalg.qr(rng.normal(size=(FACTORS, FACTORS)))[0]
    z = rng.normal(size=(ROWS, FACTORS)) * spectrum
    length = rng.lognormal(mean=0.0, sigma=0.35, size=(ROWS, 1))  # popular items have longer vectors
    x = 0.3 * length * (z @ basis.T) + 0.05 * rng.normal(size=FACTORS)
    return np.ascontiguousarray(x, dtype=np.float32)


def write_model(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({"i_weight.weight": x}, path)
    return path


def parse_timing(stderr, phase):
    """Milliseconds of `phase` from embtool's `--timing` line on stderr."""
    for line in stderr.splitlines():
        if line.startswith("timing:"):
            for part in line[len("timing:"):].split(","):
                name, value, _unit = part.strip().rsplit(" ", 2)
                if name == phase:
                    return float(value)
    raise RuntimeError(f"no '{phase}' timing in embtool's stderr:\n{stderr}")
