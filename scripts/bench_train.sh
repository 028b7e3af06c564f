#!/usr/bin/env bash
# Side-by-side training throughput on the benchmark shape, at 1 and 2 threads,
# in one run: Tessera fp32 and bf16 against PyTorch (../shared/peers/torch_gpt.py)
# fp32, bf16 autocast, and bf16 autocast + torch.compile.
# Usage: scripts/bench_train.sh [python]   (python with torch; default: $PEER_PYTHON or python3)
#        STEPS=5 THREADS="1 2" scripts/bench_train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PEER_PYTHON:-python3}}
PEER=../shared/peers/torch_gpt.py
STEPS=${STEPS:-5}
swift build -c release --product tessera >/dev/null
.build/release/tessera info --no-peak
have_torch=0
if [ -f "$PEER" ] && "$PY" -c "import torch" 2>/dev/null; then have_torch=1; fi
for threads in ${THREADS:-1 2}; do
  echo "== $threads thread(s)"
  for precision in fp32 bf16; do
    .build/release/tessera bench train --threads "$threads" --steps "$STEPS" --precision "$precision" | grep -v '^engine:'
  done
  if [ "$have_torch" = 1 ]; then
    for variant in "" "--amp bf16" "--amp bf16 --compile"; do
      printf 'torch %-22s ' "${variant:-fp32}"
      # shellcheck disable=SC2086
      "$PY" "$PEER" --threads "$threads" --steps "$STEPS" $variant 2>&1 | tail -1
    done
  else
    echo "torch: skipped (no $PEER or no torch for $PY)"
  fi
done
