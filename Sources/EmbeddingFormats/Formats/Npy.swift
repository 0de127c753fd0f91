import Foundation
import EmbeddingCore

/// NumPy's `.npy` format (numpy/lib/format.py):
///
///     "\x93NUMPY" major minor  u16 (v1) or u32 (v2, v3) header length
///     header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
///     the elements, C or Fortran order
///
/// Reads numeric arrays (float, int, uint, bool; either byte order) and text
/// arrays (`<U` and `|S`, for labels); object arrays are pickles and are refused.
/// The shape is checked against the bytes that follow the header before any
/// allocation.
public enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    public static func looksLike(_ data: Data) -> Bool { data.prefix(6).elementsEqual(magic) }

    /// A parsed array whose elements are still bytes.
    public struct Array {
        public enum Kind: Equatable { case number(ElementType), unicode(Int), bytes(Int) }
        public var kind: Kind
        public var shape: [Int]
        public var descr: String
        var fortranOrder: Bool
        var bigEndian: Bool
        var payload: Data
        var count: Int

        /// A storage-type name for listings: `F32`, `F64`, ..., `U12` (text).
        public var dtype: String {
            switch kind {
            case .number(let t): return t.rawValue
            case .unicode(let n): return "U\(n)"
            case .bytes(let n): return "S\(n)"
            }
        }

        /// The elements as Float in row-major (C) order.
        public func floats(name: String) throws -> [Float] {
            guard case .number(let t) = kind else { throw EmbtoolError.data("\(name): holds text (\(descr)), not numbers") }
            // Fortran order is column-major: element (i0, i1, ...) at i0 + i1*n0 + ...
            var stride = [Int](repeating: 1, count: shape.count)
            if fortranOrder {
                for d in stride.indices.dropFirst() { stride[d] = stride[d - 1] * shape[d - 1] }
            } else {
                for d in stride.indices.reversed().dropFirst() { stride[d] = stride[d + 1] * shape[d + 1] }
            }
            return t.gather(payload, offset: 0, shape: shape, stride: stride, count: count, bigEndian: bigEndian)
        }

        /// The elements of a 1-D text array, trailing NULs removed.
        public func strings(name: String) throws -> [String] {
            guard shape.count == 1 else { throw EmbtoolError.data("\(name): labels must be a 1-D array, not shape \(shape)") }
            return payload.withUnsafeBytes { raw in
                switch kind {
                case .unicode(let n):
                    // UTF-32 code units; anything that is not a scalar becomes U+FFFD.
                    return (0..<count).map { i in
                        var scalars = String.UnicodeScalarView()
                        for j in 0..<n {
                            let v = raw.loadUnaligned(fromByteOffset: (i * n + j) * 4, as: UInt32.self)
                            let unit = bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
                            if unit == 0 { break }
                            scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                        }
                        return String(scalars)
                    }
                case .bytes(let n):
                    return (0..<count).map { i in
                        let item = UnsafeRawBufferPointer(rebasing: raw[(i * n)..<((i + 1) * n)])
                        let end = item.firstIndex(of: 0) ?? n
                        return String(decoding: item[..<end], as: UTF8.self)
                    }
                case .number:
                    return []
                }
            }
        }
    }

    public static func read(path: String) throws -> Array {
        try read(data: readInputFile(path), name: path)
    }

    public static func read(data: Data, name: String) throws -> Array {
        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid .npy file: \(why)") }
        guard looksLike(data) else { throw bad("no \\x93NUMPY magic") }
        guard let major = data.littleEndian(UInt8.self, at: 6) else { throw bad("truncated header") }
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            guard let n = data.littleEndian(UInt16.self, at: 8) else { throw bad("truncated header") }
            (headerLength, headerStart) = (Int(n), 10)
        case 2, 3:
            guard let n = data.littleEndian(UInt32.self, at: 8) else { throw bad("truncated header") }
            (headerLength, headerStart) = (Int(n), 12)
        default:
            throw bad("format version \(major) is not supported")
        }
        guard let headerBytes = data.bytes(at: headerStart, count: headerLength) else {
            throw bad("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        var parser = HeaderParser(String(decoding: headerBytes, as: UTF8.self), name: name)
        let header = try parser.parse()

        var descr = header.descr
        var bigEndian = false
        if let order = descr.first, "<>|=".contains(order) {
            bigEndian = order == ">"
            descr.removeFirst()
        }
        let kind: Array.Kind, itemSize: Int
        let numbers: [String: ElementType] = [
            "f2": .f16, "f4": .f32, "f8": .f64, "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
            "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64, "b1": .bool,
        ]
        if let t = numbers[descr] {
            (kind, itemSize) = (.number(t), t.size)
        } else if descr.first == "U", let n = Int(descr.dropFirst()), n > 0, n <= 1 << 20 {
            (kind, itemSize) = (.unicode(n), 4 * n)
        } else if descr.first == "S", let n = Int(descr.dropFirst()), n > 0, n <= 1 << 20 {
            (kind, itemSize) = (.bytes(n), n)
        } else if descr == "O" {
            throw bad("an object array (dtype '|O') is a pickle; embtool does not read those. Save labels with np.array(labels, dtype=str)")
        } else {
            throw bad("dtype '\(header.descr)' is not supported (floats, ints, bools and strings are)")
        }
        let payloadStart = headerStart + headerLength
        let available = data.count - payloadStart
        guard let count = elementCount(header.shape, limit: available / itemSize) else {
            throw bad("shape \(header.shape) of \(header.descr) needs more than the \(available) bytes after the header")
        }
        guard count * itemSize == available else {
            throw bad("shape \(header.shape) of \(header.descr) needs \(count * itemSize) bytes, the file holds \(available)")
        }
        return Array(kind: kind, shape: header.shape, descr: header.descr, fortranOrder: header.fortranOrder,
                     bigEndian: bigEndian, payload: data.bytes(at: payloadStart, count: available)!, count: count)
    }

    /// The header dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    /// A literal reader for exactly that grammar; it evaluates nothing.
    struct HeaderParser {
        let text: [UInt8]
        let name: String
        var i = 0
        init(_ s: String, name: String) { text = Swift.Array(s.utf8); self.name = name }

        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid .npy header: \(why)") }
        mutating func skipSpace() { while i < text.count && (text[i] == 0x20 || text[i] == 0x0A || text[i] == 0x09) { i += 1 } }
        mutating func expect(_ c: Character) throws {
            skipSpace()
            guard i < text.count, text[i] == c.asciiValue! else { throw bad("expected '\(c)' at column \(i)") }
            i += 1
        }
        mutating func peek(_ c: Character) -> Bool {
            skipSpace()
            return i < text.count && text[i] == c.asciiValue!
        }
        mutating func string() throws -> String {
            skipSpace()
            guard i < text.count, text[i] == 0x27 || text[i] == 0x22 else { throw bad("expected a quoted string at column \(i)") }
            let quote = text[i]
            i += 1
            let start = i
            while i < text.count && text[i] != quote { i += 1 }
            guard i < text.count else { throw bad("unterminated string") }
            defer { i += 1 }
            return String(decoding: text[start..<i], as: UTF8.self)
        }
        mutating func integer() throws -> Int {
            skipSpace()
            let start = i
            while i < text.count && text[i] >= 0x30 && text[i] <= 0x39 { i += 1 }
            guard i > start, i - start <= 18, let n = Int(String(decoding: text[start..<i], as: UTF8.self)) else {
                throw bad("expected a dimension at column \(start)")
            }
            if i < text.count && text[i] == 0x4C { i += 1 }  // Python 2's long suffix
            return n
        }
        mutating func word() -> String {
            skipSpace()
            let start = i
            while i < text.count && ((text[i] >= 0x41 && text[i] <= 0x5A) || (text[i] >= 0x61 && text[i] <= 0x7A)) { i += 1 }
            return String(decoding: text[start..<i], as: UTF8.self)
        }

        mutating func parse() throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
            var descr: String?, fortran: Bool?, shape: [Int]?
            try expect("{")
            while !peek("}") {
                let key = try string()
                try expect(":")
                switch key {
                case "descr":
                    guard !peek("[") else { throw bad("structured dtypes are not supported") }
                    descr = try string()
                case "fortran_order":
                    switch word() {
                    case "True": fortran = true
                    case "False": fortran = false
                    default: throw bad("fortran_order is not True or False")
                    }
                case "shape":
                    try expect("(")
                    var dims: [Int] = []
                    while !peek(")") {
                        guard dims.count < 32 else { throw bad("more than 32 dimensions") }
                        dims.append(try integer())
                        if !peek(")") { try expect(",") }
                    }
                    try expect(")")
                    shape = dims
                default:
                    throw bad("unexpected key '\(key)'")
                }
                if !peek("}") { try expect(",") }
            }
            guard let descr, let fortran, let shape else { throw bad("descr, fortran_order or shape is missing") }
            return (descr, fortran, shape)
        }
    }

    // MARK: Writing

    /// A float32 array, little-endian, C order.
    public static func encode(shape: [Int], values: [Float]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "npy: shape \(shape) does not match \(values.count) values")
        var out = header(descr: "<f4", shape: shape)
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// A 1-D text array (`<U{longest}`), the dtype `np.array(labels, dtype=str)` gives.
    public static func encode(strings: [String]) -> Data {
        let width = max(1, strings.map { $0.unicodeScalars.count }.max() ?? 1)
        var out = header(descr: "<U\(width)", shape: [strings.count])
        var units = [UInt32](repeating: 0, count: width)
        for s in strings {
            for j in 0..<width { units[j] = 0 }
            for (j, scalar) in s.unicodeScalars.enumerated() { units[j] = scalar.value.littleEndian }
            units.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Magic, version 1.0, and the header dict padded with spaces so that the
    /// data starts at a multiple of 64 bytes, as NumPy writes it.
    static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = magic.count + 4 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [1, 0])
        withUnsafeBytes(of: UInt16(dict.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: dict.utf8)
        return out
    }
}
