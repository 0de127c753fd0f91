#!/usr/bin/env python3
"""Does a model file written by `embtool train` load into fastai, and predict what embtool predicts?

1. `embtool train` writes a model (u1 split; once with y_range (0, 5.5), once with --y-range none).
2. `embtool evaluate --predictions` writes embtool's own prediction for every held-out rating.
3. fastai's `EmbeddingDotBias` loads the file with `load_state_dict(safetensors.torch.load_file(f), strict=True)`,
   its rows looked up through the vocabularies stored in the file's metadata.
4. PyTorch's predictions for 100 random (user, item) pairs must equal embtool's to 1e-5.

Usage: bench/train_fastai --check-load   (or: python bench/check_fastai_load.py --embtool E --data DIR)
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import torch
from fastai.collab import EmbeddingDotBias
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import embtool_train  # noqa: E402


def check(embtool, data, tmp, extra, label):
    model_path = f"{tmp}/model.safetensors"
    preds_path = f"{tmp}/predictions.csv"
    subprocess.run([embtool, "train", "--data", data, "--split", "u1", "-o", model_path, "--json", *extra],
                   check=True, capture_output=True)
    subprocess.run([embtool, "evaluate", "--data", data, "--model", model_path, "--predictions", preds_path, "--json"],
                   check=True, capture_output=True)
    with safe_open(model_path, "pt") as f:
        meta = f.metadata()
    users = {u: r for r, u in enumerate(json.loads(meta["users"]))}
    items = {i: r for r, i in enumerate(json.loads(meta["items"]))}
    y_range = json.loads(meta["y_range"])
    state = load_file(model_path)
    n_factors = state["u_weight.weight"].shape[1]
    model = EmbeddingDotBias(n_factors, len(users), len(items), y_range=tuple(y_range) if y_range else None)
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected tensor
    model.eval()

    preds = pd.read_csv(preds_path, dtype={"user": str, "item": str}, keep_default_na=False)
    sample = preds.sample(n=100, random_state=0)
    x = torch.tensor([[users[u], items[i]] for u, i in zip(sample.user, sample.item)])
    with torch.no_grad():
        torch_pred = model(x).numpy().astype(np.float64)
    embtool_pred = sample.prediction.astype(np.float64).to_numpy()
    worst = float(np.max(np.abs(torch_pred - embtool_pred)))
    ok = worst <= 1e-5
    print(f"{label}: strict load OK ({', '.join(f'{k} {list(v.shape)}' for k, v in state.items())}); "
          f"100 pairs, max |pytorch - embtool| = {worst:.2e} -> {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    args = embtool_train.arguments(embtool=f"{ROOT}/.build/release/embtool", data=f"{ROOT}/../shared/ml-100k")
    with tempfile.TemporaryDirectory() as tmp:
        ok = check(args.embtool, args.data, tmp, [], "EmbeddingDotBias, y_range (0, 5.5)")
        ok &= check(args.embtool, args.data, tmp, ["--y-range", "none"], "EmbeddingDotBias, y_range None")
    print("| fastai loads embtool's model (strict), 100 predictions equal to 1e-5 |", "PASS |" if ok else "FAIL |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
