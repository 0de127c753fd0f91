import Foundation
import EmbeddingCore

/// A linear map from data values to canvas pixels.
public struct LinearScale: Sendable {
    public var domain: (low: Double, high: Double)
    public var range: (low: Double, high: Double)

    public init(domain: (Double, Double), range: (Double, Double)) {
        self.domain = (domain.0, domain.1)
        self.range = (range.0, range.1)
    }

    public func callAsFunction(_ v: Double) -> Double {
        let span = domain.high - domain.low
        let t = span == 0 ? 0.5 : (v - domain.low) / span
        return range.low + t * (range.high - range.low)
    }
}

/// Tick marks at "nice" values (1, 2 or 5 times a power of ten), the classic
/// recipe of Heckbert's *Nice numbers for graph labels* (Graphics Gems, 1990).
public struct Ticks: Sendable {
    public let values: [Double]
    public let step: Double
    /// The nice interval that holds the data, from the first tick below to the first above.
    public let low: Double
    public let high: Double

    /// About `target` ticks covering `low...high`.
    public init(low: Double, high: Double, target: Int = 6) {
        var lo = min(low, high), hi = max(low, high)
        if lo == hi { lo -= 0.5; hi += 0.5 }
        let step = Ticks.nice((hi - lo) / Double(max(1, target - 1)), round: true)
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        var values: [Double] = []
        var v = first
        while v <= last + step * 0.5 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        self.values = values
        self.step = step
        self.low = first
        self.high = last
    }

    /// The nice number nearest `x` (rounding) or at least `x` (ceiling).
    static func nice(_ x: Double, round: Bool) -> Double {
        let exponent = (log10(x)).rounded(.down)
        let fraction = x / pow(10, exponent)
        let niceFraction: Double
        if round {
            niceFraction = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        } else {
            niceFraction = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return niceFraction * pow(10, exponent)
    }

    /// A tick value with as many decimals as the step needs, and a true minus sign.
    public func label(_ v: Double) -> String {
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        let s = String(format: "%.\(decimals)f", v)
        return s.hasPrefix("-") ? "−" + s.dropFirst() : s
    }
}

/// Colour-blind-safe categorical colours (Okabe & Ito's palette, then Paul
/// Tol's muted scheme), and the neutral grey used for "other".
public enum Palette {
    public static let categorical = [
        "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#882255", "#999933", "#332288", "#44AA99",
    ]
    public static let other = "#B8B8B8"
    public static let ink = "#222222"
    public static let muted = "#666666"
    public static let grid = "#E6E6E6"
}
