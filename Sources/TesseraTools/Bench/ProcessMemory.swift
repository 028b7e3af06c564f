import Foundation

/// Resident memory of this process from /proc/self/status (Linux).
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in bytes, or nil where /proc is absent.
    public static var peakResidentBytes: Int? { field("VmHWM:") }

    static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// Bytes as "123.4 MiB".
    public static func format(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
