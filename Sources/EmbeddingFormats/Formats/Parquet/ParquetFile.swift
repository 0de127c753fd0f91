import Foundation
import EmbeddingCore

/// One decoded Parquet column, all row groups in order. A flat column has one
/// slot per row; a list column (`array<float>`) has `offsets`, row `r` holding
/// slots `offsets[r] ..< offsets[r + 1]`. Null slots hold a placeholder (0, "",
/// false) and are false in `valid`; a null list is false in `rowValid`.
struct ParquetColumn: Sendable {
    enum Values: Sendable, Equatable {
        case boolean([Bool]), int32([Int32]), int64([Int64]), float([Float]), double([Double]), string([String])
    }
    /// The column's path in the schema, dotted (`features.list.element`).
    var name: String
    var values: Values
    /// Per slot; nil when no slot is null.
    var valid: [Bool]?
    /// List columns only: `rows + 1` slot offsets.
    var offsets: [Int]?
    /// List columns only: per row; nil when no list is null.
    var rowValid: [Bool]?
    var rows: Int
}

/// A Parquet file (Apache Parquet format 2.x), read without any library:
/// `PAR1`, column chunks of pages, the Thrift footer, its length, `PAR1`.
/// Reads flat columns and one-level lists of BOOLEAN, INT32, INT64, FLOAT,
/// DOUBLE and BYTE_ARRAY values; PLAIN, PLAIN_DICTIONARY and RLE_DICTIONARY
/// encodings; data pages v1 and v2; uncompressed, Snappy or gzip pages.
///
/// Nothing a file says is trusted: offsets and sizes are checked against the
/// file before use, page sizes are limited, and the values a column may
/// claim are limited by the file's size (`valueBudget`), so a small hostile
/// file cannot ask for a huge allocation.
struct ParquetFile {
    /// A leaf of the schema: one column chunk per row group.
    struct Leaf: Sendable {
        var path: [String]
        var type: Parquet.PhysicalType
        /// Highest definition and repetition levels.
        var maxDefinition: Int, maxRepetition: Int
        /// The definition level at which the repeated ancestor (the list) has an element.
        var repeatedDefinition: Int
        var name: String { path.joined(separator: ".") }
        var isList: Bool { maxRepetition > 0 }
    }

    let name: String
    let storage: Storage
    let metadata: Parquet.FileMetaData
    /// Where the footer starts: column data must end before it.
    let footerStart: Int
    let leaves: [Leaf]

    /// The file's bytes: a memory map, or a copy of bytes given in memory.
    final class Storage: @unchecked Sendable {
        let bytes: UnsafeBufferPointer<UInt8>
        private let mapped: MappedFile?
        private let owned: UnsafeMutableBufferPointer<UInt8>?

        init(_ file: MappedFile) {
            mapped = file
            owned = nil
            bytes = file.bytes
        }

        init(_ data: Data) {
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(data.count, 1))
            _ = buffer.initialize(from: data)
            owned = buffer
            mapped = nil
            bytes = UnsafeBufferPointer(rebasing: UnsafeBufferPointer(buffer)[0..<data.count])
        }

