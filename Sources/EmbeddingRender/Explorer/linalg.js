"use strict";
// The numerics of the page, each the same computation as the command line's:
// cosine neighbours (`embtool similar`), the ridge fold-in of a new user
// (`embtool recommend --like/--dislike`, Recommender.foldIn in
// Sources/EmbeddingKit/Analysis/Recommend.swift) and projections on an axis
// vector (`embtool axes`). Vectors are float32 as stored; sums run in float64.

const Linalg = (() => {
  // Base85's digits (ExplorerPage's Base85.swift): ASCII 33…126 without " & < > \.
  const DIGITS = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => !"\"&<>\\".includes(c)).slice(0, 85);
  const DIGIT_VALUE = new Int16Array(128).fill(-1);
  DIGITS.forEach((c, i) => { DIGIT_VALUE[c.charCodeAt(0)] = i; });

  /** Bytes of Base85 text: each five digits are a big-endian 32-bit value;
   *  a last group of m + 1 digits holds m bytes (padded with the top digit). */
  function base85Bytes(text) {
    const groups = Math.floor(text.length / 5), rest = text.length % 5;
    if (rest === 1) throw new Error("Base85 text of impossible length " + text.length);
    const out = new Uint8Array(groups * 4 + (rest ? rest - 1 : 0));
    for (let g = 0; g <= groups; g++) {
      const digits = g < groups ? 5 : rest;
      if (!digits) break;
      let v = 0;
      for (let d = 0; d < 5; d++) {
        const c = d < digits ? text.charCodeAt(5 * g + d) : 0;
        const x = d < digits ? (c < 128 ? DIGIT_VALUE[c] : -1) : 84;
        if (x < 0) throw new Error("Base85 text holds a character outside its alphabet");
        v = v * 85 + x;
      }
      for (let j = 0; j < Math.min(4, digits - 1); j++) out[4 * g + j] = (v >>> (24 - 8 * j)) & 255;
    }
    return out;
  }

  /** Little-endian float32 values from Base85 text. */
  function float32s(text) {
    const b = base85Bytes(text);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }

  /** Little-endian float64 values from Base85 text. */
  function float64s(text) {
    const b = base85Bytes(text);
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  }

  /** Little-endian float32 values from Base85 text as an Array, NaN as null (unknown). */
  function float32sOrNull(text) {
    return Array.from(float32s(text), (x) => Number.isNaN(x) ? null : x);
  }

  /** The n × k item vectors, row-major float32: as stored, int16 times each
   *  row's float64 scale, or int24 times 2^(e−23) for each row's exponent e
   *  (see ExplorerPage.VectorEncoding). */
  function decodeVectors(spec, n, k) {
    if (spec.encoding === "float32") return float32s(spec.data);
    if (spec.encoding === "int24") return decodeInt24(spec, n, k);
    const b = base85Bytes(spec.data);
    const q = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
    const scales = float64s(spec.scales), out = new Float32Array(n * k);
    for (let r = 0; r < n; r++) {
      const s = scales[r];
      for (let j = 0; j < k; j++) out[r * k + j] = q[r * k + j] * s;
    }
    return out;
  }

  function decodeInt24(spec, n, k) {
    const b = base85Bytes(spec.data), e = base85Bytes(spec.exponents);
    const exponents = new Int16Array(e.buffer, e.byteOffset, e.byteLength / 2), out = new Float32Array(n * k);
    for (let r = 0; r < n; r++) {
      const step = Math.pow(2, exponents[r] - 23);
      for (let j = 0, o = 3 * r * k; j < k; j++, o += 3) {
        const q = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) << 8 >> 8;   // sign-extend 24 bits
        out[r * k + j] = q * step;
      }
    }
    return out;
  }

  /** 1/‖v‖ of the k values from offset o, summed in double precision as
   *  SimilarityIndex does; 0 for a zero vector (cosine 0 with everything). */
  function inverseLength(v, o, k) {
    let ss = 0;
    for (let j = 0; j < k; j++) ss += v[o + j] * v[o + j];
    return ss > 0 ? 1 / Math.sqrt(ss) : 0;
  }

  /** Cosine similarity search over the rows of V (n × k).
   *  score(q, j) = (v_q/‖v_q‖)·v_j / ‖v_j‖, 0 for a zero vector, as SimilarityIndex. */
  class CosineIndex {
    constructor(vectors, n, k) {
      this.v = vectors; this.n = n; this.k = k;
      this.inverseLength = new Float64Array(n);
      for (let r = 0; r < n; r++) this.inverseLength[r] = inverseLength(vectors, r * k, k);
      this.scores = new Float64Array(n);
    }

    /** Cosine of `row` with every row (Float64Array, reused between calls). */
    similarities(row) {
      const { v, n, k, inverseLength: inv, scores } = this;
      const x = new Float64Array(k), s = inv[row];
      for (let j = 0; j < k; j++) x[j] = v[row * k + j] * s;
      for (let r = 0; r < n; r++) {
        let a0 = 0, a1 = 0, j = 0;
        const o = r * k;
        for (; j + 1 < k; j += 2) { a0 += x[j] * v[o + j]; a1 += x[j + 1] * v[o + j + 1]; }
        if (j < k) a0 += x[j] * v[o + j];
        scores[r] = (a0 + a1) * inv[r];
      }
      return scores;
    }

    /** The `top` rows closest to `row` among those `allowed(r)` accepts, never
     *  `row` itself; ties keep row order and NaN never enters, as TopK. */
    neighbours(row, top, allowed) {
      const s = this.similarities(row);
      return topK(s, top, (r) => r !== row && (!allowed || allowed(r)));
    }
  }

  /** Indices of the `top` largest finite scores accepted by `keep`, largest
   *  first, ties in index order: [{row, score}]. One pass with insertion. */
  function topK(scores, top, keep) {
    const best = [];
    let threshold = -Infinity;
    for (let r = 0; r < scores.length; r++) {
      const s = scores[r];
      if (!(s > threshold) || !keep(r)) continue;
      let pos = Math.min(best.length, top - 1);
      if (best.length < top) best.push(null);
      while (pos > 0 && best[pos - 1].score < s) { best[pos] = best[pos - 1]; pos--; }
      best[pos] = { row: r, score: s };
      if (best.length === top) threshold = best[top - 1].score;
    }
    return best;
  }

  /** Solves the symmetric positive-definite system A·x = b (A n × n,
   *  row-major, lower triangle read) by Cholesky, as LAPACK dposv. */
  function solvePositiveDefinite(a, b, n) {
    const l = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[i * n + j];
        for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
        if (i === j) {
          if (!(s > 0)) throw new Error("the fold-in system is not positive definite");
          l[i * n + i] = Math.sqrt(s);
        } else {
          l[i * n + j] = s / l[j * n + j];
        }
      }
    }
    const y = new Float64Array(n), x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let p = 0; p < i; p++) s -= l[i * n + p] * y[p];
      y[i] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let p = i + 1; p < n; p++) s -= l[p * n + i] * x[p];
      x[i] = s / l[i * n + i];
    }
    return x;
  }

  const f = Math.fround;

  /** A new user from liked and disliked rows: Recommender.foldIn.
   *  Targets t (like / dislike) on the score scale z = logit((t − low)/(high − low))
   *  (the ratio in float32, as Swift computes it), y_i = z_i − b_i − b̄, and
   *  θ = (w, δ) solves (AᵀA + λI)θ = Aᵀy with A's rows [q_i, 1].
   *  Returns {factors: Float64Array(k), bias: b̄ + δ}. */
  function foldIn(model, liked, disliked) {
    const { vectors: v, k, bias, recommend: rec } = model;
    const score = (rating) => {
      if (!rec.yRange) return rating;
      const [low, high] = rec.yRange;
      const p = f(f(rating - low) / f(high - low));
      return Math.log(p / (1 - p));
    };
    const n = k + 1;
    const ata = new Float64Array(n * n), aty = new Float64Array(n), a = new Float64Array(n);
    for (const [rows, target] of [[liked, score(rec.like)], [disliked, score(rec.dislike)]]) {
      for (const i of rows) {
        for (let j = 0; j < k; j++) a[j] = v[i * k + j];
        a[k] = 1;
        const y = target - (bias ? bias[i] || 0 : 0) - rec.meanUserBias;
        for (let r = 0; r < n; r++) {
          aty[r] += a[r] * y;
          for (let c = 0; c <= r; c++) ata[r * n + c] += a[r] * a[c];
        }
      }
    }
    for (let d = 0; d < n; d++) ata[d * n + d] += rec.ridge;
    const theta = solvePositiveDefinite(ata, aty, n);
    return { factors: theta.slice(0, k), bias: rec.meanUserBias + theta[k] };
  }

  /** Predicted rating of every row for a user: sigmoid_range(Q·w + b_i + b_u). */
  function predictions(model, user) {
    const { vectors: v, n, k, bias, recommend: rec } = model;
    const out = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += v[r * k + j] * user.factors[j];
      const x = s + (bias ? bias[r] || 0 : 0) + user.bias;
      out[r] = rec.yRange ? rec.yRange[0] + (rec.yRange[1] - rec.yRange[0]) / (1 + Math.exp(-x)) : x;
    }
    return out;
  }

  /** x_i = v_i·a/‖a‖ for every row: coordinates on axis vector a. */
  function project(vectors, n, k, axis) {
    let norm = 0;
    for (let j = 0; j < k; j++) norm += axis[j] * axis[j];
    norm = Math.sqrt(norm);
    if (!(norm > 0)) throw new Error("the axis vector is zero");
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += vectors[r * k + j] * axis[j];
      out[r] = s / norm;
    }
    return out;
  }

  /** Mean of the given rows' vectors. */
  function centroid(vectors, k, rows) {
    const out = new Float64Array(k);
    for (const r of rows) for (let j = 0; j < k; j++) out[j] += vectors[r * k + j];
    for (let j = 0; j < k; j++) out[j] /= rows.length;
    return out;
  }

  return { base85Bytes, float32s, float32sOrNull, decodeVectors, CosineIndex, topK, solvePositiveDefinite, foldIn, predictions, project, centroid };
})();
