import Foundation
import EmbeddingCore

/// Lines over a shared x axis as SVG 1.1, e.g. training and validation loss
/// per epoch: nice ticks and grid (a linear or log₁₀ x axis), one colour per
/// series (dashed on request), a dot with a tooltip at every data point
/// (unless `dots` is off), labelled `marks`, and a legend on the right.
public struct LineChart {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool
        /// A dot with a tooltip at every point; off for dense curves.
        public var dots: Bool
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, dots: Bool = true) {
            self.name = name; self.points = points; self.dashed = dashed; self.dots = dots
        }
    }

    /// A labelled point drawn over the lines, e.g. a suggested learning rate.
    public struct Mark: Sendable {
        public var x: Double, y: Double
        public var label: String
        public init(x: Double, y: Double, label: String) { self.x = x; self.y = y; self.label = label }
    }

    public var title: String
    public var subtitle = ""
    public var xTitle, yTitle: String
    public var series: [Series]
    /// Labelled points over the lines, in the legend after the series.
    public var marks: [Mark] = []
    /// A log₁₀ x axis with a tick at every power of ten; x values must be positive.
    public var logX = false
    public var width = 760.0
    public var height = 460.0

    public init(title: String, xTitle: String, yTitle: String, series: [Series]) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.series = series
    }

    public func render() -> String {
        let legend = series.map(\.name) + marks.enumerated().map { "\($0.offset + 1) \($0.element.label)" }
        let legendWidth = min(220, (legend.map { TextMetrics.width($0, size: 12) }.max() ?? 0) + 44)
        let top = subtitle.isEmpty ? 52.0 : 68.0
        let plot = Box(x: 70, y: top, width: width - 70 - 20 - legendWidth, height: height - top - 58)
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let xAxis = logX ? XAxis.decades(low: xs.min() ?? 1, high: xs.max() ?? 10)
                         : XAxis.linear(Ticks(low: xs.min() ?? 0, high: xs.max() ?? 1, target: 8))
        let yTicks = Ticks(low: ys.min() ?? 0, high: ys.max() ?? 1, target: 6)
        let linearX = LinearScale(domain: (xAxis.low, xAxis.high), range: (plot.x, plot.maxX))
        let x = { (v: Double) in linearX(logX ? log10(v) : v) }
        let y = LinearScale(domain: (yTicks.low, yTicks.high), range: (plot.maxY, plot.y))

        var svg = SVGDocument(width: width, height: height, title: title, description: subtitle, style: style())
        svg.rect(0, 0, width, height, class: "bg")
        svg.text(title, plot.x, 28, class: "title")
        if !subtitle.isEmpty { svg.text(subtitle, plot.x, 48, class: "sub") }
        for (v, label) in xAxis.ticks {
            svg.line(linearX(v), plot.y, linearX(v), plot.maxY, class: "gl")
            svg.text(label, linearX(v), plot.maxY + 18, class: "tl", anchor: "middle")
        }
        for v in yTicks.values {
            svg.line(plot.x, y(v), plot.maxX, y(v), class: "gl")
            svg.text(yTicks.label(v), plot.x - 8, y(v) + 4, class: "tl", anchor: "end")
        }
        svg.rect(plot.x, plot.y, plot.width, plot.height, class: "frame")
        svg.text(xTitle, plot.x + plot.width / 2, height - 16, class: "at", anchor: "middle")
        svg.text(yTitle, 18, plot.y + plot.height / 2, class: "at", anchor: "middle", rotate: -90)

        for (k, s) in series.enumerated() {
            let path = s.points.map { "\(SVGDocument.n(x($0.x))),\(SVGDocument.n(y($0.y)))" }.joined(separator: " ")
            svg.element("polyline", ["points": path, "class": "ln c\(k % Palette.categorical.count)" + (s.dashed ? " dash" : "")])
            for p in s.points where s.dots {
                svg.element("circle", ["cx": SVGDocument.n(x(p.x)), "cy": SVGDocument.n(y(p.y)), "r": "3", "class": "mk f\(k % Palette.categorical.count)"],
                            children: SVGDocument.markup("title", [:], text: "\(s.name): \(xTitle) \(String(format: "%.4g", p.x)), \(yTitle) \(String(format: "%.4g", p.y))"))
            }
            let ly = plot.y + 14 + Double(k) * 20
            svg.line(plot.maxX + 16, ly - 4, plot.maxX + 36, ly - 4, class: "ln c\(k % Palette.categorical.count)" + (s.dashed ? " dash" : ""))
            svg.text(s.name, plot.maxX + 42, ly, class: "le")
        }
        for (k, m) in marks.enumerated() {
            let tip = SVGDocument.markup("title", [:], text: "\(m.label): \(xTitle) \(String(format: "%.4g", m.x)), \(yTitle) \(String(format: "%.4g", m.y))")
            svg.element("circle", ["cx": SVGDocument.n(x(m.x)), "cy": SVGDocument.n(y(m.y)), "r": "5", "class": "mark"], children: tip)
            svg.text(String(k + 1), x(m.x), y(m.y) - 9, class: "ml", anchor: "middle")
            let ly = plot.y + 14 + Double(series.count + k) * 20
            svg.element("circle", ["cx": SVGDocument.n(plot.maxX + 26), "cy": SVGDocument.n(ly - 4), "r": "5", "class": "mark"])
            svg.text("\(k + 1) \(m.label)", plot.maxX + 42, ly, class: "le")
        }
        return svg.render()
    }

    /// The x axis: its domain in plotted units (log₁₀ x on a log axis) and its labelled ticks there.
    struct XAxis {
        var low: Double, high: Double
        var ticks: [(Double, String)]

        static func linear(_ t: Ticks) -> XAxis {
            XAxis(low: t.low, high: t.high, ticks: t.values.map { ($0, t.label($0)) })
        }

        /// Whole decades around `low...high` (both positive), a tick labelled 1e-7, 1e-6, … at each.
        static func decades(low: Double, high: Double) -> XAxis {
            let lo = log10(min(low, high)).rounded(.down), hi = max(lo + 1, log10(max(low, high)).rounded(.up))
            let ticks = stride(from: lo, through: hi, by: 1).map { e in (e, e == 0 ? "1" : e == 1 ? "10" : "1e\(Int(e))".replacingOccurrences(of: "-", with: "−")) }
            return XAxis(low: lo, high: hi, ticks: ticks)
        }
    }

    func style() -> String {
        var css = """
        svg { font-family: \(TextMetrics.fontFamily); }
        .bg { fill: #FFFFFF; }
        .frame { fill: none; stroke: #BBBBBB; stroke-width: 1; }
        .gl { stroke: \(Palette.grid); stroke-width: 1; }
        .tl { font-size: 11px; fill: \(Palette.muted); }
        .at { font-size: 13px; fill: \(Palette.ink); }
        .title { font-size: 17px; font-weight: bold; fill: \(Palette.ink); }
        .sub { font-size: 12px; fill: \(Palette.muted); }
        .le { font-size: 12px; fill: \(Palette.ink); }
        .ln { fill: none; stroke-width: 2; stroke-linejoin: round; }
        .dash { stroke-dasharray: 6 4; }
        .mk { stroke: #FFFFFF; stroke-width: 1; }
        .mark { fill: #D55E00; stroke: #FFFFFF; stroke-width: 1.5; }
        .ml { font-size: 11px; font-weight: bold; fill: #D55E00; }
        """
        for (i, c) in Palette.categorical.enumerated() { css += "\n.c\(i) { stroke: \(c); }\n.f\(i) { fill: \(c); }" }
        return css
    }
}