        deinit { owned?.deallocate() }
    }

    /// Pages larger than this are refused (writers use 1 MB).
    static let maxPageSize = 1 << 30
    /// Deeper schemas than this are refused (a list of structs is 4 levels).
    static let maxSchemaDepth = 64

    init(path: String) throws {
        try self.init(storage: Storage(try MappedFile(path)), name: path)
    }

    init(data: Data, name: String) throws {
        try self.init(storage: Storage(data), name: name)
    }

    private init(storage: Storage, name: String) throws {
        self.storage = storage
        self.name = name
        let bytes = storage.bytes
        let magic: [UInt8] = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic else {
            throw EmbtoolError.data("\(name): not a Parquet file (no PAR1 at the start)")
        }
        guard Array(bytes[(bytes.count - 4)...]) == magic else {
            throw EmbtoolError.data("\(name): truncated Parquet file (no PAR1 at the end)")
        }
        let footerLength = Int(UInt32(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt32.self)))
        guard footerLength <= bytes.count - 12 else {
            throw EmbtoolError.data("\(name): footer of \(footerLength) bytes is longer than the file")
        }
        footerStart = bytes.count - 8 - footerLength
        var thrift = ThriftCompact(UnsafeBufferPointer(rebasing: bytes[footerStart..<(bytes.count - 8)]), name: name + " footer")
        metadata = try Parquet.FileMetaData(&thrift)
        guard metadata.numRows >= 0 else { throw EmbtoolError.data("\(name): \(metadata.numRows) rows") }
        leaves = try Self.leaves(of: metadata.schema, name: name)
        for (g, group) in metadata.rowGroups.enumerated() {
            guard group.columns.count == leaves.count else {
                throw EmbtoolError.data("\(name): row group \(g) has \(group.columns.count) columns, the schema \(leaves.count)")
            }
            for (chunk, leaf) in zip(group.columns, leaves) where chunk.path != leaf.path || chunk.type != leaf.type {
                throw EmbtoolError.data("\(name): row group \(g) column \(chunk.path.joined(separator: ".")) does not match the schema's \(leaf.name)")
            }
        }
        let total = metadata.rowGroups.reduce(Int64(0)) { $0 &+ max($1.numRows, 0) }
        guard total == metadata.numRows, metadata.rowGroups.allSatisfy({ $0.numRows >= 0 }) else {
            throw EmbtoolError.data("\(name): row groups hold \(total) rows, the footer says \(metadata.numRows)")
        }
    }

    /// The schema's leaves, depth first, with their definition and repetition levels.
    static func leaves(of schema: [Parquet.SchemaElement], name: String) throws -> [Leaf] {
        guard let root = schema.first, root.numChildren > 0 else { throw EmbtoolError.data("\(name): the schema has no columns") }
        var leaves: [Leaf] = []
        var index = 1
        func walk(path: [String], definition: Int, repetition: Int, repeatedDefinition: Int, depth: Int) throws {
            guard index < schema.count else { throw EmbtoolError.data("\(name): the schema lists fewer elements than its groups claim") }
            guard depth <= maxSchemaDepth else { throw EmbtoolError.data("\(name): schema nested deeper than \(maxSchemaDepth) levels") }
            let e = schema[index]
            index += 1
            var d = definition, r = repetition, rd = repeatedDefinition
            switch e.repetition {
            case .required: break
            case .optional: d += 1
            case .repeated: d += 1; r += 1; rd = d
            }
            let path = path + [e.name]
            if e.numChildren == 0 {
                guard let type = e.type else { throw EmbtoolError.data("\(name): column \(path.joined(separator: ".")) has no type") }
                leaves.append(Leaf(path: path, type: type, maxDefinition: d, maxRepetition: r, repeatedDefinition: rd))
                return
            }
            guard e.numChildren <= schema.count - index else {
                throw EmbtoolError.data("\(name): group \(e.name) claims \(e.numChildren) children past the schema's end")
            }
            for _ in 0..<e.numChildren { try walk(path: path, definition: d, repetition: r, repeatedDefinition: rd, depth: depth + 1) }
        }
        guard root.numChildren < schema.count else { throw EmbtoolError.data("\(name): the schema lists fewer elements than its root claims") }
        for _ in 0..<root.numChildren { try walk(path: [], definition: 0, repetition: 0, repeatedDefinition: 0, depth: 1) }
        return leaves
    }

    /// The leaf named by its dotted path, or by its top-level name when that
    /// holds one leaf (`features` for `features.list.element`).
    func leaf(named column: String) -> Leaf? {
        leaves.first { $0.name == column } ?? {
            let under = leaves.filter { $0.path.first == column }
            return under.count == 1 ? under[0] : nil
        }()
    }

    /// Decodes one column of every row group.
    func read(_ leaf: Leaf) throws -> ParquetColumn {
        guard let k = leaves.firstIndex(where: { $0.path == leaf.path }) else {
            throw EmbtoolError.data("\(name): no column \(leaf.name)")
        }
        guard leaf.maxRepetition <= 1 else { throw EmbtoolError.data("\(name): column \(leaf.name) is a nested list; embtool reads flat columns and lists") }
        switch leaf.type {
        case .boolean: return try read(Bool.self, column: k) { .boolean($0) }
        case .int32: return try read(Int32.self, column: k) { .int32($0) }
        case .int64: return try read(Int64.self, column: k) { .int64($0) }
        case .float: return try read(Float.self, column: k) { .float($0) }
        case .double: return try read(Double.self, column: k) { .double($0) }
        case .byteArray: return try read(String.self, column: k) { .string($0) }
        case .int96, .fixedLenByteArray:
            throw EmbtoolError.data("\(name): column \(leaf.name) has physical type \(leaf.type); embtool reads BOOLEAN, INT32, INT64, FLOAT, DOUBLE and BYTE_ARRAY")
        }
    }

    /// Values the columns of this file may hold in all: a generous multiple of
    /// its size (a level takes at least a bit, except in long RLE runs).
    var valueBudget: Int { (1 << 24) + 64 * storage.bytes.count }

    private func read<T: ParquetValue>(_: T.Type, column k: Int, wrap: ([T]) -> ParquetColumn.Values) throws -> ParquetColumn {
        let leaf = leaves[k]
        var decoder = ColumnDecoder<T>(leaf: leaf, name: "\(name): column \(leaf.name)", budget: valueBudget)
        for (g, group) in metadata.rowGroups.enumerated() {
            let before = decoder.rows
            try readChunk(group.columns[k], group: g, into: &decoder)
            guard decoder.rows - before == Int(group.numRows) else {
                throw EmbtoolError.data("\(decoder.name): row group \(g) holds \(decoder.rows - before) rows, its header says \(group.numRows)")
            }
        }
        return decoder.finish(wrap)
    }

    /// The pages of one column chunk: an optional dictionary page, then data pages
    /// until the chunk's value count is reached.
    private func readChunk<T>(_ chunk: Parquet.ColumnChunk, group g: Int, into decoder: inout ColumnDecoder<T>) throws {
        let where_ = "\(decoder.name), row group \(g)"
        guard chunk.filePath == nil else { throw EmbtoolError.data("\(where_): data in another file (\(chunk.filePath!)) is not supported") }
        var start = chunk.dataPageOffset
        if let d = chunk.dictionaryPageOffset, d > 0, d < start { start = d }
        guard start >= 4, start <= Int64(footerStart), chunk.totalCompressedSize >= 0,
              chunk.totalCompressedSize <= Int64(footerStart) - start else {
            throw EmbtoolError.data("\(where_): column data at byte \(start) (\(chunk.totalCompressedSize) bytes) lies outside the file's \(footerStart) data bytes")
        }
        guard chunk.numValues >= 0 else { throw EmbtoolError.data("\(where_): \(chunk.numValues) values") }
        let bytes = storage.bytes
        var position = Int(start)
        let end = position + Int(chunk.totalCompressedSize)
        var left = chunk.numValues
        decoder.startRowGroup()
        while left > 0 {
            guard position < end else { throw EmbtoolError.data("\(where_): pages end with \(left) of \(chunk.numValues) values missing") }
            var thrift = ThriftCompact(UnsafeBufferPointer(rebasing: bytes[position..<end]), name: "\(where_), page header at byte \(position)")
            let header = try Parquet.PageHeader(&thrift)
            position += thrift.position
            guard header.compressedSize >= 0, Int(header.compressedSize) <= end - position else {
                throw EmbtoolError.data("\(where_): page of \(header.compressedSize) bytes at byte \(position) runs past its column chunk")
            }
            guard header.uncompressedSize >= 0, Int(header.uncompressedSize) <= Self.maxPageSize,
                  Int(header.uncompressedSize) <= (1 << 16) + 1100 * Int(header.compressedSize) else {
                throw EmbtoolError.data("\(where_): page claims \(header.uncompressedSize) bytes from \(header.compressedSize) compressed")
            }
            let page = UnsafeBufferPointer(rebasing: bytes[position..<(position + Int(header.compressedSize))])
            let pageName = "\(where_), page at byte \(position)"
            position += Int(header.compressedSize)
            switch Parquet.PageType(rawValue: header.type) {
            case .dictionaryPage:
                let plain = try Parquet.decompress(page, codec: chunk.codec, uncompressedSize: Int(header.uncompressedSize), name: pageName)
                try plain.withUnsafeBufferPointer { try decoder.setDictionary($0, header: header, name: pageName) }
            case .dataPage, .dataPageV2:
                guard header.numValues >= 0, Int64(header.numValues) <= left else {
                    throw EmbtoolError.data("\(pageName): \(header.numValues) values, more than the \(left) its column chunk has left")
                }
                try decoder.appendPage(page, header: header, codec: chunk.codec, name: pageName)
                left -= Int64(header.numValues)
            case .indexPage:
                continue
            case nil:
                throw EmbtoolError.data("\(pageName): unknown page type \(header.type)")
            }
        }
    }
}

