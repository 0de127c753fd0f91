import EmbeddingCore

/// The parts of Parquet's Thrift metadata (`parquet.thrift`) embtool reads;
/// other fields are skipped. Field numbers are the specification's.
enum Parquet {
    enum PhysicalType: Int32 {
        case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
    }

    enum Repetition: Int32 { case required = 0, optional = 1, repeated = 2 }

    enum Codec: Int32 {
        case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7
        var label: String { ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"][Int(rawValue)] }
    }

    enum Encoding: Int32 {
        case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5
        case deltaLengthByteArray = 6, deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9

        /// The specification's name, for messages about encodings embtool does not read.
        static func label(_ raw: Int32) -> String {
            guard let e = Encoding(rawValue: raw) else { return String(raw) }
            return ["PLAIN", "", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                    "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"][Int(e.rawValue)]
        }
    }

    enum PageType: Int32 { case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3 }

    struct SchemaElement {
        var type: PhysicalType?
        var repetition: Repetition = .required
        var name = ""
        var numChildren = 0
    }

    struct ColumnChunk {
        var type: PhysicalType = .int32
        var path: [String] = []
        var codec: Int32 = 0
        var numValues: Int64 = 0
        var totalCompressedSize: Int64 = 0
        var dataPageOffset: Int64 = 0
        var dictionaryPageOffset: Int64?
        var filePath: String?
    }

    struct RowGroup {
        var columns: [ColumnChunk] = []
        var numRows: Int64 = 0
    }

    struct FileMetaData {
        var schema: [SchemaElement] = []
        var numRows: Int64 = 0
        var rowGroups: [RowGroup] = []
        var createdBy = ""
    }

    struct PageHeader {
        var type: Int32 = -1
        var uncompressedSize: Int32 = -1
        var compressedSize: Int32 = -1
        /// v1 and v2 data pages, and dictionary pages: the number of values (levels, with nulls).
        var numValues: Int32 = -1
        var encoding: Int32 = -1
        /// v1: the level encodings (RLE expected).
        var definitionLevelEncoding: Int32 = 3
        var repetitionLevelEncoding: Int32 = 3
        /// v2: level byte lengths (stored uncompressed before the values) and whether the values are compressed.
        var definitionLevelsLength: Int32 = 0
        var repetitionLevelsLength: Int32 = 0
        var isCompressed = true
    }
}

extension Parquet.FileMetaData {
    init(_ r: inout ThriftCompact) throws {
        try r.structure { r, id, t in
            switch id {
            case 2: schema = try r.list(t) { r, t in try Parquet.SchemaElement(&r, t) }
            case 3: numRows = try r.integer(t)
            case 4: rowGroups = try r.list(t) { r, t in try Parquet.RowGroup(&r, t) }
            case 6: createdBy = try r.string(t)
            default: try r.skip(t)
            }
        }
    }
}

extension Parquet.SchemaElement {
    init(_ r: inout ThriftCompact, _ type: ThriftCompact.FieldType) throws {
        try r.structure(type) { r, id, t in
            switch id {
            case 1: self.type = try r.enumeration(t, "physical type") as Parquet.PhysicalType
            case 3: repetition = try r.enumeration(t, "repetition")
            case 4: name = try r.string(t)
            case 5:
                let v = try r.i32(t)
                guard v >= 0 else { throw r.corrupt("\(v) children") }
                numChildren = Int(v)
            default: try r.skip(t)
            }
        }
    }
}

extension Parquet.RowGroup {
    init(_ r: inout ThriftCompact, _ type: ThriftCompact.FieldType) throws {
        try r.structure(type) { r, id, t in
            switch id {
            case 1: columns = try r.list(t) { r, t in try Parquet.ColumnChunk(&r, t) }
            case 3: numRows = try r.integer(t)
            default: try r.skip(t)
            }
        }
    }
}

extension Parquet.ColumnChunk {
    init(_ r: inout ThriftCompact, _ type: ThriftCompact.FieldType) throws {
        try r.structure(type) { r, id, t in
            switch id {
            case 1: filePath = try r.string(t)
            case 3: try readMetaData(&r, t)
            default: try r.skip(t)
            }
        }
    }

    /// `ColumnMetaData`, field 3 of `ColumnChunk`.
    mutating func readMetaData(_ r: inout ThriftCompact, _ type: ThriftCompact.FieldType) throws {
        try r.structure(type) { r, id, t in
            switch id {
            case 1: self.type = try r.enumeration(t, "physical type") as Parquet.PhysicalType
            case 3: path = try r.list(t) { r, t in try r.string(t) }
            case 4: codec = try r.i32(t)
            case 5: numValues = try r.integer(t)
            case 7: totalCompressedSize = try r.integer(t)
            case 9: dataPageOffset = try r.integer(t)
            case 11: dictionaryPageOffset = try r.integer(t)
            default: try r.skip(t)
            }
        }
    }
}

extension Parquet.PageHeader {
    init(_ r: inout ThriftCompact) throws {
        try r.structure { r, id, t in
            switch id {
            case 1: type = try r.i32(t)
            case 2: uncompressedSize = try r.i32(t)
            case 3: compressedSize = try r.i32(t)
            case 5, 7:
                // DataPageHeader and DictionaryPageHeader: num_values, encoding, (v1) level encodings.
                try r.structure(t) { r, id, t in
                    switch id {
                    case 1: numValues = try r.i32(t)
                    case 2: encoding = try r.i32(t)
                    case 3 where t != .boolTrue && t != .boolFalse: definitionLevelEncoding = try r.i32(t)
                    case 4: repetitionLevelEncoding = try r.i32(t)
                    default: try r.skip(t)
                    }
                }
            case 8:
                try r.structure(t) { r, id, t in
                    switch id {
                    case 1: numValues = try r.i32(t)
                    case 4: encoding = try r.i32(t)
                    case 5: definitionLevelsLength = try r.i32(t)
                    case 6: repetitionLevelsLength = try r.i32(t)
                    case 7: isCompressed = try r.bool(t)
                    default: try r.skip(t)
                    }
                }
            default: try r.skip(t)
            }
        }
    }
}
