import Foundation
import EmbeddingCore

/// Reads a whole file into memory, mapping "does not exist" and "is empty" to
/// the errors a user should see.
public func readInputFile(_ path: String, allowEmpty: Bool = false) throws -> Data {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw EmbtoolError.noInput("\(path): no such file")
    }
    guard !isDir.boolValue else { throw EmbtoolError.noInput("\(path): is a folder, expected a file") }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw EmbtoolError(.ioError, "\(path): cannot read: \(error.localizedDescription)")
    }
    if data.isEmpty && !allowEmpty { throw EmbtoolError.data("\(path): file is empty") }
    return data
}

/// A read-only memory map of a whole file. Parsers read it in place (no copy),
/// and several threads can read disjoint parts of it at once.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeBufferPointer<UInt8>
    private let mapped: UnsafeMutableRawPointer?

    /// Maps `path`; an empty file is an error unless `allowEmpty`.
    public init(_ path: String, allowEmpty: Bool = false) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw EmbtoolError.noInput("\(path): no such file") }
            throw EmbtoolError(.ioError, "\(path): cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw EmbtoolError(.ioError, "\(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw EmbtoolError.noInput("\(path): is a folder, expected a file") }
        let size = Int(info.st_size)
        if size == 0 {
            if !allowEmpty { throw EmbtoolError.data("\(path): file is empty") }
            mapped = nil
            bytes = UnsafeBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw EmbtoolError(.ioError, "\(path): cannot map: \(String(cString: strerror(errno)))")
        }
        // The parsers read front to back; ask the kernel to read ahead generously.
        _ = madvise(p, size, MADV_SEQUENTIAL)
        mapped = p
        bytes = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: size)
    }

    deinit {
        if let mapped { munmap(mapped, bytes.count) }
    }

    /// 1-based line number of byte `offset` (counting `\n` before it).
    public func lineNumber(at offset: Int) -> Int {
        1 + TextScan.countNewlines(UnsafeBufferPointer(rebasing: bytes[0..<min(offset, bytes.count)]))
    }
}

/// Byte-level text scanning: lines (LF or CRLF), fields, numbers, encodings,
/// without copying or allocating per line.
public enum TextScan {
    public static let newline = UInt8(ascii: "\n")
    public static let carriageReturn = UInt8(ascii: "\r")

