import Foundation

/// Element types of flat buffers and of collectives.
public enum DType: String, Sendable, CaseIterable {
    case float32, bfloat16, int32, int64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .bfloat16: 2
        case .int64: 8
        }
    }
}

/// A 64-byte-aligned, zero-filled allocation of `count` elements of one
/// dtype: the storage of a parameter bucket's values, gradients, optimizer
/// moments or low-precision working copy. Tensors can view parts of it (see
/// `Tensor(viewing:at:shape:)`); the buffer lives as long as any view.
public final class FlatBuffer: @unchecked Sendable {
    /// Element type.
    public let dtype: DType
    /// Number of elements.
    public let count: Int
    /// Start of the storage (64-byte aligned), `count · dtype.size` bytes.
    public let raw: UnsafeMutableRawPointer

    /// `count` zeroed elements of `dtype`.
    public init(_ dtype: DType, count: Int) {
        precondition(count >= 0, "FlatBuffer: negative count \(count)")
        self.dtype = dtype
        self.count = count
        let bytes = max(count * dtype.size, 64)
        raw = TensorPool.allocate(bytes: bytes)
        memset(raw, 0, bytes)
    }

    deinit { free(raw) }

    /// Bytes of storage.
    public var byteCount: Int { count * dtype.size }

    /// The elements as float32 (the buffer must be float32).
    public var floats: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "FlatBuffer: \(dtype) buffer read as float32")
        return raw.assumingMemoryBound(to: Float.self)
    }

    /// Sets every element to zero (one fill).
    public func zero() { memset(raw, 0, byteCount) }
}
