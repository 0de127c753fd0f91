@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg
@testable import EmbeddingTrain
@testable import EmbeddingAnalysis
@testable import EmbeddingRender
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// An SVG read back with Foundation's XML parser: every element with its
/// attributes, text and enclosing group classes. A parse error fails the test.
final class ParsedSVG: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
        var groups: [String]
        var children: [String] = []
        var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }
    }

    var elements: [Element] = []
    private var stack: [Int] = []
    private(set) var error: Error?

    init(_ text: String) throws {
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        if !parser.parse() { throw parser.parserError ?? error ?? EmbtoolError.data("SVG did not parse") }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        let groups = stack.compactMap { elements[$0].name == "g" ? elements[$0].attributes["class"] : nil }
        if let parent = stack.last { elements[parent].children.append(name) }
        elements.append(Element(name: name, attributes: attributes, groups: groups))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let top = stack.last { elements[top].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    func all(_ name: String, inGroup group: String? = nil, class cls: String? = nil) -> [Element] {
        elements.filter { e in
            e.name == name && (group.map { e.groups.contains($0) } ?? true) && (cls.map { e.classes.contains($0) } ?? true)
        }
    }

    func number(_ e: Element, _ key: String) -> Double { Double(e.attributes[key] ?? "") ?? .nan }
}

final class ScatterPlotTests: XCTestCase {
    func plot(points n: Int, labels: Int, width: Double = 1000, height: Double = 760, seed: UInt64 = 5) -> ScatterPlot {
        var rng = SplitMix64(seed: seed)
        let points = (0..<n).map { i -> ScatterPlot.Point in
            // A dense core and a sparser halo, like a PCA of item vectors.
            let spread: Float = i % 5 == 0 ? 1.6 : 1
            return ScatterPlot.Point(x: Double(rng.nextGaussian() * spread), y: Double(rng.nextGaussian() * spread * 0.6),
                                     group: i % 4 == 3 ? nil : i % 4, label: "Movie number \(i) (19\(50 + i % 50))",
                                     tooltip: "Movie number \(i)")
        }
        var plot = ScatterPlot(title: "t", xTitle: "PC1 (12.3 % of variance)", yTitle: "PC2 (4.5 % of variance)", points: points)
        plot.labelled = Array(0..<labels)
        plot.groups = ["Action", "Comedy", "Drama"]
        plot.width = width
        plot.height = height
        return plot
    }

    /// The label boxes as drawn: the text's position and the font's metrics.
    func labelBoxes(_ svg: ParsedSVG) -> [(text: String, box: Box)] {
        svg.all("text", inGroup: "labels", class: "lbl").map { e in
            let size = 11.0
            let width = TextMetrics.width(e.text, size: size)
            return (e.text, Box(x: svg.number(e, "x"), y: svg.number(e, "y") - TextMetrics.ascent * size, width: width, height: size))
        }
    }

    func checkNoOverlapInside(_ svg: ParsedSVG, canvas: Box, file: StaticString = #filePath, line: UInt = #line) {
        let boxes = labelBoxes(svg)
        let frame = svg.all("rect", class: "frame").first.map { Box(x: svg.number($0, "x"), y: svg.number($0, "y"), width: svg.number($0, "width"), height: svg.number($0, "height")) }
        for (i, a) in boxes.enumerated() {
            XCTAssertTrue(canvas.contains(a.box), "label '\(a.text)' leaves the canvas", file: file, line: line)
            if let frame { XCTAssertTrue(frame.contains(a.box), "label '\(a.text)' leaves the plot", file: file, line: line) }
            for b in boxes[(i + 1)...] {
                XCTAssertEqual(a.box.overlap(b.box), 0, "labels '\(a.text)' and '\(b.text)' overlap", file: file, line: line)
            }
        }
    }

    func testEveryPointDrawnAndLabelsPlacedWithoutOverlap() throws {
        let rendered = plot(points: 1000, labels: 50).render()
        let svg = try ParsedSVG(rendered.svg)
        XCTAssertEqual(svg.elements.first?.name, "svg")
        XCTAssertEqual(svg.elements.first?.attributes["version"], "1.1")
        let points = svg.all("circle", inGroup: "points")
        XCTAssertEqual(points.count, 1000)
        XCTAssertTrue(points.allSatisfy { $0.children == ["title"] }, "every point has a tooltip")
        XCTAssertTrue(rendered.dropped.isEmpty, "room for 50 labels on a 1000×760 canvas")
        XCTAssertEqual(svg.all("text", inGroup: "labels", class: "lbl").count, 50)
        checkNoOverlapInside(svg, canvas: Box(x: 0, y: 0, width: 1000, height: 760))
        // The legend names the three groups and the grey rest.
        let legend = svg.all("text", inGroup: "legend", class: "le").map(\.text)
        XCTAssertEqual(legend.count, 4)
        XCTAssertTrue(legend[0].hasPrefix("Action ("))
        // Axis titles as given.
        XCTAssertTrue(svg.all("text", class: "at").map(\.text).contains("PC1 (12.3 % of variance)"))
    }

    func testCrowdedPlotDropsLabelsRatherThanOverlapping() throws {
        let rendered = plot(points: 200, labels: 120, width: 420, height: 320).render()
        let svg = try ParsedSVG(rendered.svg)
        XCTAssertFalse(rendered.dropped.isEmpty)
        XCTAssertEqual(svg.all("text", inGroup: "labels", class: "lbl").count, 120 - rendered.dropped.count)
        // The most important labels are the ones kept.
        XCTAssertFalse(rendered.dropped.contains(0))
        checkNoOverlapInside(svg, canvas: Box(x: 0, y: 0, width: 420, height: 320))
    }

    func testTextIsEscapedIntoValidXML() throws {
        let nasty = "T&J <\"q\"> 'n' \u{1}Ü"
        var plot = ScatterPlot(title: "A & B", xTitle: "x < y", yTitle: "y > x",
                               points: [.init(x: 0, y: 0, label: nasty, tooltip: nasty), .init(x: 1, y: 1, label: "b", tooltip: "b")])
        plot.labelled = [0]
        let svg = try ParsedSVG(plot.render().svg)
        XCTAssertEqual(svg.all("text", inGroup: "labels", class: "lbl").first?.text, "T&J <\"q\"> 'n' Ü")
        XCTAssertEqual(svg.all("title", inGroup: "points").map(\.text).sorted(), ["T&J <\"q\"> 'n' Ü", "b"])
        XCTAssertEqual(svg.all("title").first?.text, "A & B")
    }

    func testDegenerateInputsStillRender() throws {
        // One point, all points equal: the axes still get a range.
        let same = ScatterPlot(title: "t", xTitle: "x", yTitle: "y", points: Array(repeating: .init(x: 2, y: 2, label: "a", tooltip: "a"), count: 3))
        XCTAssertEqual(try ParsedSVG(same.render().svg).all("circle", inGroup: "points").count, 3)
    }
}

final class ChartTests: XCTestCase {
    func testBarChartDrawsEveryBarFromZero() throws {
        let chart = BarChart(title: "Bias", valueTitle: "bias", sections: [
            .init(title: "Lowest", bars: [.init(label: "A", value: -0.5, note: "mean 1.9"), .init(label: "B & C", value: -0.1)], color: 4),
            .init(title: "Highest", bars: [.init(label: "D", value: 0.7, note: "mean 4.4")], color: 0),
        ])
        let svg = try ParsedSVG(chart.render())
        let bars = svg.all("rect", class: "bar")
        XCTAssertEqual(bars.count, 3)
        XCTAssertEqual(svg.all("text", class: "bl").map(\.text), ["A", "B & C", "D"])
        // Bars share the zero line: negatives end there, positives start there.
        let zero = svg.number(bars[0], "x") + svg.number(bars[0], "width")
        XCTAssertEqual(svg.number(bars[1], "x") + svg.number(bars[1], "width"), zero, accuracy: 0.02)
        XCTAssertEqual(svg.number(bars[2], "x"), zero, accuracy: 0.02)
        // Lengths are proportional to the values.
        XCTAssertEqual(svg.number(bars[0], "width") / svg.number(bars[2], "width"), 0.5 / 0.7, accuracy: 0.01)
    }

    func testLineChartHasASeriesPerLineAndAMarkerPerPoint() throws {
        let chart = LineChart(title: "Loss", xTitle: "epoch", yTitle: "MSE", series: [
            .init(name: "train", points: [(1, 0.9), (2, 0.7), (3, 0.5)]),
            .init(name: "valid", points: [(1, 0.95), (2, 0.88), (3, 0.86)], dashed: true),
        ])
        let svg = try ParsedSVG(chart.render())
        XCTAssertEqual(svg.all("polyline").count, 2)
        XCTAssertEqual(svg.all("circle", class: "mk").count, 6)
        XCTAssertEqual(svg.all("text", class: "le").map(\.text), ["train", "valid"])
    }

    func testNiceTicks() {
        for (lo, hi) in [(0.0, 1.0), (-1.234, 0.987), (3.0, 3.0), (0.0001, 0.00093), (-250.0, 12_000.0)] {
            let t = Ticks(low: lo, high: hi, target: 6)
            XCTAssertLessThanOrEqual(t.low, min(lo, hi))
            XCTAssertGreaterThanOrEqual(t.high, max(lo, hi))
            let mantissa = t.step / pow(10, log10(t.step).rounded(.down))
            XCTAssertTrue([1, 2, 5].contains { abs($0 - mantissa) < 1e-9 }, "step \(t.step)")
            XCTAssertTrue((3...12).contains(t.values.count), "\(t.values.count) ticks for \(lo)...\(hi)")
        }
        XCTAssertEqual(Ticks(low: -1, high: 1, target: 5).label(-0.5), "−0.5")
    }
}

final class TableTests: XCTestCase {
    func testCSVQuotesOnlyWhatRFC4180Requires() {
        var table = CSVTable(header: ["label", "value"])
        table.appendRow(["plain", "1"])
        table.appendRow(["Empire Strikes Back, The (1980)", "2"])
        table.appendRow(["say \"hi\"", "line\nbreak"])
        XCTAssertEqual(String(decoding: table.bytes, as: UTF8.self),
                       "label,value\nplain,1\n\"Empire Strikes Back, The (1980)\",2\n\"say \"\"hi\"\"\",\"line\nbreak\"\n")
        XCTAssertEqual(CSVTable.number(nil), "")
        XCTAssertEqual(CSVTable.number(.nan), "")
        XCTAssertEqual(CSVTable.number(0.25), "0.25")
    }

    func testTextTableAlignsColumns() {
        var t = TextTable(["#", "title"], alignments: [.right, .left])
        t.append(["1", "A"])
        t.append(["10", "Bb"])
        XCTAssertEqual(t.render(indent: ""), " #  title\n 1  A\n10  Bb")
        XCTAssertEqual(fixed(-0.0001, 3), "0.000")
        XCTAssertEqual(fixed(nil), "–")
    }

    func testTextMetricsAreDejaVuSans() {
        // DejaVu Sans advances: 'W' 989, 'i' 278 thousandths of an em.
        XCTAssertEqual(TextMetrics.width("W", size: 10), 9.89, accuracy: 1e-9)
        XCTAssertEqual(TextMetrics.width("ii", size: 10), 5.56, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(TextMetrics.width(TextMetrics.truncate(String(repeating: "long ", count: 40), size: 11, maxWidth: 100), size: 11), 100)
    }
}
