import Foundation

/// The one-line progress report of a training step.
public enum ProgressLine {
    public static func format(step: Int, of total: Int, loss: Double, lr: Float, tokensPerSecond: Double,
                              gflops: Double, elapsed: Double, remaining: Double) -> String {
        String(format: "step %d/%d | loss %.4f | lr %.2e | %.0f tok/s | %.1f GFLOP/s | ",
               step, total, loss, Double(lr), tokensPerSecond, gflops)
            + "\(clock(elapsed)) elapsed | \(clock(remaining)) left"
    }

    /// Seconds as m:ss (or h:mm:ss).
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