/// Decodes the pages of one column into slots, levels into validity and offsets.
struct ColumnDecoder<T: ParquetValue> {
    let leaf: ParquetFile.Leaf
    let name: String
    var budget: Int
    var values: [T] = []
    var valid: [Bool] = []
    var anyNull = false
    var offsets: [Int] = []
    var rowValid: [Bool] = []
    var anyNullRow = false
    var rows = 0
    var dictionary: [T]?
    /// Whether a list row is open, so that a level with repetition 1 may continue it.
    var rowOpen = false

    init(leaf: ParquetFile.Leaf, name: String, budget: Int) {
        self.leaf = leaf
        self.name = name
        self.budget = budget
    }

    mutating func startRowGroup() {
        dictionary = nil
        rowOpen = false
    }

    func finish(_ wrap: ([T]) -> ParquetColumn.Values) -> ParquetColumn {
        ParquetColumn(name: leaf.name, values: wrap(values), valid: anyNull ? valid : nil,
                      offsets: leaf.isList ? offsets + [values.count] : nil,
                      rowValid: leaf.isList && anyNullRow ? rowValid : nil, rows: rows)
    }

    mutating func spend(_ count: Int) throws {
        guard count <= budget else {
            throw EmbtoolError.data("\(name): claims more values than a file of this size can hold")
        }
        budget -= count
    }

