import EmbeddingCore
/// A labelled scatter plot as SVG 1.1: fastbook's PCA picture of movies, at
/// publication quality. Every point is drawn with a tooltip; the chosen ones
/// are labelled by `LabelPlacement`, so labels neither overlap each other
/// nor leave the plot; axes carry nice ticks, light grid lines and titles;
/// points may be coloured by group, with a legend.
public struct ScatterPlot {
    public struct Point: Sendable {
        public var x: Double, y: Double
        /// Index into `groups` (colour and legend); nil for "other" (grey).
        public var group: Int?
        /// The text shown when the point is labelled.
        public var label: String
        /// Hover text (the SVG `<title>` of the point).
        public var tooltip: String
        public init(x: Double, y: Double, group: Int? = nil, label: String, tooltip: String) {
            self.x = x; self.y = y; self.group = group; self.label = label; self.tooltip = tooltip
        }
    }

    public var title: String
    public var subtitle: String = ""
    public var xTitle, yTitle: String
    public var points: [Point]
    /// Indices of the points to label, most important first.
    public var labelled: [Int] = []
    /// Group names in colour order; `otherName` names the grey points.
    public var groups: [String] = []
    public var otherName = "other"
    public var width = 1000.0
    public var height = 760.0
    public var labelSize = 11.0
    /// Labels longer than this many pixels are shortened with an ellipsis.
    public var maxLabelWidth = 190.0

