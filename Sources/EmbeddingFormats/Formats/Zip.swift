import Foundation
import EmbeddingCore

/// Reads the ZIP archives that `torch.save` and `np.savez` write: the central
/// directory (with ZIP64 extensions), stored and deflated entries, CRC-32 checked.
/// Every offset and size is checked against the file before use.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        /// Where the entry's (possibly compressed) bytes start in the archive.
        var dataOffset: Int
    }

    let data: Data
    let name: String
    private(set) var entries: [Entry] = []

    static let endOfDirectory: UInt32 = 0x0605_4B50
    static let zip64Locator: UInt32 = 0x0706_4B50
    static let zip64EndOfDirectory: UInt32 = 0x0606_4B50
    static let directoryHeader: UInt32 = 0x0201_4B50
    static let localHeader: UInt32 = 0x0403_4B50

    static func looksLike(_ data: Data) -> Bool { data.littleEndian(UInt32.self, at: 0) == localHeader }

    init(data: Data, name: String) throws {
        self.data = data
        self.name = name
        func bad(_ why: String) -> EmbtoolError { .data("\(name): not a valid zip archive: \(why)") }

        // The end-of-central-directory record is the last 22 bytes, unless a comment
        // (at most 65535 bytes) follows it; search backwards for its signature.
        var end = -1
        var at = data.count - 22
        while at >= max(0, data.count - 22 - 65_535) {
            if data.littleEndian(UInt32.self, at: at) == Self.endOfDirectory,
               let commentLength = data.littleEndian(UInt16.self, at: at + 20), at + 22 + Int(commentLength) <= data.count {
                end = at
                break
            }
            at -= 1
        }
        guard end >= 0 else { throw bad("no end-of-central-directory record (truncated?)") }
        var entryCount = Int(data.littleEndian(UInt16.self, at: end + 10)!)
        var directorySize = Int(data.littleEndian(UInt32.self, at: end + 12)!)
        var directoryOffset = Int(data.littleEndian(UInt32.self, at: end + 16)!)
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard data.littleEndian(UInt32.self, at: end - 20) == Self.zip64Locator,
                  let recordOffset = data.littleEndian(UInt64.self, at: end - 12), recordOffset < UInt64(data.count),
                  data.littleEndian(UInt32.self, at: Int(recordOffset)) == Self.zip64EndOfDirectory,
                  let n = data.littleEndian(UInt64.self, at: Int(recordOffset) + 32),
                  let size = data.littleEndian(UInt64.self, at: Int(recordOffset) + 40),
                  let offset = data.littleEndian(UInt64.self, at: Int(recordOffset) + 48),
                  n <= UInt64(data.count), size <= UInt64(data.count), offset <= UInt64(data.count) else {
                throw bad("damaged ZIP64 end-of-central-directory record")
            }
            (entryCount, directorySize, directoryOffset) = (Int(n), Int(size), Int(offset))
        }
        guard directoryOffset <= data.count, directorySize <= data.count - directoryOffset else {
            throw bad("central directory at \(directoryOffset) (\(directorySize) bytes) lies outside the \(data.count)-byte file")
        }

        // Each directory header is at least 46 bytes, so `entryCount` cannot make us loop
        // (or allocate) beyond what the file holds.
        var p = directoryOffset
        for index in 0..<entryCount {
            guard data.littleEndian(UInt32.self, at: p) == Self.directoryHeader,
                  let flags = data.littleEndian(UInt16.self, at: p + 8),
                  let method = data.littleEndian(UInt16.self, at: p + 10),
                  let crc = data.littleEndian(UInt32.self, at: p + 16),
                  let compressed32 = data.littleEndian(UInt32.self, at: p + 20),
                  let size32 = data.littleEndian(UInt32.self, at: p + 24),
                  let nameLength = data.littleEndian(UInt16.self, at: p + 28),
                  let extraLength = data.littleEndian(UInt16.self, at: p + 30),
                  let commentLength = data.littleEndian(UInt16.self, at: p + 32),
                  let local32 = data.littleEndian(UInt32.self, at: p + 42),
                  let nameBytes = data.bytes(at: p + 46, count: Int(nameLength)),
                  let extra = data.bytes(at: p + 46 + Int(nameLength), count: Int(extraLength)) else {
                throw bad("central directory entry \(index) is damaged or truncated")
            }
            let entryName = String(decoding: nameBytes, as: UTF8.self)
            guard flags & 1 == 0 else { throw bad("entry '\(entryName)' is encrypted") }
            var compressedSize = UInt64(compressed32), size = UInt64(size32), local = UInt64(local32)
            // ZIP64 extra field (id 1): 64-bit values for the 32-bit fields that are all ones, in this order.
            var e = 0
            while e + 4 <= extra.count {
                let id = extra.littleEndian(UInt16.self, at: e)!, length = Int(extra.littleEndian(UInt16.self, at: e + 2)!)
                if id == 1 {
                    var q = e + 4
                    func next() throws -> UInt64 {
                        guard q + 8 <= e + 4 + length, let v = extra.littleEndian(UInt64.self, at: q) else {
                            throw bad("entry '\(entryName)' has a short ZIP64 extra field")
                        }
                        q += 8
                        return v
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                e += 4 + length
            }
            guard local <= UInt64(data.count), compressedSize <= UInt64(data.count), size <= UInt64(Int.max) else {
                throw bad("entry '\(entryName)' points outside the \(data.count)-byte file")
            }
            let l = Int(local)
            guard data.littleEndian(UInt32.self, at: l) == Self.localHeader,
                  let localName = data.littleEndian(UInt16.self, at: l + 26),
                  let localExtra = data.littleEndian(UInt16.self, at: l + 28) else {
                throw bad("entry '\(entryName)' has no local header at \(l)")
            }
            let dataOffset = l + 30 + Int(localName) + Int(localExtra)
            guard dataOffset <= data.count, Int(compressedSize) <= data.count - dataOffset else {
                throw bad("entry '\(entryName)' runs past the end of the \(data.count)-byte file (truncated?)")
            }
            entries.append(Entry(name: entryName, method: method, crc: crc, compressedSize: Int(compressedSize),
                                 size: Int(size), dataOffset: dataOffset))
            p += 46 + Int(nameLength) + Int(extraLength) + Int(commentLength)
        }
    }

    func entry(named entryName: String) -> Entry? { entries.first { $0.name == entryName } }

    /// The entry's bytes, inflated if needed and checked against its CRC-32.
    func contents(of entry: Entry) throws -> Data {
        let raw = data.bytes(at: entry.dataOffset, count: entry.compressedSize)!
        let bytes: Data
        switch entry.method {
        case 0:
            guard entry.size == entry.compressedSize else {
                throw EmbtoolError.data("\(name): stored entry '\(entry.name)' has two different sizes")
            }
            bytes = raw
        case 8:
            let out = try Inflate.decompress(raw, limit: entry.size, name: "\(name): \(entry.name)")
            guard out.count == entry.size else {
                throw EmbtoolError.data("\(name): entry '\(entry.name)' inflates to \(out.count) bytes, the directory says \(entry.size)")
            }
            bytes = out
        default:
            throw EmbtoolError.data("\(name): entry '\(entry.name)' uses compression method \(entry.method); only stored and deflate are supported")
        }
        guard CRC32.checksum(bytes) == entry.crc else {
            throw EmbtoolError.data("\(name): entry '\(entry.name)' fails its CRC-32 check (corrupt file)")
        }
        return bytes
    }
}

