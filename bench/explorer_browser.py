"""Measures explorer pages in headless Chromium; run by bench/explorer."""
import argparse
import json
import random
import statistics
import subprocess
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def explore(embtool, out, *args):
    t = time.perf_counter()
    p = subprocess.run([embtool, "explore", *map(str, args), "-o", str(out), "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(p.stdout)
    summary["wall"] = time.perf_counter() - t
    return summary


FRAMES = """async (seconds) => {
  // Pan and zoom on every animation frame, as a drag or a wheel would, and count frames drawn.
  const start = performance.now(), first = embtool.framesDrawn();
  let i = 0;
  await new Promise((done) => {
    const step = () => {
      i++;
      if (i % 2) embtool.panBy(3, 2); else embtool.zoomAt(i % 4 ? 1.02 : 0.98, 400, 300);
      if (performance.now() - start < seconds * 1000) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  const elapsed = (performance.now() - start) / 1000;
  // The cost of one frame on its own (points + overlay), over 30 frames.
  const costs = [];
  for (let j = 0; j < 30; j++) { embtool.panBy(1, 0); costs.push(embtool.drawNow()); }
  costs.sort((a, b) => a - b);
  return { fps: (embtool.framesDrawn() - first - 30) / elapsed, frameMs: costs[15] };
}"""

QUERY = """(labels) => {
  const times = [];
  for (const l of labels) { const s = performance.now(); embtool.neighbours(l, {minRatings: 0}); times.push(performance.now() - s); }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}"""


def measure(browser, page_path, reps, labels):
    paints, fps, frame, query = [], [], [], []
    for _ in range(reps):
        ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(Path(page_path).resolve().as_uri())
        page.wait_for_function("() => window.embtool && window.embtool.timings.firstPaint !== null", timeout=60000)
        paints.append(page.evaluate("embtool.timings.firstPaint") / 1000)
        r = page.evaluate(FRAMES, 3)
        fps.append(r["fps"]); frame.append(r["frameMs"])
        query.append(page.evaluate(QUERY, labels))
        if errors:
            raise RuntimeError(f"{page_path}: {errors}")
        ctx.close()
    return {"first_paint_s": statistics.median(paints), "fps": statistics.median(fps),
            "frame_ms": statistics.median(frame), "query_ms": statistics.median(query), "renderer": "webgl"}


def parity(browser, embtool, page_path, model, labels, min_ratings):
    """The page's top 10 against `embtool similar --json` for each label: how many
    lists are identical, and the largest difference between the similarities at
    the same rank (lists that differ only in the order of ties agree there)."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(Path(page_path).resolve().as_uri())
    page.wait_for_function("() => window.embtool && window.embtool.timings.firstPaint !== null", timeout=60000)
    same, worst = 0, 0.0
    for label in labels:
        cli = json.loads(subprocess.run([embtool, "similar", label, "--model", str(model), "--min-ratings", str(min_ratings), "--json"],
                                        capture_output=True, text=True, check=True).stdout)["neighbours"]
        ours = page.evaluate("([l, m]) => embtool.search(l, {minRatings: m})", [label, min_ratings])["neighbours"]
        same += [n["label"] for n in ours] == [n["label"] for n in cli]
        worst = max([worst] + [abs(x["similarity"] - y["similarity"]) for x, y in zip(ours, cli)])
    ctx.close()
    return {"queries": len(labels), "same": same, "rank_diff": worst, "min_ratings": min_ratings}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--embtool", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ml100k", required=True)
    ap.add_argument("--big-model", required=True)
    ap.add_argument("--big-data", required=True)
    ap.add_argument("--parity-queries", type=int, default=200)
    a = ap.parse_args()
    out = Path(a.out)
    small = explore(a.embtool, out / "ml-100k.html", "--data", a.ml100k)
    big = explore(a.embtool, out / "ml-25m.html", "--model", a.big_model, "--data", a.big_data)
    big_labels = json.loads(subprocess.run([a.embtool, "pca", "--model", a.big_model, "--all", "--components", "1", "--json"],
                                           capture_output=True, text=True, check=True).stdout)["points"]
    rng = random.Random(1)
    sample = [p["label"] for p in rng.sample(big_labels, a.parity_queries)]
    rated = [p["label"] for p in big_labels if (p["count"] or 0) >= 20]
    sample_rated = rng.sample(rated, min(len(rated), a.parity_queries))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        m_small = measure(browser, out / "ml-100k.html", a.reps, ["Star Wars (1977)", "Fargo (1996)", "Titanic (1997)"] * 7)
        m_big = measure(browser, out / "ml-25m.html", a.reps, sample[:21])
        checks = [parity(browser, a.embtool, out / "ml-25m.html", a.big_model, sample, 0),
                  parity(browser, a.embtool, out / "ml-25m.html", a.big_model, sample_rated, 20)]
        browser.close()
    result = {"ml-100k": {**small, **m_small}, "ml-25m": {**big, **m_big, "parity": checks}}
    (out / "explorer.json").write_text(json.dumps(result, indent=2))
    print("result: " + json.dumps(result))
    mb = lambda b: f"{b / 1e6:.2f} MB"
    print()
    print("| page | items | file | vectors | write | first paint | pan/zoom | one frame | one neighbour query |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in result.items():
        print(f"| {name} | {r['items']:,} | {mb(r['bytes'])} | {r['vectors']} | {r['wall']:.2f} s | {r['first_paint_s']:.2f} s | "
              f"{r['fps']:.0f} fps | {r['frame_ms']:.1f} ms | {r['query_ms']:.1f} ms |")
    print()
    print("| 59k page vs `embtool similar --json` | queries | identical top 10 | largest similarity difference at equal rank |")
    print("| --- | --- | --- | --- |")
    for c in result["ml-25m"]["parity"]:
        print(f"| sampled items, --min-ratings {c['min_ratings']} | {c['queries']} | {c['same']} | {c['rank_diff']:.1e} |")


if __name__ == "__main__":
    main()
