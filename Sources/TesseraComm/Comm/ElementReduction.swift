import TesseraSupport
import TesseraKernels

/// How a reduction combines elements of each dtype, shared by the backends
/// (the thread backend's reduce, MPI's user-defined bfloat16 operations and
/// the average's final division).
///
/// - float32: IEEE sums and maxima.
/// - bfloat16: both elements are widened to float32, combined in float32 and
///   the result rounded back to bf16 (round to nearest even, `BF16.bits`):
///   every pairwise combination rounds, as NCCL's bf16 reductions do. The
///   thread backend combines ranks in rank order; MPI's order is its own, so
///   with more than two ranks a sum may differ between the backends in the
///   last bf16 bit. Maxima are exact either way.
/// - int32, int64: wrapping (two's complement) sums and maxima; `average`
///   is not defined for integers and is refused before communicating.
enum ElementReduction {
    /// Throws when `op` is not defined for `dtype` (average of integers).
    static func check(_ op: ReduceOp, _ dtype: DType, group: String, _ what: String) throws {
        if op == .average && (dtype == .int32 || dtype == .int64) {
            throw CommError("group \(group), \(what): average is defined for float32 and bfloat16, not \(dtype); "
                            + "use sum and divide")
        }
    }

    /// For i < n: acc[i] ← acc[i] op src[i], both `dtype` (average sums).
    static func combine(_ src: UnsafeRawPointer, into acc: UnsafeMutableRawPointer, count n: Int, dtype: DType,
                        op: ReduceOp) {
        switch dtype {
        case .float32:
            let s = src.assumingMemoryBound(to: Float.self), a = acc.assumingMemoryBound(to: Float.self)
            if op == .max { for i in 0..<n { a[i] = Swift.max(a[i], s[i]) } } else { for i in 0..<n { a[i] += s[i] } }
        case .bfloat16:
            let s = src.assumingMemoryBound(to: UInt16.self), a = acc.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n {
                let x = widen(a[i]), y = widen(s[i])
                a[i] = BF16.bits(op == .max ? Swift.max(x, y) : x + y)
            }
        case .int32: combineIntegers(src, into: acc, n, Int32.self, op)
        case .int64: combineIntegers(src, into: acc, n, Int64.self, op)
        }
    }

    private static func combineIntegers<T: FixedWidthInteger>(_ src: UnsafeRawPointer, into acc: UnsafeMutableRawPointer,
                                                              _ n: Int, _: T.Type, _ op: ReduceOp) {
        let s = src.assumingMemoryBound(to: T.self), a = acc.assumingMemoryBound(to: T.self)
        if op == .max { for i in 0..<n { a[i] = Swift.max(a[i], s[i]) } } else { for i in 0..<n { a[i] = a[i] &+ s[i] } }
    }

    /// The float32 value of a bf16 pattern.
    @inline(__always) static func widen(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Divides n float32 or bf16 elements by `ranks` (the last step of `average`;
    /// bf16 is widened, scaled by 1/ranks in float32 and rounded back).
    static func divide(_ buf: UnsafeMutableRawPointer, count n: Int, dtype: DType, by ranks: Int) {
        let scale = 1 / Float(ranks)
        switch dtype {
        case .float32: Vector.scale(buf.assumingMemoryBound(to: Float.self), n, by: scale)
        case .bfloat16:
            let b = buf.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { b[i] = BF16.bits(widen(b[i]) * scale) }
        case .int32, .int64: preconditionFailure("average of \(dtype) is refused by ElementReduction.check")
        }
    }
}
