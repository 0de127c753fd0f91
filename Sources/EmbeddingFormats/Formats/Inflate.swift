import Foundation
import EmbeddingCore

/// A DEFLATE (RFC 1951) decoder, for the `.npz` files `np.savez_compressed`
/// writes. Hostile input is an error, never a trap: every code, length and
/// back-reference is checked, and the output may not grow past `limit`, the
/// size the archive declares (so a small file cannot make a huge allocation
/// without also spelling out that many bytes of back-references).
enum Inflate {
    static func decompress(_ input: Data, limit: Int, name: String) throws -> Data {
        var out = Output(initialCapacity: min(limit, 4 * input.count + 64))
        do {
            try input.withUnsafeBytes { raw in
                var state = State(input: raw, limit: limit, name: name)
                try state.run(into: &out)
            }
        } catch {
            free(out.base)
            throw error
        }
        return Data(bytesNoCopy: out.base, count: out.count, deallocator: .free)
    }

    /// The output so far: a malloc'd buffer, doubled as needed (callers keep the
    /// total within `limit`), written through a pointer so that the per-byte cost
    /// of a literal is a store.
    struct Output {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count = 0

        init(initialCapacity: Int) {
            capacity = max(initialCapacity, 64)
            base = malloc(capacity)!.assumingMemoryBound(to: UInt8.self)
        }

        @inline(__always) mutating func reserve(_ n: Int, limit: Int) {
            guard count + n > capacity else { return }
            capacity = min(max(count + n, 2 * capacity), max(limit, count + n))
            base = realloc(base, capacity)!.assumingMemoryBound(to: UInt8.self)
        }
    }

    /// Canonical Huffman code as a lookup table indexed by the next `maxLength`
    /// input bits (DEFLATE sends codes most-significant bit first, so the table
    /// is indexed by the bit-reversed code). Entry: `symbol << 4 | length`, 0 = no code.
    struct Huffman {
        var table: [UInt16]
        var maxLength: Int

