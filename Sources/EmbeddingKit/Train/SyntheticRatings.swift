import Foundation

/// Ratings generated in memory in the shape of a MovieLens release, for
/// measuring training at scale without files: power-law user activity (at
/// least 20 ratings each, as in MovieLens) and item popularity, ratings from a
/// planted rank-`rank` model plus noise, rounded to half stars in 0.5...5.
/// Deterministic from the seed. A user may rate an item twice; training does
/// not care.
public enum SyntheticRatings {
    public struct Shape: Sendable {
        public var name: String
        public var users: Int
        public var items: Int
        public var ratings: Int
    }

    public static let shapes: [Shape] = [
        Shape(name: "ml-100k", users: 943, items: 1682, ratings: 100_000),
        Shape(name: "ml-1m", users: 6040, items: 3706, ratings: 1_000_209),
        Shape(name: "ml-25m", users: 162_541, items: 59_047, ratings: 25_000_095),
    ]

    public static func shape(named name: String) -> Shape? { shapes.first { $0.name == name } }

    public static func generate(_ shape: Shape, rank: Int = 8, seed: UInt64 = 42) throws -> Ratings {
        var rng = SplitMix64(seed: seed)
        let users = shape.users, items = shape.items
        // Activity: 20 each, the rest shared in proportion to Zipf weights 1/(rank+1)^0.8.
        let minimum = min(20, shape.ratings / users)
        let userWeight = (0..<users).map { 1 / pow(Double($0 + 1), 0.8) }
        let weightSum = userWeight.reduce(0, +)
        var perUser = userWeight.map { minimum + Int(Double(shape.ratings - minimum * users) * $0 / weightSum) }
        var short = shape.ratings - perUser.reduce(0, +)
        var u = 0
        while short > 0 { perUser[u % users] += 1; short -= 1; u += 1 }
        perUser.shuffle(using: &rng)
        // Popularity: Zipf weights 1/(rank+1), sampled by inverse CDF.
        var cumulative = [Double](repeating: 0, count: items)
        var total = 0.0
        for i in 0..<items { total += 1 / Double(i + 1); cumulative[i] = total }
        let itemOrder = (0..<items).map { Int32($0) }.shuffled(using: &rng)
        let scale = 1 / Float(rank).squareRoot()
        let uf = (0..<(users * rank)).map { _ in rng.nextGaussian() * scale }
        let itf = (0..<(items * rank)).map { _ in rng.nextGaussian() * scale }
        let itemBias = (0..<items).map { _ in 0.4 * rng.nextGaussian() }

        var raw = RawRatings()
        raw.name = "synthetic-\(shape.name)"
        raw.userIds = (1...users).map(String.init)
        raw.itemIds = (1...items).map(String.init)
        raw.user.reserveCapacity(shape.ratings)
        raw.item.reserveCapacity(shape.ratings)
        raw.rating.reserveCapacity(shape.ratings)
        for u in 0..<users {
            let userBias = 0.3 * rng.nextGaussian()
            for _ in 0..<perUser[u] {
                let target = Double(rng.nextFloat()) * total
                var lo = 0, hi = items - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[mid] < target { lo = mid + 1 } else { hi = mid }
                }
                let i = Int(itemOrder[lo])
                var x: Float = 3.5 + userBias + itemBias[i] + 0.4 * rng.nextGaussian()
                for f in 0..<rank { x += uf[u * rank + f] * itf[i * rank + f] }
                raw.user.append(Int32(u))
                raw.item.append(Int32(i))
                raw.rating.append(min(5, max(0.5, (x * 2).rounded() / 2)))
            }
        }
        raw.timestamp = [Int64](repeating: 0, count: raw.rating.count)
        raw.sources = ["generated in memory (\(shape.name) shape, seed \(seed))"]
        return try Ratings(raw, itemKey: .id)
    }
}
