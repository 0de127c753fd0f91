import Foundation
import EmbeddingCore

/// The size and rating scale of a synthetic dataset, after a MovieLens release.
public struct SynthShape: Equatable, Sendable {
    public var name: String
    public var users: Int
    public var items: Int
    public var ratings: Int
    /// Every user rates at least this many items (GroupLens kept users with 20+).
    public var minPerUser: Int
    /// Ratings are multiples of `step` in `low...high` (half stars since ml-20m).
    public var step: Float
    public var low: Float
    public var high: Float
    /// Largest movie id: ids are spread over `1...maxItemId` as in the real releases.
    public var maxItemId: Int
    /// Timestamps (seconds since 1970) fall in this range.
    public var firstTime: Int64
    public var lastTime: Int64

    public static let ml100k = SynthShape(name: "ml-100k", users: 943, items: 1682, ratings: 100_000, minPerUser: 20,
                                          step: 1, low: 1, high: 5, maxItemId: 1682, firstTime: 874_724_710, lastTime: 893_286_638)
    public static let ml1m = SynthShape(name: "ml-1m", users: 6040, items: 3706, ratings: 1_000_209, minPerUser: 20,
                                        step: 1, low: 1, high: 5, maxItemId: 3952, firstTime: 956_703_932, lastTime: 1_046_454_590)
    public static let mlLatestSmall = SynthShape(name: "ml-latest-small", users: 610, items: 9724, ratings: 100_836, minPerUser: 20,
                                                 step: 0.5, low: 0.5, high: 5, maxItemId: 193_609, firstTime: 828_124_615, lastTime: 1_537_799_250)
    public static let ml20m = SynthShape(name: "ml-20m", users: 138_493, items: 26_744, ratings: 20_000_263, minPerUser: 20,
                                         step: 0.5, low: 0.5, high: 5, maxItemId: 131_262, firstTime: 789_652_009, lastTime: 1_427_784_002)
    public static let ml25m = SynthShape(name: "ml-25m", users: 162_541, items: 59_047, ratings: 25_000_095, minPerUser: 20,
                                         step: 0.5, low: 0.5, high: 5, maxItemId: 209_171, firstTime: 789_652_009, lastTime: 1_574_327_703)

    public static let all: [SynthShape] = [.ml100k, .ml1m, .mlLatestSmall, .ml20m, .ml25m]

    public static func named(_ name: String) -> SynthShape? { all.first { $0.name == name } }

    /// Users and ratings scaled by `factor`, items by its square root, so that a
    /// small sample stays about as dense per user as the original.
    public func scaled(_ factor: Double) -> SynthShape {
        guard factor != 1 else { return self }
        var s = self
        s.users = max(1, Int((Double(users) * factor).rounded()))
        s.items = max(1, Int((Double(items) * factor.squareRoot()).rounded()))
        s.ratings = max(1, Int((Double(ratings) * factor).rounded()))
        s.maxItemId = max(s.items, Int((Double(maxItemId) * factor.squareRoot()).rounded()))
        s.minPerUser = max(1, min(minPerUser, s.ratings / s.users / 2))
        s.name = "\(name)-x\(factor)"
        return s
    }
}

/// A MovieLens-shaped synthetic dataset with a known low-rank structure:
///
///     r(u, i) = clamp(round_to_step(mu + b_u + b_i + p_u · q_i + eps), low, high)
///
/// with `p_u, q_i ~ N(0, 0.45^2)` in `rank` dimensions, `b_u ~ N(0, 0.35^2)`,
/// `b_i ~ N(0, 0.4^2)` plus a lift for popular items, `eps ~ N(0, 0.75^2)`.
/// User activity is Pareto-distributed (alpha 2, at least `minPerUser` ratings each),
/// item popularity Zipf-like `(rank + 150)^-1.8`; every item is rated at least
/// once and no user rates an item twice. Every user draws from its own random
/// stream, so the files depend on the seed only, not on the number of threads.
/// Written in ml-25m's layout: `ratings.csv` (`userId,movieId,rating,timestamp`,
/// sorted by user then movie) and `movies.csv` (`movieId,title,genres`).
public struct Synth {
    public let shape: SynthShape
    public let seed: UInt64
    public let rank = 8
    public let mu: Float = 3.15

    let itemIds: [Int]
    let itemBias: [Float]
    /// `items x rank`, row-major.
    let itemFactors: [Float]
    let alias: AliasTable
    let counts: [Int]

