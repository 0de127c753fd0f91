/// How ratings are divided into a training and a validation part.
public enum Split: Equatable, Sendable {
    /// A reproducible random `validPct` of the ratings (fastai's `RandomSplitter`).
    case random(validPct: Double, seed: UInt64)
    /// GroupLens' canonical fold `u1`...`u5`: the k-th fifth of the ratings in
    /// file order is held out (`mku.sh`: lines 20000*(k-1)+1 ... 20000*k on ml-100k).
    case fold(Int)
    /// Everything trains; nothing is held out.
    case none

    /// Parses `u1`...`u5`, `random`, `none`.
    public init(name: String, validPct: Double = 0.2, seed: UInt64 = 42) throws {
        switch name.lowercased() {
        case "random": self = .random(validPct: validPct, seed: seed)
        case "none", "all": self = .none
        case let s where s.count == 2 && s.first == "u":
            guard let k = Int(s.dropFirst()), (1...5).contains(k) else { fallthrough }
            self = .fold(k)
        default:
            throw EmbtoolError.usage("unknown split '\(name)': use random, none or u1...u5")
        }
    }

    /// Row indices of the training and validation parts, each ascending.
    public func indices(count n: Int) -> (train: [Int], valid: [Int]) {
        switch self {
        case .none:
            return (Array(0..<n), [])
        case .fold(let k):
            let lo = n * (k - 1) / 5, hi = n * k / 5
            return (Array(0..<lo) + Array(hi..<n), Array(lo..<hi))
        case .random(let pct, let seed):
            var rng = SplitMix64(seed: seed)
            var order = Array(0..<n)
            order.shuffle(using: &rng)
            let nValid = Int((Double(n) * pct).rounded(.down))
            return (order[nValid...].sorted(), order[..<nValid].sorted())
        }
    }

    public func apply(_ ratings: Ratings) -> (train: Ratings, valid: Ratings) {
        let (train, valid) = indices(count: ratings.count)
        return (ratings.subset(train), ratings.subset(valid))
    }
}
