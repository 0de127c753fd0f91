import Foundation
import EmbeddingCore

/// Horizontal bars in titled sections, as SVG 1.1: the picture for a bias
/// ranking (the lowest and the highest ends), readable at a glance — label
/// on the left, a bar from zero, its value at the bar's end, and a grey note
/// column on the right (e.g. the mean rating and count beside the bias).
public struct BarChart {
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        public var note: String
        public var tooltip: String
        /// Half-width of an error bar drawn across the bar's end (`value ± error`); nil draws none.
        public var error: Double?
        public init(label: String, value: Double, note: String = "", tooltip: String = "", error: Double? = nil) {
            self.label = label; self.value = value; self.note = note; self.tooltip = tooltip; self.error = error
        }
    }

    public struct Section: Sendable {
        public var title: String
        public var bars: [Bar]
        /// Index into `Palette.categorical`.
        public var color: Int
        public init(title: String, bars: [Bar], color: Int) {
            self.title = title; self.bars = bars; self.color = color
        }
    }

    public var title: String
    public var subtitle = ""
    public var valueTitle: String
    public var noteTitle = ""
    /// printf format of the value written past each bar: signed (a bias) by default, "%.0f" for counts.
    public var valueFormat = "%+.2f"
    public var sections: [Section]
    public var width = 900.0

    public init(title: String, valueTitle: String, sections: [Section]) {
        self.title = title
        self.valueTitle = valueTitle
        self.sections = sections
    }

    static let row = 20.0, barHeight = 13.0, sectionGap = 30.0, fontSize = 12.0

    public func render() -> String {
        let labels = sections.flatMap { $0.bars.map { TextMetrics.truncate($0.label, size: BarChart.fontSize, maxWidth: 300) } }
        let labelWidth = (labels.map { TextMetrics.width($0, size: BarChart.fontSize) }.max() ?? 0) + 14
        let notes = sections.flatMap { $0.bars.map(\.note) } + [noteTitle]
        let noteWidth = (notes.map { TextMetrics.width($0, size: 11) }.max() ?? 0) + 16
        let top = subtitle.isEmpty ? 84.0 : 104.0
        let left = 16 + labelWidth
        let right = width - 16 - noteWidth
        let barCount = Double(sections.reduce(0) { $0 + $1.bars.count })
        let plotHeight = barCount * BarChart.row + Double(sections.count) * BarChart.sectionGap
        let height = top + plotHeight + 16

        let values: [Double] = sections.flatMap { $0.bars.flatMap { [$0.value - ($0.error ?? 0), $0.value + ($0.error ?? 0)] } } + [0]
        let ticks = Ticks(low: values.min()!, high: values.max()!, target: 6)
        // Value text sits past the bar's end: leave room for it on both sides.
        let valueRoom = 44.0
        let scale = LinearScale(domain: (ticks.low, ticks.high), range: (left + valueRoom, right - valueRoom))

        var svg = SVGDocument(width: width, height: height, title: title, description: subtitle, style: style())
        svg.rect(0, 0, width, height, class: "bg")
        svg.text(title, 16, 28, class: "title")
        if !subtitle.isEmpty { svg.text(subtitle, 16, 48, class: "sub") }
        let axisY = top - 8
        svg.text(valueTitle, (scale(ticks.low) + scale(ticks.high)) / 2, axisY - 22, class: "at", anchor: "middle")
        if !noteTitle.isEmpty { svg.text(noteTitle, width - 16, axisY - 22, class: "nt", anchor: "end") }
        for v in ticks.values {
            svg.line(scale(v), axisY, scale(v), top + plotHeight, class: v == 0 ? "zero" : "gl")
            svg.text(ticks.label(v), scale(v), axisY - 5, class: "tl", anchor: "middle")
        }

        var y = top
        var k = 0
        for section in sections {
            svg.text(section.title, 16, y + 16, class: "st")
            y += BarChart.sectionGap
            for bar in section.bars {
                let x0 = scale(0), x1 = scale(bar.value)
                let cy = y + BarChart.row / 2
                svg.text(labels[k], left - 10, cy + 4, class: "bl", anchor: "end")
                svg.rect(min(x0, x1), cy - BarChart.barHeight / 2, abs(x1 - x0), BarChart.barHeight,
                         class: "bar c\(section.color)", tooltip: bar.tooltip.isEmpty ? nil : bar.tooltip)
                // The value's text starts past the bar's end, or past its error bar.
                var end = x1
                if let e = bar.error, e > 0 {
                    let (lo, hi) = (scale(bar.value - e), scale(bar.value + e))
                    svg.line(lo, cy, hi, cy, class: "err")
                    svg.line(lo, cy - 4, lo, cy + 4, class: "err")
                    svg.line(hi, cy - 4, hi, cy + 4, class: "err")
                    end = bar.value < 0 ? lo : hi
                }
                let valueText = String(format: valueFormat, bar.value).replacingOccurrences(of: "-", with: "−")
                svg.text(valueText, bar.value < 0 ? end - 4 : end + 4, cy + 4, class: "bv", anchor: bar.value < 0 ? "end" : "start")
                svg.text(bar.note, width - 16, cy + 4, class: "nt", anchor: "end")
                y += BarChart.row
                k += 1
            }
        }
        return svg.render()
    }

    func style() -> String {
        var css = """
        svg { font-family: \(TextMetrics.fontFamily); }
        .bg { fill: #FFFFFF; }
        .title { font-size: 17px; font-weight: bold; fill: \(Palette.ink); }
        .sub { font-size: 12px; fill: \(Palette.muted); }
        .st { font-size: 13px; font-weight: bold; fill: \(Palette.ink); }
        .at { font-size: 12px; fill: \(Palette.ink); }
        .tl { font-size: 11px; fill: \(Palette.muted); }
        .gl { stroke: \(Palette.grid); stroke-width: 1; }
        .zero { stroke: #888888; stroke-width: 1; }
        .bl { font-size: 12px; fill: \(Palette.ink); }
        .bv { font-size: 11px; fill: \(Palette.muted); }
        .nt { font-size: 11px; fill: \(Palette.muted); }
        .bar { fill-opacity: 0.85; }
        .err { stroke: \(Palette.ink); stroke-width: 1.2; }
        """
        for (i, c) in Palette.categorical.enumerated() { css += "\n.c\(i) { fill: \(c); }" }
        return css
    }
}
