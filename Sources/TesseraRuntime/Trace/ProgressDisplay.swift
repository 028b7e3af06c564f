import Foundation

import TesseraSupport

/// Where a run's progress goes: on a terminal, one status line rewritten in
/// place every step (with ETA and live MFU) above which permanent lines
/// scroll; elsewhere (a pipe, a file, CI) plain lines only, at the logged
/// steps. Quiet runs print no progress at all.
public final class ProgressDisplay: @unchecked Sendable {
    /// Whether progress rewrites a status line (stdout is a terminal).
    public let live: Bool
    public let quiet: Bool
    private let print: (String) -> Void
    private var statusShown = false

    /// Progress through `print` (whole lines); `live` defaults to `LiveTerminal.isLive`
    /// (standard output and error both terminals, not under mpirun).
    public init(quiet: Bool, live: Bool = LiveTerminal.isLive, print: @escaping (String) -> Void) {
        self.quiet = quiet
        self.live = live && !quiet
        self.print = print
    }

    /// A permanent line (clears the status line first).
    public func line(_ text: String) {
        clearStatus()
        print(text)
    }

    /// A warning: "tessera: warning: TEXT" on standard error, quiet or not
    /// (clears the status line first).
    public func warning(_ text: String) {
        clearStatus()
        FileHandle.standardError.write(Data("tessera: warning: \(text)\n".utf8))
    }

    /// A progress line: on a terminal it replaces the status line; elsewhere
    /// it is printed when `logged` (a --log-every step), else dropped.
    public func progress(_ text: String, logged: Bool) {
        guard !quiet else { return }
        if logged { return line(text) }
        guard live else { return }
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text).utf8))
        statusShown = true
    }

    /// Removes the status line, if shown.
    public func clearStatus() {
        guard statusShown else { return }
        FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8))
        statusShown = false
    }
}
