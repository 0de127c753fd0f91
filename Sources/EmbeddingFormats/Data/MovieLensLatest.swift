import Foundation
import EmbeddingCore

/// GroupLens' CSV releases (ml-latest-small, ml-20m, ml-25m, ml-32m): `ratings.csv`
/// (`userId,movieId,rating,timestamp`) and `movies.csv` (`movieId,title,genres`,
/// RFC 4180 quoting, UTF-8). Titles are kept as the file writes them,
/// `American President, The (1995)`.
public enum MovieLensLatest {
    /// Reads the folder at `path`, or the folder of the `ratings.csv` file at `path`.
    public static func load(path: String) throws -> RawRatings {
        try DatasetLoader.loadGroupLensFolder(path, ratingsFile: "ratings.csv", moviesFile: "movies.csv", readMovies: readMovies) {
            try DelimitedRatings.parser(path: $0, separator: [UInt8(ascii: ",")], columns: nil)
        }
    }

    /// Whether the file starts with ml-latest's `userId,movieId,...` header.
    static func hasMovieLensHeader(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 64), as: UTF8.self)
        return head.hasPrefix("userId,movieId") || head.hasPrefix("\u{FEFF}userId,movieId")
    }

    static func readMovies(_ path: String) throws -> [String: ItemMeta] {
        let file = try MetadataFile(path)
        var catalog: [String: ItemMeta] = [:]
        var idColumn = 0, titleColumn = 1, genresColumn: Int? = 2
        var first = true
        try file.forEachLine { lineNo, line in
            guard let f = TextScan.csvFields(line, separator: UInt8(ascii: ","), encoding: file.encoding) else {
                throw file.error(lineNo, "a quoted field is not closed (embtool reads one movie per line)")
            }
            if first {
                first = false
                let names = f.map(normalizedColumnName)
                if let i = names.firstIndex(where: { ["movieid", "itemid", "id"].contains($0) }) {
                    idColumn = i
                    titleColumn = names.firstIndex(of: "title") ?? 1
                    genresColumn = names.firstIndex(of: "genres")
                    return
                }
            }
            guard f.count > max(idColumn, titleColumn), !f[idColumn].isEmpty else {
                throw file.error(lineNo, "expected 'movieId,title,genres', found \(f.count) field(s)")
            }
            let title = f[titleColumn]
            let genres = genresColumn.map { $0 < f.count ? splitGenres(f[$0]) : [] } ?? []
            catalog[canonicalId(f[idColumn])] = ItemMeta(title: title, genres: genres, year: yearInTitle(title))
        }
        return catalog
    }
}

/// `userId`, `user_id:token`, `User ID` -> `userid`: header names compared loosely.
func normalizedColumnName(_ name: String) -> String {
    let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
    return String(base.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) })
}
