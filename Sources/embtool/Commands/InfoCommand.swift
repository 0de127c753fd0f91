import ArgumentParser
import EmbeddingKit
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "List a factor file's tensors and what embtool uses them as.",
        discussion: """
        Prints every tensor (or array, or column block) in the file with its shape and stored \
        type, and which one embtool reads as item factors, item biases, user factors and user \
        biases, then the model's metadata: vocabulary, rating range, training recipe.

        Examples:
          embtool info --model models/fastai_with_opt.pth
          embtool info --model als/ --json            (Spark ALS itemFactors/ + userFactors/)
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions

    @Flag(name: .long, help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let m = try model.load(data: data)
        guard let source = m.source else { throw EmbtoolError(.software, "the model was not read from a file") }
        let report = Report(m, source)
        if json {
            try printJSON(report)
        } else {
            print(report.text)
        }
    }

    struct Tensor: Encodable {
        var name: String
        var shape: [Int]
        var dtype: String
        @NullWhenAbsent var role: String?
    }

    /// Unknown values are `null`, not missing keys, so every report has the same shape.
    struct Metadata: Encodable {
        var dataset: String
        var itemKey: String
        @NullWhenAbsent var yRange: [Float]?
        var itemsWithCounts: Int
        var ratings: Int
        var genres: Bool
        var recipe: [String: String]
        var dataSHA256: String
    }

    struct Report: Encodable {
        var path: String
        var format: String
        @NullWhenAbsent var naming: String?
        var tensors: [Tensor]
        var roles: [String: String?]
        var items: Int
        @NullWhenAbsent var users: Int?
        var factors: Int
        var labels: String
        var metadata: Metadata
        var nonFinite: [String: Int]
        /// Objects of a pickled Learner read as inert placeholders and not used, by class.
        var ignoredObjects: [String: Int]
        var notes: [String]

        init(_ m: FactorModel, _ s: FactorSource) {
            path = s.path
            format = s.format
            naming = s.naming
            tensors = s.entries.map { Tensor(name: $0.name, shape: $0.shape, dtype: $0.dtype, role: $0.role?.rawValue) }
            roles = [:]
            for role in [FactorSource.Role.itemFactors, .itemBias, .userFactors, .userBias] {
                roles[role.rawValue.replacingOccurrences(of: " ", with: "_")] = .some(s.entry(for: role)?.name)
            }
            items = m.itemCount
            users = m.userFactors?.rows
            factors = m.factors
            let meta = m.meta
            if meta.itemKeys.isEmpty {
                labels = "row numbers"
            } else if meta.itemLabels == meta.itemKeys {
                labels = "keys from the file"
            } else {
                labels = "vocabulary of \(meta.dataset) (keyed by \(meta.itemKey.rawValue))"
            }
            metadata = Metadata(dataset: meta.dataset, itemKey: meta.itemKey.rawValue, yRange: meta.yRange.map { [$0.low, $0.high] },
                                itemsWithCounts: meta.itemCounts.filter { $0 > 0 }.count, ratings: meta.itemCounts.reduce(0, +),
                                genres: meta.itemGenres.contains { !$0.isEmpty }, recipe: meta.recipe.flattened, dataSHA256: meta.dataChecksum)
            nonFinite = Dictionary(uniqueKeysWithValues: s.nonFinite.map { ($0.key.rawValue, $0.value) })
            ignoredObjects = s.inertObjects
            notes = s.notes
        }

        var text: String {
            var lines = ["\(path): \(format)" + (naming.map { ", \($0) names" } ?? "")]
            let rows = tensors.map { t in [t.name, t.shape.isEmpty ? "scalar" : t.shape.map(String.init).joined(separator: " x "), t.dtype, t.role ?? ""] }
            let header = ["tensor", "shape", "dtype", "used as"]
            let widths = (0..<4).map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
            for row in [header] + rows {
                lines.append("  " + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
            }
            lines.append("items: \(items) rows x \(factors) factors; labels: \(labels)"
                + (labels == "row numbers" ? " (pass --data or --vocab to name them)" : ""))
            if let users { lines.append("users: \(users) rows") }
            lines.append("rating range: " + (metadata.yRange.map { "sigmoid_range(x, \($0[0]), \($0[1]))" } ?? "none (raw dot product)"))
            if metadata.itemsWithCounts > 0 {
                lines.append("counts: \(metadata.ratings) ratings over \(metadata.itemsWithCounts) items" + (metadata.genres ? ", genres known" : ""))
            }
            if !metadata.recipe.isEmpty {
                lines.append("recipe: " + metadata.recipe.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            }
            if !metadata.dataSHA256.isEmpty { lines.append("data sha256: \(metadata.dataSHA256)") }
            for (role, n) in nonFinite.sorted(by: { $0.key < $1.key }) { lines.append("warning: \(n) NaN or infinite values in \(role)") }
            for note in notes { lines.append("note: \(note)") }
            if !ignoredObjects.isEmpty {
                let byCount = ignoredObjects.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                let shown = byCount.prefix(8).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                lines.append("ignored: \(ignoredObjects.values.reduce(0, +)) pickled objects of \(ignoredObjects.count) classes, kept inert: \(shown)"
                    + (byCount.count > 8 ? ", … (--json lists all)" : ""))
            }
            return lines.joined(separator: "\n")
        }
    }
}
