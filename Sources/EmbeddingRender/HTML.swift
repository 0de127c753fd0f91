/// Escaping for text placed in HTML documents.
public enum HTML {
    /// Text for an element's content or a quoted attribute value: the XML
    /// escapes, which HTML reads the same way.
    public static func escape(_ s: String) -> String { XML.escape(s) }

    /// JSON made safe to sit inside `<script type="application/json">…</script>`.
    ///
    /// A script element's content ends at the first `</script`, whatever JSON
    /// says, and `<!--` switches the parser into an escaped state; U+2028 and
    /// U+2029 end lines in older JavaScript parsers. Each of `<`, `>`, `&`,
    /// U+2028 and U+2029 becomes its `\uXXXX` escape. That keeps the JSON valid
    /// and equal in value, because in JSON these characters can only occur inside
    /// strings, where the escape means the same character. `JSON.parse` of the
    /// element's `textContent` then returns exactly the encoded value.
    public static func scriptSafeJSON(_ json: String) -> String {
        var out = String.UnicodeScalarView()
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            switch scalar.value {
            case 0x3C: out.append(contentsOf: "\\u003c".unicodeScalars)
            case 0x3E: out.append(contentsOf: "\\u003e".unicodeScalars)
            case 0x26: out.append(contentsOf: "\\u0026".unicodeScalars)
            case 0x2028: out.append(contentsOf: "\\u2028".unicodeScalars)
            case 0x2029: out.append(contentsOf: "\\u2029".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
