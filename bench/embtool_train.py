"""Runs `embtool train ... --json` for the training benchmarks."""
import json
import subprocess
import time


def train(embtool, *args):
    """`embtool train ARGS --json`: (training seconds as embtool reports them, valid RMSE, process wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.run([embtool, "train", *args, "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    report = json.loads(proc.stdout)
    return report["seconds"], report["valid_rmse"], wall
