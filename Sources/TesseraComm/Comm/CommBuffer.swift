import TesseraKernels

/// A buffer a collective reads or writes: `count` elements of `dtype` at
/// `raw`. bfloat16 elements are 16-bit patterns (`BF16.bits`); the other
/// dtypes are their Swift types (Float, Int32, Int64). The buffer does not
/// own its memory: it must stay alive (and, for a started operation,
/// untouched) until the operation completes. A send-only buffer may view
/// memory the caller holds as immutable; collectives never write to it.
public struct CommBuffer: @unchecked Sendable {
    /// First byte.
    public let raw: UnsafeMutableRawPointer
    /// Element type.
    public let dtype: DType
    /// Number of elements.
    public let count: Int

    /// `count` elements of `dtype` at `raw`.
    public init(_ raw: UnsafeMutableRawPointer, _ dtype: DType, count: Int) {
        precondition(count >= 0, "CommBuffer: negative count \(count)")
        self.raw = raw
        self.dtype = dtype
        self.count = count
    }

    /// `count` float32 values.
    public init(_ p: UnsafePointer<Float>, count: Int) { self.init(UnsafeMutableRawPointer(mutating: p), .float32, count: count) }
    /// `count` bfloat16 values as 16-bit patterns.
    public init(bfloat16 p: UnsafePointer<UInt16>, count: Int) {
        self.init(UnsafeMutableRawPointer(mutating: p), .bfloat16, count: count)
    }
    /// `count` int32 values.
    public init(_ p: UnsafePointer<Int32>, count: Int) { self.init(UnsafeMutableRawPointer(mutating: p), .int32, count: count) }
    /// `count` int64 values.
    public init(_ p: UnsafePointer<Int64>, count: Int) { self.init(UnsafeMutableRawPointer(mutating: p), .int64, count: count) }
    /// A whole flat buffer, in its dtype.
    public init(_ flat: FlatBuffer) { self.init(flat.raw, flat.dtype, count: flat.count) }
    /// A whole float32 tensor.
    public init(_ t: Tensor) { self.init(t.data, count: t.count) }

    /// Bytes of the elements.
    public var byteCount: Int { count * dtype.size }

    /// Elements `range` of this buffer.
    public func slice(_ range: Range<Int>) -> CommBuffer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "CommBuffer: slice \(range) of \(count)")
        return CommBuffer(raw + range.lowerBound * dtype.size, dtype, count: range.count)
    }

    /// Copies this buffer's elements into `other` (same dtype and count) unless they are the same memory.
    func copy(into other: CommBuffer) {
        if other.raw != raw { other.raw.copyMemory(from: raw, byteCount: byteCount) }
    }
}
