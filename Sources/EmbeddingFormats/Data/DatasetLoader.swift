import Foundation
import EmbeddingCore

/// The ratings layouts embtool reads. `auto` detects the layout from the folder
/// or file; the others override detection.
public enum DatasetFormat: String, CaseIterable, Codable, Sendable {
    case auto
    /// GroupLens MovieLens 100k: `u.data` (tabs), `u.item` (`|`, Latin-1, 19 genre flags), `u.genre`.
    case ml100k = "ml-100k"
    /// MovieLens 1M / 10M: `ratings.dat`, `movies.dat` (`::`, Latin-1, genres `A|B`).
    case ml1m = "ml-1m"
    /// MovieLens latest-small / 20M / 25M / 32M: `ratings.csv`, `movies.csv` (RFC 4180, UTF-8).
    case mlLatest = "ml-latest"
    /// RecBole atomic files: `NAME.inter`, `NAME.item` with typed headers (`user_id:token`).
    case recbole
    /// Any comma-separated `user,item,rating[,timestamp]` file, with or without a header.
    case csv
    /// Any tab-separated `user item rating [timestamp]` file, with or without a header.
    case tsv
    /// Apache Parquet: one file, or a folder of `part-*.parquet` (Spark's `df.write.parquet`).
    case parquet

    /// The layout at `path`: a folder is recognised by the ratings file it holds,
    /// a file by its name (and a CSV by its header).
    public static func detect(path: String) throws -> DatasetFormat {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbtoolError.noInput("\(path): no such file or folder")
        }
        let fm = FileManager.default
        if isDir.boolValue {
            if fm.fileExists(atPath: path + "/u.data") { return .ml100k }
            if fm.fileExists(atPath: path + "/ratings.dat") { return .ml1m }
            if fm.fileExists(atPath: path + "/ratings.csv") { return .mlLatest }
            if (try? RecBoleAtomic.interFile(in: path)) != nil { return .recbole }
            if ParquetRatings.isParquetFolder(path) { return .parquet }
            throw EmbtoolError.noInput("\(path): no ratings file in this folder (looked for u.data, ratings.dat, ratings.csv, *.inter, *.parquet)")
        }
        let name = (path as NSString).lastPathComponent
        switch name {
        case "u.data": return .ml100k
        case "ratings.dat": return .ml1m
        case _ where name.hasSuffix(".inter"): return .recbole
        case _ where ParquetRatings.isParquetFile(path): return .parquet
        case "ratings.csv" where MovieLensLatest.hasMovieLensHeader(path): return .mlLatest
        case _ where name.hasSuffix(".tsv") || name.hasSuffix(".tab"): return .tsv
        default: return .csv
        }
    }
}

/// The one entry point for ratings: detects the layout of a folder or file and
/// returns the keyed table.
public enum DatasetLoader {
    /// The ratings at `path` as written, before items are keyed.
    /// - Parameters:
    ///   - format: the layout, or `.auto` to detect it.
    ///   - columns: field roles of a generic CSV/TSV in file order (`--columns`);
    ///     nil reads them from the header, or assumes `user,item,rating[,timestamp]`.
    public static func loadRaw(path: String, format: DatasetFormat = .auto, columns: [RatingsColumn]? = nil) throws -> RawRatings {
        let resolved = format == .auto ? try DatasetFormat.detect(path: path) : format
        if columns != nil && ![.csv, .tsv, .parquet].contains(resolved) {
            throw EmbtoolError.usage("column names apply to generic CSV/TSV and Parquet files; \(path) is read as \(resolved.rawValue)", reason: .fixedColumns)
        }
        var raw: RawRatings
        switch resolved {
        case .auto: preconditionFailure("resolved above")
        case .ml100k: raw = try MovieLens100k.load(path: path)
        case .ml1m: raw = try MovieLens1m.load(path: path)
        case .mlLatest: raw = try MovieLensLatest.load(path: path)
        case .recbole: raw = try RecBoleAtomic.load(path: path)
        case .csv, .tsv: raw = try DelimitedRatings.load(path: path, separator: resolved == .tsv ? [0x09] : nil, columns: columns)
        case .parquet: raw = try ParquetRatings.load(path: path, columns: columns)
        }
        raw.format = resolved
        return raw
    }

    /// The keyed table. Items are keyed by `itemKey`, except that a dataset
    /// without item titles is keyed by id (check `Ratings.itemKey`).
    public static func load(path: String, itemKey: ItemKey = .title, format: DatasetFormat = .auto,
                            columns: [RatingsColumn]? = nil) throws -> Ratings {
        let raw = try loadRaw(path: path, format: format, columns: columns)
        let key: ItemKey = raw.catalog.isEmpty ? .id : itemKey
        return try Ratings(raw, itemKey: key)
    }

