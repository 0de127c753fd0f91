import Foundation
import Synchronization

/// A second thread that takes chunks of a job when it gets to them, for
/// training steps of about a hundred microseconds.
///
/// The caller publishes a job of `count` chunks, does work of its own, then
/// claims whatever chunks are left and waits only for those the helper has
/// started. Nothing waits for the helper to wake up: on a machine whose other
/// core is busy, a descheduled helper delays a step by at most the one chunk it
/// holds, and the step costs about what it costs on one thread (a `WorkerPool`
/// barrier would wait for the helper's next time slice at every step). Each
/// chunk runs exactly once, whichever thread claims it, so results do not
/// depend on whether there is a helper.
final class StepHelper: @unchecked Sendable {
    /// `generation << 40 | count << 20 | next`: the current job's number, its
    /// chunk count and the next chunk to claim.
    private let state = Atomic<Int>(0)
    /// Chunks of the current job finished.
    private let finished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Set before the job is published (release) and read after a chunk of it is claimed (acquire).
    private var job: ((Int) -> Void)?
    private var generation = 0
    /// Whether a helper thread runs (otherwise the caller does every chunk).
    let hasHelper: Bool

    static let maxChunks = 1 << 20

    init(helper: Bool) {
        hasHelper = helper
        guard helper else { return }
        // The thread holds the helper until `shutdown()` lets it return.
        let thread = Thread { self.helperLoop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `own()` on this thread while the helper starts on the chunks, then
    /// `chunk(k)` for every k in `0..<count` not yet claimed; returns when every
    /// chunk has finished.
    func run(chunks count: Int, own: () -> Void = {}, _ chunk: (Int) -> Void) {
        precondition(count < Self.maxChunks)
        withoutActuallyEscaping(chunk) { chunk in
            job = chunk
            finished.store(0, ordering: .relaxed)
            generation = (generation + 1) % (1 << 22)
            state.store(generation << 40 | count << 20, ordering: .releasing)
            own()
            while let k = claim() {
                chunk(k)
                finished.wrappingAdd(1, ordering: .releasing)
            }
            var spins = 0
            while finished.load(ordering: .acquiring) < count { Self.backoff(&spins) }
            job = nil
        }
    }

    /// The next chunk of the current job, or nil when all are claimed.
    private func claim() -> Int? {
        var s = state.load(ordering: .acquiring)
        while true {
            let count = (s >> 20) & (Self.maxChunks - 1), next = s & (Self.maxChunks - 1)
            guard next < count else { return nil }
            let (exchanged, original) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
            if exchanged { return next }
            s = original
        }
    }

    /// Lets the helper thread return; call once, when training is done.
    func shutdown() {
        stopping.store(true, ordering: .relaxed)
    }

    private func helperLoop() {
        var spins = 0
        while !stopping.load(ordering: .relaxed) {
            if let k = claim() {
                // A claimed chunk holds `finished` below the count, so `job` is this job's.
                job!(k)
                finished.wrappingAdd(1, ordering: .releasing)
                spins = 0
            } else {
                Self.backoff(&spins)
            }
        }
    }

    /// Spin a little (the next job usually comes within microseconds), then
    /// give the core away, then sleep: an idle helper costs a busy machine little.
    @inline(__always)
    private static func backoff(_ spins: inout Int) {
        spins += 1
        if spins > 2_000 {
            if spins > 100_000 { usleep(100) } else { sched_yield() }
        }
    }
}
