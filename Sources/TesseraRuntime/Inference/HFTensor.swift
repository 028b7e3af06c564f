import TesseraSupport

/// Taking one tensor out of a Hugging Face checkpoint for import: it must
/// be there, hold floating-point values of the shape the config implies,
/// and every value must be finite.
enum HFTensor {
    /// The values of `array` (the tensor `name` of the file at `path`), checked against `shape`.
    static func take(_ array: SafeTensors.Array?, name: String, shape: [Int], in path: String, family: String) throws -> [Float] {
        guard let array else {
            throw CheckpointError("\(path) has no tensor '\(name)', which a \(family) of this config needs")
        }
        guard case .f32(let s, let values) = array else {
            throw CheckpointError("\(path): tensor '\(name)' holds integers; a \(family) weight is floating-point (F32, F16 or BF16)")
        }
        guard s == shape else {
            throw CheckpointError("\(path): tensor '\(name)' has shape \(s); config.json implies \(shape)")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw CheckpointError("\(path): tensor '\(name)' holds \(values[i]) at element \(i); values must be finite")
        }
        return values
    }
}