    public init(shape: SynthShape, seed: UInt64) throws {
        guard shape.users > 0, shape.items > 0, shape.ratings >= shape.users else {
            throw EmbtoolError.usage("synth: need at least one rating per user (\(shape.users) users, \(shape.ratings) ratings)")
        }
        let cap = max(min(shape.items, shape.minPerUser), (shape.items + shape.users - 1) / shape.users, shape.items * 3 / 5)
        guard shape.ratings <= shape.users * cap, shape.ratings >= shape.items else {
            throw EmbtoolError.usage("synth: \(shape.ratings) ratings do not fit \(shape.users) users x \(shape.items) items without repeats")
        }
        self.shape = shape
        self.seed = seed
        let n = shape.items
        itemIds = (0..<n).map { j in n == 1 ? 1 : 1 + Int(Double(j) * Double(shape.maxItemId - 1) / Double(n - 1)) }

        // Popularity: a random order of items, weight (rank + 150)^-1.8.
        var rng = SplitMix64(seed: seed ^ 0x5EED_0001)
        var order = Array(0..<n)
        order.shuffle(using: &rng)
        var weight = [Double](repeating: 0, count: n)
        for (rank, j) in order.enumerated() { weight[j] = pow(Double(rank) + 150, -1.8) }
        alias = AliasTable(weight)

        // Item factors and biases; popular items are liked a little more.
        let meanLogW = weight.reduce(0) { $0 + log($1) } / Double(n)
        var factors = [Float](repeating: 0, count: n * rank)
        var bias = [Float](repeating: 0, count: n)
        var gauss = SplitMix64(seed: seed ^ 0x5EED_0002)
        for j in 0..<n {
            for f in 0..<rank { factors[j * rank + f] = 0.45 * gauss.nextGaussian() }
            bias[j] = 0.4 * gauss.nextGaussian() + Float(0.08 * (log(weight[j]) - meanLogW))
        }
        itemFactors = factors
        itemBias = bias
        counts = Synth.userCounts(shape: shape, cap: cap, seed: seed)
        guard counts.reduce(0, +) == shape.ratings else {
            throw EmbtoolError.usage("synth: \(shape.ratings) ratings are too few for \(shape.users) users with \(shape.minPerUser)+ ratings each and all \(shape.items) items rated")
        }
    }

