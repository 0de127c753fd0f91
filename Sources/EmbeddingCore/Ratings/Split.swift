/// How ratings are divided into a training and a validation part.
public enum Split: Equatable, Sendable {
    /// A reproducible random `validPct` of the ratings (fastai's `RandomSplitter`).
    case random(validPct: Double, seed: UInt64)
    /// GroupLens' canonical fold `u1`...`u5`: the k-th fifth of the ratings in
    /// file order is held out (`mku.sh`: lines 20000*(k-1)+1 ... 20000*k on ml-100k).
    case fold(Int)
    /// Everything trains; nothing is held out.
    case none

    /// The random split `train` makes by default: fastai's `RandomSplitter(valid_pct=0.2)`, seed 42.
    public static let defaultValidPct = 0.2
    public static let defaultSeed: UInt64 = 42
    static let randomName = "random"

    /// Parses `u1`...`u5`, `random` (holding out `validPct`, shuffled by
    /// `seed`; ignored by the others), `none` (or `all`), in any case.
    public init(name: String, validPct: Double, seed: UInt64) throws {
        switch name.lowercased() {
        case Self.randomName:
            self = try Split.random(validPct: validPct, seed: seed).replacing(validPct: nil, seed: nil)
        case "none", "all": self = .none
        case let s where s.count == 2 && s.first == "u":
            guard let k = Int(s.dropFirst()), (1...5).contains(k) else { fallthrough }
            self = .fold(k)
        default:
            let names = "random, none or u1...u5"
            throw EmbtoolError.usage("unknown split '\(name)': use \(names)", reason: .setting("split", requirement: "must be \(names)"))
        }
    }

    /// This split with a random split's fraction or seed replaced where given
    /// (other splits have neither and stay as they are).
    public func replacing(validPct: Double?, seed: UInt64?) throws -> Split {
        guard case .random(let oldPct, let oldSeed) = self else { return self }
        let pct = validPct ?? oldPct
        guard pct > 0 && pct < 1 else {
            throw EmbtoolError.usage("a random split holds out a fraction between 0 and 1, not \(pct)",
                                     reason: .setting("validPct", requirement: "must be between 0 and 1"))
        }
        return .random(validPct: pct, seed: seed ?? oldSeed)
    }

    /// The split's name: `random`, `u1`...`u5` or `none`.
    public var name: String {
        switch self {
        case .random: return Self.randomName
        case .fold(let k): return "u\(k)"
        case .none: return "none"
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

/// Recorded in model files as `{"name": "u1"}` or `{"name": "random", "valid_pct": 0.2, "seed": 42}`.
extension Split: Codable {
    private enum CodingKeys: String, CodingKey { case name, validPct, seed }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        let isRandom = name.lowercased() == Self.randomName
        do {
            self = try Split(name: name, validPct: isRandom ? try c.decode(Double.self, forKey: .validPct) : Self.defaultValidPct,
                             seed: isRandom ? try c.decode(UInt64.self, forKey: .seed) : Self.defaultSeed)
        } catch let error as EmbtoolError {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        if case .random(let validPct, let seed) = self {
            try c.encode(validPct, forKey: .validPct)
            try c.encode(seed, forKey: .seed)
        }
    }
}
