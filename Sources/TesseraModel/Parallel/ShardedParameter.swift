import TesseraKernels

/// Builders for parameters that hold a block of a larger global tensor, and
/// the copies between a shard and its full tensor.
///
/// A shard of a global [R, C] tensor (a 1-D tensor is [R, 1]) is the
/// concatenation of some global row ranges, restricted to one column range.
/// Rows at or past R are padding (the padded vocabulary): they are not part
/// of the global tensor, start at zero and receive zero gradient.
extension Parameter {
    /// A shard of global [rows, columns] holding `rowRanges` (concatenated) × `cols`, laid out as `placement`.
    public static func shard(name: String, global: [Int], rowRanges: [Range<Int>], cols: Range<Int>,
                             rule: InitRule, placement: Placement) -> Parameter {
        let globalRows = global[0], globalCols = global.count > 1 ? global[1] : 1
        let localCols = cols.count
        let starts = rowRanges.map(\.lowerBound)
        let ends = rowRanges.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1.count) }
        let localRows = ends.last ?? 0
        let shape = global.count > 1 ? [localRows, localCols] : [localRows]
        let colStart = cols.lowerBound
        let parts = placement.shard?.parts ?? 1, split = placement.shard?.dim ?? 0
        let padded = placement.padded(shape[split] * parts - global[split])
        precondition(padded.globalShape(local: shape) == global, "\(name): \(shape) under \(placement) is not part of \(global)")
        return Parameter(name: name, shape: shape, rule: rule, placement: padded) { i in
            let r = i / localCols, c = i % localCols
            var k = 0
            while r >= ends[k] { k += 1 }
            let gr = starts[k] + r - (k == 0 ? 0 : ends[k - 1])
            return gr >= globalRows ? -1 : gr * globalCols + colStart + c
        }
    }

    /// Writes the local tensor `t` (this parameter's value or an optimizer
    /// moment, same shape) into its place in `full` (the global tensor, row-major); padding is skipped.
    public func place(_ t: Tensor, into full: UnsafeMutablePointer<Float>) {
        for i in 0..<t.count {
            let g = globalIndex(i)
            if g >= 0 { full[g] = t.data[i] }
        }
    }

    /// Loads this rank's slice of `full` (the global tensor) into `t`; padding becomes zero.
    public func slice(_ full: UnsafePointer<Float>, into t: Tensor) {
        for i in 0..<t.count {
            let g = globalIndex(i)
            t.data[i] = g >= 0 ? full[g] : 0
        }
    }
}
