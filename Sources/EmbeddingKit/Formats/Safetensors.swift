import Foundation

/// The safetensors format (huggingface/safetensors):
///
///     [u64 little-endian N][N bytes of JSON header][raw tensor bytes]
///
/// The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}`
/// (offsets relative to the byte after the header) and may hold `__metadata__`,
/// a string-to-string map. Nothing in the header is trusted: sizes are checked
/// against the file before anything is allocated.
public enum Safetensors {
    /// The spec caps the header at 100 MB.
    static let maxHeader = 100_000_000

    public struct File {
        public var tensors: [Tensor]
        public var metadata: [String: String]
        public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name } }
    }

    static let elementSize = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    public static func read(path: String) throws -> File {
        try read(data: readInputFile(path), name: path)
    }

    public static func read(data: Data, name: String = "safetensors") throws -> File {
        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw bad("shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        guard headerLength <= maxHeader else { throw bad("header length \(headerLength) exceeds 100 MB") }
        let headerStart = data.startIndex + 8
        let header = data[headerStart..<(headerStart + Int(headerLength))]
        guard let object = try? JSONSerialization.jsonObject(with: header),
              let dict = object as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let payloadStart = headerStart + Int(headerLength)
        let payloadCount = data.count - 8 - Int(headerLength)

        var metadata: [String: String] = [:]
        var tensors: [Tensor] = []
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any],
                  let offsetsAny = info["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw bad("tensor '\(key)' lacks dtype, shape or data_offsets")
            }
            guard let size = elementSize[dtype] else { throw bad("tensor '\(key)' has unsupported dtype \(dtype)") }
            var shape: [Int] = []
            var count = 1
            for s in shapeAny {
                guard let n = (s as? NSNumber)?.intValue, n >= 0 else { throw bad("tensor '\(key)' has a bad shape") }
                let (product, overflow) = count.multipliedReportingOverflow(by: n)
                guard !overflow, product <= payloadCount else {
                    throw bad("tensor '\(key)' shape \(shapeAny) needs more bytes than the file holds")
                }
                count = product
                shape.append(n)
            }
            guard let begin = (offsetsAny[0] as? NSNumber)?.intValue, let end = (offsetsAny[1] as? NSNumber)?.intValue,
                  begin >= 0, end >= begin, end <= payloadCount else {
                throw bad("tensor '\(key)' data_offsets \(offsetsAny) lie outside the \(payloadCount)-byte data")
            }
            guard end - begin == count * size else {
                throw bad("tensor '\(key)' is \(end - begin) bytes but \(dtype)\(shape) needs \(count * size)")
            }
            let bytes = data[(payloadStart + begin)..<(payloadStart + end)]
            tensors.append(Tensor(name: key, shape: shape, values: widen(bytes, dtype: dtype, count: count), storedType: dtype))
        }
        tensors.sort { $0.name < $1.name }
        return File(tensors: tensors, metadata: metadata)
    }

    /// Little-endian elements of `dtype` to Float.
    static func widen(_ bytes: Data, dtype: String, count: Int) -> [Float] {
        bytes.withUnsafeBytes { raw -> [Float] in
            var out = [Float](repeating: 0, count: count)
            switch dtype {
            case "F32":
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "F64":
                for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case "F16":
                for i in 0..<count { out[i] = FloatBits.half(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case "BF16":
                for i in 0..<count { out[i] = FloatBits.bfloat16(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case "I64":
                for i in 0..<count { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case "I32":
                for i in 0..<count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case "I16":
                for i in 0..<count { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case "I8":
                for i in 0..<count { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
            default: // U8, BOOL
                for i in 0..<count { out[i] = Float(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
            return out
        }
    }

    /// Serialises float32 tensors and string metadata. Tensors are laid out in
    /// the order given; the header is padded with spaces to a multiple of 8.
    public static func encode(_ tensors: [Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "tensor \(t.name): shape does not match values")
            let bytes = t.values.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            // Float is little-endian on every platform Swift runs on Linux.
            t.values.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }
}
