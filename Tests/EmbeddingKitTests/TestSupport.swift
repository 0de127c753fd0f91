import EmbeddingCore
import EmbeddingFormats
import Foundation
import XCTest

/// Shared test helpers: where MovieLens 100k lives and scratch folders.
enum TestData {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/ml-100k` beside the repository (as CI lays it out), or
    /// `$EMBTOOL_TEST_ML100K`. MovieLens is never committed (its license).
    static func ml100k() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let candidates: [String] = [env["EMBTOOL_TEST_ML100K"], repoRoot.appendingPathComponent("../shared/ml-100k").standardized.path].compactMap { $0 }
        for path in candidates where FileManager.default.fileExists(atPath: path + "/u.data") {
            return path
        }
        throw XCTSkip("MovieLens 100k not found beside the repository (../shared/ml-100k) or in $EMBTOOL_TEST_ML100K")
    }

    /// A fresh temporary folder, removed when the test ends.
    static func scratch(_ test: XCTestCase) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embtool-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }

    static func write(_ text: String, to path: String, encoding: String.Encoding = .utf8) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard let data = text.data(using: encoding) else { throw EmbtoolError.data("cannot encode fixture") }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
