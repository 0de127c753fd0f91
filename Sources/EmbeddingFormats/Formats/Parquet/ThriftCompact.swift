import EmbeddingCore

/// A reader of Apache Thrift's compact protocol, the encoding of Parquet's
/// footer (`FileMetaData`) and page headers. Structs are sequences of fields,
/// each a header byte (field-id delta in the high nibble, type in the low one;
/// delta 0 means a zigzag i16 id follows) and a value; integers are zigzag
/// varints, strings a varint length and bytes, lists a size/type byte (size 15
/// means a varint size follows). Every length is checked against the bytes
/// left, and nesting is limited, so hostile metadata is an error, never a trap
/// or a stack overflow.
struct ThriftCompact {
    enum FieldType: UInt8 {
        case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6
        case double = 7, binary = 8, list = 9, set = 10, map = 11, structure = 12
    }

    /// Deeper nesting than any Parquet structure needs (statistics inside
    /// column metadata inside row groups is 5) is hostile.
    static let maxDepth = 32

    let bytes: UnsafeBufferPointer<UInt8>
    let name: String
    private(set) var position = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, name: String) {
        self.bytes = bytes
        self.name = name
    }

    var remaining: Int { bytes.count - position }

    func corrupt(_ why: String) -> EmbtoolError {
        .data("\(name): corrupt Thrift metadata (\(why) at byte \(position))")
    }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw corrupt("truncated") }
        defer { position += 1 }
        return bytes[position]
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let b = try byte()
            guard shift < 63 || b <= 1 else { throw corrupt("varint overflows 64 bits") }
            value |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return value }
        }
        throw corrupt("varint longer than 10 bytes")
    }

    mutating func zigzag() throws -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// Any integer field (byte, i16, i32, i64), as Int64.
    mutating func integer(_ type: FieldType) throws -> Int64 {
        switch type {
        case .byte: return Int64(Int8(bitPattern: try byte()))
        case .i16, .i32, .i64: return try zigzag()
        default: throw corrupt("expected an integer, found \(type)")
        }
    }

    mutating func i32(_ type: FieldType) throws -> Int32 {
        let v = try integer(type)
        guard let small = Int32(exactly: v) else { throw corrupt("\(v) does not fit in i32") }
        return small
    }

    /// An i32 field that must name one of `E`'s cases (`what` words the error).
    mutating func enumeration<E: RawRepresentable>(_ type: FieldType, _ what: String) throws -> E where E.RawValue == Int32 {
        let v = try i32(type)
        guard let value = E(rawValue: v) else { throw corrupt("unknown \(what) \(v)") }
        return value
    }

    /// A boolean field: its value is the type nibble itself.
    func bool(_ type: FieldType) throws -> Bool {
        switch type {
        case .boolTrue: return true
        case .boolFalse: return false
        default: throw corrupt("expected a boolean, found \(type)")
        }
    }

    mutating func binary(_ type: FieldType) throws -> UnsafeBufferPointer<UInt8> {
        guard type == .binary else { throw corrupt("expected a string, found \(type)") }
        let length = try varint()
        guard length <= UInt64(remaining) else { throw corrupt("string of \(length) bytes past the end") }
        defer { position += Int(length) }
        return UnsafeBufferPointer(rebasing: bytes[position..<(position + Int(length))])
    }

    mutating func string(_ type: FieldType) throws -> String {
        String(decoding: try binary(type), as: UTF8.self)
    }

    /// A list's element type and size. Each element takes at least one byte
    /// (a struct its stop byte), so a size past the bytes left is corrupt.
    mutating func listHeader(_ type: FieldType) throws -> (FieldType, Int) {
        guard type == .list || type == .set else { throw corrupt("expected a list, found \(type)") }
        let header = try byte()
        var size = UInt64(header >> 4)
        if size == 15 { size = try varint() }
        guard let element = FieldType(rawValue: header & 0x0F), element != .stop else {
            throw corrupt("unknown list element type \(header & 0x0F)")
        }
        guard size <= UInt64(remaining) else { throw corrupt("list of \(size) elements past the end") }
        return (element, Int(size))
    }

    /// The elements of a list field, each read by `element`.
    mutating func list<T>(_ type: FieldType, _ element: (inout ThriftCompact, FieldType) throws -> T) throws -> [T] {
        let (elementType, size) = try listHeader(type)
        var out: [T] = []
        out.reserveCapacity(size)
        for _ in 0..<size { out.append(try element(&self, elementType)) }
        return out
    }

    /// A struct: `field(&reader, id, type)` per field, which must read the
    /// value (or `skip` it) before returning.
    mutating func structure(_ type: FieldType = .structure, _ field: (inout ThriftCompact, Int16, FieldType) throws -> Void) throws {
        guard type == .structure else { throw corrupt("expected a struct, found \(type)") }
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw corrupt("nested deeper than \(Self.maxDepth) levels") }
        var lastId: Int16 = 0
        while true {
            let header = try byte()
            guard header != 0 else { return }
            guard let type = FieldType(rawValue: header & 0x0F), type != .stop else {
                throw corrupt("unknown field type \(header & 0x0F)")
            }
            let delta = Int16(header >> 4)
            let id: Int16
            if delta == 0 {
                let v = try zigzag()
                guard let small = Int16(exactly: v) else { throw corrupt("field id \(v)") }
                id = small
            } else {
                id = lastId &+ delta
            }
            lastId = id
            try field(&self, id, type)
        }
    }

    /// Reads past a value of any type.
    mutating func skip(_ type: FieldType) throws {
        switch type {
        case .stop: throw corrupt("stop where a value belongs")
        case .boolTrue, .boolFalse: return
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard remaining >= 8 else { throw corrupt("truncated double") }
            position += 8
        case .binary: _ = try binary(type)
        case .list, .set:
            let (element, size) = try listHeader(type)
            try nested { r in
                for _ in 0..<size {
                    // Booleans inside a list take one byte each.
                    if element == .boolTrue || element == .boolFalse { _ = try r.byte() } else { try r.skip(element) }
                }
            }
        case .map:
            let size = try varint()
            guard size <= UInt64(remaining) else { throw corrupt("map of \(size) entries past the end") }
            guard size > 0 else { return }
            let types = try byte()
            guard let key = FieldType(rawValue: types >> 4), let value = FieldType(rawValue: types & 0x0F),
                  key != .stop, value != .stop else { throw corrupt("unknown map types \(types)") }
            try nested { r in
                for _ in 0..<size {
                    for t in [key, value] {
                        if t == .boolTrue || t == .boolFalse { _ = try r.byte() } else { try r.skip(t) }
                    }
                }
            }
        case .structure: try structure(type) { r, _, t in try r.skip(t) }
        }
    }

    private mutating func nested(_ body: (inout ThriftCompact) throws -> Void) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw corrupt("nested deeper than \(Self.maxDepth) levels") }
        try body(&self)
    }
}
