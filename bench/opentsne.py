"""openTSNE on a .npy of vectors, as issue 10 measures it:

    opentsne.py VECTORS.npy LAYOUT.npy  ->  {"seconds": s, "cpu": s} on stdout

openTSNE.TSNE(metric="cosine", n_jobs=2) with every other setting at its default
(perplexity 30, 250 + 500 iterations, PCA start, negative gradient by Barnes-Hut
below 10,000 points and FFT interpolation above, Annoy neighbours from 1,000
points), seeded so that reruns give the same layout. The time covers fit(): the
neighbours, the affinities, the start and the optimisation; cpu is the process's
CPU seconds over the same span (both threads)."""
import json
import sys
import time

import numpy as np
from openTSNE import TSNE


def main():
    x = np.load(sys.argv[1]).astype(np.float32)
    start, cpu = time.perf_counter(), time.process_time()
    y = TSNE(metric="cosine", n_jobs=2, random_state=0).fit(x)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(sys.argv[2], np.asarray(y))
    print(json.dumps({"seconds": round(seconds, 2), "cpu": round(cpu, 2)}))


if __name__ == "__main__":
    main()