    /// Ratings per user: `m_u + s * x_u` with Pareto `x_u`, capped, `s` chosen
    /// so the counts add up to exactly `shape.ratings`. `m_u` is `minPerUser`, or
    /// more for a user who must rate more items so that every item has a rating
    /// (user u rates items u, u + users, u + 2 users, ...).
    static func userCounts(shape: SynthShape, cap: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed ^ 0x5EED_0003)
        let floor = (0..<shape.users).map { u in
            max(min(shape.minPerUser, shape.ratings / shape.users), (shape.items - u + shape.users - 1) / shape.users)
        }
        let x = (0..<shape.users).map { _ in pow(1 - Double(rng.nextFloat()) * 0.999_999, -1 / 2.0) - 1 }
        func total(_ s: Double) -> Double {
            zip(floor, x).reduce(0) { $0 + min(Double(cap), Double($1.0) + s * $1.1) }
        }
        var lo = 0.0, hi = 1.0
        while total(hi) < Double(shape.ratings) && hi < 1e12 { hi *= 2 }
        for _ in 0..<100 { let mid = (lo + hi) / 2; if total(mid) < Double(shape.ratings) { lo = mid } else { hi = mid } }
        var counts = zip(floor, x).map { min(cap, Int(Double($0) + lo * $1)) }
        var missing = shape.ratings - counts.reduce(0, +)
        var u = 0
        while missing > 0 {
            if counts[u] < cap { counts[u] += 1; missing -= 1 }
            u = (u + 1) % counts.count
        }
        return counts
    }

    // MARK: Ratings

    /// The ratings of users `range` as `ratings.csv` lines.
    func ratingsCSV(users range: Range<Int>) -> [UInt8] {
        let n = shape.items, k = rank
        // Longest line: 10-digit user, item and timestamp, `5.0`, 3 commas, newline.
        let budget = counts[range].reduce(0, +) * 37
        var taken = [Int32](repeating: -1, count: n)  // taken[j] == u: user u already rated j
        var picks: [Int] = []
        var keys: [UInt64] = []
        var p = [Float](repeating: 0, count: k)
        let stepsPerUnit = 1 / shape.step
        return [UInt8](unsafeUninitializedCapacity: budget) { buffer, written in
            var out = TextWriter(buffer.baseAddress!)
            itemFactors.withUnsafeBufferPointer { q in
                for u in range {
                    var gauss = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(u + 1))
                    for f in 0..<k { p[f] = 0.45 * gauss.nextGaussian() }
                    let userBias = 0.35 * gauss.nextGaussian()
                    let want = counts[u]
                    picks.removeAll(keepingCapacity: true)
                    // Items this user is responsible for, so that every item has a rating.
                    var j = u
                    while j < n && picks.count < want { picks.append(j); taken[j] = Int32(u); j += shape.users }
                    if want - picks.count > n / 8 {
                        // Heavy user: weighted sampling without replacement by exponential
                        // keys e / w (smallest first); a key's bits sort as the Float does.
                        keys.removeAll(keepingCapacity: true)
                        for j in 0..<n where taken[j] != Int32(u) {
                            let e = -log(Double(max(gauss.nextFloat(), 0x1p-30)))
                            keys.append(UInt64(Float(e / alias.weight(j)).bitPattern) << 32 | UInt64(j))
                        }
                        keys.sort()
                        for key in keys.prefix(want - picks.count) {
                            let j = Int(key & 0xFFFF_FFFF)
                            picks.append(j)
                            taken[j] = Int32(u)
                        }
                    } else {
                        while picks.count < want {
                            let j = alias.sample(&gauss)
                            if taken[j] != Int32(u) { taken[j] = Int32(u); picks.append(j) }
                        }
                    }
                    picks.sort()
                    let start = shape.firstTime + Int64(gauss.nextFloat() * Float(shape.lastTime - shape.firstTime) * 0.8)
                    let span = max(1, Double(shape.lastTime - start))
                    for j in picks {
                        var dot: Float = 0
                        for f in 0..<k { dot += p[f] * q[j * k + f] }
                        let score = mu + userBias + itemBias[j] + dot + 0.75 * gauss.nextGaussian()
                        let r = min(shape.high, max(shape.low, (score * stepsPerUnit).rounded() / stepsPerUnit))
                        let t = start + Int64(Double(gauss.nextFloat()) * span)
                        out.integer(u + 1); out.byte(0x2C)
                        out.integer(itemIds[j]); out.byte(0x2C)
                        out.rating(r); out.byte(0x2C)
                        out.integer(Int(t)); out.byte(0x0A)
                    }
                }
            }
            written = out.count
        }
    }

    /// Writes decimal text into a buffer known to be large enough.
    struct TextWriter {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

        @inline(__always) mutating func byte(_ b: UInt8) { base[count] = b; count += 1 }

        /// A non-negative integer's digits.
        @inline(__always) mutating func integer(_ value: Int) {
            var digits = 1, rest = value / 10
            while rest > 0 { digits += 1; rest /= 10 }
            var v = value
            for i in stride(from: count + digits - 1, through: count, by: -1) { base[i] = UInt8(v % 10) + 0x30; v /= 10 }
            count += digits
        }

        /// `4.0`, `3.5`: one decimal, as ml-25m writes ratings.
        @inline(__always) mutating func rating(_ r: Float) {
            let tenths = Int((r * 10).rounded())
            integer(tenths / 10)
            byte(0x2E)
            byte(UInt8(tenths % 10) + 0x30)
        }
    }

    // MARK: Movies

    /// Genre names per latent dimension: positive side, negative side.
    static let genrePairs = [("Action", "Drama"), ("Comedy", "Thriller"), ("Adventure", "Documentary"), ("Romance", "Horror"),
                             ("Animation", "Crime"), ("Children", "Film-Noir"), ("Fantasy", "War"), ("Sci-Fi", "Musical")]

    /// `movies.csv`: synthetic titles with years, a few with commas and quotes
    /// (as real titles have), and genres that name each item's strongest factors.
    func moviesCSV() -> [UInt8] {
        var text = "movieId,title,genres\n"
        var rng = SplitMix64(seed: seed ^ 0x5EED_0004)
        for j in 0..<shape.items {
            let u = rng.nextFloat()
            let year = 2019 - Int(100 * u * u)
            let id = itemIds[j]
            let title: String
            switch j % 500 {
            case 7: title = "\"Movie \(id), The (\(year))\""
            case 13: title = "\"Say \"\"Movie \(id)\"\" (\(year))\""
            default: title = "Movie \(id) (\(year))"
            }
            var genres: [String] = []
            var strongest = 0
            for f in 0..<rank {
                let v = itemFactors[j * rank + f]
                if abs(v) > abs(itemFactors[j * rank + strongest]) { strongest = f }
                if abs(v) > 0.55 && f < Synth.genrePairs.count { genres.append(v > 0 ? Synth.genrePairs[f].0 : Synth.genrePairs[f].1) }
            }
            if genres.isEmpty && strongest < Synth.genrePairs.count {
                let v = itemFactors[j * rank + strongest]
                genres.append(v > 0 ? Synth.genrePairs[strongest].0 : Synth.genrePairs[strongest].1)
            }
            text += "\(id),\(title),\(genres.isEmpty ? "(no genres listed)" : genres.joined(separator: "|"))\n"
        }
        return Array(text.utf8)
    }

    // MARK: Writing

    /// Writes `ratings.csv` and `movies.csv` into `folder`, each atomically, blocks of users
    /// generated on all cores and written in order. `progress(ratingsWritten)` after each block.
    public func write(to folder: String, progress: (Int) -> Void = { _ in }) throws -> [String] {
        let moviesPath = folder + "/movies.csv", ratingsPath = folder + "/ratings.csv"
        try AtomicFile.write(Data(moviesCSV()), to: moviesPath)

        // Blocks of about 400k ratings; a window of them is generated at once.
        var blocks: [Range<Int>] = []
        var first = 0, inBlock = 0
        for u in 0..<shape.users {
            inBlock += counts[u]
            if inBlock >= 400_000 || u == shape.users - 1 { blocks.append(first..<(u + 1)); first = u + 1; inBlock = 0 }
        }
        let stream = try AtomicStream(path: ratingsPath)
        do {
            try stream.write(Array("userId,movieId,rating,timestamp\n".utf8))
            let window = 2 * ProcessInfo.processInfo.activeProcessorCount
            var written = 0
            for start in stride(from: 0, to: blocks.count, by: window) {
                let batch = Array(blocks[start..<min(blocks.count, start + window)])
                var buffers = [[UInt8]](repeating: [], count: batch.count)
                buffers.withUnsafeMutableBufferPointer { out in
                    Parallel.pieces(batch.count) { b in out[b] = ratingsCSV(users: batch[b]) }
                }
                for (b, buffer) in buffers.enumerated() {
                    try stream.write(buffer)
                    written += counts[batch[b]].reduce(0, +)
                }
                progress(written)
            }
            try stream.commit()
        } catch {
            stream.discard()
            throw error
        }
        return [ratingsPath, moviesPath]
    }
}