    /// A GroupLens release laid out as a ratings file and a movies file in one
    /// folder (1M/10M's `.dat`, the CSV releases' `.csv`): the ratings read by
    /// `parser`, the catalog by `readMovies` when the movies file is there, and
    /// every rated item checked against it.
    static func loadGroupLensFolder(_ path: String, ratingsFile: String, moviesFile: String,
                                    readMovies: (String) throws -> [String: ItemMeta],
                                    parser: (String) throws -> RatingsParser) throws -> RawRatings {
        let (folder, dataPath, name) = folderAndName(path, ratingsFile: ratingsFile)
        var raw = RawRatings()
        raw.name = name
        let moviesPath = folder + "/" + moviesFile
        if FileManager.default.fileExists(atPath: moviesPath) {
            raw.catalog = try readMovies(moviesPath)
        }
        let ratings = try parser(dataPath)
        try ratings.read(into: &raw)
        try checkCatalog(raw, parser: ratings, itemFile: moviesFile)
        raw.genreNames = genreNames(raw.catalog)
        raw.sources = [dataPath] + (raw.catalog.isEmpty ? [] : [moviesPath])
        return raw
    }

    /// The folder holding the dataset at `path` (a file's parent folder), its ratings file and its name.
    static func folderAndName(_ path: String, ratingsFile: String) -> (folder: String, ratings: String, name: String) {
        var isDir: ObjCBool = false
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        let isFolder = FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDir) && isDir.boolValue
        let folder = isFolder ? trimmed : (trimmed as NSString).deletingLastPathComponent.nonEmpty ?? "."
        // The name comes from the resolved folder, so that `.` or `..` name the real folder.
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real = realpath(folder, &resolved) != nil ? String(cString: resolved) : folder
        return (folder, isFolder ? folder + "/" + ratingsFile : trimmed, (real as NSString).lastPathComponent)
    }

    /// Fails with the first ratings line whose item the item file lacks.
    static func checkCatalog(_ raw: RawRatings, parser: RatingsParser, itemFile: String) throws {
        guard !raw.catalog.isEmpty else { return }
        let missing = raw.itemIds.map { raw.catalog[$0] == nil }
        guard missing.contains(true) else { return }
        guard let row = raw.item.firstIndex(where: { missing[Int($0)] }) else { return }
        let id = raw.itemIds[Int(raw.item[row])]
        throw EmbtoolError.data("\(parser.file.path):\(parser.lineNumber(ofRow: row)): item \(id) is not in \(itemFile)")
    }
}

/// Reads a metadata file (item list, genre list) line by line, decoding its text
/// as UTF-8, or as Latin-1 when it is not valid UTF-8.
struct MetadataFile {
    let file: MappedFile
    let encoding: TextEncoding

    init(_ path: String) throws {
        file = try MappedFile(path)
        encoding = TextEncoding.detect(file.bytes)
    }

    var path: String { file.path }

    func error(_ line: Int, _ message: String) -> EmbtoolError {
        EmbtoolError.data("\(path):\(line): \(message)")
    }

    /// `body(lineNumber, line)` per non-blank line, skipping a UTF-8 byte-order mark.
    func forEachLine(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try TextScan.forEachLine(UnsafeBufferPointer(rebasing: file.bytes[bomLength(file.bytes)...]), body)
    }

    func text(_ field: UnsafeBufferPointer<UInt8>) -> String { encoding.decode(field) }
}

/// 3 when `bytes` starts with the UTF-8 byte-order mark, else 0.
func bomLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
}

/// A canonical id label: integers without sign or leading zeros, others trimmed,
/// as the ratings parser writes them.
func canonicalId(_ text: String) -> String {
    // Plain digits without a leading zero (nearly every id) are canonical already.
    let utf8 = text.utf8
    if let first = utf8.first, first != UInt8(ascii: "0") || utf8.count == 1, utf8.count <= 9,
       utf8.allSatisfy({ $0 &- 0x30 < 10 }) {
        return text
    }
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let v = Int64(trimmed), v >= 0, v <= Int64(Int32.max) { return String(v) }
    return trimmed
}

/// The year in a MovieLens title, `Toy Story (1995)` -> 1995 (trailing spaces allowed).
func yearInTitle(_ title: String) -> Int? {
    var title = title
    return title.withUTF8 { bytes -> Int? in
        var n = bytes.count
        while n > 0 && bytes[n - 1] == 0x20 { n -= 1 }
        guard n >= 6, bytes[n - 1] == UInt8(ascii: ")"), bytes[n - 6] == UInt8(ascii: "(") else { return nil }
        var year = 0
        for b in bytes[(n - 5)..<(n - 1)] {
            guard b &- 0x30 < 10 else { return nil }
            year = year * 10 + Int(b &- 0x30)
        }
        return year
    }
}

extension String {
    /// nil for the empty string.
    var nonEmpty: String? { isEmpty ? nil : self }
}
