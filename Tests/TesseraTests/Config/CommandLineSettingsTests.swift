import Foundation
import Testing
import Tessera

/// Flags come from the same table as config-file keys: every bad value gets
/// one line naming the value and what is valid.
@Suite struct CommandLineSettingsTests {
    /// The config the train command line `words` gives, or the one-line error.
    func train(_ words: [String]) -> (config: TrainConfig?, error: String) {
        do {
            let c = try GivenSettings(configFile: nil, words: words, table: TrainConfig.table).applied(to: TrainConfig())
            try c.validate()
            return (c, "")
        } catch {
            return (nil, "\(error)")
        }
    }

    @Test(arguments: [
        (["--steps", "-5"], "command line: steps must be an integer in 1...1000000000, got -5"),
        (["--steps=-5"], "command line: steps must be an integer in 1...1000000000, got -5"),
        (["--steps", "2147483648"], "command line: steps must be an integer in 1...1000000000, got 2147483648"),
        (["--steps", "1e300"], "command line: steps must be an integer in 1...1000000000, got 1e300"),
        (["--steps", "ten"], "command line: steps must be an integer in 1...1000000000, got ten"),
        (["--grad-clip", "-1"], "command line: grad-clip must be 0 (off) or a positive number, got -1"),
        (["--grad-clip", "nan"], "command line: grad-clip must be 0 (off) or a positive number, got nan"),
        (["--sample", "-1"], "command line: sample must be an integer in 0...1048576, got -1"),
        (["--lr", "inf"], "command line: lr must be a positive number, got inf"),
        (["--seed", "-3"], "command line: seed must be an integer in 0...9223372036854775807, got -3"),
        (["--dropout", "1"], "command line: dropout must be a number in [0, 1), got 1"),
        (["--schedule", "zigzag"], "command line: schedule must be naive, gpipe, 1f1b, interleaved or zb-h1, got zigzag"),
        (["--data", ""], "command line: data must be a non-empty path, got ''"),
        (["--log-every", "-1"], "command line: log-every must be an integer in 0...1000000000, got -1"),
        (["--eval-every", "-1"], "command line: eval-every must be an integer in 0...1000000000, got -1"),
        (["--steps"], "--steps needs a value: steps must be an integer in 1...1000000000"),
        (["--no-steps"], "--no-steps is only for switches; write --steps VALUE (an integer in 1...1000000000)"),
        (["--sp=maybe"], "command line: sp must be true or false, got maybe"),
        (["--pp-layers", "3,x"], "command line: pp-layers must be comma-separated positive block counts like 3,3,2, got 3,x"),
        (["--precision", "fp16"], "command line: precision must be fp32 or bf16, got fp16"),
        (["--steps", "5", "--steps", "6"], "command line: steps is set twice (first at command line); set it once"),
    ])
    func badValuesGetOneLineNamingTheValueAndWhatIsValid(_ words: [String], _ message: String) {
        #expect(train(words).error == message)
    }

    @Test func unknownFlagsAndStrayWordsListTheValidFlags() {
        let unknown = train(["--layerz", "2"]).error
        #expect(unknown.hasPrefix("unknown flag '--layerz'; valid flags: --vocab, --seq-len, --layers,") && unknown.hasSuffix("--config"))
        #expect(train(["5"]).error.hasPrefix("unexpected argument '5'; settings are written --KEY VALUE, with KEY one of --vocab"))
    }

    @Test func zeroMeansOnlyAtTheEndForEveryPeriodicSetting() throws {
        let c = try #require(train(["--eval-every", "0", "--log-every", "0", "--checkpoint-every", "0", "--grad-clip", "0"]).config)
        #expect(c.evalEvery == 0 && c.logEvery == 0 && c.checkpointEvery == 0 && c.gradClip == 0)
    }

    @Test func oneVocabularyWithTheOlderSpellingsStillRead() throws {
        let c = try #require(train(["--pp", "2", "--microbatches", "4", "--chunks", "2", "--schedule", "interleaved",
                                    "--no-sp"]).config)
        #expect(c.microBatches == 4 && c.ppChunks == 2 && !c.sp)
        let help = TrainConfig.table.help(defaults: TrainConfig()).joined(separator: "\n")
        #expect(help.contains("--micro-batches VALUE") && !help.contains("--microbatches") && !help.contains("--chunks "))
    }

    @Test func helpShowsEverySettingWithItsDefaultAndWhatItAccepts() {
        let help = TrainConfig.table.help(defaults: TrainConfig())
        #expect(help.count == 2 * TrainConfig.table.keys.count)
        #expect(help.filter { $0.count > 76 } == [], "lines that ArgumentParser would wrap")
        #expect(help.contains("  --steps VALUE   default 1000; an integer in 1...1000000000"))
        #expect(help.contains("  --sp | --no-sp   default false; true or false"))
        #expect(help.contains("  --schedule VALUE   default 1f1b; naive, gpipe, 1f1b, interleaved or zb-h1"))
        #expect(help.contains("  --data VALUE   a non-empty path"))
    }

    @Test func flagsAndConfigKeysAreOneSet() {
        // Keys that used to exist only in files or only as flags.
        for key in ["sample", "resume", "beta1", "beta2", "min-lr-ratio", "eval-batches"] {
            #expect(TrainConfig.table.setting(key) != nil, "\(key)")
        }
    }

    @Test func aCommandRefusesSettingsItWouldIgnore() {
        let verify = TrainConfig.table.refusing(["checkpoint"], because: "verify keeps nothing")
        let m = TestSupport.message {
            _ = try GivenSettings(configFile: nil, words: ["--checkpoint", "d"], table: verify).applied(to: TrainConfig())
        }
        #expect(m.hasPrefix("command line: checkpoint is not taken here: verify keeps nothing; valid keys: vocab,"))
        #expect(!m.contains("checkpoint,"))
    }

    @Test func resumingAtOrPastTheLastStepSaysSo() throws {
        var c = TrainConfig()
        c.steps = 20
        #expect(TestSupport.message { try c.requireSteps(after: 20, resuming: "run1") }
                    == "checkpoint 'run1' is already at step 20 and steps is 20: nothing to train; pass --steps greater than 20 to continue it")
        #expect(throws: Never.self) { try c.requireSteps(after: 19, resuming: "run1") }
    }
}
