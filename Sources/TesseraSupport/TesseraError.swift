/// What went wrong, as a kind with one exit status each; every error Tessera
/// throws is a `TesseraError` of one kind, so the command line maps it to
/// the same status whether the job ran on one rank, on threads or under MPI.
public enum ErrorKind: String, Sendable, CaseIterable {
    /// A bad configuration value or layout.
    case config
    /// Training data that cannot be used.
    case data
    /// A checkpoint that cannot be used.
    case checkpoint
    /// An output (checkpoint, trace) that cannot be written.
    case output
    /// A run that diverged (loss or gradient norm not finite).
    case training
    /// A failed, missing or mismatched rank.
    case communication

    /// The process exit status: 2 for bad input or output (config, data, checkpoint, output path),
    /// 3 for a diverged run, 4 for a communication failure. (1 is `verify`'s
    /// "not equivalent" and any error that is not Tessera's.)
    public var exitStatus: Int32 {
        switch self {
        case .config, .data, .checkpoint, .output: 2
        case .training: 3
        case .communication: 4
        }
    }
}

/// Any Tessera error, whatever its kind (what `catch` sites match on).
public protocol TesseraFailure: Error, CustomStringConvertible, Sendable {
    /// The kind, which fixes the exit status.
    var kind: ErrorKind { get }
    /// The same error as raised on `rank` of a multi-rank job ("rank r failed: …").
    func onRank(_ rank: Int) -> any TesseraFailure
}

/// Marks one `ErrorKind` at the type level, so each kind is its own Swift
/// type (`ConfigError`, `DataError`, …) for `catch` and `#expect(throws:)`.
public protocol ErrorKindTag: Sendable { static var kind: ErrorKind { get } }

/// The one error type: a kind and a one-line message that names what is
/// wrong and what would be valid.
public struct TesseraError<Tag: ErrorKindTag>: TesseraFailure, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
    public var kind: ErrorKind { Tag.kind }
    public func onRank(_ rank: Int) -> any TesseraFailure { Self("rank \(rank) failed: \(description)") }
}

/// Kind tags (see `ErrorKind`).
public enum ConfigKind: ErrorKindTag { public static let kind = ErrorKind.config }
public enum DataKind: ErrorKindTag { public static let kind = ErrorKind.data }
public enum CheckpointKind: ErrorKindTag { public static let kind = ErrorKind.checkpoint }
public enum OutputKind: ErrorKindTag { public static let kind = ErrorKind.output }
public enum TrainingKind: ErrorKindTag { public static let kind = ErrorKind.training }
public enum CommunicationKind: ErrorKindTag { public static let kind = ErrorKind.communication }

/// A bad configuration value: the message names the value and what is valid.
public typealias ConfigError = TesseraError<ConfigKind>
/// A problem with the training data; the message says what is wrong and what would work.
public typealias DataError = TesseraError<DataKind>
/// A checkpoint that cannot be used; the message names the file and the mismatch.
public typealias CheckpointError = TesseraError<CheckpointKind>
/// An output (checkpoint, trace) that cannot be written: one line naming the path and the reason.
public typealias OutputError = TesseraError<OutputKind>
/// A training run that diverged or cannot go on.
public typealias TrainingError = TesseraError<TrainingKind>
/// A communication failure; the message names the group, the operation and the ranks involved.
public typealias CommError = TesseraError<CommunicationKind>

extension ErrorKind {
    /// `error` as thrown by `rank` of a multi-rank job: a Tessera error keeps
    /// its kind and gains the rank; any other error is that rank's
    /// communication-kind failure (the job cannot go on without it).
    public static func rankFailure(_ error: Error, rank: Int) -> any TesseraFailure {
        (error as? any TesseraFailure)?.onRank(rank) ?? CommError("rank \(rank) failed: \(error)")
    }
}
