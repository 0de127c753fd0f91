import Foundation
import EmbeddingCore

/// GroupLens' MovieLens 1M (and 10M) folder: `ratings.dat`
/// (`UserID::MovieID::Rating::Timestamp`) and `movies.dat`
/// (`MovieID::Title::Genres`, Latin-1, genres `A|B`).
public enum MovieLens1m {
    static let separator = Array("::".utf8)
    static let layout = RatingsLayout(separator: separator, columns: [.user, .item, .rating, .timestamp])

    /// Reads the folder at `path`, or the folder of the `ratings.dat` file at `path`.
    public static func load(path: String) throws -> RawRatings {
        try DatasetLoader.loadGroupLensFolder(path, ratingsFile: "ratings.dat", moviesFile: "movies.dat", readMovies: readMovies) {
            RatingsParser(file: try MappedFile($0), layout: layout, dataStart: 0, encoding: .utf8)
        }
    }

    static func readMovies(_ path: String) throws -> [String: ItemMeta] {
        let file = try MetadataFile(path)
        var catalog: [String: ItemMeta] = [:]
        try file.forEachLine { lineNo, line in
            let f = TextScan.fields(line, separator: separator)
            guard f.count >= 2, let id = TextScan.int(f[0]) else {
                throw file.error(lineNo, "expected 'MovieID::Title::Genres', found \(TextScan.quoted(line))")
            }
            let title = file.text(f[1])
            let genres = f.count >= 3 ? splitGenres(file.text(f[2])) : []
            catalog[String(id)] = ItemMeta(title: title, genres: genres, year: yearInTitle(title))
        }
        return catalog
    }
}

/// MovieLens genre lists: `Adventure|Children|Fantasy`; `(no genres listed)` is none.
func splitGenres(_ text: String) -> [String] {
    if text == "(no genres listed)" { return [] }
    var text = text
    return text.withUTF8 { bytes in
        var genres: [String] = []
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "|") {
            if i > start { genres.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)) }
            start = i + 1
        }
        return genres
    }
}

/// The genres a catalog uses, sorted.
func genreNames(_ catalog: [String: ItemMeta]) -> [String] {
    Set(catalog.values.flatMap(\.genres)).sorted()
}
