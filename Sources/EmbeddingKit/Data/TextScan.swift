import Foundation

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

/// Splits a byte buffer into lines (LF or CRLF) and fields, without copying.
public enum TextScan {
    /// Calls `body(lineNumber, line)` for every non-blank line; line numbers start at 1.
    public static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>,
                                   _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        var start = 0, lineNumber = 0
        let n = bytes.count
        while start < n {
            lineNumber += 1
            var end = start
            if let p = memchr(base + start, 0x0A, n - start) {
                end = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
            } else {
                end = n
            }
            var stop = end
            if stop > start && base[stop - 1] == 0x0D { stop -= 1 }
            if stop > start {
                try body(lineNumber, UnsafeBufferPointer(start: base + start, count: stop - start))
            }
            start = end + 1
        }
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
    public static func float(_ field: UnsafeBufferPointer<UInt8>) -> Float? {
        // Fast path: digits[.digits], the shape of every rating file.
        var i = 0, n = field.count
        while i < n && field[i] == 0x20 { i += 1 }
        while n > i && field[n - 1] == 0x20 { n -= 1 }
        guard i < n else { return nil }
        var intPart: Int64 = 0, frac: Int64 = 0, scale: Float = 1, digits = 0
        var j = i
        while j < n, field[j] &- 0x30 < 10, digits < 9 { intPart = intPart * 10 + Int64(field[j] &- 0x30); j += 1; digits += 1 }
        if j < n && field[j] == 0x2E {
            j += 1
            var fd = 0
            while j < n, field[j] &- 0x30 < 10, fd < 7 { frac = frac * 10 + Int64(field[j] &- 0x30); scale *= 10; j += 1; fd += 1 }
        }
        if j == n && digits > 0 { return Float(intPart) + Float(frac) / scale }
        // General path: strtof on a NUL-terminated copy.
        let text = String(decoding: UnsafeBufferPointer(rebasing: field[i..<n]), as: UTF8.self)
        guard let v = Float(text), v.isFinite else { return nil }
        return v
    }

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
}
