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
        return File(tensors: try index.tensors.map { try $0.load() }, metadata: try index.metadata.all())
    }

    /// Lists the tensors, checking every shape and offset against the file; the
    /// values are read when an entry is loaded.
    public static func index(data: Data, name: String = "safetensors") throws -> (tensors: [TensorEntry], metadata: Metadata) {
        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid safetensors file: \(why)") }
        guard let headerLength = data.littleEndian(UInt64.self, at: 0) else { throw bad("shorter than its 8-byte header length") }
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        guard headerLength <= maxHeader else { throw bad("header length \(headerLength) exceeds 100 MB") }
        let payloadStart = 8 + Int(headerLength)
        let payloadCount = data.count - payloadStart
        let header: Header
        do {
            header = try data.withUnsafeBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[8..<payloadStart])
                var first = JSONScanner(bytes)
                guard first.peek() == UInt8(ascii: "{") else { throw bad("header is not a JSON object") }
                return try Header.parse(bytes)
            }
        } catch let failure as JSONScanner.Failure {
            throw bad("header: \(failure.description)")
        }

        var tensors: [TensorEntry] = []
        for info in header.tensors {
            let key = info.name
            guard let dtype = ElementType(rawValue: info.dtype) else { throw bad("tensor '\(key)' has unsupported dtype \(info.dtype)") }
            guard info.shape.allSatisfy({ $0 >= 0 }) else { throw bad("tensor '\(key)' has a bad shape \(info.shape)") }
            guard let count = elementCount(info.shape, limit: payloadCount) else {
                throw bad("tensor '\(key)' shape \(info.shape) needs more bytes than the file holds")
            }
            let (begin, end) = (info.offsets[0], info.offsets[1])
            guard begin >= 0, end >= begin, end <= payloadCount else {
                throw bad("tensor '\(key)' data_offsets \(info.offsets) lie outside the \(payloadCount)-byte data")
            }
            guard end - begin == count * dtype.size else {
                throw bad("tensor '\(key)' is \(end - begin) bytes but \(info.dtype)\(info.shape) needs \(count * dtype.size)")
            }
            // A slice of the (memory-mapped) file: nothing is copied until the entry is loaded.
            let bytes = data.bytes(at: payloadStart + begin, count: end - begin)!
            tensors.append(TensorEntry(name: key, shape: info.shape, dtype: info.dtype) { dtype.widen(bytes, count: count) })
        }
        tensors.sort { $0.name < $1.name }
        let metadata = Metadata(header: data.bytes(at: 8, count: Int(headerLength))!, tokens: header.metadata, name: name)
        return (tensors, metadata)
    }

    /// The header's content as written, before it is checked against the file.
    struct Header {
        struct Info {
            var name: String
            var dtype: String
            var shape: [Int]
            /// `[begin, end]`, two integers.
            var offsets: [Int]
        }
        var tensors: [Info] = []
        /// Each `__metadata__` value, not yet decoded.
        var metadata: [String: JSONScanner.StringToken] = [:]

        /// Reads `{"name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]}, ...,
        /// "__metadata__": {"key": "value", ...}}` followed by white space only (the
        /// padding). Other keys inside a tensor's object are skipped; a name given
        /// twice is refused, since readers would disagree on which one counts.
        static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Header {
            var s = JSONScanner(bytes)
            var header = Header()
            var names = Set<String>()
            guard s.peek() == UInt8(ascii: "{") else { throw s.fail("not a JSON object") }
            try s.object { key, s in
                guard names.insert(key).inserted else { throw s.fail("'\(key)' appears twice") }
                if key == "__metadata__" {
                    guard s.peek() == UInt8(ascii: "{") else { throw s.fail("__metadata__ is not an object") }
                    try s.object { k, s in
                        guard s.peek() == UInt8(ascii: "\"") else { throw s.fail("__metadata__ value for '\(k)' is not a string") }
                        header.metadata[k] = try s.stringToken()
                    }
                    return
                }
                var dtype: String?, shape: [Int]?, offsets: [Int]?
                guard s.peek() == UInt8(ascii: "{") else { throw s.fail("tensor '\(key)' is not an object") }
                try s.object { field, s in
                    switch field {
                    case "dtype": dtype = try s.string()
                    case "shape": shape = try s.array { try $0.integer() }
                    case "data_offsets": offsets = try s.array { try $0.integer() }
                    default: try s.skipValue(depth: 2)
                    }
                }
                guard let dtype, let shape, let offsets, offsets.count == 2 else {
                    throw s.fail("tensor '\(key)' lacks dtype, shape or data_offsets")
                }
                header.tensors.append(Info(name: key, dtype: dtype, shape: shape, offsets: offsets))
            }
            try s.end()
            return header
        }
    }

    /// The `__metadata__` strings, each decoded when asked for: a model's
    /// metadata holds its vocabularies (megabytes for a large one), and a
    /// command about items never needs the users'. A value is checked (escapes,
    /// UTF-8) when it is decoded, so a bad one fails the command that reads it.
    public struct Metadata: ExpressibleByDictionaryLiteral {
        /// The header's bytes (a slice of the file) and where each value lies in them.
        let header: Data
        let tokens: [String: JSONScanner.StringToken]
        /// Values given already decoded.
        let decoded: [String: String]
        let name: String

        init(header: Data, tokens: [String: JSONScanner.StringToken], name: String) {
            self.header = header
            self.tokens = tokens
            decoded = [:]
            self.name = name
        }

        public init(_ decoded: [String: String]) {
            header = Data()
            tokens = [:]
            self.decoded = decoded
            name = "metadata"
        }

        public init(dictionaryLiteral elements: (String, String)...) {
            self.init(Dictionary(elements, uniquingKeysWith: { $1 }))
        }

        public var keys: Set<String> { Set(tokens.keys).union(decoded.keys) }

        /// The value of `key`, decoded; nil when absent.
        public func value(_ key: String) throws -> String? {
            if let v = decoded[key] { return v }
            guard let token = tokens[key] else { return nil }
            return try header.withUnsafeBytes { raw in
                var scratch: [UInt8] = []
                do {
                    return try JSONScanner(raw).decode(token, scratch: &scratch)
                } catch let failure as JSONScanner.Failure {
                    throw EmbtoolError.data("\(name): not a valid safetensors file: __metadata__ value for '\(key)': \(failure.description)")
                }
            }
        }

        /// True when both keys are present with the same value, compared
        /// without decoding either (a model keyed by title stores its labels twice).
        public func sameValue(_ a: String, _ b: String) -> Bool {
            if let x = decoded[a], let y = decoded[b] { return x == y }
            guard let x = tokens[a], let y = tokens[b] else { return false }
            return header.withUnsafeBytes { raw in
                raw[x.text].elementsEqual(raw[y.text])
            }
        }

        /// Every value, decoded.
        public func all() throws -> [String: String] {
            var out = decoded
            for key in tokens.keys { out[key] = try value(key) }
            return out
        }
    }

    /// Serialises tensors and string metadata. Tensors are laid out in the
    /// order given, as float32, or as int64 when their `storedType` is `I64`
    /// (PyTorch's counters, such as BatchNorm's `num_batches_tracked`; their
    /// values must be whole numbers). The header is padded with spaces to a
    /// multiple of 8.
    public static func encode(_ tensors: [Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "tensor \(t.name): shape does not match values")
            let integer = t.storedType == ElementType.i64.rawValue
            precondition(!integer || t.values.allSatisfy { $0 == $0.rounded() }, "tensor \(t.name): int64 values must be whole numbers")
            let bytes = t.values.count * (integer ? 8 : 4)
            header[t.name] = ["dtype": integer ? "I64" : "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            if t.storedType == ElementType.i64.rawValue {
                for v in t.values { withUnsafeBytes(of: Int64(v).littleEndian) { out.append(contentsOf: $0) } }
            } else {
                // Float is little-endian on every platform Swift runs on Linux.
                t.values.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }
}
