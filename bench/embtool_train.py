"""Runs `embtool train ... --json` for the training benchmarks."""
import argparse
import json
import statistics
import subprocess
import time


def train(embtool, *args):
    """`embtool train ARGS --json`: (training seconds as embtool reports them, valid RMSE, process wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.run([embtool, "train", *args, "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    report = json.loads(proc.stdout)
    return report["seconds"], report["valid_rmse"], wall


def arguments(embtool=None, data=None, reps=3, **extra):
    """--embtool and --data (required unless given defaults), --reps, and the script's
    own string options (name=default)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--embtool", required=embtool is None, default=embtool)
    ap.add_argument("--data", required=data is None, default=data)
    ap.add_argument("--reps", type=int, default=reps)
    for name, default in extra.items():
        ap.add_argument(f"--{name}", default=default)
    return ap.parse_args()


def rmse_cells(peer, ours):
    """Table cells for two lists of valid RMSEs: each side's mean (runs in parentheses), and the difference."""
    each = lambda rs: ", ".join(f"{r:.4f}" for r in rs)
    pm, om = statistics.mean(peer), statistics.mean(ours)
    return f"{pm:.4f} ({each(peer)})", f"{om:.4f} ({each(ours)})", f"{om - pm:+.4f}"