/// Writes a ZIP archive of stored (uncompressed) entries, as `np.savez` does.
/// Timestamps are fixed (1980-01-01) so the same arrays give the same bytes.
struct ZipWriter {
    private var body = Data()
    private var directory = Data()
    private var count = 0

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func add(name: String, contents: Data) throws {
        let nameBytes = Data(name.utf8)
        guard count < 0xFFFF, nameBytes.count < 0xFFFF, contents.count < 0xFFFF_FFFF, body.count < 0xFFFF_FFFF - contents.count - 30 - nameBytes.count else {
            throw EmbtoolError(.cantCreate, "\(name): the archive would exceed 4 GiB; write .npy files instead")
        }
        let crc = CRC32.checksum(contents)
        let offset = UInt32(body.count)
        // Local header: signature, version 2.0, flags, method 0 (stored), time, date (1980-01-01), crc, sizes, name length, extra length.
        Self.append(ZipArchive.localHeader, to: &body)
        for v: UInt16 in [20, 0, 0, 0, 0x21] { Self.append(v, to: &body) }
        for v: UInt32 in [crc, UInt32(contents.count), UInt32(contents.count)] { Self.append(v, to: &body) }
        for v: UInt16 in [UInt16(nameBytes.count), 0] { Self.append(v, to: &body) }
        body.append(nameBytes)
        body.append(contents)

        Self.append(ZipArchive.directoryHeader, to: &directory)
        for v: UInt16 in [20, 20, 0, 0, 0, 0x21] { Self.append(v, to: &directory) }
        for v: UInt32 in [crc, UInt32(contents.count), UInt32(contents.count)] { Self.append(v, to: &directory) }
        // Name, extra and comment lengths, disk 0, internal and external attributes, local header offset.
        for v: UInt16 in [UInt16(nameBytes.count), 0, 0, 0, 0] { Self.append(v, to: &directory) }
        for v: UInt32 in [0, offset] { Self.append(v, to: &directory) }
        directory.append(nameBytes)
        count += 1
    }

    func finish() -> Data {
        var out = body
        out.append(directory)
        Self.append(ZipArchive.endOfDirectory, to: &out)
        for v: UInt16 in [0, 0, UInt16(count), UInt16(count)] { Self.append(v, to: &out) }
        for v: UInt32 in [UInt32(directory.count), UInt32(body.count)] { Self.append(v, to: &out) }
        Self.append(UInt16(0), to: &out)
        return out
    }
}
