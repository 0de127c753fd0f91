import Foundation
import EmbeddingCore

/// NumPy's `.npz`: a zip archive of `.npy` files, one per array, named
/// `<name>.npy`. `np.savez` stores them, `np.savez_compressed` deflates them;
/// both read here. Written stored, like `np.savez`.
public enum Npz {
    /// The arrays in archive order, by name without `.npy`.
    public static func read(data: Data, name: String) throws -> [(name: String, array: Npy.Array)] {
        let zip = try ZipArchive(data: data, name: name)
        return try zip.entries.filter { !$0.name.hasSuffix("/") }.map { entry in
            guard entry.name.hasSuffix(".npy") else {
                throw EmbtoolError.data("\(name): '\(entry.name)' is not an .npy array; not a NumPy .npz archive")
            }
            let arrayName = String(entry.name.dropLast(4))
            return (arrayName, try Npy.read(data: try zip.contents(of: entry), name: "\(name)[\(arrayName)]"))
        }
    }

    /// An archive of already encoded `.npy` arrays.
    public static func encode(_ arrays: [(name: String, npy: Data)]) throws -> Data {
        var zip = ZipWriter()
        for (arrayName, npy) in arrays { try zip.add(name: arrayName + ".npy", contents: npy) }
        return zip.finish()
    }
}
