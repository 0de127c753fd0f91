import EmbeddingCore

/// A Parquet physical type as a Swift value: how PLAIN encoding stores it.
protocol ParquetValue {
    static var physical: Parquet.PhysicalType { get }
    /// What a null slot holds (its `valid` flag says it is null).
    static var placeholder: Self { get }
    /// Appends `count` PLAIN-encoded values from the start of `bytes`; returns the bytes used.
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, into out: inout [Self], name: String) throws -> Int
}

/// Fixed-width little-endian numbers: `count * size` bytes, checked first.
protocol ParquetFixedValue: ParquetValue {
    static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Self
}

extension ParquetFixedValue {
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, into out: inout [Self], name: String) throws -> Int {
        let size = MemoryLayout<Self>.size
        guard count >= 0, count <= bytes.count / size else {
            throw EmbtoolError.data("\(name): \(count) PLAIN values need \(count) × \(size) bytes, the page holds \(bytes.count)")
        }
        let raw = UnsafeRawBufferPointer(bytes)
        out.reserveCapacity(out.count + count)
        for i in 0..<count { out.append(load(raw, at: i * size)) }
        return count * size
    }
}

extension Int32: ParquetFixedValue {
    static var physical: Parquet.PhysicalType { .int32 }
    static var placeholder: Int32 { 0 }
    static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
}

extension Int64: ParquetFixedValue {
    static var physical: Parquet.PhysicalType { .int64 }
    static var placeholder: Int64 { 0 }
    static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }
}

extension Float: ParquetFixedValue {
    static var physical: Parquet.PhysicalType { .float }
    static var placeholder: Float { 0 }
    static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
}

extension Double: ParquetFixedValue {
    static var physical: Parquet.PhysicalType { .double }
    static var placeholder: Double { 0 }
    static func load(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
    }
}

extension Bool: ParquetValue {
    static var physical: Parquet.PhysicalType { .boolean }
    static var placeholder: Bool { false }
    /// PLAIN booleans are bit-packed, least-significant bit first.
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, into out: inout [Bool], name: String) throws -> Int {
        guard count >= 0, count <= bytes.count * 8 else {
            throw EmbtoolError.data("\(name): \(count) PLAIN booleans need \((count + 7) / 8) bytes, the page holds \(bytes.count)")
        }
        out.reserveCapacity(out.count + count)
        for i in 0..<count { out.append(bytes[i >> 3] >> UInt8(i & 7) & 1 == 1) }
        return (count + 7) / 8
    }
}

extension String: ParquetValue {
    static var physical: Parquet.PhysicalType { .byteArray }
    static var placeholder: String { "" }
    /// PLAIN byte arrays: a 4-byte little-endian length, then the bytes (read as UTF-8).
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, into out: inout [String], name: String) throws -> Int {
        // Each value takes at least its 4-byte length.
        guard count >= 0, count <= bytes.count / 4 else {
            throw EmbtoolError.data("\(name): \(count) PLAIN strings need at least \(count) × 4 bytes, the page holds \(bytes.count)")
        }
        out.reserveCapacity(out.count + count)
        var p = 0
        for _ in 0..<count {
            guard bytes.count - p >= 4 else { throw EmbtoolError.data("\(name): PLAIN strings run past the page") }
            let length = Int(UInt32(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: p, as: UInt32.self)))
            p += 4
            guard length <= bytes.count - p else {
                throw EmbtoolError.data("\(name): a string of \(length) bytes runs past the page")
            }
            out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[p..<(p + length)]), as: UTF8.self))
            p += length
        }
        return p
    }
}
