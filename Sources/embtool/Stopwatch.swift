import Foundation

/// Wall-clock and CPU time (user + system, all threads) between named laps,
/// so `--timing` can separate the work from start-up and loading.
struct Stopwatch {
    struct Lap { var name: String, wall: Double, cpu: Double }

    let enabled: Bool
    private var wall = DispatchTime.now().uptimeNanoseconds
    private var cpu = Stopwatch.cpuSeconds()
    private(set) var laps: [Lap] = []

    init(enabled: Bool) { self.enabled = enabled }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Seconds since the previous lap (or creation), recorded under `name`.
    @discardableResult
    mutating func lap(_ name: String) -> Lap {
        let (nowWall, nowCPU) = (DispatchTime.now().uptimeNanoseconds, Stopwatch.cpuSeconds())
        let lap = Lap(name: name, wall: Double(nowWall - wall) / 1e9, cpu: nowCPU - cpu)
        (wall, cpu) = (nowWall, nowCPU)
        laps.append(lap)
        return lap
    }

    /// One `timing:` line on stderr, in milliseconds, when enabled.
    func report() {
        guard enabled else { return }
        note("timing: " + laps.map { "\($0.name) \(String(format: "%.3f", $0.wall * 1000)) ms" }.joined(separator: ", "))
    }
}
