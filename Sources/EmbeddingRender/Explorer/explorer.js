"use strict";
// The explorer page: reads the JSON that `embtool explore` embedded, draws the
// items, and wires search, neighbours, biases, the like panel, custom axes,
// colours, the URL fragment and exports. Every label reaches the page through
// textContent or an SVG text node, never as markup. `window.embtool` exposes
// what the page does, for scripts and tests.

(() => {
  const t0 = performance.now();
  const $ = (id) => document.getElementById(id);
  const DATA = JSON.parse($("embtool-data").textContent);

  // ---------------------------------------------------------------- the model
  const n = DATA.items, k = DATA.factors;
  const labels = DATA.labels;
  const counts = DATA.counts || null;
  const means = DATA.means ? Linalg.float32sOrNull(DATA.means) : null;
  const bias = DATA.bias ? Linalg.float32sOrNull(DATA.bias) : null;
  const genreNames = DATA.genreNames || [];
  const genres = DATA.genres || null;
  const vectors = Linalg.decodeVectors(DATA.vectors, n, k);
  const model = { n, k, vectors, bias, recommend: DATA.recommend };
  const index = new Linalg.CosineIndex(vectors, n, k);
  const resolver = new TitleResolver.Resolver(labels, counts);
  const years = labels.map((l) => { const m = /\((\d{4})\)\s*$/.exec(l); return m ? +m[1] : null; });

  /** Layouts with coordinates scaled into [-1, 1] (aspect kept), so a view
   *  (centre, zoom) means the same on every layout. */
  function normalised(name, xTitle, yTitle, xs, ys) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      if (xs[i] < x0) x0 = xs[i]; if (xs[i] > x1) x1 = xs[i];
      if (ys[i] < y0) y0 = ys[i]; if (ys[i] > y1) y1 = ys[i];
    }
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, half = Math.max(x1 - x0, y1 - y0) / 2 || 1;
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) { xy[2 * i] = (xs[i] - cx) / half; xy[2 * i + 1] = (ys[i] - cy) / half; }
    return { name, xTitle, yTitle, xy, cx, cy, half, grid: null };
  }
  const layouts = DATA.layouts.map((l) => {
    const c = Linalg.float32s(l.coords), xs = new Float32Array(n), ys = new Float32Array(n);
    for (let i = 0; i < n; i++) { xs[i] = c[2 * i]; ys[i] = c[2 * i + 1]; }
    return normalised(l.name, l.x, l.y, xs, ys);
  });

  // ---------------------------------------------------------------- state
  const defaultColor = genres ? "genre" : bias ? "bias" : counts ? "count" : "none";
  const state = {
    layout: layouts[0].name,
    selected: null,
    color: defaultColor,
    sizeByCount: !!counts,
    minRatings: DATA.minRatings || 0,
    focusGenre: null,
    likes: [],
    dislikes: [],
    axes: null,              // {x, y} specs of the custom layout
    view: { x: 0, y: 0, zoom: 1 },
  };
  let neighbourRows = [];    // [{row, score}] of the selection
  let recommendations = [];  // [{row, predicted}]
  const fmt = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(d));
  const countOf = (r) => (counts ? counts[r] : null);
  const passes = (r, min) => !counts || min <= 0 || counts[r] >= min;

  // ---------------------------------------------------------------- analysis
  /** {query, neighbours:[{label, similarity, count}]} as `similar --json`, or
   *  {query, ambiguous:[labels]} / {query, unknown:true, suggestions:[labels]}. */
  function search(query, options = {}) {
    const res = resolver.resolve(String(query));
    if (res.ambiguous) return { query: String(query), ambiguous: res.ambiguous.map((r) => labels[r]) };
    if (res.unknown) return { query: String(query), unknown: true, suggestions: res.unknown.map((r) => labels[r]) };
    const row = res.found;
    return { query: labels[row], count: countOf(row), neighbours: neighbours(row, options).map(neighbourJSON) };
  }
  const neighbourJSON = (nb) => ({ label: labels[nb.row], similarity: nb.score, count: countOf(nb.row) });

  /** The `top` cosine neighbours of `row` among items with ≥ minRatings ratings. */
  function neighbours(row, { top = 10, minRatings = state.minRatings } = {}) {
    return index.neighbours(row, top, minRatings > 0 && counts ? (r) => counts[r] >= minRatings : null);
  }

  /** `recommend --like/--dislike --json`: {like, dislike, items:[{label, predicted_rating, count}]}. */
  function recommend({ like = [], dislike = [], top = 10, minRatings = state.minRatings } = {}) {
    const rowOf = (q) => {
      const res = resolver.resolve(String(q));
      if (res.found === undefined) throw new Error(describe(q, res));
      return res.found;
    };
    const liked = like.map(rowOf), disliked = dislike.map(rowOf);
    return { like: liked.map((r) => labels[r]), dislike: disliked.map((r) => labels[r]),
             items: recommendRows(liked, disliked, top, minRatings).map((x) => ({ label: labels[x.row], predicted_rating: x.predicted, count: countOf(x.row) })) };
  }

  function recommendRows(liked, disliked, top, minRatings) {
    if (!liked.length && !disliked.length) return [];
    const user = Linalg.foldIn(model, liked, disliked);
    const p = Linalg.predictions(model, user);
    const excluded = new Set([...liked, ...disliked]);
    return Linalg.topK(p, top, (r) => !excluded.has(r) && passes(r, minRatings)).map((x) => ({ row: x.row, predicted: x.score }));
  }

  /** `bias --json`: the lowest and highest biases, ties by label. */
  function biasRanking({ minRatings = state.minRatings, top = 10, bottom = 10 } = {}) {
    if (!bias) return { lowest: [], highest: [] };
    const rows = [];
    for (let r = 0; r < n; r++) if (bias[r] !== null && passes(r, minRatings)) rows.push(r);
    const order = (asc) => rows.slice().sort((a, b) => bias[a] !== bias[b] ? (asc ? bias[a] - bias[b] : bias[b] - bias[a]) : TitleResolver.compareCodePoints(labels[a], labels[b]));
    const entry = (r) => ({ label: labels[r], bias: bias[r], mean_rating: means ? means[r] : null, count: countOf(r), row: r });
    return { lowest: order(true).slice(0, bottom).map(entry), highest: order(false).slice(0, top).map(entry) };
  }

  /** What a person reads when a query does not name one item. */
  function describe(query, res) {
    if (res.ambiguous) {
      const shown = res.ambiguous.slice(0, 8).map((r) => `"${labels[r]}"`).join(", ");
      const more = res.ambiguous.length > 8 ? `, and ${res.ambiguous.length - 8} more` : "";
      return `"${query}" matches ${res.ambiguous.length} titles: ${shown}${more}; say which`;
    }
    const hint = res.unknown.length ? "; nearest: " + res.unknown.map((r) => `"${labels[r]}"`).join(", ") : "";
    return `no title matches "${query}"${hint}`;
  }

  /** An axis vector as `embtool axes` reads one (CustomAxis.parse): a title,
   *  `genre:NAME` (the centroid of the items listing it), or `A-B` (from B to A).
   *  The whole text is tried as one term first, then every "-" that splits it
   *  into two terms that both resolve; two such splits are an error.
   *  Returns {vector, title} or throws the message a person reads. */
  function axisVector(spec) {
    const text = String(spec);
    const term = (t) => {
      t = t.replace(/^[\p{Zs}\t]+|[\p{Zs}\t]+$/gu, "");
      if (t.toLowerCase().startsWith("genre:")) {
        const wanted = t.slice(6).trim().toLowerCase();
        if (!genres) throw new Error(`'${t}' needs genres: the model has none`);
        const gi = genreNames.findIndex((x) => x.toLowerCase() === wanted);
        if (gi < 0) throw new Error(`no genre '${t.slice(6).trim()}'; genres are ${genreNames.join(", ")}`);
        const rows = [];
        for (let r = 0; r < n; r++) if (genres[r].includes(gi)) rows.push(r);
        return { vector: Linalg.centroid(vectors, k, rows), title: `genre:${genreNames[gi]}` };
      }
      const res = resolver.resolve(t);
      if (res.found === undefined) throw new Error(describe(t, res));
      return { vector: Float64Array.from(vectors.subarray(res.found * k, (res.found + 1) * k)), title: labels[res.found] };
    };
    let whole;
    try { return term(text); } catch (e) { whole = e; }
    const splits = [];
    for (let i = text.indexOf("-"); i >= 0; i = text.indexOf("-", i + 1)) {
      try { splits.push([term(text.slice(0, i)), term(text.slice(i + 1))]); } catch (e) { /* not this cut */ }
    }
    if (splits.length !== 1) {
      if (!splits.length) throw whole;
      throw new Error(`"${text}" splits into a difference in ${splits.length} ways; name the items more fully`);
    }
    const [a, b] = splits[0];
    return { vector: a.vector.map((v, j) => v - b.vector[j]), title: `${a.title} − ${b.title}` };
  }

  /** Builds (or rebuilds) the "Custom" layout from two axis specs. */
  function setAxes(xSpec, ySpec) {
    const ax = axisVector(xSpec), ay = axisVector(ySpec);
    const xs = Linalg.project(vectors, n, k, ax.vector), ys = Linalg.project(vectors, n, k, ay.vector);
    const custom = normalised("Custom", `→ ${ax.title}`, `→ ${ay.title}`, xs, ys);   // as `embtool axes` titles them
    const at = layouts.findIndex((l) => l.name === "Custom");
    if (at >= 0) layouts[at] = custom; else layouts.push(custom);
    state.axes = { x: String(xSpec), y: String(ySpec) };
    $("axis-x").value = state.axes.x;
    $("axis-y").value = state.axes.y;
    buildLayoutTabs();
    return custom;
  }

  // ---------------------------------------------------------------- colours and sizes
  const colorSchemes = [["genre", "genre", !!genres], ["bias", "learned bias", !!bias], ["mean", "mean rating", !!means],
                        ["count", "ratings (log)", !!counts], ["year", "year", years.some((y) => y !== null)], ["none", "none", true]]
    .filter((s) => s[2]);

  const genreColor = (gi) => Render.hex(Render.CATEGORICAL[gi % Render.CATEGORICAL.length]);
  const GREY = [168, 172, 180];

  function quantile(values, q) {
    const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.max(0, Math.round(q * (v.length - 1))))] : 0;
  }

  /** Per scheme: value of a row, colour map and domain. Robust domains (2nd–98th
   *  percentile) keep one outlier from washing out the rest. */
  const continuous = {};
  function scheme(name) {
    if (continuous[name]) return continuous[name];
    let value, stops, domain, label;
    if (name === "bias") {
      value = (r) => bias[r];
      const m = Math.max(Math.abs(quantile(bias, 0.02)), Math.abs(quantile(bias, 0.98))) || 1;
      domain = [-m, m]; stops = Render.DIVERGING_RGB; label = "learned bias";
    } else if (name === "mean") {
      value = (r) => means[r]; domain = [quantile(means, 0.02), quantile(means, 0.98)]; stops = Render.VIRIDIS_RGB; label = "mean rating";
    } else if (name === "count") {
      const logs = counts.map((c) => Math.log10(1 + c));
      value = (r) => logs[r]; domain = [0, Math.max(...logs) || 1]; stops = Render.VIRIDIS_RGB; label = "ratings";
    } else if (name === "year") {
      value = (r) => years[r]; domain = [quantile(years, 0.02), quantile(years, 0.98)]; stops = Render.VIRIDIS_RGB; label = "year";
    } else return null;
    if (!(domain[1] > domain[0])) domain = [domain[0], domain[0] + 1];
    return (continuous[name] = { value, stops, domain, label });
  }

  /** RGB of each row under the current scheme, and the legend's entries. */
  function baseColors() {
    const rgb = new Array(n);
    if (state.color === "genre") {
      for (let r = 0; r < n; r++) rgb[r] = genres[r].length ? genreColor(genres[r][0]) : GREY;
    } else if (state.color === "none") {
      rgb.fill(Render.hex("#4e79a7"));
    } else {
      const s = scheme(state.color);
      for (let r = 0; r < n; r++) {
        const v = s.value(r);
        rgb[r] = v === null || v === undefined || Number.isNaN(v) ? GREY : Render.ramp(s.stops, (v - s.domain[0]) / (s.domain[1] - s.domain[0]));
      }
    }
    return rgb;
  }

  /** Whether row r stands out: all rows, or those of the focused genre. */
  const inFocus = (r) => state.focusGenre === null || (genres && genres[r].includes(state.focusGenre));

  function pointColors() {
    const rgb = baseColors(), out = new Uint8Array(4 * n);
    const dim = state.selected !== null || state.likes.length || state.dislikes.length;
    for (let r = 0; r < n; r++) {
      const focus = inFocus(r);
      out[4 * r] = rgb[r][0]; out[4 * r + 1] = rgb[r][1]; out[4 * r + 2] = rgb[r][2];
      out[4 * r + 3] = !focus ? 28 : dim ? 120 : 215;
    }
    return out;
  }

  let maxCount = 1;
  if (counts) for (const c of counts) if (c > maxCount) maxCount = c;
  /** Diameter in CSS pixels: area grows with the rating count when sizing by it. */
  function pointSizes() {
    const base = n > 20000 ? 3 : n > 5000 ? 4 : 5.5;
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      out[r] = state.sizeByCount && counts ? base * 0.6 + base * 2.2 * Math.sqrt(counts[r] / maxCount) : base;
    }
    return out;
  }

  // Draw order: least-rated first, so popular items end on top.
  const drawOrder = Array.from({ length: n }, (_, i) => i);
  if (counts) drawOrder.sort((a, b) => counts[a] - counts[b] || a - b);
  // Rows by decreasing rating count: who gets a label first.
  const labelOrder = drawOrder.slice().reverse();

  // ---------------------------------------------------------------- drawing
  const mapEl = $("map"), pointsCanvas = $("points"), overlay = $("overlay");
  const forceCanvas = /(?:^|[#&])renderer=canvas(?:&|$)/.test(location.hash) ? "canvas" : null;
  const points = Render.create(pointsCanvas, forceCanvas);
  const octx = overlay.getContext("2d");
  let width = 0, height = 0, dpr = 1;
  let currentXY = layouts[0].xy;     // positions on screen now (interpolated during a transition)
  let transition = null;

  points.setOrder(drawOrder);
  points.setPositions(currentXY);
  points.setSizes(pointSizes());
  points.setColors(pointColors());

  const MARGIN = 0.25;
  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = mapEl.clientWidth; height = mapEl.clientHeight;
    overlay.width = Math.round(width * dpr); overlay.height = Math.round(height * dpr);
    const mx = width * MARGIN, my = height * MARGIN;
    Object.assign(pointsCanvas.style, { left: `${-mx}px`, top: `${-my}px`, width: `${width + 2 * mx}px`, height: `${height + 2 * my}px`, transformOrigin: `${mx}px ${my}px` });
    pointsCanvas.width = Math.round((width + 2 * mx) * dpr); pointsCanvas.height = Math.round((height + 2 * my) * dpr);
    drawnView = null;
    requestDraw();
  }

  /** The view as a transform: sx = x·s + tx, sy = −y·s + ty (CSS pixels). */
  function transform(view = state.view, w = width, h = height) {
    const s = (Math.min(w - 90, h - 70) / 2) * view.zoom;
    return { s, tx: w / 2 + 10 - view.x * s, ty: h / 2 - 8 + view.y * s };
  }
  const toScreen = (t, xy, r) => [xy[2 * r] * t.s + t.tx, -xy[2 * r + 1] * t.s + t.ty];
  const pointScale = () => Math.min(2.2, Math.max(0.8, Math.pow(state.view.zoom, 0.35)));

  // Points are drawn again only when they changed (view, colours, sizes,
  // positions); a hover redraws the overlay alone. The points' canvas is a
  // MARGIN larger than the map on every side; during a pan or zoom the image
  // already drawn is moved by a CSS transform (the compositor's work, whatever
  // the number of points: software WebGL takes tens of milliseconds for 59k)
  // and the points are drawn again, sharp, once the motion has stopped for
  // SETTLE_MS.
  const SETTLE_MS = 150;
  let drawPending = false, pointsDirty = true, lastMotion = -Infinity, settleTimer = 0;
  function requestDraw(pointsChanged = true) {
    if (pointsChanged) pointsDirty = true;
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(frame);
  }
  /** A pan or zoom step: frames blit until the motion settles. */
  function motion() {
    lastMotion = performance.now();
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => requestDraw(), SETTLE_MS + 10);
  }
  function frame(now) {
    drawPending = false;
    if (transition) {
      const u = Math.min(1, (now - transition.start) / transition.ms), e = u < 0.5 ? 4 * u * u * u : 1 - Math.pow(-2 * u + 2, 3) / 2;
      const { from, to } = transition, xy = new Float32Array(2 * n);
      for (let i = 0; i < 2 * n; i++) xy[i] = from[i] + (to[i] - from[i]) * e;
      currentXY = xy;
      points.setPositions(xy);
      if (u >= 1) { transition = null; currentXY = to; points.setPositions(to); }
      else requestDraw();
    }
    draw();
  }

  let framesDrawn = 0, drawnView = null;
  function draw(full = false) {
    const t = transform();
    if (pointsDirty || full) {
      const moving = !full && !transition && drawnView && performance.now() - lastMotion < SETTLE_MS;
      if (moving) {
        // The drawn image, moved from the view it was drawn for to this one.
        const a = t.s / drawnView.s, bx = t.tx - drawnView.tx * a, by = t.ty - drawnView.ty * a;
        pointsCanvas.style.transform = `translate(${bx}px, ${by}px) scale(${a})`;
      } else {
        const mx = width * MARGIN, my = height * MARGIN;
        points.draw({ s: t.s, tx: t.tx + mx, ty: t.ty + my }, width + 2 * mx, height + 2 * my, dpr, pointScale());
        pointsCanvas.style.transform = "";
        drawnView = t;
      }
      pointsDirty = false;
    }
    drawOverlay(octx, t, width, height, dpr, true);
    framesDrawn++;
  }

  /** Rounded "nice" tick step for a span. */
  function niceStep(span, target) {
    const raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }

  /** Ticks, highlights, labels: everything drawn over the points. */
  function drawOverlay(ctx, t, w, h, ratio, clear) {
    if (clear) { ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, w * ratio, h * ratio); }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const L = currentLayout();
    drawTicks(ctx, t, w, h, L);
    const xy = currentXY;
    const font = (px, weight = 400) => `${weight} ${px}px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif`;
    // The legend covers part of the map: no label goes under it.
    const legend = $("legend"), boxes = [];
    if (!legend.hidden && clear) boxes.push([legend.offsetLeft, legend.offsetTop, legend.offsetWidth, legend.offsetHeight]);
    const labelled = new Set();
    const place = (r, text, style) => {
      if (labelled.has(r)) return false;
      const [x, y] = toScreen(t, xy, r);
      ctx.font = font(style.size, style.weight);
      const tw = ctx.measureText(text).width, th = style.size + 2;
      const candidates = [[x + 7, y - th / 2], [x - 7 - tw, y - th / 2], [x - tw / 2, y - 7 - th], [x - tw / 2, y + 7]];
      for (const [bx, by] of candidates) {
        const box = [bx - 2, by - 1, tw + 4, th + 2];
        if (box[0] < 0 || box[1] < 0 || box[0] + box[2] > w || box[1] + box[3] > h) continue;
        if (!style.force && boxes.some((b) => b[0] < box[0] + box[2] && box[0] < b[0] + b[2] && b[1] < box[1] + box[3] && box[1] < b[1] + b[3])) continue;
        boxes.push(box);
        labelled.add(r);
        ctx.fillStyle = style.halo;
        ctx.fillRect(box[0], box[1], box[2], box[3]);
        ctx.fillStyle = style.color;
        ctx.textBaseline = "top";
        ctx.fillText(text, bx, by + 1);
        return true;
      }
      return false;
    };
    const ring = (r, radius, color, lineWidth, fill) => {
      const [x, y] = toScreen(t, xy, r);
      ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI);
      if (fill) { ctx.fillStyle = fill; ctx.fill(); }
      ctx.lineWidth = lineWidth; ctx.strokeStyle = color; ctx.stroke();
    };
    const sel = state.selected;
    // Lines from the selection to its neighbours, then rings, then labels.
    if (sel !== null) {
      const [sx, sy] = toScreen(t, xy, sel);
      ctx.strokeStyle = "rgba(214,51,108,0.35)"; ctx.lineWidth = 1;
      for (const nb of neighbourRows) { const [x, y] = toScreen(t, xy, nb.row); ctx.beginPath(); ctx.moveTo(sx, sy); ctx.lineTo(x, y); ctx.stroke(); }
    }
    for (const x of recommendations) ring(x.row, 5.5, "#2f9e44", 2, "rgba(47,158,68,0.25)");
    for (const r of state.likes) ring(r, 6, "#2f9e44", 2.5, "#b2f2bb");
    for (const r of state.dislikes) ring(r, 6, "#c92a2a", 2.5, "#ffc9c9");
    for (const nb of neighbourRows) ring(nb.row, 5.5, "#d6336c", 2, "rgba(255,255,255,0.8)");
    if (sel !== null) { ring(sel, 8, "#1d2330", 3, "#d6336c"); }
    if (hovered !== null) ring(hovered, 7, "#1d2330", 1.5, null);

    const halo = "rgba(251,251,249,0.82)";
    if (sel !== null) place(sel, labels[sel], { size: 13, weight: 700, color: "#1d2330", halo: "rgba(255,255,255,0.92)", force: true });
    neighbourRows.forEach((nb, i) => place(nb.row, `${i + 1}. ${labels[nb.row]} · ${nb.score.toFixed(2)}`, { size: 11.5, weight: 600, color: "#a61e4d", halo }));
    for (const r of [...state.likes, ...state.dislikes]) place(r, labels[r], { size: 11.5, weight: 600, color: "#1d2330", halo });
    recommendations.forEach((x, i) => place(x.row, `★${i + 1} ${labels[x.row]}`, { size: 11, weight: 600, color: "#1e6b30", halo }));
    // Then the most-rated items in view, as many as fit without overlap.
    let placed = 0, tried = 0;
    const budget = sel !== null || recommendations.length ? 10 : 28;
    for (const r of labelOrder) {
      if (placed >= budget || tried > 4000) break;
      if (!inFocus(r)) continue;
      const [x, y] = toScreen(t, xy, r);
      if (x < 0 || y < 0 || x > w || y > h) continue;
      tried++;
      if (place(r, labels[r], { size: 11, weight: 400, color: "#3d4452", halo })) placed++;
    }
  }

  function drawTicks(ctx, t, w, h, L) {
    // World extent on screen, in the layout's own units.
    const wx0 = (0 - t.tx) / t.s, wx1 = (w - t.tx) / t.s, wy0 = (t.ty - h) / t.s, wy1 = t.ty / t.s;
    const ux = (v) => v * L.half + L.cx, uy = (v) => v * L.half + L.cy;
    ctx.font = `400 10px system-ui, "DejaVu Sans", sans-serif`;
    ctx.fillStyle = "#9aa1ad";
    ctx.strokeStyle = "rgba(0,0,0,0.05)";
    ctx.lineWidth = 1;
    const sx = niceStep(ux(wx1) - ux(wx0), 8), sy = niceStep(uy(wy1) - uy(wy0), 6);
    // Ticks are multiples i·step, printed with the step's decimals (no 5.55e-17 for 0).
    const text = (i, step) => (i * step).toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
    ctx.textBaseline = "bottom"; ctx.textAlign = "center";
    for (let i = Math.ceil(ux(wx0) / sx); i * sx <= ux(wx1); i++) {
      const x = ((i * sx - L.cx) / L.half) * t.s + t.tx;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
      ctx.fillText(text(i, sx), x, h - 24);
    }
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    for (let i = Math.ceil(uy(wy0) / sy); i * sy <= uy(wy1); i++) {
      const y = -((i * sy - L.cy) / L.half) * t.s + t.ty;
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.fillText(text(i, sy), 24, y);
    }
    ctx.textAlign = "left";
  }

  // ---------------------------------------------------------------- picking
  /** A uniform grid over a layout's normalised coordinates, for hover and click. */
  function gridOf(L) {
    if (L.grid) return L.grid;
    const g = Math.max(8, Math.ceil(Math.sqrt(n / 2))), cells = new Array(g * g);
    const cell = (v) => Math.min(g - 1, Math.max(0, Math.floor(((v + 1) / 2) * g)));
    for (let r = 0; r < n; r++) {
      const c = cell(L.xy[2 * r + 1]) * g + cell(L.xy[2 * r]);
      (cells[c] || (cells[c] = [])).push(r);
    }
    return (L.grid = { g, cells, cell });
  }

  /** The row drawn nearest to screen point (px, py) within `radius` pixels, or null. */
  function hitTest(px, py, radius = 9) {
    const L = currentLayout(), t = transform();
    if (transition) return null;
    const { g, cells, cell } = gridOf(L);
    const wx = (px - t.tx) / t.s, wy = (t.ty - py) / t.s, wr = radius / t.s;
    let best = null, bestD = radius * radius;
    for (let cy = cell(wy - wr); cy <= cell(wy + wr); cy++) {
      for (let cx = cell(wx - wr); cx <= cell(wx + wr); cx++) {
        for (const r of cells[cy * g + cx] || []) {
          if (!inFocus(r)) continue;
          const [x, y] = toScreen(t, L.xy, r), d = (x - px) ** 2 + (y - py) ** 2;
          if (d < bestD || (d === bestD && best !== null && countOf(r) > countOf(best))) { best = r; bestD = d; }
        }
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- panels
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const currentLayout = () => layouts.find((l) => l.name === state.layout) || layouts[0];

  function statsLine(r) {
    const parts = [];
    if (counts) parts.push(`${counts[r].toLocaleString("en")} ratings`);
    if (means && means[r] !== null) parts.push(`mean ${means[r].toFixed(2)}`);
    if (bias && bias[r] !== null) parts.push(`bias ${bias[r] >= 0 ? "+" : ""}${bias[r].toFixed(3)}`);
    return parts.join(" · ");
  }
  const genreList = (r) => (genres ? genres[r].map((g) => genreNames[g]) : []);

  function fillTable(tbody, rows, cells, onClick, current) {
    tbody.replaceChildren();
    rows.forEach((row, i) => {
      const tr = document.createElement("tr");
      for (const c of cells(row, i)) tr.append(c);
      if (onClick) tr.addEventListener("click", () => onClick(row));
      if (current !== undefined && row.row === current) tr.className = "current";
      tbody.append(tr);
    });
  }

  function renderSelected() {
    const r = state.selected;
    $("selected-empty").hidden = r !== null;
    $("selected").hidden = r === null;
    if (r === null) return;
    $("selected-title").textContent = labels[r];
    $("selected-stats").textContent = statsLine(r);
    $("selected-genres").replaceChildren(...genreList(r).map((g) => el("span", g, "chip")));
    const scope = state.minRatings > 0 && counts ? `items with at least ${state.minRatings} ratings` : `all ${n.toLocaleString("en")} items`;
    $("neighbours-note").textContent = `Cosine similarity of the learned vectors, among ${scope}.`;
    const top = neighbourRows.length ? neighbourRows[0].score : 1;
    fillTable($("neighbours").tBodies[0], neighbourRows, (nb, i) => {
      const sim = el("td", "", "num"), bar = el("span", "", "bar");
      bar.style.width = `${Math.max(2, 36 * Math.max(0, nb.score) / Math.max(top, 1e-9))}px`;
      sim.append(bar, document.createTextNode(nb.score.toFixed(3)));
      return [el("td", String(i + 1), "rank"), el("td", labels[nb.row], "title"), sim, el("td", countOf(nb.row) === null ? "–" : String(countOf(nb.row)), "num")];
    }, (nb) => select(nb.row, { centre: false }));
  }

  function renderBias() {
    const { lowest, highest } = biasRanking();
    $("bias-panel").hidden = !bias;
    if (!bias) return;
    const scope = state.minRatings > 0 && counts ? `items with at least ${state.minRatings} ratings` : `all ${n.toLocaleString("en")} items`;
    $("bias-note").textContent = `What the model adds to every prediction for an item, whoever rates it; beside the raw mean rating. Among ${scope}.`;
    const cells = (e) => [el("td", e.label, "title"), el("td", fmt(e.bias), "num"), el("td", fmt(e.mean_rating, 2), "num"), el("td", e.count === null ? "–" : String(e.count), "num")];
    fillTable($("bias-lowest").tBodies[0], lowest, cells, (e) => select(e.row));
    fillTable($("bias-highest").tBodies[0], highest, cells, (e) => select(e.row));
  }

  function renderLikes() {
    const chip = (r, kind, list) => {
      const c = el("span", labels[r], `chip ${kind}`), x = el("button", "×");
      x.type = "button"; x.title = "remove";
      x.addEventListener("click", () => { list.splice(list.indexOf(r), 1); updateRecommendations(); });
      c.append(x);
      return c;
    };
    $("like-chips").replaceChildren(...state.likes.map((r) => chip(r, "like", state.likes)), ...state.dislikes.map((r) => chip(r, "dislike", state.dislikes)));
    $("recommendations").hidden = !recommendations.length;
    fillTable($("recommendations").tBodies[0], recommendations, (x, i) => [el("td", String(i + 1), "rank"), el("td", labels[x.row], "title"), el("td", x.predicted.toFixed(2), "num"), el("td", countOf(x.row) === null ? "–" : String(countOf(x.row)), "num")], (x) => select(x.row));
  }

  function updateRecommendations() {
    try {
      recommendations = recommendRows(state.likes, state.dislikes, 10, state.minRatings);
    } catch (e) {
      recommendations = [];
      showMessage("like-message", e.message);
    }
    renderLikes();
    refreshColors();
    saveHash();
  }

  function renderLegend() {
    const box = $("legend");
    box.replaceChildren();
    if (state.color === "genre") {
      const tally = new Array(genreNames.length).fill(0);
      for (let r = 0; r < n; r++) if (genres[r].length) tally[genres[r][0]]++;
      const grid = el("div", undefined, "genres");
      box.append(el("div", "first listed genre · click one to focus", "name"), grid);
      genreNames.forEach((g, gi) => {
        if (!tally[gi]) return;
        const row = el("div", undefined, "item" + (state.focusGenre !== null && state.focusGenre !== gi ? " off" : ""));
        const sw = el("span", "", "swatch");
        sw.style.background = Render.CATEGORICAL[gi % Render.CATEGORICAL.length];
        row.append(sw, el("span", g), el("span", String(tally[gi]), "n"));
        row.addEventListener("click", () => setFocus(state.focusGenre === gi ? null : gi));
        grid.append(row);
      });
    } else if (state.color !== "none") {
      const s = scheme(state.color);
      const ramp = el("div", "", "ramp");
      ramp.style.background = `linear-gradient(to right, ${s.stops.map((c) => Render.cssColor(c)).join(", ")})`;
      const end = (v) => state.color === "count" ? Math.round(Math.pow(10, v) - 1).toLocaleString("en") : state.color === "year" ? String(Math.round(v)) : v.toFixed(2);
      const ends = el("div", undefined, "ends");
      ends.append(el("span", end(s.domain[0])), el("span", end((s.domain[0] + s.domain[1]) / 2)), el("span", end(s.domain[1])));
      box.append(el("div", s.label + (state.color === "count" ? " (log scale)" : ""), "name"), ramp, ends);
    }
    box.hidden = !box.childNodes.length;
  }

  /** The legend painted on a 2-D context (for PNG and SVG exports), bottom left. */
  function paintLegend(ctx, w, h) {
    const font = (px, weight = 400) => `${weight} ${px}px system-ui, "DejaVu Sans", sans-serif`;
    const x0 = 40, lineH = 16;
    if (state.color === "genre") {
      const tally = new Array(genreNames.length).fill(0);
      for (let r = 0; r < n; r++) if (genres[r].length) tally[genres[r][0]]++;
      const shown = genreNames.map((g, gi) => gi).filter((gi) => tally[gi]);
      const rows = Math.ceil(shown.length / 2), colW = 120;
      const boxH = rows * lineH + 28, y0 = h - 34 - boxH;
      ctx.fillStyle = "rgba(255,255,255,0.9)"; ctx.fillRect(x0, y0, 2 * colW + 16, boxH);
      ctx.font = font(12, 600); ctx.fillStyle = "#1d2330"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
      ctx.fillText("first listed genre", x0 + 8, y0 + 12);
      shown.forEach((gi, i) => {
        const x = x0 + 8 + Math.floor(i / rows) * colW, y = y0 + 28 + (i % rows) * lineH;
        ctx.beginPath(); ctx.arc(x + 5, y, 5, 0, 2 * Math.PI);
        ctx.fillStyle = state.focusGenre === null || state.focusGenre === gi ? Render.CATEGORICAL[gi % Render.CATEGORICAL.length] : "#d0d3d9";
        ctx.fill();
        ctx.fillStyle = "#1d2330"; ctx.font = font(12); ctx.fillText(`${genreNames[gi]} (${tally[gi]})`, x + 15, y);
      });
    } else if (state.color !== "none") {
      const s = scheme(state.color), y0 = h - 34 - 52, steps = 24;
      ctx.fillStyle = "rgba(255,255,255,0.9)"; ctx.fillRect(x0, y0, 200, 52);
      ctx.font = font(12, 600); ctx.fillStyle = "#1d2330"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
      ctx.fillText(s.label + (state.color === "count" ? " (log scale)" : ""), x0 + 8, y0 + 12);
      for (let i = 0; i < steps; i++) { ctx.fillStyle = Render.cssColor(Render.ramp(s.stops, (i + 0.5) / steps)); ctx.fillRect(x0 + 8 + (i * 184) / steps, y0 + 22, 184 / steps + 0.5, 10); }
      const end = (v) => state.color === "count" ? Math.round(Math.pow(10, v) - 1).toLocaleString("en") : state.color === "year" ? String(Math.round(v)) : v.toFixed(2);
      ctx.font = font(11); ctx.fillStyle = "#6b7280";
      ctx.fillText(end(s.domain[0]), x0 + 8, y0 + 42);
      ctx.textAlign = "right"; ctx.fillText(end(s.domain[1]), x0 + 192, y0 + 42); ctx.textAlign = "left";
    }
  }

  function showMessage(id, text) {
    const m = $(id);
    m.textContent = text || "";
    m.hidden = !text;
  }

  // ---------------------------------------------------------------- actions
  function refreshColors() { points.setColors(pointColors()); requestDraw(); }

  function select(row, { centre = false } = {}) {
    state.selected = row === null || row === undefined ? null : row;
    neighbourRows = state.selected === null ? [] : neighbours(state.selected);
    $("candidates").hidden = true;
    showMessage("search-message", "");
    renderSelected();
    if (centre && state.selected !== null) centreOn(state.selected);
    refreshColors();
    saveHash();
  }

  /** Frames `row` and its neighbours: the view centred on their bounding box,
   *  zoomed to fit it (never closer than 6×, never farther than the whole map). */
  function centreOn(row) {
    const L = currentLayout(), rows = [row, ...neighbourRows.map((nb) => nb.row)];
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const r of rows) {
      x0 = Math.min(x0, L.xy[2 * r]); x1 = Math.max(x1, L.xy[2 * r]);
      y0 = Math.min(y0, L.xy[2 * r + 1]); y1 = Math.max(y1, L.xy[2 * r + 1]);
    }
    const span = Math.max(x1 - x0, y1 - y0, 1e-6);
    state.view = { x: (x0 + x1) / 2, y: (y0 + y1) / 2, zoom: Math.min(6, Math.max(1, 1.7 / span)) };
    requestDraw();
    saveHash();
  }

  function setLayout(name, { animate = true } = {}) {
    const L = layouts.find((l) => l.name === name);
    if (!L) throw new Error(`no layout "${name}"; layouts: ${layouts.map((l) => l.name).join(", ")}`);
    const from = currentXY;
    state.layout = L.name;
    if (animate && from !== L.xy && !window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      transition = { from, to: L.xy, start: performance.now(), ms: 450 };
    } else {
      transition = null;
      currentXY = L.xy;
      points.setPositions(L.xy);
    }
    $("x-title").textContent = L.xTitle;
    $("y-title").textContent = L.yTitle;
    for (const b of $("layouts").children) b.setAttribute("aria-selected", String(b.dataset.layout === L.name));
    requestDraw();
    saveHash();
  }

  function setColor(name) {
    if (!colorSchemes.some((s) => s[0] === name)) throw new Error(`no colour "${name}"; colours: ${colorSchemes.map((s) => s[0]).join(", ")}`);
    state.color = name;
    $("color").value = name;
    renderLegend();
    refreshColors();
    saveHash();
  }

  function setFocus(gi) {
    state.focusGenre = gi;
    renderLegend();
    refreshColors();
    saveHash();
  }

  function setSize(byCount) {
    state.sizeByCount = !!byCount && !!counts;
    $("size").checked = state.sizeByCount;
    points.setSizes(pointSizes());
    requestDraw();
    saveHash();
  }

  function setMinRatings(m) {
    state.minRatings = Math.max(0, Math.floor(+m) || 0);
    $("min-ratings").value = String(state.minRatings);
    if (state.selected !== null) { neighbourRows = neighbours(state.selected); renderSelected(); }
    renderBias();
    updateRecommendations();
  }

  function addTaste(query, liked) {
    const res = resolver.resolve(query);
    if (res.found === undefined) { showMessage("like-message", describe(query, res)); return false; }
    showMessage("like-message", "");
    const r = res.found;
    for (const list of [state.likes, state.dislikes]) { const i = list.indexOf(r); if (i >= 0) list.splice(i, 1); }
    (liked ? state.likes : state.dislikes).push(r);
    updateRecommendations();
    return true;
  }

  // ---------------------------------------------------------------- the URL fragment
  let applying = false;
  function hashString() {
    const p = new URLSearchParams();
    p.set("layout", state.layout);
    if (state.selected !== null) p.set("item", labels[state.selected]);
    p.set("color", state.color);
    p.set("size", state.sizeByCount ? "count" : "fixed");
    if (state.minRatings) p.set("min", String(state.minRatings));
    if (state.focusGenre !== null) p.set("genre", genreNames[state.focusGenre]);
    for (const r of state.likes) p.append("like", labels[r]);
    for (const r of state.dislikes) p.append("dislike", labels[r]);
    if (state.axes) { p.set("ax", state.axes.x); p.set("ay", state.axes.y); }
    p.set("zoom", state.view.zoom.toFixed(3));
    p.set("x", state.view.x.toFixed(4));
    p.set("y", state.view.y.toFixed(4));
    if (forceCanvas) p.set("renderer", "canvas");
    return "#" + p.toString();
  }
  let hashTimer = 0;
  function saveHash() {
    if (applying) return;
    clearTimeout(hashTimer);
    hashTimer = setTimeout(() => {
      const h = hashString();
      if (h !== location.hash) history.replaceState(null, "", h);
    }, 120);
  }
  /** Restores the view a fragment names; parts that name nothing are ignored. */
  function applyHash(hash) {
    const p = new URLSearchParams(hash.replace(/^#/, ""));
    applying = true;
    try {
      const exact = (label) => { const i = label === null ? -1 : labels.indexOf(label); return i >= 0 ? i : null; };
      if (p.get("ax") && p.get("ay")) { try { setAxes(p.get("ax"), p.get("ay")); } catch (e) { /* ignore a stale axis */ } }
      if (p.get("layout") && layouts.some((l) => l.name === p.get("layout"))) setLayout(p.get("layout"), { animate: false });
      if (p.get("color") && colorSchemes.some((s) => s[0] === p.get("color"))) setColor(p.get("color"));
      if (p.get("size")) setSize(p.get("size") === "count");
      const gi = genreNames.indexOf(p.get("genre"));
      state.focusGenre = gi >= 0 ? gi : null;
      state.likes = p.getAll("like").map(exact).filter((r) => r !== null);
      state.dislikes = p.getAll("dislike").map(exact).filter((r) => r !== null);
      setMinRatings(p.get("min") || 0);
      select(exact(p.get("item")));
      const num = (key, fallback) => (Number.isFinite(parseFloat(p.get(key))) ? parseFloat(p.get(key)) : fallback);
      state.view = { x: num("x", 0), y: num("y", 0), zoom: Math.min(500, Math.max(0.2, num("zoom", 1))) };
      renderLegend();
      refreshColors();
    } finally {
      applying = false;
    }
    requestDraw();
  }

  // ---------------------------------------------------------------- exports
  const SVG_NS = "http://www.w3.org/2000/svg";
  /** The current view as an SVG document (a string). Text goes in as text nodes,
   *  so XMLSerializer escapes every label. */
  function exportSVG() {
    const w = width, h = height, t = transform(), xy = currentXY;
    const doc = document.implementation.createDocument(SVG_NS, "svg", null), svg = doc.documentElement;
    const make = (tag, attrs, text) => {
      const e = doc.createElementNS(SVG_NS, tag);
      for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, String(v));
      if (text !== undefined) e.textContent = text;
      return e;
    };
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("font-family", "system-ui, 'DejaVu Sans', sans-serif");
    svg.append(make("rect", { width: w, height: h, fill: "#fbfbf9" }));
    const colors = pointColors(), sizes = pointSizes(), scale = pointScale(), g = make("g", {});
    for (const r of drawOrder) {
      const [x, y] = toScreen(t, xy, r), radius = (sizes[r] * scale) / 2;
      if (x < -radius || y < -radius || x > w + radius || y > h + radius) continue;
      const c = make("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: radius.toFixed(2), fill: `rgb(${colors[4 * r]},${colors[4 * r + 1]},${colors[4 * r + 2]})`, "fill-opacity": (colors[4 * r + 3] / 255).toFixed(2) });
      c.append(make("title", {}, labels[r]));
      g.append(c);
    }
    svg.append(g);
    // The overlay (rings, labels, ticks) drawn by the same code onto a recording context.
    const ops = make("g", {});
    drawOverlay(svgContext(doc, ops, make), t, w, h, 1, false);
    paintLegend(svgContext(doc, ops, make), w, h);
    svg.append(ops);
    const L = currentLayout();
    svg.append(make("text", { x: w / 2, y: h - 8, "text-anchor": "middle", "font-size": 12, fill: "#6b7280" }, L.xTitle));
    svg.append(make("text", { x: 14, y: h / 2, "text-anchor": "middle", "font-size": 12, fill: "#6b7280", transform: `rotate(-90 14 ${h / 2})` }, L.yTitle));
    svg.append(make("text", { x: 12, y: 18, "font-size": 13, "font-weight": 650, fill: "#1d2330" }, `${DATA.title} — ${L.name}`));
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(svg);
  }

  /** A minimal 2-D context that turns the overlay's drawing calls into SVG. */
  function svgContext(doc, parent, make) {
    let path = [], fillStyle = "#000", strokeStyle = "#000", lineWidth = 1, font = "11px sans-serif", baseline = "alphabetic", align = "left";
    const measurer = document.createElement("canvas").getContext("2d");
    return {
      set fillStyle(v) { fillStyle = v; }, get fillStyle() { return fillStyle; },
      set strokeStyle(v) { strokeStyle = v; }, get strokeStyle() { return strokeStyle; },
      set lineWidth(v) { lineWidth = v; }, get lineWidth() { return lineWidth; },
      set font(v) { font = v; measurer.font = v; }, get font() { return font; },
      set textBaseline(v) { baseline = v; }, set textAlign(v) { align = v; },
      setTransform() {}, clearRect() {},
      measureText(s) { return measurer.measureText(s); },
      beginPath() { path = []; },
      moveTo(x, y) { path.push(`M${x.toFixed(1)},${y.toFixed(1)}`); },
      lineTo(x, y) { path.push(`L${x.toFixed(1)},${y.toFixed(1)}`); },
      arc(x, y, r) { path.push(`M${(x - r).toFixed(1)},${y.toFixed(1)}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`); },
      fill() { parent.append(make("path", { d: path.join(""), fill: fillStyle })); },
      stroke() { parent.append(make("path", { d: path.join(""), fill: "none", stroke: strokeStyle, "stroke-width": lineWidth })); },
      fillRect(x, y, w, h) { parent.append(make("rect", { x: x.toFixed(1), y: y.toFixed(1), width: w.toFixed(1), height: h.toFixed(1), fill: fillStyle })); },
      fillText(s, x, y) {
        const size = /(\d+(?:\.\d+)?)px/.exec(font), weight = /^(\d+)/.exec(font);
        const anchor = align === "center" ? "middle" : align === "right" ? "end" : "start";
        const dominant = baseline === "top" ? "hanging" : baseline === "middle" ? "central" : baseline === "bottom" ? "text-after-edge" : "auto";
        parent.append(make("text", { x: x.toFixed(1), y: y.toFixed(1), fill: fillStyle, "font-size": size ? size[1] : 11, "font-weight": weight ? weight[1] : 400, "text-anchor": anchor, "dominant-baseline": dominant }, s));
      },
    };
  }

  /** The current view as a PNG data URL, at `scale` times the CSS size. */
  function exportPNG(scale = 2) {
    const w = width, h = height, t = transform();
    const c = document.createElement("canvas");
    c.width = Math.round(w * scale); c.height = Math.round(h * scale);
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fbfbf9"; ctx.fillRect(0, 0, c.width, c.height);
    Render.CanvasPoints.paint(ctx, { order: drawOrder, xy: currentXY, rgba: pointColors(), sizes: pointSizes() }, t, w, h, scale, pointScale());
    drawOverlay(ctx, t, w, h, scale, false);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    paintLegend(ctx, w, h);
    const L = currentLayout();
    ctx.fillStyle = "#6b7280"; ctx.font = `12px system-ui, "DejaVu Sans", sans-serif`; ctx.textAlign = "center"; ctx.textBaseline = "alphabetic";
    ctx.fillText(L.xTitle, w / 2, h - 8);
    ctx.save(); ctx.translate(14, h / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(L.yTitle, 0, 0); ctx.restore();
    return c.toDataURL("image/png");
  }

  function download(name, href) {
    const a = document.createElement("a");
    a.href = href; a.download = name;
    document.body.append(a); a.click(); a.remove();
  }
  const fileStem = () => `embtool-${currentLayout().name.toLowerCase()}${state.selected !== null ? "-" + labels[state.selected].replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").slice(0, 40).toLowerCase() : ""}`;

  // ---------------------------------------------------------------- interaction
  let hovered = null;
  const tooltip = $("tooltip");
  function showTooltip(r, px, py) {
    if (r === hovered) { if (r !== null) moveTooltip(px, py); return; }
    hovered = r;
    if (r === null) { tooltip.hidden = true; requestDraw(false); return; }
    const lines = [el("div", labels[r], "t")];
    const s = statsLine(r);
    if (s) lines.push(el("div", s));
    const g = genreList(r);
    if (g.length) lines.push(el("div", g.join(", "), "g"));
    tooltip.replaceChildren(...lines);
    tooltip.hidden = false;
    moveTooltip(px, py);
    requestDraw(false);
  }
  function moveTooltip(px, py) {
    const tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    tooltip.style.left = `${px + 14 + tw > width ? px - tw - 14 : px + 14}px`;
    tooltip.style.top = `${py + 14 + th > height ? py - th - 10 : py + 14}px`;
  }

  function zoomAt(factor, px, py) {
    const t = transform(), v = state.view;
    const wx = (px - t.tx) / t.s, wy = (t.ty - py) / t.s;
    const zoom = Math.min(500, Math.max(0.2, v.zoom * factor));
    state.view = { zoom, x: v.x, y: v.y };
    const t2 = transform();
    // Keep the world point under the cursor where it was.
    state.view.x += (((px - t2.tx) / t2.s) - wx) * -1;
    state.view.y += (((t2.ty - py) / t2.s) - wy) * -1;
    motion();
    requestDraw();
    saveHash();
  }
  function panBy(dx, dy) {
    const t = transform();
    state.view = { ...state.view, x: state.view.x - dx / t.s, y: state.view.y + dy / t.s };
    motion();
    requestDraw();
    saveHash();
  }

  const pointers = new Map();
  let drag = null, pinch = null;
  // Pointer positions relative to the map (offsetX would be relative to the legend or tooltip under it).
  const at = (e) => { const r = mapEl.getBoundingClientRect(); return { offsetX: e.clientX - r.left, offsetY: e.clientY - r.top }; };
  const overLegend = (e) => e.target instanceof Node && $("legend").contains(e.target);
  mapEl.addEventListener("pointerdown", (event) => {
    if (overLegend(event)) return;
    const e = { pointerId: event.pointerId, ...at(event) };
    mapEl.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
    if (pointers.size === 1) drag = { x: e.offsetX, y: e.offsetY, moved: 0 };
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { d: Math.hypot(a[0] - b[0], a[1] - b[1]) };
      drag = null;
    }
  });
  mapEl.addEventListener("pointermove", (event) => {
    const e = { pointerId: event.pointerId, ...at(event) };
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()], d = Math.hypot(a[0] - b[0], a[1] - b[1]);
      zoomAt(d / pinch.d, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
      pinch.d = d;
      return;
    }
    if (drag) {
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      drag.moved += Math.abs(dx) + Math.abs(dy);
      drag.x = e.offsetX; drag.y = e.offsetY;
      if (drag.moved > 3) { mapEl.classList.add("dragging"); showTooltip(null); panBy(dx, dy); }
      return;
    }
    showTooltip(overLegend(event) ? null : hitTest(e.offsetX, e.offsetY), e.offsetX, e.offsetY);
  });
  const release = (event) => {
    const e = { pointerId: event.pointerId, type: event.type, ...at(event) };
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag && drag.moved <= 3 && e.type === "pointerup") {
      const r = hitTest(e.offsetX, e.offsetY);
      if (r !== null) select(r);
    }
    drag = null;
    mapEl.classList.remove("dragging");
  };
  mapEl.addEventListener("pointerup", release);
  mapEl.addEventListener("pointercancel", release);
  mapEl.addEventListener("pointerleave", () => { if (!drag) showTooltip(null); });
  mapEl.addEventListener("wheel", (e) => {
    if (overLegend(e)) return;   // the legend scrolls
    e.preventDefault();
    const scale = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.0018, p = at(e);
    zoomAt(Math.exp(-e.deltaY * scale), p.offsetX, p.offsetY);
  }, { passive: false });
  mapEl.addEventListener("dblclick", (e) => { if (!overLegend(e)) { const p = at(e); zoomAt(2, p.offsetX, p.offsetY); } });
  window.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const step = 60;
    const actions = {
      "+": () => zoomAt(1.25, width / 2, height / 2), "=": () => zoomAt(1.25, width / 2, height / 2),
      "-": () => zoomAt(0.8, width / 2, height / 2), "_": () => zoomAt(0.8, width / 2, height / 2),
      ArrowLeft: () => panBy(step, 0), ArrowRight: () => panBy(-step, 0), ArrowUp: () => panBy(0, step), ArrowDown: () => panBy(0, -step),
      "0": () => { state.view = { x: 0, y: 0, zoom: 1 }; requestDraw(); saveHash(); },
      Escape: () => select(null),
      "/": () => $("search").focus(),
    };
    if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
  });

  // Search box: live suggestions by the resolver's own rules; Enter resolves.
  const results = $("search-results");
  let activeResult = -1;
  function suggestions(query) {
    const q = query.trim();
    if (!q) return [];
    const res = resolver.resolve(q);
    return res.found !== undefined ? [res.found] : res.ambiguous ? res.ambiguous.slice(0, 12) : [];
  }
  function showResults(rows) {
    activeResult = -1;
    results.replaceChildren(...rows.map((r) => {
      const li = el("li");
      li.append(el("span", labels[r]), el("span", countOf(r) === null ? "" : String(countOf(r)), "count"));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(r); });
      return li;
    }));
    results.hidden = !rows.length;
  }
  function choose(r) {
    results.hidden = true;
    $("search").value = labels[r];
    select(r, { centre: true });
  }
  let searchTimer = 0;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => showResults(suggestions($("search").value)), n > 20000 ? 120 : 40);
  });
  $("search").addEventListener("keydown", (e) => {
    const items = [...results.children];
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      activeResult = (activeResult + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach((li, i) => li.classList.toggle("active", i === activeResult));
    }
  });
  $("search").addEventListener("blur", () => { results.hidden = true; });
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("search").value;
    const items = suggestions(q);
    if (activeResult >= 0 && items[activeResult] !== undefined) { choose(items[activeResult]); return; }
    if (!q.trim()) return;
    const res = resolver.resolve(q);
    results.hidden = true;
    if (res.found !== undefined) { choose(res.found); return; }
    // Ambiguous or unknown: say so, and list the candidates (most-rated first) or the nearest titles.
    showMessage("search-message", describe(q.trim(), res));
    const list = $("candidates");
    list.replaceChildren(...(res.ambiguous || res.unknown).slice(0, 12).map((r) => {
      const li = el("li");
      li.append(el("span", labels[r]), el("span", countOf(r) === null ? "" : String(countOf(r)), "muted"));
      li.addEventListener("click", () => choose(r));
      return li;
    }));
    list.hidden = !list.childNodes.length;
  });

  $("like-form").addEventListener("submit", (e) => { e.preventDefault(); if (addTaste($("like-input").value, true)) $("like-input").value = ""; });
  $("dislike-add").addEventListener("click", () => { if (addTaste($("like-input").value, false)) $("like-input").value = ""; });
  $("like-selected").addEventListener("click", () => { if (state.selected !== null) addTaste(labels[state.selected], true); });
  $("dislike-selected").addEventListener("click", () => { if (state.selected !== null) addTaste(labels[state.selected], false); });
  $("centre-selected").addEventListener("click", () => { if (state.selected !== null) centreOn(state.selected); });
  $("axes-form").addEventListener("submit", (e) => {
    e.preventDefault();
    try {
      setAxes($("axis-x").value, $("axis-y").value);
      showMessage("axes-message", "");
      setLayout("Custom");
    } catch (err) {
      showMessage("axes-message", err.message);
    }
  });
  $("color").addEventListener("change", () => setColor($("color").value));
  $("size").addEventListener("change", () => setSize($("size").checked));
  $("min-ratings").addEventListener("change", () => setMinRatings($("min-ratings").value));
  $("export-svg").addEventListener("click", () => download(fileStem() + ".svg", URL.createObjectURL(new Blob([exportSVG()], { type: "image/svg+xml" }))));
  $("export-png").addEventListener("click", () => download(fileStem() + ".png", exportPNG()));
  window.addEventListener("resize", resize);
  window.addEventListener("hashchange", () => applyHash(location.hash));

  function buildLayoutTabs() {
    $("layouts").replaceChildren(...layouts.map((l) => {
      const b = el("button", l.name);
      b.type = "button"; b.dataset.layout = l.name; b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", String(l.name === state.layout));
      b.addEventListener("click", () => setLayout(l.name));
      return b;
    }));
  }

  // ---------------------------------------------------------------- start
  $("title").textContent = DATA.title;
  $("search").placeholder = `Find a title, e.g. ${labels[labelOrder[0]]}   ( / )`;
  $("subtitle").textContent = DATA.subtitle;
  $("color").replaceChildren(...colorSchemes.map(([value, text]) => { const o = el("option", text); o.value = value; return o; }));
  $("color").value = state.color;
  $("size").checked = state.sizeByCount;
  $("size").disabled = !counts;
  $("min-ratings").value = String(state.minRatings);
  $("min-ratings").disabled = !counts;
  buildLayoutTabs();
  setLayout(state.layout, { animate: false });
  renderLegend();
  renderBias();
  renderLikes();
  resize();
  if (location.hash.length > 1) applyHash(location.hash);
  draw(true);   // synchronously, so the first frame is there before the first animation frame
  const timings = { script: performance.now() - t0, firstPaint: null };
  requestAnimationFrame(() => {
    timings.firstPaint = performance.now();
    performance.mark("embtool-first-paint");
  });
  // Fold the catalogue's titles for search while the page is idle.
  (window.requestIdleCallback || setTimeout)(() => resolver.prepare());

  window.embtool = Object.freeze({
    version: 1,
    search, neighbours: (label, options) => {
      const res = resolver.resolve(String(label));
      if (res.found === undefined) throw new Error(describe(label, res));
      return neighbours(res.found, options).map(neighbourJSON);
    },
    recommend, biasRanking,
    pointCount: () => points.count,
    layouts: () => layouts.map((l) => l.name),
    layout: () => state.layout,
    axisTitles: () => { const L = currentLayout(); return { x: L.xTitle, y: L.yTitle }; },
    setLayout: (name) => setLayout(name, { animate: false }),
    setAxes: (x, y) => { setAxes(x, y); setLayout("Custom", { animate: false }); return window.embtool.axisTitles(); },
    coordinates: (label) => { const r = labels.indexOf(label); const L = currentLayout(); return r < 0 ? null : [L.xy[2 * r] * L.half + L.cx, L.xy[2 * r + 1] * L.half + L.cy]; },
    select: (label) => { if (label === null) { select(null); return null; } const res = resolver.resolve(String(label)); if (res.found === undefined) throw new Error(describe(label, res)); select(res.found, { centre: true }); return labels[res.found]; },
    selected: () => (state.selected === null ? null : labels[state.selected]),
    like: (label) => addTaste(String(label), true),
    dislike: (label) => addTaste(String(label), false),
    recommendations: () => recommendations.map((x) => ({ label: labels[x.row], predicted_rating: x.predicted, count: countOf(x.row) })),
    colors: () => colorSchemes.map((s) => s[0]),
    setColor, setSize, setMinRatings,
    view: () => ({ ...state.view }),
    setView: (v) => { state.view = { ...state.view, ...v }; requestDraw(); saveHash(); },
    panBy, zoomAt,
    hash: hashString,
    applyHash,
    centre: (label) => {
      const r = labels.indexOf(label), L = currentLayout();
      if (r < 0) return false;
      state.view = { ...state.view, x: L.xy[2 * r], y: L.xy[2 * r + 1] };
      requestDraw(); saveHash();
      return true;
    },
    screenPosition: (label) => { const r = labels.indexOf(label); return r < 0 ? null : toScreen(transform(), currentXY, r); },
    hitTest: (x, y) => { const r = hitTest(x, y); return r === null ? null : labels[r]; },
    // The cost of one full frame, waiting for the GPU to finish it (for benchmarks).
    drawNow: () => { const s = performance.now(); draw(true); points.finish(); return performance.now() - s; },
    framesDrawn: () => framesDrawn,
    renderer: () => points.kind,
    exportSVG, exportPNG,
    timings,
  });
})();
