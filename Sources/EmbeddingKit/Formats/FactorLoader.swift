import Foundation

/// Loads item (and user) factors from any file format embtool reads, choosing
/// the reader by extension and content. Readers for the other formats plug in
/// here (issue #4).
public enum FactorLoader {
    public struct Options: Sendable {
        public var itemsTensor: String?
        public var biasTensor: String?
        public var strict = false
        public init() {}
    }

    public static func load(path: String, options: Options = Options()) throws -> FactorModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EmbtoolError.noInput("\(path): no such file or folder")
        }
        return try ModelFile.load(path: path)
    }
}
