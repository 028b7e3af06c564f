import Foundation
import SwiftProtobuf
import TesseraSupport

/// `tessera train --tensorboard DIR`: an events file TensorBoard reads
/// (`tensorboard --logdir DIR`), written on the logged steps like the metrics
/// log. Each run adds its own file, events.out.tfevents.SECONDS.HOST.PID.tessera,
/// and never touches the others: protobuf `Event` records (swift-protobuf,
/// generated from proto/tensorboard_event.proto) in TFRecord framing.
///
/// Scalars, under these tags: train/loss, train/validation_loss,
/// train/learning_rate, train/gradient_norm, speed/tokens_per_second,
/// speed/step_seconds, speed/mfu, memory/max_rank_gib and memory/rank_R_gib,
/// comm/exposed_seconds, and with experts moe/load_max_over_mean,
/// moe/dropped_fraction, moe/aux_loss, moe/z_loss.
public final class TensorBoardLog {
    public let directory: String
    let writer: TFRecordWriter

    /// Opens a new events file in `directory` (created when missing, its parent must exist).
    public init(directory: String) throws {
        try Self.check(directory)
        if !FileManager.default.fileExists(atPath: directory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) } catch {
                throw OutputError("cannot create --tensorboard directory '\(directory)': \(error.localizedDescription)")
            }
        }
        let host = ProcessInfo.processInfo.hostName.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(String(host)).\(getpid()).tessera"
        self.directory = directory
        writer = try TFRecordWriter(path: directory + "/" + name)
        var first = Tensorboard_Event()
        first.wallTime = Date().timeIntervalSince1970
        first.fileVersion = "brain.Event:2"
        try writer.write(first.serializedBytes())
    }

    /// The events file this run writes.
    public var path: String { writer.path }

    /// The directory must be a directory or not exist yet with an existing parent.
    public static func check(_ directory: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw ConfigError("--tensorboard '\(directory)' is a file; give a directory (new or one TensorBoard reads)")
            }
            return
        }
        let parent = FilePathParts(directory).directory
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError("--tensorboard '\(directory)': its parent '\(parent)' is not a directory; create it first")
        }
    }

    /// The scalars of one logged step, by tag.
    public static func scalars(_ m: StepMetrics) -> [(String, Double)] {
        var out: [(String, Double)] = [("train/loss", m.loss), ("train/learning_rate", m.lr),
                                       ("train/gradient_norm", m.grad_norm), ("speed/tokens_per_second", m.tokens_per_s),
                                       ("speed/step_seconds", m.step_seconds)]
        if let v = m.val_loss { out.append(("train/validation_loss", v)) }
        if let v = m.mfu { out.append(("speed/mfu", v)) }
        if let mem = m.memory_bytes, let peak = mem.max() {
            out.append(("memory/max_rank_gib", Double(peak) / 1_073_741_824))
            if mem.count <= 64 {
                for (r, b) in mem.enumerated() { out.append(("memory/rank_\(r)_gib", Double(b) / 1_073_741_824)) }
            }
        }
        if let v = m.comm_exposed_s { out.append(("comm/exposed_seconds", v)) }
        if let v = m.moe_max_over_mean { out.append(("moe/load_max_over_mean", v)) }
        if let v = m.moe_dropped { out.append(("moe/dropped_fraction", v)) }
        if let v = m.moe_aux_loss { out.append(("moe/aux_loss", v)) }
        if let v = m.moe_z_loss { out.append(("moe/z_loss", v)) }
        return out
    }

    /// Appends step `m`'s scalars as one event.
    public func write(_ m: StepMetrics) throws {
        var summary = Tensorboard_Summary()
        summary.value = Self.scalars(m).map { tag, v in
            var value = Tensorboard_Summary.Value()
            value.tag = tag
            value.simpleValue = Float(v)
            return value
        }
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(m.step)
        event.summary = summary
        try writer.write(event.serializedBytes())
    }

    /// One scalar read back from an events file.
    public struct Scalar: Sendable, Equatable {
        public var step: Int, tag: String, value: Float
    }

    /// The file version and every scalar of the events file at `path`, each record's CRCs checked; a
    /// `DataError` names the file for a bad frame or a record that is not an event.
    public static func read(path: String) throws -> (version: String, scalars: [Scalar]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError("cannot read TensorBoard events file '\(path)'")
        }
        var version = "", scalars: [Scalar] = []
        do {
            for record in try TFRecord.records(data) {
                let event = try Tensorboard_Event(serializedBytes: record)
                if case .fileVersion(let v)? = event.what { version = v }
                for v in event.summary.value {
                    if case .simpleValue(let x)? = v.value { scalars.append(Scalar(step: Int(event.step), tag: v.tag, value: x)) }
                }
            }
        } catch let e as DataError {
            throw DataError("TensorBoard events file '\(path)': \(e.description)")
        } catch {
            throw DataError("TensorBoard events file '\(path)' holds a record that is not an Event: \(error)")
        }
        return (version, scalars)
    }
}
