import Foundation

/// Files for the harnesses whose parser reads a path (ratings, RecBole,
/// Projector, Spark): one scratch folder per process, in /dev/shm when there
/// is one (no disk I/O per input), removed at exit.
enum FuzzFiles {
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = base + "/embtool-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzFiles.folder) }
        return dir
    }()

    /// Writes `bytes` to `name` in the scratch folder (its subfolders created) and returns the path.
    @discardableResult
    static func write<Bytes: Collection>(_ bytes: Bytes, to name: String) -> String where Bytes.Element == UInt8 {
        let path = folder + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static func remove(_ name: String) { try? FileManager.default.removeItem(atPath: folder + "/" + name) }

    /// The input cut at its first NUL byte: one file's bytes before, another's after
    /// (nil when there is no NUL), for formats that come as a pair of files.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> (first: Slice<UnsafeBufferPointer<UInt8>>, second: Slice<UnsafeBufferPointer<UInt8>>?) {
        guard let cut = bytes.firstIndex(of: 0) else { return (bytes[...], nil) }
        return (bytes[..<cut], bytes[(cut + 1)...])
    }
}
