#!/usr/bin/env bash
# Layouts side by side on 2 ranks (benchmark shape, global batch 16): Tessera dp2, tp2 and
# tp2+sp (tokens/s, ratio to dp2, share of the step in communication) and PyTorch DDP over
# gloo (torchrun --nproc_per_node=2 ../shared/peers/torch_gpt.py, batch 8 per rank), then
# the activation memory per layer under TP and TP+SP beside Korthikanti et al. 2022.
# Usage: scripts/bench_parallel.sh [python]   (python with torch; default: $PEER_PYTHON or python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PEER_PYTHON:-python3}}
PEER=../shared/peers/torch_gpt.py
swift build -c release --product tessera >/dev/null
.build/release/tessera bench parallel --layouts dp2,tp2,tp2+sp --steps 5
if [ -f "$PEER" ] && "$PY" -c "import torch" 2>/dev/null; then
  "$PY" -m torch.distributed.run --nproc_per_node=2 "$PEER" --steps 5 2>&1 | grep '^torch'
else
  echo "torch: skipped (no $PEER or no torch for $PY)"
fi
.build/release/tessera bench activations --tp 1,2,4
