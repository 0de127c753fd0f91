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
    // An empty regular file is not read: Foundation's Data(contentsOf:) leaks a
    // page-sized buffer on one (found by fuzz/run's leak checker).
    var info = stat()
    if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 {
        if allowEmpty { return Data() }
        throw EmbtoolError.data("\(path): file is empty")
    }
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

    /// What a number field may hold besides finite numbers.
    public enum NonFinite: Sendable {
        /// `nan`, `inf`, `infinity` (any case, signed) and numbers too large for
        /// a Float (which become infinity) are read: factor files may hold them,
        /// and the loaders count and report them.
        case accept
        /// Only finite numbers are read (ratings): the others are nil.
        case reject
    }

    /// The one number parser of every text reader: a decimal with optional
    /// sign, fraction and exponent, surrounded by optional spaces or tabs (and a
    /// carriage return at the end); nil for anything else, and for non-finite
    /// values unless `nonFinite` is `.accept`. The result is correctly rounded,
    /// equal to `Float(text)`, so `"\(x)"` written by the exporters reads back as `x`.
    @inline(__always)
    public static func float(_ bytes: UnsafeRawBufferPointer, nonFinite: NonFinite) -> Float? {
        var lo = 0, hi = bytes.count
        while lo < hi && (bytes[lo] == 0x20 || bytes[lo] == 0x09) { lo += 1 }
        while hi > lo && (bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 || bytes[hi - 1] == 0x0D) { hi -= 1 }
        guard lo < hi else { return nil }
        let field = UnsafeRawBufferPointer(rebasing: bytes[lo..<hi])
        // Swift's own parser: locale-independent, correctly rounded, knows nan and inf.
        guard let v = fastFloat(field) ?? Float(String(decoding: field, as: UTF8.self)) else { return nil }
        return nonFinite == .accept || v.isFinite ? v : nil
    }

    /// What is wrong with a field that `float(_:nonFinite: .reject)` refused,
    /// as the end of an error message after the quoted field: a decimal beyond
    /// Float's range (`1e308`) is "out of range", `nan`/`inf` "not a finite
    /// number", anything else "not a number".
    public static func notANumber(_ field: UnsafeRawBufferPointer) -> String {
        guard let v = float(field, nonFinite: .accept) else { return "is not a number" }
        let written = String(decoding: field, as: UTF8.self).lowercased()
        if v.isInfinite && !written.contains("inf") {
            return "is out of range (a rating is a 32-bit float, at most ±3.4e38)"
        }
        return "is not a finite number"
    }

    /// A finite number of a ratings field (see `float(_:nonFinite:)`).
    public static func float(_ field: UnsafeBufferPointer<UInt8>) -> Float? {
        float(UnsafeRawBufferPointer(field), nonFinite: .reject)
    }

    /// `float(_:nonFinite:)` of a decoded field (an unquoted CSV cell, a header probe).
    public static func float(_ text: String, nonFinite: NonFinite) -> Float? {
        var text = text
        return text.withUTF8 { float(UnsafeRawBufferPointer($0), nonFinite: nonFinite) }
    }

    static let doublePowersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    /// Clinger's fast path: `[-+]digits[.digits][e[-+]digits]` with at most 19
    /// significant digits and 10^|e| <= 10^22. With mantissa m <= 2^53, m and 10^e
    /// are exact doubles and one IEEE multiply or divide rounds correctly; rounding
    /// that double to Float is then correct unless it sits exactly on a Float
    /// midpoint. A larger m (NumPy's `%.18e` has 19 digits) rounds twice, so the
    /// double may be off by two units in its last place: it is used only when no
    /// Float midpoint lies within three units of it. Otherwise nil, and the slow
    /// path decides.
    @inline(__always)
    static func fastFloat(_ f: UnsafeRawBufferPointer) -> Float? {
        var i = 0
        let n = f.count
        var negative = false
        if f[0] == 0x2D || f[0] == 0x2B { negative = f[0] == 0x2D; i = 1 }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0
        var sawDigit = false
        while i < n, f[i] &- 0x30 < 10 {
            if mantissa != 0 || f[i] != 0x30 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(f[i] &- 0x30)
            sawDigit = true
            i += 1
        }
        if i < n && f[i] == 0x2E {
            i += 1
            while i < n, f[i] &- 0x30 < 10 {
                if mantissa != 0 || f[i] != 0x30 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(f[i] &- 0x30)
                exponent -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit, digits <= 19 else { return nil }
        if i < n && (f[i] == 0x65 || f[i] == 0x45) {
            i += 1
            var expNegative = false
            if i < n && (f[i] == 0x2D || f[i] == 0x2B) { expNegative = f[i] == 0x2D; i += 1 }
            var e = 0, expDigits = 0
            while i < n, f[i] &- 0x30 < 10, expDigits < 5 { e = e * 10 + Int(f[i] &- 0x30); i += 1; expDigits += 1 }
            guard expDigits > 0 else { return nil }
            exponent += expNegative ? -e : e
        }
        guard i == n, exponent >= -22, exponent <= 22 else { return nil }
        let d = exponent < 0 ? Double(mantissa) / doublePowersOfTen[-exponent] : Double(mantissa) * doublePowersOfTen[exponent]
        // A Float midpoint has bit 28 of the double's 52-bit fraction set and bits 0-27 clear.
        let distance = abs(Int(d.bitPattern & 0x1FFF_FFFF) - 0x1000_0000)
        guard distance > (mantissa <= 1 << 53 ? 0 : 3) else { return nil }
        let v = Float(d)
        return negative ? -v : v
    }

    /// 10^0 ... 10^10, each exact in `Float`: the ratings loader's fused fast path divides by them.
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
