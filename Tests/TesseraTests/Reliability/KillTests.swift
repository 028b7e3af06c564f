import Foundation
import Testing

/// Issue 25, items 5 and 7: a training run on token shards killed with
/// SIGKILL after a checkpoint resumes to the uninterrupted run's losses, bit
/// for bit (the data position is the step the checkpoint records); a
/// `data prepare` killed mid-way leaves a directory that `train` and
/// `prepare` refuse in one line naming what is missing, and leave as it was.
/// Both kill the real binary from outside, as `kill -9` would.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct KillTests {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TesseraTokenizerTests/Fixtures/" + name).path
    }

    /// Polls every 2 ms until `done()` holds or the process exits; true if `done()` held while it ran.
    static func wait(for process: Process, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if done() { return true }
            usleep(2000)
        }
        return false
    }

    /// Losses by step from a metrics log (JSON doubles round-trip, so equal values are equal bits).
    static func losses(_ path: String) throws -> [Int: UInt64] {
        var out: [Int: UInt64] = [:]
        for line in (try String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let step = try #require(o["step"] as? Int), loss = try #require(o["loss"] as? Double)
            out[step] = loss.bitPattern
        }
        return out
    }

    @Test func trainingOnShardsKilledAfterACheckpointResumesToTheSameLossesBitwise() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let prep = try cli.run(["data", "prepare", "--tokenizer", Self.fixture("gpt2_style.json"),
                                "--data", Self.fixture("trainer_corpus.txt"), "--out", "shards",
                                "--documents", "paragraph", "--validation", "0.1", "--shard-tokens", "1024", "--threads", "1"])
        try #require(prep.status == 0, "\(prep.output)")
        let steps = 300
        let args = ["train", "--data", "shards", "--vocab", "768", "--steps", "\(steps)", "--log-every", "1",
                    "--checkpoint-every", "10", "--dropout", "0.1"] + TesseraCLI.tiny
        let straight = try cli.run(args + ["--checkpoint", "straight", "--metrics", "straight.jsonl"])
        try #require(straight.status == 0, "\(straight.output)")

        let run = cli.start(args + ["--checkpoint", "ck", "--metrics", "killed.jsonl"], output: cli.path("killed.txt"))
        let checkpointed = Self.wait(for: run.process) {
            ((try? String(contentsOfFile: run.log, encoding: .utf8)) ?? "").contains("saved checkpoint ck at step")
        }
        if run.process.isRunning { kill(run.process.processIdentifier, SIGKILL) }
        run.process.waitUntilExit()
        let killedOutput = (try? String(contentsOfFile: run.log, encoding: .utf8)) ?? ""
        #expect(checkpointed && run.process.terminationReason == .uncaughtSignal && run.process.terminationStatus == SIGKILL,
                "the run was to be killed after its first checkpoint: \(killedOutput.suffix(400))")

        let resumed = try cli.run(["train", "--resume", "ck", "--steps", "\(steps)", "--log-every", "1", "--metrics", "resumed.jsonl"])
        try #require(resumed.status == 0, "\(resumed.output)")
        let from = try #require(resumed.output.split(separator: "\n").first { $0.hasPrefix("resuming ck at step ") }
            .flatMap { Int($0.split(separator: " ").last!) }, "\(resumed.output)")
        #expect(from >= 10 && from < steps && from % 10 == 0, "resumed at step \(from)")

        let want = try Self.losses(cli.path("straight.jsonl"))
        let killed = try Self.losses(cli.path("killed.jsonl"))
        let after = try Self.losses(cli.path("resumed.jsonl"))
        #expect(want.count == steps && Set(after.keys) == Set((from + 1)...steps), "steps logged: \(after.keys.sorted().prefix(3))...")
        #expect(killed.keys.max()! < steps, "the killed run finished")
        for (s, bits) in killed { #expect(want[s] == bits, "killed run, step \(s)") }
        let differing = after.filter { want[$0.key] != $0.value }.keys.sorted()
        #expect(differing.isEmpty, "resumed losses differ from the uninterrupted run's at steps \(differing.prefix(5))")
        // The final weights too: the resumed run's tensors equal the uninterrupted one's, byte for byte
        // (the safetensors data after the header; the header's metadata names each run's own directory).
        func tensorBytes(_ dir: String) throws -> Data {
            let file = try #require(cli.snapshot(dir)["model.safetensors"])
            let headerLength = file.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            return file.dropFirst(8 + headerLength)
        }
        let resumedTensors = try tensorBytes("ck"), straightTensors = try tensorBytes("straight")
        #expect(resumedTensors.count > 100_000 && resumedTensors == straightTensors)
    }

    @Test func aShardDirectoryOfAKilledPrepareIsRefusedAndKept() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        // 32 MiB of text in paragraphs: shards appear after the first 8 MiB batch, long before the end.
        let corpus = try #require(FileManager.default.contents(atPath: Self.fixture("trainer_corpus.txt")))
        var text = Data()
        var copy = 0
        while text.count < 32 << 20 { text.append(Data("copy \(copy)\n\n".utf8)); text.append(corpus); copy += 1 }
        try text.write(to: URL(fileURLWithPath: cli.path("big.txt")))
        let prepare = ["data", "prepare", "--tokenizer", Self.fixture("gpt2_style.json"), "--data", "big.txt",
                       "--out", "shards", "--documents", "paragraph", "--shard-tokens", "65536", "--threads", "1"]
        let run = cli.start(prepare, output: cli.path("prepare.txt"))
        let shardWritten = Self.wait(for: run.process) {
            ((try? FileManager.default.contentsOfDirectory(atPath: cli.path("shards"))) ?? []).contains { $0.hasSuffix(".bin") }
        }
        if run.process.isRunning { kill(run.process.processIdentifier, SIGKILL) }
        run.process.waitUntilExit()
        try #require(shardWritten && run.process.terminationReason == .uncaughtSignal,
                     "prepare was to be killed mid-way: \((try? String(contentsOfFile: run.log, encoding: .utf8)) ?? "")")
        let left = cli.snapshot("shards")
        #expect(left["PREPARING"] != nil && left["index.json"] == nil && left.keys.contains { $0.hasSuffix(".bin") })

        let train = try cli.run(["train", "--data", "shards", "--vocab", "768", "--steps", "2"] + TesseraCLI.tiny)
        let again = try cli.run(prepare)
        for (what, r) in [("train", train), ("prepare", again)] {
            let errors = r.output.split(separator: "\n").filter { $0.hasPrefix("tessera: error:") }
            #expect(r.status == 2 && errors.count == 1, "\(what): \(r.output)")
            #expect(r.output.contains("unfinished preparation") && r.output.contains("PREPARING")
                    && r.output.contains("no index.json"), "\(what): \(r.output)")
        }
        #expect(!train.output.contains("step 1/"), "train started: \(train.output)")
        #expect(cli.snapshot("shards") == left, "the killed run's directory was changed")
    }
}
