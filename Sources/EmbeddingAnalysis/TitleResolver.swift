import Foundation
import EmbeddingCore

/// Finds the item a person means by a title, forgivingly, in stages that stop
/// at the first that matches:
///
/// 1. the exact label;
/// 2. the label ignoring case;
/// 3. the *core* title: case, accents and punctuation ignored, the year
///    `(1977)` dropped, and a leading or trailing article ("The", "A", "An",
///    and the French, Italian, Spanish and German ones MovieLens files under
///    "…, La") dropped — so "Star Wars" finds "Star Wars (1977)" and "empire
///    strikes back" finds "Empire Strikes Back, The (1980)";
/// 4. a core title that starts with the query's core, then one that contains it.
///
/// A stage that matches more than one item is ambiguous; a query nothing
/// matches gets the labels nearest by edit distance as suggestions.
public struct TitleResolver: Sendable {
    public enum Resolution: Equatable, Sendable {
        case found(Int)
        /// Rows that match equally well, most-rated (then alphabetically) first.
        case ambiguous([Int])
        /// Rows whose core title is nearest to the query's, nearest first.
        case unknown(suggestions: [Int])
    }

    let labels: [String]
    let rows: [Int]
    let popularity: [Int]?

    /// - Parameters:
    ///   - labels: display label per table row.
    ///   - rows: the rows a query may resolve to.
    ///   - popularity: rating counts per row, to order candidates.
    public init(labels: [String], rows: [Int], popularity: [Int]? = nil) {
        self.labels = labels
        self.rows = rows
        self.popularity = popularity
    }

    public func resolve(_ query: String) -> Resolution {
        let q = query.trimmingCharacters(in: .whitespaces)
        if let row = rows.first(where: { labels[$0] == q }) { return .found(row) }
        let lower = q.lowercased()
        let caseless = rows.filter { labels[$0].utf8.count == q.utf8.count && labels[$0].lowercased() == lower }
        if !caseless.isEmpty { return verdict(caseless) }

        let core = TitleResolver.core(q)
        guard !core.isEmpty else { return .unknown(suggestions: []) }
        let cores = rows.map { TitleResolver.core(labels[$0]) }
        for test in [{ (c: String) in c == core }, { $0.hasPrefix(core) }, { $0.contains(core) }] {
            let hits = zip(rows, cores).filter { test($0.1) }.map(\.0)
            if !hits.isEmpty { return verdict(hits) }
        }
        let scored = zip(rows, cores).map { ($0.0, TitleResolver.editDistance(core, $0.1)) }
        let nearest = scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : labels[$0.0] < labels[$1.0] }
        return .unknown(suggestions: nearest.prefix(5).map(\.0))
    }

    /// Resolves or throws the error a person should read: the candidates of an
    /// ambiguous query (usage error), or the nearest labels of an unknown one.
    public func row(for query: String) throws -> Int {
        switch resolve(query) {
        case .found(let row):
            return row
        case .ambiguous(let rows):
            let shown = rows.prefix(8).map { "\"\(labels[$0])\"" }.joined(separator: ", ")
            let more = rows.count > 8 ? ", and \(rows.count - 8) more" : ""
            throw EmbtoolError.usage("\"\(query)\" matches \(rows.count) titles: \(shown)\(more); say which")
        case .unknown(let suggestions):
            let hint = suggestions.isEmpty ? "" : "; nearest: " + suggestions.map { "\"\(labels[$0])\"" }.joined(separator: ", ")
            throw EmbtoolError.data("no title matches \"\(query)\"\(hint)")
        }
    }

    func verdict(_ hits: [Int]) -> Resolution {
        if hits.count == 1 { return .found(hits[0]) }
        let ordered = hits.sorted { a, b in
            let (ca, cb) = (popularity?[a] ?? 0, popularity?[b] ?? 0)
            return ca != cb ? ca > cb : Vocabulary.pythonOrder(labels[a], labels[b])
        }
        return .ambiguous(ordered)
    }

    static let articles: Set<String> = ["the", "a", "an", "la", "le", "les", "l", "il", "el", "los", "las", "lo", "der", "die", "das"]

    /// The comparable core of a title: lower case, accents folded, a trailing
    /// `(year)` dropped, punctuation to single spaces, and one leading or
    /// trailing (", The") article removed. Works on Unicode scalars, with a
    /// fast path for ASCII: a catalogue of 60k titles folds in milliseconds.
    public static func core(_ title: String) -> String {
        var scalars = Array(title.unicodeScalars)
        func trimSpaces() {
            while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        }
        trimSpaces()
        // "(1977)" at the end, possibly after an alternative title in brackets.
        let n = scalars.count
        if n >= 6, scalars[n - 6] == "(", scalars[n - 1] == ")", scalars[(n - 5)..<(n - 1)].allSatisfy({ ("0"..."9").contains($0) }) {
            scalars.removeLast(6)
            trimSpaces()
        }
        var words = wordsOf(scalars[...])
        // Trailing article after the last comma ("Empire Strikes Back, The"), else a leading one.
        if let comma = scalars.lastIndex(of: ","), let tail = wordsOf(scalars[(comma + 1)...]).first,
           wordsOf(scalars[(comma + 1)...]).count == 1, articles.contains(tail) {
            words = wordsOf(scalars[..<comma])
        } else if words.count > 1, articles.contains(words[0]) {
            words.removeFirst()
        }
        return words.joined(separator: " ")
    }

    /// Lower-cased, accent-folded runs of letters and digits.
    static func wordsOf(_ scalars: ArraySlice<Unicode.Scalar>) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for s in scalars {
            let base = fold(s)
            let wordy = base.isASCII ? (("a"..."z").contains(base) || ("0"..."9").contains(base))
                                     : (base.properties.isAlphabetic || base.properties.numericType != nil)
            if wordy {
                current.append(base)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// Lower case without its accent: É → e (the first scalar of the canonical decomposition).
    @inline(__always)
    static func fold(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.isASCII {
            return ("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s
        }
        let lower = s.properties.lowercaseMapping.unicodeScalars.first ?? s
        return String(lower).decomposedStringWithCanonicalMapping.unicodeScalars.first ?? lower
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
