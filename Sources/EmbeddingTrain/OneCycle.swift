import Foundation
import EmbeddingCore

/// fastai's `fit_one_cycle` schedule (`fastai/callback/schedule.py`): over the
/// first `pctStart` of training the learning rate rises from `lrMax / div` to
/// `lrMax` while Adam's β1 falls from `moms.0` to `moms.1`; over the rest the
/// learning rate falls to `lrMax / divFinal` while β1 climbs back to `moms.2`.
/// Both halves are cosine annealings,
///
///     cos_anneal(start, end, t) = start + (1 + cos(π (1 - t))) (end - start) / 2,   t ∈ [0, 1].
///
/// `pos` is fastai's `pct_train`: the fraction of all training batches done
/// before the current one, so the first step uses `lrMax / div` and `moms.0`.
public struct OneCycleSchedule: Sendable {
    public var lrMax: Double
    public var div: Double = 25
    public var divFinal: Double = 1e5
    public var pctStart: Double = 0.25
    public var moms: (Double, Double, Double) = (0.95, 0.85, 0.95)

    public init(lrMax: Double) { self.lrMax = lrMax }

    public static func cosineAnneal(_ start: Double, _ end: Double, _ t: Double) -> Double {
        start + (1 + cos(Double.pi * (1 - t))) * (end - start) / 2
    }

    /// fastai's `combined_cos`: `start → middle` over `[0, pctStart)`, `middle → end` after.
    func combined(_ start: Double, _ middle: Double, _ end: Double, _ pos: Double) -> Double {
        pos < pctStart
            ? Self.cosineAnneal(start, middle, pos / pctStart)
            : Self.cosineAnneal(middle, end, (pos - pctStart) / (1 - pctStart))
    }

    public func lr(at pos: Double) -> Double { combined(lrMax / div, lrMax, lrMax / divFinal, pos) }
    /// Adam's β1 (fastai's `mom`) at `pos`.
    public func mom(at pos: Double) -> Double { combined(moms.0, moms.1, moms.2, pos) }
}