    mutating func setDictionary(_ page: UnsafeBufferPointer<UInt8>, header: Parquet.PageHeader, name: String) throws {
        guard header.encoding == Parquet.Encoding.plain.rawValue || header.encoding == Parquet.Encoding.plainDictionary.rawValue else {
            throw EmbtoolError.data("\(name): dictionary page encoding \(header.encoding), expected PLAIN")
        }
        guard header.numValues >= 0 else { throw EmbtoolError.data("\(name): \(header.numValues) dictionary values") }
        var entries: [T] = []
        _ = try T.plain(page, count: Int(header.numValues), into: &entries, name: name)
        dictionary = entries
    }

    /// Bits needed for levels up to `max`.
    static func bitWidth(_ max: Int) -> Int { max == 0 ? 0 : Int.bitWidth - max.leadingZeroBitCount }

    /// Levels `0...max` from RLE-hybrid `bytes`.
    func levels(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, max: Int, what: String) throws -> [Int32] {
        var hybrid = try RLEHybrid(bytes, width: Self.bitWidth(max), name: "\(name): \(what) levels")
        let levels = try [Int32](unsafeUninitializedCapacity: count) { out, n in
            try hybrid.decode(count: count, into: out)
            n = count
        }
        if let bad = levels.first(where: { $0 < 0 || Int($0) > max }) {
            throw EmbtoolError.data("\(name): \(what) level \(bad) above the schema's \(max)")
        }
        return levels
    }

