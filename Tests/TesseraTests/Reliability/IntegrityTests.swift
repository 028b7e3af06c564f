import Foundation
import Testing
import Tessera

/// Issue 11, item 5: a checkpoint is checked whole before it is used —
/// damaged bytes, non-finite values and edited or out-of-range metadata are
/// each refused with one line naming the file, the tensor or field, and what is valid.
@Suite struct IntegrityTests {
    /// A saved tiny checkpoint in a fresh directory (removed by the caller).
    static func saved(steps: Int = 2) throws -> String {
        Compute.threads = 1
        let trainer = try Trainer(config: TrainingTests.tinyConfig(), data: try TokenDataset.builtIn(seqLen: 16))
        for _ in 0..<steps { _ = try trainer.trainStep() }
        let dir = TestSupport.temporaryPath("integrity")
        try trainer.checkpoint().save(to: dir)
        return dir
    }

    @Test func crc32cMatchesTheStandardCheckValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(bytes)
        let split = bytes[500...].withUnsafeBytes { CRC32C.checksum($0, continuing: CRC32C.checksum(Array(bytes[..<500]))) }
        #expect(whole == split)
    }

    @Test(arguments: ["model.safetensors", "optimizer.safetensors"])
    func flippedBytesAreRefused(file: String) throws {
        let dir = try Self.saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + file
        var data = FileManager.default.contents(atPath: path)!
        for i in 0..<64 { data[data.count / 2 + i] ^= 0x5A }
        try data.write(to: URL(fileURLWithPath: path))
        let m = TestSupport.message { _ = try Checkpoint.load(from: dir) }
        #expect(m.contains("\(file) is damaged") && m.contains("CRC32C"), "\(m)")
    }

    @Test func truncatedFileAndMissingMarkerAreRefused() throws {
        let dir = try Self.saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        let data = FileManager.default.contents(atPath: path)!
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path))
        #expect(TestSupport.message { _ = try Checkpoint.load(from: dir) }.contains("bytes, the checkpoint recorded"))
        try FileManager.default.removeItem(atPath: dir + "/" + CheckpointDirectory.markerName)
        #expect(TestSupport.message { _ = try Checkpoint.load(from: dir) }.contains("has no tessera-checkpoint.json"))
    }

    /// Rewrites the model file through `edit` and re-records its checksum, as
    /// a careful forger would: the content checks must catch it.
    static func forge(_ dir: String, file: String = "model.safetensors", _ edit: (inout SafeTensors.File) -> Void) throws {
        let path = dir + "/" + file
        var contents = try SafeTensors.read(path: path)
        edit(&contents)
        let bytes = try SafeTensors.encode(contents)
        try bytes.write(to: URL(fileURLWithPath: path))
        let markerPath = dir + "/" + CheckpointDirectory.markerName
        var marker = try JSONDecoder().decode(CheckpointMarker.self, from: FileManager.default.contents(atPath: markerPath)!)
        marker.files[file] = .init(bytes: bytes.count, crc32c: CRC32C.hex(CRC32C.checksum(bytes)))
        try JSONEncoder().encode(marker).write(to: URL(fileURLWithPath: markerPath))
    }

    @Test func nonFiniteWeightsAndNegativeMomentsAreRefusedNamingTheTensor() throws {
        for (file, tensor, value, expected) in [("model.safetensors", "h.0.mlp.fc.weight", Float.nan, "holds nan"),
                                                ("model.safetensors", "wte", Float.infinity, "holds inf"),
                                                ("optimizer.safetensors", "v.lnf.bias", -1, "negative value -1.0")] {
            let dir = try Self.saved()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Self.forge(dir, file: file) { f in
                guard case .f32(let s, var v)? = f.arrays[tensor] else { return }
                v[v.count / 2] = value
                f.arrays[tensor] = .f32(shape: s, values: v)
            }
            let m = TestSupport.message { _ = try Checkpoint.load(from: dir) }
            #expect(m.contains("'\(tensor)'") && m.contains(expected) && !m.contains("--lr"), "\(m)")
        }
    }

    @Test func editedMetadataIsRefusedNamingTheField() throws {
        let cases: [(String, (inout [String: String]) -> Void, String)] = [
            ("step -5", { $0["step"] = "-5" }, "metadata 'step' is -5; valid: 0 to the run's steps"),
            ("step past the run", { $0["step"] = "999999" }, "metadata 'step' is 999999"),
            ("step not a number", { $0["step"] = "two" }, "metadata 'step' is missing or not an integer"),
            ("optimizer-t", { $0["optimizer-t"] = "1" }, "metadata 'optimizer-t' is 1 but 'step' is 2"),
            ("format", { $0["format"] = "other" }, "metadata format is 'other'"),
            ("config", { $0["config"] = "{}" }, "metadata 'config' is missing or is not a training config"),
            ("heads", { $0["config"] = $0["config"]!.replacingOccurrences(of: "\"heads\":4", with: "\"heads\":3") },
             "metadata 'config' is invalid: d-model 32 is not divisible by heads 3"),
            ("layers", { $0["config"] = $0["config"]!.replacingOccurrences(of: "\"layers\":2", with: "\"layers\":3") },
             "has no tensor 'h.2.attn.proj.bias'"),
        ]
        for (name, edit, expected) in cases {
            let dir = try Self.saved()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Self.forge(dir) { edit(&$0.metadata) }
            let m = TestSupport.message { _ = try Checkpoint.load(from: dir) }
            #expect(m.contains(expected), "\(name): \(m)")
        }
    }

    @Test func anEditedHeaderWithoutANewChecksumIsRefused() throws {
        let dir = try Self.saved()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        var text = FileManager.default.contents(atPath: path)!
        let from = Data("\\\"heads\\\":4".utf8), to = Data("\\\"heads\\\":2".utf8)
        let range = try #require(text.range(of: from))
        text.replaceSubrange(range, with: to)
        try text.write(to: URL(fileURLWithPath: path))
        #expect(TestSupport.message { _ = try Checkpoint.load(from: dir) }.contains("is damaged"))
    }
}
