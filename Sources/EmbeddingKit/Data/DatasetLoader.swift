import Foundation

/// The one entry point for ratings: detects the layout of a folder or file and
/// returns the keyed table.
public enum DatasetLoader {
    public static func loadRaw(path: String) throws -> RawRatings {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbtoolError.noInput("\(path): no such file or folder")
        }
        if isDir.boolValue && MovieLens100k.looksLike(folder: path) {
            return try MovieLens100k.load(folder: path)
        }
        throw EmbtoolError.data("\(path): not a ratings layout embtool knows (expected ml-100k's u.data)")
    }

    public static func load(path: String, itemKey: ItemKey = .title) throws -> Ratings {
        try Ratings(loadRaw(path: path), itemKey: itemKey)
    }
}
