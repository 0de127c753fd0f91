"""Browser tests of `embtool explore`: the page it writes, opened in Debian's
Chromium through Playwright (no browser download), compared with the command
line on the same model.

The model is trained here, on a small synthetic MovieLens-shaped dataset whose
titles exercise the title resolver (accents, articles, years, prefixes,
ambiguity, non-Latin scripts); no MovieLens data is involved.
"""
import csv
import json
import math
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EMBTOOL_CHROMIUM", "/usr/bin/chromium")

# Titles a person searches for in special ways; the rest of the catalogue is filler.
SPECIAL_TITLES = [
    ("Star Wars (1977)", "Action|Adventure|Sci-Fi"),
    ("Star Wars: Episode I - The Phantom Menace (1999)", "Action|Adventure|Sci-Fi"),
    ("Empire Strikes Back, The (1980)", "Action|Adventure|Sci-Fi"),
    ("Return of the Jedi (1983)", "Action|Adventure|Sci-Fi"),
    ("Amélie (2001)", "Comedy|Romance"),
    ("Léon: The Professional (1994)", "Action|Crime|Thriller"),
    ("Haine, La (1995)", "Crime|Drama"),
    ("Heat (1995)", "Action|Crime|Thriller"),
    ("Heat (1972)", "Drama"),
    ("Alien (1979)", "Horror|Sci-Fi"),
    ("Aliens (1986)", "Action|Horror|Sci-Fi"),
    ("Alien³ (1992)", "Action|Horror|Sci-Fi"),
    ("Silence of the Lambs, The (1991)", "Crime|Horror|Thriller"),
    ("Shichinin no samurai (1954)", "Action|Drama"),
    ("Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)", "Action|Drama|Romance"),
    ("千と千尋の神隠し (2001)", "Animation|Fantasy"),
    ("Ζ (1969)", "Drama|Thriller"),
    ("Toy Story (1995)", "Animation|Children|Comedy"),
    ("Toy Story 2 (1999)", "Animation|Children|Comedy"),
    ("Godfather, The (1972)", "Crime|Drama"),
    ("Godfather: Part II, The (1974)", "Crime|Drama"),
    ("Titanic (1997)", "Drama|Romance"),
    ("Fargo (1996)", "Comedy|Crime|Drama|Thriller"),
    ("Spider-Man (2002)", "Action|Adventure"),
]

# What a reader types; the command line decides what each means.
QUERIES = [
    "Star Wars (1977)", "star wars", "  STAR WARS  ", "star wars 1977", "empire strikes back",
    "The Empire Strikes Back", "amelie", "AMÉLIE", "leon the professional", "la haine", "haine",
    "heat", "Heat (1995)", "alien", "aliens", "alie", "alien3", "silence of", "lambs",
    "shichinin", "crouching tiger", "千と千尋", "ζ", "toy story", "toy", "godfather", "godfather part ii",
    "the godfather", "titanic", "fargo", "spider-man", "spider man", "episode i", "Star Warz Holiday Special",
    "zzqqxx", "Movie", "Kingdom",
]

WORDS = ["Kingdom", "River", "Night", "Garden", "Shadow", "Island", "Winter", "Letter", "Machine", "Road",
         "Mirror", "Harbor", "Stranger", "Summer", "Thief", "Castle", "Forest", "Dream", "Storm", "Voyage"]
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def synthetic_catalogue(rng, filler):
    titles = list(SPECIAL_TITLES)
    seen = {t for t, _ in titles}
    while len(titles) < len(SPECIAL_TITLES) + filler:
        words = " ".join(rng.sample(WORDS, rng.choice([1, 2, 3])))
        article = rng.choice(["", "", "", "The ", "A "])
        title = f"{article}{words} ({rng.randint(1930, 2020)})"
        if article and rng.random() < 0.5:
            title = f"{words}, {article.strip()} ({rng.randint(1930, 2020)})"
        if title not in seen:
            seen.add(title)
            titles.append((title, "|".join(sorted(rng.sample(GENRES, rng.choice([1, 1, 2, 3]))))))
    return titles