    /// v1 levels: a 4-byte length, then the RLE hybrid. Returns the levels and the bytes used.
    func prefixedLevels(_ data: UnsafeBufferPointer<UInt8>, at p: Int, count: Int, max: Int, what: String) throws -> ([Int32], Int) {
        guard data.count - p >= 4 else { throw EmbtoolError.data("\(name): truncated \(what) levels") }
        let length = Int(UInt32(littleEndian: UnsafeRawBufferPointer(data).loadUnaligned(fromByteOffset: p, as: UInt32.self)))
        guard length <= data.count - p - 4 else {
            throw EmbtoolError.data("\(name): \(what) levels of \(length) bytes run past the page")
        }
        return (try levels(UnsafeBufferPointer(rebasing: data[(p + 4)..<(p + 4 + length)]), count: count, max: max, what: what), 4 + length)
    }

    mutating func appendPage(_ page: UnsafeBufferPointer<UInt8>, header h: Parquet.PageHeader, codec: Int32, name pageName: String) throws {
        let count = Int(h.numValues)
        try spend(count)
        var repetition: [Int32]?, definition: [Int32]?
        if h.type == Parquet.PageType.dataPage.rawValue {
            let data = try Parquet.decompress(page, codec: codec, uncompressedSize: Int(h.uncompressedSize), name: pageName)
            try data.withUnsafeBufferPointer { data in
                var p = 0
                for (max, encoding, what) in [(leaf.maxRepetition, h.repetitionLevelEncoding, "repetition"),
                                              (leaf.maxDefinition, h.definitionLevelEncoding, "definition")] where max > 0 {
                    guard encoding == Parquet.Encoding.rle.rawValue else {
                        throw EmbtoolError.data("\(pageName): \(what) levels in encoding \(Parquet.Encoding.label(encoding)); embtool reads RLE levels")
                    }
                    let (levels, used) = try prefixedLevels(data, at: p, count: count, max: max, what: what)
                    if what == "repetition" { repetition = levels } else { definition = levels }
                    p += used
                }
                try appendValues(UnsafeBufferPointer(rebasing: data[p...]), count: count, repetition: repetition,
                                 definition: definition, encoding: h.encoding, name: pageName)
            }
        } else {
            // v2: levels first, uncompressed and unprefixed; then the (maybe compressed) values.
            let repLength = Int(h.repetitionLevelsLength), defLength = Int(h.definitionLevelsLength)
            guard repLength >= 0, defLength >= 0, repLength <= page.count, defLength <= page.count - repLength,
                  repLength + defLength <= Int(h.uncompressedSize) else {
                throw EmbtoolError.data("\(pageName): level lengths \(repLength) + \(defLength) exceed the page")
            }
            if leaf.maxRepetition > 0 {
                repetition = try levels(UnsafeBufferPointer(rebasing: page[0..<repLength]), count: count, max: leaf.maxRepetition, what: "repetition")
            }
            if leaf.maxDefinition > 0 {
                definition = try levels(UnsafeBufferPointer(rebasing: page[repLength..<(repLength + defLength)]), count: count,
                                        max: leaf.maxDefinition, what: "definition")
            }
            let rest = UnsafeBufferPointer(rebasing: page[(repLength + defLength)...])
            let size = Int(h.uncompressedSize) - repLength - defLength
            let data = h.isCompressed ? try Parquet.decompress(rest, codec: codec, uncompressedSize: size, name: pageName) : Array(rest)
            try data.withUnsafeBufferPointer {
                try appendValues($0, count: count, repetition: repetition, definition: definition, encoding: h.encoding, name: pageName)
            }
        }
    }

