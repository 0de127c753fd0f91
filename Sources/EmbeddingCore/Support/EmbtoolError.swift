import Foundation

/// The one error type the library throws. Each case maps to a BSD `sysexits.h`
/// code so scripts can tell bad input from a missing file from a bug. The
/// message speaks of settings and inputs, never of a program's flags; `reason`
/// says the same as data, for a caller that words it its own way (the command
/// line names its flags).
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

    /// What went wrong, as data, where a caller may want to say it otherwise.
    public enum Reason: Equatable, Sendable {
        /// A setting breaks a requirement: `setting` as the library names it
        /// (`factors`, `batchSize`, `validPct`, ...), `requirement` in words ("must be at least 1").
        case setting(String, requirement: String)
        /// Rating counts are needed (a minimum count, the most rated) and neither the model nor the data has them.
        case needsRatingCounts
        /// No tensor is named like item factors and more than one could be.
        case itemsTensorUnknown
        /// The tensor named for the item biases is not in the file.
        case biasTensorMissing(String)
        /// The factors hold NaN or infinity and strict reading refuses them.
        case nonFinite
        /// The factors' item rows do not fit the data's items; keyed by `ItemKey` they might.
        case itemKey(ItemKey)
        /// The ratings' columns as named: unknown, repeated or incomplete.
        case columns
        /// Columns were named for a format whose columns are fixed.
        case fixedColumns
        /// A ratings file's fields could not be told apart, or its header names no user, item or rating.
        case layout
        /// One ratings file was needed and a folder was given.
        case folderNotFile
        /// Training diverged in `epoch`, `why` says how: the learning rate is too high for the data.
        case diverged(epoch: Int, why: String)
    }

    public let kind: Kind
    public let message: String
    public let reason: Reason?

    public init(_ kind: Kind, _ message: String, reason: Reason? = nil) {
        self.kind = kind
        self.message = message
        self.reason = reason
    }

    public var exitCode: Int32 { kind.rawValue }
    public var description: String { message }

    public static func data(_ message: String, reason: Reason? = nil) -> EmbtoolError { .init(.dataError, message, reason: reason) }
    public static func noInput(_ message: String, reason: Reason? = nil) -> EmbtoolError { .init(.noInput, message, reason: reason) }
    public static func usage(_ message: String, reason: Reason? = nil) -> EmbtoolError { .init(.usage, message, reason: reason) }
}
