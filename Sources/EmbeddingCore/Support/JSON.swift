import Foundation

/// The one JSON policy of embtool's documents (every `--json`, the JSON in a
/// model file's metadata): Codable types, keys in snake_case (`validRMSE` is
/// written `valid_rmse`; dictionary keys are data and stay as they are), keys
/// sorted so output diffs cleanly, slashes unescaped, NaN and infinities as the
/// strings `"nan"`, `"inf"`, `"-inf"`. An absent optional is left out, unless
/// the document promises its key: then it is declared `@NullWhenAbsent` and
/// written as `null`.
public enum JSONPolicy {
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// Reads what `encoder` writes.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

/// An optional written as `null` when absent, so that every document of a kind
/// has the same keys (Swift's synthesized `Encodable` leaves the key out).
@propertyWrapper
public struct NullWhenAbsent<Value: Encodable>: Encodable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

extension NullWhenAbsent: Sendable where Value: Sendable {}
extension NullWhenAbsent: Equatable where Value: Equatable {}
