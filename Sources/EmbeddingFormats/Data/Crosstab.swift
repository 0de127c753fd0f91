import Foundation
import EmbeddingCore

/// fastbook's crosstab: the most active users against the most rated items,
/// with each user's rating (the mean, when keying by title merged two ids).
public struct Crosstab: Sendable {
    /// Vocabulary rows of the users and items shown, most active / most rated first.
    public var userRows: [Int]
    public var itemRows: [Int]
    public var userLabels: [String]
    public var itemLabels: [String]
    public var itemCounts: [Int]
    /// `cells[u][i]`: the rating of user `userRows[u]` for item `itemRows[i]`, nil when unrated.
    public var cells: [[Float?]]

    public init(_ ratings: Ratings, users: Int, items: Int) {
        var perUser = [Int](repeating: 0, count: ratings.users.count)
        for u in ratings.user { perUser[Int(u)] += 1 }
        let perItem = ratings.itemCounts()
        userRows = DatasetSummary.mostRated(counts: perUser, limit: users)
        itemRows = DatasetSummary.mostRated(counts: perItem, limit: items)
        userLabels = userRows.map { ratings.users[$0] }
        itemLabels = itemRows.map { ratings.itemLabels[$0] }
        itemCounts = itemRows.map { perItem[$0] }
        var userColumn = [Int](repeating: -1, count: ratings.users.count)
        var itemColumn = [Int](repeating: -1, count: ratings.items.count)
        for (k, row) in userRows.enumerated() { userColumn[row] = k }
        for (k, row) in itemRows.enumerated() { itemColumn[row] = k }
        var sums = [[Float]](repeating: [Float](repeating: 0, count: itemRows.count), count: userRows.count)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: itemRows.count), count: userRows.count)
        for k in 0..<ratings.count {
            let u = userColumn[Int(ratings.user[k])], i = itemColumn[Int(ratings.item[k])]
            if u >= 0 && i >= 0 { sums[u][i] += ratings.rating[k]; counts[u][i] += 1 }
        }
        cells = zip(sums, counts).map { s, c in zip(s, c).map { $1 == 0 ? nil : $0 / Float($1) } }
    }

    /// CSV: a header `user,<item label>...`, then one row per user, blank where unrated.
    public func csv() -> String {
        var table = CSVTable(header: ["user"] + itemLabels)
        for (u, row) in cells.enumerated() {
            table.appendRow([userLabels[u]] + row.map { $0.map(Crosstab.format) ?? "" })
        }
        return table.text
    }
}

extension Crosstab {
    /// A rating as short text: `4`, `3.5`, `3.667`.
    public static func format(_ r: Float) -> String {
        if r == r.rounded() { return String(Int(r)) }
        let s = String(format: "%.3f", Double(r))
        return s.replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
    }
}
