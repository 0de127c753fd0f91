import Foundation

/// The one error type the library throws. Each case maps to a BSD `sysexits.h`
/// code so scripts can tell bad input from a missing file from a bug.
public struct EmbtoolError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Int32, Sendable {
        case usage = 64         // EX_USAGE: the command line is wrong
        case dataError = 65     // EX_DATAERR: input exists but is malformed
        case noInput = 66       // EX_NOINPUT: input file or folder missing
        case unavailable = 69   // EX_UNAVAILABLE: e.g. no download source worked
        case software = 70      // EX_SOFTWARE: internal error, or training diverged
        case cantCreate = 73    // EX_CANTCREAT: cannot write an output
        case ioError = 74       // EX_IOERR
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var exitCode: Int32 { kind.rawValue }
    public var description: String { message }

    public static func data(_ message: String) -> EmbtoolError { .init(.dataError, message) }
    public static func noInput(_ message: String) -> EmbtoolError { .init(.noInput, message) }
    public static func usage(_ message: String) -> EmbtoolError { .init(.usage, message) }
}
