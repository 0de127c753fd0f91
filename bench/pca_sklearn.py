"""PCA of a 59,047 x 50 item-factor table: embtool vs scikit-learn's
PCA(svd_solver='full'), same matrix, REPS runs each; prints medians, the
speed ratio, and checks that the explained variance ratios agree to 1e-4."""
import json
import os
import statistics
import subprocess
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA

from pca_similar_data import ROWS, FACTORS, arguments, factor_table, parse_timing, write_model

a, MACHINE, load_before = arguments(5, components=3)

x = factor_table()
model = write_model(f"{a.out}/factors-{ROWS}x{FACTORS}.safetensors", x)
c = a.components

# scikit-learn: fit_transform = centre, SVD (LAPACK gesdd), sign flip, project.
sk_ms = []
for _ in range(a.reps):
    t = time.perf_counter()
    pca = PCA(n_components=c, svd_solver="full")
    pca.fit_transform(x)
    sk_ms.append((time.perf_counter() - t) * 1e3)
sk_ratio = pca.explained_variance_ratio_

# embtool: the same work in-process (--timing 'pca' phase), and the whole command's wall time.
em_ms, wall_ms = [], []
for _ in range(a.reps):
    t = time.perf_counter()
    r = subprocess.run([a.embtool, "pca", "--model", model, "--all", "--components", str(c), "--json", "--timing"],
                       capture_output=True, text=True, check=True)
    wall_ms.append((time.perf_counter() - t) * 1e3)
    em_ms.append(parse_timing(r.stderr, "pca"))
em_ratio = np.array(json.loads(r.stdout)["explained_variance_ratio"])

diff = float(np.max(np.abs(em_ratio - sk_ratio)))
sk, em = statistics.median(sk_ms), statistics.median(em_ms)
print(f"matrix {ROWS} x {FACTORS} float32, {c} components, {a.reps} runs each; scikit-learn {sklearn.__version__}")
print(f"explained variance ratio  scikit-learn {np.round(sk_ratio, 6).tolist()}")
print(f"                          embtool      {np.round(em_ratio, 6).tolist()}  (max |diff| {diff:.2e})")
print(f"scikit-learn PCA(svd_solver='full').fit_transform: median {sk:.1f} ms  (runs {', '.join(f'{v:.1f}' for v in sk_ms)})")
print(f"embtool pca (centre + SVD + project, in-process):  median {em:.1f} ms  (runs {', '.join(f'{v:.1f}' for v in em_ms)})")
print(f"embtool pca command, wall (start-up, load, JSON of {ROWS} points): median {statistics.median(wall_ms):.0f} ms")
if diff > 1e-4:
    raise SystemExit(f"explained variance ratios differ by {diff:.2e} > 1e-4")
print(f"machine: {os.cpu_count()} cores, load average {load_before} before and {open('/proc/loadavg').read().split()[0]} after (other work on the machine slows both sides)")
print(f"machine: {MACHINE}")
print()
print("| benchmark | peer | peer time | embtool time | speed-up | agreement | machine (CPU; BLAS kernels) |")
print("|---|---|---|---|---|---|---|")
print(f"| PCA {ROWS:,} x {FACTORS}, {c} components | scikit-learn PCA(svd_solver='full') | {sk:.1f} ms | {em:.1f} ms | {sk / em:.1f}x | explained variance ratio within {diff:.1e} | {MACHINE} |")
