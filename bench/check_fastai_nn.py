#!/usr/bin/env python3
"""Does an `embtool train --arch nn` model load into fastai's EmbeddingNN, and predict what embtool predicts?

1. `embtool train --arch nn` writes a model on fold u1 (the chapter's layers 100,50 with y_range (0, 5.5);
   then one hidden layer of 60 without y_range).
2. `embtool evaluate --predictions` writes embtool's own prediction for every held-out rating (eval mode:
   BatchNorm1d by its running statistics).
3. fastai builds its model from the same ratings, as the chapter does:
   `collab_learner(dls, use_nn=True, layers=..., y_range=...)` on `TabularCollab` data of fold u1, so the
   embedding widths are fastai's own `get_emb_sz`; its vocabularies must equal the ones in the file's metadata.
4. `learn.model.load_state_dict(safetensors.torch.load_file(f), strict=True)`: every tensor fastai's
   EmbeddingNN holds (bn_cont's empty ones and the int64 num_batches_tracked counters included), no other.
5. PyTorch's predictions (model.eval()) for 100 random held-out (user, item) pairs must equal embtool's to 1e-5.
6. The other way round: fastai trains its EmbeddingNN for one epoch on u1 and saves it (`state_dict()` .pth and
   `learn.export()`); `embtool evaluate --model` on each must give fastai's `learn.validate()` MSE to 1e-5.

Usage: bench/train_fastai_nn --check-load   (or: python bench/check_fastai_nn.py --embtool E --data DIR)
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
from fastai.collab import TabularCollab, collab_learner
from fastai.tabular.all import Categorify, TransformBlock
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)
from train_fastai import movielens  # noqa: E402
import embtool_train  # noqa: E402


def fastai_learner(df, layers, y_range):
    """The chapter's learner on fold u1 (u1.test: lines 1-20000 of u.data)."""
    splits = (list(range(20000, len(df))), list(range(20000)))
    to = TabularCollab(df, [Categorify], ["user", "title"], y_names=["rating"], y_block=TransformBlock(), splits=splits)
    dls = to.dataloaders(bs=64)
    return collab_learner(dls, use_nn=True, layers=layers, y_range=y_range), dls


def check(embtool, data, df, tmp, layers, y_range, label):
    model_path = f"{tmp}/nn.safetensors"
    preds_path = f"{tmp}/predictions.csv"
    extra = ["--layers", ",".join(map(str, layers))] + (["--y-range", "none"] if y_range is None else [])
    subprocess.run([embtool, "train", "--data", data, "--split", "u1", "--arch", "nn", "--epochs", "2", "-o", model_path,
                    "--json", *extra], check=True, capture_output=True)
    subprocess.run([embtool, "evaluate", "--data", data, "--model", model_path, "--predictions", preds_path, "--json"],
                   check=True, capture_output=True)
    with safe_open(model_path, "pt") as f:
        meta = f.metadata()
    learn, dls = fastai_learner(df, layers, y_range)
    users, items = list(dls.classes["user"]), list(dls.classes["title"])
    assert json.loads(meta["users"]) == [str(u) for u in users], "user vocabulary differs from fastai's"
    assert json.loads(meta["items"]) == [str(i) for i in items], "item vocabulary differs from fastai's"
    state = load_file(model_path)
    model = learn.model
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected tensor, or a shape mismatch
    model.eval()
    user_row = {str(u): r for r, u in enumerate(users)}
    item_row = {str(i): r for r, i in enumerate(items)}

    preds = pd.read_csv(preds_path, dtype={"user": str, "item": str}, keep_default_na=False)
    sample = preds.sample(n=100, random_state=0)
    x = torch.tensor([[user_row[u], item_row[i]] for u, i in zip(sample.user, sample.item)])
    with torch.no_grad():
        torch_pred = model(x, None).squeeze(1).numpy().astype(np.float64)
    embtool_pred = sample.prediction.astype(np.float64).to_numpy()
    worst = float(np.max(np.abs(torch_pred - embtool_pred)))
    ok = worst <= 1e-5
    shapes = ", ".join(f"{k} {list(v.shape)}{' int64' if v.dtype == torch.int64 else ''}" for k, v in state.items())
    print(f"{label}: strict load OK ({shapes}); 100 pairs, max |pytorch - embtool| = {worst:.2e} -> {'PASS' if ok else 'FAIL'}")
    return ok


def check_fastai_trained(embtool, data, df, tmp):
    learn, _ = fastai_learner(df, [100, 50], (0, 5.5))
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 5e-3, wd=0.1)
        fastai_mse = float(learn.validate()[0])
    torch.save(learn.model.state_dict(), f"{tmp}/state.pth")
    learn.export(f"{tmp}/export.pkl")
    ok = True
    for name in ["state.pth", "export.pkl"]:
        out = subprocess.run([embtool, "evaluate", "--data", data, "--split", "u1", "--model", f"{tmp}/{name}", "--json"],
                             check=True, capture_output=True, text=True).stdout
        mse = json.loads(out)["mse"]
        good = abs(mse - fastai_mse) <= 1e-5
        ok &= good
        print(f"fastai-trained EmbeddingNN ({name}): embtool evaluate MSE {mse:.6f}, fastai learn.validate() "
              f"{fastai_mse:.6f} -> {'PASS' if good else 'FAIL'}")
    return ok


def main():
    args = embtool_train.arguments(embtool=f"{os.path.dirname(ROOT)}/.build/release/embtool",
                                   data=f"{os.path.dirname(ROOT)}/../shared/ml-100k")
    df = movielens(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        ok = check(args.embtool, args.data, df, tmp, [100, 50], (0, 5.5), "EmbeddingNN, layers [100, 50], y_range (0, 5.5)")
        ok &= check(args.embtool, args.data, df, tmp, [60], None, "EmbeddingNN, layers [60], y_range None")
        ok &= check_fastai_trained(args.embtool, args.data, df, tmp)
    print("| fastai's EmbeddingNN loads embtool's --arch nn model (strict), 100 predictions equal to 1e-5; "
          "embtool evaluates fastai's own EmbeddingNN as fastai does |", "PASS |" if ok else "FAIL |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
