import Foundation

/// Binary data as text for the explorer page: base 85, five characters per
/// four bytes (base64 needs 5⅓), so a 59k-item page is 6 % smaller.
///
/// The alphabet is printable ASCII without the characters a JSON string in an
/// HTML script element would have to escape (`"`, `\`) or that the page
/// escapes anyway (`<`, `>`, `&`): each costs six bytes as `\u003c`. Each
/// group of four bytes, read big-endian as `v`, is written as the five digits
/// of `v` in base 85, most significant first; a last group of `m < 4` bytes is
/// padded with zeros and written as its first `m + 1` digits. The page's
/// decoder is `Linalg.base85Bytes` in `linalg.js`.
public enum Base85 {
    /// The 85 digits, in order: ASCII 33…126 without `"`, `&`, `<`, `>`, `\`, taken from the start.
    public static let alphabet: [UInt8] = Array(
        (33...126).map(UInt8.init).filter { !"\"&<>\\".utf8.contains($0) }.prefix(85))

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 3) / 4 * 5)
        var i = 0
        while i < input.count {
            let m = min(4, input.count - i)
            var v: UInt32 = 0
            for j in 0..<4 { v = v << 8 | UInt32(j < m ? input[i + j] : 0) }
            var digits = [UInt8](repeating: 0, count: 5)
            for d in stride(from: 4, through: 0, by: -1) { digits[d] = alphabet[Int(v % 85)]; v /= 85 }
            out.append(contentsOf: digits.prefix(m + 1))
            i += 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Little-endian bytes of `values`, encoded.
    public static func encode<T: FixedWidthInteger>(littleEndian values: [T]) -> String {
        encode(values.map(\.littleEndian).withUnsafeBufferPointer { Data(buffer: $0) })
    }
}
