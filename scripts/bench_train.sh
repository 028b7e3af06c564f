#!/usr/bin/env bash
# Side-by-side training throughput: Tessera vs PyTorch (../shared/peers/torch_gpt.py)
# on the benchmark shape, at 1 and 2 threads, in one run.
# Usage: scripts/bench_train.sh [python]   (python with torch; default: $PEER_PYTHON or python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PEER_PYTHON:-python3}}
PEER=../shared/peers/torch_gpt.py
swift build -c release --product tessera >/dev/null
for threads in 1 2; do
  echo "== $threads thread(s)"
  .build/release/tessera bench train --threads "$threads" --steps 5
  if [ -f "$PEER" ] && "$PY" -c "import torch" 2>/dev/null; then
    "$PY" "$PEER" --threads "$threads" --steps 5
  else
    echo "torch: skipped (no $PEER or no torch for $PY)"
  fi
done
