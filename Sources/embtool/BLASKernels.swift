import EmbeddingKit
import Foundation

/// Runs embtool on the BLAS kernels this CPU can use (`BLASCore`): when
/// OpenBLAS fell back to kernels without AVX2 on a CPU that has AVX2 or
/// AVX-512, embtool starts itself again, same arguments, with
/// `OPENBLAS_CORETYPE` set. `EMBTOOL_VERBOSE=1` says so on stderr.
///
/// Starting again rather than loading OpenBLAS late: embtool links OpenBLAS,
/// whose constructor has chosen the kernels before `main` runs, and loading it
/// with `dlopen` after setting the variable would mean resolving every BLAS
/// and LAPACK symbol by hand. A second start costs a few tens of milliseconds, only
/// on the machines where it makes BLAS two to three times faster.
enum BLASKernels {
    static func useTheCPUsVectorWidth() {
        let variable = BLASCore.coreTypeVariable
        let core = BLASCore.name
        let set = getenv(variable).map { String(cString: $0) }
        guard case .rerun(let coreType) = BLASCore.decide(core: core, coreTypeVariable: set, cpu: BLASCore.CPUFeatures.current) else { return }
        let verbose = getenv("EMBTOOL_VERBOSE").map { String(cString: $0) }.map { !$0.isEmpty && $0 != "0" } ?? false
        if verbose {
            note("embtool: OpenBLAS chose its \(core) kernels, which leave this CPU's vector width unused; starting again with \(variable)=\(coreType)")
        }
        setenv(variable, coreType, 1)
        setenv(BLASCore.replacedCoreVariable, core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only when it failed: carry on with the kernels there are.
        let reason = String(cString: strerror(errno))
        unsetenv(variable)
        unsetenv(BLASCore.replacedCoreVariable)
        if verbose { note("embtool: could not start again (\(reason)); running on \(core)") }
    }
}