    /// The non-null values of a page (PLAIN, dictionary indices, or RLE booleans).
    func decodeValues(_ data: UnsafeBufferPointer<UInt8>, count: Int, encoding: Int32, name pageName: String) throws -> [T] {
        var out: [T] = []
        switch Parquet.Encoding(rawValue: encoding) {
        case .plain:
            _ = try T.plain(data, count: count, into: &out, name: pageName)
        case .plainDictionary, .rleDictionary:
            guard let dictionary else { throw EmbtoolError.data("\(pageName): dictionary-encoded values without a dictionary page") }
            guard let width = data.first else {
                if count == 0 { return [] }
                throw EmbtoolError.data("\(pageName): dictionary indices missing")
            }
            var hybrid = try RLEHybrid(UnsafeBufferPointer(rebasing: data[1...]), width: Int(width), name: "\(pageName): dictionary indices")
            let indices = try [Int32](unsafeUninitializedCapacity: count) { buffer, n in
                try hybrid.decode(count: count, into: buffer)
                n = count
            }
            out.reserveCapacity(count)
            for i in indices {
                guard i >= 0, Int(i) < dictionary.count else {
                    throw EmbtoolError.data("\(pageName): dictionary index \(i) past the dictionary's \(dictionary.count) entries")
                }
                out.append(dictionary[Int(i)])
            }
        case .rle where T.physical == .boolean:
            // Booleans, RLE-encoded (pyarrow's v2 pages): a 4-byte length, then the hybrid at width 1.
            guard data.count >= 4 else { throw EmbtoolError.data("\(pageName): truncated RLE booleans") }
            let length = Int(UInt32(littleEndian: UnsafeRawBufferPointer(data).loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            guard length <= data.count - 4 else { throw EmbtoolError.data("\(pageName): RLE booleans of \(length) bytes run past the page") }
            var hybrid = try RLEHybrid(UnsafeBufferPointer(rebasing: data[4..<(4 + length)]), width: 1, name: "\(pageName): booleans")
            let bits = try [Int32](unsafeUninitializedCapacity: count) { buffer, n in
                try hybrid.decode(count: count, into: buffer)
                n = count
            }
            // T is Bool here: only Bool has the BOOLEAN physical type.
            out = bits.map { $0 & 1 == 1 } as! [T]
        default:
            throw EmbtoolError.data("\(pageName): value encoding \(Parquet.Encoding.label(encoding)) not supported; "
                + "embtool reads PLAIN and dictionary encodings")
        }
        return out
    }

    /// Places a page's values in slots, by its levels.
    mutating func appendValues(_ data: UnsafeBufferPointer<UInt8>, count: Int, repetition: [Int32]?, definition: [Int32]?,
                               encoding: Int32, name pageName: String) throws {
        let maxDef = Int32(leaf.maxDefinition)
        let present = definition.map { $0.reduce(0) { $0 + ($1 == maxDef ? 1 : 0) } } ?? count
        let dense = try decodeValues(data, count: present, encoding: encoding, name: pageName)
        guard let definition else {
            // Required flat column: every level is a row with a value.
            values.append(contentsOf: dense)
            if anyNull { valid.append(contentsOf: repeatElement(true, count: count)) }
            rows += count
            return
        }
        var next = 0
        func slot(_ d: Int32) {
            if d == maxDef {
                values.append(dense[next])
                next += 1
                if anyNull { valid.append(true) }
            } else {
                if !anyNull {
                    anyNull = true
                    valid = [Bool](repeating: true, count: values.count)
                }
                values.append(T.placeholder)
                valid.append(false)
            }
        }
        guard let repetition else {
            values.reserveCapacity(values.count + count)
            for d in definition { slot(d) }
            rows += count
            return
        }
        // A list: repetition 0 starts a row; the row has an element when the
        // definition reaches the repeated field, and is null below its parent.
        let elementLevel = Int32(leaf.repeatedDefinition)
        for (r, d) in zip(repetition, definition) {
            if r == 0 {
                offsets.append(values.count)
                let isValid = d >= elementLevel - 1
                if !isValid && !anyNullRow {
                    anyNullRow = true
                    rowValid = [Bool](repeating: true, count: rows)
                }
                if anyNullRow { rowValid.append(isValid) }
                rows += 1
                rowOpen = true
            } else {
                guard rowOpen else { throw EmbtoolError.data("\(pageName): a list continues a row that never started") }
                guard d >= elementLevel else { throw EmbtoolError.data("\(pageName): a continued list has no element") }
            }
            if d >= elementLevel { slot(d) }
        }
    }
}