    public init(title: String, xTitle: String, yTitle: String, points: [Point]) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.points = points
    }

    /// The drawing and where its labels went.
    public struct Rendered {
        public var svg: String
        /// Frame of the plotting area, in canvas pixels.
        public var plotArea: Box
        /// Box of each label drawn, in `labelled` order of the kept ones.
        public var labelBoxes: [Box]
        /// Points (indices) whose label found no room.
        public var dropped: [Int]
    }

    static let pointRadius = 3.0
    static let labelledRadius = 4.0

    public func render() -> Rendered {
        let hasLegend = !groups.isEmpty
        let legendWidth = hasLegend ? legendColumnWidth() : 0
        let top = subtitle.isEmpty ? 52.0 : 68.0
        let plot = Box(x: 74, y: top, width: width - 74 - 24 - legendWidth, height: height - top - 62)

        let xs = points.map(\.x), ys = points.map(\.y)
        let (xScale, xTicks) = axis(xs, pixels: (plot.x, plot.maxX))
        let (yScale, yTicks) = axis(ys, pixels: (plot.maxY, plot.y))

        var svg = SVGDocument(width: width, height: height, title: title, description: subtitle, style: style())
        svg.rect(0, 0, width, height, class: "bg")

        // Grid, zero lines, frame.
        svg.open("g", ["class": "grid"])
        for v in xTicks.values where (plot.x...plot.maxX).contains(xScale(v)) { svg.line(xScale(v), plot.y, xScale(v), plot.maxY, class: v == 0 ? "zero" : "gl") }
        for v in yTicks.values where (plot.y...plot.maxY).contains(yScale(v)) { svg.line(plot.x, yScale(v), plot.maxX, yScale(v), class: v == 0 ? "zero" : "gl") }
        svg.close("g")
        svg.rect(plot.x, plot.y, plot.width, plot.height, class: "frame")

        // Tick labels and axis titles.
        svg.open("g", ["class": "ticks"])
        for v in xTicks.values where (plot.x...plot.maxX).contains(xScale(v)) {
            svg.line(xScale(v), plot.maxY, xScale(v), plot.maxY + 5, class: "tk")
            svg.text(xTicks.label(v), xScale(v), plot.maxY + 18, class: "tl", anchor: "middle")
        }
        for v in yTicks.values where (plot.y...plot.maxY).contains(yScale(v)) {
            svg.line(plot.x - 5, yScale(v), plot.x, yScale(v), class: "tk")
            svg.text(yTicks.label(v), plot.x - 8, yScale(v) + 4, class: "tl", anchor: "end")
        }
        svg.close("g")
        svg.text(xTitle, plot.x + plot.width / 2, height - 18, class: "at", anchor: "middle")
        svg.text(yTitle, 20, plot.y + plot.height / 2, class: "at", anchor: "middle", rotate: -90)
        svg.text(title, plot.x, 28, class: "title")
        if !subtitle.isEmpty { svg.text(subtitle, plot.x, 48, class: "sub") }

        // Points: grey first, then groups, labelled points on top.
        let labelledSet = Set(labelled)
        let px = points.map { xScale($0.x) }, py = points.map { yScale($0.y) }
        let order = points.indices.sorted { a, b in
            let ka = (labelledSet.contains(a) ? 2 : points[a].group == nil ? 0 : 1)
            let kb = (labelledSet.contains(b) ? 2 : points[b].group == nil ? 0 : 1)
            return ka != kb ? ka < kb : a < b
        }
        svg.open("g", ["class": "points"])
        for i in order {
            let p = points[i]
            let r = labelledSet.contains(i) ? ScatterPlot.labelledRadius : ScatterPlot.pointRadius
            let cls = "pt " + (p.group.map { "g\($0)" } ?? "go") + (labelledSet.contains(i) ? " hl" : "")
            svg.element("circle", ["cx": SVGDocument.n(px[i]), "cy": SVGDocument.n(py[i]), "r": SVGDocument.n(r), "class": cls],
                        children: SVGDocument.markup("title", [:], text: p.tooltip))
        }
        svg.close("g")

        // Labels.
        let ascent = TextMetrics.ascent * labelSize
        let texts = labelled.map { TextMetrics.truncate(points[$0].label, size: labelSize, maxWidth: maxLabelWidth) }
        let requests = zip(labelled, texts).map { i, text in
            LabelPlacement.Request(x: px[i], y: py[i], radius: ScatterPlot.labelledRadius,
                                   width: TextMetrics.width(text, size: labelSize) + 2, height: labelSize + 1)
        }
        let markers = points.indices.map {
            labelledSet.contains($0)
                ? LabelPlacement.Marker(x: px[$0], y: py[$0], radius: ScatterPlot.labelledRadius + 1, weight: 8)
                : LabelPlacement.Marker(x: px[$0], y: py[$0], radius: ScatterPlot.pointRadius, weight: 0.25)
        }
        let placements = LabelPlacement.place(requests, markers: markers, frame: plot.insetBy(2))
        var boxes: [Box] = [], dropped: [Int] = []
        svg.open("g", ["class": "leaders"])
        for (k, placement) in placements.enumerated() {
            guard let placement, placement.leader else { continue }
            let i = labelled[k], b = placement.box
            // From the marker's rim to the nearest point of the label's box.
            let tx = min(max(px[i], b.x), b.maxX), ty = min(max(py[i], b.y), b.maxY)
            let d = ((tx - px[i]) * (tx - px[i]) + (ty - py[i]) * (ty - py[i])).squareRoot()
            guard d > ScatterPlot.labelledRadius + 1 else { continue }
            let f = (ScatterPlot.labelledRadius + 0.5) / d
            svg.line(px[i] + (tx - px[i]) * f, py[i] + (ty - py[i]) * f, tx, ty, class: "ld")
        }
        svg.close("g")
        svg.open("g", ["class": "labels"])
        for (k, placement) in placements.enumerated() {
            guard let placement else { dropped.append(labelled[k]); continue }
            let b = placement.box
            // A white halo under the text keeps it legible over points and grid.
            svg.text(texts[k], b.x + 1, b.y + 0.5 + ascent, class: "halo")
            svg.text(texts[k], b.x + 1, b.y + 0.5 + ascent, class: "lbl")
            boxes.append(b)
        }
        svg.close("g")

        if hasLegend { drawLegend(&svg, x: plot.maxX + 20, y: plot.y) }
        return Rendered(svg: svg.render(), plotArea: plot, labelBoxes: boxes, dropped: dropped)
    }

    /// Scale and ticks for one axis: the data range padded by 4 % each side.
    func axis(_ values: [Double], pixels: (Double, Double)) -> (LinearScale, Ticks) {
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if lo == hi { lo -= 1; hi += 1 }
        let pad = (hi - lo) * 0.04
        lo -= pad; hi += pad
        return (LinearScale(domain: (lo, hi), range: pixels), Ticks(low: lo, high: hi, target: 7))
    }

    func legendEntries() -> [(name: String, cls: String, count: Int)] {
        var counts = [Int](repeating: 0, count: groups.count + 1)
        for p in points { counts[p.group ?? groups.count] += 1 }
        var entries = groups.enumerated().map { ($0.element, "g\($0.offset)", counts[$0.offset]) }
        if counts[groups.count] > 0 { entries.append((otherName, "go", counts[groups.count])) }
        return entries
    }

    func legendColumnWidth() -> Double {
        let widest = legendEntries().map { TextMetrics.width("\($0.name) (\($0.count))", size: 12) }.max() ?? 0
        return min(220, max(90, widest + 36))
    }

    func drawLegend(_ svg: inout SVGDocument, x: Double, y: Double) {
        svg.open("g", ["class": "legend"])
        svg.text("Legend", x, y + 10, class: "lt")
        for (k, entry) in legendEntries().enumerated() {
            let cy = y + 30 + Double(k) * 20
            svg.element("circle", ["cx": SVGDocument.n(x + 5), "cy": SVGDocument.n(cy - 4), "r": "5", "class": "pt \(entry.cls)"])
            svg.text("\(entry.name) (\(entry.count))", x + 16, cy, class: "le")
        }
        svg.close("g")
    }

    func style() -> String {
        var css = """
        svg { font-family: \(TextMetrics.fontFamily); }
        .bg { fill: #FFFFFF; }
        .frame { fill: none; stroke: #BBBBBB; stroke-width: 1; }
        .gl { stroke: \(Palette.grid); stroke-width: 1; }
        .zero { stroke: #C8C8C8; stroke-width: 1; stroke-dasharray: 4 3; }
        .tk { stroke: #999999; stroke-width: 1; }
        .tl { font-size: 11px; fill: \(Palette.muted); }
        .at { font-size: 13px; fill: \(Palette.ink); }
        .title { font-size: 17px; font-weight: bold; fill: \(Palette.ink); }
        .sub { font-size: 12px; fill: \(Palette.muted); }
        .pt { fill-opacity: 0.6; stroke: #FFFFFF; stroke-width: 0.6; }
        .pt.hl { fill-opacity: 1; stroke: #333333; stroke-width: 0.8; }
        .go { fill: \(groups.isEmpty ? "#4C72B0" : Palette.other); }
        .ld { stroke: #555555; stroke-width: 0.8; }
        .lbl { font-size: \(SVGDocument.n(labelSize))px; fill: \(Palette.ink); }
        .halo { font-size: \(SVGDocument.n(labelSize))px; fill: #FFFFFF; stroke: #FFFFFF; stroke-width: 3px; stroke-linejoin: round; stroke-opacity: 0.85; }
        .lt { font-size: 12px; font-weight: bold; fill: \(Palette.ink); }
        .le { font-size: 12px; fill: \(Palette.ink); }
        """
        for g in groups.indices { css += "\n.g\(g) { fill: \(Palette.categorical[g % Palette.categorical.count]); }" }
        return css
    }
}
