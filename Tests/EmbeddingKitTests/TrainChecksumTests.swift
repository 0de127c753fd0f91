import CTrainKernels
import XCTest
@testable import EmbeddingCore
@testable import EmbeddingTrain

/// The C compression function behind the training-data fingerprint, each
/// variant the CPU has, against FIPS 180-4's examples and the Swift function.
final class TrainChecksumTests: XCTestCase {
    override func tearDown() { embtool_sha256_set_level(embtool_sha256_supported_level()) }

    func kernelHex(_ pieces: [[UInt8]]) -> String {
        var sha = SHA256(blocks: { embtool_sha256_blocks($0, $1, $2) })
        for piece in pieces { sha.update(piece) }
        return sha.hexDigest()
    }

    var levels: ClosedRange<Int32> { 0...embtool_sha256_supported_level() }

    func testEveryVariantGivesFIPSExamples() {
        for level in levels {
            XCTAssertEqual(embtool_sha256_set_level(level), level)
            XCTAssertEqual(kernelHex([Array("abc".utf8)]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            XCTAssertEqual(kernelHex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            XCTAssertEqual(kernelHex([Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)]),
                           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "level \(level)")
            // One million "a": 15,625 blocks in one call.
            XCTAssertEqual(kernelHex([[UInt8](repeating: 0x61, count: 1_000_000)]),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "level \(level)")
        }
    }

    func testEveryVariantAgreesWithTheSwiftFunction() {
        var rng = SplitMix64(seed: 5)
        for level in levels {
            embtool_sha256_set_level(level)
            for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096 + 17] {
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let cut = length / 3
                XCTAssertEqual(kernelHex([Array(bytes[..<cut]), Array(bytes[cut...])]), SHA256.hex(bytes),
                               "level \(level), \(length) bytes")
            }
        }
    }

    /// The documented layout, written out the slow way and hashed in Swift: the
    /// chunked C path must give the same digest on each side of its 16,384-row chunks.
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
            for level in levels {
                embtool_sha256_set_level(level)
                XCTAssertEqual(Trainer.trainingChecksum(part), SHA256.hex(bytes), "\(n) ratings, level \(level)")
            }
        }
    }
}
