import EmbeddingKit

/// The command line's wording of a library error. The library speaks of
/// settings and inputs (`EmbtoolError.reason` says which, as data); here they
/// become the flags that set them, so the flag names live only in the CLI.
func cliMessage(_ error: EmbtoolError) -> String {
    switch error.reason {
    case .setting("useBias", _)?:
        return "recipe best always learns biases; drop --no-bias"
    case .setting(let name, let requirement)?:
        guard let flag = settingFlags[name] else { return error.message }
        return "\(flag) \(requirement)"
    default:
        return error.message
    }
}

/// The flag that sets each setting the library names in its errors.
let settingFlags = [
    "factors": "--factors", "epochs": "--epochs", "lr": "--lr", "wd": "--wd", "batchSize": "--bs",
    "threads": "--threads", "yRange": "--y-range", "sweeps": "--sweeps", "samplerFactors": "--sampler-factors",
    "validPct": "--valid-pct", "recipe": "--recipe",
]