    /// Calls `body(lineNumber, line)` for every non-blank line; line numbers start at 1.
    /// The line excludes its `\n` and a trailing `\r`.
    public static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>,
                                   _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try forEachLine(bytes) { lineNumber, _, line in try body(lineNumber, line) }
    }

    /// As `forEachLine`, also passing each line's byte offset in `bytes`.
    public static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>,
                                   _ body: (Int, Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        var start = 0, lineNumber = 0
        let n = bytes.count
        while start < n {
            lineNumber += 1
            let end: Int
            if let p = memchr(base + start, Int32(newline), n - start) {
                end = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
            } else {
                end = n
            }
            var stop = end
            if stop > start && base[stop - 1] == carriageReturn { stop -= 1 }
            if stop > start {
                try body(lineNumber, start, UnsafeBufferPointer(start: base + start, count: stop - start))
            }
            start = end + 1
        }
    }

    /// The number of `\n` bytes, 16 at a time (the compiler turns this into
    /// vector compares and subtracts).
    public static func countNewlines(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let n = bytes.count
        var total = 0, i = 0
        let raw = UnsafeRawPointer(base)
        let nl = SIMD16<UInt8>(repeating: newline)
        // A byte lane counts up to 255 before it must be flushed.
        while i + 16 <= n {
            var lanes = SIMD16<UInt8>(repeating: 0)
            let blockEnd = min(n - 15, i + 255 * 16)
            while i < blockEnd {
                let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                lanes &-= unsafeBitCast(v .== nl, to: SIMD16<UInt8>.self)
                i += 16
            }
            total += lanes.indices.reduce(0) { $0 + Int(lanes[$1]) }
        }
        while i < n {
            if base[i] == newline { total += 1 }
            i += 1
        }
        return total
    }

    /// Offset of the first byte after the first `\n` at or after `offset` (or `bytes.count`).
    public static func nextLineStart(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int) -> Int {
        guard let base = bytes.baseAddress, offset < bytes.count else { return bytes.count }
        guard let p = memchr(base + offset, Int32(newline), bytes.count - offset) else { return bytes.count }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self)) + 1
    }

    /// The fields of `line` split on a one-byte separator.
    public static func fields(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8) -> [UnsafeBufferPointer<UInt8>] {
        var out: [UnsafeBufferPointer<UInt8>] = []
        var start = 0
        for i in 0..<line.count where line[i] == separator {
            out.append(UnsafeBufferPointer(rebasing: line[start..<i]))
            start = i + 1
        }
        out.append(UnsafeBufferPointer(rebasing: line[start..<line.count]))
        return out
    }

    /// The fields of `line` split on a separator of one or more bytes (`::` in ml-1m).
    public static func fields(_ line: UnsafeBufferPointer<UInt8>, separator: [UInt8]) -> [UnsafeBufferPointer<UInt8>] {
        if separator.count == 1 { return fields(line, separator: separator[0]) }
        var out: [UnsafeBufferPointer<UInt8>] = []
        var start = 0, i = 0
        let m = separator.count
        while i + m <= line.count {
            if line[i] == separator[0] && (1..<m).allSatisfy({ line[i + $0] == separator[$0] }) {
                out.append(UnsafeBufferPointer(rebasing: line[start..<i]))
                i += m
                start = i
            } else {
                i += 1
            }
        }
        out.append(UnsafeBufferPointer(rebasing: line[start..<line.count]))
        return out
    }

    /// Splits one CSV line (RFC 4180 quoting: `"a, b"`, `"say ""hi"""`) into
    /// decoded field strings; nil when a quote is left open.
    public static func csvFields(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8, encoding: TextEncoding) -> [String]? {
        let quote = UInt8(ascii: "\"")
        if !line.contains(quote) { return fields(line, separator: separator).map(encoding.decode) }
        var out: [String] = []
        var field: [UInt8] = []
        var i = 0
        let n = line.count
        while true {
            field.removeAll(keepingCapacity: true)
            if i < n && line[i] == quote {
                i += 1
                var closed = false
                while i < n {
                    if line[i] == quote {
                        if i + 1 < n && line[i + 1] == quote { field.append(quote); i += 2; continue }
                        i += 1
                        closed = true
                        break
                    }
                    field.append(line[i])
                    i += 1
                }
                guard closed else { return nil }
                // Bytes between the closing quote and the separator are kept, as pandas does.
                while i < n && line[i] != separator { field.append(line[i]); i += 1 }
            } else {
                while i < n && line[i] != separator { field.append(line[i]); i += 1 }
            }
            out.append(field.withUnsafeBufferPointer { encoding.decode($0) })
            if i >= n { break }
            i += 1  // the separator
            if i == n { out.append(""); break }
        }
        return out
    }

    /// A decimal integer with optional sign and surrounding spaces; nil otherwise.
    public static func int(_ field: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0, n = field.count
        while i < n && (field[i] == 0x20 || field[i] == 0x09) { i += 1 }
        while n > i && (field[n - 1] == 0x20 || field[n - 1] == 0x09) { n -= 1 }
        var negative = false
        if i < n && (field[i] == 0x2D || field[i] == 0x2B) { negative = field[i] == 0x2D; i += 1 }
        guard i < n, n - i <= 18 else { return nil }
        var value: Int64 = 0
        while i < n {
            let d = field[i] &- 0x30
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
            i += 1
        }
        return negative ? -value : value
    }

    /// A finite decimal number; nil for anything else (including NaN and Inf).
    /// Digits with at most 10 decimals whose digits fit 24 bits are divided
    /// exactly (`4.5` = 45 / 10, one correctly rounded division); anything else
    /// goes through the C library, so the result always equals `Float(text)`.
    public static func float(_ field: UnsafeBufferPointer<UInt8>) -> Float? {
        var i = 0, n = field.count
        while i < n && (field[i] == 0x20 || field[i] == 0x09) { i += 1 }
        while n > i && (field[n - 1] == 0x20 || field[n - 1] == 0x09) { n -= 1 }
        guard i < n else { return nil }
        if let v = decimal(UnsafeBufferPointer(rebasing: field[i..<n])) { return v }
        let text = String(decoding: UnsafeBufferPointer(rebasing: field[i..<n]), as: UTF8.self)
        guard let v = Float(text), v.isFinite else { return nil }
        return v
    }

    /// Exact fast path of `float`: `digits[.digits]`, nil when it does not apply.
    @inline(__always)
    static func decimal(_ field: UnsafeBufferPointer<UInt8>) -> Float? {
        var mantissa: UInt32 = 0, j = 0, decimals = 0, digits = 0
        let n = field.count
        while j < n, field[j] &- 0x30 < 10, digits < 8 {
            mantissa = mantissa * 10 + UInt32(field[j] &- 0x30); j += 1; digits += 1
        }
        if j < n && field[j] == 0x2E && digits > 0 {
            j += 1
            while j < n, field[j] &- 0x30 < 10, digits < 8 {
                mantissa = mantissa * 10 + UInt32(field[j] &- 0x30); j += 1; digits += 1; decimals += 1
            }
        }
        guard j == n, digits > 0, mantissa < (1 << 24) else { return nil }
        return Float(mantissa) / powersOfTen[decimals]
    }

    /// 10^0 ... 10^10, each exact in `Float`.
    static let powersOfTen: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

    public static func string(_ field: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: field, as: UTF8.self)
    }

    /// Latin-1 bytes to a String: each byte is the code point of the same value.
    public static func latin1(_ field: UnsafeBufferPointer<UInt8>) -> String {
        if !field.contains(where: { $0 >= 0x80 }) { return String(decoding: field, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in field { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    /// A field as the user should see it in an error message: decoded, trimmed to 40 characters.
    public static func quoted(_ field: UnsafeBufferPointer<UInt8>) -> String {
        let text = TextEncoding.detect(field).decode(field)
        return "'" + (text.count > 40 ? text.prefix(40) + "…" : text) + "'"
    }
}

/// How a metadata file's bytes become text. MovieLens 100k and 1M ship Latin-1,
/// the CSV releases and RecBole UTF-8; `detect` tells them apart, since Latin-1
/// text with accents is (practically) never valid UTF-8.
public enum TextEncoding: Sendable {
    case utf8, latin1

    public static func detect(_ bytes: UnsafeBufferPointer<UInt8>) -> TextEncoding {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return .utf8 }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return .utf8
            case .error: return .latin1
            }
        }
    }

    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        switch self {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .latin1: return TextScan.latin1(bytes)
        }
    }
}
