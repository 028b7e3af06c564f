import TesseraKernels

/// A weight as matrix products read it at a precision: under fp32 the
/// float32 value itself; under bf16 a bf16 copy, made on first use and
/// refreshed (`refresh`) after each optimizer step has changed the value.
/// The linear layers and the tied head each hold one.
public final class WorkingWeight: @unchecked Sendable {
    /// The weight; its value is read at each use, as the store may have moved it.
    public let parameter: Parameter
    /// The precision the products run at; changing it drops the copy.
    public var precision: Precision = .fp32 { didSet { copy = nil } }
    private var copy: ProductOperand?
    /// The weight quantized to int8 blocks for generation (`WeightFormat.int8`);
    /// when present, `multiplyTransposed` reads it instead of `operand`.
    public internal(set) var quantized: Q8Matrix?

    public init(_ parameter: Parameter) { self.parameter = parameter }

    /// The operand for a product (made on first use).
    public var operand: ProductOperand {
        if let copy { return copy }
        let made = precision.operand(parameter.value)
        copy = made
        return made
    }

    /// Re-rounds the copy from the float32 value; nothing to do under fp32,
    /// before the first use or after `drop`.
    public func refresh() { copy?.refresh(from: parameter.value) }

    /// Bytes of the copy held apart from the float32 value (0 under fp32 or when there is none).
    public var bytes: Int { copy.map { $0.precision == .fp32 ? 0 : $0.storageBytes } ?? 0 }

    /// Frees the copy (ZeRO-3 frees a unit's weights after each use); the next use makes it again.
    public func drop() { copy = nil }
}