def write_dataset(folder, titles, users=240, rank=4, seed=7):
    """ratings.csv + movies.csv in ml-latest's format: a planted rank-`rank`
    taste structure, power-law popularity, half-star ratings."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "movies.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["movieId", "title", "genres"])
        for i, (title, genres) in enumerate(titles, start=1):
            w.writerow([i, title, genres])
    item_vec = [[rng.gauss(0, 1) for _ in range(rank)] for _ in titles]
    item_bias = [rng.gauss(0, 0.5) for _ in titles]
    popularity = [1.0 / (i + 3) ** 0.8 for i in range(len(titles))]
    rng.shuffle(popularity)
    rows = []
    for u in range(1, users + 1):
        taste = [rng.gauss(0, 1) for _ in range(rank)]
        seen = set()
        for _ in range(rng.randint(8, 60)):
            i = rng.choices(range(len(titles)), weights=popularity)[0]
            if i in seen:
                continue
            seen.add(i)
            score = 3.4 + item_bias[i] + 0.45 * sum(a * b for a, b in zip(taste, item_vec[i])) + rng.gauss(0, 0.4)
            rows.append((u, i + 1, min(5.0, max(0.5, round(score * 2) / 2)), 1_000_000_000 + len(rows)))
    # Every item rated at least once, so every title has a trained row and a count.
    rated = {r[1] for r in rows}
    for i in range(1, len(titles) + 1):
        if i not in rated:
            rows.append((1 + i % users, i, 3.0, 1_000_000_000 + len(rows)))
    with open(folder / "ratings.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        w.writerows(rows)


class Embtool:
    """The built binary, run with its own EMBTOOL_HOME so no real cache is touched."""

    def __init__(self, binary, home):
        self.binary = str(binary)
        self.env = dict(os.environ, EMBTOOL_HOME=str(home))

    def run(self, *args, check=True):
        p = subprocess.run([self.binary, *map(str, args)], capture_output=True, text=True, env=self.env)
        if check and p.returncode != 0:
            raise AssertionError(f"embtool {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
        return p

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture(scope="session")
def embtool(tmp_path_factory):
    binary = ROOT / ".build" / "release" / "embtool"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it first (make build)")
    return Embtool(binary, tmp_path_factory.mktemp("home"))


class Model:
    def __init__(self, embtool, folder, titles, factors=8, epochs=8):
        self.data = folder / "data"
        self.path = folder / "model.safetensors"
        self.page = folder / "explorer.html"
        self.titles = [t for t, _ in titles]
        write_dataset(self.data, titles)
        embtool.run("train", "--data", self.data, "--split", "none", "--factors", factors, "--epochs", epochs,
                    "--seed", 3, "-o", self.path)
        self.explore = embtool.json("explore", "--model", self.path, "--data", self.data, "-o", self.page)
        self.args = ["--model", self.path, "--data", self.data]
        self.url = self.page.as_uri()


@pytest.fixture(scope="session")
def model(embtool, tmp_path_factory):
    titles = synthetic_catalogue(random.Random(11), filler=260)
    return Model(embtool, tmp_path_factory.mktemp("synthetic"), titles)


HOSTILE_TITLES = [
    ("</script><img src=x onerror=alert(1)> (1999)", "Horror"),
    ("<!--<script>alert(2)</script> (2001)", "Drama"),
    ("Line\u2028Separator\u2029Paragraph (2002)", "Comedy"),
    ("\"Quotes\" & 'Apostrophes' &amp; (2003)", "Drama"),
    ("{{data}} {{explorer.js}} (2004)", "Drama"),
    ("<b>bold</b> ${alert(3)} `x` (2005)", "Thriller"),
]


@pytest.fixture(scope="session")
def hostile_model(embtool, tmp_path_factory):
    titles = synthetic_catalogue(random.Random(5), filler=60)
    titles[:len(HOSTILE_TITLES)] = HOSTILE_TITLES
    return Model(embtool, tmp_path_factory.mktemp("hostile"), titles, factors=6, epochs=4)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Opened:
    """A page with everything it does recorded: console errors, uncaught
    exceptions, dialogs, and every request other than the page itself."""

    def __init__(self, browser, url, viewport=(1280, 800)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.errors, self.requests, self.dialogs = [], [], []
        document = url.split("#")[0]

        def route(r):
            if r.request.url.split("#")[0] == document or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page.on("request", lambda r: None if r.url.split("#")[0] == document or r.url.startswith("data:") else self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)
        self.page.goto(url)
        self.page.wait_for_function("() => window.embtool !== undefined && window.embtool.timings.firstPaint !== null")

    def js(self, expression, arg=None):
        return self.page.evaluate(expression, arg)

    def close(self):
        self.context.close()


@pytest.fixture
def open_page(browser):
    opened = []

    def _open(url, **kw):
        o = Opened(browser, url, **kw)
        opened.append(o)
        return o

    yield _open
    for o in opened:
        o.close()


def close(a, b, tol):
    return a is not None and b is not None and math.isfinite(a) and abs(a - b) <= tol
