import Foundation
import Testing
import Tessera

/// Llama's bad settings through the CLI: one line `tessera: error: …`, exit
/// status 2, before any rank starts; and a checkpoint of the other family
/// refused by `--resume`.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct LlamaBadInputTests {
    static let llama = TesseraCLI.tiny + ["--arch", "llama", "--steps", "1"]

    @Test func badLlamaSettingsExitTwoWithOneLine() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        for (args, expected) in [
            (["--kv-heads", "3"], "kv-heads 3 does not divide heads 2; valid kv-heads: 1, 2"),
            (["--kv-heads", "1", "--tp", "3"], "tp 3 does not divide heads 2; valid tp for heads 2 and kv-heads 1: 1, 2"),
            (["--rope-theta", "0"], "rope-theta must be a positive number, got 0"),
            (["--rope-theta", "-5"], "rope-theta must be a positive number, got -5"),
            (["--ffn-hidden", "0"], "ffn-hidden must be an integer in 1...16777216, got 0"),
            (["--ffn-hidden", "-3"], "ffn-hidden must be an integer in 1...16777216, got -3"),
            (["--rope-theta", "5e5", "--arch", "gpt2"], "rope-theta needs arch llama"),
        ] {
            let base = args.contains("--arch") ? TesseraCLI.tiny : Self.llama
            let (status, output) = try cli.run(["train"] + base + args)
            #expect(status == 2, "\(args): \(output)")
            let lines = output.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("tessera: error: ") && output.contains(expected),
                    "\(args): \(output)")
        }
    }

    @Test func anUnknownArchIsOneLine() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let (status, output) = try cli.run(["train"] + TesseraCLI.tiny + ["--arch", "gpt3"])
        #expect(status == 2 && output.split(separator: "\n").count == 1
                && output.contains("arch must be gpt2 or llama, got gpt3"), "\(output)")
    }

    @Test func resumingTheOtherFamilyIsRefused() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let gpt2 = cli.path("gpt2-run")
        let trained = try cli.run(["train"] + TesseraCLI.tiny + ["--steps", "1", "--checkpoint", gpt2])
        #expect(trained.status == 0, "\(trained.output)")
        let (status, output) = try cli.run(["train", "--resume", gpt2, "--arch", "llama", "--steps", "2"])
        #expect(status == 2, "\(output)")
        #expect(output.split(separator: "\n").count == 1 && output.contains("holds a gpt2 model")
                && output.contains("asks for arch llama"), "\(output)")
    }
}
