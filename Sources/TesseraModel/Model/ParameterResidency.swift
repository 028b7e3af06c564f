/// Where a model's parameters live between uses, told by the model around
/// each use of a unit of them (`GPT.units`: unit 0 is everything outside the
/// blocks — embeddings, final LayerNorm, head — and unit i + 1 is block i).
/// ZeRO-3 gathers a unit's values before its use and frees them after;
/// ZeRO-2 and 3 attach a unit's full gradient before its backward. Without
/// one (the default), parameters stay where they are.
public protocol ParameterResidency: AnyObject {
    /// Before unit `unit` is used (forward, or `backward`); `next` is the unit
    /// the model will use after it, which may be fetched meanwhile.
    func willUse(_ unit: Int, backward: Bool, next: Int?) throws
    /// After the model's last use of `unit` in this pass.
    func didUse(_ unit: Int, backward: Bool) throws
}
