import Foundation
import Synchronization

/// A fixed set of threads that run one closure together, then wait for the next:
/// embtool's one threading model.
///
/// Training hands out thousands of jobs of a few microseconds each (one Adam
/// step over all parameters per mini-batch), too short for Dispatch: here idle
/// workers spin briefly on an atomic generation counter, then yield the core,
/// and a job's workers may meet at a `barrier`, which needs them all running at
/// once (Dispatch does not promise that). Longer jobs use `forEach`, on a pool
/// made for the call. The caller's thread is worker 0, so `threads == 1` runs inline.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let arrived = Atomic<Int>(0)
    private let phase = Atomic<Int>(0)
    /// Set before `generation` is bumped (release) and read after it is seen (acquire).
    private var job: ((Int) -> Void)?
    private var workers: [Thread] = []

    public init(threads: Int) {
        self.threads = max(1, threads)
        for index in 1..<self.threads {
            // Workers hold the pool until `shutdown()` lets them return.
            let thread = Thread { self.workerLoop(index) }
            thread.stackSize = 1 << 20
            thread.start()
            workers.append(thread)
        }
    }

    /// Runs `body(worker)` on every worker, `worker` in `0..<threads`, and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if threads == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(threads - 1, ordering: .relaxed)
            generation.wrappingAdd(1, ordering: .releasing)
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) != 0 { Self.backoff(&spins) }
            job = nil
        }
    }

    /// Inside a job: returns once every worker has called it (a spinning
    /// barrier), so that what each wrote before is visible to all after.
    public func barrier() {
        guard threads > 1 else { return }
        let current = phase.load(ordering: .acquiring)
        if arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == threads {
            arrived.store(0, ordering: .relaxed)
            phase.wrappingAdd(1, ordering: .releasing)
        } else {
            var spins = 0
            while phase.load(ordering: .acquiring) == current { Self.backoff(&spins) }
        }
    }

    /// Runs `body(worker, i)` for every `i` in `0..<iterations` on this pool's
    /// threads, handing out the iterations one at a time, and returns when all are done.
    public func forEach(_ iterations: Int, _ body: (_ worker: Int, _ i: Int) -> Void) {
        let next = Atomic<Int>(0)
        run { worker in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= iterations { break }
                body(worker, i)
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<iterations` on up to `threads`
    /// threads (the caller's among them; a pool made for the call), one
    /// iteration at a time: the parallel loop of every job that runs for
    /// milliseconds (parsing, SVD blocks, neighbour blocks, predictions).
    public static func forEach(_ iterations: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                               _ body: (Int) -> Void) {
        let threads = max(1, min(threads, iterations))
        guard threads > 1 else {
            for i in 0..<iterations { body(i) }
            return
        }
        let pool = WorkerPool(threads: threads)
        defer { pool.shutdown() }
        pool.forEach(iterations) { _, i in body(i) }
    }

    /// `range` cut into `threads` contiguous pieces, the cut points rounded to
    /// multiples of `align` so no two workers write the same cache line.
    public func piece(_ worker: Int, of count: Int, align: Int = 16) -> Range<Int> {
        func cut(_ w: Int) -> Int { w == threads ? count : min(count, (count * w / threads) / align * align) }
        return cut(worker)..<cut(worker + 1)
    }

    /// Lets the workers return; the pool cannot run jobs afterwards. Call it
    /// when done (the workers keep the pool alive until then).
    public func shutdown() {
        guard !workers.isEmpty else { return }
        stopping.store(true, ordering: .relaxed)
        generation.wrappingAdd(1, ordering: .releasing)
        workers = []
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var now = generation.load(ordering: .acquiring)
            while now == seen {
                Self.backoff(&spins)
                now = generation.load(ordering: .acquiring)
            }
            seen = now
            if stopping.load(ordering: .relaxed) { return }
            job?(index)
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Spin a little (a job usually arrives within microseconds), then give
    /// the core away so a busy machine is not slowed by idle waiting.
    @inline(__always)
    private static func backoff(_ spins: inout Int) {
        spins += 1
        if spins > 2_000 {
            if spins > 200_000 { usleep(200) } else { sched_yield() }
        }
    }
}
