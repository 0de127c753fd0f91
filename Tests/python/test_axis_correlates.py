"""The axes' correlates that `pca`, `umap`, `tsne` and `axes` report, recomputed
with NumPy from the coordinates the commands export and from the dataset's own
files (u.item's genre flags and titles, u.data's ratings), never from embtool's
catalogue. Runs on the synthetic ml-100k fixture; no MovieLens data is involved.
"""
import csv
import json
import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "Tests" / "fixtures" / "ml100k-synthetic"
BINARY = ROOT / ".build" / "release" / "embtool"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: build it first (make build)")
    env = dict(os.environ, EMBTOOL_HOME=str(tmp_path_factory.mktemp("home")))

    def _run(*args):
        p = subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, env=env)
        assert p.returncode == 0, f"embtool {' '.join(map(str, args))}: {p.stderr}"
        return p.stdout

    return _run


@pytest.fixture(scope="module")
def model(run, tmp_path_factory):
    """A small model keyed by id (so every u.item row is one item), and its item biases."""
    folder = tmp_path_factory.mktemp("model")
    path = folder / "model.safetensors"
    run("train", "--data", DATA, "--item-key", "id", "--split", "none", "--factors", 8, "--epochs", 3, "-o", path)
    run("export", "--model", path, "--csv", folder / "csv")
    with open(folder / "csv" / "items.csv", newline="", encoding="utf-8") as f:
        bias = {row["label"]: float(row["bias"]) for row in csv.DictReader(f)}
    return path, bias


def dataset_features():
    """Per label (as embtool shows items keyed by id): genre flags, year, log(1 + count), mean rating,
    read straight from u.item, u.genre and u.data."""
    genres = [line.split("|")[0] for line in (DATA / "u.genre").read_text(encoding="latin-1").splitlines() if line]
    items = {}
    for line in (DATA / "u.item").read_text(encoding="latin-1").splitlines():
        fields = line.split("|")
        items[fields[0]] = (fields[1], [int(x) for x in fields[5:5 + len(genres)]])
    titles = [t for t, _ in items.values()]
    ratings = {}
    for line in (DATA / "u.data").read_text().splitlines():
        _, item, rating, _ = line.split("\t")
        ratings.setdefault(item, []).append(float(rating))
    features = {}
    for item_id, (title, flags) in items.items():
        if item_id not in ratings:
            continue
        label = title if titles.count(title) == 1 else f"{title} [id {item_id}]"
        years = re.findall(r"\((\d{4})\)", title)
        features[label] = {
            **{f"genre:{g}": float(v) for g, v in zip(genres, flags)},
            "year": float(years[-1]) if years else math.nan,
            "log_count": math.log1p(len(ratings[item_id])),
            "mean_rating": float(np.mean(ratings[item_id])),
        }
    return features


FEATURES = dataset_features()


def numpy_r(labels, coordinates, feature, bias):
    values = np.array([bias[l] if feature == "bias" else FEATURES[l][feature] for l in labels])
    known = ~np.isnan(values)
    x, f = np.asarray(coordinates, dtype=np.float64)[known], values[known]
    if known.sum() < 3 or f.std() == 0:
        return None
    return float(np.corrcoef(x, f)[0, 1])


def check(labels, axes, components, bias):
    """Every reported correlate equals NumPy's r; every feature NumPy can correlate is reported."""
    assert len(axes) == len(components)
    names = sorted({k for v in FEATURES.values() for k in v} | {"bias"})
    strongest = 0.0
    for coordinates, component in zip(axes, components):
        reported = {c["feature"]: c["r"] for c in component["correlates"]}
        rs = [abs(c["r"]) for c in component["correlates"]]
        assert rs == sorted(rs, reverse=True), "strongest first"
        expected = {}
        for name in names:
            r = numpy_r(labels, coordinates, name, bias)
            if r is not None:
                expected[name] = r
        assert set(reported) == set(expected), set(reported) ^ set(expected)
        for name, r in expected.items():
            assert abs(reported[name] - r) <= 1e-3, (name, reported[name], r)
        assert any(n.startswith("genre:") for n in expected) and "year" in expected and "mean_rating" in expected
        strongest = max([strongest] + [abs(r) for r in expected.values()])
    # Not a comparison of zeros: the fixture's planted structure shows on some axis.
    assert strongest > 0.3


def test_pca_correlates_equal_numpy(run, model):
    path, bias = model
    j = json.loads(run("pca", "--model", path, "--data", DATA, "--item-key", "id", "--all", "--components", 3, "--json"))
    labels = [p["label"] for p in j["points"]]
    axes = [[p["pc"][c] for p in j["points"]] for c in range(3)]
    check(labels, axes, j["components"], bias)


@pytest.mark.parametrize("command", [
    ["umap", "--epochs", 50],
    ["tsne", "--perplexity", 10, "--iterations", 100],
    ["axes", "--x", "genre:Action-genre:Drama", "--y", "Planted Saga"],
])
def test_map_correlates_equal_numpy(run, model, tmp_path, command):
    path, bias = model
    points = tmp_path / "points.csv"
    j = json.loads(run(*command, "--model", path, "--data", DATA, "--item-key", "id", "--all", "--csv", points, "--json"))
    # The coordinates as the CSV writes them (shortest float32 decimals), read independently of the JSON.
    with open(points, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = [r["label"] for r in rows]
    assert labels == [p["label"] for p in j["points"]]
    axes = [[float(r["x"]) for r in rows], [float(r["y"]) for r in rows]]
    check(labels, axes, j["components"], bias)
