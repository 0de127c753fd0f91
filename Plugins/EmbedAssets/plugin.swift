import PackagePlugin

/// Compiles a target's `.html`, `.css` and `.js` files into the target as
/// Swift string literals (`EmbeddedAssets.text(_:)`), so a binary copied alone
/// onto PATH still has them: nothing is looked up in a resource bundle at run
/// time, and the files stay readable (and testable) as themselves in the tree.
@main
struct EmbedAssets: BuildToolPlugin {
    static let extensions: Set<String> = ["html", "css", "js"]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let inputs = target.sourceFiles
            .filter { EmbedAssets.extensions.contains($0.path.extension ?? "") }
            .map(\.path)
            .sorted { $0.string < $1.string }
        guard !inputs.isEmpty else { return [] }
        let output = context.pluginWorkDirectory.appending("EmbeddedAssets.swift")
        return [.buildCommand(
            displayName: "Embedding \(inputs.count) web assets into \(target.name)",
            executable: try context.tool(named: "embed-assets").path,
            arguments: [output.string] + inputs.map(\.string),
            inputFiles: inputs,
            outputFiles: [output])]
    }
}
