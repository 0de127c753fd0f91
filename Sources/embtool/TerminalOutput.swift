import EmbeddingKit
import Foundation

// Everything embtool writes for a person goes through `TerminalText.escape`:
// labels, paths and messages quote other people's files, and a control or
// bidirectional character in them must not reach the terminal raw (issue 13).
// JSON (`printJSON`) and files (`writeOutput`) are written exact, not through here.

/// The text output of every command: Swift's `print`, each line escaped by
/// `TerminalText.escape`. It shadows the standard library's `print` in this
/// module, so no command can print a label raw by forgetting to escape it;
/// newlines between lines are kept, a newline inside a label should be escaped
/// where the label is interpolated (`TextTable` does this for its cells).
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(terminalLines(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}

/// `text` with each of its lines escaped for a terminal.
func terminalLines(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escape(String($0)) }.joined(separator: "\n")
}
