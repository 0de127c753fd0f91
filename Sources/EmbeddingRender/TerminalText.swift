/// Text from other people's files made safe to show on a terminal, and its
/// width there.
///
/// A label is data: one holding `ESC ] 0 ; … BEL` would retitle the window,
/// `ESC [ 31 m` recolour everything after it, U+202E (right-to-left override)
/// reorder the rest of the line, a newline forge a row. `escape` shows such
/// characters as GNU `ls` does (`\e`, `\n`, `\u{202E}`), so they are visible
/// and inert. Only output for a person goes through it: `--json`, `--csv` and
/// model files keep labels exact.
public enum TerminalText {
    /// `text` with every C0/C1 control character (U+0000–001F, U+007F,
    /// U+0080–009F), bidirectional formatting character (U+061C, U+200E/200F,
    /// U+202A–202E, U+2066–2069) and line/paragraph separator (U+2028/2029)
    /// written as an escape: `\a \b \t \n \v \f \r \e`, else `\u{XXXX}`.
    /// Everything else, backslashes included, is kept, so escaping is
    /// idempotent and ordinary titles are unchanged.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard isUnsafe(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar.value {
            case 0x07: out += "\\a"
            case 0x08: out += "\\b"
            case 0x09: out += "\\t"
            case 0x0A: out += "\\n"
            case 0x0B: out += "\\v"
            case 0x0C: out += "\\f"
            case 0x0D: out += "\\r"
            case 0x1B: out += "\\e"
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u{" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "}"
            }
        }
        return out
    }

    /// Whether `scalar` is one `escape` rewrites.
    @inline(__always)
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Columns `text` takes on a terminal, as `wcswidth` counts them: 2 for an
    /// East Asian wide or fullwidth character or an emoji shown as a picture,
    /// 0 for a character made only of combining marks or format characters,
    /// 1 otherwise. Meant for escaped text (no control characters).
    public static func width(_ text: String) -> Int {
        // ASCII: one column per byte.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.count }
        return text.reduce(0) { $0 + width($1) }
    }

    /// Columns of one character (grapheme cluster): see `width(_: String)`.
    public static func width(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if scalars.allSatisfy(isZeroWidth) { return 0 }
        if isWide(first.value) || first.properties.isEmojiPresentation { return 2 }
        // Text-style emoji made pictures by VS16 (U+FE0F) take two columns.
        if first.properties.isEmoji && scalars.contains("\u{FE0F}") { return 2 }
        return 1
    }

    private static func isZeroWidth(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return s.value == 0x200B || (0x1160...0x11FF).contains(s.value)  // zero width space; Hangul medial/final jamo
        }
    }

    /// East Asian Width W or F (Unicode 15 EastAsianWidth.txt, its large blocks).
    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
             0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF, 0x1F200...0x1F2FF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
