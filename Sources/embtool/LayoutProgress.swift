import EmbeddingKit
import Foundation

/// A layout's progress on stderr: its steps as lines, its epochs or
/// iterations as a redrawn bar on a terminal (every tenth of the run as a line
/// otherwise). With `--timing` each step line starts with the wall and CPU
/// seconds since the layout began, so the phases can be told apart on a loaded
/// machine.
final class LayoutProgress {
    private let terminal = isatty(STDERR_FILENO) != 0
    private var barShown = false
    private var lastTenth = 0
    private let timing: Bool
    private let startWall = DispatchTime.now().uptimeNanoseconds
    private let startCPU = Stopwatch.cpuSeconds()

    init(timing: Bool) { self.timing = timing }

    func update(_ progress: UMAP.Progress) {
        switch progress {
        case .step(let message): step(message)
        case let .epoch(done, total): advance(done, of: total, unit: "epoch")
        }
    }

    func update(_ progress: TSNE.Progress) {
        switch progress {
        case .step(let message): step(message)
        case let .iteration(done, total): advance(done, of: total, unit: "iteration")
        }
    }

    func finish() {
        clear()
        if timing { note(stamp() + "done") }
    }

    private func stamp() -> String {
        guard timing else { return "" }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - startWall) / 1e9
        return String(format: "[%.2f s, CPU %.2f s] ", wall, Stopwatch.cpuSeconds() - startCPU)
    }

    private func step(_ message: String) {
        clear()
        note(stamp() + message)
    }

    private func advance(_ done: Int, of total: Int, unit: String) {
        if terminal {
            let width = 30, filled = done * width / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\(unit) \(done)/\(total) \(bar) \(done * 100 / total)%".utf8))
            barShown = true
        } else if done * 10 / total > lastTenth {
            lastTenth = done * 10 / total
            note("\(unit) \(done)/\(total)")
        }
    }

    private func clear() {
        if barShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); barShown = false }
    }
}
