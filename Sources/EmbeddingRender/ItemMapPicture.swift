import EmbeddingAnalysis
import EmbeddingCore
import EmbeddingFormats

/// How an `ItemMap` is shown: the SVG scatter (every point with a tooltip, the
/// most-rated labelled without overlaps, coloured by `colouring`) and the CSV
/// table `label,count,x,y`.
extension ItemMap {
    /// "Star Wars (1977) · 583 ratings · PC1 0.123, PC2 −0.456": a point's tooltip.
    public func tooltip(_ p: Int) -> String {
        let ratings = counts[p].map { " · \($0) ratings" } ?? ""
        return "\(labels[p])\(ratings) · \(xAxis.name) \(fixed(x[p], 3)), \(yAxis.name) \(fixed(y[p], 3))"
    }

    /// The picture's subtitle: what is drawn and how to read it.
    public var subtitle: String {
        let labelled = labelCount == 0 ? "" : hasCounts ? " · the \(labelCount) most-rated labelled" : " · \(labelCount) labelled"
        return "\(dataset.isEmpty ? "model" : dataset): \(selection)\(labelled); hover a point for its title"
    }

    public func scatterPlot(title: String) -> ScatterPlot {
        let points = (0..<count).map { p in
            ScatterPlot.Point(x: Double(x[p]), y: Double(y[p]), group: colouring?.group[p], label: labels[p], tooltip: tooltip(p))
        }
        var plot = ScatterPlot(title: title, xTitle: xAxis.annotatedTitle, yTitle: yAxis.annotatedTitle, points: points)
        plot.subtitle = subtitle
        plot.labelled = Array(0..<labelCount)
        if let colouring {
            plot.groups = colouring.names
            plot.otherName = colouring.otherName
        }
        return plot
    }

    /// `label,count,x,y`, one row per point, numbers in shortest round-trip form.
    public var csvTable: CSVTable {
        var table = CSVTable(header: ["label", "count", "x", "y"])
        for p in 0..<count {
            table.appendRow([labels[p], counts[p].map(String.init) ?? "", CSVTable.number(x[p]), CSVTable.number(y[p])])
        }
        return table
    }
}
