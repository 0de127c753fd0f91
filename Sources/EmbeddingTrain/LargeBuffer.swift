import Foundation
import EmbeddingCore

/// Allocation for parameter tables too big for the caches: aligned to 2 MB and
/// marked for transparent huge pages, so that random row accesses do not also
/// miss the TLB on every 4 KB page. Zero-filled.
enum LargeBuffer {
    static let hugePage = 2 << 20

    static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(1, count * MemoryLayout<T>.stride)
        let rounded = (bytes + hugePage - 1) / hugePage * hugePage
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, hugePage, rounded) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        if rounded >= hugePage { _ = madvise(raw, rounded, MADV_HUGEPAGE) }
        memset(raw, 0, rounded)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    static func free<T>(_ p: UnsafeMutablePointer<T>) { Foundation.free(p) }
}
