import Foundation
import TesseraSupport

/// Progress of a long job on standard error: a line redrawn in place
/// (bytes/s and ETA) when stderr is a terminal, otherwise a plain line at
/// each further tenth of the work (logs stay readable).
public final class ByteRateProgress: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let start = Date()
    private let terminal = LiveTerminal.isLive
    private var lastDraw = Date.distantPast
    private var lastTenth = 0

    public init(label: String, totalBytes: Int) {
        self.label = label
        total = max(1, totalBytes)
    }

    /// Reports `done` bytes of `total`.
    public func update(_ done: Int) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@: %.1f/%.1f MB (%.0f%%), %.2f MB/s, ETA %.0f s", label,
                          Double(done) / 1e6, Double(total) / 1e6, 100 * Double(done) / Double(total), rate / 1e6, eta)
        if terminal {
            guard Date().timeIntervalSince(lastDraw) > 0.2 || done >= total else { return }
            lastDraw = Date()
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            let tenth = 10 * done / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the line (terminal) after the last update.
    public func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
