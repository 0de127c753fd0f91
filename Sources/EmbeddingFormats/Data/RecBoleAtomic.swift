import Foundation
import EmbeddingCore

/// RecBole's atomic files: `NAME.inter` (interactions) and `NAME.item` (items),
/// tab-separated, with typed headers such as `user_id:token`, `rating:float`,
/// `movie_title:token_seq` (a `token_seq` is space-separated tokens).
///
/// Titles follow MovieLens' convention: when the item file has a year column,
/// the title becomes `Toy Story (1995)`, so that RecBole's ml-100k keys by title
/// exactly as GroupLens' does. RecBole writes `unkonwn` (sic) for a missing
/// title or year.
public enum RecBoleAtomic {
    static let missing = "unkonwn"

    /// Reads the folder at `path` (its one `*.inter` file) or the `.inter` file at `path`.
    public static func load(path: String) throws -> RawRatings {
        var isDir: ObjCBool = false
        let isFolder = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
        let interPath = isFolder ? try interFile(in: path) : path
        let stem = (interPath as NSString).deletingPathExtension
        var raw = RawRatings()
        raw.name = (stem as NSString).lastPathComponent
        let itemPath = stem + ".item"
        if FileManager.default.fileExists(atPath: itemPath) {
            raw.catalog = try readItems(itemPath)
        }
        let parser = try DelimitedRatings.parser(path: interPath, separator: [0x09], columns: nil)
        guard parser.dataStart > 0 else {
            throw EmbtoolError.data("\(interPath):1: expected a RecBole header such as 'user_id:token<TAB>item_id:token<TAB>rating:float'")
        }
        try parser.read(into: &raw)
        try DatasetLoader.checkCatalog(raw, parser: parser, itemFile: (itemPath as NSString).lastPathComponent)
        raw.genreNames = genreNames(raw.catalog)
        raw.sources = [interPath] + (raw.catalog.isEmpty ? [] : [itemPath])
        return raw
    }

    /// The one `*.inter` file in `folder`.
    static func interFile(in folder: String) throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let inter = names.filter { $0.hasSuffix(".inter") }.sorted()
        guard inter.count == 1 else {
            throw EmbtoolError.noInput(inter.isEmpty ? "\(folder): no *.inter file"
                : "\(folder): several *.inter files (\(inter.joined(separator: ", "))); name one")
        }
        return folder + "/" + inter[0]
    }

    /// MovieLens-style title from RecBole's title and year fields.
    static func title(_ title: String, year: String?) -> String {
        if title == missing { return "unknown" }
        guard let year, !year.isEmpty, year != missing else { return title }
        return "\(title) (\(year))"
    }

    /// One item row of a `.item` file, by column name.
    struct ItemRow {
        var id: String
        var title: String?
        var year: String?
        var classes: [String]
    }

    /// Calls `body` per item row; columns are found by name (`item_id`, `*title*`, `release_year`, `class`/`genre`).
    static func forEachItem(_ path: String, _ body: (Int, ItemRow) throws -> Void) throws {
        let file = try MetadataFile(path)
        var idColumn: Int?, titleColumn: Int?, yearColumn: Int?, classColumn: Int?
        var sawHeader = false
        try file.forEachLine { lineNo, line in
            let f = TextScan.fields(line, separator: 0x09).map { file.text($0) }
            if !sawHeader {
                sawHeader = true
                let names = f.map(normalizedColumnName)
                idColumn = names.firstIndex(of: "itemid")
                titleColumn = names.firstIndex { $0.contains("title") || $0 == "name" }
                yearColumn = names.firstIndex { $0 == "releaseyear" || $0 == "year" }
                classColumn = names.firstIndex { $0 == "class" || $0 == "genre" || $0 == "genres" }
                guard idColumn != nil else {
                    throw file.error(lineNo, "expected a RecBole header naming 'item_id:token'")
                }
                return
            }
            guard let idColumn, idColumn < f.count, !f[idColumn].isEmpty else {
                throw file.error(lineNo, "no item_id field")
            }
            func field(_ c: Int?) -> String? { c.flatMap { $0 < f.count ? f[$0] : nil } }
            let classes = field(classColumn).map { $0.split(separator: " ").map(String.init) } ?? []
            try body(lineNo, ItemRow(id: f[idColumn], title: field(titleColumn), year: field(yearColumn), classes: classes))
        }
    }

    static func readItems(_ path: String) throws -> [String: ItemMeta] {
        var catalog: [String: ItemMeta] = [:]
        try forEachItem(path) { _, row in
            guard let t = row.title else { return }
            let year = row.year.flatMap { Int($0) }
            catalog[canonicalId(row.id)] = ItemMeta(title: title(t, year: row.year), genres: row.classes, year: year)
        }
        return catalog
    }
}
