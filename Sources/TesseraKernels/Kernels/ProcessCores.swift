import Foundation

/// The cores this process may run on. `ProcessInfo.activeProcessorCount`
/// counts the machine's online cores, but a process can be confined to
/// fewer: `mpirun` binds each rank to one core by default (two ranks on a
/// two-core machine see "2 cores" each and own one), and `taskset` or a
/// container's cpuset do the same. Linux lists them in /proc/self/status
/// (`Cpus_allowed_list: 0-3,8`); elsewhere, or when it cannot be read, the
/// machine's count.
public enum ProcessCores {
    /// Cores the calling process may run on (at least 1).
    public static var available: Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
        let list = line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map(String.init)
        return list.flatMap(count) ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// The number of cores in a Linux CPU list such as "0-3,8,10-11" (7);
    /// nil unless every item is a core or an ascending range of cores.
    public static func count(_ list: String) -> Int? {
        var total = 0
        for item in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(ends.count), let first = ends.first!, let last = ends.last!, first >= 0,
                  last >= first else { return nil }
            total += last - first + 1
        }
        return total > 0 ? total : nil
    }
}
