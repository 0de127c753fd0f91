"""The page `embtool explore` writes, in a real browser, against the command line."""
import base64
import csv
import json
import math
import re
import shutil
import struct
import subprocess

import pytest

from conftest import HOSTILE_TITLES, QUERIES, close


def cli_similar(embtool, model, query, min_ratings=None):
    """`similar --json` (its default floor when `min_ratings` is None):
    ('found', json) | ('ambiguous', [labels]) | ('unknown', [labels])."""
    floor = [] if min_ratings is None else ["--min-ratings", min_ratings]
    p = embtool.run("similar", query, *model.args, *floor, "--json", check=False)
    if p.returncode == 0:
        return "found", json.loads(p.stdout)
    quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', p.stderr.split(":", 1)[1])
    if p.returncode == 64:      # ambiguous: the query, then the candidates (at most 8 shown)
        return "ambiguous", quoted[1:]
    assert p.returncode == 65, p.stderr
    return "unknown", quoted[1:]


def test_page_loads_offline_without_errors(model, open_page):
    o = open_page(model.url)
    assert o.errors == []
    assert o.requests == []
    assert o.dialogs == []
    assert o.js("embtool.renderer()") == "webgl"
    assert o.js("embtool.pointCount()") == model.explore["items"] == len(model.titles)
    # The document itself declares that it fetches nothing.
    assert "default-src 'none'" in model.page.read_text(encoding="utf-8")


def test_canvas_fallback_draws_every_point(model, open_page):
    o = open_page(model.url + "#renderer=canvas")
    assert o.js("embtool.renderer()") == "canvas"
    assert o.js("embtool.pointCount()") == model.explore["items"]
    o.js("embtool.setLayout(embtool.layouts()[0]); embtool.zoomAt(2, 300, 300)")
    o.page.wait_for_timeout(50)
    assert o.errors == [] and o.requests == []


def test_every_layout_switches_and_pca_equals_the_cli(model, embtool, open_page):
    o = open_page(model.url)
    names = o.js("embtool.layouts()")
    assert names == model.explore["layouts"] and "PCA" in names
    for name in names:
        o.js("(n) => embtool.setLayout(n)", name)
        assert o.js("embtool.layout()") == name
    assert names == ["PCA", "UMAP", "t-SNE"]     # UMAP and t-SNE by default for a page this small
    # Each embedded layout is the command line's on the same model: same coordinates.
    for command, name in (("umap", "UMAP"), ("tsne", "t-SNE")):
        cli = embtool.json(command, *model.args, "--all")
        o.js("(n) => embtool.setLayout(n)", name)
        assert o.js("embtool.axisTitles()") == {"x": f"{name} 1", "y": f"{name} 2"}
        for point in cli["points"][::17]:
            x, y = o.js("(l) => embtool.coordinates(l)", point["label"])
            assert close(x, point["x"], 1e-3) and close(y, point["y"], 1e-3), (name, point)
    pca = embtool.json("pca", *model.args, "--all", "--components", "2")
    o.js("embtool.setLayout('PCA')")
    assert o.js("embtool.axisTitles()")["x"].startswith("PC1 (")
    for point in pca["points"][::17]:
        x, y = o.js("(l) => embtool.coordinates(l)", point["label"])
        assert close(x, point["pc"][0], 1e-4) and close(y, point["pc"][1], 1e-4), point
    assert o.errors == []


