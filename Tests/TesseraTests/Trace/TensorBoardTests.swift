import Foundation
import Testing
import Tessera

/// `train --tensorboard DIR`: TFRecord framing with masked CRC32C (known
/// answers from TensorBoard's own `masked_crc32c`), and a two-step run whose
/// events file holds the metrics log's figures.
@Suite struct TensorBoardTests {
    @Test func maskedCRCMatchesTensorBoards() {
        // tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c(b"123456789") and of the
        // 8-byte little-endian length 9 (TensorBoard 2.21).
        #expect(TFRecord.maskedCRC(Data("123456789".utf8)) == 0xc78a_b0e5)
        var nine = UInt64(9).littleEndian
        #expect(TFRecord.maskedCRC(withUnsafeBytes(of: &nine) { Data($0) }) == 0x3971_f937)
    }

    @Test func framedRecordsReadBackAndACorruptByteIsCaught() throws {
        let records = [Data("first".utf8), Data(), Data((0..<300).map { UInt8($0 % 256) })]
        var file = Data()
        for r in records { file.append(TFRecord.frame(r)) }
        #expect(file.count == records.map { $0.count + 16 }.reduce(0, +))
        #expect(try TFRecord.records(file) == records)
        var bad = file
        bad[20] ^= 0x01   // inside the first record's data
        #expect(throws: DataError.self) { _ = try TFRecord.records(bad) }
        #expect(throws: DataError.self) { _ = try TFRecord.records(file.dropLast(2)) }
    }

    @Test func aRunWritesEveryLoggedStepsScalars() throws {
        Compute.threads = 1
        let dir = TestSupport.temporaryPath("tensorboard")
        let metrics = TestSupport.temporaryPath("tb-metrics.jsonl")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: metrics) }
        var c = Equivalence.defaultConfig
        c.steps = 3; c.logEvery = 1; c.tensorboard = dir; c.metrics = metrics; c.quiet = true; c.sample = 0
        let run = c, data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        try Launcher.run(config: run, backend: .threads) { groups in
            try Trainer(config: run, data: data, groups: groups).run { _ in }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count == 1 && files[0].hasPrefix("events.out.tfevents."), "\(files)")
        let (version, scalars) = try TensorBoardLog.read(path: dir + "/" + files[0])
        #expect(version == "brain.Event:2")
        let logged = try MetricsLog.read(path: metrics)
        #expect(logged.map(\.step) == [1, 2, 3])
        for m in logged {
            func value(_ tag: String) -> Float? { scalars.first { $0.step == m.step && $0.tag == tag }?.value }
            #expect(value("train/loss") == Float(m.loss))
            #expect(value("train/learning_rate") == Float(m.lr))
            #expect(value("train/gradient_norm") == Float(m.grad_norm))
            #expect(value("speed/tokens_per_second") == Float(m.tokens_per_s))
            #expect(value("speed/mfu") == m.mfu.map { Float($0) })
            #expect(m.mfu != nil)
        }
    }

    @Test func aFileInPlaceOfTheDirectoryIsRefused() throws {
        let path = TestSupport.temporaryPath("not-a-dir")
        FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(TestSupport.message { try TensorBoardLog.check(path) }
                    == "--tensorboard '\(path)' is a file; give a directory (new or one TensorBoard reads)")
    }
}
