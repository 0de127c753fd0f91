import Foundation
import EmbeddingCore

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

    /// True when the first 8 bytes are a plausible header length followed by `{`.
    public static func looksLike(_ data: Data) -> Bool {
        guard data.count >= 10, let n = data.littleEndian(UInt64.self, at: 0), n >= 2, n <= UInt64(data.count - 8) else { return false }
        return data.littleEndian(UInt8.self, at: 8) == UInt8(ascii: "{")
    }

    public static func read(path: String) throws -> File {
        try read(data: readInputFile(path), name: path)
    }

    /// Reads every tensor, widened to Float.
    public static func read(data: Data, name: String = "safetensors") throws -> File {
        let index = try index(data: data, name: name)
        return File(tensors: try index.tensors.map { try $0.load() }, metadata: index.metadata)
    }

    /// Lists the tensors, checking every shape and offset against the file; the
    /// values are read when an entry is loaded.
    public static func index(data: Data, name: String = "safetensors") throws -> (tensors: [TensorEntry], metadata: [String: String]) {
        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid safetensors file: \(why)") }
        guard let headerLength = data.littleEndian(UInt64.self, at: 0) else { throw bad("shorter than its 8-byte header length") }
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        guard headerLength <= maxHeader else { throw bad("header length \(headerLength) exceeds 100 MB") }
        let header = data.bytes(at: 8, count: Int(headerLength))!
        guard let object = try? JSONSerialization.jsonObject(with: header),
              let dict = object as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let payloadStart = 8 + Int(headerLength)
        let payloadCount = data.count - payloadStart

        var metadata: [String: String] = [:]
        var tensors: [TensorEntry] = []
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
                  let dtypeName = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any],
                  let offsetsAny = info["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw bad("tensor '\(key)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = ElementType(rawValue: dtypeName) else { throw bad("tensor '\(key)' has unsupported dtype \(dtypeName)") }
            var shape: [Int] = []
            for s in shapeAny {
                guard let number = s as? NSNumber, let n = Int(exactly: number.doubleValue), n >= 0 else {
                    throw bad("tensor '\(key)' has a bad shape \(shapeAny)")
                }
                shape.append(n)
            }
            guard let count = elementCount(shape, limit: payloadCount) else {
                throw bad("tensor '\(key)' shape \(shape) needs more bytes than the file holds")
            }
            guard let beginNumber = offsetsAny[0] as? NSNumber, let endNumber = offsetsAny[1] as? NSNumber,
                  let begin = Int(exactly: beginNumber.doubleValue), let end = Int(exactly: endNumber.doubleValue),
                  begin >= 0, end >= begin, end <= payloadCount else {
                throw bad("tensor '\(key)' data_offsets \(offsetsAny) lie outside the \(payloadCount)-byte data")
            }
            guard end - begin == count * dtype.size else {
                throw bad("tensor '\(key)' is \(end - begin) bytes but \(dtypeName)\(shape) needs \(count * dtype.size)")
            }
            let bytes = data.bytes(at: payloadStart + begin, count: end - begin)!
            tensors.append(TensorEntry(name: key, shape: shape, dtype: dtypeName) { dtype.widen(bytes, count: count) })
        }
        tensors.sort { $0.name < $1.name }
        return (tensors, metadata)
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