def test_custom_axes_are_projections_on_the_normalised_axis(model, embtool, open_page, tmp_path):
    # Independent truth: the vectors as `embtool export --csv` writes them, projected here.
    embtool.run("export", *model.args, "--csv", tmp_path)
    with open(tmp_path / "items.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    factors = [c for c in rows[0] if re.fullmatch(r"f\d+", c)]
    vec = {r["label"]: [float(r[c]) for c in factors] for r in rows}
    genres = {}
    with open(model.data / "movies.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            genres[r["title"]] = r["genres"].split("|")

    def unit(v):
        s = math.sqrt(sum(x * x for x in v))
        return [x / s for x in v]

    horror = [vec[t] for t in model.titles if "Horror" in genres[t]]
    centroid = [sum(c) / len(horror) for c in zip(*horror)]
    difference = [a - b for a, b in zip(vec["Star Wars (1977)"], vec["Titanic (1997)"])]
    o = open_page(model.url)
    titles = o.js("embtool.setAxes('genre:horror', 'star wars-titanic')")
    assert titles == {"x": "→ genre:Horror", "y": "→ Star Wars (1977) − Titanic (1997)"}
    assert o.js("embtool.layout()") == "Custom"
    ax, ay = unit(centroid), unit(difference)
    for label in model.titles[::23]:
        x, y = o.js("(l) => embtool.coordinates(l)", label)
        assert close(x, sum(a * b for a, b in zip(vec[label], ax)), 1e-4)
        assert close(y, sum(a * b for a, b in zip(vec[label], ay)), 1e-4)
    # And `embtool axes` on the same axes: same titles, same coordinates.
    for x_axis, y_axis in [("genre:Sci-Fi-genre:Romance", "Spider-Man"), ("amelie", "godfather part ii-heat (1995)")]:
        cli = embtool.json("axes", *model.args, "--all", "--x", x_axis, "--y", y_axis)
        assert o.js("([x, y]) => embtool.setAxes(x, y)", [x_axis, y_axis]) == {"x": cli["x_axis"], "y": cli["y_axis"]}
        for p in cli["points"][::19]:
            x, y = o.js("(l) => embtool.coordinates(l)", p["label"])
            assert close(x, p["x"], 1e-4) and close(y, p["y"], 1e-4), p
    with pytest.raises(Exception, match="no genre"):
        o.js("embtool.setAxes('genre:Nonexistent', 'alien')")
    assert o.errors == []


# None: both sides' defaults, which must agree (`explore` starts the page at `similar`'s floor).
@pytest.mark.parametrize("min_ratings", [0, 5, None])
def test_search_equals_similar_json(model, embtool, open_page, min_ratings):
    o = open_page(model.url)
    kinds = set()
    for query in QUERIES:
        kind, cli = cli_similar(embtool, model, query, min_ratings)
        page = o.js("([q, m]) => embtool.search(q, m === null ? {} : {minRatings: m})", [query, min_ratings])
        if kind == "found" and min_ratings is None:
            assert cli["min_ratings"] == model.explore["min_ratings"] == 20 and cli["min_ratings_source"] == "default"
        kinds.add(kind)
        if kind == "found":
            assert page["query"] == cli["query"], query
            assert [n["label"] for n in page["neighbours"]] == [n["label"] for n in cli["neighbours"]], query
            for a, b in zip(page["neighbours"], cli["neighbours"]):
                assert close(a["similarity"], b["similarity"], 1e-3) and a["count"] == b["count"], (query, a, b)
        elif kind == "ambiguous":
            assert page.get("ambiguous", [])[:8] == cli, query
        else:
            assert page.get("unknown") and page["suggestions"] == cli, query
    assert kinds == {"found", "ambiguous", "unknown"}   # the list exercises every outcome
    assert o.errors == []


def test_selecting_shows_neighbours_on_the_map_and_in_the_panel(model, embtool, open_page):
    o = open_page(model.url)
    assert o.js("embtool.select('empire strikes back')") == "Empire Strikes Back, The (1980)"
    o.js("embtool.setMinRatings(3)")
    _, cli = cli_similar(embtool, model, "Empire Strikes Back, The (1980)", 3)
    o.page.wait_for_timeout(200)
    rows = o.page.locator("#neighbours tbody tr")
    assert rows.count() == len(cli["neighbours"])
    for i, n in enumerate(cli["neighbours"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(1).text_content() == n["label"]
        assert cells.nth(2).text_content() == f"{n['similarity']:.3f}"
        assert cells.nth(3).text_content() == str(n["count"])
    assert o.page.locator("#selected-title").text_content() == "Empire Strikes Back, The (1980)"
    # Clicking a neighbour selects it.
    rows.nth(0).locator("td").nth(1).click()
    assert o.js("embtool.selected()") == cli["neighbours"][0]["label"]
    assert o.errors == []


def test_hover_shows_a_tooltip_and_click_selects(model, open_page):
    o = open_page(model.url)
    label = "Star Wars (1977)"
    o.js("(l) => embtool.setView({zoom: 3}) || embtool.centre(l)", label)
    o.page.wait_for_timeout(50)
    x, y = o.js("(l) => embtool.screenPosition(l)", label)
    hit = o.js("([x, y]) => embtool.hitTest(x, y)", [x, y])
    box = o.page.locator("#map").bounding_box()
    o.page.mouse.move(box["x"] + x, box["y"] + y)
    o.page.wait_for_timeout(100)
    tip = o.page.locator("#tooltip")
    assert tip.is_visible() and hit in tip.text_content() and "ratings" in tip.text_content()
    o.page.mouse.click(box["x"] + x, box["y"] + y)
    assert o.js("embtool.selected()") == hit


def test_like_panel_equals_recommend_like(model, embtool, open_page):
    o = open_page(model.url)
    cases = [(["star wars"], []), (["amelie", "titanic"], ["alien"]), (["toy story"], ["godfather", "heat (1995)"])]
    for like, dislike in cases:
        args = [a for t in like for a in ("--like", t)] + [a for t in dislike for a in ("--dislike", t)]
        cli = embtool.json("recommend", *model.args, *args, "--min-ratings", 0)
        page = o.js("([l, d]) => embtool.recommend({like: l, dislike: d, minRatings: 0})", [like, dislike])
        assert page["like"] == cli["like"] and page["dislike"] == cli["dislike"]
        assert [i["label"] for i in page["items"]] == [i["label"] for i in cli["items"]], (like, dislike)
        for a, b in zip(page["items"], cli["items"]):
            assert close(a["predicted_rating"], b["predicted_rating"], 1e-3) and a["count"] == b["count"]
    # The panel itself, driven as a person would, at both sides' default floor.
    cli = embtool.json("recommend", *model.args, "--like", "star wars", "--dislike", "titanic")
    o.page.fill("#like-input", "star wars")
    o.page.click("#like-add")
    o.page.fill("#like-input", "titanic")
    o.page.click("#dislike-add")
    titles = o.page.locator("#recommendations tbody tr td.title").all_text_contents()
    assert titles == [i["label"] for i in cli["items"]]
    assert o.errors == []


def test_bias_panel_equals_bias(model, embtool, open_page):
    o = open_page(model.url)
    for m in (0, 10):
        cli = embtool.json("bias", *model.args, "--min-ratings", m)
        page = o.js("(m) => embtool.biasRanking({minRatings: m})", m)
        for end in ("lowest", "highest"):
            assert [e["label"] for e in page[end]] == [e["label"] for e in cli[end]]
            for a, b in zip(page[end], cli[end]):
                assert close(a["bias"], b["bias"], 1e-6) and close(a["mean_rating"], b["mean_rating"], 1e-5)
                assert a["count"] == b["count"]
    o.js("embtool.setMinRatings(0)")
    shown = o.page.locator("#bias-lowest tbody tr td.title").all_text_contents()
    assert shown == [e["label"] for e in embtool.json("bias", *model.args)["lowest"]]


def test_url_fragment_reopens_the_view(model, open_page):
    o = open_page(model.url)
    o.js("""() => { embtool.setLayout('PCA'); embtool.select('godfather part ii'); embtool.setColor('bias');
                    embtool.setSize(false); embtool.setMinRatings(4); embtool.like('toy story');
                    embtool.dislike('alien'); embtool.setView({x: 0.1, y: -0.2, zoom: 3.5}); }""")
    # The address bar holds the view (written a moment after the last change).
    o.page.wait_for_function("() => location.hash === embtool.hash()")
    h = o.js("embtool.hash()")
    before = o.js("() => ({s: embtool.selected(), l: embtool.layout(), v: embtool.view(), r: embtool.recommendations()})")
    again = open_page(model.url + h)
    after = again.js("() => ({s: embtool.selected(), l: embtool.layout(), v: embtool.view(), r: embtool.recommendations()})")
    assert after["s"] == before["s"] == "Godfather: Part II, The (1974)"
    assert after["l"] == before["l"] and after["r"] == before["r"] and len(after["r"]) == 10
    for key in ("x", "y", "zoom"):
        assert abs(after["v"][key] - before["v"][key]) < 1e-3
    assert again.js("embtool.hash()") == h
    assert again.page.locator("#color").input_value() == "bias"
    # Custom axes travel in the fragment too.
    o.js("embtool.setAxes('genre:Drama', 'genre:Comedy')")
    o.page.wait_for_function("() => location.hash === embtool.hash()")
    third = open_page(model.url + o.js("embtool.hash()"))
    assert third.js("embtool.layout()") == "Custom"
    assert third.js("embtool.axisTitles()")["x"] == "→ genre:Drama"


def test_exports_are_valid_svg_and_png(model, open_page):
    o = open_page(model.url)
    svg = o.js("embtool.exportSVG()")       # the whole map is in view: every point is a circle
    parses = "(s) => new DOMParser().parseFromString(s, 'image/svg+xml').getElementsByTagName('parsererror').length === 0"
    assert o.js(parses, svg) and svg.count("<circle") == model.explore["items"]
    o.js("embtool.select('star wars')")      # zooms to it and its neighbours, labelled
    svg = o.js("embtool.exportSVG()")
    assert o.js(parses, svg) and ">Star Wars (1977)<" in svg and 0 < svg.count("<circle") <= model.explore["items"]
    png = o.js("embtool.exportPNG(1)")
    raw = base64.b64decode(png.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    box = o.page.locator("#map").bounding_box()
    assert (width, height) == (round(box["width"]), round(box["height"]))
    assert o.errors == []


def test_hostile_labels_show_literally_and_run_nothing(hostile_model, open_page):
    o = open_page(hostile_model.url)
    assert o.dialogs == [] and o.errors == [] and o.requests == []
    assert o.js("document.querySelectorAll('img').length") == 0
    assert o.js("embtool.pointCount()") == hostile_model.explore["items"]
    for title, _ in HOSTILE_TITLES:
        assert o.js("(t) => embtool.search(t).query", title) == title
        o.js("(t) => embtool.select(t)", title)
        assert o.page.locator("#selected-title").text_content() == title
        x, y = o.js("(t) => embtool.screenPosition(t)", title)
        box = o.page.locator("#map").bounding_box()
        o.js("embtool.select(null)")
        o.page.mouse.move(box["x"] + x, box["y"] + y)
        o.page.wait_for_timeout(50)
    o.page.fill("#search", HOSTILE_TITLES[0][0])
    o.page.press("#search", "Enter")
    assert o.js("embtool.selected()") == HOSTILE_TITLES[0][0]
    # The exports escape them too.
    svg = o.js("embtool.exportSVG()")
    assert o.js("(s) => new DOMParser().parseFromString(s, 'image/svg+xml').getElementsByTagName('parsererror').length", svg) == 0
    assert "<img" not in svg and "&lt;/script&gt;&lt;img" in svg
    o.page.wait_for_timeout(200)
    assert o.dialogs == [] and o.errors == [] and o.js("document.querySelectorAll('img, script[src]').length") == 0
    # The file never holds the raw markup: the JSON escaper turned < > & into \\u escapes.
    text = hostile_model.page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "\u2028" not in text and "\u2029" not in text


def test_binary_copied_alone_writes_the_same_page(model, embtool, tmp_path):
    alone = tmp_path / "bin" / "embtool"
    alone.parent.mkdir()
    shutil.copy(embtool.binary, alone)
    out = tmp_path / "page.html"
    p = subprocess.run([str(alone), "explore", *map(str, model.args), "-o", str(out)], capture_output=True, text=True,
                       env=dict(embtool.env, PATH="/usr/bin:/bin"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out)
    assert out.read_bytes() == model.page.read_bytes()


def test_bad_input_is_one_line_and_writes_nothing(model, embtool, tmp_path):
    out = tmp_path / "x.html"
    p = embtool.run("explore", *model.args, "--most-rated", "1", "-o", out, check=False)
    assert p.returncode == 64 and not out.exists()
    p = embtool.run("explore", "--model", tmp_path / "missing.safetensors", "-o", out, check=False)
    assert p.returncode == 66 and not out.exists() and len(p.stderr.strip().splitlines()) == 1


def test_most_rated_page_draws_that_many(model, embtool, open_page, tmp_path):
    out = tmp_path / "top.html"
    summary = embtool.json("explore", *model.args, "--most-rated", 50, "-o", out)
    assert summary["items"] == 50
    o = open_page(out.as_uri())
    assert o.js("embtool.pointCount()") == 50 and o.errors == []


def test_bare_factors_without_counts_biases_or_genres(model, embtool, open_page, tmp_path):
    """Vectors and labels only (a CSV of factors): the page still draws, searches and folds in."""
    embtool.run("export", *model.args, "--csv", tmp_path / "export")
    with open(tmp_path / "export" / "items.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] != "#na#"]
    factors = [c for c in rows[0] if re.fullmatch(r"f\d+", c)]
    bare = tmp_path / "bare.csv"
    with open(bare, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label"] + factors)
        w.writerows([[r["label"]] + [r[c] for c in factors] for r in rows])
    page = tmp_path / "bare.html"
    summary = embtool.json("explore", "--model", bare, "-o", page)
    o = open_page(page.as_uri())
    assert o.errors == [] and o.requests == []
    assert o.js("embtool.pointCount()") == summary["items"] == len(rows)
    assert "genre" not in o.js("embtool.colors()") and "bias" not in o.js("embtool.colors()")
    cli = embtool.json("similar", "star wars", "--model", bare)
    assert [n["label"] for n in o.js("embtool.search('star wars').neighbours")] == [n["label"] for n in cli["neighbours"]]
    cli = embtool.json("recommend", "--model", bare, "--like", "amelie")
    page_items = o.js("embtool.recommend({like: ['amelie']}).items")
    assert [i["label"] for i in page_items] == [i["label"] for i in cli["items"]]
    assert o.page.locator("#bias-panel").is_hidden()
    o.js("embtool.select('star wars')")
    assert o.errors == []


@pytest.mark.parametrize("encoding, tolerance", [("int24", 1e-6), ("int16", 1e-3)])
def test_quantised_vectors_keep_the_cli_neighbours(model, embtool, open_page, tmp_path, encoding, tolerance):
    """Large pages store the vectors quantised: int24 (block floating point)
    keeps the command line's neighbour lists and similarities to float32
    rounding; int16 to 1e-3. The bias panel reads the binary float32 biases."""
    page = tmp_path / f"{encoding}.html"
    assert embtool.json("explore", *model.args, "--vectors", encoding, "-o", page)["vectors"] == encoding
    o = open_page(page.as_uri())
    for query in ["star wars", "amelie", "toy story", "godfather", "alien", "heat (1995)", "fargo", "titanic"]:
        cli = embtool.json("similar", query, *model.args, "--min-ratings", "0")
        got = o.js("(q) => embtool.search(q, {minRatings: 0})", query)
        if encoding == "int24":
            assert [n["label"] for n in got["neighbours"]] == [n["label"] for n in cli["neighbours"]], query
        for a, b in zip(got["neighbours"], cli["neighbours"]):
            if a["label"] == b["label"]:
                assert close(a["similarity"], b["similarity"], tolerance), (query, a, b)
    cli = embtool.json("bias", *model.args, "--min-ratings", "0")
    panel = o.js("embtool.biasRanking({minRatings: 0})")
    assert [e["label"] for e in panel["lowest"]] == [e["label"] for e in cli["lowest"]]
    for a, b in zip(panel["lowest"], cli["lowest"]):
        assert close(a["bias"], b["bias"], 1e-6) and close(a["mean_rating"], b["mean_rating"], 1e-5)
    assert o.errors == []


def test_float32_vectors_decode_exactly(model, embtool, open_page, tmp_path):
    """The page's Base85 decoder gives back the model's float32 values bit for
    bit: compared with `embtool export --csv` (shortest round-trip decimals)."""
    embtool.run("export", *model.args, "--csv", tmp_path)
    with open(tmp_path / "items.csv", encoding="utf-8") as f:
        rows = {r["label"]: r for r in csv.DictReader(f)}
    factors = [c for c in next(iter(rows.values())) if re.fullmatch(r"f\d+", c)]
    o = open_page(model.url)
    decoded = o.js("""() => {
        const d = JSON.parse(document.getElementById('embtool-data').textContent);
        return {labels: d.labels, encoding: d.vectors.encoding,
                values: Array.from(Linalg.decodeVectors(d.vectors, d.items, d.factors))};
    }""")
    assert decoded["encoding"] == "float32"
    k = len(factors)
    for i, label in enumerate(decoded["labels"]):
        want = [struct.unpack("<f", struct.pack("<f", float(rows[label][c])))[0] for c in factors]
        assert decoded["values"][i * k:(i + 1) * k] == want, label
