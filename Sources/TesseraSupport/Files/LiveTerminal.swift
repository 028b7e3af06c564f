import Foundation

/// Whether progress may redraw a status line in place (carriage return and
/// ANSI erase codes): only when both standard output and standard error are
/// terminals that understand them, and not under mpirun (which hands its
/// processes a pseudo-terminal even when its own output goes to a pipe or a
/// file). Everywhere else progress is plain lines, so logs stay clean.
public enum LiveTerminal {
    /// The decision for this process (read once).
    public static let isLive: Bool = decide(stdoutIsTTY: isatty(STDOUT_FILENO) != 0, stderrIsTTY: isatty(STDERR_FILENO) != 0,
                                            environment: ProcessInfo.processInfo.environment)

    /// The rule, on its inputs.
    public static func decide(stdoutIsTTY: Bool, stderrIsTTY: Bool, environment: [String: String]) -> Bool {
        guard stdoutIsTTY && stderrIsTTY else { return false }
        if environment["TERM"] == "dumb" { return false }
        return environment["OMPI_COMM_WORLD_SIZE"] == nil && environment["PMIX_RANK"] == nil
    }
}
