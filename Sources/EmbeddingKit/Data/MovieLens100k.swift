import Foundation

/// GroupLens' ml-100k folder: `u.data` (user, item, rating, timestamp; tabs),
/// `u.item` (pipe-separated, Latin-1, 19 genre flags), `u.genre` (genre|index).
public enum MovieLens100k {
    public static func looksLike(folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/u.data")
    }

    public static func load(folder: String) throws -> RawRatings {
        var raw = RawRatings()
        raw.name = "ml-100k"
        let genrePath = folder + "/u.genre"
        if FileManager.default.fileExists(atPath: genrePath) {
            raw.genreNames = try readGenres(genrePath)
        }
        let itemPath = folder + "/u.item"
        if FileManager.default.fileExists(atPath: itemPath) {
            raw.catalog = try readItems(itemPath, genreNames: raw.genreNames)
            raw.sources.append(itemPath)
        }
        let dataPath = folder + "/u.data"
        try readRatings(dataPath, into: &raw)
        raw.sources.insert(dataPath, at: 0)
        return raw
    }

    static func readGenres(_ path: String) throws -> [String] {
        let data = try readInputFile(path)
        var names: [(Int, String)] = []
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            try TextScan.forEachLine(buf.bindMemory(to: UInt8.self)) { lineNo, line in
                let f = TextScan.fields(line, separator: UInt8(ascii: "|"))
                guard f.count >= 2, let idx = TextScan.int(f[1]) else {
                    throw EmbtoolError.data("\(path):\(lineNo): expected 'genre|index'")
                }
                names.append((Int(idx), TextScan.latin1(f[0])))
            }
        }
        return names.sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func readItems(_ path: String, genreNames: [String]) throws -> [String: ItemMeta] {
        let data = try readInputFile(path)
        var catalog: [String: ItemMeta] = [:]
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            try TextScan.forEachLine(buf.bindMemory(to: UInt8.self)) { lineNo, line in
                let f = TextScan.fields(line, separator: UInt8(ascii: "|"))
                guard f.count >= 2, let id = TextScan.int(f[0]) else {
                    throw EmbtoolError.data("\(path):\(lineNo): expected 'id|title|...'")
                }
                var genres: [String] = []
                if f.count >= 24 {
                    for (k, flag) in f[5..<24].enumerated() where flag.count == 1 && flag[0] == UInt8(ascii: "1") {
                        genres.append(k < genreNames.count ? genreNames[k] : "genre \(k)")
                    }
                }
                catalog[String(id)] = ItemMeta(title: TextScan.latin1(f[1]), genres: genres)
            }
        }
        return catalog
    }

    static func readRatings(_ path: String, into raw: inout RawRatings) throws {
        let data = try readInputFile(path)
        var userIndex: [Int64: Int32] = [:], itemIndex: [Int64: Int32] = [:]
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            try TextScan.forEachLine(buf.bindMemory(to: UInt8.self)) { lineNo, line in
                let f = TextScan.fields(line, separator: 0x09)
                guard f.count >= 3 else {
                    throw EmbtoolError.data("\(path):\(lineNo): expected 'user<TAB>item<TAB>rating<TAB>timestamp', found \(f.count) field(s)")
                }
                guard let u = TextScan.int(f[0]), let i = TextScan.int(f[1]) else {
                    throw EmbtoolError.data("\(path):\(lineNo): user and item must be integers")
                }
                guard let r = TextScan.float(f[2]) else {
                    throw EmbtoolError.data("\(path):\(lineNo): rating '\(TextScan.string(f[2]))' is not a number")
                }
                if !raw.catalog.isEmpty && raw.catalog[String(i)] == nil {
                    throw EmbtoolError.data("\(path):\(lineNo): item \(i) is not in u.item")
                }
                let ts = f.count >= 4 ? (TextScan.int(f[3]) ?? 0) : 0
                raw.user.append(intern(u, &userIndex, &raw.userIds))
                raw.item.append(intern(i, &itemIndex, &raw.itemIds))
                raw.rating.append(r)
                raw.timestamp.append(ts)
            }
        }
        if raw.count == 0 { throw EmbtoolError.data("\(path): no ratings") }
    }

    @inline(__always)
    static func intern(_ id: Int64, _ index: inout [Int64: Int32], _ ids: inout [String]) -> Int32 {
        if let k = index[id] { return k }
        let k = Int32(ids.count)
        index[id] = k
        ids.append(String(id))
        return k
    }
}
