#!/usr/bin/env bash
# Collective bandwidth, nccl-tests style: Tessera's ThreadBackend at 2, 4 and 8
# ranks, its MPIBackend under mpirun at 2, 4 and 8, and PyTorch gloo
# (../shared/peers/torch_comm.py under torchrun) at 2 ranks, in one run.
# Usage: scripts/bench_comm.sh [max-MiB] [python-with-torch]
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=${1:-256}
PY=${2:-${PEER_PYTHON:-python3}}
BIN=.build/release/tessera
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
swift build -c release --product tessera >/dev/null
"$BIN" bench comm --ranks 2,4,8 --max-mib "$MAX"
for n in 2 4 8; do "${MPIRUN[@]}" -np "$n" "$BIN" bench comm --max-mib "$MAX" | tail -n +3; done
PEER=../shared/peers/torch_comm.py
TORCHRUN="$(dirname "$PY")/torchrun"
if [ -f "$PEER" ] && [ -x "$TORCHRUN" ]; then
  for op in all_reduce all_gather reduce_scatter all_to_all; do
    "$TORCHRUN" --nproc_per_node=2 "$PEER" --op "$op" --mib 64 2>/dev/null | grep gloo
  done
else
  echo "gloo: skipped (needs $PEER and torchrun beside $PY)"
fi
