#!/usr/bin/env bash
# Tracing overhead: main's binary, this binary with tracing off, and with --trace, interleaved round by
# round so all three see the same (shared) machine. One rank: `bench train` (median step); four thread
# ranks (dp2×tp2+sp): wall seconds of a short `train` (same steps, start-up included).
# Usage: scripts/bench_trace_overhead.sh OLD_BINARY NEW_BINARY [ROUNDS]
set -euo pipefail
OLD=$1; NEW=$2; ROUNDS=${3:-3}
SHAPE=(--layers 4 --d-model 256 --heads 8 --seq-len 128 --batch 8)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for variant in main off on; do
    bin=$NEW; extra=()
    [ "$variant" = main ] && bin=$OLD
    [ "$variant" = on ] && extra=(--trace "$dir/t.json")
    one=$("$bin" bench train --threads 1 --steps 5 "${SHAPE[@]}" "${extra[@]}" | grep -o 'step=[0-9]*ms')
    start=$(date +%s.%N)
    "$bin" train --dp 2 --tp 2 --sp "${SHAPE[@]}" --steps 10 --log-every 0 --eval-batches 1 --sample 0 "${extra[@]}" >/dev/null
    four=$(echo "$(date +%s.%N) - $start" | bc)
    echo "round $round $variant: one rank median $one | dp2×tp2+sp 10 steps ${four}s"
  done
done
