/// The precision matrix products run at (`--precision`). Everything else —
/// master weights, gradients and their accumulation, reductions, AdamW
/// states, LayerNorm, softmax statistics, GELU, the loss — is float32 in
/// both; bf16 needs no loss scaling (its exponent range is float32's).
public enum Precision: String, Sendable, Codable, CaseIterable {
    /// float32 inputs, float32 accumulation.
    case fp32
    /// Inputs (activations and weights) rounded to bf16, products accumulated
    /// in float32 (native bf16 instructions where the CPU has them).
    case bf16

    /// `x` [count] as an operand of a product at this precision: x itself, or
    /// a fresh bf16 rounding of it.
    public func operand(_ x: Tensor) -> ProductOperand {
        switch self {
        case .fp32: return ProductOperand(float32: x)
        case .bf16: return ProductOperand(bf16Of: x)
        }
    }
}

/// A matrix as a product reads it: float32 values (fp32, or bf16 values kept
/// in float32 on CPUs without bf16 products), or packed bf16 patterns for
/// oneDNN's native bf16 product. It owns its storage.
public struct ProductOperand: @unchecked Sendable {
    /// The storage: `count` floats, or `count` bf16 patterns packed two to a float.
    let storage: Tensor
    /// The precision the values were rounded to.
    public let precision: Precision
    /// Whether `storage` holds packed bf16 patterns.
    public let isPackedBF16: Bool
    /// Elements of the matrix.
    public let count: Int

    /// `x` itself, as float32.
    public init(float32 x: Tensor) {
        storage = x; precision = .fp32; isPackedBF16 = false; count = x.count
    }

    /// The bf16 rounding of `x`: packed when the engine multiplies bf16
    /// natively, else bf16-rounded float32.
    public init(bf16Of x: Tensor) {
        count = x.count
        precision = .bf16
        isPackedBF16 = MatrixEngine.nativeBF16
        if isPackedBF16 {
            storage = Tensor(uninitialized: [(x.count + 1) / 2])
            BF16.pack(x.data, into: UnsafeMutableRawPointer(storage.data).assumingMemoryBound(to: UInt16.self),
                      count: x.count)
        } else {
            storage = Tensor(uninitialized: x.shape)
            BF16.round(x.data, into: storage.data, count: x.count)
        }
    }

    /// Re-rounds `x` into this operand's storage (same element count): a
    /// working copy refreshed in place after the master weights change. An
    /// fp32 operand is `x` itself, so there is nothing to do.
    public func refresh(from x: Tensor) {
        precondition(x.count == count, "refresh from \(x.count) elements into an operand of \(count)")
        switch (precision, isPackedBF16) {
        case (.fp32, _): precondition(storage === x, "an fp32 operand is its tensor; refresh it from that tensor")
        case (.bf16, true): BF16.pack(x.data, into: packed, count: count)
        case (.bf16, false): BF16.round(x.data, into: storage.data, count: count)
        }
    }

    /// Bytes of the storage (the tensor itself under fp32).
    public var storageBytes: Int { storage.byteCount }

    /// The float32 values (not packed).
    var floats: UnsafeMutablePointer<Float> { storage.data }
    /// The packed bf16 patterns.
    var packed: UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(storage.data).assumingMemoryBound(to: UInt16.self)
    }
}
