import Foundation

/// Where embtool keeps fetched data and trained models:
/// `$EMBTOOL_HOME`, else `$XDG_CACHE_HOME/embtool`, else `~/.cache/embtool`.
public enum EmbtoolHome {
    public static var path: String {
        let env = ProcessInfo.processInfo.environment
        if let home = env["EMBTOOL_HOME"], !home.isEmpty { return home }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/embtool" }
        return NSHomeDirectory() + "/.cache/embtool"
    }

    public static func datasetFolder(_ name: String) -> String { path + "/datasets/" + name }
    public static func modelPath(dataset: String) -> String { path + "/models/\(dataset).safetensors" }
}
