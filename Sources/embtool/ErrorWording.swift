import EmbeddingKit

/// The command line's wording of a library error. The library speaks of
/// settings and inputs, and `EmbtoolError.reason` says which as data; here they
/// become the flags that set them, so flag names live only in the CLI.
func cliMessage(_ error: EmbtoolError) -> String {
    let message = error.message
    switch error.reason {
    case nil:
        return message
    case .setting("useBias", _)?:
        return "recipe best always learns biases; drop --no-bias"
    case .setting(let name, let requirement)?:
        guard let flag = settingFlags[name] else { return message }
        return "\(flag) \(requirement)"
    case .needsRatingCounts?:
        return "--min-ratings needs rating counts: the model has none; pass --data"
    case .itemsTensorUnknown?:
        return message + ". Choose one with --items-tensor NAME"
    case .biasTensorMissing?:
        return message + " (--bias-tensor)"
    case .nonFinite?:
        return message + " (--strict)"
    case .itemKey(let key)?:
        return message + " (--item-key \(key.rawValue))"
    case .columns?:
        return "--columns: " + message
    case .fixedColumns?:
        return "--columns: \(message) (use --format csv to override)"
    case .layout?:
        return message + "; name the columns with --columns user,item,rating[,timestamp], or the layout with --format"
    case .folderNotFile?:
        return message + " (--format csv/tsv)"
    case .diverged(let epoch, let why)?:
        return "training diverged in epoch \(epoch): \(why); lower --lr (no model written)"
    }
}

/// The flag that sets each setting the library names in its errors.
let settingFlags = [
    "factors": "--factors", "epochs": "--epochs", "lr": "--lr", "wd": "--wd", "batchSize": "--bs",
    "threads": "--threads", "yRange": "--y-range", "sweeps": "--sweeps", "samplerFactors": "--sampler-factors", "keptSamples": "--keep-samples",
    "validPct": "--valid-pct", "recipe": "--recipe", "sampling": "--sampling", "architecture": "--arch", "layers": "--layers",
]