        init(lengths: [UInt8], name: String) throws {
            var countPerLength = [Int](repeating: 0, count: 16)
            for l in lengths { countPerLength[Int(l)] += 1 }
            countPerLength[0] = 0
            // Kraft inequality: an over-subscribed set of lengths is no prefix code.
            var left = 1
            for len in 1...15 {
                left = 2 * left - countPerLength[len]
                guard left >= 0 else { throw EmbtoolError.data("\(name): corrupt deflate data (over-subscribed Huffman code)") }
            }
            maxLength = lengths.max().map(Int.init) ?? 0
            table = [UInt16](repeating: 0, count: 1 << maxLength)
            var next = [Int](repeating: 0, count: 16)
            var code = 0
            for len in 1..<16 {
                code = (code + countPerLength[len - 1]) << 1
                next[len] = code
            }
            for (symbol, l) in lengths.enumerated() where l > 0 {
                let len = Int(l)
                var reversed = 0, c = next[len]
                next[len] += 1
                for _ in 0..<len { reversed = (reversed << 1) | (c & 1); c >>= 1 }
                let entry = UInt16(symbol << 4 | len)
                for j in stride(from: reversed, to: table.count, by: 1 << len) { table[j] = entry }
            }
        }
    }

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which a dynamic block sends the code-length code's lengths.
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    struct State {
        let input: UnsafeRawBufferPointer
        let limit: Int
        let name: String
        var position = 0
        var bitBuffer: UInt64 = 0
        var bitCount = 0

        init(input: UnsafeRawBufferPointer, limit: Int, name: String) {
            self.input = input
            self.limit = limit
            self.name = name
        }

        func corrupt(_ why: String) -> EmbtoolError { .data("\(name): corrupt deflate data (\(why))") }

        @inline(__always) mutating func refill() {
            while bitCount <= 56 && position < input.count {
                bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
                position += 1
                bitCount += 8
            }
        }

        @inline(__always) mutating func bits(_ n: Int) throws -> Int {
            if bitCount < n { refill() }
            guard bitCount >= n else { throw corrupt("truncated") }
            let v = Int(bitBuffer & ((1 << UInt64(n)) - 1))
            bitBuffer >>= UInt64(n)
            bitCount -= n
            return v
        }

        @inline(__always) mutating func decode(_ h: Huffman) throws -> Int {
            if bitCount < h.maxLength { refill() }
            let entry = h.table[Int(bitBuffer & ((1 << UInt64(h.maxLength)) - 1))]
            let len = Int(entry & 15)
            guard len > 0, len <= bitCount else { throw corrupt(len == 0 ? "invalid Huffman code" : "truncated") }
            bitBuffer >>= UInt64(len)
            bitCount -= len
            return Int(entry >> 4)
        }

        mutating func run(into out: inout Output) throws {
            var last = false
            while !last {
                last = try bits(1) == 1
                switch try bits(2) {
                case 0: try stored(into: &out)
                case 1: try codes(Inflate.fixedLiterals, Inflate.fixedDistances, into: &out)
                case 2:
                    let (literals, distances) = try dynamicTables()
                    try codes(literals, distances, into: &out)
                default: throw corrupt("reserved block type 3")
                }
            }
        }

        mutating func stored(into out: inout Output) throws {
            // Drop to a byte boundary and hand the whole bytes still buffered back to the input.
            bitBuffer >>= UInt64(bitCount % 8)
            bitCount -= bitCount % 8
            position -= bitCount / 8
            bitBuffer = 0
            bitCount = 0
            guard input.count - position >= 4 else { throw corrupt("truncated") }
            let len = Int(input[position]) | Int(input[position + 1]) << 8
            let nlen = Int(input[position + 2]) | Int(input[position + 3]) << 8
            guard len == ~nlen & 0xFFFF else { throw corrupt("stored block length check failed") }
            position += 4
            guard input.count - position >= len else { throw corrupt("truncated") }
            guard limit - out.count >= len else { throw corrupt("inflates past the declared \(limit) bytes") }
            out.reserve(len, limit: limit)
            if len > 0 { (out.base + out.count).update(from: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + position, count: len) }
            out.count += len
            position += len
        }

        mutating func dynamicTables() throws -> (Huffman, Huffman) {
            let literalCount = try bits(5) + 257
            let distanceCount = try bits(5) + 1
            let codeLengthCount = try bits(4) + 4
            guard literalCount <= 286, distanceCount <= 30 else { throw corrupt("too many codes") }
            var codeLengthLengths = [UInt8](repeating: 0, count: 19)
            for i in 0..<codeLengthCount { codeLengthLengths[Inflate.codeLengthOrder[i]] = UInt8(try bits(3)) }
            let codeLengthCode = try Huffman(lengths: codeLengthLengths, name: name)
            var lengths: [UInt8] = []
            lengths.reserveCapacity(literalCount + distanceCount)
            while lengths.count < literalCount + distanceCount {
                let symbol = try decode(codeLengthCode)
                var value: UInt8 = 0, repeats = 1
                switch symbol {
                case 0..<16: value = UInt8(symbol)
                case 16:
                    guard let previous = lengths.last else { throw corrupt("repeat with no previous length") }
                    value = previous
                    repeats = 3 + (try bits(2))
                case 17: repeats = 3 + (try bits(3))
                default: repeats = 11 + (try bits(7))
                }
                guard lengths.count + repeats <= literalCount + distanceCount else { throw corrupt("code lengths overrun") }
                lengths.append(contentsOf: repeatElement(value, count: repeats))
            }
            guard lengths[256] != 0 else { throw corrupt("no end-of-block code") }
            return (try Huffman(lengths: Array(lengths[..<literalCount]), name: name),
                    try Huffman(lengths: Array(lengths[literalCount...]), name: name))
        }

        mutating func codes(_ literals: Huffman, _ distances: Huffman, into out: inout Output) throws {
            while true {
                let symbol = try decode(literals)
                if symbol < 256 {
                    guard out.count < limit else { throw corrupt("inflates past the declared \(limit) bytes") }
                    out.reserve(1, limit: limit)
                    out.base[out.count] = UInt8(truncatingIfNeeded: symbol)
                    out.count += 1
                    continue
                }
                if symbol == 256 { return }
                let l = symbol - 257
                guard l < 29 else { throw corrupt("invalid length code") }
                let length = Inflate.lengthBase[l] + (try bits(Inflate.lengthExtra[l]))
                let d = try decode(distances)
                guard d < 30 else { throw corrupt("invalid distance code") }
                let distance = Inflate.distanceBase[d] + (try bits(Inflate.distanceExtra[d]))
                guard distance <= out.count else { throw corrupt("back-reference before the start") }
                guard limit - out.count >= length else { throw corrupt("inflates past the declared \(limit) bytes") }
                out.reserve(length, limit: limit)
                // Byte by byte: a copy may overlap the bytes it produces (distance < length).
                let to = out.base + out.count, from = to - distance
                for k in 0..<length { to[k] = from[k] }
                out.count += length
            }
        }
    }

    static let fixedLiterals: Huffman = {
        var lengths = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return try! Huffman(lengths: lengths, name: "fixed")
    }()

    static let fixedDistances: Huffman = try! Huffman(lengths: [UInt8](repeating: 5, count: 30), name: "fixed")
}
