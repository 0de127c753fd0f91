import CTrainKernels
import XCTest
@testable import EmbeddingCore
@testable import EmbeddingTrain

/// The training-data fingerprint: the C block function on the CPU's SHA
/// extensions against FIPS 180-4's examples and the Swift function, and the
/// fingerprint against the documented bytes.
final class TrainChecksumTests: XCTestCase {
    func extensionsHex(_ pieces: [[UInt8]]) throws -> String {
        guard embtool_sha256_has_extensions() != 0 else { throw XCTSkip("this CPU has no SHA extensions") }
        var sha = SHA256(blocks: { embtool_sha256_blocks_extensions($0, $1, $2) })
        for piece in pieces { sha.update(piece) }
        return sha.hexDigest()
    }

    func testExtensionsGiveFIPSExamples() throws {
        XCTAssertEqual(try extensionsHex([Array("abc".utf8)]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try extensionsHex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try extensionsHex([Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)]),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million "a": 15,625 blocks in one call.
        XCTAssertEqual(try extensionsHex([[UInt8](repeating: 0x61, count: 1_000_000)]),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testExtensionsAgreeWithTheSwiftFunction() throws {
        var rng = SplitMix64(seed: 5)
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 17] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let cut = length / 3
            XCTAssertEqual(try extensionsHex([Array(bytes[..<cut]), Array(bytes[cut...])]), SHA256.hex(bytes), "\(length) bytes")
        }
    }

    /// The documented layout, written out the slow way and hashed in Swift: the
    /// chunked path must give the same digest on each side of its 16,384-row chunks.
    func testTrainingChecksumIsTheSHA256OfTheDocumentedRows() throws {
        let data = try LowRank.ratings(users: 300, items: 150, rank: 2, density: 0.8, noise: 0.1, seed: 2)
        XCTAssertGreaterThan(data.count, 32_768 + 1)
        for n in [0, 1, 7, 16_383, 16_384, 16_385, 32_769] {
            let part = data.subset(Array(0..<n))
            var bytes: [UInt8] = []
            for j in 0..<n {
                for word in [UInt32(bitPattern: part.user[j]), UInt32(bitPattern: part.item[j]), part.rating[j].bitPattern] {
                    bytes += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
                }
            }
            XCTAssertEqual(Trainer.trainingChecksum(part), SHA256.hex(bytes), "\(n) ratings")
        }
    }
}
