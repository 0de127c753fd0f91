import Foundation
import XCTest
@testable import EmbeddingCore
@testable import EmbeddingFormats
@testable import EmbeddingLinalg

/// The choice of OpenBLAS kernels (`BLASCore`) and embtool starting itself
/// again with `OPENBLAS_CORETYPE` set when OpenBLAS fell back.
final class BLASCoreTests: XCTestCase {
    static let avx512: BLASCore.CPUFeatures = .init(flags: "fpu sse3 avx avx2 fma avx512f avx512bw avx512dq avx512vl".split(separator: " "))
    static let avx2: BLASCore.CPUFeatures = .init(flags: "fpu sse3 avx avx2 fma".split(separator: " "))

    func testDecision() {
        let avx512NoVL = BLASCore.CPUFeatures(flags: "avx2 fma avx512f avx512bw avx512dq".split(separator: " "))
        let avx2NoFMA = BLASCore.CPUFeatures(flags: "avx avx2".split(separator: " "))
        let cases: [(core: String, set: String?, cpu: BLASCore.CPUFeatures, expected: BLASCore.Action)] = [
            ("Prescott", nil, Self.avx512, .rerun(coreType: "SkylakeX")),     // the Emerald Rapids case of issue 15
            ("Prescott", "", Self.avx512, .rerun(coreType: "SkylakeX")),      // an empty variable is unset for OpenBLAS too
            ("Nehalem", nil, Self.avx2, .rerun(coreType: "Haswell")),
            ("Sandybridge", nil, Self.avx2, .rerun(coreType: "Haswell")),
            ("Prescott", nil, avx512NoVL, .rerun(coreType: "Haswell")),       // SkylakeX kernels need all four
            ("Prescott", nil, avx2NoFMA, .keep),                              // nothing better to pick
            ("Prescott", nil, BLASCore.CPUFeatures(), .keep),
            ("Prescott", "Prescott", Self.avx512, .keep),                     // the user's choice (or embtool's, once started again)
            ("Prescott", "SkylakeX", Self.avx512, .keep),
            ("Haswell", nil, Self.avx512, .keep),                             // OpenBLAS's deliberate choices stay
            ("Zen", nil, Self.avx512, .keep),
            ("Cooperlake", nil, Self.avx512, .keep),
            ("SkylakeX", nil, Self.avx512, .keep),
        ]
        for c in cases {
            XCTAssertEqual(BLASCore.decide(core: c.core, coreTypeVariable: c.set, cpu: { c.cpu }), c.expected, "\(c.core) \(c.set ?? "unset")")
        }
        // The CPU is looked at only when the core is a fallback.
        var asked = false
        _ = BLASCore.decide(core: "Haswell", coreTypeVariable: nil, cpu: { asked = true; return Self.avx512 })
        XCTAssertFalse(asked)
    }

    func testFlags() {
        XCTAssertTrue(Self.avx512.avx512)
        XCTAssertFalse(Self.avx2.avx512)
        XCTAssertTrue(Self.avx2.avx2 && Self.avx2.fma)
        // Flags are whole words: avx512vnni is not avx512vl.
        XCTAssertFalse(BLASCore.CPUFeatures(flags: "avx512f avx512bw avx512dq avx512vnni".split(separator: " ")).avx512)
    }

    // MARK: The command line

    func savedModel() throws -> (home: String, path: String) {
        let home = try TestData.scratch(self)
        let path = home + "/m.safetensors"
        // Column j scaled by 0.85^j: well-separated variances, so every principal
        // direction is well defined and rounding cannot rotate one into the next.
        var model = sampleModel(items: 3000, users: 5, k: 40, seed: 11)
        for r in 0..<model.itemFactors.rows {
            for c in 0..<model.itemFactors.cols { model.itemFactors[r, c] *= Float(pow(0.85, Double(c))) }
        }
        try ModelFile.save(model, to: path)
        return (home, path)
    }

