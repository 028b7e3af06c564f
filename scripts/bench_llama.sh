#!/usr/bin/env bash
# Side-by-side Llama training throughput in one run, alternating: Tessera (`bench train --arch llama`, fp32
# and bf16) against PyTorch (../shared/peers/torch_llama.py, fp32 and bf16 autocast) on the peer's shape:
# 6 layers, d 512, 8 heads, 4 kv heads, SwiGLU 1408, T 256, batch 8, vocab 256, at 1 and 2 threads.
# Usage: scripts/bench_llama.sh [python]   (python with torch; default: $PEER_PYTHON or python3)
#        STEPS=5 THREADS="1 2" ROUNDS=2 scripts/bench_llama.sh
#        CLOCK=cpu scripts/bench_llama.sh   (the peer's clock counts CPU seconds, scripts/peers/cpu_clock.py:
#        compare its tokens/s with Tessera's step-cpu; for a machine shared with other jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PEER_PYTHON:-${PYTHON:-python3}}}
PEER=../shared/peers/torch_llama.py
STEPS=${STEPS:-5}
SHAPE=(--arch llama --layers 6 --d-model 512 --heads 8 --kv-heads 4 --ffn-hidden 1408 --seq-len 256 --batch 8)
swift build -c release --product tessera >/dev/null
.build/release/tessera info --no-peak
have_torch=0
if [ -f "$PEER" ] && "$PY" -c "import torch" 2>/dev/null; then have_torch=1
else echo "torch: skipped (no $PEER or no torch for $PY)"; fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-1}"); do
  for threads in ${THREADS:-1 2}; do
    echo "== round $round, $threads thread(s)"
    for precision in fp32 bf16; do
      .build/release/tessera bench train "${SHAPE[@]}" --threads "$threads" --steps "$STEPS" --precision "$precision" \
        | grep -v '^engine:'
      if [ "$have_torch" = 1 ]; then
        amp=$([ "$precision" = bf16 ] && echo "--amp bf16" || echo "")
        printf 'torch %-10s ' "${amp:-fp32}"
        # shellcheck disable=SC2086
        if [ "${CLOCK:-wall}" = cpu ]; then
          "$PY" scripts/peers/cpu_clock.py "$PEER" --threads "$threads" --steps "$STEPS" $amp 2>&1 | tail -1
        else
          "$PY" "$PEER" --threads "$threads" --steps "$STEPS" $amp 2>&1 | tail -1
        fi
      fi
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
