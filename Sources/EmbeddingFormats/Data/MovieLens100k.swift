import Foundation
import EmbeddingCore

/// GroupLens' MovieLens 100k folder: `u.data` (user, item, rating, timestamp;
/// tabs), `u.item` (`id|title|release date|video date|IMDb URL|` + 19 genre
/// flags, Latin-1), `u.genre` (`genre|index`, the flags' names).
public enum MovieLens100k {
    /// The 19 genre flags of `u.item`, in order, as `u.genre` names them.
    public static let genres = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
        "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
        "War", "Western",
    ]

    static let layout = RatingsLayout(separator: [0x09], columns: [.user, .item, .rating, .timestamp])

    /// Reads the folder at `path`, or the folder of the `u.data` file at `path`.
    public static func load(path: String) throws -> RawRatings {
        let (folder, dataPath, _) = DatasetLoader.folderAndName(path, ratingsFile: "u.data")
        var raw = RawRatings()
        raw.name = "ml-100k"
        let genrePath = folder + "/u.genre"
        let fm = FileManager.default
        raw.genreNames = fm.fileExists(atPath: genrePath) ? try readGenres(genrePath) : genres
        let itemPath = folder + "/u.item"
        if fm.fileExists(atPath: itemPath) {
            raw.catalog = try readItems(itemPath, genreNames: raw.genreNames)
        }
        let parser = RatingsParser(file: try MappedFile(dataPath), layout: layout, dataStart: 0, encoding: .utf8)
        try parser.read(into: &raw)
        try DatasetLoader.checkCatalog(raw, parser: parser, itemFile: "u.item")
        raw.sources = [dataPath] + (raw.catalog.isEmpty ? [] : [itemPath])
        return raw
    }

    static func readGenres(_ path: String) throws -> [String] {
        let file = try MetadataFile(path)
        var names: [(Int, String)] = []
        try file.forEachLine { lineNo, line in
            let f = TextScan.fields(line, separator: UInt8(ascii: "|"))
            guard f.count >= 2, let idx = TextScan.int(f[1]) else {
                throw file.error(lineNo, "expected 'genre|index', found \(TextScan.quoted(line))")
            }
            names.append((Int(idx), file.text(f[0])))
        }
        return names.sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func readItems(_ path: String, genreNames: [String]) throws -> [String: ItemMeta] {
        let file = try MetadataFile(path)
        var catalog: [String: ItemMeta] = [:]
        try file.forEachLine { lineNo, line in
            let f = TextScan.fields(line, separator: UInt8(ascii: "|"))
            guard f.count >= 2, let id = TextScan.int(f[0]) else {
                throw file.error(lineNo, "expected 'id|title|release date|...', found \(TextScan.quoted(line))")
            }
            var genres: [String] = []
            if f.count >= 24 {
                for (k, flag) in f[5..<24].enumerated() where flag.count == 1 && flag[0] == UInt8(ascii: "1") {
                    genres.append(k < genreNames.count ? genreNames[k] : "genre \(k)")
                }
            }
            let title = file.text(f[1])
            // Release date `01-Jan-1995`; the title's `(1995)` when the date is blank.
            let date = f.count >= 3 ? file.text(f[2]) : ""
            let year = date.count == 11 ? Int(date.suffix(4)) : yearInTitle(title)
            catalog[String(id)] = ItemMeta(title: title, genres: genres, year: year)
        }
        return catalog
    }
}
