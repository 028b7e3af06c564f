import Foundation
import Prometheus
import Tessera

/// What `GET /metrics` reports, in Prometheus' text format (swift-prometheus):
///
/// - `tessera_requests_total{endpoint, status}`: requests answered, by route and HTTP status
/// - `tessera_prompt_tokens_total`, `tessera_generation_tokens_total`: bytes in and out
/// - `tessera_running_sequences`, `tessera_waiting_sequences`: the engine's batch and queue after its last step
/// - `tessera_kv_blocks_used`, `tessera_kv_blocks_total`: the paged cache's pool
/// - `tessera_preemptions_total`: sequences sent back to the queue when the pool ran out
/// - `tessera_prefix_cache_queries_total`, `tessera_prefix_cache_hits_total`: full prompt blocks
///   looked up in the prefix cache when a sequence joined, and of them found (shared, not recomputed)
/// - `tessera_time_to_first_token_seconds`, `tessera_inter_token_latency_seconds`: histograms
///   (first byte after the request arrived; between consecutive bytes of a sequence)
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let promptTokens: Counter, generationTokens: Counter
    let running: Gauge, waiting: Gauge, blocksUsed: Gauge, blocksTotal: Gauge, preemptions: Gauge
    let prefixQueries: Gauge, prefixHits: Gauge
    let timeToFirstToken: DurationHistogram, interTokenLatency: DurationHistogram

    init() {
        promptTokens = registry.makeCounter(name: "tessera_prompt_tokens_total", help: "Prompt tokens (bytes) received")
        generationTokens = registry.makeCounter(name: "tessera_generation_tokens_total", help: "Tokens (bytes) generated")
        running = registry.makeGauge(name: "tessera_running_sequences", help: "Sequences in the running batch")
        waiting = registry.makeGauge(name: "tessera_waiting_sequences", help: "Sequences waiting to join the batch")
        blocksUsed = registry.makeGauge(name: "tessera_kv_blocks_used", help: "KV cache blocks held by sequences")
        blocksTotal = registry.makeGauge(name: "tessera_kv_blocks_total", help: "KV cache blocks in the pool")
        preemptions = registry.makeGauge(name: "tessera_preemptions_total",
                                         help: "Sequences preempted (recomputed later) when the pool ran out")
        prefixQueries = registry.makeGauge(name: "tessera_prefix_cache_queries_total",
                                           help: "Full prompt KV blocks looked up in the prefix cache")
        prefixHits = registry.makeGauge(name: "tessera_prefix_cache_hits_total",
                                        help: "Full prompt KV blocks found in the prefix cache (shared, not computed)")
        let ttft: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map { .milliseconds(Int64($0 * 1000)) }
        let itl: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1].map { .microseconds(Int64($0 * 1_000_000)) }
        timeToFirstToken = registry.makeDurationHistogram(name: "tessera_time_to_first_token_seconds", buckets: ttft,
                                                          help: "Seconds from a request's arrival to its first token")
        interTokenLatency = registry.makeDurationHistogram(name: "tessera_inter_token_latency_seconds", buckets: itl,
                                                           help: "Seconds between consecutive tokens of a sequence")
    }

    /// tessera_requests_total.
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tessera", metricName: "requests", unitName: "total",
                             helpText: "Requests answered, by endpoint and HTTP status")
    }

    /// Counts one answered request.
    func answered(_ endpoint: String, status: Int) {
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))]).increment()
    }

    /// The text exposition, with the engine's gauges as of now.
    func exposition(_ stats: ServingStats) -> String {
        running.set(Double(stats.running))
        waiting.set(Double(stats.waiting))
        blocksUsed.set(Double(stats.blocksUsed))
        blocksTotal.set(Double(stats.blocks))
        preemptions.set(Double(stats.preemptions))
        prefixQueries.set(Double(stats.prefixQueriedBlocks))
        prefixHits.set(Double(stats.prefixHitBlocks))
        return registry.emitToString()
    }
}
