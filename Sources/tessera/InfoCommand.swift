import ArgumentParser
import Foundation
import Tessera

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "The matrix engine, the instruction set it uses on this CPU, and the matrix-product peaks it reaches.",
        discussion: """
            The peaks are the fastest of five 2048×2048×2048 products through the same code the model uses: fp32, and bf16 \
            (native where the CPU has bf16 instructions, else bf16-rounded float32 at float32 speed). MFU figures of \
            `tessera bench train` are against these. DNNL_MAX_CPU_ISA=AVX2 in the environment caps the engine.
            """)

    @Option(help: "Thread counts to measure the peaks at, comma-separated.") var threads = "1,\(ProcessInfo.processInfo.activeProcessorCount)"
    @Flag(help: "Skip measuring the peaks.") var noPeak = false

    func run() throws {
        try reportingErrors {
            let counts = try threads.split(separator: ",").map { s -> Int in
                guard let n = Int(s), n > 0, n <= 4096 else {
                    throw ConfigError("--threads takes positive thread counts like 1,2, got '\(s)'")
                }
                return n
            }
            say("engine: \(MatrixEngine.summary)")
            say("decode products: int8 \(Q8Activations.kernel), bf16 \(MatrixEngine.nativeBF16 ? BF16RowProduct.kernel : "fp32-rounded")")
            let cores = ProcessInfo.processInfo.activeProcessorCount, mine = ProcessCores.available
            say("cpu: \(Self.cpuModel), \(cores) cores" + (mine < cores ? " (this process may run on \(mine))" : ""))
            guard !noPeak else { return }
            for n in Set(counts).sorted() {
                for precision in Precision.allCases {
                    say(String(format: "peak %@ at %d thread(s): %.1f GFLOP/s", precision.rawValue, n,
                               ProductRate.measure(threads: n, precision: precision)))
                }
            }
        }
    }

    /// The CPU's model name from /proc/cpuinfo ("unknown" elsewhere).
    static var cpuModel: String {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
            ?? "unknown"
    }
}
