import Foundation
import Testing
import Tessera

/// Config files: TOML through TOMLKit, JSON through Foundation; every error
/// names the file, the line, the key and what is valid.
@Suite struct ConfigFileTests {
    /// Writes `text` to a temporary file named `name`, applies it to a default config.
    func apply(_ text: String, _ name: String = "run.toml") -> (config: TrainConfig?, error: String, path: String) {
        let path = TestSupport.temporaryPath(name)
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = TrainConfig()
        do {
            try c.apply(file: path)
            return (c, "", path)
        } catch {
            return (nil, "\(error)", path)
        }
    }

    @Test func tomlWithCRLFLineEndingsSectionsAndAListReads() throws {
        let r = apply("steps = 50\r\n[model]\r\nlayers = 3 # blocks\r\nd-model = 48\r\n[layout]\r\npp = 3\r\n"
                      + "pp-layers = [1, 1, 1]\r\n[train]\r\nlr = 1e-3\r\ndata = \"x.txt\"\r\nsample = 0\r\nresume = \"old\"\r\n")
        let c = try #require(r.config, "\(r.error)")
        #expect(c.steps == 50 && c.model.layers == 3 && c.model.dModel == 48 && c.pp == 3 && c.layout.ppLayers == [1, 1, 1])
        #expect(c.lr == 1e-3 && c.data == "x.txt" && c.sample == 0 && c.resume == "old")
    }

    @Test func jsonWithSectionsAndCRLFReads() throws {
        let r = apply("{\r\n  \"steps\": 7,\r\n  \"model\": {\"heads\": 2, \"dropout\": 0.1},\r\n  \"layout\": {\"sp\": true, \"tp\": 2},"
                      + "\r\n  \"train\": {\"beta2\": 0.99, \"eval-batches\": 2, \"min-lr-ratio\": 0}\r\n}\r\n", "run.json")
        let c = try #require(r.config, "\(r.error)")
        #expect(c.steps == 7 && c.model.heads == 2 && c.model.dropout == 0.1 && c.sp && c.tp == 2)
        #expect(c.beta2 == 0.99 && c.evalBatches == 2 && c.minLRRatio == 0)
    }

    @Test(arguments: [
        ("steps = 1e300\n", "line 1: steps must be an integer in 1...1000000000, got 1e+300"),
        ("layers = 2\n\nseed = \"abc\"\n", "line 3: seed must be an integer in 0...9223372036854775807, got 'abc'"),
        ("sp = 1\n", "line 1: sp must be true or false, got 1"),
        ("grad-clip = -0.5\n", "line 1: grad-clip must be 0 (off) or a positive number, got -0.5"),
        ("layers = 2\nlearning_rate = 0.1\n", "line 2: unknown key 'learning_rate'; valid keys: vocab, seq-len, layers,"),
        ("[optim]\nlr = 0.1\n", "line 1: [optim] is not a section; sections are [model], [layout], [train] (or write keys at the top level)"),
        ("[train]\nlayers = 2\n", "line 2: key 'layers' belongs in [model] (or at the top level), not in [train]"),
        ("steps = 5\n[train]\nsteps = 6\n", "line 3: steps is set twice (first at config file"),
        ("steps = 5\nsteps = 6\n", "line 2, column 9: Error while parsing key-value pair: cannot redefine existing integer 'steps'"),
        ("steps = 99999999999999999999\n", "line 1, column"),
        ("steps = \n", "line 1, column 9: Error while parsing key-value pair: expected value"),
        ("started = 1979-05-27T07:32:00Z\n", "line 1: key 'started' has a date-time value; use a number, true/false"),
    ])
    func tomlErrorsNameTheFileLineKeyAndWhatIsValid(_ text: String, _ message: String) {
        let r = apply(text)
        #expect(r.error.hasPrefix("config file '\(r.path)' " + message), "\(r.error)")
        #expect(!r.error.contains("\n"))
    }

    @Test(arguments: [
        ("{\n  \"steps\": 5,\n  \"lr\": \n}\n", "line 4, column 1: not valid JSON"),
        ("{\"steps\": 5,\n \"steps\": 6}\n", "line 2: key 'steps' is set twice in one object; set it once"),
        ("{\"model\": {\"layers\": 2,\n \"layers\": 3}}\n", "line 2: key 'layers' is set twice in one object; set it once"),
        ("{\"steps\": 1e300}\n", "line 1: steps must be an integer in 1...1000000000, got 1e+300"),
        ("{\n\"layers\": \"two\"}\n", "line 2: layers must be an integer in 1...100000, got 'two'"),
        ("{\"optim\": {\"lr\": 1}}\n", "line 1: [optim] is not a section; sections are [model], [layout], [train]"),
        ("{\"a\": {\"b\": {\"c\": 1}}}\n", "line 1: 'a.b' is nested too deeply"),
        ("{\n\"data\": null}\n", "line 2: key 'data' needs a number, a string, true/false or a list of integers"),
        ("[1, 2]\n", "is not a JSON object of \"key\": value pairs"),
    ])
    func jsonErrorsNameTheFileLineKeyAndWhatIsValid(_ text: String, _ message: String) {
        let r = apply(text, "run.json")
        #expect(r.error.hasPrefix("config file '\(r.path)' " + message), "\(r.error)")
    }

    @Test func missingUnreadableAndBinaryFilesAreNamed() throws {
        var c = TrainConfig()
        #expect(TestSupport.message { try c.apply(file: "/nonexistent/run.toml") }
                    == "config file '/nonexistent/run.toml': it does not exist")
        let binary = TestSupport.temporaryPath("binary.toml")
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: URL(fileURLWithPath: binary))
        defer { try? FileManager.default.removeItem(atPath: binary) }
        #expect(TestSupport.message { try c.apply(file: binary) } == "config file '\(binary)' is not UTF-8 text")
    }

    @Test func flagsOverrideTheFile() throws {
        let path = TestSupport.temporaryPath("base.toml")
        try "steps = 50\nlr = 0.01\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try GivenSettings(configFile: path, words: ["--steps", "60"], table: TrainConfig.table).applied(to: TrainConfig())
        #expect(c.steps == 60 && c.lr == 0.01)
    }
}
