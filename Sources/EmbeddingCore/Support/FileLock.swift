import Foundation

/// An exclusive advisory lock (flock(2)) on a lock file, held for the length
/// of one closure: processes that share a cache take turns at filling it.
/// The kernel drops the lock when the holder exits, crashed or not, so a
/// killed process never leaves others waiting. The lock file itself stays
/// (removing it would let two processes lock two different files).
public enum FileLock {
    /// Runs `body` holding the lock on `path` (created, with its folder, if
    /// needed). When another process holds it, calls `waiting` once, then blocks
    /// until it is released.
    public static func withExclusive<T>(_ path: String, waiting: () -> Void, _ body: () throws -> T) throws -> T {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw EmbtoolError(.cantCreate, "cannot create folder \(folder): \(error.localizedDescription)")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EmbtoolError(.cantCreate, "cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else { throw EmbtoolError(.ioError, "cannot lock \(path): \(String(cString: strerror(errno)))") }
            waiting()
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else { throw EmbtoolError(.ioError, "cannot lock \(path): \(String(cString: strerror(errno)))") }
            }
        }
        return try body()
    }
}
