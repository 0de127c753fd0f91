import CLapack
import Foundation

/// Which kernels OpenBLAS runs, and the kernels this CPU could run.
///
/// A `DYNAMIC_ARCH` OpenBLAS (Debian's) picks its kernels when it loads, from
/// the CPU's family and model. A release older than the CPU does not know the
/// model and falls back to old kernels: Debian 12's 0.3.21 runs its SSE3
/// `Prescott` kernels on an Emerald Rapids Xeon, at a third of the speed its
/// AVX-512 `SkylakeX` kernels reach there. OpenBLAS reads `OPENBLAS_CORETYPE`
/// only in that load-time constructor, so the choice can be changed only by
/// starting the program again with the variable set (`embtool` does, once).
public enum BLASCore {
    /// The kernels in use, as OpenBLAS names them (`Haswell`, `SkylakeX`, `Prescott`…).
    public static var name: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build description: version, `DYNAMIC_ARCH`, threading.
    public static var configuration: String {
        String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces)
    }

    /// Cores OpenBLAS falls back to, or misdetects, whose kernels use no AVX2:
    /// on a CPU with AVX2 or AVX-512 they leave most of its vector width
    /// unused. Cores with AVX2 kernels (Haswell, Zen, SkylakeX, Cooperlake,
    /// SapphireRapids…) are OpenBLAS's deliberate choice and are kept.
    public static let fallbackCores: Set<String> = [
        "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
        "nehalem", "sandybridge", "athlon", "opteron", "opteron(sse3)", "barcelona", "bobcat", "bulldozer",
        "piledriver", "steamroller", "nano", "generic", "unknown",
    ]

    /// The vector extensions that decide between OpenBLAS's kernel families.
    public struct CPUFeatures: Equatable, Sendable {
        public var avx2 = false, fma = false
        public var avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false

        public init() {}

        /// From the `flags` of `/proc/cpuinfo`, which lists what the kernel
        /// lets programs use (it hides AVX-512 when it does not save its registers).
        public init(flags: some Sequence<Substring>) {
            for f in flags {
                switch f {
                case "avx2": avx2 = true
                case "fma": fma = true
                case "avx512f": avx512f = true
                case "avx512bw": avx512bw = true
                case "avx512dq": avx512dq = true
                case "avx512vl": avx512vl = true
                default: break
                }
            }
        }

        /// This machine's, from the first processor's `flags` line; none when unreadable.
        public static func current() -> CPUFeatures {
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
                  let colon = line.firstIndex(of: ":") else { return CPUFeatures() }
            return CPUFeatures(flags: line[line.index(after: colon)...].split(separator: " "))
        }

        /// What OpenBLAS's `SkylakeX` kernels need.
        public var avx512: Bool { avx512f && avx512bw && avx512dq && avx512vl }
    }

    /// What to do about the kernels OpenBLAS chose.
    public enum Action: Equatable, Sendable {
        case keep
        /// Start again with `OPENBLAS_CORETYPE` set to this core.
        case rerun(coreType: String)
    }

    /// The variable OpenBLAS reads, and the one embtool leaves for the program it starts again.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    public static let replacedCoreVariable = "EMBTOOL_BLAS_REPLACED_CORE"

    /// Keeps OpenBLAS's choice unless it is a fallback core (`fallbackCores`)
    /// on a CPU with AVX-512 F/BW/DQ/VL (then `SkylakeX`) or AVX2 and FMA
    /// (then `Haswell`). A set `OPENBLAS_CORETYPE` is always kept: it is the
    /// user's choice, or embtool's own in the program it started again, so
    /// that program never starts a third.
    /// `cpu` is read only when the core is a fallback.
    public static func decide(core: String, coreTypeVariable: String?, cpu: () -> CPUFeatures) -> Action {
        guard coreTypeVariable?.isEmpty ?? true else { return .keep }
        guard fallbackCores.contains(core.lowercased()) else { return .keep }
        let features = cpu()
        if features.avx512 { return .rerun(coreType: "SkylakeX") }
        if features.avx2 && features.fma { return .rerun(coreType: "Haswell") }
        return .keep
    }

    /// One line for `--version` and `info`: the library, the core, and who chose it.
    public static func summary(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        var line = "\(configuration); kernels: \(name)"
        if let set = environment[coreTypeVariable], !set.isEmpty {
            if let replaced = environment[replacedCoreVariable], !replaced.isEmpty {
                line += " (embtool set \(coreTypeVariable)=\(set): OpenBLAS chose \(replaced) on this CPU)"
            } else {
                line += " (\(coreTypeVariable)=\(set))"
            }
        }
        return line
    }
}