    /// Numbers within `tolerance` (absolute, and relative to their size), everything else equal.
    func assertClose(_ a: Any, _ b: Any, tolerance: Double, path: String = "") {
        switch (a, b) {
        case let (x as NSNumber, y as NSNumber) where !(a is Bool):
            let (u, v) = (x.doubleValue, y.doubleValue)
            XCTAssertLessThanOrEqual(abs(u - v), tolerance * max(1, abs(u)), "\(path): \(u) vs \(v)")
        case let (x as [Any], y as [Any]):
            XCTAssertEqual(x.count, y.count, path)
            for (i, (p, q)) in zip(x, y).enumerated() { assertClose(p, q, tolerance: tolerance, path: "\(path)[\(i)]") }
        case let (x as [String: Any], y as [String: Any]):
            XCTAssertEqual(Set(x.keys), Set(y.keys), path)
            // The sample's genres are exact complements (Action vs Drama + Comedy), so their
            // correlations with an axis tie in size and their order is rounding's choice.
            for (k, p) in x where k != "correlates" { if let q = y[k] { assertClose(p, q, tolerance: tolerance, path: "\(path).\(k)") } }
        default:
            XCTAssertEqual("\(a)", "\(b)", path)
        }
    }

    /// OpenBLAS's generic SSE3 kernels (`Prescott`, what Debian 12's OpenBLAS
    /// runs on CPUs it does not know) and the kernels it picks for this CPU
    /// give the same PCA and the same neighbours, to float tolerance.
    func testGenericKernelsGiveTheSameResults() throws {
        let (home, path) = try savedModel()
        let commands = [["pca", "--model", path, "--all", "--json"],
                        ["similar", "Movie 7 (1977)", "--model", path, "--min-ratings", "0", "--top", "20", "--json"]]
        let generic = try EmbtoolCLI.run(["info", "--model", path, "--json"], home: home, env: ["OPENBLAS_CORETYPE": "Prescott"]).json()
        XCTAssertTrue((generic["blas"] as? String)?.contains("kernels: Prescott") == true, "\(generic["blas"] ?? "")")
        for args in commands {
            let native = try EmbtoolCLI.run(args, home: home, env: ["OPENBLAS_CORETYPE": ""])
            let prescott = try EmbtoolCLI.run(args, home: home, env: ["OPENBLAS_CORETYPE": "Prescott"])
            XCTAssertEqual(native.status, 0, native.stderr)
            XCTAssertEqual(prescott.status, 0, prescott.stderr)
            assertClose(try native.json(), try prescott.json(), tolerance: 1e-4, path: args[0])
        }
    }

    /// With OpenBLAS made to report a fallback core (a preloaded library
    /// answers `openblas_get_corename()` with "Prescott"), embtool starts again
    /// once with the kernels the CPU can run, says so under EMBTOOL_VERBOSE,
    /// and `info` reports who chose them. A set OPENBLAS_CORETYPE is left alone.
    func testStartsAgainWhenOpenBLASFellBack() throws {
        let cpu = BLASCore.CPUFeatures.current()
        let expected = cpu.avx512 ? "SkylakeX" : cpu.avx2 && cpu.fma ? "Haswell" : nil
        guard let expected else { throw XCTSkip("this CPU has neither AVX-512 nor AVX2: no better kernels to choose") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") else { throw XCTSkip("no C compiler for the preloaded library") }
        let (home, path) = try savedModel()
        let source = home + "/fallback.c", library = home + "/fallback.so"
        try TestData.write("char *openblas_get_corename(void) { return \"Prescott\"; }\n", to: source)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-shared", "-fPIC", "-o", library, source]
        try cc.run()
        cc.waitUntilExit()
        XCTAssertEqual(cc.terminationStatus, 0)

        let env = ["LD_PRELOAD": library, "EMBTOOL_VERBOSE": "1", "OPENBLAS_CORETYPE": "", BLASCore.replacedCoreVariable: ""]
        let rerun = try EmbtoolCLI.run(["info", "--model", path, "--json"], home: home, env: env)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let said = rerun.stderr.components(separatedBy: "starting again with OPENBLAS_CORETYPE=\(expected)").count - 1
        XCTAssertEqual(said, 1, "said once: \(rerun.stderr)")
        let blas = try rerun.json()["blas"] as? String ?? ""
        XCTAssertTrue(blas.contains("embtool set OPENBLAS_CORETYPE=\(expected): OpenBLAS chose Prescott"), blas)

        var userChoice = env
        userChoice["OPENBLAS_CORETYPE"] = "Prescott"
        let kept = try EmbtoolCLI.run(["info", "--model", path, "--json"], home: home, env: userChoice)
        XCTAssertEqual(kept.status, 0, kept.stderr)
        XCTAssertFalse(kept.stderr.contains("starting again"), kept.stderr)
        XCTAssertTrue((try kept.json()["blas"] as? String)?.hasSuffix("(OPENBLAS_CORETYPE=Prescott)") == true)
    }
}
