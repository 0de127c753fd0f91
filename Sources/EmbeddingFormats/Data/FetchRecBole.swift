import Foundation
import EmbeddingCore

extension RecBoleAtomic {
    /// Writes GroupLens' ml-100k layout from RecBole's ml-100k atomic files
    /// (`stem.inter`, `stem.item`, optional `stem.user`), reproducing the files of
    /// the original release that RecBole's copy still holds:
    ///
    /// - `u.data`: the `.inter` rows in order, `user<TAB>item<TAB>rating<TAB>timestamp`;
    /// - `u.item`: `id|title (YEAR)|01-Jan-YEAR|||` + 19 genre flags, Latin-1
    ///   (the release date becomes `01-Jan-YEAR`, the IMDb URL is gone);
    /// - `u.genre`: the 19 genres with their flag index;
    /// - `u.user`: `id|age|gender|occupation|zip` when `stem.user` exists.
    public static func writeGroupLens100k(from stem: String, to folder: String) throws {
        try AtomicFile.write(Data(groupLensData(stem + ".inter")), to: folder + "/u.data")
        try AtomicFile.write(groupLensItems(stem + ".item"), to: folder + "/u.item")
        let genres = MovieLens100k.genres.enumerated().map { "\($1)|\($0)\n" }.joined()
        try AtomicFile.write(genres, to: folder + "/u.genre")
        if FileManager.default.fileExists(atPath: stem + ".user") {
            try AtomicFile.write(groupLensUsers(stem + ".user"), to: folder + "/u.user")
        }
    }

    /// Integral numbers without a fraction (`3.0` -> `3`), as GroupLens writes them.
    static func plainNumber(_ text: String) -> String {
        if let v = Double(text), v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return text
    }

    static func groupLensData(_ path: String) throws -> [UInt8] {
        let file = try MetadataFile(path)
        var columns: [RatingsColumn] = []
        var out: [UInt8] = []
        out.reserveCapacity(file.file.bytes.count)
        try file.forEachLine { lineNo, line in
            let f = TextScan.fields(line, separator: 0x09).map { file.text($0) }
            if columns.isEmpty {
                columns = try DelimitedRatings.columnsFromHeader(f, path: path, line: lineNo)
                guard columns.contains(.timestamp) else { throw file.error(lineNo, "no timestamp column") }
                return
            }
            guard f.count >= columns.count else {
                throw file.error(lineNo, "expected \(columns.count) fields, found \(f.count)")
            }
            var value: [RatingsColumn: String] = [:]
            for (k, c) in columns.enumerated() where c != .skip { value[c] = f[k] }
            let row = [value[.user]!, value[.item]!, plainNumber(value[.rating]!), plainNumber(value[.timestamp]!)]
            out.append(contentsOf: row.joined(separator: "\t").utf8)
            out.append(0x0A)
        }
        return out
    }

    static func groupLensItems(_ path: String) throws -> Data {
        var text = ""
        try forEachItem(path) { lineNo, row in
            guard let name = row.title else { throw EmbtoolError.data("\(path):\(lineNo): no title column") }
            let year = row.year ?? ""
            let date = name != missing && year.count == 4 && Int(year) != nil ? "01-Jan-\(year)" : ""
            let flags = MovieLens100k.genres.map { row.classes.contains($0) ? "1" : "0" }
            text += "\(row.id)|\(title(name, year: row.year))|\(date)|||\(flags.joined(separator: "|"))\n"
        }
        guard let data = text.data(using: .isoLatin1) else {
            throw EmbtoolError.data("\(path): a title has characters outside Latin-1; u.item cannot hold it")
        }
        return data
    }

    static func groupLensUsers(_ path: String) throws -> String {
        let file = try MetadataFile(path)
        var text = "", header = true
        try file.forEachLine { _, line in
            if header { header = false; return }
            text += TextScan.fields(line, separator: 0x09).map { file.text($0) }.joined(separator: "|") + "\n"
        }
        return text
    }
}
