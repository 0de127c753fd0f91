import Foundation
import EmbeddingCore

/// Reads what `torch.save` writes, without Python: the zip format of PyTorch
/// 1.6 and later (`archive/data.pkl` + one stored entry per storage,
/// `archive/data/<key>`) and the legacy format before it (five pickles in a row,
/// then the raw storages), which `torch.save(..., _use_new_zipfile_serialization=False)`
/// still writes and fastai v1 era checkpoints use. The pickle goes through the
/// restricted `Pickle` reader; tensors are strided views into storages, read
/// (and CRC-checked) only when asked for.
public enum TorchCheckpoint {
    /// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as pickle's LONG1 sends it.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    public static func looksLikeLegacy(_ data: Data) -> Bool {
        data.prefix(4).elementsEqual([0x80, 0x02, 0x8A, 0x0A]) && data.dropFirst(4).prefix(10).elementsEqual(legacyMagic)
    }

    /// Every tensor in the checkpoint, named by its path (`model.u_weight.weight`).
    public static func read(data: Data, name: String) throws -> (format: String, tensors: [TensorEntry]) {
        if looksLikeLegacy(data) { return ("PyTorch checkpoint (legacy pre-1.6 format)", try readLegacy(data: data, name: name)) }
        return ("PyTorch checkpoint (zip)", try readZip(data: data, name: name))
    }

    /// The zip layout of `torch.save`: one `<prefix>data.pkl`, storages under `<prefix>data/`.
    struct Archive {
        var zip: ZipArchive
        var pickle: ZipArchive.Entry
        var prefix: String
        var data: Data
        var name: String

        init(data: Data, name: String) throws {
            zip = try ZipArchive(data: data, name: name)
            let pickles = zip.entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
            guard pickles.count == 1, let pickle = pickles.first else {
                throw EmbtoolError.data("\(name): a zip archive but not a PyTorch checkpoint (expected one '<name>/data.pkl', found \(pickles.count))")
            }
            self.pickle = pickle
            prefix = String(pickle.name.dropLast("data.pkl".count))
            self.data = data
            self.name = name
            if let order = zip.entry(named: prefix + "byteorder") {
                let text = String(decoding: try zip.contents(of: order), as: UTF8.self)
                guard text == "little" else { throw EmbtoolError.data("\(name): storages are '\(text)'-endian; only little-endian checkpoints are supported") }
            }
        }

        /// A short text entry beside the pickle (`version`, `.format_version`), if present.
        func text(_ entry: String) -> String? {
            guard let e = zip.entry(named: prefix + entry), e.size <= 64, let bytes = try? zip.contents(of: e) else { return nil }
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The tensors named in the pickle, each checked against its stored entry and read lazily.
        func tensors(_ refs: [(name: String, tensor: Pickle.TensorRef)]) throws -> [TensorEntry] {
            try refs.map { path, ref in
                guard let entry = zip.entry(named: prefix + "data/" + ref.storage.key) else {
                    throw EmbtoolError.data("\(name): tensor '\(path)' names storage '\(ref.storage.key)', which the archive lacks")
                }
                let esize = ref.storage.dtype.size
                let (needed, overflow) = (ref.storage.viewOffset + ref.storage.numel).multipliedReportingOverflow(by: esize)
                guard !overflow, entry.size >= needed else {
                    throw EmbtoolError.data("\(name): storage '\(ref.storage.key)' holds \(entry.size) bytes, tensor '\(path)' needs \(needed)")
                }
                return try lazyTensor(path, ref, limit: data.count, name: name) { [zip] in try zip.contents(of: entry) }
            }
        }
    }

    static func readZip(data: Data, name: String) throws -> [TensorEntry] {
        let archive = try Archive(data: data, name: name)
        let refs = try Pickle.load(try archive.zip.contents(of: archive.pickle), name: name) { value in
            try Pickle.tensors(in: value, name: name, budget: 4 * archive.pickle.size + 1000)
        }.0
        return try archive.tensors(refs)
    }

    /// The legacy layout: pickles of the magic number, the protocol version (1001)
    /// and the system info, then the object, then the list of storage keys; then
    /// each storage in that order as an int64 element count and its raw bytes.
    static func readLegacy(data: Data, name: String) throws -> [TensorEntry] {
        var at = 0
        func next<T>(_ transform: (Pickle.Value) throws -> T) throws -> T {
            let (value, end) = try Pickle.load(data, from: at, name: name, transform)
            at = end
            return value
        }
        _ = try next { $0 }  // the magic number, checked by looksLikeLegacy
        let version = try next { v -> Int? in if case .int(let i) = v { return i } else { return nil } }
        guard version == 1001 else { throw EmbtoolError.data("\(name): legacy checkpoint protocol \(version.map(String.init) ?? "?"), expected 1001") }
        let littleEndian = try next { v -> Bool in
            guard case .dict(let d) = v else { return false }
            return d.entries.contains { if case .string("little_endian") = $0.key, case .bool(true) = $0.value { return true } else { return false } }
        }
        guard littleEndian else { throw EmbtoolError.data("\(name): only little-endian legacy checkpoints are supported") }
        let refs = try next { try Pickle.tensors(in: $0, name: name, budget: 4 * data.count + 1000) }
        let keys = try next { v -> [String] in
            guard case .list(let l) = v else { throw EmbtoolError.data("\(name): legacy checkpoint lacks its storage key list") }
            return try l.items.map {
                guard let k = $0.keyText else { throw EmbtoolError.data("\(name): storage key is not a string") }
                return k
            }
        }
        // Element size per root storage key, from the tensors that use it.
        var elementSize: [String: Int] = [:]
        for (_, ref) in refs { elementSize[ref.storage.key] = ref.storage.dtype.size }
        var records: [String: (offset: Int, numel: Int)] = [:]
        for key in keys {
            guard let count = data.littleEndian(Int64.self, at: at), count >= 0, count <= Int64(data.count) else {
                throw EmbtoolError.data("\(name): storage '\(key)' record is truncated or damaged")
            }
            guard let esize = elementSize[key] else { throw EmbtoolError.data("\(name): storage '\(key)' is used by no tensor") }
            let bytes = Int(count) * esize
            guard bytes <= data.count - at - 8 else { throw EmbtoolError.data("\(name): storage '\(key)' runs past the end of the file (truncated?)") }
            records[key] = (at + 8, Int(count))
            at += 8 + bytes
        }
        return try refs.map { path, ref in
            guard let record = records[ref.storage.key] else {
                throw EmbtoolError.data("\(name): tensor '\(path)' names storage '\(ref.storage.key)', which the file lacks")
            }
            guard ref.storage.viewOffset + ref.storage.numel <= record.numel else {
                throw EmbtoolError.data("\(name): storage '\(ref.storage.key)' holds \(record.numel) elements, tensor '\(path)' needs \(ref.storage.viewOffset + ref.storage.numel)")
            }
            let bytes = data.bytes(at: record.offset, count: record.numel * ref.storage.dtype.size)!
            return try lazyTensor(path, ref, limit: data.count, name: name) { bytes }
        }
    }

    /// A lazily read tensor: `storage()` gives the storage's bytes, and the
    /// view's elements are gathered by offset and stride.
    static func lazyTensor(_ path: String, _ ref: Pickle.TensorRef, limit: Int, name: String,
                      storage: @escaping () throws -> Data) throws -> TensorEntry {
        // A stride-0 (expanded) view may legitimately hold more elements than its
        // storage, but never more than the file has bytes: beyond that, refuse.
        guard let count = elementCount(ref.shape, limit: limit) else {
            throw EmbtoolError.data("\(name): tensor '\(path)' of shape \(ref.shape) is larger than the whole file")
        }
        return TensorEntry(name: path, shape: ref.shape, dtype: ref.storage.dtype.rawValue) {
            ref.storage.dtype.gather(try storage(), offset: ref.storage.viewOffset + ref.offset,
                                     shape: ref.shape, stride: ref.stride, count: count)
        }
    }
}
