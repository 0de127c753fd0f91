"use strict";
// Title resolution, ported line for line from
// Sources/EmbeddingKit/Analysis/TitleResolver.swift so that the page's search
// finds what `embtool similar QUERY` finds. Stages, stopping at the first match:
//   1. the exact label;  2. the label ignoring case;
//   3. the core title (case, accents, punctuation, a trailing "(1977)" and a
//      leading or trailing article ignored);
//   4. a core that starts with the query's core, then one that contains it.
// A stage matching several rows is ambiguous (most-rated first); a query that
// nothing matches gets the five labels nearest by edit distance.
//
// Swift compares strings by canonical equivalence and orders them by NFC code
// points; the comparisons below normalise to NFC and compare code points to
// do the same. Swift's lowercased() maps each scalar on its own (no final-sigma
// rule), so lowering here is per code point too.

const TitleResolver = (() => {
  const ARTICLES = new Set(["the", "a", "an", "la", "le", "les", "l", "il", "el", "los", "las", "lo", "der", "die", "das"]);
  const WHITE_SPACE = /^\p{White_Space}$/u;          // Unicode.Scalar.Properties.isWhitespace
  const WORDY = /^[\p{Alphabetic}\p{N}]$/u;          // isAlphabetic || numericType != nil
  const TRIM = /^[\p{Zs}\t]+|[\p{Zs}\t]+$/gu;        // CharacterSet.whitespaces: Zs and tab
  const ASCII = /^[\x00-\x7f]*$/;

  const foldCache = new Map();
  /** Lower case without its accent: É → e (first scalar of the lower-case
   *  mapping, then the first scalar of its canonical decomposition). */
  function fold(ch) {
    const c = ch.codePointAt(0);
    if (c < 0x80) return c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : ch;
    let f = foldCache.get(ch);
    if (f === undefined) {
      const lower = String.fromCodePoint(ch.toLowerCase().codePointAt(0));
      f = String.fromCodePoint(lower.normalize("NFD").codePointAt(0));
      foldCache.set(ch, f);
    }
    return f;
  }

  /** Lower-cased, accent-folded runs of letters and digits of scalars[from..<to]. */
  function wordsOf(scalars, from, to) {
    const words = [];
    let current = "";
    for (let i = from; i < to; i++) {
      const base = fold(scalars[i]);
      const c = base.codePointAt(0);
      const wordy = c < 0x80 ? (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) : WORDY.test(base);
      if (wordy) {
        current += base;
      } else if (current) {
        words.push(current);
        current = "";
      }
    }
    if (current) words.push(current);
    return words;
  }

  const isDigit = (s) => s >= "0" && s <= "9" && s.length === 1;

  /** The comparable core of a title: lower case, accents folded, a trailing
   *  "(year)" dropped, punctuation to single spaces, one leading or trailing
   *  (", The") article removed. */
  function core(title) {
    const scalars = Array.from(title);
    const trim = () => {
      while (scalars.length && WHITE_SPACE.test(scalars[scalars.length - 1])) scalars.pop();
      while (scalars.length && WHITE_SPACE.test(scalars[0])) scalars.shift();
    };
    trim();
    const n = scalars.length;
    if (n >= 6 && scalars[n - 6] === "(" && scalars[n - 1] === ")" && scalars.slice(n - 5, n - 1).every(isDigit)) {
      scalars.length = n - 6;
      trim();
    }
    let words = wordsOf(scalars, 0, scalars.length);
    const comma = scalars.lastIndexOf(",");
    const tail = comma >= 0 ? wordsOf(scalars, comma + 1, scalars.length) : [];
    if (comma >= 0 && tail.length === 1 && ARTICLES.has(tail[0])) {
      words = wordsOf(scalars, 0, comma);
    } else if (words.length > 1 && ARTICLES.has(words[0])) {
      words.shift();
    }
    return words.join(" ");
  }

  /** Code-point order (Python's, and UTF-8 byte order): negative when a < b. */
  function compareCodePoints(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0)), y = Array.from(b, (c) => c.codePointAt(0));
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  }

  function utf8Length(s) {
    let n = 0;
    for (const ch of s) {
      const c = ch.codePointAt(0);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return n;
  }

  /** Swift's String.lowercased(): each scalar's full lower-case mapping, no context. */
  function lowercased(s) {
    if (ASCII.test(s)) return s.toLowerCase();
    let out = "";
    for (const ch of s) out += ch.toLowerCase();
    return out;
  }

  const segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  /** Characters as Swift counts them (grapheme clusters). */
  function characters(s) {
    if (ASCII.test(s) || !segmenter) return Array.from(s);
    return Array.from(segmenter.segment(s), (g) => g.segment);
  }

  /** Levenshtein distance over characters. */
  function editDistance(a, b) {
    const x = characters(a), y = characters(b);
    if (!x.length || !y.length) return Math.max(x.length, y.length);
    let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
    let current = new Array(y.length + 1).fill(0);
    for (let i = 1; i <= x.length; i++) {
      current[0] = i;
      for (let j = 1; j <= y.length; j++) {
        current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      }
      [previous, current] = [current, previous];
    }
    return previous[y.length];
  }

  class Resolver {
    /** labels: display label per row; popularity: rating count per row, or null. */
    constructor(labels, popularity) {
      this.labels = labels;
      this.popularity = popularity;
      this._nfc = null;
      this._lower = null;
      this._sizes = null;
      this._cores = null;
    }
    // Per-label forms, computed once (a catalogue of 59k titles takes tens of milliseconds each).
    get nfc() { return this._nfc || (this._nfc = this.labels.map((l) => (ASCII.test(l) ? l : l.normalize("NFC")))); }
    get lower() { return this._lower || (this._lower = this.labels.map((l) => lowercased(l).normalize("NFC"))); }
    get sizes() { return this._sizes || (this._sizes = this.labels.map(utf8Length)); }
    get cores() { return this._cores || (this._cores = this.labels.map(core)); }

    /** Computes every per-label form now (the page does it while idle). */
    prepare() { return this.nfc && this.lower && this.sizes && this.cores; }

    /** {found: row} | {ambiguous: [rows]} | {unknown: [rows]} */
    resolve(query) {
      const q = query.replace(TRIM, "");
      const qn = q.normalize("NFC");
      const exact = this.nfc.indexOf(qn);
      if (exact >= 0) return { found: exact };
      const lower = lowercased(q).normalize("NFC");
      const size = utf8Length(q);
      const caseless = [], sizes = this.sizes, lowers = this.lower;
      for (let r = 0; r < lowers.length; r++) if (sizes[r] === size && lowers[r] === lower) caseless.push(r);
      if (caseless.length) return this.verdict(caseless);

      const c = core(q);
      if (!c) return { unknown: [] };
      const cores = this.cores;
      for (const test of [(x) => x === c, (x) => x.startsWith(c), (x) => x.includes(c)]) {
        const hits = [];
        cores.forEach((x, r) => { if (test(x)) hits.push(r); });
        if (hits.length) return this.verdict(hits);
      }
      const scored = cores.map((x, r) => [r, editDistance(c, x)]);
      scored.sort((a, b) => a[1] !== b[1] ? a[1] - b[1] : compareCodePoints(this.nfc[a[0]], this.nfc[b[0]]));
      return { unknown: scored.slice(0, 5).map((s) => s[0]) };
    }

    verdict(hits) {
      if (hits.length === 1) return { found: hits[0] };
      const pop = (r) => (this.popularity ? this.popularity[r] : 0);
      hits.sort((a, b) => pop(a) !== pop(b) ? pop(b) - pop(a) : compareCodePoints(this.labels[a], this.labels[b]));
      return { ambiguous: hits };
    }
  }

  return { Resolver, core, editDistance, compareCodePoints };
})();
