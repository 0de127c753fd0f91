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
        page.wait_for_function("window.embtool && window.embtool.timings.firstPaint !== null", timeout=60000)
        paints.append(page.evaluate("embtool.timings.firstPaint") / 1000)
        r = page.evaluate(FRAMES, 3)
        fps.append(r["fps"]); frame.append(r["frameMs"])
        query.append(page.evaluate(QUERY, labels))
        if errors:
            raise RuntimeError(f"{page_path}: {errors}")
        ctx.close()
    return {"first_paint_s": statistics.median(paints), "fps": statistics.median(fps),
            "frame_ms": statistics.median(frame), "query_ms": statistics.median(query), "renderer": "webgl"}


def parity(browser, embtool, page_path, model, labels):
    """The page's top 10 against `embtool similar --json` for each label."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(Path(page_path).resolve().as_uri())
    page.wait_for_function("window.embtool && window.embtool.timings.firstPaint !== null", timeout=60000)
    same, worst = 0, 0.0
    for label in labels:
        cli = json.loads(subprocess.run([embtool, "similar", label, "--model", str(model), "--json"],
                                        capture_output=True, text=True, check=True).stdout)
        ours = page.evaluate("(l) => embtool.search(l, {minRatings: 0})", label)
        a, b = [n["label"] for n in ours["neighbours"]], [n["label"] for n in cli["neighbours"]]
        same += a == b
        worst = max([worst] + [abs(x["similarity"] - y["similarity"]) for x, y in zip(ours["neighbours"], cli["neighbours"])])
    ctx.close()
    return same, worst


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
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        m_small = measure(browser, out / "ml-100k.html", a.reps, ["Star Wars (1977)", "Fargo (1996)", "Titanic (1997)"] * 7)
        m_big = measure(browser, out / "ml-25m.html", a.reps, sample[:21])
        same, worst = parity(browser, a.embtool, out / "ml-25m.html", a.big_model, sample)
        browser.close()
    result = {"ml-100k": {**small, **m_small}, "ml-25m": {**big, **m_big, "parity_same_top10": same,
              "parity_queries": len(sample), "parity_max_similarity_diff": worst}}
    (out / "explorer.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    mb = lambda b: f"{b / 1e6:.2f} MB"
    print()
    print("| page | items | file | vectors | write | first paint | pan/zoom | one frame | one neighbour query | same top 10 as `similar` |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in result.items():
        par = f"{r['parity_same_top10']}/{r['parity_queries']} (max diff {r['parity_max_similarity_diff']:.1e})" if "parity_queries" in r else "tested (Tests/browser)"
        print(f"| {name} | {r['items']:,} | {mb(r['bytes'])} | {r['vectors']} | {r['wall']:.2f} s | {r['first_paint_s']:.2f} s | "
              f"{r['fps']:.0f} fps | {r['frame_ms']:.1f} ms | {r['query_ms']:.1f} ms | {par} |")


if __name__ == "__main__":
    main()
