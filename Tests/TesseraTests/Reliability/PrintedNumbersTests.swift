import Foundation
import Testing
import Tessera

/// Every number the commands print is true (issue 23, item 5), checked the
/// way a user meets it: through the binary. Each of these failed on the
/// build before its fix (run them against another build with TESSERA_BIN).
@Suite struct PrintedNumbersTests {
    /// The number after `prefix` in `text` (e.g. "step time " → 28.5).
    static func number(after prefix: String, in text: String) -> Double? {
        guard let range = text.range(of: prefix) else { return nil }
        let digits = text[range.upperBound...].prefix { "0123456789.e-+".contains($0) }
        return Double(digits)
    }

    /// A stage costs F = B = W = 1; an interleaved chunk is half a stage. 1F1B at pp 4, m 8 takes
    /// (m + p − 1)·(F + B + W) = 33; interleaved v = 2 shrinks the bubble to (p − 1)/v stages:
    /// 8·3 + 3·3/2 = 28.5 (Narayanan et al. 2021, §2.2). It was priced at a whole stage per chunk (57).
    @Test func scheduleSimulatorPricesAChunkAtAFractionOfAStage() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        func simulate(_ args: [String]) throws -> (header: String, stepTime: Double?) {
            let r = try cli.run(["schedule", "--pp", "4", "--micro-batches", "8"] + args)
            #expect(r.status == 0, "\(r.output)")
            return (r.output.split(separator: "\n").first.map(String.init) ?? "",
                    Self.number(after: "step time ", in: r.output))
        }
        let oneF = try simulate(["--schedule", "1f1b"])
        let interleaved = try simulate(["--schedule", "interleaved", "--pp-chunks", "2"])
        #expect(oneF.stepTime == 33 && interleaved.stepTime == 28.5, "\(oneF) \(interleaved)")
        #expect(oneF.header.hasPrefix("1f1b pp=4 m=8 v=1 "), "\(oneF.header)")
        #expect(interleaved.header.hasPrefix("interleaved pp=4 m=8 v=2 "), "\(interleaved.header)")
    }

    /// `schedule` refuses what `train` refuses, with the same one-line error (one validation).
    @Test(arguments: [
        (["--schedule", "naive", "--micro-batches", "8"], "schedule naive runs the whole batch as one micro-batch"),
        (["--schedule", "interleaved", "--micro-batches", "4"], "schedule interleaved needs pp-chunks ≥ 2"),
    ])
    func scheduleRefusesWhatTrainRefuses(_ flags: [String], _ message: String) throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let schedule = try cli.run(["schedule", "--pp", "2"] + flags)
        let train = try cli.run(["train", "--pp", "2", "--layers", "2", "--d-model", "32", "--heads", "2",
                                 "--seq-len", "16", "--batch", "8", "--steps", "1", "--sample", "0"] + flags)
        for (what, r) in [("schedule", schedule), ("train", train)] {
            #expect(r.status == 2 && r.output.hasPrefix("tessera: error: \(message)"), "\(what): \(r.output)")
            #expect(r.output.split(separator: "\n").count == 1, "\(what): one line")
        }
    }

    /// `plan` gives model and hardware FLOP/s: with full recomputation hardware FLOPs are Narayanan et
    /// al.'s 96·B·s·L·h²·(1 + s/6h + V/16Lh) against the model's 72·B·s·L·h²·(1 + s/6h + V/12Lh).
    /// Their 1T model (L 128, h 25600, 160 heads, s 2048, V 51200) at dp 6 × tp 8 × pp 64 with batch
    /// 3072 runs 512 micro-batches: more stage messages than Tessera's MPI pipeline has tags, a limit
    /// of this runtime that must not refuse a GPU plan.
    @Test func planReportsModelAndHardwareFlopsForATrillionParameterPipeline() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let shape = ["plan", "--layers", "128", "--d-model", "25600", "--heads", "160", "--seq-len", "2048",
                     "--vocab", "51200", "--gpu", "a100-80", "--global-batch", "3072", "--micro-batch", "1",
                     "--layout", "dp=6,tp=8,pp=64,sp=true", "--recompute", "full"]
        let r = try cli.run(shape + ["--json"])
        #expect(r.status == 0, "\(r.output)")
        let doc = try? JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        let entry = (doc?["layouts"] as? [[String: Any]])?.first ?? [:]
        let (layout, mfu, hfu) = (entry["layout"] as? [String: Any], entry["mfu"] as? Double, entry["hfu"] as? Double)
        let (model, hardware) = (entry["tflops_per_device"] as? Double, entry["hardware_tflops_per_device"] as? Double)
        #expect(layout?["micro_batches"] as? Int == 512)
        let (s, h, L, V) = (2048.0, 25600.0, 128.0, 51200.0)
        let ratio = 96 * (1 + s / (6 * h) + V / (16 * L * h)) / (72 * (1 + s / (6 * h) + V / (12 * L * h)))
        if let mfu, let hfu, let model, let hardware {
            #expect(abs(hfu / mfu - ratio) < 1e-9 && abs(hardware / model - ratio) < 1e-9, "\(hfu / mfu) vs \(ratio)")
            #expect(mfu > 0 && hfu < 1)
        } else {
            Issue.record("missing mfu, hfu, tflops_per_device or hardware_tflops_per_device: \(entry.keys.sorted())")
        }
        let table = try cli.run(shape)
        #expect(table.status == 0 && table.output.contains("TFLOP/s/dev (model/hw)   MFU    HFU"), "\(table.output)")
    }

    /// verify's help, header and check name one parameter metric, ‖Δ‖₂/‖w‖₂, and the verdict's worst
    /// parameter difference is the largest of the printed ‖Δ‖₂/‖w‖₂ column (not max|Δ|/max|w|).
    @Test func verifyNamesTheMetricItComputes() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let help = try cli.run(["verify", "--help"]).output
        #expect(help.contains("‖Δ‖₂/‖w‖₂") && !help.contains("max |diff| / max |value|"), "\(help)")
        let r = try cli.run(["verify", "--tp", "2", "--steps", "3", "--layers", "1", "--d-model", "32",
                             "--heads", "2", "--seq-len", "16", "--batch", "4"])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("tessera verify passes when") && $0.contains("‖Δ‖₂/‖w‖₂ ≤ 1e-04") },
                "\(r.output)")
        let norms = lines.compactMap { line -> Double? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return cells.count == 3 && cells[0].contains(".") ? Double(cells[1]) : nil
        }
        let worst = Self.number(after: "worst parameter diff ", in: r.output)
        #expect(!norms.isEmpty && worst != nil)
        if let worst, let largest = norms.max() { #expect(abs(worst - largest) <= 0.006 * largest, "\(worst) vs \(largest)") }
    }

    /// The metrics log has the final validation `train` prints, so `plot` agrees with the terminal.
    @Test func metricsLogHoldsTheFinalValidation() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["train", "--steps", "3", "--metrics", "m.jsonl"] + TesseraCLI.tiny)
        #expect(r.status == 0, "\(r.output)")
        let printed = Self.number(after: "validation loss ", in: r.output)
        let last = try MetricsLog.read(path: cli.path("m.jsonl")).last
        #expect(last?.step == 3 && printed != nil)
        if let printed, let logged = last?.val_loss {
            #expect(String(format: "%.4f", logged) == String(format: "%.4f", printed))
        } else {
            Issue.record("the last metrics line has no val_loss; train printed \(printed ?? .nan)")
        }
    }

    /// `trace summary` keeps the data-parallel group's 4-byte loss all-reduce apart from its gradient
    /// buckets (it once printed their mean size), and reports the first step apart from steps 2…n.
    @Test func traceSummaryKeepsEachMessageSizeAndTheFirstStepApart() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let train = try cli.run(["train", "--dp", "2", "--steps", "3", "--trace", "t.json"] + TesseraCLI.tiny)
        #expect(train.status == 0, "\(train.output)")
        let r = try cli.run(["trace", "summary", "t.json"])
        #expect(r.status == 0, "\(r.output)")
        let rows = r.output.split(separator: "\n").filter { $0.hasPrefix("dp[0, 1] | allReduce | 2 | ") }
        #expect(rows.count >= 2 && rows.contains { $0.contains(" | 4 B | ") }, "\(r.output)")
        #expect(r.output.contains("steady state: mean over steps 2–3 of 3; the first step apart"), "\(r.output)")
        #expect(r.output.contains("steady state (steps 2–3 of 3): "), "\(r.output)")
    }
}
