import Foundation

/// Where embtool keeps fetched data and trained models:
/// `$EMBTOOL_HOME`, else `$XDG_CACHE_HOME/embtool`, else `$HOME/.cache/embtool`,
/// else the account's home from the password database (XDG Base Directory order).
public enum EmbtoolHome {
    public static var path: String {
        let env = ProcessInfo.processInfo.environment
        if let home = env["EMBTOOL_HOME"], !home.isEmpty { return home }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/embtool" }
        // Foundation's NSHomeDirectory() on Linux reads the password database, not $HOME.
        if let home = env["HOME"], !home.isEmpty { return home + "/.cache/embtool" }
        return NSHomeDirectory() + "/.cache/embtool"
    }

    public static func datasetFolder(_ name: String) -> String { path + "/datasets/" + name }
    public static func modelPath(dataset: String) -> String { path + "/models/\(dataset).safetensors" }
}
