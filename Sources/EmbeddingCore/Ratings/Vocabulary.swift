import Foundation

/// A bidirectional map between labels and row indices, built the way fastai's
/// `Categorify` builds it: `#na#` at index 0, then the distinct values sorted.
/// Strings sort in Python's order (by Unicode code point); integers numerically.
/// Row 0 is kept so that a fastai state dict and an embtool model have the same rows.
public struct Vocabulary: Equatable, Sendable {
    public static let missing = "#na#"

    public private(set) var labels: [String]
    private var lookup: [String: Int32]

    /// `labels` as stored in a model file; `labels[0]` should be `#na#`.
    public init(labels: [String]) {
        self.labels = labels
        var lookup = [String: Int32](minimumCapacity: labels.count)
        for (i, label) in labels.enumerated() where lookup[label] == nil { lookup[label] = Int32(i) }
        self.lookup = lookup
    }

    /// Categorify over strings: `#na#`, then the distinct values in code-point order.
    public static func categorify<S: Sequence>(_ values: S) -> Vocabulary where S.Element == String {
        let distinct = Set(values)
        let sorted = distinct.sorted(by: pythonOrder)
        return Vocabulary(labels: [missing] + sorted)
    }

    /// Categorify over integers: `#na#`, then the distinct values in numeric order.
    public static func categorify<S: Sequence>(integers values: S) -> Vocabulary where S.Element == Int64 {
        let sorted = Set(values).sorted()
        return Vocabulary(labels: [missing] + sorted.map(String.init))
    }

    /// Python compares `str` by code point, which is not Swift's `<` (that one is
    /// by canonical equivalence); fastai's vocabulary order depends on it.
    /// UTF-8 bytes sort in code-point order, so comparing them is the same and faster.
    public static func pythonOrder(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
        return (fast ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    public var count: Int { labels.count }
    public subscript(index: Int) -> String { labels[index] }
    public func index(of label: String) -> Int? { lookup[label].map(Int.init) }
}
