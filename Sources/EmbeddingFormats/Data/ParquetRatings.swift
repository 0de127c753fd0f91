import Foundation
import EmbeddingCore

/// Ratings in Parquet: one file, or a folder of `part-*.parquet` files as Spark
/// and pandas write them (read in name order). Columns are matched by name as
/// CSV headers are (`userId`, `user_id`, `movieId`, `rating`, `score`, ...), or
/// given in schema order by `--columns`. Ids may be integers or strings;
/// ratings INT32, INT64, FLOAT or DOUBLE; nulls are an error.
enum ParquetRatings {
    /// A `.parquet` file, or a file starting with `PAR1`.
    static func isParquetFile(_ path: String) -> Bool {
        if path.lowercased().hasSuffix(".parquet") { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("PAR1".utf8)
    }

    /// The Parquet files of a folder: `part-*.parquet`, else any `*.parquet`.
    static func partFiles(_ folder: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".parquet") && !$0.hasPrefix(".") }
        let parts = names.filter { $0.hasPrefix("part-") }
        return (parts.isEmpty ? names : parts).sorted().map { folder + "/" + $0 }
    }

    static func isParquetFolder(_ path: String) -> Bool { !partFiles(path).isEmpty }

    static func load(path: String, columns given: [RatingsColumn]? = nil) throws -> RawRatings {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        let files = isDir.boolValue ? partFiles(path) : [path]
        guard !files.isEmpty else { throw EmbtoolError.noInput("\(path): no .parquet files in this folder") }
        var raw = RawRatings()
        raw.name = ((path.hasSuffix("/") ? String(path.dropLast()) : path) as NSString).lastPathComponent
        if !isDir.boolValue { raw.name = (raw.name as NSString).deletingPathExtension }
        var users = IdTable(), items = IdTable()
        for file in files {
            try append(ParquetFile(path: file), columns: given, users: &users, items: &items, into: &raw)
        }
        guard raw.count > 0 else { throw EmbtoolError.data("\(path): no ratings") }
        raw.userIds = users.ids
        raw.itemIds = items.ids
        raw.sources = files
        return raw
    }

    /// Raw ids in order of first appearance, interned.
    struct IdTable {
        var ids: [String] = []
        var index: [String: Int32] = [:]

        mutating func intern(_ id: String) -> Int32 {
            if let k = index[id] { return k }
            let k = Int32(ids.count)
            index[id] = k
            ids.append(id)
            return k
        }
    }

    /// Which leaf plays each role: `--columns` in schema order, else by name.
    static func roles(_ file: ParquetFile, given: [RatingsColumn]?) throws -> [RatingsColumn: ParquetFile.Leaf] {
        let flat = file.leaves.filter { !$0.isList }
        var roles: [RatingsColumn: ParquetFile.Leaf] = [:]
        if let given {
            guard given.count <= flat.count else {
                throw EmbtoolError.data("\(file.name): --columns names \(given.count) columns, the file has \(flat.count): \(flat.map(\.name).joined(separator: ", "))")
            }
            for (role, leaf) in zip(given, flat) where role != .skip { roles[role] = leaf }
            return roles
        }
        for leaf in flat {
            let key = normalizedColumnName(leaf.path.last ?? "")
            if let role = RatingsColumn.allCases.first(where: { DelimitedRatings.synonyms[$0]?.contains(key) == true && roles[$0] == nil }) {
                roles[role] = leaf
            }
        }
        let missing = [RatingsColumn.user, .item, .rating].filter { roles[$0] == nil }
        guard missing.isEmpty else {
            throw EmbtoolError.data("\(file.name): columns \(flat.map(\.name).joined(separator: ", ")) include no "
                + "\(missing.map(\.rawValue).joined(separator: "/")) column", reason: .layout)
        }
        return roles
    }

    static func append(_ file: ParquetFile, columns given: [RatingsColumn]?, users: inout IdTable, items: inout IdTable,
                       into raw: inout RawRatings) throws {
        let roles = try roles(file, given: given)
        func column(_ role: RatingsColumn) throws -> ParquetColumn? {
            guard let leaf = roles[role] else { return nil }
            let c = try file.read(leaf)
            if let valid = c.valid, let row = valid.firstIndex(of: false) {
                throw EmbtoolError.data("\(file.name): row \(row + 1): \(role.rawValue) (\(leaf.name)) is null")
            }
            return c
        }
        let user = try column(.user)!, item = try column(.item)!, rating = try column(.rating)!
        let timestamp = try column(.timestamp)
        let n = user.rows
        raw.user.reserveCapacity(raw.count + n)
        try appendIds(user, table: &users, to: &raw.user, file: file.name)
        try appendIds(item, table: &items, to: &raw.item, file: file.name)
        let before = raw.rating.count
        switch rating.values {
        case .float(let v): raw.rating.append(contentsOf: v)
        case .double(let v): raw.rating.append(contentsOf: v.lazy.map(Float.init))
        case .int32(let v): raw.rating.append(contentsOf: v.lazy.map(Float.init))
        case .int64(let v): raw.rating.append(contentsOf: v.lazy.map(Float.init))
        default: throw EmbtoolError.data("\(file.name): rating column \(rating.name) is not numeric")
        }
        if let bad = raw.rating[before...].firstIndex(where: { !$0.isFinite }) {
            throw EmbtoolError.data("\(file.name): row \(bad - before + 1): rating \(raw.rating[bad]) is not a finite number")
        }
        switch timestamp?.values {
        case nil: raw.timestamp.append(contentsOf: repeatElement(0, count: n))
        case .int64(let v)?: raw.timestamp.append(contentsOf: v)
        case .int32(let v)?: raw.timestamp.append(contentsOf: v.lazy.map(Int64.init))
        case .double(let v)?: raw.timestamp.append(contentsOf: v.lazy.map { $0.isFinite && abs($0) < 9e15 ? Int64($0) : 0 })
        default: throw EmbtoolError.data("\(file.name): timestamp column \(timestamp!.name) is not a number of seconds")
        }
    }

    /// Integer ids as their decimal text, string ids trimmed, each interned.
    static func appendIds(_ column: ParquetColumn, table: inout IdTable, to out: inout [Int32], file: String) throws {
        switch column.values {
        case .int32(let v): for id in v { out.append(table.intern(String(id))) }
        case .int64(let v): for id in v { out.append(table.intern(String(id))) }
        case .string(let v):
            for (row, id) in v.enumerated() {
                let text = id.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { throw EmbtoolError.data("\(file): row \(row + 1): empty id in \(column.name)") }
                out.append(table.intern(text))
            }
        default: throw EmbtoolError.data("\(file): id column \(column.name) is neither integer nor string")
        }
    }
}
