import Foundation
import EmbeddingCore

/// A small SVG 1.1 writer: elements are appended as text, every attribute
/// value and text node is XML-escaped, and numbers are written short.
/// Styling goes in one `<style>` sheet so that a thousand points stay small.
public struct SVGDocument {
    public let width: Double
    public let height: Double
    private var body = ""
    private var style: String
    private var title: String
    private var desc: String

    public init(width: Double, height: Double, title: String, description: String = "", style: String = "") {
        self.width = width
        self.height = height
        self.title = title
        self.desc = description
        self.style = style
    }

    /// The complete document: XML declaration, doctype-free SVG 1.1 root,
    /// `<title>`/`<desc>` for accessibility, the style sheet, then the body.
    public func render() -> String {
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(SVGDocument.n(width))" height="\(SVGDocument.n(height))" viewBox="0 0 \(SVGDocument.n(width)) \(SVGDocument.n(height))">
        <title>\(XML.escape(title))</title>\n
        """
        if !desc.isEmpty { out += "<desc>\(XML.escape(desc))</desc>\n" }
        if !style.isEmpty { out += "<style type=\"text/css\"><![CDATA[\n\(style)\n]]></style>\n" }
        out += body
        out += "</svg>\n"
        return out
    }

    /// Appends `<name attrs>` with `text` as content (escaped), or self-closed
    /// when there is none; `children` is raw markup already built with this API.
    public mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String>, text: String? = nil, children: String? = nil) {
        body += SVGDocument.markup(name, attributes, text: text, children: children) + "\n"
    }

    public static func markup(_ name: String, _ attributes: KeyValuePairs<String, String>, text: String? = nil, children: String? = nil) -> String {
        var s = "<\(name)"
        for (k, v) in attributes where !v.isEmpty { s += " \(k)=\"\(XML.escape(v))\"" }
        if text == nil && children == nil { return s + "/>" }
        s += ">"
        if let text { s += XML.escape(text) }
        if let children { s += children }
        return s + "</\(name)>"
    }

    public mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String>) {
        var s = "<\(name)"
        for (k, v) in attributes where !v.isEmpty { s += " \(k)=\"\(XML.escape(v))\"" }
        body += s + ">\n"
    }

    public mutating func close(_ name: String) { body += "</\(name)>\n" }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, class cls: String) {
        element("line", ["x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "class": cls])
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, class cls: String, fill: String = "", tooltip: String? = nil) {
        let tip = tooltip.map { SVGDocument.markup("title", [:], text: $0) }
        element("rect", ["x": n(x), "y": n(y), "width": n(max(0, w)), "height": n(max(0, h)), "class": cls, "fill": fill], children: tip)
    }

    /// Text at baseline `y`; `anchor` is start, middle or end.
    public mutating func text(_ s: String, _ x: Double, _ y: Double, class cls: String, anchor: String = "start", rotate: Double? = nil) {
        let transform = rotate.map { "rotate(\(n($0)) \(n(x)) \(n(y)))" } ?? ""
        element("text", ["x": n(x), "y": n(y), "class": cls, "text-anchor": anchor == "start" ? "" : anchor, "transform": transform], text: s)
    }

    private func n(_ v: Double) -> String { SVGDocument.n(v) }

    /// A coordinate with at most two decimals and no trailing zeros.
    public static func n(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        if r == r.rounded() && abs(r) < 1e15 { return String(Int(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}

/// XML text and attribute escaping. Characters XML 1.0 forbids (C0 controls
/// other than tab, newline, carriage return) are dropped: no escape makes
/// them legal, and a label from a data file may hold one.
public enum XML {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Advance widths of DejaVu Sans (the font the charts ask for first, and the
/// one Debian's Chromium falls back to), in thousandths of an em, for
/// U+0020…U+007E and U+00A0…U+00FF; other characters count as a wide 0.75 em.
/// Label placement needs text extents before any renderer has seen the text.
/// Verdana, the next font asked for, has nearly the same metrics; Arial and
/// Helvetica are narrower, so boxes sized for DejaVu Sans never undersize.
public enum TextMetrics {
    static let ascii: [UInt16] = [
        318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636,
        636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
        603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
        634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
    ]
    static let latin1: [UInt16] = [
        318, 401, 636, 636, 636, 636, 337, 500, 500, 1000, 471, 612, 838, 361, 1000, 500, 500, 838, 401, 401, 500, 636, 636, 318,
        500, 401, 471, 612, 969, 969, 969, 531, 684, 684, 684, 684, 684, 684, 974, 698, 632, 632, 632, 632, 295, 295, 295, 295,
        775, 748, 787, 787, 787, 787, 787, 838, 787, 732, 732, 732, 732, 611, 605, 630, 613, 613, 613, 613, 613, 613, 982, 550,
        615, 615, 615, 615, 278, 278, 278, 278, 612, 634, 612, 612, 612, 612, 612, 838, 612, 634, 634, 634, 634, 592, 635, 592,
    ]
    /// Bold text is about 9 % wider than regular in DejaVu Sans.
    static let boldFactor = 1.09

    public static let fontFamily = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif"
    /// Above and below the baseline, in em: ascenders and descenders.
    public static let ascent = 0.76
    public static let descent = 0.24

    /// Width of `s` set in `size`-pixel text.
    public static func width(_ s: String, size: Double, bold: Bool = false) -> Double {
        var units = 0
        for scalar in s.unicodeScalars {
            let v = Int(scalar.value)
            switch v {
            case 0x20...0x7E: units += Int(ascii[v - 0x20])
            case 0xA0...0xFF: units += Int(latin1[v - 0xA0])
            case 0x300...0x36F: break   // combining marks take no advance
            default: units += 750
            }
        }
        return Double(units) / 1000 * size * (bold ? boldFactor : 1)
    }

    /// `s` shortened with an ellipsis to fit `maxWidth`.
    public static func truncate(_ s: String, size: Double, maxWidth: Double) -> String {
        guard width(s, size: size) > maxWidth else { return s }
        var chars = Array(s)
        while !chars.isEmpty && width(String(chars) + "…", size: size) > maxWidth { chars.removeLast() }
        while chars.last == " " { chars.removeLast() }
        return String(chars) + "…"
    }
}

/// An axis-aligned rectangle in canvas pixels (y down).
public struct Box: Equatable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }

    /// Area shared with `other` (0 when apart or only touching).
    public func overlap(_ other: Box) -> Double {
        let w = min(maxX, other.maxX) - max(x, other.x)
        let h = min(maxY, other.maxY) - max(y, other.y)
        return w > 0 && h > 0 ? w * h : 0
    }

    public func contains(_ other: Box) -> Bool {
        other.x >= x && other.y >= y && other.maxX <= maxX && other.maxY <= maxY
    }

    /// Whether a disc of radius `r` at (cx, cy) touches the box.
    public func touches(cx: Double, cy: Double, r: Double) -> Bool {
        let dx = cx - min(max(cx, x), maxX), dy = cy - min(max(cy, y), maxY)
        return dx * dx + dy * dy < r * r
    }

    /// Whether the segment from `a` to `b` passes through the box's interior
    /// (Liang–Barsky clipping; touching an edge does not count).
    public func intersects(segmentFrom a: (x: Double, y: Double), to b: (x: Double, y: Double)) -> Bool {
        let dx = b.x - a.x, dy = b.y - a.y
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, a.x - x), (dx, maxX - a.x), (-dy, a.y - y), (dy, maxY - a.y)] {
            if p == 0 {
                if q <= 0 { return false }
            } else {
                let t = q / p
                if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
            }
        }
        return t1 - t0 > 1e-9
    }

    public func insetBy(_ d: Double) -> Box { Box(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
}