/// A file written in pieces that appears under its name only when complete:
/// bytes go to a hidden temporary file beside it, renamed over the target at the end.
final class AtomicStream {
    let path: String
    let temporary: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
        } catch {
            throw EmbtoolError(.cantCreate, "cannot create folder \(folder): \(error.localizedDescription)")
        }
        temporary = (folder.isEmpty ? "" : folder + "/") + ".\((path as NSString).lastPathComponent).tmp-\(getpid())"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw EmbtoolError(.cantCreate, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                guard n > 0 else { throw EmbtoolError(.ioError, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
    }

    func commit() throws {
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw EmbtoolError(.cantCreate, "cannot move \(temporary) to \(path): \(reason)")
        }
    }

    func discard() {
        close(fd)
        unlink(temporary)
    }
}

/// Walker's alias method: O(1) draws from a fixed discrete distribution.
struct AliasTable {
    private let probability: [Float]
    private let alias: [Int32]
    private let weights: [Double]

    init(_ weights: [Double]) {
        let n = weights.count
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(n) / total }
        var probability = [Float](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var small = scaled.indices.filter { scaled[$0] < 1 }, large = scaled.indices.filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.last {
            probability[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { large.removeLast(); small.append(l) }
        }
        self.probability = probability
        self.alias = alias
        self.weights = weights.map { $0 / total }
    }

    /// Normalised weight of item `j`.
    func weight(_ j: Int) -> Double { weights[j] }

    @inline(__always) func sample(_ rng: inout SplitMix64) -> Int {
        let r = rng.next()
        let j = Int((r >> 32) % UInt64(probability.count))
        return Float(r & 0xFF_FFFF) * 0x1p-24 < probability[j] ? j : Int(alias[j])
    }
}
