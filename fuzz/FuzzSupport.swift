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
    /// Plain open/write/close: FileManager's atomic write (a temporary file,
    /// fsync, rename) cost more than parsing a small input.
    @discardableResult
    static func write(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, to name: String) -> String {
        let path = folder + "/" + name
        if name.contains("/") {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fatalError("fuzz harness: cannot write \(path)") }
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.base.baseAddress! + bytes.startIndex + done, bytes.count - done)
            guard n > 0 else { fatalError("fuzz harness: cannot write \(path)") }
            done += n
        }
        close(fd)
        return path
    }

    @discardableResult
    static func write(_ bytes: UnsafeBufferPointer<UInt8>, to name: String) -> String { write(bytes[...], to: name) }

    static func remove(_ name: String) { unlink(folder + "/" + name) }

    /// The input cut at its first NUL byte: one file's bytes before, another's after
    /// (nil when there is no NUL), for formats that come as a pair of files.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> (first: Slice<UnsafeBufferPointer<UInt8>>, second: Slice<UnsafeBufferPointer<UInt8>>?) {
        guard let cut = bytes.firstIndex(of: 0) else { return (bytes[...], nil) }
        return (bytes[..<cut], bytes[(cut + 1)...])
    }
}
