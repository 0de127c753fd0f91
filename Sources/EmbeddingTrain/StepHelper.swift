import Foundation
import Synchronization

/// A second thread that takes chunks of a job when it gets to them, for
/// training steps of about a hundred microseconds.
///
/// The caller publishes a job of `count` chunks, does work of its own, then
/// claims whatever chunks are left and waits only for the one the helper
/// holds. Nothing waits for the helper to wake up (a `WorkerPool` barrier
/// would wait for its next time slice at every step). A helper descheduled
/// while it holds a chunk still delays the caller until it runs again: a wait
/// that long (`slowWait`, where chunks take microseconds) means the other core
/// is busy, and the next `soloJobs` jobs run on the caller's thread alone
/// before the helper is tried again. Each chunk runs exactly once, whichever
/// thread claims it, so results do not depend on whether there is a helper.
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
    /// Jobs published so far, and the first job the helper may take again after a slow wait.
    private var jobs = 0, soloUntil = 0

    static let maxChunks = 1 << 20
    /// A wait for the helper's chunk this long (ns) means the helper was not running.
    static let slowWait: UInt64 = 200_000
    /// Jobs that then run on the caller's thread alone (about a hundred training steps).
    static let soloJobs = 256

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
        jobs += 1
        guard hasHelper, jobs >= soloUntil else {
            own()
            for k in 0..<count { chunk(k) }
            return
        }
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
            if finished.load(ordering: .acquiring) < count {
                let started = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while finished.load(ordering: .acquiring) < count { Self.backoff(&spins) }
                if DispatchTime.now().uptimeNanoseconds - started > Self.slowWait { soloUntil = jobs + Self.soloJobs }
            }
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
    /// give the core away, then sleep: an idle helper costs a busy machine
    /// little, and one that sleeps through a job only leaves its chunks to the caller.
    @inline(__always)
    private static func backoff(_ spins: inout Int) {
        spins += 1
        if spins > 2_000 {
            if spins > 10_000 { usleep(50) } else { sched_yield() }
        }
    }
}
