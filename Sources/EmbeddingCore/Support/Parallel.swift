import Foundation
import Synchronization

/// The parallel loop of every job that runs for milliseconds or more —
/// parsing chunks, SVD and neighbour blocks, batches of predictions, a Gibbs
/// sweep's rows, the sparse recipe's strata, the maps' pieces — on Dispatch's
/// threads, at most `threads` of them. (Measured on this 2-core machine, 200
/// loops of 16 pieces: 0.36–0.44 s here against 0.45–0.73 s on a `WorkerPool`
/// made for each loop.) Training steps of a few microseconds whose workers meet
/// at a barrier run on a `WorkerPool` instead: Dispatch does not promise to
/// run a loop's iterations at the same time, which a barrier needs.
public enum Parallel {
    /// Read once: Foundation's `activeProcessorCount` opens the cgroup quota
    /// and cpuset files on every call, which a small file's parse paid a dozen
    /// times over.
    public static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Runs `body(w)` for every `w` in `0..<workers`, on threads of their own
    /// where cores are free. Work that must not depend on the thread count is
    /// cut into pieces whose boundaries do not depend on `workers`.
    public static func run(workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 {
            if workers == 1 { body(0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }

    /// Runs `body(worker, i)` for every `i` in `0..<count`, handed out one at a
    /// time to up to `threads` workers (`worker` < `threads`, so that each may
    /// keep buffers of its own). Each `i` runs once, whichever worker takes it.
    public static func forEach(_ count: Int, threads: Int = cores, _ body: (_ worker: Int, _ i: Int) -> Void) {
        let workers = max(1, min(threads, count))
        guard workers > 1 else {
            for i in 0..<count { body(0, i) }
            return
        }
        let next = Atomic<Int>(0)
        run(workers: workers) { worker in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { break }
                body(worker, i)
            }
        }
    }

    /// `body(piece)` for every piece in `0..<count`, on up to `workers` threads.
    public static func pieces(_ count: Int, workers: Int = cores, _ body: (Int) -> Void) {
        forEach(count, threads: workers) { _, piece in body(piece) }
    }
}
