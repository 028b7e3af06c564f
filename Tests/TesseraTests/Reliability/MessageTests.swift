import Foundation
import Testing
import Tessera

/// Issue 11, item 10: messages name the real cause.
@Suite struct MessageTests {
    @Test func generatedBytesPrintAsValidTextWithoutControlCharacters() {
        let bytes: [UInt8] = Array("ok é ".utf8) + [0xFF, 0x1B, 0x5B, 0x32, 0x4A, 0xC3] + Array(" ✓\n\t".utf8) + [0xE2, 0x82]
        let text = TerminalText.printable(bytes)
        #expect(text == "ok é \\xFF\\x1B[2J\\xC3 ✓\n\t\\xE2\\x82")
        var stream = TerminalText.Stream()
        #expect(bytes.map { stream.push($0) }.joined() + stream.finish() == text)
    }

    @Test func aTimeoutAmongFarMoreRankThreadsThanCoresSaysTheMachineIsOversubscribed() {
        let ranks = 4 * ProcessInfo.processInfo.activeProcessorCount + 1
        let many = TestSupport.message {
            try ThreadWorld.run(size: ranks, timeout: 0.3) { g in
                if g.rank == 1 { Thread.sleep(forTimeInterval: 1) }
                try g.barrier()
            }
        }
        #expect(many.contains("oversubscribed (\(ranks) rank threads on") && many.contains("raise --timeout"), "\(many)")
        let few = TestSupport.message {
            try ThreadWorld.run(size: 2, timeout: 0.3) { g in
                if g.rank == 1 { Thread.sleep(forTimeInterval: 1) }
                try g.barrier()
            }
        }
        #expect(few.contains("rank(s) [1] did not arrive") && !few.contains("oversubscribed"), "\(few)")
    }
}

/// Issue 11, item 11: a rank that raises an error mid-step ends the job
/// with its message; train takes --timeout like check comm.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct RankFaultTests {
    @Test func aRankErrorMidStepEndsEveryRankWithItsMessage() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let start = Date()
        let r = try cli.run(["train", "--dp", "2", "--tp", "2", "--steps", "50", "--timeout", "20"] + TesseraCLI.tiny,
                            environment: ["TESSERA_FAULT": "rank-error:3:2"])
        #expect(r.status == ErrorKind.communication.exitStatus && r.output.contains("rank 3 failed: injected error on rank 3 in step 2"), "\(r.output)")
        #expect(!r.output.contains("step 50/") && Date().timeIntervalSince(start) < 20)
    }

    @Test func trainTimeoutIsCheckedAndUsed() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let bad = try cli.run(["train", "--timeout", "0", "--steps", "1"] + TesseraCLI.tiny)
        #expect(bad.status == 2 && bad.output.contains("timeout must be a positive number of seconds, got 0"))
        let ok = try cli.run(["train", "--dp", "2", "--timeout", "30", "--steps", "2"] + TesseraCLI.tiny)
        #expect(ok.status == 0, "\(ok.output)")
    }
}
