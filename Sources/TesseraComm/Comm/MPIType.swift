import CMPI
import TesseraKernels

/// The MPI datatype and reduction operation of each `DType`. bfloat16 moves
/// as 16-bit integers (MPI has no bf16 type) and reduces through
/// user-defined operations that widen to float32, combine and round back
/// (`ElementReduction`); the other dtypes use MPI's own types and MPI_SUM /
/// MPI_MAX (average is a sum divided afterwards).
enum MPIType {
    /// The MPI datatype of `dtype`'s elements.
    static func of(_ dtype: DType) -> MPI_Datatype {
        switch dtype {
        case .float32: tessera_mpi_float()
        case .bfloat16: tessera_mpi_uint16()
        case .int32: tessera_mpi_int32()
        case .int64: tessera_mpi_int64()
        }
    }

    /// The MPI operation that computes `op` (before average's division) on `dtype`.
    static func op(_ op: ReduceOp, _ dtype: DType) -> MPI_Op {
        switch (dtype, op) {
        case (.bfloat16, .max): bf16Max
        case (.bfloat16, _): bf16Sum
        case (_, .max): tessera_mpi_max()
        default: tessera_mpi_sum()
        }
    }

    /// `dtype`'s index in `DType.allCases`: the code a point-to-point header carries.
    static func code(_ dtype: DType) -> Int { DType.allCases.firstIndex(of: dtype)! }

    /// MPI's bf16 sum and max, created on first use (after MPI_Init).
    nonisolated(unsafe) static let bf16Sum = create { source, target, n, _ in
        ElementReduction.combine(source!, into: target!, count: Int(n!.pointee), dtype: .bfloat16, op: .sum)
    }
    nonisolated(unsafe) static let bf16Max = create { source, target, n, _ in
        ElementReduction.combine(source!, into: target!, count: Int(n!.pointee), dtype: .bfloat16, op: .max)
    }

    private static func create(_ body: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                                       UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<MPI_Datatype?>?)
                                   -> Void) -> MPI_Op {
        var op: MPI_Op? = nil
        let rc = MPI_Op_create(body, 1, &op)
        precondition(rc == MPI_SUCCESS, "MPI_Op_create failed with code \(rc)")
        return op!
    }
}
