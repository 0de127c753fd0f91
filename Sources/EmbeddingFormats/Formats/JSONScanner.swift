import EmbeddingCore

/// A strict, bounds-checked reader of JSON text (RFC 8259) over bytes, for the
/// JSON inside model files: a safetensors header, and the arrays of labels its
/// metadata holds as JSON strings.
///
/// Foundation's `JSONSerialization` and `JSONDecoder` build a boxed value per
/// element; on a 59k-item / 162k-user model file (a 6 MB header) that was
/// 0.4 s of a 0.6 s start. This reader makes a `String` per string and
/// nothing else. It accepts exactly JSON: strings without raw control
/// characters and with valid escapes (surrogate pairs joined, a lone surrogate
/// refused), valid UTF-8, nesting at most `maxDepth` deep. Numbers are read as
/// integers only, since no value embtool reads here is fractional.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    var position: Int
    /// Deep enough for any header; shallow enough that hostile nesting cannot exhaust the stack.
    static let maxDepth = 64

    /// Why the text is not what the caller asked for, with the byte offset.
    struct Failure: Error {
        var message: String
        var offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        position = 0
    }

    func fail(_ message: String) -> Failure { Failure(message: message, offset: position) }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-space byte, not consumed; nil at the end.
    mutating func peek() -> UInt8? {
        skipSpace()
        return position < bytes.count ? bytes[position] : nil
    }

    mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    /// Consumes `byte` if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    /// Succeeds when only white space remains.
    mutating func end() throws {
        guard peek() == nil else { throw fail("unexpected text after the JSON value") }
    }

    // MARK: Strings

    /// A string's text, its escapes decoded.
    mutating func string() throws -> String {
        var scratch: [UInt8] = []
        return try string(scratch: &scratch)
    }

    /// `string()`, decoding escapes into `scratch` (reused across calls, so a
    /// long run of escaped strings allocates one buffer).
    ///
    /// Two passes: the first finds the closing quote (stepping over each
    /// escape's next byte) and notes whether there are escapes or non-ASCII
    /// bytes; the second, only when there are escapes, decodes them into a
    /// buffer as long as the raw text, which no decoding can outgrow.
    mutating func string(scratch: inout [UInt8]) throws -> String {
        let token = try stringToken()
        return try decode(token, scratch: &scratch)
    }

    /// Where a string's text lies (between its quotes) and what decoding it needs.
    struct StringToken {
        var text: Range<Int>
        /// The text holds escapes.
        var escaped: Bool
        /// Every byte outside the escapes is ASCII.
        var ascii: Bool
    }

    /// Reads past a string, checking its bytes but decoding nothing (escapes
    /// are checked when it is decoded).
    mutating func stringToken() throws -> StringToken {
        try expect(UInt8(ascii: "\""))
        let start = position
        var escaped = false, ascii = true
        while true {
            guard position < bytes.count else { throw fail("unterminated string") }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                escaped = true
                position += 2
                continue
            }
            guard b >= 0x20 else { throw fail("control character in a string") }
            if b >= 0x80 { ascii = false }
            position += 1
        }
        position += 1
        return StringToken(text: start..<(position - 1), escaped: escaped, ascii: ascii)
    }

    /// The text of a string read by `stringToken()` from these bytes.
    func decode(_ token: StringToken, scratch: inout [UInt8]) throws -> String {
        let (start, end) = (token.text.lowerBound, token.text.upperBound)
        guard token.escaped else { return try text(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), ascii: token.ascii) }
        if scratch.count < end - start { scratch = [UInt8](repeating: 0, count: end - start) }
        let written = try scratch.withUnsafeMutableBufferPointer { out in try unescape(from: start, to: end, into: out) }
        return try scratch.withUnsafeBytes { try text(UnsafeRawBufferPointer(rebasing: $0[0..<written]), ascii: token.ascii) }
    }

    /// Decodes the escapes of the raw string text `bytes[from..<to]` into `out`
    /// (at least `to - from` long), returning the number of bytes written.
    func unescape(from: Int, to end: Int, into out: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        var i = from, w = 0
        func failure(_ message: String) -> Failure { Failure(message: message, offset: i) }
        func hex4() throws -> UInt32 {
            guard i + 4 <= end else { throw failure("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
                default: throw failure("invalid \\u escape")
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
        while i < end {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else {
                out[w] = b
                w += 1
                i += 1
                continue
            }
            guard i + 1 < end else { throw failure("truncated escape") }
            let e = bytes[i + 1]
            i += 2
            let simple: UInt8?
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = e
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "r"): simple = 0x0D
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "u"): simple = nil
            default: throw failure("invalid escape in a string")
            }
            if let simple {
                out[w] = simple
                w += 1
                continue
            }
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard i + 1 < end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate in a \\u escape")
                }
                i += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("unpaired surrogate in a \\u escape")
            }
            // 6 (or 12) escape bytes become at most 3 (or 4) UTF-8 bytes: `out` cannot overflow.
            for unit in UTF8.encode(Unicode.Scalar(scalar)!)! {
                out[w] = unit
                w += 1
            }
        }
        return w
    }

    /// The string of UTF-8 `raw`: validated unless every byte that was not
    /// part of an escape is ASCII (`ascii`), since escapes decode to valid
    /// UTF-8 and the faster non-validating initialiser is then exact.
    func text(_ raw: UnsafeRawBufferPointer, ascii: Bool) throws -> String {
        let units = raw.bindMemory(to: UInt8.self)
        if ascii { return String(decoding: units, as: UTF8.self) }
        guard let s = String(validating: units, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }

    // MARK: Numbers

    /// An integer (`-?(0|[1-9][0-9]*)`), refusing fractions, exponents and
    /// values outside `Int`.
    mutating func integer() throws -> Int {
        skipSpace()
        let negative = take(UInt8(ascii: "-"))
        let start = position
        var value = 0
        while position < bytes.count, case let b = bytes[position], b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
            guard !o1 && !o2 else { throw fail("integer out of range") }
            value = next
            position += 1
        }
        guard position > start else { throw fail("expected an integer") }
        guard position - start == 1 || bytes[start] != UInt8(ascii: "0") else { throw fail("integer with a leading zero") }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw fail("expected an integer, found a fraction or exponent")
        }
        return negative ? -value : value
    }

    // MARK: Containers

    /// `[ e, e, ... ]`, each element read by `element`.
    mutating func array<T>(_ element: (inout JSONScanner) throws -> T) throws -> [T] {
        try expect(UInt8(ascii: "["))
        var out: [T] = []
        if take(UInt8(ascii: "]")) { return out }
        repeat {
            out.append(try element(&self))
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return out
    }

    /// `{ "key": value, ... }`: `member` is called with each key and must read its value.
    mutating func object(_ member: (String, inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if take(UInt8(ascii: "}")) { return }
        repeat {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try member(key, &self)
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Reads past one value of any kind, checking that it is valid JSON.
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) deep") }
        switch peek() {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "["): _ = try array { try $0.skipValue(depth: depth + 1) }
        case UInt8(ascii: "{"): try object { _, s in try s.skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    /// True when the next value is `null`, which is consumed.
    mutating func null() -> Bool {
        guard peek() == UInt8(ascii: "n"), position + 4 <= bytes.count,
              bytes[position + 1] == UInt8(ascii: "u"), bytes[position + 2] == UInt8(ascii: "l"), bytes[position + 3] == UInt8(ascii: "l") else { return false }
        position += 4
        return true
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard position + n <= bytes.count,
              UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)]).elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: n)) else {
            throw fail("invalid literal")
        }
        position += n
    }

    /// Any JSON number (only skipped, never converted).
    mutating func number() throws {
        skipSpace()
        let start = position
        func digits() -> Int {
            let s = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9") { position += 1 }
            return position - s
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: "-") { position += 1 }
        let intStart = position
        let intDigits = digits()
        guard intDigits > 0, intDigits == 1 || bytes[intStart] != UInt8(ascii: "0") else { position = start; throw fail("invalid value") }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("invalid number") }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) { position += 1 }
            guard digits() > 0 else { throw fail("invalid number") }
        }
    }
}

extension JSONScanner {
    /// The whole of `text` as one value read by `read`, nothing after it.
    static func parse<T>(_ text: String, _ read: (inout JSONScanner) throws -> T) throws -> T {
        var text = text
        return try text.withUTF8 { utf8 in
            var s = JSONScanner(UnsafeRawBufferPointer(utf8))
            let value = try read(&s)
            try s.end()
            return value
        }
    }

    /// A JSON array of strings: `["a", "b"]`.
    static func strings(_ text: String) throws -> [String] {
        try parse(text) { s in
            var scratch: [UInt8] = []
            return try s.array { try $0.string(scratch: &scratch) }
        }
    }

    /// A JSON array of arrays of strings: `[["a"], []]`.
    static func stringLists(_ text: String) throws -> [[String]] {
        try parse(text) { s in
            var scratch: [UInt8] = []
            return try s.array { try $0.array { try $0.string(scratch: &scratch) } }
        }
    }

    /// A JSON array of integers: `[1, 2]`.
    static func integers(_ text: String) throws -> [Int] {
        try parse(text) { s in try s.array { try $0.integer() } }
    }
}
