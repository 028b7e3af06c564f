#!/usr/bin/env bash
# fp32 vs bf16 training quality: 1000 steps of the default model on the built-in
# corpus and on ../shared/data/tinyshakespeare.txt, validation loss every 100 steps.
# Prints one table row per (data, precision) with the validation curve.
# Usage: scripts/bench_bf16_quality.sh [tessera binary]   (default: a fresh release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-}
if [ -z "$BIN" ]; then swift build -c release --product tessera >/dev/null; BIN=.build/release/tessera; fi
SHAKESPEARE=../shared/data/tinyshakespeare.txt
for data in builtin shakespeare; do
  args=()
  if [ "$data" = shakespeare ]; then
    [ -f "$SHAKESPEARE" ] || { echo "shakespeare: skipped (no $SHAKESPEARE)"; continue; }
    args=(--data "$SHAKESPEARE")
  fi
  for precision in fp32 bf16; do
    curve=$("$BIN" train --steps 1000 --eval-every 100 --precision "$precision" --sample 0 "${args[@]}" \
            | awk '/^validation loss/ { printf "%s ", $3 }')
    echo "$data $precision validation: $curve"
  done
done
