import Foundation
import Synchronization

/// A fixed set of threads that run one closure together, then wait for the next.
///
/// The fastai recipe hands out thousands of jobs of a few microseconds each (one
/// Adam step over all parameters per mini-batch), whose workers meet at a
/// `barrier` in the middle: that needs them all running at once, which Dispatch
/// does not promise. Idle workers spin briefly on an atomic generation counter,
/// then yield the core. Every other parallel loop uses `Parallel`. The caller's
/// thread is worker 0, so `threads == 1` runs inline.
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
