import EmbeddingCore
import EmbeddingLinalg

/// An axis chosen by the user, as the Embedding Projector's "custom
/// projection" and whatlies' axes have it: a direction `d` in factor space,
/// and each item's coordinate is its projection on the unit vector,
///
///     x_i = v_i · d / ‖d‖
///
/// `d` is one term or the difference of two (`A-B`: the direction from B to A).
/// A term is an item's vector (a title, resolved as `similar` resolves it) or
/// `genre:NAME`, the centroid of the vectors of every item listing that genre.
public struct CustomAxis: Sendable {
    public enum Term: Equatable, Sendable {
        case item(row: Int)
        case genre(String)
    }

    public var plus: Term
    public var minus: Term?
    /// How the axis reads: `Star Wars (1977) − Return of the Jedi (1983)`.
    public var name: String
    /// `d / ‖d‖`, length k.
    public var direction: [Float]

    /// Parses `text` against the model's items. The whole text is tried as one
    /// term first (titles may hold hyphens: "Spider-Man"); failing that, each
    /// `-` that splits it into two terms that both resolve. More than one such
    /// split, or an ambiguous title, is an error listing the candidates.
    public static func parse(_ text: String, vectors: Matrix, catalog: Catalog) throws -> CustomAxis {
        let resolver = TitleResolver(labels: catalog.labels, rows: Array(catalog.rows), popularity: catalog.counts)
        let whole: Term
        do {
            whole = try term(text, resolver: resolver, catalog: catalog)
        } catch let wholeError {
            var splits: [(Term, Term)] = []
            for cut in text.indices where text[cut] == "-" {
                let left = String(text[..<cut]), right = String(text[text.index(after: cut)...])
                if let a = try? term(left, resolver: resolver, catalog: catalog),
                   let b = try? term(right, resolver: resolver, catalog: catalog) { splits.append((a, b)) }
            }
            guard splits.count == 1 else {
                if splits.isEmpty { throw wholeError }
                throw EmbtoolError.usage("\"\(text)\" splits into a difference in \(splits.count) ways; name the items more fully")
            }
            return try CustomAxis(plus: splits[0].0, minus: splits[0].1, vectors: vectors, catalog: catalog)
        }
        return try CustomAxis(plus: whole, minus: nil, vectors: vectors, catalog: catalog)
    }

    static func term(_ text: String, resolver: TitleResolver, catalog: Catalog) throws -> Term {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.lowercased().hasPrefix("genre:") {
            let wanted = String(t.dropFirst(6)).trimmingCharacters(in: .whitespaces)
            guard let genres = catalog.genres else { throw EmbtoolError.usage("'\(t)' needs genres: neither the model nor the data has any") }
            let known = Set(genres[catalog.rows].joined())
            guard let name = known.first(where: { $0.lowercased() == wanted.lowercased() }) else {
                throw EmbtoolError.usage("no genre '\(wanted)'; genres are \(known.sorted().joined(separator: ", "))")
            }
            return .genre(name)
        }
        return .item(row: try resolver.row(for: t))
    }

    public init(plus: Term, minus: Term?, vectors: Matrix, catalog: Catalog) throws {
        self.plus = plus
        self.minus = minus
        func describe(_ t: Term) -> String {
            switch t {
            case .item(let row): return catalog.labels[row]
            case .genre(let g): return "genre:\(g)"
            }
        }
        name = minus.map { "\(describe(plus)) − \(describe($0))" } ?? describe(plus)
        var d = CustomAxis.vector(plus, vectors: vectors, catalog: catalog)
        if let minus {
            let m = CustomAxis.vector(minus, vectors: vectors, catalog: catalog)
            for f in d.indices { d[f] -= m[f] }
        }
        let length = d.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        guard length > 0, length.isFinite else {
            throw EmbtoolError.data("the axis \(name) has no direction (its vector is zero or not finite)")
        }
        direction = d.map { Float(Double($0) / length) }
    }

    /// The vector a term stands for: an item's row, or a genre's centroid.
    static func vector(_ term: Term, vectors: Matrix, catalog: Catalog) -> [Float] {
        switch term {
        case .item(let row):
            return Array(vectors.row(row))
        case .genre(let g):
            let members = catalog.rows.filter { catalog.genres?[$0].contains(g) ?? false }
            var sum = [Double](repeating: 0, count: vectors.cols)
            for r in members { for (f, v) in vectors.row(r).enumerated() { sum[f] += Double(v) } }
            return sum.map { Float($0 / Double(max(members.count, 1))) }
        }
    }

    /// `x_i = v_i · d` for each row of `vectors` (one sgemv).
    public func project(_ vectors: Matrix) -> [Float] {
        vectors.multiplied(by: direction)
    }
}
