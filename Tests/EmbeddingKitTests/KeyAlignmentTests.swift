@testable import EmbeddingCore
import XCTest

/// `KeyAlignment`, the one mapping of data keys to model rows, on cases worked by hand.
final class KeyAlignmentTests: XCTestCase {
    func testKeysMatchByNameWithNaNeverMatchingAndTheFirstOfARepeatedKeyTakingTheRatings() {
        let a = KeyAlignment(data: ["#na#", "a", "b", "c"], model: ["#na#", "b", "x", "b", "a"], modelRows: 5)
        XCTAssertEqual(a.basis, .keys)
        XCTAssertEqual(a.modelRow, [-1, 4, 1, -1], "c is not in the model; b's ratings go to its first row")
        XCTAssertEqual(a.dataRow, [-1, 2, -1, 2, 1], "both rows keyed b are labelled from the data")
        XCTAssertEqual(a.dataKeysNotInModel, 1)
        XCTAssertEqual(a.modelKeysNotInData, 1)
        XCTAssertEqual(a.repeatedModelKeys, 1)
    }

    func testIdenticalVocabulariesMatchRowForRow() {
        let keys = ["#na#", "x", "y"]
        let a = KeyAlignment(data: keys, model: keys, modelRows: 3)
        XCTAssertEqual(a.modelRow, [-1, 1, 2])
        XCTAssertEqual(a.dataRow, [-1, 1, 2])
        XCTAssertEqual([a.dataKeysNotInModel, a.modelKeysNotInData, a.repeatedModelKeys], [0, 0, 0])
    }

    func testAModelWithoutKeysMatchesByPosition() {
        let a = KeyAlignment(data: ["#na#", "a", "b", "c"], model: [], modelRows: 3)
        XCTAssertEqual(a.basis, .position)
        XCTAssertEqual(a.modelRow, [-1, 1, 2, -1])
        XCTAssertEqual(a.dataRow, [-1, 1, 2])
        XCTAssertEqual(a.dataKeysNotInModel, 1)
    }

    func testOneKeyLooksUpLikeAWholeVocabulary() {
        let model = ["#na#", "7", "3", "7"]
        XCTAssertEqual(KeyAlignment.row(of: "7", in: model), 1)
        XCTAssertNil(KeyAlignment.row(of: "#na#", in: model), "#na# is nobody")
        XCTAssertNil(KeyAlignment.row(of: "9", in: model))
        XCTAssertNil(KeyAlignment.row(of: "7", in: []))
        XCTAssertEqual(KeyAlignment.row(of: "3", in: model), KeyAlignment(data: ["3"], model: model, modelRows: 4).modelRow[0])
    }
}
